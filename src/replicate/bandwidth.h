#pragma once
// A bandwidth limit shared by every stream of a replication rule: each chunk a copy reads waits
// for its share of the rate, so the streams together stay at or under `bytes_per_second` averaged
// over any interval longer than one chunk's time (no burst credit accumulates while idle).
//
// Thread-safe. Take blocks the calling (copy) thread; never call it on an event loop.

#include <chrono>
#include <cstdint>
#include <mutex>

namespace berth::replicate {

class Bandwidth {
 public:
  explicit Bandwidth(uint64_t bytes_per_second) : rate_(bytes_per_second) {}
  // Waits until `n` more bytes may pass. Returns at once when the rate is 0 (unlimited).
  void Take(uint64_t n);
  uint64_t rate() const { return rate_; }

 private:
  const uint64_t rate_;
  std::mutex mu_;
  std::chrono::steady_clock::time_point next_{};  // guarded by mu_: when the link is free again
};

}  // namespace berth::replicate
