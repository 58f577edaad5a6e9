#pragma once
// transfer::Progress (what export, import, backup and copies report) shown through cli::Progress,
// the command line's one progress display: bytes moved drive the bar, notes print above it.
// Thread-safe as cli::Progress.

#include <string>
#include <string_view>

#include "cli/progress.h"
#include "transfer/progress.h"

namespace berth::cli {

class TransferProgress : public transfer::Progress {
 public:
  explicit TransferProgress(std::string label)
      : bar_(cli::Progress::ForStderr(std::move(label), 0, cli::Progress::Unit::kBytes)) {}
  void Expect(uint64_t items, uint64_t bytes) override {
    if (bytes > 0) bar_.SetTotal(bytes);
  }
  void Bytes(uint64_t n) override { bar_.Add(n); }
  void Note(std::string_view message) override { bar_.Note(message); }
  void Finish() { bar_.Finish(); }

 private:
  cli::Progress bar_;
};

}  // namespace berth::cli
