#pragma once
// Pull rate limits (berth.ratelimit), as Docker Hub applies them: a token bucket per identity (the
// authenticated subject) or, for anonymous callers, per client address. Each manifest GET takes one
// token; a bucket holds `limit` tokens and refills continuously at limit/window. Answers carry the
// headers Docker Hub sends, which clients and CI dashboards read:
//   ratelimit-limit: 100;w=21600
//   ratelimit-remaining: 76;w=21600
// and an empty bucket is answered 429 TOOMANYREQUESTS with Retry-After. Identities listed as exempt
// are never limited (and get no headers).
//
// Memory is bounded: at most `max_keys` buckets; when full, buckets that have refilled completely
// (indistinguishable from new ones) are dropped first, then the oldest half.
//
// Thread-safety: thread-safe.

#include <chrono>
#include <cstdint>
#include <mutex>
#include <set>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "common/time.h"

namespace berth::auth {

struct RateLimitOptions {
  uint32_t limit = 100;
  std::chrono::seconds window{6 * 3600};
  std::vector<std::string> exempt;
  size_t max_keys = 100000;
};

class PullRateLimiter {
 public:
  struct Verdict {
    bool allowed = true;
    bool exempt = false;
    uint32_t remaining = 0;
    std::chrono::seconds retry_after{0};
  };

  explicit PullRateLimiter(RateLimitOptions options, const Clock& clock = SystemClock());
  PullRateLimiter(const PullRateLimiter&) = delete;
  PullRateLimiter& operator=(const PullRateLimiter&) = delete;

  // Takes one pull for `subject` ("" = anonymous, then `remote_ip` is the key).
  Verdict Take(std::string_view subject, std::string_view remote_ip);
  // "100;w=21600"
  std::string LimitHeader() const;
  std::string RemainingHeader(uint32_t remaining) const;
  size_t buckets();

 private:
  struct Bucket {
    double tokens;
    SystemTime updated;
  };
  void PruneLocked(SystemTime now);

  const RateLimitOptions options_;
  const Clock& clock_;
  const std::set<std::string, std::less<>> exempt_;
  std::mutex mu_;
  std::unordered_map<std::string, Bucket> buckets_;  // Guarded by mu_.
};

}  // namespace berth::auth
