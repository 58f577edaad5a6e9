#include "replicate/install.h"

#include "common/log.h"

namespace berth::replicate {

Result<std::shared_ptr<Service>> Install(const config::Config& cfg, storage::NamespacePtr ns,
                                         jobs::Scheduler& scheduler,
                                         std::vector<api::EventSinkPtr>& sinks,
                                         const Clock& clock) {
  BERTH_ASSIGN_OR_RETURN(ReplicationConfig rc, DecodeConfig(cfg));
  if (rc.rules.empty()) return std::shared_ptr<Service>();
  BERTH_ASSIGN_OR_RETURN(auto service, Service::Start(std::move(rc), std::move(ns), clock));
  bool on_push = false;
  const auto& rules = service->config().rules;
  for (size_t i = 0; i < rules.size(); ++i) {
    on_push |= rules[i].on_push;
    if (!rules[i].scheduled) continue;
    std::weak_ptr<Service> weak = service;
    BERTH_RETURN_IF_ERROR(scheduler.Add(
        {.name = "replication-" + rules[i].name,
         .interval = rules[i].interval,
         .initial_delay = std::min<std::chrono::nanoseconds>(rules[i].interval,
                                                             std::chrono::minutes(1)),
         .jitter = rules[i].interval / 10},
        [weak, i](const jobs::JobContext&) {
          if (auto s = weak.lock()) (void)s->SyncRule(i);
        }));
  }
  if (on_push) sinks.push_back(service);
  return service;
}

}  // namespace berth::replicate
