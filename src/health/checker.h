#pragma once
// Runs named health checks periodically (one scheduler job each, so a check that hangs delays no
// other) and keeps their state with Distribution's threshold rule: a check is failing once it has
// failed `threshold` times in a row (threshold 0 counts as 1); one success clears it. A check still
// running after twice its interval plus its timeout counts as failing too (a hung NFS mount must
// not look healthy forever).
//
// "Gating" checks decide health: while one fails, GET /v2/ answers 503 and /debug/health lists it.
// The storage check is always present for readiness (/readyz: ready once it has passed, and while
// healthy) and for /debug/status; it gates only when health.storagedriver.enabled is true.
//
// Thread-safe.

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "common/error.h"
#include "common/noncopyable.h"
#include "health/checks.h"
#include "health/config.h"

namespace berth::jobs {
class Scheduler;
}

namespace berth::health {

struct CheckState {
  std::string name;
  bool ok = true;      // false while failing past the threshold (or hung)
  bool gating = true;  // whether it decides health
  bool ever_passed = false;
  std::string message;  // the last failure ("" after a success)
};

class Checker : NonCopyable {
 public:
  Checker();
  ~Checker();

  // Call before AddJobs. Names are unique (a later Add with the same name replaces nothing and is
  // ignored).
  void Add(std::string name, CheckFn fn, CheckTiming timing, bool gating);
  // Runs check `name` now and records the outcome (what each job does; tests call it directly).
  void RunOnce(const std::string& name);
  // One job per check: "health-<name>", first run at once, then every interval.
  Status AddJobs(jobs::Scheduler& scheduler);

  // Every check, in the order added.
  std::vector<CheckState> States() const;
  bool Healthy() const;
  // Ready: the check named `storage_check` has passed at least once, and Healthy().
  bool Ready(const std::string& storage_check) const;
  // The failing gating checks as a JSON object {"name":"message",...} ("{}" when healthy):
  // Distribution's /debug/health body, and the detail of /v2/'s 503.
  std::string FailuresJson() const;

 private:
  struct Impl;
  std::shared_ptr<Impl> impl_;  // shared with the jobs, which may outlive a Stop's wait
};

// The checks the config asks for, plus the storage check (named "storagedriver"), added to
// `checker`. `root` is the filesystem root directory ("" for other drivers). The storage check
// writes its probe only when health.storagedriver is enabled (and the storage is not read-only);
// otherwise it lists the root.
void AddConfiguredChecks(Checker& checker, const HealthConfig& cfg,
                         std::shared_ptr<storage::driver::StorageDriver> driver,
                         const std::string& root, bool read_only);

}  // namespace berth::health
