#pragma once
// Opens the metadata store a configuration names (`berth.meta`), for `berth serve` and for the
// CLI's tenancy commands, which work on the same store whether the server runs or not.
//
//   berth:
//     meta:
//       driver: sqlite          # default; `path` defaults to berth-meta.db beside the storage root
//       path: /var/lib/berth/meta.db
//   # or
//       driver: postgres
//       dsn: "host=db.internal dbname=berth user=berth"
//
// Errors: kInvalidArgument (no store configured; sqlite without a path and without a filesystem
// storage root), kUnavailable / kIo from the database, each naming berth.meta.

#include <string>

#include "common/error.h"
#include "common/time.h"
#include "config/config.h"
#include "meta/store.h"
#include "meta/tenancy.h"

namespace berth::meta {

bool Configured(const config::Config& cfg);
// The SQLite file the config means ("" for postgres).
std::string SqlitePath(const config::Config& cfg);
Result<StorePtr> OpenConfigured(const config::Config& cfg, const Clock& clock = SystemClock());
// The store's Tenancy (authentication and authorization), or nullptr when no store is configured.
Result<TenancyPtr> OpenTenancy(const config::Config& cfg, const Clock& clock = SystemClock());

}  // namespace berth::meta
