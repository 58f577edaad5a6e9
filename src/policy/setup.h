#pragma once
// Where retention and immutability plug into the application (cli/app.cc) and the command line:
// one call each, so the shared files stay one line per feature.
// Thread-safety: as the functions they call.

#include <memory>

#include "common/error.h"
#include "common/time.h"
#include "config/config.h"
#include "storage/driver/driver.h"
#include "storage/registry.h"

namespace berth::jobs {
class Scheduler;
}

namespace berth::policy {

// The configuration's `berth.immutable` / `berth.retention` decode (for `berth config check`).
// kInvalidArgument naming the key.
Status Check(const config::Config& cfg);

// `registry` wrapped by the immutable-tags decorator when `berth.immutable` has rules.
Result<storage::NamespacePtr> Decorate(const config::Config& cfg, storage::NamespacePtr registry);

// Adds the "retention" job (every berth.retention.interval; none when there are no rules or the
// interval is 0). The job runs the rules over `registry` (give it the decorated one) and logs each
// decision at info level and a summary.
Status AddJobs(const config::Config& cfg, jobs::Scheduler& scheduler,
               storage::NamespacePtr registry, storage::driver::StorageDriverPtr driver,
               const Clock& clock);

}  // namespace berth::policy
