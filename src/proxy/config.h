#pragma once
// The pull-through cache's configuration: Distribution's `proxy:` section (one upstream mirrored
// by the whole registry, as registry:2 does) and Berth's `berth.proxy:` (several upstreams, each
// bound to a repository prefix and/or a containerd `ns` host, beside ordinary repositories).
//
//   proxy:                                 # registry:2 form: every repository mirrors this
//     remoteurl: https://registry-1.docker.io
//     username: me                         # optional (REGISTRY_PROXY_USERNAME, ...)
//     password: secret
//     ttl: 168h                            # cached content unpulled this long is evicted
//   berth:
//     proxy:
//       maxcachesize: 50GiB                # least-recently-pulled cached blobs evicted beyond it
//       maxfetches: 8                      # blob fetches running at once (more queue)
//       fetchwindow: 8MiB                  # per fetch: upstream bytes held in memory ahead of
//                                          # the disk, which waiting clients are served from
//       upstreams:
//         - prefix: hub/                   # hub/library/busybox -> library/busybox upstream
//           url: https://registry-1.docker.io
//           ns: docker.io                  # ?ns=docker.io (containerd) selects this upstream too
//           username: me
//           password: secret
//           tagttl: 1m                     # tags trusted this long before a HEAD revalidates
//           staleness: 24h                 # cached tags served this long past tagttl when the
//                                          # upstream is down, 5xx or 429
//           cafile: /etc/ssl/upstream.pem   # trust for the upstream (default: system CAs)
//           insecure: false                # skip TLS verification (refused unless explicit)
//
// Decoding throws config::ConfigError-like errors as Status kInvalidArgument naming the key's
// dotted path ("berth.proxy.upstreams[1].url: ..."). Thread-safe (pure functions).

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "common/error.h"
#include "config/config.h"

namespace berth::proxy {

struct UpstreamConfig {
  std::string prefix;  // "" mirrors every repository (registry:2 mode); else ends with '/'
  std::string url;
  std::string ns;  // containerd's ns host ("docker.io"); "" none
  std::string username;
  std::string password;
  std::chrono::milliseconds tag_ttl{60'000};
  std::chrono::milliseconds staleness{24 * 3600'000};
  std::string ca_file;
  bool insecure = false;
  std::string where;  // the config path it came from, for messages ("proxy", "berth.proxy...")
};

// Blob fetches running at once, and each one's memory window: 8 MiB lets the fetch run ahead of
// a disk that stalls briefly while keeping what is left to write and hash when the last byte
// arrives small (a client pulling right after the first is then served from the cache; on a
// machine where hashing is the slowest step a larger window only moves that work later).
inline constexpr size_t kDefaultMaxFetches = 8;
inline constexpr uint64_t kDefaultFetchWindow = 8 << 20;

struct ProxyConfig {
  std::vector<UpstreamConfig> upstreams;
  uint64_t max_cache_bytes = 0;              // 0: no size limit
  std::chrono::milliseconds content_ttl{0};  // proxy.ttl; 0: no age limit
  size_t max_fetches = kDefaultMaxFetches;            // berth.proxy.maxfetches
  uint64_t fetch_window_bytes = kDefaultFetchWindow;  // berth.proxy.fetchwindow (whole MiB)
  bool enabled() const { return !upstreams.empty(); }
};

// Reads `proxy:` and `berth.proxy:` from `cfg`. kInvalidArgument naming the key on a wrong value,
// including an upstream URL that does not parse, two upstreams with the same prefix or ns, a
// prefix that is not a valid repository-name prefix, or both a registry:2 `proxy.remoteurl` and
// prefixed upstreams (the first mirrors everything, so the others could never be reached).
Result<ProxyConfig> Decode(const config::Config& cfg);

}  // namespace berth::proxy
