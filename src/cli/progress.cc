#include "cli/progress.h"

#include <sys/ioctl.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <iostream>

namespace berth::cli {
namespace {

constexpr std::string_view kClearLine = "\r\x1b[K";

double Seconds(std::chrono::steady_clock::duration d) {
  return std::chrono::duration<double>(d).count();
}

std::string Fixed1(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f", v);
  return buf;
}

int TerminalWidth() {
  struct winsize ws {};
  if (ioctl(STDERR_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0) return ws.ws_col;
  if (const char* c = std::getenv("COLUMNS"); c && *c) {
    int v = std::atoi(c);
    if (v > 0) return v;
  }
  return 80;
}

}  // namespace

Progress::Progress(std::string label, uint64_t total, Options options)
    : label_(std::move(label)), o_(std::move(options)), total_(total) {
  if (!o_.out) o_.out = &std::cerr;
  if (!o_.now) o_.now = [] { return std::chrono::steady_clock::now(); };
  o_.width = std::max(o_.width, 20);
  start_ = last_draw_ = o_.now();
}

Progress::~Progress() { Finish(); }

Progress Progress::ForStderr(std::string label, uint64_t total, Unit unit, std::string noun) {
  const char* term = std::getenv("TERM");
  Options options;
  options.unit = unit;
  options.noun = std::move(noun);
  options.out = &std::cerr;
  options.tty = isatty(STDERR_FILENO) == 1 && !(term && std::string_view(term) == "dumb");
  if (options.tty) options.width = TerminalWidth();
  return Progress(std::move(label), total, std::move(options));
}

std::string Progress::FormatBytes(uint64_t bytes) {
  static constexpr const char* kUnits[] = {"B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"};
  if (bytes < 1024) return std::to_string(bytes) + " B";
  double v = static_cast<double>(bytes);
  size_t u = 0;
  while (v >= 1024 && u + 1 < std::size(kUnits)) {
    v /= 1024;
    ++u;
  }
  return Fixed1(v) + " " + kUnits[u];
}

std::string Progress::FormatDuration(std::chrono::seconds s) {
  long long t = std::max<long long>(s.count(), 0);
  char buf[48];
  if (t >= 3600) {
    std::snprintf(buf, sizeof buf, "%lld:%02lld:%02lld", t / 3600, t / 60 % 60, t % 60);
  } else {
    std::snprintf(buf, sizeof buf, "%lld:%02lld", t / 60, t % 60);
  }
  return buf;
}

std::string Progress::Numbers() const {
  auto one = [&](uint64_t v) {
    return o_.unit == Unit::kBytes ? FormatBytes(v) : std::to_string(v);
  };
  std::string s = one(done_);
  if (total_ > 0) s += "/" + one(total_);
  if (o_.unit == Unit::kCount && !o_.noun.empty()) s += " " + o_.noun;
  return s;
}

std::string Progress::Rate() const {
  double secs = Seconds(o_.now() - start_);
  if (secs < 0.5 || done_ == 0) return "";
  double per = static_cast<double>(done_) / secs;
  if (o_.unit == Unit::kBytes) return FormatBytes(static_cast<uint64_t>(per)) + "/s";
  return (per >= 10 ? std::to_string(static_cast<uint64_t>(per)) : Fixed1(per)) + "/s";
}

std::string Progress::BarLine() const {
  std::string right;
  if (total_ > 0) {
    int pct = static_cast<int>(std::min<uint64_t>(done_, total_) * 100 / total_);
    right = " " + std::string(pct < 10 ? "  " : pct < 100 ? " " : "") + std::to_string(pct) + "%";
  }
  right += "  " + Numbers();
  if (std::string r = Rate(); !r.empty()) {
    right += "  " + r;
    if (total_ > 0 && done_ < total_) {
      double secs = Seconds(o_.now() - start_);
      double left = static_cast<double>(total_ - done_) * secs / static_cast<double>(done_);
      right += "  ETA " + FormatDuration(std::chrono::seconds(static_cast<long long>(left)));
    }
  }
  std::string line = label_;
  // Columns left for "[###   ]"; the last column stays empty so the cursor never wraps.
  int room = o_.width - 1 - static_cast<int>(line.size() + right.size()) - 3;
  if (total_ > 0 && room >= 10) {
    int cells = std::min(room, 50);
    int full = static_cast<int>(std::min<uint64_t>(done_, total_) * cells / total_);
    line += " [" + std::string(full, '#') + std::string(cells - full, ' ') + "]";
  }
  line += right;
  if (static_cast<int>(line.size()) > o_.width - 1) line.resize(o_.width - 1);
  return line;
}

std::string Progress::PlainLine() const {
  std::string s = label_ + ": ";
  std::string inner;
  if (total_ > 0) {
    s += std::to_string(std::min<uint64_t>(done_, total_) * 100 / total_) + "%";
    inner = Numbers();
  } else {
    s += Numbers();
  }
  if (std::string r = Rate(); !r.empty()) inner += (inner.empty() ? "" : ", ") + r;
  if (!inner.empty()) s += " (" + inner + ")";
  return s;
}

void Progress::ClearLocked() {
  if (drawn_) *o_.out << kClearLine;
  drawn_ = false;
}

void Progress::MaybeDrawLocked(bool force) {
  if (finished_) return;
  auto now = o_.now();
  if (o_.tty) {
    if (!force && drawn_ && now - last_draw_ < o_.redraw) return;
    *o_.out << kClearLine << BarLine() << std::flush;
    drawn_ = true;
    last_draw_ = now;
    return;
  }
  bool due = false;
  if (total_ > 0) {
    int tenth = static_cast<int>(std::min<uint64_t>(done_, total_) * 10 / total_);
    // 100 % is the final line's to print.
    if (tenth > last_tenth_ && tenth < 10) {
      last_tenth_ = tenth;
      due = true;
    }
  } else {
    due = now - last_draw_ >= o_.line_every;
  }
  if (!due) return;
  *o_.out << PlainLine() << "\n" << std::flush;
  last_draw_ = now;
}

void Progress::Add(uint64_t n) {
  std::lock_guard lock(mu_);
  done_ += n;
  MaybeDrawLocked(false);
}

void Progress::Set(uint64_t done) {
  std::lock_guard lock(mu_);
  done_ = done;
  MaybeDrawLocked(false);
}

void Progress::SetTotal(uint64_t total) {
  std::lock_guard lock(mu_);
  total_ = total;
  MaybeDrawLocked(false);
}

void Progress::Note(std::string_view message) {
  std::lock_guard lock(mu_);
  bool redraw = o_.tty && drawn_ && !finished_;
  ClearLocked();
  *o_.out << message << "\n";
  if (redraw) MaybeDrawLocked(true);
  *o_.out << std::flush;
}

void Progress::Finish(std::string_view summary) {
  std::lock_guard lock(mu_);
  if (finished_) return;
  finished_ = true;
  ClearLocked();
  std::string line = label_ + ": ";
  line += summary.empty() ? Numbers() : std::string(summary);
  line +=
      " in " + FormatDuration(std::chrono::duration_cast<std::chrono::seconds>(o_.now() - start_));
  *o_.out << line << "\n" << std::flush;
}

}  // namespace berth::cli
