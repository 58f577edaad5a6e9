#include "gc/job.h"

#include "common/log.h"
#include "gc/collector.h"
#include "gc/config.h"
#include "gc/lease.h"
#include "gc/leasing_namespace.h"
#include "gc/metrics.h"
#include "jobs/scheduler.h"

namespace berth::gc {
namespace {

// One line per run of the online job.
void LogRun(const Result<CollectStats>& stats, uint64_t ms) {
  if (!stats) return spdlog::warn("garbage collection failed: {}", stats.error().ToString());
  spdlog::info(
      "garbage collection: {} repositories, {} blobs ({} marked, {} young), deleted {} "
      "manifests, {} blobs ({} bytes), {} links in {} ms{}",
      stats->repositories, stats->blobs, stats->blobs_marked, stats->blobs_young,
      stats->manifests_deleted, stats->blobs_deleted, stats->bytes_freed, stats->links_deleted, ms,
      stats->errors ? ", " + std::to_string(stats->errors) + " errors" : "");
}

}  // namespace

Result<Installed> Install(const config::Config& cfg, storage::driver::StorageDriverPtr driver,
                          const Clock& clock, storage::NamespacePtr registry,
                          jobs::Scheduler& scheduler) {
  BERTH_ASSIGN_OR_RETURN(GcConfig gc, DecodeConfig(cfg));
  Installed out;
  out.counters = std::make_shared<GcCounters>();
  auto leases = std::make_shared<Leases>(driver, clock, gc.graceperiod / 4);
  out.registry = WithLeases(std::move(registry), std::move(leases));
  if (!gc.enabled) return out;

  CollectOptions options{.dry_run = false,
                         .delete_untagged = gc.deleteuntagged,
                         .grace_period = gc.graceperiod,
                         .remove_links = gc.removelinks};
  jobs::JobSpec spec{
      .name = "garbage-collect",
      .interval = gc.interval,
      .initial_delay = std::min<std::chrono::nanoseconds>(gc.interval, std::chrono::minutes(1)),
      .jitter = std::min<std::chrono::nanoseconds>(gc.interval / 10, std::chrono::minutes(5))};
  BERTH_RETURN_IF_ERROR(scheduler.Add(
      std::move(spec),
      [driver, clock = &clock, options, counters = out.counters](const jobs::JobContext& ctx) {
        auto stats =
            Collect(*driver, *clock, options, nullptr, [&ctx] { return ctx.StopRequested(); });
        Record(*counters, stats);
        LogRun(stats, counters->last_duration_us.load() / 1000);
      }));
  return out;
}

}  // namespace berth::gc
