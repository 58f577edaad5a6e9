#pragma once
// The listing index: a decorator that answers Catalog and TagService::List from memory, so no
// request waits on work that grows with the registry.
//
//  - Catalog: a sorted in-memory set of repositories. Writes through this Namespace update it at
//  once
//    (a manifest pushed into a new repository is listed on the next request). It is built from
//    storage in the background when the index is created and rebuilt by Reconcile (which the
//    scheduler calls every listing TTL), so writes by other processes sharing the storage show up
//    after a reconcile. Requests are served from the last good copy while a reconcile runs; only a
//    Catalog call before the very first build has finished waits for it. A reconcile never loses a
//    write made through this Namespace while it ran: such writes are journalled and replayed onto
//    its result.
//  - Tag lists: a bounded per-repository cache filled on first List (work proportional to that
//    repository's tags, not to the registry), updated at once by this Namespace's tag and manifest
//    writes, and dropped by Reconcile (refilled on the next List).
//
// Catalog errors: whatever the inner Catalog returns when the first build failed (it is then asked
// directly until a build succeeds). Thread-safe.

#include <chrono>
#include <cstddef>
#include <functional>
#include <string_view>

#include "storage/registry.h"

namespace berth::storage::cache {

struct ListingIndexOptions {
  // Besides the initial build, run Reconcile every this often on the index's own thread; zero: the
  // caller schedules Reconcile (a scheduler job).
  std::chrono::milliseconds reconcile_every{0};
  // Repositories whose tag lists are kept (the whole cache is dropped when full).
  size_t max_tag_lists = 4096;
  // Told of every Catalog and tag List: `listing` is "catalog" or "tags", `hit` whether memory
  // answered (a Catalog waiting for the first build counts as a hit once it is served from it).
  // Called on the request's thread; keep it cheap (a metrics counter).
  std::function<void(std::string_view listing, bool hit)> on_lookup;
};

// Wraps `inner`: Catalog, Reconcile, Tags() and Manifests() are the index's; the rest passes
// through. Starts the initial catalog build on a background thread; destroying the result joins it.
NamespacePtr WithListingIndex(NamespacePtr inner, ListingIndexOptions options = {});

}  // namespace berth::storage::cache
