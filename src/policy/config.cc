#include "policy/config.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <initializer_list>
#include <string_view>

#include "common/names.h"
#include "common/strings.h"
#include "common/time.h"

namespace berth::policy {
namespace {

using Err = std::unexpected<Error>;

Err Bad(const std::string& path, const std::string& message) {
  return MakeError(ErrorCode::kInvalidArgument, path + ": " + message);
}

std::string Quote(std::string_view s) { return "\"" + std::string(s) + "\""; }

// A mapping whose keys are all in `known`; anything else is an error naming the key.
Status CheckKeys(const YAML::Node& map, const std::string& path,
                 std::initializer_list<std::string_view> known) {
  if (!map.IsMap()) return Bad(path, "expected a mapping");
  for (const auto& kv : map) {
    const std::string key = kv.first.Scalar();
    if (std::find(known.begin(), known.end(), key) == known.end()) {
      return Bad(path + "." + key, "unknown key (a misspelt rule key would change what is kept)");
    }
  }
  return Ok();
}

bool IsSet(const YAML::Node& n) { return n.IsDefined() && !n.IsNull(); }

Result<std::optional<std::string>> GetScalar(const YAML::Node& map, const char* key,
                                             const std::string& path) {
  YAML::Node n = map[key];
  if (!IsSet(n)) return std::optional<std::string>();
  if (!n.IsScalar()) return Bad(path, "expected a single value");
  return std::optional<std::string>(n.Scalar());
}

Result<std::optional<uint32_t>> GetCount(const YAML::Node& map, const char* key,
                                         const std::string& path) {
  BERTH_ASSIGN_OR_RETURN(auto s, GetScalar(map, key, path));
  if (!s) return std::optional<uint32_t>();
  auto n = ParseUint64(Trim(*s));
  if (!n || *n > 1'000'000'000) return Bad(path, "not a non-negative integer: " + Quote(*s));
  return std::optional<uint32_t>(static_cast<uint32_t>(*n));
}

Result<std::vector<std::string>> GetStrings(const YAML::Node& map, const char* key,
                                            const std::string& path) {
  YAML::Node n = map[key];
  std::vector<std::string> out;
  if (!IsSet(n)) return out;
  if (n.IsScalar()) {
    out.push_back(n.Scalar());
    return out;
  }
  if (!n.IsSequence()) return Bad(path, "expected a list");
  for (size_t i = 0; i < n.size(); ++i) {
    if (!n[i].IsScalar()) return Bad(path + "." + std::to_string(i), "expected a single value");
    out.push_back(n[i].Scalar());
  }
  return out;
}

Result<std::vector<TagPattern>> GetPatterns(const YAML::Node& map, const char* key,
                                            const std::string& path) {
  BERTH_ASSIGN_OR_RETURN(auto texts, GetStrings(map, key, path));
  std::vector<TagPattern> out;
  for (size_t i = 0; i < texts.size(); ++i) {
    BERTH_ASSIGN_OR_RETURN(auto p, TagPattern::Compile(texts[i], path + "." + std::to_string(i)));
    out.push_back(std::move(p));
  }
  return out;
}

// The rule's name and repository glob, shared by both kinds of rule.
Status DecodeCommon(const YAML::Node& rule, const std::string& path, std::string& name,
                    std::string& repository) {
  BERTH_ASSIGN_OR_RETURN(auto n, GetScalar(rule, "name", path + ".name"));
  name = n.value_or(path);
  BERTH_ASSIGN_OR_RETURN(auto repo, GetScalar(rule, "repository", path + ".repository"));
  if (!repo || repo->empty()) {
    return Bad(path + ".repository", "required (a repository glob such as \"team/*\" or \"*\")");
  }
  repository = *repo;
  return Ok();
}

// The `rules` list of a section, each element decoded by `decode(node, path)`.
template <typename Rule, typename Fn>
Result<std::vector<Rule>> DecodeRules(const YAML::Node& section, const std::string& path,
                                      Fn decode) {
  std::vector<Rule> out;
  YAML::Node rules = section["rules"];
  if (!IsSet(rules)) return out;
  if (!rules.IsSequence()) return Bad(path + ".rules", "expected a list of rules");
  for (size_t i = 0; i < rules.size(); ++i) {
    BERTH_ASSIGN_OR_RETURN(Rule r, decode(rules[i], path + ".rules." + std::to_string(i)));
    out.push_back(std::move(r));
  }
  return out;
}

Result<ImmutableRule> DecodeImmutableRule(const YAML::Node& n, const std::string& path) {
  BERTH_RETURN_IF_ERROR(CheckKeys(n, path, {"name", "repository", "tags", "exclude"}));
  ImmutableRule r;
  BERTH_RETURN_IF_ERROR(DecodeCommon(n, path, r.name, r.repository));
  BERTH_ASSIGN_OR_RETURN(r.tags, GetPatterns(n, "tags", path + ".tags"));
  BERTH_ASSIGN_OR_RETURN(r.exclude, GetPatterns(n, "exclude", path + ".exclude"));
  return r;
}

Result<RetentionRule> DecodeRetentionRule(const YAML::Node& n, const std::string& path) {
  BERTH_RETURN_IF_ERROR(CheckKeys(n, path,
                                  {"name", "repository", "keepnewest", "keepdays", "keeptags",
                                   "droptags", "protected", "untaggeddays"}));
  RetentionRule r;
  BERTH_RETURN_IF_ERROR(DecodeCommon(n, path, r.name, r.repository));
  BERTH_ASSIGN_OR_RETURN(r.keep_newest, GetCount(n, "keepnewest", path + ".keepnewest"));
  BERTH_ASSIGN_OR_RETURN(r.keep_days, GetCount(n, "keepdays", path + ".keepdays"));
  BERTH_ASSIGN_OR_RETURN(r.untagged_days, GetCount(n, "untaggeddays", path + ".untaggeddays"));
  BERTH_ASSIGN_OR_RETURN(r.keep_tags, GetPatterns(n, "keeptags", path + ".keeptags"));
  BERTH_ASSIGN_OR_RETURN(r.drop_tags, GetPatterns(n, "droptags", path + ".droptags"));
  BERTH_ASSIGN_OR_RETURN(r.protected_tags, GetStrings(n, "protected", path + ".protected"));
  for (size_t i = 0; i < r.protected_tags.size(); ++i) {
    if (!ValidateTag(r.protected_tags[i])) {
      return Bad(path + ".protected." + std::to_string(i),
                 "not a tag: " + Quote(r.protected_tags[i]) + " (exact tag names, not patterns)");
    }
  }
  if (!r.keep_newest && !r.keep_days && r.drop_tags.empty() && !r.untagged_days) {
    return Bad(path, "deletes nothing: set keepnewest, keepdays, droptags or untaggeddays");
  }
  return r;
}

// The raw YAML config/ kept for `berth.<name>`, or an undefined node when absent.
Result<YAML::Node> RawSection(const config::Config& cfg, const std::string& name) {
  auto it = cfg.raw_sections.find("berth." + name);
  if (it == cfg.raw_sections.end()) return YAML::Node(YAML::NodeType::Undefined);
  try {
    YAML::Node n = YAML::Load(it->second);
    if (n.IsNull()) return YAML::Node(YAML::NodeType::Undefined);
    if (!n.IsMap()) return Bad("berth." + name, "expected a mapping");
    return n;
  } catch (const YAML::Exception& e) {
    return Bad("berth." + name, e.what());
  }
}

Result<RetentionSettings> DecodeRetention(const YAML::Node& n) {
  const std::string path = "berth.retention";
  RetentionSettings s;
  if (!n.IsDefined()) return s;
  BERTH_RETURN_IF_ERROR(CheckKeys(n, path, {"interval", "dryrun", "rules"}));
  BERTH_ASSIGN_OR_RETURN(auto interval, GetScalar(n, "interval", path + ".interval"));
  if (interval) {
    auto d = ParseGoDuration(*interval);
    if (!d) return Bad(path + ".interval", "not a duration: " + Quote(*interval));
    s.interval = *d;
  }
  BERTH_ASSIGN_OR_RETURN(auto dryrun, GetScalar(n, "dryrun", path + ".dryrun"));
  if (dryrun) {
    std::string v = ToLower(*dryrun);
    if (v == "true" || v == "yes" || v == "on") {
      s.dryrun = true;
    } else if (v != "false" && v != "no" && v != "off") {
      return Bad(path + ".dryrun", "not a boolean: " + Quote(*dryrun));
    }
  }
  BERTH_ASSIGN_OR_RETURN(s.rules, DecodeRules<RetentionRule>(n, path, DecodeRetentionRule));
  return s;
}

std::string Patterns(const std::vector<TagPattern>& ps) {
  std::string out;
  for (const auto& p : ps) out += (out.empty() ? "" : ", ") + Quote(p.text());
  return out;
}

}  // namespace

std::string ImmutableRule::Describe() const {
  std::string out = "immutable rule " + Quote(name) + " (repository " + Quote(repository) +
                    ", tags " + (tags.empty() ? std::string("all") : Patterns(tags));
  if (!exclude.empty()) out += ", except " + Patterns(exclude);
  return out + ")";
}

Result<PolicyConfig> Decode(const config::Config& cfg) {
  PolicyConfig out;
  try {
    BERTH_ASSIGN_OR_RETURN(YAML::Node imm, RawSection(cfg, "immutable"));
    if (imm.IsDefined()) {
      BERTH_RETURN_IF_ERROR(CheckKeys(imm, "berth.immutable", {"rules"}));
      BERTH_ASSIGN_OR_RETURN(
          out.immutable, DecodeRules<ImmutableRule>(imm, "berth.immutable", DecodeImmutableRule));
    }
    BERTH_ASSIGN_OR_RETURN(YAML::Node ret, RawSection(cfg, "retention"));
    BERTH_ASSIGN_OR_RETURN(out.retention, DecodeRetention(ret));
  } catch (const YAML::Exception& e) {
    return MakeError(ErrorCode::kInvalidArgument, std::string("berth: ") + e.what());
  }
  return out;
}

}  // namespace berth::policy
