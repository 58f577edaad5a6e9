#pragma once
// The filesystem-layout Namespace: every service of storage/registry.h over a storage driver in
// Distribution's on-disk layout (storage/paths.h), with no caches. Catalog walks the repositories
// tree on every call (time grows with the registry: wrap it in cache::ListingIndex, as
// storage/factory.h does); Reconcile has nothing to do. Thread-safe.

#include "common/time.h"
#include "storage/driver/driver.h"
#include "storage/registry.h"

namespace berth::storage::fs {

// `clock` (upload start times) must outlive the result.
NamespacePtr NewNamespace(driver::StorageDriverPtr driver, const Clock& clock);

}  // namespace berth::storage::fs
