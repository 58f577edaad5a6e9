#pragma once
// Online garbage collection inside `berth serve`: installs the leasing decorator
// (gc/leasing_namespace.h) around the storage stack, always, so that collection by another process
// is safe too, and, when `storage.maintenance.gc.enabled`, adds the "garbage-collect" job to the
// scheduler. The job counts its runs in GcCounters, which gc/metrics.h exports.
//
// Thread-safe: Install is called once at start-up; the job runs on the scheduler's thread.

#include <atomic>
#include <memory>
#include <vector>

#include "common/error.h"
#include "common/time.h"
#include "config/config.h"
#include "metrics/registry.h"
#include "storage/driver/driver.h"
#include "storage/registry.h"

namespace berth::jobs {
class Scheduler;
}

namespace berth::gc {

struct GcCounters {
  std::atomic<uint64_t> runs{0};
  std::atomic<uint64_t> failed_runs{0};
  std::atomic<uint64_t> blobs_deleted{0};
  std::atomic<uint64_t> manifests_deleted{0};
  std::atomic<uint64_t> links_deleted{0};
  std::atomic<uint64_t> bytes_freed{0};
  std::atomic<uint64_t> errors{0};  // objects skipped after a storage error
  std::atomic<uint64_t> duration_us_total{0};
  std::atomic<uint64_t> last_duration_us{0};
};

struct Installed {
  storage::NamespacePtr registry;  // the leasing decorator around the given stack
  std::shared_ptr<GcCounters> counters;
  std::vector<metrics::Registration> metrics;  // gc/metrics.h, when the caller registers them
};

// Errors: kInvalidArgument for a bad storage.maintenance.gc (naming the key); the scheduler's.
Result<Installed> Install(const config::Config& cfg, storage::driver::StorageDriverPtr driver,
                          const Clock& clock, storage::NamespacePtr registry,
                          jobs::Scheduler& scheduler);

}  // namespace berth::gc
