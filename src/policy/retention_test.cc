// Retention: the rule evaluation (a fake "now"), then runs over a real storage stack whose link
// times come from a FakeClock (policy_testing.h).
#include "policy/retention.h"

#include <gtest/gtest.h>

#include <map>

#include "policy/policy_testing.h"
#include "storage/factory.h"
#include "storage/storage_testing.h"

namespace berth::policy {
namespace {

using std::chrono::hours;
constexpr auto kDay = hours(24);
const SystemTime kNow = SystemTime{} + kDay * 20000;

TagPattern P(const std::string& re) { return *TagPattern::Compile(re, "test"); }

Digest D(int n) { return Digest::Of("manifest " + std::to_string(n)); }

// Tag name -> "kept: reason" / "deleted: reason".
std::map<std::string, std::string> Decide(const RetentionRule& rule,
                                          const std::vector<TagFacts>& tags,
                                          const ImmutableTags* immutable = nullptr) {
  std::map<std::string, std::string> out;
  for (const auto& d : DecideTags(rule, "team/app", tags, kNow, immutable)) {
    out[d.facts.tag] = (d.keep ? "kept: " : "deleted: ") + d.reason;
  }
  return out;
}

// Tags pushed `days` ago each, in order.
std::vector<TagFacts> TagsAged(std::initializer_list<std::pair<const char*, int>> tags) {
  std::vector<TagFacts> out;
  int i = 0;
  for (auto [name, days] : tags) out.push_back({name, D(i++), kNow - kDay * days});
  return out;
}

TEST(RetentionDecide, KeepNewestKeepsTheMostRecentlyPushed) {
  RetentionRule rule{.repository = "*", .keep_newest = 2};
  EXPECT_EQ(Decide(rule, TagsAged({{"a", 5}, {"b", 1}, {"c", 3}, {"d", 2}})),
            (std::map<std::string, std::string>{{"b", "kept: newest 2 (#1)"},
                                                {"d", "kept: newest 2 (#2)"},
                                                {"c", "deleted: not among the newest 2"},
                                                {"a", "deleted: not among the newest 2"}}));
}

TEST(RetentionDecide, KeepDaysKeepsWhatWasPushedWithin) {
  RetentionRule rule{.repository = "*", .keep_days = 7};
  auto tags = TagsAged({{"new", 1}, {"old", 8}});
  tags.push_back({"edge", D(9), kNow - kDay * 7 + std::chrono::seconds(1)});
  tags.push_back({"future", D(10), kNow + hours(1)});  // a skewed clock elsewhere
  auto got = Decide(rule, tags);
  EXPECT_EQ(got["new"], "kept: pushed within 7 days");
  EXPECT_EQ(got["edge"], "kept: pushed within 7 days");
  EXPECT_EQ(got["future"], "kept: pushed within 7 days");
  EXPECT_EQ(got["old"], "deleted: pushed more than 7 days ago");
}

TEST(RetentionDecide, NewestAndDaysKeepTheUnion) {
  RetentionRule rule{.repository = "*", .keep_newest = 1, .keep_days = 3};
  const std::string old = "deleted: not among the newest 1 and pushed more than 3 days ago";
  EXPECT_EQ(Decide(rule, TagsAged({{"a", 10}, {"b", 20}, {"c", 2}, {"d", 1}})),
            (std::map<std::string, std::string>{{"d", "kept: newest 1 (#1)"},
                                                {"c", "kept: pushed within 3 days"},
                                                {"a", old},
                                                {"b", old}}));
}

TEST(RetentionDecide, KeepTagsAndDropTagsByRegex) {
  RetentionRule rule{.repository = "*",
                     .keep_newest = 1,
                     .keep_tags = {P("^v[0-9]+$")},
                     .drop_tags = {P("^pr-"), P("^v9")}};
  auto got =
      Decide(rule, TagsAged({{"v1", 100}, {"pr-7", 0}, {"v9", 50}, {"main", 1}, {"dev", 2}}));
  EXPECT_EQ(got["v1"], "kept: keeptags \"^v[0-9]+$\"");  // old, but kept by pattern
  EXPECT_EQ(got["v9"], "kept: keeptags \"^v[0-9]+$\"");  // keep wins over drop
  EXPECT_EQ(got["pr-7"], "deleted: droptags \"^pr-\"");  // newest, but dropped by pattern
  EXPECT_EQ(got["main"], "kept: newest 1 (#1)");         // dropped tags take no slot
  EXPECT_EQ(got["dev"], "deleted: not among the newest 1");
}

TEST(RetentionDecide, ProtectedTagsAlwaysStayAndTakeNoSlot) {
  RetentionRule rule{.repository = "*",
                     .keep_newest = 1,
                     .drop_tags = {P(".*")},
                     .protected_tags = {"latest", "stable"}};
  auto got = Decide(rule, TagsAged({{"latest", 0}, {"stable", 900}, {"x", 1}}));
  EXPECT_EQ(got["latest"], "kept: protected");
  EXPECT_EQ(got["stable"], "kept: protected");
  EXPECT_EQ(got["x"], "deleted: droptags \".*\"");

  RetentionRule newest{.repository = "*", .keep_newest = 1, .protected_tags = {"latest"}};
  got = Decide(newest, TagsAged({{"latest", 0}, {"b1", 1}, {"b0", 2}}));
  EXPECT_EQ(got["latest"], "kept: protected");
  EXPECT_EQ(got["b1"], "kept: newest 1 (#1)");
  EXPECT_EQ(got["b0"], "deleted: not among the newest 1");
}

TEST(RetentionDecide, WithoutCountOrAgeOnlyDroppedTagsGo) {
  RetentionRule rule{.repository = "*", .drop_tags = {P("^tmp-")}};
  auto got = Decide(rule, TagsAged({{"tmp-1", 0}, {"ancient", 5000}}));
  EXPECT_EQ(got["tmp-1"], "deleted: droptags \"^tmp-\"");
  EXPECT_EQ(got["ancient"], "kept: no keepnewest or keepdays limit");
}

TEST(RetentionDecide, EqualPushTimesAreOrderedByTagName) {
  RetentionRule rule{.repository = "*", .keep_newest = 2};
  auto got = Decide(rule, TagsAged({{"c", 1}, {"a", 1}, {"b", 1}}));
  EXPECT_EQ(got["a"], "kept: newest 2 (#1)");
  EXPECT_EQ(got["b"], "kept: newest 2 (#2)");
  EXPECT_EQ(got["c"], "deleted: not among the newest 2");
}

TEST(RetentionDecide, ImmutableTagsWinOverEveryRetentionRule) {
  ImmutableTags immutable({ImmutableRule{
      .name = "rel", .repository = "team/*", .tags = {P("^v")}, .exclude = {P("^v0")}}});
  RetentionRule rule{.repository = "*", .keep_newest = 0, .drop_tags = {P("^v")}};
  auto got = Decide(rule, TagsAged({{"v1", 400}, {"v0", 1}}), &immutable);
  EXPECT_EQ(got["v1"],
            "kept: immutable (immutable rule \"rel\" (repository \"team/*\", tags "
            "\"^v\", except \"^v0\"))");
  EXPECT_EQ(got["v0"], "deleted: droptags \"^v\"");
}

TEST(RetentionDecide, FirstMatchingRuleApplies) {
  std::vector<RetentionRule> rules{{.name = "a", .repository = "team/special"},
                                   {.name = "b", .repository = "team/*"}};
  EXPECT_EQ(RuleFor(rules, "team/special")->name, "a");
  EXPECT_EQ(RuleFor(rules, "team/x/y")->name, "b");
  EXPECT_EQ(RuleFor(rules, "other"), nullptr);
}

// --- runs over storage

class RetentionRun : public ::testing::Test {
 protected:
  RetentionRun()
      : clock_(SystemTime{} + kDay * 20000),
        driver_(std::make_shared<testing::ClockedDriver>(storage::driver::NewInMemoryDriver(),
                                                         clock_)) {
    storage::StackOptions o;
    o.clock = &clock_;
    ns_ = storage::NewRegistry(driver_, o);
  }

