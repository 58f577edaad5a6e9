#include "transfer/progress.h"

#include <unistd.h>

#include <chrono>

namespace berth::transfer {

std::string HumanBytes(uint64_t n) {
  static const char* kUnits[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  double v = static_cast<double>(n);
  int u = 0;
  while (v >= 1024 && u < 4) {
    v /= 1024;
    ++u;
  }
  char buf[32];
  if (u == 0) {
    std::snprintf(buf, sizeof buf, "%llu B", static_cast<unsigned long long>(n));
  } else {
    std::snprintf(buf, sizeof buf, "%.1f %s", v, kUnits[u]);
  }
  return buf;
}

ConsoleProgress::ConsoleProgress(std::FILE* out, std::string label)
    : out_(out), label_(std::move(label)), tty_(::isatty(::fileno(out)) == 1) {}

void ConsoleProgress::Expect(uint64_t items, uint64_t bytes) {
  std::lock_guard lock(mu_);
  items_total_ = items;
  bytes_total_ = bytes;
}

void ConsoleProgress::Item(std::string_view what, uint64_t bytes) {
  std::lock_guard lock(mu_);
  ++items_;
  if (tty_) {
    last_draw_ms_ = 0;
    Redraw();
    return;
  }
  std::fprintf(out_, "%s: %.*s", label_.c_str(), static_cast<int>(what.size()), what.data());
  if (bytes > 0) std::fprintf(out_, " (%s)", HumanBytes(bytes).c_str());
  std::fputc('\n', out_);
  std::fflush(out_);
}

void ConsoleProgress::Bytes(uint64_t n) {
  std::lock_guard lock(mu_);
  bytes_ += n;
  if (tty_) Redraw();
}

void ConsoleProgress::Note(std::string_view message) {
  std::lock_guard lock(mu_);
  if (tty_) std::fputs("\r\033[K", out_);
  std::fprintf(out_, "%s: %.*s\n", label_.c_str(), static_cast<int>(message.size()),
               message.data());
  std::fflush(out_);
}

void ConsoleProgress::Finish() {
  std::lock_guard lock(mu_);
  if (tty_) {
    last_draw_ms_ = 0;
    Redraw();
    std::fputc('\n', out_);
    std::fflush(out_);
  }
}

void ConsoleProgress::Redraw() {
  const int64_t now = std::chrono::duration_cast<std::chrono::milliseconds>(
                          std::chrono::steady_clock::now().time_since_epoch())
                          .count();
  if (last_draw_ms_ != 0 && now - last_draw_ms_ < 100) return;
  last_draw_ms_ = now;
  constexpr int kWidth = 30;
  int filled = 0;
  if (bytes_total_ > 0) {
    filled = static_cast<int>(std::min<uint64_t>(bytes_, bytes_total_) * kWidth / bytes_total_);
  } else if (items_total_ > 0) {
    filled = static_cast<int>(std::min<uint64_t>(items_, items_total_) * kWidth / items_total_);
  }
  std::string bar(static_cast<size_t>(filled), '=');
  bar.resize(kWidth, ' ');
  std::fprintf(out_, "\r\033[K%s [%s] %llu/%llu items, %s", label_.c_str(), bar.c_str(),
               static_cast<unsigned long long>(items_),
               static_cast<unsigned long long>(items_total_), HumanBytes(bytes_).c_str());
  if (bytes_total_ > 0) std::fprintf(out_, " of %s", HumanBytes(bytes_total_).c_str());
  std::fflush(out_);
}

}  // namespace berth::transfer
