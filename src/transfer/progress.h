#pragma once
// What a long transfer (export, import, backup, copy) tells the person running it. On a terminal:
// one line redrawn in place with a bar, items and bytes; otherwise one plain line per finished
// item, so logs and CI output stay readable. Done() prints the summary line.
//
// Thread-safe (a mutex): copies may run items concurrently.

#include <cstdint>
#include <cstdio>
#include <mutex>
#include <string>
#include <string_view>

namespace berth::transfer {

class Progress {
 public:
  virtual ~Progress() = default;
  // How many items (and bytes, 0 when unknown) the run expects; may be called again as it learns.
  virtual void Expect(uint64_t items, uint64_t bytes) { (void)items, (void)bytes; }
  // One item finished (`what` e.g. "blob sha256:ab12… (3.1 MiB)" or "team/app:1").
  virtual void Item(std::string_view what, uint64_t bytes) { (void)what, (void)bytes; }
  // Bytes moved within the current item (drives the bar on a terminal).
  virtual void Bytes(uint64_t n) { (void)n; }
  // A message that is not an item (a warning, a choice made: "picked linux/amd64 from the index").
  virtual void Note(std::string_view message) { (void)message; }
};

// Writes to `out`; a bar when `out` is a terminal (isatty), plain lines otherwise.
class ConsoleProgress : public Progress {
 public:
  explicit ConsoleProgress(std::FILE* out, std::string label);
  void Expect(uint64_t items, uint64_t bytes) override;
  void Item(std::string_view what, uint64_t bytes) override;
  void Bytes(uint64_t n) override;
  void Note(std::string_view message) override;
  // Ends the bar line (terminal).
  void Finish();

 private:
  void Redraw();  // Requires mu_.
  std::mutex mu_;
  std::FILE* out_;
  std::string label_;
  bool tty_;
  uint64_t items_total_ = 0, bytes_total_ = 0;  // Guarded by mu_.
  uint64_t items_ = 0, bytes_ = 0;              // Guarded by mu_.
  int64_t last_draw_ms_ = 0;                    // Guarded by mu_.
};

// "3.1 MiB", "512 B".
std::string HumanBytes(uint64_t n);

}  // namespace berth::transfer
