#pragma once
// Size and age limits of the pull-through cache (berth.proxy.maxcachesize, proxy.ttl).
//
// Cached content is what mirrored repositories link. A pass (the `proxy-evict` job) lists the
// blob links of every mirrored repository, takes each blob's last pull as the later of the link's
// modification time and the pulls recorded in memory since start-up (RecordPull: one map update
// per pull, no write), then removes links: first of blobs not pulled within `ttl`, then of the
// least-recently-pulled until the cached bytes (each blob counted once) are within the limit.
// Blob data is never deleted here: a local repository may share it; garbage collection reclaims
// the bytes no repository links any more. An evicted blob pulled again is fetched again.
//
// Thread-safety: thread-safe; Run is meant for one job thread at a time.

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "common/time.h"
#include "proxy/upstreams.h"
#include "storage/registry.h"

namespace berth::proxy {

struct EvictStats {
  uint64_t cached_bytes = 0;  // before the pass
  uint64_t blobs = 0;
  uint64_t links_removed = 0;
  uint64_t bytes_released = 0;  // of blobs no mirrored repository links any more
};

class Evictor {
 public:
  Evictor(storage::NamespacePtr local, storage::driver::StorageDriverPtr driver,
          std::shared_ptr<Upstreams> upstreams, const Clock* clock, uint64_t max_bytes,
          std::chrono::milliseconds ttl);

  void RecordPull(std::string_view repo, const Digest& d);
  Result<EvictStats> Run();
  bool enabled() const { return max_bytes_ > 0 || ttl_.count() > 0; }

 private:
  storage::NamespacePtr local_;
  storage::driver::StorageDriverPtr driver_;
  std::shared_ptr<Upstreams> upstreams_;
  const Clock* clock_;
  uint64_t max_bytes_;
  std::chrono::milliseconds ttl_;
  std::mutex mu_;
  std::map<std::string, SystemTime, std::less<>> pulls_;  // "repo@digest". Guarded by mu_.
};

}  // namespace berth::proxy
