#include "health/config.h"

#include <yaml-cpp/yaml.h>

#include "common/strings.h"
#include "common/time.h"

namespace berth::health {
namespace {

using Fail = std::unexpected<Error>;

Fail Bad(const std::string& key, const std::string& why) {
  return MakeError(ErrorCode::kInvalidArgument, key + ": " + why);
}

Result<std::string> Scalar(const YAML::Node& n, const std::string& key) {
  if (!n.IsScalar()) return Bad(key, "want a single value");
  return n.Scalar();
}

Status Duration(const YAML::Node& parent, const char* name, const std::string& key,
                std::chrono::milliseconds& out) {
  YAML::Node n = parent[name];
  if (!n || n.IsNull()) return Ok();
  BERTH_ASSIGN_OR_RETURN(std::string s, Scalar(n, key + "." + name));
  auto d = ParseGoDuration(s);
  if (!d) return Bad(key + "." + name, "not a duration: \"" + s + "\" (e.g. 10s, 500ms)");
  out = std::chrono::duration_cast<std::chrono::milliseconds>(*d);
  return Ok();
}

Result<uint64_t> Number(const YAML::Node& n, const std::string& key, uint64_t max) {
  BERTH_ASSIGN_OR_RETURN(std::string s, Scalar(n, key));
  auto v = ParseUint64(s);
  if (!v || *v > max) return Bad(key, "want a whole number up to " + std::to_string(max));
  return *v;
}

Status Timing(const YAML::Node& n, const std::string& key, CheckTiming& t, bool has_timeout,
              bool has_threshold) {
  BERTH_RETURN_IF_ERROR(Duration(n, "interval", key, t.interval));
  if (t.interval.count() <= 0) return Bad(key + ".interval", "must be positive");
  if (has_timeout) {
    BERTH_RETURN_IF_ERROR(Duration(n, "timeout", key, t.timeout));
    if (t.timeout.count() <= 0) t.timeout = CheckTiming{}.timeout;
  }
  if (has_threshold && n["threshold"] && !n["threshold"].IsNull()) {
    BERTH_ASSIGN_OR_RETURN(uint64_t v, Number(n["threshold"], key + ".threshold", 1'000'000));
    t.threshold = static_cast<uint32_t>(v);
  }
  return Ok();
}

// Each list entry is a mapping; `fn(entry, "health.http[2]")` decodes one.
template <typename Fn>
Status EachEntry(const YAML::Node& list, const std::string& key, Fn fn) {
  if (!list || list.IsNull()) return Ok();
  if (!list.IsSequence()) return Bad(key, "want a list");
  for (size_t i = 0; i < list.size(); ++i) {
    std::string k = key + "[" + std::to_string(i) + "]";
    if (!list[i].IsMap()) return Bad(k, "want a mapping");
    BERTH_RETURN_IF_ERROR(fn(list[i], k));
  }
  return Ok();
}

Result<std::string> Required(const YAML::Node& n, const char* name, const std::string& key) {
  if (!n[name] || n[name].IsNull()) return Bad(key + "." + name, "required");
  BERTH_ASSIGN_OR_RETURN(std::string s, Scalar(n[name], key + "." + name));
  if (s.empty()) return Bad(key + "." + name, "required");
  return s;
}

}  // namespace

Result<HealthConfig> ParseHealthConfig(const std::string& yaml) {
  HealthConfig cfg;
  if (yaml.empty()) return cfg;
  YAML::Node root;
  try {
    root = YAML::Load(yaml);
  } catch (const YAML::Exception& e) {
    return Bad("health", e.what());
  }
  if (root.IsNull()) return cfg;
  if (!root.IsMap()) return Bad("health", "want a mapping");
  try {
    if (YAML::Node sd = root["storagedriver"]; sd && !sd.IsNull()) {
      if (!sd.IsMap()) return Bad("health.storagedriver", "want a mapping");
      if (sd["enabled"] && !sd["enabled"].IsNull()) {
        BERTH_ASSIGN_OR_RETURN(std::string e,
                               Scalar(sd["enabled"], "health.storagedriver.enabled"));
        std::string l = ToLower(e);
        if (l != "true" && l != "false") {
          return Bad("health.storagedriver.enabled", "want true or false");
        }
        cfg.storagedriver.enabled = l == "true";
      }
      BERTH_RETURN_IF_ERROR(Timing(sd, "health.storagedriver", cfg.storagedriver.timing,
                                   /*has_timeout=*/false, /*has_threshold=*/true));
    }
    BERTH_RETURN_IF_ERROR(EachEntry(root["file"], "health.file",
                                    [&](const YAML::Node& n, const std::string& k) -> Status {
                                      FileCheckConfig c;
                                      BERTH_ASSIGN_OR_RETURN(c.file, Required(n, "file", k));
                                      BERTH_RETURN_IF_ERROR(Timing(n, k, c.timing, false, false));
                                      cfg.file.push_back(std::move(c));
                                      return Ok();
                                    }));
    BERTH_RETURN_IF_ERROR(EachEntry(
        root["http"], "health.http", [&](const YAML::Node& n, const std::string& k) -> Status {
          HttpCheckConfig c;
          BERTH_ASSIGN_OR_RETURN(c.uri, Required(n, "uri", k));
          if (!c.uri.starts_with("http://")) {
            return Bad(k + ".uri", "\"" + c.uri + "\": only http:// URIs are supported");
          }
          if (YAML::Node h = n["headers"]; h && !h.IsNull()) {
            if (!h.IsMap())
              return Bad(k + ".headers", "want a mapping of names to lists of values");
            for (const auto& kv : h) {
              std::string name = kv.first.Scalar();
              std::string hk = k + ".headers." + name;
              auto add = [&](const YAML::Node& v) -> Status {
                BERTH_ASSIGN_OR_RETURN(std::string s, Scalar(v, hk));
                if (s.find_first_of("\r\n") != std::string::npos ||
                    name.find_first_of("\r\n: ") != std::string::npos) {
                  return Bad(hk, "line breaks are not allowed in headers");
                }
                c.headers.emplace_back(name, s);
                return Ok();
              };
              if (kv.second.IsSequence()) {
                for (const auto& v : kv.second) BERTH_RETURN_IF_ERROR(add(v));
              } else {
                BERTH_RETURN_IF_ERROR(add(kv.second));
              }
            }
          }
          if (n["statuscode"] && !n["statuscode"].IsNull()) {
            BERTH_ASSIGN_OR_RETURN(uint64_t code, Number(n["statuscode"], k + ".statuscode", 599));
            if (code < 100) return Bad(k + ".statuscode", "want an HTTP status (100-599)");
            if (code != 0) c.statuscode = static_cast<int>(code);
          }
          BERTH_RETURN_IF_ERROR(Timing(n, k, c.timing, true, true));
          cfg.http.push_back(std::move(c));
          return Ok();
        }));
    BERTH_RETURN_IF_ERROR(EachEntry(root["tcp"], "health.tcp",
                                    [&](const YAML::Node& n, const std::string& k) -> Status {
                                      TcpCheckConfig c;
                                      BERTH_ASSIGN_OR_RETURN(c.addr, Required(n, "addr", k));
                                      if (c.addr.rfind(':') == std::string::npos)
                                        return Bad(k + ".addr", "want host:port");
                                      BERTH_RETURN_IF_ERROR(Timing(n, k, c.timing, true, true));
                                      cfg.tcp.push_back(std::move(c));
                                      return Ok();
                                    }));
  } catch (const YAML::Exception& e) {
    return Bad("health", e.what());
  }
  return cfg;
}

}  // namespace berth::health
