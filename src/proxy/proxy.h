#pragma once
// The pull-through cache: a storage::Namespace decorator in front of the local stores, which are
// the cache. For a repository under a configured upstream (proxy/upstreams.h):
//   - blobs: local when cached (a hit); otherwise one single-flight fetch per digest
//     (proxy/blob_fetcher.h) streams to every waiting client while it fills the cache. A blob the
//     local store already holds for another repository is linked only after the upstream confirms
//     (HEAD) that this repository has it, so a mirrored name never exposes local content.
//   - manifests by digest: cached for good once fetched (content is immutable per digest).
//   - manifests by tag: the local tag is trusted for the upstream's `tagttl` after it was last
//     checked (the tag's current link's modification time, so it survives restarts); after that a
//     HEAD revalidates it (unchanged: only the time is renewed; changed: the new manifest is
//     fetched and the tag moved). When the upstream is down, answers 5xx or 429, a cached tag is
//     served for up to `staleness` past its TTL and a warning is logged.
//   - tag lists come from the upstream (local ones when it is down).
//   - writes (upload Start, Mount, manifest Put, Delete, Tag/Untag) are refused with UNSUPPORTED
//     (405, as registry:2 answers pushes to a proxy): the cache's content is the upstream's.
// Repositories outside every prefix are served by the local stores unchanged.
//
// containerd's mirror requests carry `?ns=<registry host>`: Rewrite() moves such a request into
// the repository space of the upstream configured with that `ns` (prefix inserted after /v2/).
//
// Thread-safety: thread-safe. Calls that reach the upstream block their thread (the HTTP
// server's blocking pool); they never run on an event loop.

#include <memory>
#include <vector>

#include "common/error.h"
#include "common/time.h"
#include "config/config.h"
#include "http/message.h"
#include "metrics/registry.h"
#include "proxy/upstreams.h"
#include "storage/registry.h"

namespace berth::jobs {
class Scheduler;
}

namespace berth::proxy {

class Evictor;

class Proxy {
 public:
  // nullptr when the config names no upstream. kInvalidArgument naming the key on a bad setting.
  static Result<std::shared_ptr<Proxy>> Create(const config::Config& cfg,
                                               storage::driver::StorageDriverPtr driver,
                                               const Clock* clock);
  ~Proxy();

  // The decorated namespace (`local` is the cache).
  storage::NamespacePtr Wrap(storage::NamespacePtr local);
  // Applies containerd's ?ns= (see the top). Leaves other requests alone.
  void Rewrite(http::Request& req) const;
  Upstreams& upstreams() { return *upstreams_; }
  const std::shared_ptr<Upstreams>& upstreams_ptr() const { return upstreams_; }
  // Keeps a metrics callback registered as long as the proxy (proxy/metrics.h).
  void KeepRegistration(metrics::Registration r) { registrations_.push_back(std::move(r)); }
  // The size/age limits (proxy/evictor.h); set by Wrap.
  const std::shared_ptr<Evictor>& evictor() const { return evictor_; }

 private:
  Proxy() = default;
  std::shared_ptr<Upstreams> upstreams_;
  storage::driver::StorageDriverPtr driver_;
  const Clock* clock_ = nullptr;
  std::shared_ptr<Evictor> evictor_;
  std::vector<metrics::Registration> registrations_;
};

// The one call in cli/app.cc: when the config has upstreams, wraps `*registry`, adds the
// `proxy-evict` job (every minute, when a size or age limit is set) to `scheduler`, and returns
// the proxy (for Rewrite); nullptr otherwise.
Result<std::shared_ptr<Proxy>> Install(const config::Config& cfg,
                                       storage::driver::StorageDriverPtr driver,
                                       storage::NamespacePtr* registry, const Clock* clock,
                                       jobs::Scheduler* scheduler);

}  // namespace berth::proxy
