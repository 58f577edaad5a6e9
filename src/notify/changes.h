#pragma once
// Changes to the tenancy model (users, organisations, teams, grants, robot and personal tokens,
// quotas, repository settings) into the audit log of `berth.audit` (notify/audit.h shows the
// line). The metadata store keeps its own audit table; this puts the same changes in the one
// audit trail that also holds pushes, pulls and denials.
//
// A ChangeHook is a plain function of strings, so that code which must not depend on notify/ (the
// metadata store) can hold one. Call it after the change is committed, once per change:
//
//   hook(actor, "user.add", "bob", "");          // actor: who made it ("" when unknown)
//
//  - In the server: `runtime.ChangeRecorder()` (notify/runtime.h) writes through the running
//    audit log (null when the audit log is off).
//  - In a CLI process (`berth user add ...` while the server runs or not): OpenChangeRecorder(cfg)
//    opens the configured file and writes each line before the hook returns (appends are atomic
//    with O_APPEND, so the server and the CLI may write the same file). When the audit log goes to
//    standard output, another process cannot reach it: the hook is null, and the change is in the
//    store's table (`berth audit`).
//
// Thread-safety: a hook may be called from any thread. Calls never fail and never block on
// anything but a local file write.

#include <functional>
#include <string_view>

#include "common/error.h"
#include "config/config.h"

namespace berth::notify {

using ChangeHook = std::function<void(std::string_view actor, std::string_view action,
                                      std::string_view target, std::string_view detail)>;

// Null when `berth.audit` is off or writes to standard output. Errors: the configuration's
// (kInvalidArgument naming the key) or the file's (kIo).
Result<ChangeHook> OpenChangeRecorder(const config::Config& cfg);

}  // namespace berth::notify
