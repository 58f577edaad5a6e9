#include "policy/setup.h"

#include "common/log.h"
#include "jobs/scheduler.h"
#include "policy/config.h"
#include "policy/immutable.h"
#include "policy/retention.h"

namespace berth::policy {

Status Check(const config::Config& cfg) {
  BERTH_RETURN_IF_ERROR(Decode(cfg));
  return Ok();
}

Result<storage::NamespacePtr> Decorate(const config::Config& cfg, storage::NamespacePtr registry) {
  BERTH_ASSIGN_OR_RETURN(PolicyConfig pc, Decode(cfg));
  return WithImmutableTags(std::move(registry),
                           std::make_shared<const ImmutableTags>(std::move(pc.immutable)));
}

Status AddJobs(const config::Config& cfg, jobs::Scheduler& scheduler,
               storage::NamespacePtr registry, storage::driver::StorageDriverPtr driver,
               const Clock& clock) {
  BERTH_ASSIGN_OR_RETURN(PolicyConfig pc, Decode(cfg));
  if (pc.retention.rules.empty() || pc.retention.interval.count() == 0) return Ok();
  // The first run waits a little (with jitter, as upload purging does) so a restart loop does not
  // run the rules on every start, and a fleet restarted together spreads out.
  jobs::JobSpec spec{.name = "retention",
                     .interval = pc.retention.interval,
                     .initial_delay = std::chrono::minutes(5),
                     .jitter = std::chrono::minutes(1)};
  auto immutable = std::make_shared<const ImmutableTags>(std::move(pc.immutable));
  auto settings = std::make_shared<const RetentionSettings>(std::move(pc.retention));
  return scheduler.Add(std::move(spec), [registry, driver, immutable, settings,
                                         clock = &clock](const jobs::JobContext& ctx) {
    RetentionOptions opt;
    opt.dry_run = settings->dryrun;
    opt.out = [](const std::string& line) { spdlog::info("retention: {}", line); };
    opt.stop = [&ctx] { return ctx.StopRequested(); };
    auto sum = RunRetention(*registry, *driver, *settings, immutable.get(), *clock, opt);
    if (!sum) {
      spdlog::warn("retention failed: {}", sum.error().ToString());
      return;
    }
    spdlog::info(
        "retention{}: {} repositories, {} tags kept, {} {}deleted, {} manifests {}deleted, "
        "{} errors",
        settings->dryrun ? " (dry run)" : "", sum->repositories, sum->tags_kept, sum->tags_deleted,
        settings->dryrun ? "would be " : "", sum->manifests_deleted,
        settings->dryrun ? "would be " : "", sum->errors);
  });
}

}  // namespace berth::policy
