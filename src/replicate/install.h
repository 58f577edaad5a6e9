#pragma once
// What the app assembles from `berth.replication`, in one call from App::Create: the service
// (service.h) registered as an API event sink when a rule triggers on push, and one scheduler job
// per rule that triggers on schedule ("replication-<rule>", every `interval`, first run one
// interval — at most a minute — after start-up, plus up to 10% jitter). Returns null when there are no rules.
//
//   BERTH_ASSIGN_OR_RETURN(im.replication,
//                          replicate::Install(cfg, im.registry, *im.scheduler, ao.event_sinks));
//
// Errors: kInvalidArgument naming the key; kIo naming the directory.

#include <memory>
#include <vector>

#include "api/events.h"
#include "common/error.h"
#include "common/time.h"
#include "config/config.h"
#include "jobs/scheduler.h"
#include "replicate/service.h"
#include "storage/registry.h"

namespace berth::replicate {

Result<std::shared_ptr<Service>> Install(const config::Config& cfg, storage::NamespacePtr ns,
                                         jobs::Scheduler& scheduler,
                                         std::vector<api::EventSinkPtr>& sinks,
                                         const Clock& clock = SystemClock());

}  // namespace berth::replicate
