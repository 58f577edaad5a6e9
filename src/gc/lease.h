#pragma once
// Leases: the record that a digest was just used, which garbage collection honours for a grace
// period. They make collection safe while the registry serves (the protocol is in docs/gc.md):
//
//   a use (HEAD/GET of a blob, mount, link, upload commit, manifest put and what it references,
//   manifest fetch by digest) first takes the lease, then reads the stored object;
//   the collector first moves the object aside (gc/quarantine.h), then reads the lease, and puts
//   the object back when the lease is younger than the grace period.
// One of the two always sees the other's write, so a use that found the object keeps it.
//
// Layout (Berth's own, outside Distribution's tree, which Distribution ignores):
//   /berth/gc/leases/<alg>/<first 2 hex>/<hex>     its modification time is the lease's time
// The content is the RFC 3339 time of the write, for people reading the tree.
//
// Leases are shared through storage, so a `berth garbage-collect` in another process sees the
// leases a serving process takes. A process rewrites a given lease at most once per
// `refresh_every` (a quarter of the grace period by default), so the guarantee a use gets is
// "kept for at least graceperiod - refresh_every after it".
//
// Thread-safe.

#include <chrono>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>

#include "common/digest.h"
#include "common/error.h"
#include "common/time.h"
#include "storage/driver/driver.h"

namespace berth::gc {

std::string LeasesRoot();
std::string LeasePath(const Digest& d);

class Leases {
 public:
  Leases(storage::driver::StorageDriverPtr driver, const Clock& clock,
         std::chrono::nanoseconds refresh_every);

  // Records a use of `d` now. kIo when the lease cannot be written.
  Status Take(const Digest& d);

 private:
  static constexpr size_t kMaxRemembered = 1 << 16;
  storage::driver::StorageDriverPtr driver_;
  const Clock& clock_;
  std::chrono::nanoseconds refresh_every_;
  std::mutex mu_;
  std::unordered_map<std::string, SystemTime> written_;  // Guarded by mu_. hex -> last write
};
using LeasesPtr = std::shared_ptr<Leases>;

}  // namespace berth::gc
