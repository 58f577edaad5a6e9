// Decoding of `notifications`, `berth.notifications` and `berth.audit` (contract in config.h).
#include "notify/config.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <set>

#include "common/strings.h"
#include "common/time.h"
#include "notify/post.h"

namespace berth::notify {
namespace {

// Thrown inside this file only, turned into a Status at the two entry points.
struct DecodeError {
  std::string message;
};

[[noreturn]] void Fail(const std::string& path, const std::string& why) {
  throw DecodeError{path + ": " + why};
}

bool IsSet(const YAML::Node& n) { return n.IsDefined() && !n.IsNull(); }

YAML::Node Child(const YAML::Node& parent, const std::string& key) {
  if (!parent.IsMap()) return YAML::Node(YAML::NodeType::Undefined);
  for (const auto& kv : parent) {
    if (kv.first.IsScalar() && kv.first.Scalar() == key) return kv.second;
  }
  return YAML::Node(YAML::NodeType::Undefined);
}

YAML::Node Map(const YAML::Node& parent, const std::string& key, const std::string& path) {
  YAML::Node n = Child(parent, key);
  if (IsSet(n) && !n.IsMap()) Fail(path, "expected a mapping");
  return n;
}

std::optional<std::string> Scalar(const YAML::Node& parent, const std::string& key,
                                  const std::string& path) {
  YAML::Node n = Child(parent, key);
  if (!IsSet(n)) return std::nullopt;
  if (!n.IsScalar()) Fail(path, "expected a single value");
  return n.Scalar();
}

void Bool(const YAML::Node& parent, const std::string& key, const std::string& path, bool& out) {
  auto s = Scalar(parent, key, path);
  if (!s) return;
  std::string v = ToLower(*s);
  if (v == "true" || v == "yes" || v == "on" || v == "y") {
    out = true;
  } else if (v == "false" || v == "no" || v == "off" || v == "n") {
    out = false;
  } else {
    Fail(path, "not a boolean: \"" + s->substr(0, 100) + "\"");
  }
}

// A duration above zero: Go's syntax ("500ms", "1h30m"), or a bare integer of nanoseconds.
void Duration(const YAML::Node& parent, const std::string& key, const std::string& path,
              std::chrono::milliseconds& out) {
  auto s = Scalar(parent, key, path);
  if (!s) return;
  auto d = ParseGoDuration(*s);
  if (!d) Fail(path, "not a duration: \"" + s->substr(0, 100) + "\"");
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(*d);
  if (ms.count() <= 0) Fail(path, "must be at least 1ms");
  out = ms;
}

void Bytes(const YAML::Node& parent, const std::string& key, const std::string& path,
           uint64_t& out, uint64_t min) {
  auto s = Scalar(parent, key, path);
  if (!s) return;
  auto b = config::ParseByteSize(*s);
  if (!b) Fail(path, b.error().message);
  if (*b < min) Fail(path, "must be at least " + std::to_string(min) + " bytes");
  out = *b;
}

void Uint(const YAML::Node& parent, const std::string& key, const std::string& path,
          uint32_t& out, uint32_t max) {
  auto s = Scalar(parent, key, path);
  if (!s) return;
  auto n = ParseUint64(Trim(*s));
  if (!n || *n > max) {
    Fail(path, "not an integer from 0 to " + std::to_string(max) + ": \"" + s->substr(0, 100) + "\"");
  }
  out = static_cast<uint32_t>(*n);
}

// A list of strings; a single value is a one-element list.
void Strings(const YAML::Node& parent, const std::string& key, const std::string& path,
             std::vector<std::string>& out) {
  YAML::Node n = Child(parent, key);
  if (!IsSet(n)) return;
  if (n.IsScalar()) {
    out.push_back(n.Scalar());
    return;
  }
  if (!n.IsSequence()) Fail(path, "expected a list");
  for (size_t i = 0; i < n.size(); ++i) {
    if (!n[i].IsScalar()) Fail(path + "[" + std::to_string(i) + "]", "expected a single value");
    out.push_back(n[i].Scalar());
  }
}

YAML::Node Parse(const config::Config& cfg, const std::string& section) {
  auto it = cfg.raw_sections.find(section);
  if (it == cfg.raw_sections.end()) return YAML::Node(YAML::NodeType::Undefined);
  YAML::Node n = YAML::Load(it->second);
  if (IsSet(n) && !n.IsMap()) Fail(section, "expected a mapping");
  return n;
}

// The queue directory's name for an endpoint: its name, with anything but [A-Za-z0-9._-] as '_',
// so that no name reaches outside the notifications directory.
std::string DirectoryName(const std::string& name) {
  std::string out;
  for (char c : name.substr(0, 100)) {
    bool safe = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                c == '.' || c == '_' || c == '-';
    out += safe ? c : '_';
  }
  if (out.empty() || out.find_first_not_of('.') == std::string::npos) out = "_" + out;
  return out;
}

const char* const kActions[] = {"push", "pull", "delete", "mount"};

EndpointConfig DecodeEndpoint(const YAML::Node& n, const std::string& path,
                              const EndpointConfig& defaults) {
  if (!n.IsMap()) Fail(path, "expected a mapping");
  EndpointConfig e = defaults;
  e.name = Scalar(n, "name", path + ".name").value_or("");
  if (e.name.empty()) Fail(path + ".name", "required");
  Bool(n, "disabled", path + ".disabled", e.disabled);
  e.url = Scalar(n, "url", path + ".url").value_or("");
  std::string lower = ToLower(e.url.substr(0, 8));
  if (!lower.starts_with("http://") && !lower.starts_with("https://")) {
    Fail(path + ".url", "required, an http:// or https:// URL: \"" + e.url.substr(0, 200) + "\"");
  }
  if (auto u = CheckUrl(e.url); !u || e.url.find_first_of(" \r\n\t") != std::string::npos) {
    Fail(path + ".url", u ? "contains spaces" : u.error().message);
  }
  YAML::Node headers = Map(n, "headers", path + ".headers");
  if (IsSet(headers)) {
    for (const auto& kv : headers) {
      std::string name = kv.first.Scalar();
      std::string hp = path + ".headers." + name;
      if (name.empty() || name.find_first_of(" :\r\n\t") != std::string::npos) {
        Fail(hp, "not a header name");
      }
      std::vector<std::string> values;
      Strings(headers, name, hp, values);
      for (const auto& v : values) {
        if (v.find_first_of("\r\n") != std::string::npos) Fail(hp, "value contains a line break");
      }
      e.headers.emplace_back(name, std::move(values));
    }
  }
  Duration(n, "timeout", path + ".timeout", e.timeout);
  Uint(n, "threshold", path + ".threshold", e.threshold, 1000000);
  Duration(n, "backoff", path + ".backoff", e.backoff);
  Strings(n, "ignoredmediatypes", path + ".ignoredmediatypes", e.ignored_media_types);
  YAML::Node ignore = Map(n, "ignore", path + ".ignore");
  Strings(ignore, "mediatypes", path + ".ignore.mediatypes", e.ignored_media_types);
  Strings(ignore, "actions", path + ".ignore.actions", e.ignored_actions);
  for (const auto& a : e.ignored_actions) {
    if (std::find(std::begin(kActions), std::end(kActions), a) == std::end(kActions)) {
      Fail(path + ".ignore.actions", "unknown action \"" + a.substr(0, 50) +
                                          "\" (push, pull, delete or mount)");
    }
  }
  if (auto secret = Scalar(n, "secret", path + ".secret")) {
    // Fail closed: a secret that is present but too weak would sign with little protection.
    if (secret->size() < 16) Fail(path + ".secret", "must be at least 16 characters");
    e.secret = *secret;
  }
  if (auto format = Scalar(n, "format", path + ".format")) {
    if (*format == "distribution") {
      e.format = Format::kDistribution;
    } else if (*format == "cloudevents") {
      e.format = Format::kCloudEvents;
    } else {
      Fail(path + ".format", "\"" + format->substr(0, 50) + "\" is not distribution or cloudevents");
    }
  }
  Duration(n, "maxbackoff", path + ".maxbackoff", e.max_backoff);
  Duration(n, "deadletterafter", path + ".deadletterafter", e.dead_letter_after);
  Bytes(n, "maxqueuesize", path + ".maxqueuesize", e.max_queue_bytes, 64 << 10);
  e.max_backoff = std::max(e.max_backoff, e.backoff);
  return e;
}

NotificationsConfig DecodeNotificationsOrThrow(const config::Config& cfg) {
  NotificationsConfig out;
  EndpointConfig defaults;
  YAML::Node berth = Parse(cfg, "berth.notifications");
  const std::string bp = "berth.notifications";
  out.directory = Scalar(berth, "directory", bp + ".directory").value_or("");
  Bytes(berth, "maxqueuesize", bp + ".maxqueuesize", defaults.max_queue_bytes, 64 << 10);
  Duration(berth, "deadletterafter", bp + ".deadletterafter", defaults.dead_letter_after);
  Duration(berth, "maxbackoff", bp + ".maxbackoff", defaults.max_backoff);

  YAML::Node n = Parse(cfg, "notifications");
  YAML::Node events = Map(n, "events", "notifications.events");
  Bool(events, "includereferences", "notifications.events.includereferences",
       out.include_references);
  YAML::Node endpoints = Child(n, "endpoints");
  if (IsSet(endpoints) && !endpoints.IsSequence()) {
    Fail("notifications.endpoints", "expected a list");
  }
  std::set<std::string> names, dirs;
  bool any_enabled = false;
  for (size_t i = 0; IsSet(endpoints) && i < endpoints.size(); ++i) {
    std::string path = "notifications.endpoints[" + std::to_string(i) + "]";
    EndpointConfig e = DecodeEndpoint(endpoints[i], path, defaults);
    if (!names.insert(e.name).second) Fail(path + ".name", "\"" + e.name + "\" is used twice");
    std::string dir = DirectoryName(e.name);
    if (!dirs.insert(dir).second) {
      Fail(path + ".name", "\"" + e.name + "\" maps to the same queue directory as another name");
    }
    any_enabled |= !e.disabled;
    e.directory = dir;
    out.endpoints.push_back(std::move(e));
  }
  if (out.directory.empty() && cfg.storage.driver == "filesystem") {
    out.directory = cfg.storage.filesystem_rootdirectory + "/_berth/notifications";
  }
  if (out.directory.empty() && any_enabled) {
    Fail(bp + ".directory", "required when the storage driver is not filesystem");
  }
  for (auto& e : out.endpoints) e.directory = out.directory + "/" + e.directory;
  return out;
}

AuditConfig DecodeAuditOrThrow(const config::Config& cfg) {
  AuditConfig out;
  YAML::Node n = Parse(cfg, "berth.audit");
  const std::string p = "berth.audit";
  Bool(n, "enabled", p + ".enabled", out.enabled);
  out.path = Scalar(n, "path", p + ".path").value_or("");
  Bytes(n, "maxsize", p + ".maxsize", out.max_bytes, 0);
  if (out.max_bytes != 0 && out.max_bytes < 4096) Fail(p + ".maxsize", "must be 0 or at least 4096");
  Uint(n, "maxbackups", p + ".maxbackups", out.max_backups, 1000);
  return out;
}

template <typename T, typename F>
Result<T> Guard(F f) {
  try {
    return f();
  } catch (const DecodeError& e) {
    return MakeError(ErrorCode::kInvalidArgument, e.message);
  } catch (const YAML::Exception& e) {
    return MakeError(ErrorCode::kInvalidArgument, std::string("notifications: ") + e.what());
  }
}

}  // namespace

Result<NotificationsConfig> DecodeNotifications(const config::Config& cfg) {
  return Guard<NotificationsConfig>([&] { return DecodeNotificationsOrThrow(cfg); });
}

Result<AuditConfig> DecodeAudit(const config::Config& cfg) {
  return Guard<AuditConfig>([&] { return DecodeAuditOrThrow(cfg); });
}

}  // namespace berth::notify
