// Tenancy changes into the audit log (contract in changes.h).
#include "notify/changes.h"

#include "notify/audit.h"

namespace berth::notify {

Result<ChangeHook> OpenChangeRecorder(const config::Config& cfg) {
  BERTH_ASSIGN_OR_RETURN(AuditConfig ac, DecodeAudit(cfg));
  if (!ac.enabled || ac.path.empty() || ac.path == "-") return ChangeHook();
  BERTH_ASSIGN_OR_RETURN(std::shared_ptr<AuditLog> log, AuditLog::Open(ac));
  // A CLI process may end right after the change: the line is on disk when the hook returns.
  return ChangeHook([log](std::string_view actor, std::string_view action, std::string_view target,
                          std::string_view detail) {
    log->RecordChange(actor, action, target, detail);
    log->Flush();
  });
}

}  // namespace berth::notify
