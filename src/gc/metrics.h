#pragma once
// Online garbage collection's metrics for the Prometheus endpoint, read at scrape time from the
// job's counters (gc/job.h GcCounters):
//   berth_gc_runs_total                          counter  collections run by the online job
//   berth_gc_failed_runs_total                   counter  collections that could not run at all
//   berth_gc_errors_total                        counter  objects skipped after a storage error
//   berth_gc_deleted_objects_total{kind}         counter  kind: blob, manifest, link
//   berth_gc_freed_bytes_total                   counter  blob bytes deleted
//   berth_gc_duration_seconds_total              counter  time spent collecting
//   berth_gc_last_duration_seconds               gauge    the last collection's duration
// Keep the registrations alive no longer than the counters they read (they hold a shared_ptr, so
// any order is safe). Thread-safe.

#include <memory>
#include <vector>

#include "gc/collector.h"
#include "gc/job.h"
#include "metrics/registry.h"

namespace berth::gc {

std::vector<metrics::Registration> RegisterMetrics(metrics::Registry& registry,
                                                   std::shared_ptr<GcCounters> counters);

// Adds one collection's outcome to `counters`.
void Record(GcCounters& counters, const Result<CollectStats>& run);

}  // namespace berth::gc
