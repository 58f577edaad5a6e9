// Decoding berth.retention and berth.immutable: shapes, defaults, and errors naming the key.
#include "policy/config.h"

#include <gtest/gtest.h>

#include "config/config.h"

namespace berth::policy {
namespace {

Result<PolicyConfig> DecodeYaml(const std::string& berth_section,
                                std::vector<std::string>* warnings = nullptr) {
  auto loaded = config::Load("version: 0.1\nberth:\n" + berth_section, {});
  if (!loaded) return std::unexpected(loaded.error());
  if (warnings) *warnings = loaded->warnings;
  return Decode(loaded->config);
}

std::string ErrorOf(const std::string& berth_section) {
  auto r = DecodeYaml(berth_section);
  return r ? std::string("(no error)") : r.error().message;
}

TEST(PolicyConfig, AbsentSectionsMeanNoRules) {
  auto r = DecodeYaml("  storage:\n    listingttl: 5s\n");
  ASSERT_TRUE(r.has_value()) << r.error().message;
  EXPECT_TRUE(r->immutable.empty());
  EXPECT_TRUE(r->retention.rules.empty());
  EXPECT_EQ(r->retention.interval, std::chrono::hours(24));
  EXPECT_FALSE(r->retention.dryrun);
}

TEST(PolicyConfig, DecodesEveryKey) {
  std::vector<std::string> warnings;
  auto r = DecodeYaml(R"(  immutable:
    rules:
      - name: releases
        repository: "release/*"
        tags: ['^v[0-9]+\.[0-9]+\.[0-9]+$']
        exclude: ['^latest$']
      - repository: "*"
  retention:
    interval: 6h
    dryrun: true
    rules:
      - repository: "team/*"
        keepnewest: 10
        keepdays: 30
        keeptags: ['^v']
        droptags: ['^pr-', 'tmp']
        protected: [latest, stable]
        untaggeddays: 7
)",
                      &warnings);
  ASSERT_TRUE(r.has_value()) << r.error().message;
  EXPECT_TRUE(warnings.empty()) << warnings.front();
  ASSERT_EQ(r->immutable.size(), 2u);
  EXPECT_EQ(r->immutable[0].name, "releases");
  EXPECT_EQ(r->immutable[0].repository, "release/*");
  ASSERT_EQ(r->immutable[0].tags.size(), 1u);
  EXPECT_TRUE(r->immutable[0].tags[0].Search("v1.2.3"));
  EXPECT_FALSE(r->immutable[0].tags[0].Search("v1.2.3-rc1"));
  EXPECT_EQ(r->immutable[1].name, "berth.immutable.rules.1");
  EXPECT_TRUE(r->immutable[1].tags.empty());
  EXPECT_EQ(r->retention.interval, std::chrono::hours(6));
  EXPECT_TRUE(r->retention.dryrun);
  ASSERT_EQ(r->retention.rules.size(), 1u);
  const RetentionRule& rule = r->retention.rules[0];
  EXPECT_EQ(rule.repository, "team/*");
  EXPECT_EQ(rule.keep_newest, 10u);
  EXPECT_EQ(rule.keep_days, 30u);
  EXPECT_EQ(rule.untagged_days, 7u);
  EXPECT_EQ(rule.drop_tags.size(), 2u);
  EXPECT_EQ(rule.keep_tags.size(), 1u);
  EXPECT_EQ(rule.protected_tags, (std::vector<std::string>{"latest", "stable"}));
}

TEST(PolicyConfig, ErrorsNameTheKey) {
  EXPECT_EQ(ErrorOf("  retention:\n    rules:\n      - repository: a\n        keepdays: x\n"),
            "berth.retention.rules.0.keepdays: not a non-negative integer: \"x\"");
  EXPECT_EQ(ErrorOf("  retention:\n    rules:\n      - keepdays: 3\n"),
            "berth.retention.rules.0.repository: required (a repository glob such as \"team/*\" "
            "or \"*\")");
  EXPECT_EQ(ErrorOf("  retention:\n    interval: often\n"),
            "berth.retention.interval: not a duration: \"often\"");
  EXPECT_EQ(ErrorOf("  retention:\n    dryrun: maybe\n"),
            "berth.retention.dryrun: not a boolean: \"maybe\"");
  EXPECT_EQ(ErrorOf("  retention:\n    rules: {a: 1}\n"),
            "berth.retention.rules: expected a list of rules");
  EXPECT_EQ(ErrorOf("  immutable:\n    rules:\n      - repository: a\n        tags: ['(']\n")
                .substr(0, 58),
            "berth.immutable.rules.0.tags.0: invalid regular expression");
  EXPECT_EQ(ErrorOf("  retention:\n    rules:\n      - repository: a\n        keepnewest: 1\n"
                    "        protected: ['v.*']\n"),
            "berth.retention.rules.0.protected.0: not a tag: \"v.*\" (exact tag names, not "
            "patterns)");
  EXPECT_EQ(ErrorOf("  immutable:\n    rules: [{repository: a}]\n    other: 1\n"),
            "berth.immutable.other: unknown key (a misspelt rule key would change what is kept)");
}

// A typo in a rule must stop start-up, not silently keep (or delete) something else.
TEST(PolicyConfig, UnknownRuleKeysAreErrors) {
  EXPECT_EQ(
      ErrorOf("  retention:\n    rules:\n      - repository: a\n        keepnewest: 3\n"
              "        protect: [latest]\n"),
      "berth.retention.rules.0.protect: unknown key (a misspelt rule key would change what is "
      "kept)");
  EXPECT_EQ(ErrorOf("  immutable:\n    rules:\n      - repository: a\n        tag: ['^v']\n"),
            "berth.immutable.rules.0.tag: unknown key (a misspelt rule key would change what is "
            "kept)");
}

TEST(PolicyConfig, RuleThatDeletesNothingIsAnError) {
  EXPECT_EQ(ErrorOf("  retention:\n    rules:\n      - repository: a\n        protected: [x]\n"),
            "berth.retention.rules.0: deletes nothing: set keepnewest, keepdays, droptags or "
            "untaggeddays");
}

TEST(PolicyConfig, EnvironmentOverridesReachTheSection) {
  auto loaded = config::Load(
      "version: 0.1\nberth:\n  retention:\n    rules:\n      - repository: a\n"
      "        keepnewest: 3\n",
      {"REGISTRY_BERTH_RETENTION_INTERVAL=2h"});
  ASSERT_TRUE(loaded.has_value()) << loaded.error().message;
  EXPECT_TRUE(loaded->warnings.empty()) << loaded->warnings.front();
  auto r = Decode(loaded->config);
  ASSERT_TRUE(r.has_value()) << r.error().message;
  EXPECT_EQ(r->retention.interval, std::chrono::hours(2));
}

TEST(PolicyConfig, UnknownSectionKeysWarnThroughTheSchema) {
  auto loaded = config::Load("version: 0.1\nberth:\n  retention:\n    intervall: 2h\n", {});
  ASSERT_TRUE(loaded.has_value()) << loaded.error().message;
  ASSERT_EQ(loaded->warnings.size(), 1u);
  EXPECT_EQ(loaded->warnings[0], "unknown configuration key berth.retention.intervall");
  EXPECT_EQ(config::StatusOf("berth.retention.interval"), config::KeyStatus::kHonoured);
  EXPECT_EQ(config::StatusOf("berth.immutable.rules"), config::KeyStatus::kHonoured);
}

}  // namespace
}  // namespace berth::policy
