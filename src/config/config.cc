#include "config/config.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <limits>
#include <optional>
#include <regex>
#include <span>
#include <sstream>
#include <stdexcept>
#include <string_view>
#include <utility>

#include "common/strings.h"
#include "common/time.h"

extern char** environ;

namespace berth::config {
namespace {

// Config parsing is the one place exceptions are allowed; they never leave Load.
class ConfigError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

[[noreturn]] void Fail(std::string_view path, std::string_view message) {
  throw ConfigError(std::string(path) + ": " + std::string(message));
}

std::string Quote(std::string_view s) { return "\"" + std::string(s) + "\""; }

std::string JoinPath(std::string_view path, std::string_view key) {
  if (path.empty()) return std::string(key);
  return std::string(path) + "." + std::string(key);
}

// ---------------------------------------------------------------------------------------------
// The schema: which keys Berth knows, used both to route REGISTRY_* variables and to warn about
// unknown keys. Decoding into structs is done by hand below, key by key.

enum class Shape {
  kSection,  // fixed set of known keys (children)
  kMap,      // free-form keys; children[0] describes every value
  kHeaders,  // http.headers: free-form header names, canonicalised; values are lists
  kLeaf,     // a single value
  kList,     // a list of single values (a lone value is taken as a one-element list)
  kOpaque,   // anything below is accepted as is
};

struct Schema {
  std::string name;
  Shape shape = Shape::kLeaf;
  std::vector<Schema> children;
  bool selector = false;  // a scalar value names one subsection ("storage: filesystem")
  // kPlanned: recognised, not implemented yet, warns when present. kRefused: stops start-up when
  // present (the decoder usually refuses first, with a more specific message).
  KeyStatus status = KeyStatus::kHonoured;
};

Schema Leaf(std::string name) { return Schema{std::move(name), Shape::kLeaf, {}, false}; }
Schema List(std::string name) { return Schema{std::move(name), Shape::kList, {}, false}; }
Schema Opaque(std::string name) { return Schema{std::move(name), Shape::kOpaque, {}, false}; }
Schema Section(std::string name, std::vector<Schema> children) {
  return Schema{std::move(name), Shape::kSection, std::move(children), false};
}
// A list whose elements are each described by `element` (notifications.endpoints).
Schema ListOf(std::string name, Schema element) {
  return Schema{std::move(name), Shape::kList, {std::move(element)}, false};
}
Schema MapOf(std::string name, Schema value) {
  return Schema{std::move(name), Shape::kMap, {std::move(value)}, false};
}
Schema Unused(Schema s) {
  s.status = KeyStatus::kPlanned;
  return s;
}
Schema Refused(Schema s) {
  s.status = KeyStatus::kRefused;
  return s;
}
Schema Selector(Schema s) {
  s.selector = true;
  return s;
}

// Storage sections that are not drivers (Distribution's Storage.Type() skips the same ones, plus
// Berth accepts `tag`, which later Distribution versions added).
constexpr std::string_view kStorageNonDrivers[] = {"delete", "maintenance", "redirect", "cache",
                                                   "tag"};
constexpr std::string_view kSupportedDrivers[] = {"filesystem", "inmemory"};
// Recognised Distribution drivers Berth does not implement yet (s3aws is the s3 driver's other
// registered name).
constexpr std::string_view kUnsupportedDrivers[] = {"s3", "s3aws", "azure", "gcs", "swift", "oss"};

// Sections of `berth:` kept as raw YAML under "berth.<name>" for the module that decodes them:
// retention and immutable (src/policy), notifications and audit (src/notify).
constexpr std::string_view kRawBerthSections[] = {"retention", "immutable", "notifications",
                                                  "audit", "replication"};

// Top-level sections kept as raw YAML (Config::raw_sections).
constexpr std::string_view kRawSections[] = {"notifications", "proxy",     "redis",      "health",
                                             "compatibility", "reporting", "middleware", "policy"};

template <size_t N>
bool OneOf(std::string_view s, const std::string_view (&set)[N]) {
  return std::find(std::begin(set), std::end(set), s) != std::end(set);
}

Schema BuildSchema() {
  std::vector<Schema> storage = {
      // maxthreads sizes the HTTP server's pool for blocking work (storage calls, handlers).
      Section("filesystem", {Leaf("rootdirectory"), Leaf("maxthreads")}),
      Section("inmemory", {}),
      Section("delete", {Leaf("enabled")}),
      Section("maintenance", {Section("uploadpurging", {Leaf("enabled"), Leaf("age"),
                                                        Leaf("interval"), Leaf("dryrun")}),
                              Section("readonly", {Leaf("enabled")}),
                              Section("gc", {Leaf("enabled"), Leaf("interval"),
                                             Leaf("graceperiod"), Leaf("deleteuntagged"),
                                             Leaf("removelinks")})}),
      Section("redirect", {Leaf("disable")}),
      Section("cache", {Leaf("blobdescriptor"), Leaf("layerinfo"), Leaf("blobdescriptorsize")}),
      Section("tag", {Unused(Leaf("concurrencylimit"))}),
  };
  for (std::string_view d : kUnsupportedDrivers) {
    storage.push_back(Refused(Opaque(std::string(d))));
  }

  std::vector<Schema> root = {
      Leaf("version"),
      Leaf("loglevel"),
      Section("log", {Leaf("level"), Leaf("formatter"), MapOf("fields", Opaque("")),
                      Section("accesslog", {Leaf("disabled")}), Unused(Opaque("hooks")),
                      Unused(Leaf("reportcaller"))}),
      Selector(Section("storage", std::move(storage))),
      Section(
          "http",
          {Leaf("addr"), Leaf("net"), Leaf("host"), Leaf("prefix"), Leaf("secret"),
           Leaf("relativeurls"), Leaf("draintimeout"),
           Schema{"headers", Shape::kHeaders, {}, false},
           Section("tls", {Leaf("certificate"), Leaf("key"), List("clientcas"), Leaf("minimumtls"),
                           List("ciphersuites"), Unused(Opaque("letsencrypt"))}),
           Section("debug",
                   {Leaf("addr"), Section("prometheus", {Leaf("enabled"), Leaf("path")})}),
           Section("http2", {Leaf("disabled")}), Unused(Section("h2c", {Leaf("enabled")}))}),
      Section("catalog", {Leaf("maxentries")}),
      Selector(Section(
          "auth",
          {Section("htpasswd", {Leaf("realm"), Leaf("path")}),
           Section("token",
                   {Leaf("realm"), Leaf("service"), Leaf("issuer"), Leaf("rootcertbundle"),
                    Leaf("jwks"), Unused(Leaf("autoredirect")), Unused(Opaque("signingalgorithms")),
                    Section("builtin", {Leaf("signingkey"), Leaf("htpasswd"), Leaf("policy"),
                                        Leaf("expiration")})}),
           Refused(Opaque("silly"))})),
      Section("validation",
              {Leaf("disabled"), Leaf("enabled"),
               Section("manifests", {Section("urls", {List("allow"), List("deny")})})}),
      Section("berth",
              {Section("storage", {Leaf("listingttl"), Leaf("manifestcachesize"),
                                   Leaf("maxblobsize")}),
               Section("meta", {Leaf("driver"), Leaf("path"), Leaf("dsn")}),
               Section("ratelimit", {Leaf("pulls"), Leaf("window"), List("exempt")}),
               Section("http", {Leaf("threads"), Leaf("maxheadersize"), Leaf("headertimeout"),
                                Leaf("idletimeout"), Leaf("bodyidletimeout"), Leaf("writetimeout"),
                                Section("transfer", {Leaf("largebuffer"), Leaf("largebufferbudget"),
                                                     Leaf("smallbuffer"), Leaf("sendfile"),
                                                     Leaf("mapfiles")})}),
               // Decoded by src/policy (berth.retention.rules.N keys are checked there).
               Section("retention", {Leaf("interval"), Leaf("dryrun"), Opaque("rules")}),
               Section("immutable", {Opaque("rules")}),
               // Decoded by notify/config.cc from raw_sections["berth.notifications"/"berth.audit"].
               Section("notifications", {Leaf("directory"), Leaf("maxqueuesize"),
                                         Leaf("deadletterafter"), Leaf("maxbackoff")}),
               Section("audit", {Leaf("enabled"), Leaf("path"), Leaf("maxsize"),
                                 Leaf("maxbackups")}),
               Section("proxy", {Leaf("maxcachesize"), Leaf("maxfetches"), Leaf("fetchwindow"),
                                 Leaf("tagttl"), List("upstreams")}),
               // Decoded by replicate/config.cc (berth.replication.rules.N keys are checked there).
               Section("replication", {Leaf("directory"), Leaf("maxbackoff"), Opaque("rules")})}),
      Section("proxy", {Leaf("remoteurl"), Leaf("username"), Leaf("password"), Leaf("ttl")}),
  };
  // health: decoded by health/config.cc from raw_sections["health"].
  root.push_back(Section("health", {Section("storagedriver", {Leaf("enabled"), Leaf("interval"),
                                                              Leaf("threshold")}),
                                    Opaque("file"), Opaque("http"), Opaque("tcp")}));
  for (std::string_view s : kRawSections) {
    if (s != "notifications" && s != "health" && s != "proxy") {
      root.push_back(Unused(Opaque(std::string(s))));
    }
  }
  // Decoded by notify/config.cc from raw_sections["notifications"].
  root.push_back(Section(
      "notifications",
      {Section("events", {Leaf("includereferences")}),
       ListOf("endpoints",
              Section("", {Leaf("name"), Leaf("disabled"), Leaf("url"),
                           Schema{"headers", Shape::kHeaders, {}, false}, Leaf("timeout"),
                           Leaf("threshold"), Leaf("backoff"), List("ignoredmediatypes"),
                           Section("ignore", {List("mediatypes"), List("actions")}),
                           // Berth's own, per endpoint.
                           Leaf("secret"), Leaf("format"), Leaf("maxbackoff"),
                           Leaf("deadletterafter"), Leaf("maxqueuesize")}))}));
  return Section("", std::move(root));
}

const Schema& RootSchema() {
  static const Schema* const schema = new Schema(BuildSchema());
  return *schema;
}

const Schema* FindChild(const Schema& s, std::string_view name, bool ignore_case) {
  for (const Schema& c : s.children) {
    if (ignore_case ? IEquals(c.name, name) : c.name == name) return &c;
  }
  return nullptr;
}

// ---------------------------------------------------------------------------------------------
// Header names.

bool IsTokenChar(char c) {
  if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) return true;
  return std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
}

// Go's http.CanonicalHeaderKey: "x-content-type-options" -> "X-Content-Type-Options"; names with
// characters outside the token set are returned unchanged.
std::string CanonicalHeaderKey(std::string_view name) {
  if (name.empty() || !std::all_of(name.begin(), name.end(), IsTokenChar)) return std::string(name);
  std::string out(name);
  bool upper = true;
  for (char& c : out) {
    if (upper && c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
    if (!upper && c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    upper = c == '-';
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// REGISTRY_* overrides, applied to the YAML tree.

// A key of `map` equal to `name` ignoring case, or nullopt.
std::optional<std::string> FindKeyIgnoreCase(const YAML::Node& map, std::string_view name) {
  if (!map.IsMap()) return std::nullopt;
  for (const auto& kv : map) {
    const std::string& k = kv.first.Scalar();
    if (IEquals(k, name)) return k;
  }
  return std::nullopt;
}

// "filesystem" -> {filesystem: ~}, as Distribution's Storage and Auth accept a bare type name.
YAML::Node ExpandSelector(const YAML::Node& value) {
  YAML::Node map(YAML::NodeType::Map);
  map[value.Scalar()] = YAML::Node(YAML::NodeType::Null);
  return map;
}

bool IsIndex(std::string_view s, size_t* index) {
  auto n = ParseUint64(s);
  if (!n || *n > 1'000'000) return false;
  *index = static_cast<size_t>(*n);
  return true;
}

// Sets parts[...] below `node` (a map or a sequence) where the schema knows nothing more: keys are
// matched ignoring case and new ones are lower case (as Distribution's map overrides do); sequence
// elements are addressed by index, one past the end appends.
bool OverrideFree(YAML::Node node, std::span<const std::string> parts, const YAML::Node& value) {
  // Sets node[k] (an index or a key), or descends into it, making it a mapping if it is neither a
  // mapping nor a list.
  auto step = [&](const auto& k) {
    if (parts.size() == 1) {
      node[k] = value;
      return true;
    }
    YAML::Node child = node[k];
    if (!child.IsMap() && !child.IsSequence()) {
      node[k] = YAML::Node(YAML::NodeType::Map);
      child = node[k];
    }
    return OverrideFree(child, parts.subspan(1), value);
  };
  if (!node.IsSequence()) {
    return step(FindKeyIgnoreCase(node, parts[0]).value_or(ToLower(parts[0])));
  }
  size_t index = 0;
  if (!IsIndex(parts[0], &index) || index > node.size()) return false;
  if (index == node.size()) node.push_back(YAML::Node(YAML::NodeType::Null));
  return step(index);
}

// Sets the value named by `parts` below `node`, a mapping described by `schema`. Returns false when
// the schema has no such key (the variable is then ignored with a warning, as Distribution does).
bool Override(YAML::Node node, const Schema& schema, std::span<const std::string> parts,
              const YAML::Node& value) {
  std::string key;
  const Schema* child_schema = nullptr;
  size_t consumed = 1;
  Schema free_schema = Opaque("");
  switch (schema.shape) {
    case Shape::kSection:
      child_schema = FindChild(schema, parts[0], /*ignore_case=*/true);
      if (child_schema == nullptr) return false;
      key = child_schema->name;
      break;
    case Shape::kMap:
      key = FindKeyIgnoreCase(node, parts[0]).value_or(ToLower(parts[0]));
      child_schema = &schema.children[0];
      break;
    case Shape::kHeaders: {
      std::string joined;
      for (const std::string& p : parts) joined += (joined.empty() ? "" : "-") + p;
      key = CanonicalHeaderKey(joined);
      for (const auto& kv : node) {
        if (CanonicalHeaderKey(kv.first.Scalar()) == key) key = kv.first.Scalar();
      }
      free_schema = List("");
      child_schema = &free_schema;
      consumed = parts.size();
      break;
    }
    case Shape::kOpaque:
    case Shape::kLeaf:
    case Shape::kList:
      return false;  // handled by the caller
  }
  std::span<const std::string> rest = parts.subspan(consumed);
  if (rest.empty()) {
    node[key] = child_schema->selector && value.IsScalar() ? ExpandSelector(value) : value;
    return true;
  }
  YAML::Node child = node[key];
  switch (child_schema->shape) {
    case Shape::kLeaf:
      return false;
    case Shape::kList:
    case Shape::kOpaque:
      if (!child.IsMap() && !child.IsSequence()) {
        if (child_schema->shape == Shape::kList) {
          node[key] = YAML::Node(YAML::NodeType::Sequence);
        } else {
          node[key] = child_schema->selector && child.IsScalar() ? ExpandSelector(child)
                                                                 : YAML::Node(YAML::NodeType::Map);
        }
        child = node[key];
      }
      // A list of plain values takes an index only; a list of sections (ListOf) any path below.
      if (child_schema->shape == Shape::kList && child_schema->children.empty() &&
          (rest.size() != 1 || !child.IsSequence())) {
        return false;
      }
      return OverrideFree(child, rest, value);
    case Shape::kSection:
    case Shape::kMap:
    case Shape::kHeaders:
      if (!child.IsMap()) {
        node[key] = child_schema->selector && child.IsScalar() ? ExpandSelector(child)
                                                               : YAML::Node(YAML::NodeType::Map);
        child = node[key];
      }
      return Override(child, *child_schema, rest, value);
  }
  return false;
}

// The value of a variable as YAML; text that is not valid YAML ("{oops") is taken as a string.
YAML::Node ParseEnvValue(const std::string& value) {
  try {
    return YAML::Load(value);
  } catch (const YAML::Exception&) {
    return YAML::Node(value);
  }
}

void ApplyEnvironment(YAML::Node& root, const std::vector<std::string>& env,
                      std::vector<std::string>& warnings) {
  constexpr std::string_view kPrefix = "REGISTRY_";
  std::vector<std::pair<std::string, std::string>> vars;
  for (const std::string& entry : env) {
    size_t eq = entry.find('=');
    if (eq == std::string::npos) continue;
    std::string name = entry.substr(0, eq);
    if (!StartsWith(name, kPrefix)) continue;
    // The CLI's; the version is fixed by the file, as in Distribution.
    if (name == "REGISTRY_CONFIG_PATH" || name == "REGISTRY_VERSION") continue;
    vars.emplace_back(std::move(name), entry.substr(eq + 1));
  }
  // Name order puts a section (REGISTRY_STORAGE) before the keys inside it.
  std::stable_sort(vars.begin(), vars.end(),
                   [](const auto& a, const auto& b) { return a.first < b.first; });
  for (const auto& [name, value] : vars) {
    std::vector<std::string> parts;
    bool empty_part = false;
    for (std::string_view p : Split(std::string_view(name).substr(kPrefix.size()), '_')) {
      empty_part |= p.empty();
      parts.emplace_back(p);
    }
    if (empty_part || !Override(root, RootSchema(), parts, ParseEnvValue(value))) {
      warnings.push_back("ignoring unrecognised environment variable " + name);
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Unknown and accepted-but-unused keys.

void CollectWarnings(const YAML::Node& node, const Schema& schema, const std::string& path,
                     std::vector<std::string>& warnings) {
  if (schema.status == KeyStatus::kPlanned) {
    warnings.push_back("accepted but not used yet: " + path);
    return;
  }
  if (schema.status == KeyStatus::kRefused) Fail(path, "not supported by Berth");
  if (schema.shape == Shape::kList && !schema.children.empty() && node.IsSequence()) {
    for (size_t i = 0; i < node.size(); ++i) {
      CollectWarnings(node[i], schema.children[0], path + "[" + std::to_string(i) + "]", warnings);
    }
    return;
  }
  if (!node.IsMap()) return;
  if (schema.shape == Shape::kSection) {
    for (const auto& kv : node) {
      const std::string& key = kv.first.Scalar();
      const Schema* child = FindChild(schema, key, /*ignore_case=*/false);
      if (child == nullptr) {
        warnings.push_back("unknown configuration key " + JoinPath(path, key));
      } else {
        CollectWarnings(kv.second, *child, JoinPath(path, key), warnings);
      }
    }
  } else if (schema.shape == Shape::kMap) {
    for (const auto& kv : node) {
      CollectWarnings(kv.second, schema.children[0], JoinPath(path, kv.first.Scalar()), warnings);
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Typed accessors. A missing key and an explicit null both mean "not set".

const char* Describe(const YAML::Node& n) {
  if (n.IsMap()) return "a mapping";
  if (n.IsSequence()) return "a list";
  return n.IsScalar() ? "a single value" : "nothing";
}

bool IsSet(const YAML::Node& n) { return n.IsDefined() && !n.IsNull(); }

// The child `key` of `parent`, or an undefined node when absent (or when `parent` is not a map).
YAML::Node Child(const YAML::Node& parent, const std::string& key) {
  if (!parent.IsMap()) return YAML::Node(YAML::NodeType::Undefined);
  for (const auto& kv : parent) {
    if (kv.first.Scalar() == key) return kv.second;
  }
  return YAML::Node(YAML::NodeType::Undefined);
}

// A section: a mapping, or not set (undefined node returned).
YAML::Node GetSection(const YAML::Node& parent, const std::string& key, const std::string& path) {
  YAML::Node n = Child(parent, key);
  if (!IsSet(n)) return YAML::Node(YAML::NodeType::Undefined);
  if (!n.IsMap()) Fail(path, std::string("expected a mapping, got ") + Describe(n));
  return n;
}

std::optional<std::string> GetString(const YAML::Node& parent, const std::string& key,
                                     const std::string& path) {
  YAML::Node n = Child(parent, key);
  if (!IsSet(n)) return std::nullopt;
  if (!n.IsScalar()) Fail(path, std::string("expected a single value, got ") + Describe(n));
  return n.Scalar();
}

// Go's YAML 1.1 booleans (true/false, yes/no, on/off, y/n in any common case), also when quoted,
// since values coming from the environment are often quoted strings.
std::optional<bool> GetBool(const YAML::Node& parent, const std::string& key,
                            const std::string& path) {
  auto s = GetString(parent, key, path);
  if (!s) return std::nullopt;
  std::string v = ToLower(*s);
  if (v == "true" || v == "yes" || v == "on" || v == "y") return true;
  if (v == "false" || v == "no" || v == "off" || v == "n") return false;
  Fail(path, "not a boolean: " + Quote(*s));
}

std::optional<uint32_t> GetUint32(const YAML::Node& parent, const std::string& key,
                                  const std::string& path) {
  auto s = GetString(parent, key, path);
  if (!s) return std::nullopt;
  auto n = ParseUint64(Trim(*s));
  if (!n) Fail(path, "not a non-negative integer: " + Quote(*s));
  if (*n > std::numeric_limits<uint32_t>::max()) Fail(path, "too large: " + Quote(*s));
  return static_cast<uint32_t>(*n);
}

std::optional<int64_t> GetInt(const YAML::Node& parent, const std::string& key,
                              const std::string& path) {
  auto s = GetString(parent, key, path);
  if (!s) return std::nullopt;
  std::string_view v = Trim(*s);
  bool negative = !v.empty() && v.front() == '-';
  if (negative || (!v.empty() && v.front() == '+')) v.remove_prefix(1);
  auto n = ParseUint64(v);
  if (!n || *n > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) {
    Fail(path, "not an integer: " + Quote(*s));
  }
  return negative ? -static_cast<int64_t>(*n) : static_cast<int64_t>(*n);
}

std::optional<std::chrono::nanoseconds> GetDuration(const YAML::Node& parent,
                                                    const std::string& key,
                                                    const std::string& path) {
  auto s = GetString(parent, key, path);
  if (!s) return std::nullopt;
  auto d = ParseGoDuration(*s);
  if (!d) Fail(path, "not a duration: " + Quote(*s));
  return *d;
}

std::optional<uint64_t> GetBytes(const YAML::Node& parent, const std::string& key,
                                 const std::string& path) {
  auto s = GetString(parent, key, path);
  if (!s) return std::nullopt;
  auto bytes = ParseByteSize(*s);
  if (!bytes) Fail(path, bytes.error().message);
  return *bytes;
}

std::vector<std::string> GetStringList(const YAML::Node& parent, const std::string& key,
                                       const std::string& path) {
  YAML::Node n = Child(parent, key);
  std::vector<std::string> out;
  if (!IsSet(n)) return out;
  if (n.IsScalar()) {
    out.push_back(n.Scalar());
    return out;
  }
  if (!n.IsSequence()) Fail(path, std::string("expected a list, got ") + Describe(n));
  for (size_t i = 0; i < n.size(); ++i) {
    if (n[i].IsNull()) continue;
    if (!n[i].IsScalar()) {
      Fail(path + "." + std::to_string(i),
           std::string("expected a single value, got ") + Describe(n[i]));
    }
    out.push_back(n[i].Scalar());
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Sections.

void DecodeLog(const YAML::Node& root, LogConfig& log, std::vector<std::string>& warnings) {
  // The legacy top-level key applies when log.level does not.
  if (auto legacy = GetString(root, "loglevel", "loglevel")) {
    warnings.push_back("loglevel is deprecated; use log.level");
    log.level = *legacy;
  }
  YAML::Node n = GetSection(root, "log", "log");
  if (auto level = GetString(n, "level", "log.level")) log.level = *level;
  std::string lower = ToLower(log.level);
  if (lower != "error" && lower != "warn" && lower != "info" && lower != "debug") {
    Fail(IsSet(Child(n, "level")) ? "log.level" : "loglevel",
         "unknown level " + Quote(log.level) + " (want error, warn, info or debug)");
  }
  log.level = lower;
  if (auto f = GetString(n, "formatter", "log.formatter")) {
    if (*f != "text" && *f != "json" && *f != "logstash") {
      Fail("log.formatter", "unknown formatter " + Quote(*f) + " (want text, json or logstash)");
    }
    log.formatter = *f;
  }
  YAML::Node fields = GetSection(n, "fields", "log.fields");
  if (fields.IsDefined()) {
    for (const auto& kv : fields) {
      const YAML::Node& v = kv.second;
      log.fields[kv.first.Scalar()] =
          v.IsScalar() ? v.Scalar() : (v.IsNull() ? std::string() : YAML::Dump(v));
    }
  }
  YAML::Node access = GetSection(n, "accesslog", "log.accesslog");
  if (auto d = GetBool(access, "disabled", "log.accesslog.disabled")) log.accesslog_disabled = *d;
}

void DecodeFilesystem(const YAML::Node& fs, StorageConfig& storage) {
  if (auto dir = GetString(fs, "rootdirectory", "storage.filesystem.rootdirectory")) {
    if (!dir->empty()) storage.filesystem_rootdirectory = *dir;
  }
  constexpr uint32_t kMinThreads = 25;  // Distribution's floor for the blocking-call pool
  if (auto n = GetUint32(fs, "maxthreads", "storage.filesystem.maxthreads")) {
    // Distribution raises smaller values to its floor rather than refusing the file; so do we.
    storage.filesystem_maxthreads = std::max(*n, kMinThreads);
  }
}

void DecodeStorage(const YAML::Node& root, StorageConfig& storage) {
  YAML::Node n = GetSection(root, "storage", "storage");
  if (!n.IsDefined()) return;

  std::vector<std::string> drivers;
  for (const auto& kv : n) {
    const std::string& key = kv.first.Scalar();
    if (OneOf(key, kStorageNonDrivers)) continue;
    if (!OneOf(key, kSupportedDrivers) && !OneOf(key, kUnsupportedDrivers)) {
      // Distribution takes any other key as a driver name and fails to start without it.
      Fail("storage",
           "unknown storage driver " + Quote(key) + " (Berth supports filesystem and inmemory)");
    }
    drivers.push_back(key);
  }
  if (drivers.size() > 1) {
    std::string names;
    for (const auto& d : drivers) names += (names.empty() ? "" : ", ") + d;
    Fail("storage", "more than one storage driver configured: " + names);
  }
  if (drivers.size() == 1) {
    const std::string& driver = drivers[0];
    if (OneOf(driver, kUnsupportedDrivers)) {
      Fail("storage." + driver, "storage driver " + driver + " is not supported yet");
    }
    storage.driver = driver;
    if (driver == "filesystem") {
      DecodeFilesystem(GetSection(n, "filesystem", "storage.filesystem"), storage);
    } else {
      GetSection(n, driver, "storage." + driver);  // type check only; inmemory takes no parameters
    }
  }

  YAML::Node del = GetSection(n, "delete", "storage.delete");
  if (auto e = GetBool(del, "enabled", "storage.delete.enabled")) storage.delete_enabled = *e;

  YAML::Node maint = GetSection(n, "maintenance", "storage.maintenance");
  const std::string up_path = "storage.maintenance.uploadpurging";
  YAML::Node up = GetSection(maint, "uploadpurging", up_path);
  UploadPurging& purging = storage.uploadpurging;
  if (auto e = GetBool(up, "enabled", up_path + ".enabled")) purging.enabled = *e;
  if (auto d = GetDuration(up, "age", up_path + ".age")) {
    purging.age = std::chrono::duration_cast<std::chrono::seconds>(*d);
  }
  if (auto d = GetDuration(up, "interval", up_path + ".interval")) {
    purging.interval = std::chrono::duration_cast<std::chrono::seconds>(*d);
  }
  if (auto d = GetBool(up, "dryrun", up_path + ".dryrun")) purging.dryrun = *d;
  YAML::Node ro = GetSection(maint, "readonly", "storage.maintenance.readonly");
  if (auto e = GetBool(ro, "enabled", "storage.maintenance.readonly.enabled")) {
    storage.readonly = *e;
  }

  YAML::Node redirect = GetSection(n, "redirect", "storage.redirect");
  if (auto d = GetBool(redirect, "disable", "storage.redirect.disable")) {
    storage.redirect_disable = *d;
  }

  YAML::Node cache = GetSection(n, "cache", "storage.cache");
  // `layerinfo` is the 2.0 name Distribution still reads when blobdescriptor is absent.
  std::string cache_key =
      Child(cache, "blobdescriptor").IsDefined() ? "blobdescriptor" : "layerinfo";
  if (auto c = GetString(cache, cache_key, "storage.cache." + cache_key)) {
    if (!c->empty() && *c != "inmemory" && *c != "redis") {
      Fail("storage.cache." + cache_key,
           "unknown cache type " + Quote(*c) + " (want inmemory or redis)");
    }
    storage.cache_blobdescriptor = *c;
  }
  GetUint32(cache, "blobdescriptorsize", "storage.cache.blobdescriptorsize");

  YAML::Node tag = GetSection(n, "tag", "storage.tag");
  if (auto l = GetUint32(tag, "concurrencylimit", "storage.tag.concurrencylimit")) {
    storage.tag_concurrencylimit = *l;
  }
}

void CheckAddress(const std::string& path, const std::string& addr) {
  auto split = SplitHostPort(addr);
  if (!split) Fail(path, split.error().message);
}

// scheme://host[...], as Distribution builds Location headers from it.
bool IsAbsoluteUrl(std::string_view url) {
  size_t sep = url.find("://");
  if (sep == std::string_view::npos || sep == 0) return false;
  for (size_t i = 0; i < sep; ++i) {
    char c = url[i];
    bool alpha = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
    bool other = (c >= '0' && c <= '9') || c == '+' || c == '-' || c == '.';
    if (!alpha && !(i > 0 && other)) return false;
  }
  std::string_view rest = url.substr(sep + 3);
  return !rest.empty() && rest.front() != '/' && rest.find(' ') == std::string_view::npos;
}

void DecodeHttp(const YAML::Node& root, HttpConfig& http) {
  YAML::Node n = GetSection(root, "http", "http");

  if (auto net = GetString(n, "net", "http.net")) {
    if (!net->empty() && *net != "tcp") {
      Fail("http.net", Quote(*net) + " is not supported (Berth listens on tcp only)");
    }
  }
  http.net = "tcp";
  if (auto addr = GetString(n, "addr", "http.addr")) {
    if (!addr->empty()) http.addr = *addr;
  }
  CheckAddress("http.addr", http.addr);

  if (auto host = GetString(n, "host", "http.host")) {
    if (!host->empty() && !IsAbsoluteUrl(*host)) {
      Fail("http.host", "not an absolute URL (want scheme://host[:port]): " + Quote(*host));
    }
    http.host = *host;
  }
  if (auto prefix = GetString(n, "prefix", "http.prefix")) {
    std::string p = *prefix;
    if (!p.empty() && p.front() != '/') p.insert(p.begin(), '/');
    if (!p.empty() && p.back() != '/') p.push_back('/');
    http.prefix = p == "/" ? std::string() : p;
  }
  if (auto secret = GetString(n, "secret", "http.secret")) http.secret = *secret;
  if (auto r = GetBool(n, "relativeurls", "http.relativeurls")) http.relativeurls = *r;
  if (auto d = GetDuration(n, "draintimeout", "http.draintimeout")) {
    http.draintimeout = std::chrono::duration_cast<std::chrono::milliseconds>(*d);
  }

  YAML::Node headers = GetSection(n, "headers", "http.headers");
  if (headers.IsDefined()) {
    for (const auto& kv : headers) {
      const std::string& raw = kv.first.Scalar();
      std::string name = CanonicalHeaderKey(raw);
      std::vector<std::string> values = GetStringList(headers, raw, "http.headers." + raw);
      auto it = std::find_if(http.headers.begin(), http.headers.end(),
                             [&](const auto& h) { return h.first == name; });
      if (it == http.headers.end()) {
        http.headers.emplace_back(name, std::move(values));
      } else {
        it->second.insert(it->second.end(), values.begin(), values.end());
      }
    }
  }

  YAML::Node tls = GetSection(n, "tls", "http.tls");
  if (auto c = GetString(tls, "certificate", "http.tls.certificate")) http.tls.certificate = *c;
  if (auto k = GetString(tls, "key", "http.tls.key")) http.tls.key = *k;
  if (http.tls.certificate.empty() != http.tls.key.empty()) {
    Fail(http.tls.key.empty() ? "http.tls.key" : "http.tls.certificate",
         "http.tls.certificate and http.tls.key must be set together");
  }
  http.tls.clientcas = GetStringList(tls, "clientcas", "http.tls.clientcas");
  http.tls.ciphersuites = GetStringList(tls, "ciphersuites", "http.tls.ciphersuites");
  for (const std::string& suite : http.tls.ciphersuites) {
    bool ok = !suite.empty() && std::all_of(suite.begin(), suite.end(), [](char c) {
      return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
             c == '_' || c == '-';
    });
    if (!ok) Fail("http.tls.ciphersuites", "not a cipher suite name: " + Quote(suite));
  }
  if (auto m = GetString(tls, "minimumtls", "http.tls.minimumtls")) {
    std::string v = ToLower(*m);
    if (!v.empty()) {
      if (v != "tls1.0" && v != "tls1.1" && v != "tls1.2" && v != "tls1.3") {
        Fail("http.tls.minimumtls",
             "unknown TLS version " + Quote(*m) + " (want tls1.0, tls1.1, tls1.2 or tls1.3)");
      }
      http.tls.minimumtls = v;
    }
  }

  YAML::Node debug = GetSection(n, "debug", "http.debug");
  if (auto a = GetString(debug, "addr", "http.debug.addr")) {
    if (!a->empty()) CheckAddress("http.debug.addr", *a);
    http.debug_addr = *a;
  }
  http.debug_enabled = !http.debug_addr.empty();
  YAML::Node prom = GetSection(debug, "prometheus", "http.debug.prometheus");
  if (auto e = GetBool(prom, "enabled", "http.debug.prometheus.enabled")) {
    http.debug_prometheus_enabled = *e;
  }
  if (auto p = GetString(prom, "path", "http.debug.prometheus.path")) {
    if (!p->empty()) http.debug_prometheus_path = *p;
  }

  YAML::Node http2 = GetSection(n, "http2", "http.http2");
  if (auto d = GetBool(http2, "disabled", "http.http2.disabled")) http.http2_disabled = *d;
  YAML::Node h2c = GetSection(n, "h2c", "http.h2c");
  if (auto e = GetBool(h2c, "enabled", "http.h2c.enabled")) http.h2c_enabled = *e;
}

void DecodeCatalog(const YAML::Node& root, Config& config) {
  YAML::Node n = GetSection(root, "catalog", "catalog");
  if (auto m = GetInt(n, "maxentries", "catalog.maxentries")) {
    // As Distribution: zero or negative means the default.
    if (*m > std::numeric_limits<uint32_t>::max()) {
      Fail("catalog.maxentries", "too large: " + std::to_string(*m));
    }
    config.catalog_maxentries = *m <= 0 ? 1000 : static_cast<uint32_t>(*m);
  }
}

void DecodeAuth(const YAML::Node& root, AuthConfig& auth) {
  YAML::Node n = Child(root, "auth");
  if (!n.IsDefined() || n.IsNull()) return;
  // Fail closed: authentication was asked for, so anything but one kind Berth implements, with
  // its required keys, stops start-up rather than serving without authentication.
  if (!n.IsMap()) Fail("auth", std::string("expected a mapping, got ") + Describe(n));
  std::vector<std::string> kinds;
  for (const auto& kv : n) {
    const std::string& kind = kv.first.Scalar();
    if (kind == "silly") {
      Fail("auth.silly",
           "Distribution's test-only authentication is not supported; use htpasswd "
           "or token");
    }
    if (kind != "htpasswd" && kind != "token") {
      Fail("auth", "unknown authentication kind " + Quote(kind) + " (want htpasswd or token)");
    }
    if (!kv.second.IsNull() && !kv.second.IsMap()) {
      Fail("auth." + kind, std::string("expected a mapping, got ") + Describe(kv.second));
    }
    kinds.push_back(kind);
  }
  if (kinds.empty()) Fail("auth", "no authentication kind given (want htpasswd or token)");
  if (kinds.size() > 1) Fail("auth", "choose one of htpasswd and token, not both");
  // A kind given without parameters (REGISTRY_AUTH=htpasswd gives `htpasswd: ~`) still selects it;
  // its required keys are then missing and named below.
  YAML::Node params = Child(n, kinds[0]);
  if (!params.IsMap()) params = YAML::Node(YAML::NodeType::Map);
  const YAML::Node& h = params;
  const YAML::Node& t = params;
  if (kinds[0] == "htpasswd") {
    auth.type = "htpasswd";
    auth.htpasswd_realm = GetString(h, "realm", "auth.htpasswd.realm").value_or("");
    auth.htpasswd_path = GetString(h, "path", "auth.htpasswd.path").value_or("");
    // With a metadata store (berth.meta) users come from it; the file is then refused, not merged.
    bool store = IsSet(Child(Child(root, "berth"), "meta"));
    if (auth.htpasswd_path.empty() && !store) Fail("auth.htpasswd.path", "required");
    if (!auth.htpasswd_path.empty() && store) {
      Fail("auth.htpasswd.path", "not used with berth.meta (users come from the store); remove it");
    }
    if (auth.htpasswd_realm.empty()) auth.htpasswd_realm = "Registry Realm";
  } else {
    auth.type = "token";
    auth.token_realm = GetString(t, "realm", "auth.token.realm").value_or("");
    auth.token_service = GetString(t, "service", "auth.token.service").value_or("");
    auth.token_issuer = GetString(t, "issuer", "auth.token.issuer").value_or("");
    auth.token_rootcertbundle =
        GetString(t, "rootcertbundle", "auth.token.rootcertbundle").value_or("");
    auth.token_jwks = GetString(t, "jwks", "auth.token.jwks").value_or("");
    for (auto [key, value] : {std::pair{"realm", &auth.token_realm},
                              std::pair{"service", &auth.token_service},
                              std::pair{"issuer", &auth.token_issuer}}) {
      if (value->empty()) Fail(std::string("auth.token.") + key, "required");
    }
    YAML::Node b = GetSection(t, "builtin", "auth.token.builtin");
    if (IsSet(b)) {
      auth.builtin_signingkey =
          GetString(b, "signingkey", "auth.token.builtin.signingkey").value_or("");
      auth.builtin_htpasswd = GetString(b, "htpasswd", "auth.token.builtin.htpasswd").value_or("");
      auth.builtin_policy = GetString(b, "policy", "auth.token.builtin.policy").value_or("");
      if (auto e = GetDuration(b, "expiration", "auth.token.builtin.expiration")) {
        auth.builtin_expiration = std::chrono::duration_cast<std::chrono::seconds>(*e);
      }
      if (auth.builtin_signingkey.empty()) Fail("auth.token.builtin.signingkey", "required");
      if (IsSet(Child(Child(root, "berth"), "meta"))) {
        if (!auth.builtin_htpasswd.empty()) {
          Fail("auth.token.builtin.htpasswd", "not used with berth.meta (users come from the store)");
        }
        if (!auth.builtin_policy.empty()) {
          Fail("auth.token.builtin.policy", "not used with berth.meta (roles come from the store)");
        }
      }
    } else if (auth.token_rootcertbundle.empty() && auth.token_jwks.empty()) {
      Fail("auth.token.rootcertbundle", "required (or auth.token.jwks)");
    }
  }
}

// Go's regexp (RE2) and ECMAScript agree on the patterns people write for URLs; a pattern either
// engine would refuse is refused here, at start-up, naming its position in the list.
void CheckPatterns(const std::vector<std::string>& patterns, const std::string& path) {
  for (size_t i = 0; i < patterns.size(); ++i) {
    try {
      std::regex re(patterns[i], std::regex::ECMAScript);
    } catch (const std::regex_error& e) {
      Fail(path + "." + std::to_string(i), "not a regular expression: " + Quote(patterns[i]));
    }
  }
}

void DecodeValidation(const YAML::Node& root, ValidationConfig& v) {
  YAML::Node n = GetSection(root, "validation", "validation");
  // `enabled` is the old inverse of `disabled`; Distribution lets `disabled` win.
  if (auto e = GetBool(n, "enabled", "validation.enabled")) v.disabled = !*e;
  if (auto d = GetBool(n, "disabled", "validation.disabled")) v.disabled = *d;
  YAML::Node urls = GetSection(GetSection(n, "manifests", "validation.manifests"), "urls",
                               "validation.manifests.urls");
  v.manifests_urls_allow = GetStringList(urls, "allow", "validation.manifests.urls.allow");
  v.manifests_urls_deny = GetStringList(urls, "deny", "validation.manifests.urls.deny");
  CheckPatterns(v.manifests_urls_allow, "validation.manifests.urls.allow");
  CheckPatterns(v.manifests_urls_deny, "validation.manifests.urls.deny");
}

template <typename T>
void CheckRange(const std::optional<T>& value, T min, T max, const std::string& path) {
  if (value && (*value < min || *value > max)) {
    Fail(path, "out of range (want " + std::to_string(min) + " to " + std::to_string(max) + ")");
  }
}

std::optional<std::chrono::milliseconds> GetMillis(const YAML::Node& parent, const std::string& key,
                                                   const std::string& path) {
  auto d = GetDuration(parent, key, path);
  if (!d) return std::nullopt;
  return std::chrono::duration_cast<std::chrono::milliseconds>(*d);
}

void DecodeBerth(const YAML::Node& root, BerthConfig& b) {
  YAML::Node n = GetSection(root, "berth", "berth");
  YAML::Node st = GetSection(n, "storage", "berth.storage");
  b.listing_ttl = GetMillis(st, "listingttl", "berth.storage.listingttl");
  b.manifest_cache_bytes = GetBytes(st, "manifestcachesize", "berth.storage.manifestcachesize");
  b.max_blob_bytes = GetBytes(st, "maxblobsize", "berth.storage.maxblobsize");
  if (b.max_blob_bytes && *b.max_blob_bytes == 0) {
    Fail("berth.storage.maxblobsize", "must be positive (leave it out for no limit)");
  }

  YAML::Node m = GetSection(n, "meta", "berth.meta");
  if (IsSet(m)) {
    b.meta_driver = GetString(m, "driver", "berth.meta.driver").value_or("sqlite");
    b.meta_path = GetString(m, "path", "berth.meta.path").value_or("");
    b.meta_dsn = GetString(m, "dsn", "berth.meta.dsn").value_or("");
    if (b.meta_driver == "postgres") {
      if (b.meta_dsn.empty()) Fail("berth.meta.dsn", "required for driver postgres");
    } else if (b.meta_driver != "sqlite") {
      Fail("berth.meta.driver", "unknown driver " + Quote(b.meta_driver) + " (want sqlite or postgres)");
    }
  }
  YAML::Node rl = GetSection(n, "ratelimit", "berth.ratelimit");
  b.ratelimit_pulls = GetUint32(rl, "pulls", "berth.ratelimit.pulls");
  if (auto w = GetDuration(rl, "window", "berth.ratelimit.window")) {
    b.ratelimit_window = std::chrono::duration_cast<std::chrono::seconds>(*w);
    if (b.ratelimit_window->count() <= 0) Fail("berth.ratelimit.window", "must be at least 1s");
  }
  b.ratelimit_exempt = GetStringList(rl, "exempt", "berth.ratelimit.exempt");

  YAML::Node h = GetSection(n, "http", "berth.http");
  b.threads = GetUint32(h, "threads", "berth.http.threads");
  CheckRange<uint32_t>(b.threads, 0, 1024, "berth.http.threads");
  b.max_header_bytes = GetBytes(h, "maxheadersize", "berth.http.maxheadersize");
  CheckRange<uint64_t>(b.max_header_bytes, 1024, 16 << 20, "berth.http.maxheadersize");
  b.header_timeout = GetMillis(h, "headertimeout", "berth.http.headertimeout");
  b.idle_timeout = GetMillis(h, "idletimeout", "berth.http.idletimeout");
  b.body_idle_timeout = GetMillis(h, "bodyidletimeout", "berth.http.bodyidletimeout");
  b.write_timeout = GetMillis(h, "writetimeout", "berth.http.writetimeout");
  for (auto [name, value] :
       {std::pair{"headertimeout", &b.header_timeout}, std::pair{"idletimeout", &b.idle_timeout},
        std::pair{"bodyidletimeout", &b.body_idle_timeout},
        std::pair{"writetimeout", &b.write_timeout}}) {
    // Zero would make every request time out at once.
    if (*value && value->value().count() <= 0) {
      Fail(std::string("berth.http.") + name, "must be positive");
    }
  }
  YAML::Node t = GetSection(h, "transfer", "berth.http.transfer");
  const std::string tp = "berth.http.transfer.";
  b.large_buffer = GetBytes(t, "largebuffer", tp + "largebuffer");
  b.large_buffer_budget = GetBytes(t, "largebufferbudget", tp + "largebufferbudget");
  b.small_buffer = GetBytes(t, "smallbuffer", tp + "smallbuffer");
  CheckRange<uint64_t>(b.large_buffer, 4096, 256 << 20, tp + "largebuffer");
  CheckRange<uint64_t>(b.small_buffer, 4096, 256 << 20, tp + "smallbuffer");
  CheckRange<uint64_t>(b.large_buffer_budget, 0, uint64_t{64} << 30, tp + "largebufferbudget");
  b.sendfile = GetBool(t, "sendfile", tp + "sendfile");
  b.map_files = GetBool(t, "mapfiles", tp + "mapfiles");

  YAML::Node px = GetSection(n, "proxy", "berth.proxy");
  b.proxy_max_cache_bytes = GetBytes(px, "maxcachesize", "berth.proxy.maxcachesize");
  if (px.IsDefined()) b.proxy_yaml = YAML::Dump(px);
}

void CheckVersion(const YAML::Node& root) {
  YAML::Node v = Child(root, "version");
  if (!IsSet(v)) Fail("version", "missing; the configuration file must declare version: 0.1");
  // `version: 0.1` is a YAML float whose text is still "0.1".
  if (!v.IsScalar() || v.Scalar() != "0.1") {
    Fail("version",
         "unsupported version " + (v.IsScalar() ? Quote(v.Scalar()) : Describe(v)) + " (want 0.1)");
  }
}

LoadResult LoadOrThrow(const std::string& yaml_text, const std::vector<std::string>& env) {
  LoadResult result;
  YAML::Node root(YAML::NodeType::Map);
  if (!yaml_text.empty()) {
    YAML::Node doc;
    try {
      doc = YAML::Load(yaml_text);
    } catch (const YAML::ParserException& e) {
      throw ConfigError("config: invalid YAML at line " + std::to_string(e.mark.line + 1) +
                        ", column " + std::to_string(e.mark.column + 1) + ": " + e.msg);
    }
    if (!doc.IsNull() && !doc.IsMap()) {
      throw ConfigError(std::string("config: expected a mapping at the top level, got ") +
                        Describe(doc));
    }
    if (doc.IsMap()) root = doc;
    CheckVersion(root);
  }

  for (const char* selector : {"storage", "auth"}) {
    YAML::Node n = Child(root, selector);
    if (n.IsScalar()) root[selector] = ExpandSelector(n);
  }
  ApplyEnvironment(root, env, result.warnings);

  Config& config = result.config;
  DecodeLog(root, config.log, result.warnings);
  DecodeStorage(root, config.storage);
  DecodeHttp(root, config.http);
  DecodeCatalog(root, config);
  DecodeAuth(root, config.auth);
  DecodeValidation(root, config.validation);
  DecodeBerth(root, config.berth);
  // Decoded by gc/config.cc.
  if (YAML::Node gc = Child(Child(Child(root, "storage"), "maintenance"), "gc"); gc.IsDefined()) {
    config.raw_sections["storage.maintenance.gc"] = YAML::Dump(gc);
  }
  for (std::string_view name : kRawSections) {
    YAML::Node n = Child(root, std::string(name));
    if (n.IsDefined()) config.raw_sections[std::string(name)] = YAML::Dump(n);
  }
  for (std::string_view name : kRawBerthSections) {
    YAML::Node n = Child(Child(root, "berth"), std::string(name));
    if (n.IsDefined()) config.raw_sections["berth." + std::string(name)] = YAML::Dump(n);
  }
  CollectWarnings(root, RootSchema(), "", result.warnings);
  return result;
}

}  // namespace

Result<uint64_t> ParseByteSize(std::string_view text) {
  std::string v = ToLower(std::string(Trim(text)));
  size_t num_end = 0;
  while (num_end < v.size() && ((v[num_end] >= '0' && v[num_end] <= '9') || v[num_end] == '.')) {
    ++num_end;
  }
  std::string unit(Trim(std::string_view(v).substr(num_end)));
  static const std::pair<const char*, double> kUnits[] = {{"", 1},
                                                          {"b", 1},
                                                          {"kb", 1e3},
                                                          {"mb", 1e6},
                                                          {"gb", 1e9},
                                                          {"tb", 1e12},
                                                          {"kib", 1024.0},
                                                          {"mib", 1048576.0},
                                                          {"gib", 1073741824.0},
                                                          {"tib", 1099511627776.0}};
  const double* mult = nullptr;
  for (const auto& [name, m] : kUnits) {
    if (unit == name) mult = &m;
  }
  std::string number = v.substr(0, num_end);
  bool valid_number =
      !number.empty() && std::count(number.begin(), number.end(), '.') <= 1 && number != ".";
  if (mult == nullptr || !valid_number) {
    return MakeError(ErrorCode::kInvalidArgument,
         "not a size (want bytes, or a number with B, KB, MB, GB, KiB, MiB, GiB): " + Quote(std::string(text)));
  }
  double bytes = std::stod(number) * *mult;
  if (bytes >= 9.2e18) return MakeError(ErrorCode::kInvalidArgument, "too large: " + Quote(std::string(text)));
  return static_cast<uint64_t>(bytes);
}


KeyStatus StatusOf(const std::string& path) {
  const Schema* s = &RootSchema();
  for (std::string_view part : Split(path, '.')) {
    if (s->status != KeyStatus::kHonoured) return s->status;
    switch (s->shape) {
      case Shape::kSection:
        s = FindChild(*s, part, /*ignore_case=*/false);
        if (s == nullptr) return KeyStatus::kUnknown;
        break;
      case Shape::kMap:
        s = &s->children[0];
        break;
      case Shape::kHeaders:
      case Shape::kOpaque:
      case Shape::kList:
        return s->status;
      case Shape::kLeaf:
        return KeyStatus::kUnknown;
    }
  }
  return s->status;
}

Result<LoadResult> Load(const std::string& yaml_text, const std::vector<std::string>& env) {
  try {
    return LoadOrThrow(yaml_text, env);
  } catch (const ConfigError& e) {
    return MakeError(ErrorCode::kInvalidArgument, e.what());
  } catch (const YAML::Exception& e) {
    return MakeError(ErrorCode::kInvalidArgument, std::string("config: ") + e.what());
  } catch (const std::exception& e) {
    return MakeError(ErrorCode::kInvalidArgument, std::string("config: ") + e.what());
  }
}

Result<LoadResult> LoadFile(const std::string& path, const std::vector<std::string>& env) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return MakeError(ErrorCode::kIo,
                     "cannot read configuration file " + Quote(path) + ": " + std::strerror(errno));
  }
  std::ostringstream text;
  text << in.rdbuf();
  if (in.bad()) {
    return MakeError(ErrorCode::kIo, "cannot read configuration file " + Quote(path));
  }
  return Load(text.str(), env);
}

std::vector<std::string> ProcessEnvironment() {
  std::vector<std::string> out;
  for (char** e = environ; e != nullptr && *e != nullptr; ++e) out.emplace_back(*e);
  return out;
}

Result<std::pair<std::string, uint16_t>> SplitHostPort(const std::string& addr) {
  auto bad = [&](std::string_view why) {
    return MakeError(ErrorCode::kInvalidArgument,
                     "address " + Quote(addr) + ": " + std::string(why));
  };
  std::string host;
  std::string_view port;
  std::string_view a = addr;
  if (!a.empty() && a.front() == '[') {
    size_t close = a.find(']');
    if (close == std::string_view::npos) return bad("missing ']'");
    host = std::string(a.substr(1, close - 1));
    std::string_view rest = a.substr(close + 1);
    if (rest.empty()) return bad("missing port");
    if (rest.front() != ':') return bad("unexpected text after ']'");
    port = rest.substr(1);
  } else {
    size_t colon = a.rfind(':');
    if (colon == std::string_view::npos) return bad("missing port");
    host = std::string(a.substr(0, colon));
    if (host.find(':') != std::string::npos)
      return bad("too many colons (write IPv6 as [::1]:5000)");
    if (host.find_first_of("[]") != std::string::npos) return bad("unexpected '[' or ']'");
    port = a.substr(colon + 1);
  }
  auto n = ParseUint64(port);
  if (!n || *n > 65535) return bad("invalid port " + Quote(port));
  return std::make_pair(std::move(host), static_cast<uint16_t>(*n));
}

}  // namespace berth::config
