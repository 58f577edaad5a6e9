#pragma once
// Progress reporting for long command-line operations (garbage collection, export/import, backup,
// replication, benchmarks). On a terminal it draws one bar that redraws in place; otherwise (a
// pipe, a log file, TERM=dumb) it prints plain lines, one per tenth of the work or per interval
// when the total is unknown, so logs stay readable and greppable.
//
//   auto bar = cli::Progress::ForStderr("gc: sweep", blobs.size(), Progress::Unit::kCount,
//   "blobs"); for (const auto& b : blobs) { Delete(b); bar.Add(1); } bar.Finish("deleted 42
//   blobs");           // final line; the destructor finishes too
//
//   auto copy = cli::Progress::ForStderr("export", total_bytes, Progress::Unit::kBytes);
//   copy.Note("skipped team/app:old (gone)");  // a message line that does not break the bar
//   copy.SetTotal(n);                          // when the total becomes known later (0: unknown)
//
// Thread-safe: Add/Set/SetTotal/Note/Finish may be called from several threads. Drawing is
// throttled (at most every `redraw` on a terminal) so calling Add per item costs little.

#include <chrono>
#include <cstdint>
#include <functional>
#include <mutex>
#include <ostream>
#include <string>
#include <string_view>

namespace berth::cli {

class Progress {
 public:
  enum class Unit { kCount, kBytes };
  using Clock = std::function<std::chrono::steady_clock::time_point()>;

  struct Options {
    Unit unit = Unit::kCount;
    std::string noun;  // for kCount: "blobs", "manifests" (shown after the numbers)
    // Set by ForStderr; tests set them to a stream, a mode and a fake clock.
    std::ostream* out = nullptr;
    bool tty = false;
    int width = 80;                              // terminal columns
    std::chrono::milliseconds redraw{100};       // terminal: at most this often
    std::chrono::milliseconds line_every{5000};  // plain, unknown total: a line this often
    Clock now;
  };

  // `total` 0: unknown (a count and a rate, no percentage).
  Progress(std::string label, uint64_t total, Options options);
  ~Progress();
  Progress(const Progress&) = delete;
  Progress& operator=(const Progress&) = delete;

  // Writes to std::cerr: a bar when stderr is a terminal (and TERM is not "dumb"), else plain
  // lines. The width comes from the terminal, else $COLUMNS, else 80. Returned by value (guaranteed
  // elision; Progress is not movable).
  static Progress ForStderr(std::string label, uint64_t total = 0, Unit unit = Unit::kCount,
                            std::string noun = {});

  void Add(uint64_t n);
  void Set(uint64_t done);
  void SetTotal(uint64_t total);
  // A message line; on a terminal it is printed above the bar, which is then redrawn.
  void Note(std::string_view message);
  // Draws the final state and ends the line; an optional summary replaces the numbers. Idempotent.
  void Finish(std::string_view summary = {});

  // Renderers, exposed for tests and for commands that print their own lines.
  static std::string FormatBytes(uint64_t bytes);             // "512 B", "1.5 KiB", "3.2 GiB"
  static std::string FormatDuration(std::chrono::seconds s);  // "0:07", "1:02:03"

 private:
  std::string Numbers() const;  // "12/40 blobs", "1.5 MiB/3.0 MiB"
  std::string Rate() const;     // "2.1 MiB/s", "35/s", or empty
  std::string BarLine() const;
  std::string PlainLine() const;
  void MaybeDrawLocked(bool force);
  void ClearLocked();

  mutable std::mutex mu_;
  std::string label_;
  Options o_;  // Guarded by mu_ (as is everything below).
  uint64_t total_;
  uint64_t done_ = 0;
  bool finished_ = false;
  bool drawn_ = false;  // a bar is on the current terminal line
  std::chrono::steady_clock::time_point start_, last_draw_;
  int last_tenth_ = 0;  // plain mode, known total: tenths already printed
};

}  // namespace berth::cli
