#pragma once
// Assembles the default storage stack over a driver: the filesystem-layout services (storage/fs/),
// wrapped by the manifest cache and the listing index (storage/cache/). `berth serve` and the tests
// call this; features add their decorators around the result. Thread-safe result.

#include <chrono>
#include <cstddef>
#include <functional>
#include <string_view>

#include "common/time.h"
#include "storage/driver/driver.h"
#include "storage/registry.h"

namespace berth::metrics {
class Registry;
}

namespace berth::storage {

struct StackOptions {
  const Clock* clock = &SystemClock();     // must outlive the stack
  size_t manifest_cache_bytes = 32 << 20;  // 0 disables the cache
  // How often the listing index reconciles with storage on its own thread (writes by other
  // processes show up within this); zero when a scheduler job calls Namespace::Reconcile instead.
  std::chrono::milliseconds reconcile_every{0};
  size_t max_tag_lists = 4096;
  // When set, the caches count their hits and misses there (must outlive the stack).
  metrics::Registry* metrics = nullptr;
  // The listing index's hits and misses (cache::ListingIndexOptions::on_lookup).
  std::function<void(std::string_view listing, bool hit)> on_listing_lookup;
};

// Starts the listing index's first build in the background.
NamespacePtr NewRegistry(driver::StorageDriverPtr driver, StackOptions options = {});

}  // namespace berth::storage
