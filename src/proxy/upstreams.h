#pragma once
// The configured upstreams at run time, and which one a repository name belongs to.
//
// A repository under an upstream's prefix is mirrored: "hub/library/busybox" with prefix "hub/"
// is "library/busybox" at that upstream. In registry:2 mode (proxy.remoteurl) the prefix is ""
// and every repository is mirrored under its own name. Repositories no prefix matches are
// ordinary local repositories.
//
// Thread-safety: immutable after construction; the clients are thread-safe.

#include <atomic>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "client/registry.h"
#include "proxy/config.h"

namespace berth::proxy {

struct Upstream {
  UpstreamConfig cfg;
  client::RegistryClientPtr client;
  // Counters (read by tests and proxy/metrics.h): blob fetches started upstream, cache hits and
  // misses, tags served unchecked because the upstream was down, body bytes received (blobs and
  // manifests), and failures (upstream down, 5xx, 429, broken or invalid bodies, failed fetches).
  std::atomic<uint64_t> hits{0}, misses{0};
  std::atomic<uint64_t> blob_fetches{0}, bytes_fetched{0};
  std::atomic<uint64_t> stale_served{0}, errors{0};

  // Counts `e` in `errors` when it means the upstream could not answer (client::IsUpstreamDown);
  // a definite answer (unknown, denied) is not an error of the upstream.
  void NoteFailure(const Error& e) {
    if (client::IsUpstreamDown(e)) errors.fetch_add(1);
  }
  // The label value metrics use: the prefix, or the URL when the upstream mirrors everything.
  std::string name() const { return cfg.prefix.empty() ? cfg.url : cfg.prefix; }
};

struct Match {
  Upstream* upstream = nullptr;
  std::string remote;  // the repository's name at the upstream
  explicit operator bool() const { return upstream != nullptr; }
};

class Upstreams {
 public:
  // Builds a client per upstream. kInvalidArgument naming the config key on a bad URL.
  static Result<std::shared_ptr<Upstreams>> Create(const ProxyConfig& cfg, const Clock* clock);

  Match Find(std::string_view repo) const;
  // The upstream containerd's ?ns=<host> selects, or nullptr.
  const Upstream* FindNs(std::string_view ns) const;
  const std::vector<std::unique_ptr<Upstream>>& all() const { return list_; }
  const ProxyConfig& config() const { return cfg_; }

 private:
  ProxyConfig cfg_;
  std::vector<std::unique_ptr<Upstream>> list_;
};

}  // namespace berth::proxy
