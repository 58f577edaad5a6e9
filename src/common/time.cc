#include "common/time.h"

#include <cmath>
#include <cstdio>
#include <ctime>

#include "common/strings.h"

namespace berth {
namespace {
class RealClock : public Clock {
 public:
  SystemTime Now() const override { return std::chrono::system_clock::now(); }
};
}  // namespace

const Clock& SystemClock() {
  static const RealClock clock;
  return clock;
}

std::string FormatRfc3339(SystemTime t) {
  auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(t.time_since_epoch()).count();
  time_t secs = static_cast<time_t>(ns / 1000000000);
  long frac = static_cast<long>(ns % 1000000000);
  if (frac < 0) {
    frac += 1000000000;
    --secs;
  }
  struct tm tm;
  gmtime_r(&secs, &tm);
  char buf[64];
  size_t n = strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
  std::string out(buf, n);
  if (frac != 0) {
    char f[16];
    snprintf(f, sizeof f, ".%09ld", frac);
    std::string fs(f);
    while (fs.back() == '0') fs.pop_back();
    out += fs;
  }
  out += 'Z';
  return out;
}

std::optional<SystemTime> ParseRfc3339(std::string_view s) {
  s = Trim(s);
  struct tm tm {};
  int y, mo, d, h, mi, sec;
  if (s.size() < 20) return std::nullopt;
  std::string head(s.substr(0, 19));
  if (sscanf(head.c_str(), "%4d-%2d-%2dT%2d:%2d:%2d", &y, &mo, &d, &h, &mi, &sec) != 6)
    return std::nullopt;
  tm.tm_year = y - 1900;
  tm.tm_mon = mo - 1;
  tm.tm_mday = d;
  tm.tm_hour = h;
  tm.tm_min = mi;
  tm.tm_sec = sec;
  time_t base = timegm(&tm);
  std::string_view rest = s.substr(19);
  long long frac_ns = 0;
  if (!rest.empty() && rest[0] == '.') {
    size_t i = 1;
    long long scale = 100000000;
    while (i < rest.size() && rest[i] >= '0' && rest[i] <= '9') {
      frac_ns += (rest[i] - '0') * scale;
      scale /= 10;
      ++i;
    }
    rest = rest.substr(i);
  }
  long offset = 0;
  if (rest == "Z" || rest == "z") {
    offset = 0;
  } else if (rest.size() == 6 && (rest[0] == '+' || rest[0] == '-') && rest[3] == ':') {
    auto oh = ParseUint64(rest.substr(1, 2));
    auto om = ParseUint64(rest.substr(4, 2));
    if (!oh || !om) return std::nullopt;
    offset = static_cast<long>(*oh * 3600 + *om * 60);
    if (rest[0] == '-') offset = -offset;
  } else {
    return std::nullopt;
  }
  auto total = std::chrono::seconds(base - offset) + std::chrono::nanoseconds(frac_ns);
  return SystemTime(std::chrono::duration_cast<SystemTime::duration>(total));
}

std::optional<std::chrono::nanoseconds> ParseGoDuration(std::string_view s) {
  s = Trim(s);
  if (s.empty()) return std::nullopt;
  if (auto n = ParseUint64(s)) return std::chrono::nanoseconds(static_cast<int64_t>(*n));
  if (s == "0") return std::chrono::nanoseconds(0);
  double total = 0;
  size_t i = 0;
  while (i < s.size()) {
    size_t start = i;
    while (i < s.size() && ((s[i] >= '0' && s[i] <= '9') || s[i] == '.')) ++i;
    if (i == start) return std::nullopt;
    double value = 0;
    try {
      value = std::stod(std::string(s.substr(start, i - start)));
    } catch (...) {
      return std::nullopt;
    }
    size_t ustart = i;
    while (i < s.size() && !((s[i] >= '0' && s[i] <= '9') || s[i] == '.')) ++i;
    std::string_view unit = s.substr(ustart, i - ustart);
    double mult;
    if (unit == "ns") mult = 1;
    else if (unit == "us" || unit == "\xC2\xB5s" || unit == "\xCE\xBCs") mult = 1e3;
    else if (unit == "ms") mult = 1e6;
    else if (unit == "s") mult = 1e9;
    else if (unit == "m") mult = 60e9;
    else if (unit == "h") mult = 3600e9;
    else return std::nullopt;
    total += value * mult;
  }
  if (total > 9.2e18) return std::nullopt;
  return std::chrono::nanoseconds(static_cast<int64_t>(std::llround(total)));
}

}  // namespace berth
