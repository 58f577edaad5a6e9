#pragma once
// Clocks (injectable, so time-dependent behaviour is testable), RFC 3339 timestamps and Go-style
// durations ("168h", "1h30m", "500ms", "10s") as Distribution's config writes them.

#include <atomic>
#include <chrono>
#include <optional>
#include <string>
#include <string_view>

namespace berth {

using SystemTime = std::chrono::system_clock::time_point;

// Thread-safe.
class Clock {
 public:
  virtual ~Clock() = default;
  virtual SystemTime Now() const = 0;
};

// The real wall clock. Thread-safe.
const Clock& SystemClock();

// A clock tests move by hand. Thread-safe.
class FakeClock : public Clock {
 public:
  explicit FakeClock(SystemTime start = SystemTime{}) : now_(start.time_since_epoch().count()) {}
  SystemTime Now() const override { return SystemTime(SystemTime::duration(now_.load())); }
  void Advance(std::chrono::nanoseconds d) {
    now_ += std::chrono::duration_cast<SystemTime::duration>(d).count();
  }

 private:
  std::atomic<SystemTime::rep> now_;
};

// "2006-01-02T15:04:05.999999999Z" (UTC, nanoseconds as Go's RFC3339Nano writes them).
std::string FormatRfc3339(SystemTime t);
std::optional<SystemTime> ParseRfc3339(std::string_view s);

// Go's time.ParseDuration grammar, non-negative only: [0-9.]+(ns|us|µs|ms|s|m|h) repeated.
// A bare integer is taken as nanoseconds, as Go's YAML decoder does for time.Duration.
std::optional<std::chrono::nanoseconds> ParseGoDuration(std::string_view s);

}  // namespace berth