  // An image unique to `seed`, pushed under `tag` ("" for by digest) at the clock's time.
  Digest Image(const std::string& repo, const std::string& tag, int seed,
               const std::string& extra = "") {
    auto cfg = storage::testing::PushBlob(*ns_, repo, "config " + std::to_string(seed));
    auto layer = storage::testing::PushBlob(*ns_, repo, "layer " + std::to_string(seed));
    std::string body = storage::testing::ImageManifest(cfg, layer, extra);
    return Put(repo, tag, "application/vnd.oci.image.manifest.v1+json", body);
  }
  Digest Index(const std::string& repo, const std::string& tag, std::vector<Digest> children) {
    std::string list;
    for (const Digest& c : children) {
      auto m = ns_->Manifests().Read(repo, c);
      EXPECT_TRUE(m.has_value());
      list += std::string(list.empty() ? "" : ",") +
              R"({"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":")" + c.str() +
              R"(","size":)" + std::to_string(m ? m->bytes.size() : 0) + "}";
    }
    return Put(repo, tag, "application/vnd.oci.image.index.v1+json",
               R"({"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json",)"
               R"("manifests":[)" +
                   list + "]}");
  }
  // A referrer (signature-like) of `subject`, by digest.
  Digest Referrer(const std::string& repo, const Digest& subject, int seed) {
    auto m = ns_->Manifests().Read(repo, subject);
    return Image(repo, "", seed,
                 R"(,"subject":{"mediaType":"application/vnd.oci.image.manifest.v1+json",)"
                 R"("digest":")" +
                     subject.str() + R"(","size":)" + std::to_string(m ? m->bytes.size() : 0) +
                     "}");
  }
  Digest Put(const std::string& repo, const std::string& tag, const std::string& type,
             const std::string& body) {
    Reference ref;
    if (tag.empty()) {
      ref.digest = Digest::Of(body);
    } else {
      ref.tag = tag;
    }
    auto put = ns_->Manifests().Put(repo, ref, type, body);
    EXPECT_TRUE(put.has_value()) << put.error().ToString();
    return put ? put->digest : Digest();
  }

  RetentionSummary Run(RetentionRule rule, bool dry_run = false,
                       const ImmutableTags* immutable = nullptr) {
    RetentionSettings s;
    if (rule.name.empty()) rule.name = "r";
    s.rules.push_back(std::move(rule));
    RetentionOptions opt;
    opt.dry_run = dry_run;
    opt.out = [this](const std::string& line) { lines_.push_back(line); };
    auto sum = RunRetention(*ns_, *driver_, s, immutable, clock_, opt);
    EXPECT_TRUE(sum.has_value()) << sum.error().ToString();
    EXPECT_EQ(sum ? sum->errors : 1, 0u) << ::testing::PrintToString(lines_);
    return sum ? *sum : RetentionSummary{};
  }

  bool HasTag(const std::string& repo, const std::string& tag) {
    return ns_->Tags().Resolve(repo, tag).has_value();
  }
  bool HasManifest(const std::string& repo, const Digest& d) {
    return ns_->Manifests().Resolve(repo, Reference{"", d}).has_value();
  }
  bool Printed(const std::string& text) {
    for (const auto& l : lines_) {
      if (l == text) return true;
    }
    return false;
  }

  FakeClock clock_;
  std::shared_ptr<testing::ClockedDriver> driver_;
  storage::NamespacePtr ns_;
  std::vector<std::string> lines_;
};

