// Decoding of `berth.replication` (shapes in config.h).
#include "replicate/config.h"

#include <yaml-cpp/yaml.h>

#include <set>
#include <unistd.h>

#include "client/http.h"
#include "common/strings.h"
#include "common/time.h"

namespace berth::replicate {
namespace {

// Thrown inside this file only (by Fail); DecodeConfig turns it into a Status naming the key.
struct KeyError {
  std::string key, why;
};

[[noreturn]] void Fail(std::string key, std::string why) {
  throw KeyError{std::move(key), std::move(why)};
}

bool IsSet(const YAML::Node& n) { return n && !n.IsNull(); }

// A rule's or the section's keys, each read once; Scalar refuses a key it was not told of.
class Keys {
 public:
  Keys(const YAML::Node& map, std::string path, std::set<std::string> known)
      : map_(map), path_(std::move(path)) {
    if (!map.IsMap()) Fail(path_, "expected a mapping");
    for (const auto& kv : map) {
      std::string k = kv.first.Scalar();
      if (!known.count(k)) Fail(path_ + "." + k, "unknown key");
    }
  }
  std::string Path(const std::string& key) const { return path_ + "." + key; }
  YAML::Node Node(const std::string& key) const { return map_[key]; }

  std::optional<std::string> Scalar(const std::string& key) const {
    YAML::Node n = map_[key];
    if (!IsSet(n)) return std::nullopt;
    if (!n.IsScalar()) Fail(Path(key), "expected a single value");
    return n.Scalar();
  }
  void String(const std::string& key, std::string& out) const {
    if (auto s = Scalar(key)) out = *s;
  }
  void Bool(const std::string& key, bool& out) const {
    auto s = Scalar(key);
    if (!s) return;
    std::string v = ToLower(*s);
    if (v == "true" || v == "yes" || v == "on") {
      out = true;
    } else if (v == "false" || v == "no" || v == "off") {
      out = false;
    } else {
      Fail(Path(key), "not a boolean: \"" + s->substr(0, 100) + "\"");
    }
  }
  void Duration(const std::string& key, std::chrono::milliseconds& out) const {
    auto s = Scalar(key);
    if (!s) return;
    auto d = ParseGoDuration(*s);
    if (!d || *d < std::chrono::seconds(1))
      Fail(Path(key), "not a duration of at least 1s: \"" + s->substr(0, 100) + "\"");
    out = std::chrono::duration_cast<std::chrono::milliseconds>(*d);
  }

