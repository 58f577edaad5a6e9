#include "gc/lease.h"

namespace berth::gc {

std::string LeasesRoot() { return "/berth/gc/leases"; }

std::string LeasePath(const Digest& d) {
  const std::string& hex = d.hex();
  return LeasesRoot() + "/" + std::string(d.algorithm_name()) + "/" + hex.substr(0, 2) + "/" + hex;
}

Leases::Leases(storage::driver::StorageDriverPtr driver, const Clock& clock,
               std::chrono::nanoseconds refresh_every)
    : driver_(std::move(driver)), clock_(clock), refresh_every_(refresh_every) {}

Status Leases::Take(const Digest& d) {
  const SystemTime now = clock_.Now();
  {
    std::lock_guard lock(mu_);
    auto it = written_.find(d.hex());
    if (it != written_.end() && now - it->second < refresh_every_) return Ok();
  }
  BERTH_RETURN_IF_ERROR(driver_->PutContent(LeasePath(d), FormatRfc3339(now)));
  std::lock_guard lock(mu_);
  if (written_.size() >= kMaxRemembered) written_.clear();
  written_[d.hex()] = now;
  return Ok();
}

}  // namespace berth::gc
