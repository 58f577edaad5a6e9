#pragma once
// A storage driver decorator that times every driver call (the app installs it over the
// configured driver when metrics are on):
//   registry_storage_action_seconds{driver,action}          (histogram, Distribution's name)
//   berth_storage_errors_total{driver,action,code}          (code: not_found, io, ...)
// `action` is the driver method (GetContent, PutContent, Reader, Writer, Stat, List, Move, Delete,
// Walk, RedirectURL); Reader/Writer time the open, not the bytes streamed after it. Thread-safe.

#include "metrics/registry.h"
#include "storage/driver/driver.h"

namespace berth::observe {

storage::driver::StorageDriverPtr WithDriverMetrics(storage::driver::StorageDriverPtr inner,
                                                    metrics::Registry& registry);

}  // namespace berth::observe
