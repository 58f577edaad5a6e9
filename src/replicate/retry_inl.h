#pragma once
// WithRetries (declared in replicate/copier.h): exponential back-off for operations against a
// registry that may be down for a while.

#include <thread>

#include "client/registry.h"

namespace berth::replicate {

template <typename F>
auto WithRetries(int attempts, std::chrono::milliseconds backoff, F&& op) -> decltype(op()) {
  for (int i = 1;; ++i) {
    auto r = op();
    if (r || i >= attempts || !client::IsUpstreamDown(r.error())) return r;
    std::this_thread::sleep_for(backoff);
    backoff *= 2;
  }
}

}  // namespace berth::replicate