TEST_F(RetentionRun, DeletedTagTakesItsManifestWhenNothingElseKeepsIt) {
  Digest old = Image("app", "old", 1);
  clock_.Advance(kDay);
  Digest shared = Image("app", "shared-old", 2);
  clock_.Advance(kDay);
  Digest fresh = Image("app", "new", 3);
  ASSERT_TRUE(ns_->Tags().Tag("app", "shared-new", shared).has_value());
  auto sum = Run({.repository = "app", .keep_newest = 2});
  EXPECT_EQ(sum.tags_deleted, 2u) << ::testing::PrintToString(lines_);
  EXPECT_EQ(sum.manifests_deleted, 1u);
  EXPECT_FALSE(HasTag("app", "old"));
  EXPECT_FALSE(HasManifest("app", old));
  // Its other tag keeps it.
  EXPECT_FALSE(HasTag("app", "shared-old"));
  EXPECT_TRUE(HasManifest("app", shared));
  EXPECT_TRUE(HasManifest("app", fresh));
  EXPECT_TRUE(Printed("app:old deleted: not among the newest 2 [rule \"r\"]"));
  EXPECT_TRUE(
      Printed("app@" + old.str() + " manifest deleted: its tags were deleted [rule \"r\"]"));
  // The listing the API serves is updated through the interfaces.
  auto tags = ns_->Tags().List("app");
  ASSERT_TRUE(tags.has_value());
  EXPECT_EQ(*tags, (std::vector<std::string>{"new", "shared-new"}));
}

TEST_F(RetentionRun, KeptIndexKeepsAManifestWhoseTagWasDeleted) {
  Digest child = Image("app", "child", 1);
  Digest index = Index("app", "multi", {child});
  clock_.Advance(kDay * 10);
  Run({.repository = "app", .drop_tags = {P("^child$")}});
  EXPECT_FALSE(HasTag("app", "child"));
  EXPECT_TRUE(HasManifest("app", child));
  EXPECT_TRUE(HasManifest("app", index));
  EXPECT_TRUE(
      Printed("app@" + child.str() + " manifest kept: something else keeps it [rule \"r\"]"));
}

