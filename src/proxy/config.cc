#include "proxy/config.h"

#include <yaml-cpp/yaml.h>

#include <set>

#include "client/http.h"
#include "common/names.h"
#include "common/strings.h"
#include "common/time.h"

namespace berth::proxy {
namespace {

std::unexpected<Error> Bad(const std::string& path, const std::string& why) {
  return MakeError(ErrorCode::kInvalidArgument, path + ": " + why);
}

Result<std::string> Scalar(const YAML::Node& parent, const char* key, const std::string& path) {
  YAML::Node n = parent[key];
  if (!n.IsDefined() || n.IsNull()) return std::string();
  if (!n.IsScalar()) return Bad(path + "." + key, "must be a string");
  return n.Scalar();
}

Result<std::optional<std::chrono::milliseconds>> Duration(const YAML::Node& parent, const char* key,
                                                          const std::string& path) {
  BERTH_ASSIGN_OR_RETURN(std::string s, Scalar(parent, key, path));
  if (s.empty()) return std::optional<std::chrono::milliseconds>();
  auto d = ParseGoDuration(s);
  if (!d || d->count() < 0) return Bad(path + "." + key, "not a duration: \"" + s + "\"");
  return std::optional(std::chrono::duration_cast<std::chrono::milliseconds>(*d));
}

// berth.proxy.maxfetches and berth.proxy.fetchwindow.
Status DecodeFetchLimits(const YAML::Node& n, ProxyConfig& out) {
  BERTH_ASSIGN_OR_RETURN(std::string fetches, Scalar(n, "maxfetches", "berth.proxy"));
  if (!fetches.empty()) {
    auto v = ParseUint64(fetches);
    if (!v || *v < 1 || *v > 1024) {
      return Bad("berth.proxy.maxfetches", "must be a whole number from 1 to 1024, not \"" +
                                               fetches + "\"");
    }
    out.max_fetches = static_cast<size_t>(*v);
  }
  BERTH_ASSIGN_OR_RETURN(std::string window, Scalar(n, "fetchwindow", "berth.proxy"));
  if (!window.empty()) {
    auto v = config::ParseByteSize(window);
    if (!v) return Bad("berth.proxy.fetchwindow", v.error().message);
    constexpr uint64_t kMiB = 1 << 20;
    if (*v < kMiB || *v > 1024 * kMiB) {
      return Bad("berth.proxy.fetchwindow", "must be from 1MiB to 1GiB, not \"" + window + "\"");
    }
    out.fetch_window_bytes = (*v + kMiB - 1) / kMiB * kMiB;
  }
  return Ok();
}

Status CheckUrl(const std::string& url, const std::string& path) {
  auto u = client::Url::Parse(url);
  if (!u) return Bad(path, u.error().message);
  if (u->target != "/") return Bad(path, "must be scheme://host[:port] without a path");
  return Ok();
}

Result<UpstreamConfig> DecodeUpstream(const YAML::Node& n, const std::string& path) {
  if (!n.IsMap()) return Bad(path, "must be a mapping");
  static const std::set<std::string> kKeys = {
      "prefix", "url", "ns", "username", "password", "tagttl", "staleness", "cafile", "insecure"};
  for (const auto& kv : n) {
    std::string k = kv.first.Scalar();
    if (!kKeys.count(k)) return Bad(path + "." + k, "unknown key");
  }
  UpstreamConfig u;
  u.where = path;
  BERTH_ASSIGN_OR_RETURN(u.prefix, Scalar(n, "prefix", path));
  BERTH_ASSIGN_OR_RETURN(u.url, Scalar(n, "url", path));
  BERTH_ASSIGN_OR_RETURN(u.ns, Scalar(n, "ns", path));
  BERTH_ASSIGN_OR_RETURN(u.username, Scalar(n, "username", path));
  BERTH_ASSIGN_OR_RETURN(u.password, Scalar(n, "password", path));
  BERTH_ASSIGN_OR_RETURN(u.ca_file, Scalar(n, "cafile", path));
  BERTH_ASSIGN_OR_RETURN(std::string insecure, Scalar(n, "insecure", path));
  if (insecure == "true") {
    u.insecure = true;
  } else if (!insecure.empty() && insecure != "false") {
    return Bad(path + ".insecure", "must be true or false");
  }
  BERTH_ASSIGN_OR_RETURN(auto ttl, Duration(n, "tagttl", path));
  if (ttl) u.tag_ttl = *ttl;
  BERTH_ASSIGN_OR_RETURN(auto stale, Duration(n, "staleness", path));
  if (stale) u.staleness = *stale;
  if (u.url.empty()) return Bad(path + ".url", "required");
  BERTH_RETURN_IF_ERROR(CheckUrl(u.url, path + ".url"));
  if (u.prefix.empty()) {
    return Bad(path + ".prefix",
               "required (the cache's repositories live under it); to mirror every repository "
               "use proxy.remoteurl");
  }
  {
    if (u.prefix.back() != '/') u.prefix += '/';
    // The prefix must itself be a valid repository path, so that every name under it is one.
    auto probe = u.prefix + "x";
    if (!ValidateRepositoryName(probe)) {
      return Bad(path + ".prefix", "\"" + u.prefix + "\" is not a repository-name prefix");
    }
  }
  if (!u.ca_file.empty() && u.insecure) {
    return Bad(path + ".insecure", "cannot be combined with cafile");
  }
  if ((u.username.empty()) != (u.password.empty())) {
    return Bad(path + ".password", "username and password go together");
  }
  return u;
}

}  // namespace

Result<ProxyConfig> Decode(const config::Config& cfg) {
  ProxyConfig out;
  if (auto it = cfg.raw_sections.find("proxy"); it != cfg.raw_sections.end()) {
    YAML::Node n;
    try {
      n = YAML::Load(it->second);
    } catch (const YAML::Exception& e) {
      return Bad("proxy", e.what());
    }
    if (n.IsMap()) {
      UpstreamConfig u;
      u.where = "proxy";
      BERTH_ASSIGN_OR_RETURN(u.url, Scalar(n, "remoteurl", "proxy"));
      BERTH_ASSIGN_OR_RETURN(u.username, Scalar(n, "username", "proxy"));
      BERTH_ASSIGN_OR_RETURN(u.password, Scalar(n, "password", "proxy"));
      BERTH_ASSIGN_OR_RETURN(auto ttl, Duration(n, "ttl", "proxy"));
      if (ttl) out.content_ttl = *ttl;
      // registry:2 revalidates tags on every request; so does this mode by default.
      u.tag_ttl = std::chrono::milliseconds(0);
      if (!u.url.empty()) {
        BERTH_RETURN_IF_ERROR(CheckUrl(u.url, "proxy.remoteurl"));
        out.upstreams.push_back(std::move(u));
      }
    } else if (!n.IsNull()) {
      return Bad("proxy", "must be a mapping");
    }
  }
  if (cfg.berth.proxy_max_cache_bytes) out.max_cache_bytes = *cfg.berth.proxy_max_cache_bytes;
  if (!cfg.berth.proxy_yaml.empty()) {
    YAML::Node n;
    try {
      n = YAML::Load(cfg.berth.proxy_yaml);
    } catch (const YAML::Exception& e) {
      return Bad("berth.proxy", e.what());
    }
    if (n.IsMap()) BERTH_RETURN_IF_ERROR(DecodeFetchLimits(n, out));
    // berth.proxy.tagttl: how long proxy.remoteurl's tags are trusted (registry:2 asks on every
    // pull, the default here too). Each of berth.proxy.upstreams has its own tagttl.
    BERTH_ASSIGN_OR_RETURN(auto tag_ttl,
                           n.IsMap() ? Duration(n, "tagttl", "berth.proxy")
                                     : Result<std::optional<std::chrono::milliseconds>>());
    if (tag_ttl) {
      if (out.upstreams.empty()) {
        return Bad("berth.proxy.tagttl",
                   "applies to proxy.remoteurl; each of berth.proxy.upstreams has its own tagttl");
      }
      out.upstreams.front().tag_ttl = *tag_ttl;
    }
    YAML::Node list = n.IsMap() ? n["upstreams"] : YAML::Node();
    if (list.IsDefined() && !list.IsNull()) {
      if (!list.IsSequence()) return Bad("berth.proxy.upstreams", "must be a list");
      if (!out.upstreams.empty()) {
        return Bad("berth.proxy.upstreams",
                   "cannot be combined with proxy.remoteurl, which mirrors every repository");
      }
      std::set<std::string> prefixes, namespaces;
      for (size_t i = 0; i < list.size(); ++i) {
        std::string path = "berth.proxy.upstreams[" + std::to_string(i) + "]";
        BERTH_ASSIGN_OR_RETURN(UpstreamConfig u, DecodeUpstream(list[i], path));
        if (!prefixes.insert(u.prefix).second) {
          return Bad(path + ".prefix", "\"" + u.prefix + "\" is used twice");
        }
        for (const auto& other : out.upstreams) {
          if (StartsWith(u.prefix, other.prefix) || StartsWith(other.prefix, u.prefix)) {
            return Bad(path + ".prefix", "\"" + u.prefix + "\" overlaps \"" + other.prefix + "\"");
          }
        }
        if (!u.ns.empty() && !namespaces.insert(ToLower(u.ns)).second) {
          return Bad(path + ".ns", "\"" + u.ns + "\" is used twice");
        }
        out.upstreams.push_back(std::move(u));
      }
    }
  }
  if (out.max_cache_bytes && !out.enabled()) {
    return Bad("berth.proxy.maxcachesize", "set without any upstream");
  }
  return out;
}

}  // namespace berth::proxy
