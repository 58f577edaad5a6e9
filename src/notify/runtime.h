#pragma once
// What the app assembles from the configuration: the notification service (when an endpoint is
// enabled) and the audit log (when berth.audit.enabled), both registered as API event sinks.
// Destroying the Runtime persists the events still in memory and stops every thread, so destroy
// it after the HTTP server has drained.
//
//   BERTH_ASSIGN_OR_RETURN(im.notify, notify::Attach(cfg, ao.event_sinks, clock, &registry));

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "api/events.h"
#include "common/error.h"
#include "common/time.h"
#include "config/config.h"
#include "metrics/registry.h"
#include "notify/changes.h"

namespace berth::notify {

class NotificationService;
class AuditLog;

struct Runtime {
  ~Runtime();
  std::shared_ptr<NotificationService> notifications;  // null when no endpoint is enabled
  std::shared_ptr<AuditLog> audit;                     // null when the audit log is off
  // The queue, delivery and audit metrics (notify/metrics.h), when Attach was given a registry.
  std::vector<metrics::Registration> metrics;
  // For http::ServerOptions::on_reload: records the reload in the audit log and reopens its file
  // (for logrotate). Null without an audit log.
  std::function<void(const std::string& error)> OnReload() const;
  // Records tenancy changes in the audit log (notify/changes.h). Null without an audit log.
  ChangeHook ChangeRecorder() const;
};

// Decodes `notifications`, `berth.notifications` and `berth.audit` (config check). Errors name
// the key.
Status CheckConfig(const config::Config& cfg);

// With `metrics`, registers the notification and audit metrics there (it must outlive the
// Runtime). Errors name the key (kInvalidArgument) or the directory/file (kIo).
Result<std::unique_ptr<Runtime>> Attach(const config::Config& cfg,
                                        std::vector<api::EventSinkPtr>& sinks,
                                        const Clock& clock = SystemClock(),
                                        metrics::Registry* metrics = nullptr);

}  // namespace berth::notify
