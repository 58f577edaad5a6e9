#include "http/core.h"

#include <sched.h>

namespace berth::http {

int UsableCores() {
  cpu_set_t set;
  CPU_ZERO(&set);
  if (sched_getaffinity(0, sizeof set, &set) == 0) {
    int n = CPU_COUNT(&set);
    if (n > 0) return n;
  }
  return std::max(1, static_cast<int>(std::thread::hardware_concurrency()));
}

BufferLease::BufferLease(Core& core, uint64_t need) {
  const ServerOptions& o = core.options;
  const size_t small = std::max<size_t>(o.small_buffer, 4096);
  size_ = static_cast<size_t>(std::min<uint64_t>(small, need));
  const size_t large = std::max(o.large_buffer, small);
  if (need <= small || large == small) return;
  const auto want = static_cast<int64_t>(std::min<uint64_t>(large, need));
  int64_t left = core.large_buffers_left.load(std::memory_order_relaxed);
  while (left >= want) {
    if (core.large_buffers_left.compare_exchange_weak(left, left - want,
                                                      std::memory_order_relaxed)) {
      pool_ = &core.large_buffers_left;
      size_ = static_cast<size_t>(want);
      return;
    }
  }
}

}  // namespace berth::http
