#include "auth/rate_limit.h"

#include <algorithm>
#include <cmath>

namespace berth::auth {

PullRateLimiter::PullRateLimiter(RateLimitOptions options, const Clock& clock)
    : options_(std::move(options)),
      clock_(clock),
      exempt_(options_.exempt.begin(), options_.exempt.end()) {}

std::string PullRateLimiter::LimitHeader() const {
  return std::to_string(options_.limit) + ";w=" + std::to_string(options_.window.count());
}
std::string PullRateLimiter::RemainingHeader(uint32_t remaining) const {
  return std::to_string(remaining) + ";w=" + std::to_string(options_.window.count());
}

size_t PullRateLimiter::buckets() {
  std::lock_guard lock(mu_);
  return buckets_.size();
}

void PullRateLimiter::PruneLocked(SystemTime now) {
  if (buckets_.size() < options_.max_keys) return;
  const double rate = static_cast<double>(options_.limit) / options_.window.count();
  std::erase_if(buckets_, [&](const auto& kv) {
    double elapsed = std::chrono::duration<double>(now - kv.second.updated).count();
    return kv.second.tokens + elapsed * rate >= options_.limit;
  });
  if (buckets_.size() < options_.max_keys) return;
  // Still full: forget the least recently used half (they may pull a little more than allowed;
  // growing without end would be worse).
  std::vector<SystemTime> times;
  times.reserve(buckets_.size());
  for (const auto& kv : buckets_) times.push_back(kv.second.updated);
  auto mid = times.begin() + static_cast<std::ptrdiff_t>(times.size() / 2);
  std::nth_element(times.begin(), mid, times.end());
  SystemTime cutoff = *mid;
  std::erase_if(buckets_, [&](const auto& kv) { return kv.second.updated <= cutoff; });
}

PullRateLimiter::Verdict PullRateLimiter::Take(std::string_view subject,
                                               std::string_view remote_ip) {
  Verdict v;
  if (!subject.empty() && exempt_.contains(subject)) {
    v.exempt = true;
    return v;
  }
  std::string key = subject.empty() ? "a:" + std::string(remote_ip) : "u:" + std::string(subject);
  const double limit = options_.limit;
  const double rate = limit / static_cast<double>(options_.window.count());  // tokens per second
  SystemTime now = clock_.Now();
  std::lock_guard lock(mu_);
  auto it = buckets_.find(key);
  if (it == buckets_.end()) {
    PruneLocked(now);
    it = buckets_.emplace(std::move(key), Bucket{limit, now}).first;
  }
  Bucket& b = it->second;
  double elapsed = std::max(0.0, std::chrono::duration<double>(now - b.updated).count());
  b.tokens = std::min(limit, b.tokens + elapsed * rate);
  b.updated = now;
  if (b.tokens >= 1.0) {
    b.tokens -= 1.0;
    v.remaining = static_cast<uint32_t>(std::floor(b.tokens));
    return v;
  }
  v.allowed = false;
  v.remaining = 0;
  v.retry_after = std::chrono::seconds(
      std::max<int64_t>(1, static_cast<int64_t>(std::ceil((1.0 - b.tokens) / rate))));
  return v;
}

}  // namespace berth::auth
