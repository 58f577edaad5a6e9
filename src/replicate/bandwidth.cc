#include "replicate/bandwidth.h"

#include <thread>

namespace berth::replicate {

void Bandwidth::Take(uint64_t n) {
  if (rate_ == 0 || n == 0) return;
  std::chrono::steady_clock::time_point until;
  {
    std::lock_guard lock(mu_);
    auto now = std::chrono::steady_clock::now();
    if (next_ < now) next_ = now;
    next_ += std::chrono::nanoseconds(static_cast<int64_t>(
        static_cast<long double>(n) * 1'000'000'000.0L / static_cast<long double>(rate_)));
    until = next_;
  }
  std::this_thread::sleep_until(until);
}

}  // namespace berth::replicate
