#include "notify/runtime.h"

#include <unistd.h>

#include "common/strings.h"
#include "notify/audit.h"
#include "notify/metrics.h"
#include "notify/service.h"

namespace berth::notify {

Runtime::~Runtime() {
  metrics.clear();  // no scrape reads a service while it stops
  if (notifications) notifications->Stop();
  if (audit) audit->Stop();
}

std::function<void(const std::string&)> Runtime::OnReload() const {
  if (!audit) return nullptr;
  return [a = audit](const std::string& error) {
    a->Reopen();
    a->RecordReload(error.empty(), error);
  };
}

ChangeHook Runtime::ChangeRecorder() const {
  if (!audit) return nullptr;
  return [a = audit](std::string_view actor, std::string_view action, std::string_view target,
                     std::string_view detail) { a->RecordChange(actor, action, target, detail); };
}

Status CheckConfig(const config::Config& cfg) {
  BERTH_RETURN_IF_ERROR(DecodeNotifications(cfg));
  BERTH_RETURN_IF_ERROR(DecodeAudit(cfg));
  return Ok();
}

Result<std::unique_ptr<Runtime>> Attach(const config::Config& cfg,
                                        std::vector<api::EventSinkPtr>& sinks, const Clock& clock,
                                        metrics::Registry* metrics) {
  BERTH_ASSIGN_OR_RETURN(NotificationsConfig nc, DecodeNotifications(cfg));
  BERTH_ASSIGN_OR_RETURN(AuditConfig ac, DecodeAudit(cfg));
  auto rt = std::make_unique<Runtime>();
  if (ac.enabled) {
    BERTH_ASSIGN_OR_RETURN(rt->audit, AuditLog::Open(ac));
    sinks.push_back(rt->audit);
  }
  bool any = false;
  for (const auto& e : nc.endpoints) any |= !e.disabled;
  if (any) {
    ServiceOptions so;
    so.clock = &clock;
    char host[256] = {};
    if (::gethostname(host, sizeof host - 1) != 0) host[0] = 0;
    std::string port = cfg.http.addr.substr(cfg.http.addr.rfind(':') + 1);
    so.source.addr = std::string(host) + ":" + port;
    so.source.instance_id = NewUuid();
    BERTH_ASSIGN_OR_RETURN(rt->notifications, NotificationService::Start(nc, std::move(so)));
    sinks.push_back(rt->notifications);
  }
  if (metrics) rt->metrics = RegisterMetrics(*metrics, *rt);
  return rt;
}

}  // namespace berth::notify
