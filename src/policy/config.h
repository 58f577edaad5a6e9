#pragma once
// Retention and immutability rules: Berth's keys `berth.retention` and `berth.immutable`, decoded
// from the raw YAML config/ keeps for them (Config::raw_sections). docs/retention.md is the user's
// guide; the shapes are:
//
//   berth:
//     immutable:
//       rules:
//         - name: releases                    # optional; messages name the rule by it
//           repository: "release/*"           # glob (common/glob.h), required
//           tags: ['^v[0-9]+\.[0-9]+\.[0-9]+$']  # regexes (policy/pattern.h); absent: every tag
//           exclude: ['^latest$']             # regexes; a matching tag is never immutable
//     retention:
//       interval: 24h     # how often `serve` runs the rules; 0: only `berth retention run`
//       dryrun: false     # scheduled runs log what they would delete and delete nothing
//       rules:
//         - repository: "team/*"              # glob, required; the FIRST matching rule applies
//           keepnewest: 10                    # the 10 most recently pushed tags stay
//           keepdays: 30                      # tags pushed within 30 days stay
//           keeptags: ['^v[0-9]']             # regexes: matching tags always stay
//           droptags: ['^pr-']                # regexes: matching tags go (unless kept above)
//           protected: [latest, stable]       # exact tag names that always stay
//           untaggeddays: 7                   # untagged manifests older than 7 days go too
//
// Every error is kInvalidArgument naming the key's dotted path ("berth.retention.rules.0.keepdays:
// not a non-negative integer: \"x\""). Unknown keys inside a rule are errors, not warnings: a
// misspelt `protected` must not delete what it meant to keep, nor a misspelt `tags` leave releases
// mutable. Thread-safety: pure functions; the structs are immutable once decoded.

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "common/error.h"
#include "config/config.h"
#include "policy/pattern.h"

namespace berth::policy {

struct ImmutableRule {
  std::string name{};              // as configured, else "berth.immutable.rules.<i>"
  std::string repository{};        // glob
  std::vector<TagPattern> tags{};  // empty: every tag
  std::vector<TagPattern> exclude{};

  // "immutable rule \"releases\" (repository \"release/*\", tags \"^v...\")"
  std::string Describe() const;
};

struct RetentionRule {
  std::string name{};  // as configured, else "berth.retention.rules.<i>"
  std::string repository{};
  std::optional<uint32_t> keep_newest{};
  std::optional<uint32_t> keep_days{};
  std::vector<TagPattern> keep_tags{};
  std::vector<TagPattern> drop_tags{};
  std::vector<std::string> protected_tags{};
  std::optional<uint32_t> untagged_days{};
};

struct RetentionSettings {
  std::chrono::nanoseconds interval = std::chrono::hours(24);
  bool dryrun = false;
  std::vector<RetentionRule> rules;
};

struct PolicyConfig {
  std::vector<ImmutableRule> immutable;
  RetentionSettings retention;
};

// Decodes `berth.immutable` and `berth.retention` from `cfg.raw_sections`. Absent sections give
// empty rule lists.
Result<PolicyConfig> Decode(const config::Config& cfg);

}  // namespace berth::policy