 private:
  YAML::Node map_;
  std::string path_;
};

bool SafeName(const std::string& s) {
  if (s.empty() || s.size() > 64 || s == "." || s == "..") return false;
  for (char c : s) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '.' || c == '_' || c == '-';
    if (!ok) return false;
  }
  return true;
}

void DecodeTriggers(const Keys& k, Rule& r) {
  YAML::Node n = k.Node("trigger");
  std::vector<std::string> names;
  if (!IsSet(n)) {
    names.push_back(r.direction == Direction::kPush ? "onpush" : "schedule");
  } else if (n.IsScalar()) {
    names.push_back(n.Scalar());
  } else if (n.IsSequence()) {
    for (const auto& e : n) {
      if (!e.IsScalar()) Fail(k.Path("trigger"), "expected onpush, schedule or a list of them");
      names.push_back(e.Scalar());
    }
  } else {
    Fail(k.Path("trigger"), "expected onpush, schedule or a list of them");
  }
  for (const auto& t : names) {
    if (t == "onpush") {
      r.on_push = true;
    } else if (t == "schedule") {
      r.scheduled = true;
    } else {
      Fail(k.Path("trigger"), "unknown trigger \"" + t.substr(0, 100) + "\" (onpush or schedule)");
    }
  }
  if (r.on_push && r.direction == Direction::kPull) {
    Fail(k.Path("trigger"), "onpush needs direction push (a pull rule runs on a schedule)");
  }
  if (!r.on_push && !r.scheduled) Fail(k.Path("trigger"), "names no trigger");
}

Rule DecodeRule(const YAML::Node& n, const std::string& path) {
  Keys k(n, path,
         {"name", "url", "direction", "repository", "tags", "prefix", "username", "password",
          "cafile", "insecure", "trigger", "interval", "deletes", "concurrency", "bandwidth"});
  Rule r;
  k.String("name", r.name);
  if (!SafeName(r.name))
    Fail(k.Path("name"), "required: 1-64 of [A-Za-z0-9._-] (it names a directory and a metric label)");
  k.String("url", r.url);
  if (r.url.empty()) Fail(k.Path("url"), "required (the other registry: https://host[:port])");
  auto url = client::Url::Parse(r.url);
  if (!url) Fail(k.Path("url"), url.error().message);
  if (url->target != "/" && !url->target.empty())
    Fail(k.Path("url"), "must have no path (scheme://host[:port])");
  std::string dir = "push";
  k.String("direction", dir);
  if (dir == "pull") {
    r.direction = Direction::kPull;
  } else if (dir != "push") {
    Fail(k.Path("direction"), "push or pull, not \"" + dir.substr(0, 100) + "\"");
  }
  k.String("repository", r.selection.repo_glob);
  k.String("tags", r.selection.tag_regex);
  if (auto m = transfer::SelectionMatcher::Compile(r.selection); !m)
    Fail(k.Path("tags"), m.error().message);
  k.String("prefix", r.prefix);
  if (!r.prefix.empty() && !ValidateRepositoryName(r.prefix + "x"))
    Fail(k.Path("prefix"), "does not make valid repository names (lower case, ending in / or -)");
  k.String("username", r.username);
  k.String("password", r.password);
  if (r.username.empty() != r.password.empty())
    Fail(k.Path(r.username.empty() ? "username" : "password"), "username and password go together");
  k.String("cafile", r.cafile);
  if (!r.cafile.empty() && ::access(r.cafile.c_str(), R_OK) != 0)
    Fail(k.Path("cafile"), "cannot read " + r.cafile);
  k.Bool("insecure", r.insecure);
  k.Bool("deletes", r.deletes);
  DecodeTriggers(k, r);
  k.Duration("interval", r.interval);
  if (auto c = k.Scalar("concurrency")) {
    auto v = ParseUint64(*c);
    if (!v || *v < 1 || *v > 64) Fail(k.Path("concurrency"), "an integer from 1 to 64");
    r.concurrency = static_cast<int>(*v);
  }
  if (auto b = k.Scalar("bandwidth")) {
    auto v = config::ParseByteSize(*b);
    if (!v) Fail(k.Path("bandwidth"), v.error().message);
    if (*v != 0 && *v < 1024) Fail(k.Path("bandwidth"), "at least 1KB per second, or 0 (unlimited)");
    r.bandwidth = *v;
  }
  return r;
}

}  // namespace

Result<ReplicationConfig> DecodeConfig(const config::Config& cfg) {
  const std::string path = "berth.replication";
  ReplicationConfig out;
  auto it = cfg.raw_sections.find(path);
  if (it == cfg.raw_sections.end()) return out;
  try {
    YAML::Node n = YAML::Load(it->second);
    if (!IsSet(n)) return out;
    Keys k(n, path, {"directory", "maxbackoff", "rules"});
    k.String("directory", out.directory);
    k.Duration("maxbackoff", out.max_backoff);
    YAML::Node rules = k.Node("rules");
    if (IsSet(rules) && !rules.IsSequence()) Fail(k.Path("rules"), "expected a list of rules");
    std::set<std::string> names;
    for (size_t i = 0; IsSet(rules) && i < rules.size(); ++i) {
      const std::string rp = k.Path("rules") + "." + std::to_string(i);
      Rule r = DecodeRule(rules[i], rp);
      if (!names.insert(r.name).second) Fail(rp + ".name", "\"" + r.name + "\" is used twice");
      out.rules.push_back(std::move(r));
    }
    if (out.directory.empty() && !out.rules.empty()) {
      if (cfg.storage.driver != "filesystem")
        Fail(k.Path("directory"), "required when the storage driver is not filesystem");
      out.directory = cfg.storage.filesystem_rootdirectory + "/_berth/replication";
    }
  } catch (const KeyError& e) {
    return MakeError(ErrorCode::kInvalidArgument, e.key + ": " + e.why);
  } catch (const YAML::Exception& e) {
    return MakeError(ErrorCode::kInvalidArgument, path + ": " + e.what());
  }
  return out;
}

}  // namespace berth::replicate
