#pragma once
// `storage.maintenance.gc`: online garbage collection inside `berth serve`, and the grace period
// `berth garbage-collect` uses too (see docs/gc.md).
//
//   storage:
//     maintenance:
//       gc:
//         enabled: true        # default false
//         interval: 24h        # between the end of one run and the start of the next
//         graceperiod: 1h      # default 1h; at least 1s
//         deleteuntagged: false
//         removelinks: false   # also remove repository links of deleted blobs (Berth's)
//
// REGISTRY_STORAGE_MAINTENANCE_GC_ENABLED=true and friends set the same keys. config/ keeps the
// section as YAML text (Config::raw_sections["storage.maintenance.gc"]); it is decoded here.
// Thread-safe (pure).

#include <chrono>

#include "common/error.h"
#include "config/config.h"

namespace berth::gc {

struct GcConfig {
  bool enabled = false;
  std::chrono::nanoseconds interval = std::chrono::hours(24);
  std::chrono::nanoseconds graceperiod = std::chrono::hours(1);
  bool deleteuntagged = false;
  bool removelinks = false;
};

// kInvalidArgument naming the key ("storage.maintenance.gc.graceperiod: ...").
Result<GcConfig> DecodeConfig(const config::Config& cfg);

}  // namespace berth::gc
