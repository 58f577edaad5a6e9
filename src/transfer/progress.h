#pragma once
// What a long transfer (export, import, backup, copy) reports as it goes; the command line shows it
// (cli/transfer_progress.h), tests pass nullptr. Implementations are thread-safe: copies may run
// items concurrently.

#include <cstdint>
#include <string_view>

namespace berth::transfer {

class Progress {
 public:
  virtual ~Progress() = default;
  // How many items (and bytes, 0 when unknown) the run expects; may be called again as it learns.
  virtual void Expect(uint64_t items, uint64_t bytes) { (void)items, (void)bytes; }
  // One item finished (`what` e.g. "blob sha256:ab12… -> team/app" or "team/app:1").
  virtual void Item(std::string_view what, uint64_t bytes) { (void)what, (void)bytes; }
  // Bytes moved within the current item.
  virtual void Bytes(uint64_t n) { (void)n; }
  // A message that is not an item (a warning, a choice made: "picked linux/amd64 from the index").
  virtual void Note(std::string_view message) { (void)message; }
};

}  // namespace berth::transfer
