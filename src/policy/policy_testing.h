#pragma once
// Test helpers for src/policy: a driver whose modification times come from a FakeClock (so push
// times and link ages are set by the test), and a storage stack over it. Test-only; header-only.

#include <map>
#include <mutex>
#include <string>

#include "common/time.h"
#include "storage/driver/driver.h"
#include "storage/factory.h"

namespace berth::policy::testing {

// Every PutContent records the clock's time for its path; Stat reports it as the modification time.
class ClockedDriver : public storage::driver::DriverWrapper {
 public:
  ClockedDriver(storage::driver::StorageDriverPtr target, const Clock& clock)
      : DriverWrapper(std::move(target)), clock_(clock) {}

 protected:
  Status DoPutContent(std::string_view path, std::string_view content) override {
    BERTH_RETURN_IF_ERROR(target().PutContent(path, content));
    std::lock_guard lock(mu_);
    times_[std::string(path)] = clock_.Now();
    return Ok();
  }
  Result<storage::driver::FileInfo> DoStat(std::string_view path) override {
    BERTH_ASSIGN_OR_RETURN(auto info, target().Stat(path));
    std::lock_guard lock(mu_);
    if (auto it = times_.find(std::string(path)); it != times_.end()) info.mod_time = it->second;
    return info;
  }

 private:
  const Clock& clock_;
  std::mutex mu_;
  std::map<std::string, SystemTime> times_;  // guarded by mu_
};

}  // namespace berth::policy::testing
