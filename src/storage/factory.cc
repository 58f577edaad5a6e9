#include "storage/factory.h"

#include "storage/cache/listing_index.h"
#include "storage/cache/manifest_cache.h"
#include "storage/fs/namespace.h"

namespace berth::storage {

NamespacePtr NewRegistry(driver::StorageDriverPtr driver, StackOptions options) {
  NamespacePtr ns = fs::NewNamespace(std::move(driver), *options.clock);
  ns = cache::WithManifestCache(std::move(ns), options.manifest_cache_bytes, options.metrics);
  cache::ListingIndexOptions lo;
  lo.reconcile_every = options.reconcile_every;
  lo.max_tag_lists = options.max_tag_lists;
  lo.on_lookup = std::move(options.on_listing_lookup);
  return cache::WithListingIndex(std::move(ns), lo);
}

}  // namespace berth::storage
