#include "gc/metrics.h"

#include <chrono>

namespace berth::gc {

std::vector<metrics::Registration> RegisterMetrics(metrics::Registry& r,
                                                   std::shared_ptr<GcCounters> c) {
  using metrics::Type;
  std::vector<metrics::Registration> regs;
  auto counter = [&](const char* name, const char* help, std::atomic<uint64_t> GcCounters::*field,
                     double scale = 1) {
    regs.push_back(r.AddCallback(name, help, Type::kCounter, [c, field, scale] {
      return static_cast<double>((*c.*field).load()) * scale;
    }));
  };
  counter("berth_gc_runs_total", "Garbage collections run by the online job.", &GcCounters::runs);
  counter("berth_gc_failed_runs_total", "Garbage collections that could not run at all.",
          &GcCounters::failed_runs);
  counter("berth_gc_errors_total",
          "Objects garbage collection skipped (kept) after a storage error.", &GcCounters::errors);
  counter("berth_gc_freed_bytes_total", "Blob bytes deleted by garbage collection.",
          &GcCounters::bytes_freed);
  counter("berth_gc_duration_seconds_total", "Time spent in garbage collection.",
          &GcCounters::duration_us_total, 1e-6);
  regs.push_back(r.AddCallback(
      "berth_gc_last_duration_seconds", "Duration of the last garbage collection.", Type::kGauge,
      [c] { return static_cast<double>(c->last_duration_us.load()) * 1e-6; }));
  regs.push_back(r.AddCallback(
      "berth_gc_deleted_objects_total",
      "Objects deleted by garbage collection, by kind (blob, manifest, repository link).",
      Type::kCounter, {"kind"}, [c] {
        return std::vector<metrics::Sample>{
            {{"blob"}, static_cast<double>(c->blobs_deleted.load())},
            {{"manifest"}, static_cast<double>(c->manifests_deleted.load())},
            {{"link"}, static_cast<double>(c->links_deleted.load())}};
      }));
  return regs;
}

void Record(GcCounters& c, const Result<CollectStats>& run) {
  c.runs++;
  if (!run) {
    c.failed_runs++;
    return;
  }
  const uint64_t us = static_cast<uint64_t>(
      std::chrono::duration_cast<std::chrono::microseconds>(run->duration).count());
  c.errors += run->errors;
  c.blobs_deleted += run->blobs_deleted;
  c.manifests_deleted += run->manifests_deleted;
  c.links_deleted += run->links_deleted;
  c.bytes_freed += run->bytes_freed;
  c.duration_us_total += us;
  c.last_duration_us = us;
}

}  // namespace berth::gc
