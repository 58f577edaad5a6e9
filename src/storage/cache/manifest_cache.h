#pragma once
// A decorator that keeps manifest content in memory. Content is immutable per digest, so it is
// cached without invalidation; only links (tags, revisions) are re-read on every request, by
// Resolve, which this decorator leaves alone: a deleted or untagged manifest is never served from
// here. Bounded by bytes (whole cache dropped when full: simple, and it refills from storage);
// manifests larger than 1/16 of the budget are not kept. Thread-safe.

#include <cstddef>
#include <memory>

#include "storage/registry.h"

namespace berth::metrics {
class Registry;
}

namespace berth::storage::cache {

// Wraps `inner`'s ManifestService; everything else passes through. `max_bytes` == 0 returns
// `inner`. With `metrics`, reads count in berth_cache_requests_total{cache="manifest",result=
// "hit"|"miss"}.
NamespacePtr WithManifestCache(NamespacePtr inner, size_t max_bytes,
                               metrics::Registry* metrics = nullptr);

}  // namespace berth::storage::cache