TEST_F(RetentionRun, DeletedIndexTakesItsOldUntaggedChildrenButNotYoungOnes) {
  Digest old_child = Image("app", "", 1);
  Digest shared_child = Image("app", "", 3);
  clock_.Advance(kDay);
  Digest young_child = Image("app", "", 2);
  Digest index = Index("app", "multi", {old_child, young_child, shared_child});
  Index("app", "other", {shared_child});
  clock_.Advance(std::chrono::minutes(10));  // young_child is within the grace period
  auto sum = Run({.repository = "app", .drop_tags = {P("^multi$")}});
  EXPECT_EQ(sum.manifests_deleted, 2u) << ::testing::PrintToString(lines_);
  EXPECT_FALSE(HasManifest("app", index));
  EXPECT_FALSE(HasManifest("app", old_child));
  EXPECT_TRUE(HasManifest("app", young_child));
  EXPECT_TRUE(HasManifest("app", shared_child));  // the kept index "other" lists it
}

TEST_F(RetentionRun, ReferrersFollowTheirSubjectAndAKeptReferrerKeepsIt) {
  Digest signed_image = Image("app", "v1", 1);
  Digest sig = Referrer("app", signed_image, 10);
  Digest pinned = Image("app", "v2", 2);
  Digest sbom = Referrer("app", pinned, 11);
  ASSERT_TRUE(ns_->Tags().Tag("app", "sbom", sbom).has_value());
  clock_.Advance(kDay * 3);
  Run({.repository = "app", .drop_tags = {P("^v")}});
  EXPECT_FALSE(HasManifest("app", signed_image));
  EXPECT_FALSE(HasManifest("app", sig));
  // The tagged SBOM stays, and keeps its subject.
  EXPECT_TRUE(HasManifest("app", sbom));
  EXPECT_TRUE(HasManifest("app", pinned));
}

TEST_F(RetentionRun, UntaggedManifestsOlderThanTheLimitGo) {
  Digest old_untagged = Image("app", "", 1);
  Digest child = Image("app", "", 2);
  Index("app", "multi", {child});
  clock_.Advance(kDay * 8);
  Digest young_untagged = Image("app", "", 3);
  clock_.Advance(kDay);
  auto sum = Run({.repository = "app", .untagged_days = 7});
  EXPECT_EQ(sum.tags_deleted, 0u);
  EXPECT_EQ(sum.manifests_deleted, 1u) << ::testing::PrintToString(lines_);
  EXPECT_FALSE(HasManifest("app", old_untagged));
  EXPECT_TRUE(HasManifest("app", young_untagged));
  EXPECT_TRUE(HasManifest("app", child));  // untagged, old, but listed by a tagged index
  EXPECT_TRUE(Printed("app@" + old_untagged.str() +
                      " manifest deleted: untagged for more than 7 days [rule \"r\"]"));
}

TEST_F(RetentionRun, DryRunReportsAndDeletesNothing) {
  Digest old = Image("app", "old", 1);
  clock_.Advance(kDay);
  Image("app", "new", 2);
  auto sum = Run({.repository = "app", .keep_newest = 1}, /*dry_run=*/true);
  EXPECT_EQ(sum.tags_deleted, 1u);
  EXPECT_EQ(sum.manifests_deleted, 1u);
  EXPECT_TRUE(HasTag("app", "old"));
  EXPECT_TRUE(HasManifest("app", old));
  EXPECT_TRUE(Printed("app:old would be deleted: not among the newest 1 [rule \"r\"]"));
  EXPECT_TRUE(Printed("app@" + old.str() +
                      " manifest would be deleted: its tags were deleted [rule \"r\"]"));
}

TEST_F(RetentionRun, OnlyRepositoriesARuleMatchesAreTouched) {
  Image("team/app", "a", 1);
  Image("other", "a", 2);
  clock_.Advance(kDay);
  auto sum = Run({.repository = "team/*", .keep_newest = 0});
  EXPECT_EQ(sum.repositories, 1u);
  EXPECT_FALSE(HasTag("team/app", "a"));
  EXPECT_TRUE(HasTag("other", "a"));
}

TEST_F(RetentionRun, ImmutableTagsAreKeptThroughTheDecoratedStack) {
  auto immutable = std::make_shared<const ImmutableTags>(
      std::vector<ImmutableRule>{{.name = "rel", .repository = "*", .tags = {P("^v")}}});
  ns_ = WithImmutableTags(ns_, immutable);
  Digest v1 = Image("app", "v1", 1);
  Image("app", "tmp", 2);
  clock_.Advance(kDay);
  auto sum = Run({.repository = "*", .keep_newest = 0}, false, immutable.get());
  EXPECT_EQ(sum.tags_deleted, 1u);
  EXPECT_TRUE(HasTag("app", "v1"));
  EXPECT_TRUE(HasManifest("app", v1));
  EXPECT_FALSE(HasTag("app", "tmp"));
}

}  // namespace
}  // namespace berth::policy
