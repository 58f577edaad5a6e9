#include "replicate/metrics.h"

#include "replicate/service.h"

namespace berth::replicate {

std::vector<metrics::Registration> RegisterMetrics(metrics::Registry& r,
                                                   std::shared_ptr<Service> service) {
  std::vector<metrics::Registration> regs;
  if (!service) return regs;
  using metrics::Type;
  auto per_rule = [&](const char* name, const char* help, Type type,
                      double (*value)(const RuleStatus&)) {
    regs.push_back(r.AddCallback(name, help, type, {"rule"}, [service, value] {
      std::vector<metrics::Sample> out;
      for (const RuleStatus& s : service->Statuses()) out.push_back({{s.rule}, value(s)});
      return out;
    }));
  };
  per_rule("berth_replication_images_total", "Images copied by a replication rule.",
           Type::kCounter, [](const RuleStatus& s) { return double(s.images); });
  per_rule("berth_replication_bytes_total", "Blob bytes uploaded by a replication rule.",
           Type::kCounter, [](const RuleStatus& s) { return double(s.bytes); });
  per_rule("berth_replication_deletes_total", "Deletes propagated by a replication rule.",
           Type::kCounter, [](const RuleStatus& s) { return double(s.deletes); });
  per_rule("berth_replication_failures_total",
           "Failed replication runs and failed attempts at queued items.", Type::kCounter,
           [](const RuleStatus& s) { return double(s.failures); });
  per_rule("berth_replication_pending_items", "On-push replication items waiting in the queue.",
           Type::kGauge, [](const RuleStatus& s) { return double(s.pending); });
  per_rule("berth_replication_lag_seconds",
           "Age of the oldest pending replication item (0 when none).", Type::kGauge,
           [](const RuleStatus& s) { return LagSeconds(s, SystemClock().Now()); });
  per_rule("berth_replication_last_run_timestamp_seconds",
           "Unix time the rule's last run ended (0 when it never ran).", Type::kGauge,
           [](const RuleStatus& s) {
             if (!s.last_run) return 0.0;
             return std::chrono::duration<double>(s.last_run->time_since_epoch()).count();
           });
  return regs;
}

}  // namespace berth::replicate
