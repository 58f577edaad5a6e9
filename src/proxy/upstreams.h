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
  // Counters (read by tests and the log): blob fetches started upstream, cache hits and misses.
  std::atomic<uint64_t> blob_fetches{0};
  std::atomic<uint64_t> hits{0};
  std::atomic<uint64_t> misses{0};
  std::atomic<uint64_t> stale_served{0};
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
