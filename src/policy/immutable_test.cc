// The immutable-tags decorator over a real storage stack: which tags a rule covers, and which
// changes it refuses (DENIED naming the rule) or lets through.
#include "policy/immutable.h"

#include <gtest/gtest.h>

#include "storage/factory.h"
#include "storage/storage_testing.h"

namespace berth::policy {
namespace {

TagPattern P(const std::string& re) { return *TagPattern::Compile(re, "test"); }

TEST(ImmutableTags, CoveringFollowsGlobTagsAndExclusions) {
  ImmutableTags rules({
      {.name = "semver", .repository = "release/*", .tags = {P(R"(^v[0-9]+\.[0-9]+\.[0-9]+$)")}},
      {.name = "all-but-latest", .repository = "frozen", .exclude = {P("^latest$")}},
  });
  EXPECT_EQ(rules.Covering("release/app", "v1.2.3")->name, "semver");
  EXPECT_EQ(rules.Covering("release/a/b", "v1.2.3")->name, "semver");
  EXPECT_EQ(rules.Covering("release/app", "v1.2.3-rc1"), nullptr);
  EXPECT_EQ(rules.Covering("release", "v1.2.3"), nullptr);
  EXPECT_EQ(rules.Covering("other/app", "v1.2.3"), nullptr);
  EXPECT_EQ(rules.Covering("frozen", "anything")->name, "all-but-latest");
  EXPECT_EQ(rules.Covering("frozen", "latest"), nullptr);
  EXPECT_TRUE(rules.CoversRepository("frozen"));
  EXPECT_FALSE(rules.CoversRepository("frozen/x"));
}

class ImmutableStore : public ::testing::Test {
 protected:
  ImmutableStore() {
    auto rules = std::make_shared<const ImmutableTags>(std::vector<ImmutableRule>{
        {.name = "releases", .repository = "rel/*", .tags = {P("^v")}, .exclude = {P("^v0")}}});
    inner_ = storage::NewRegistry(storage::driver::NewInMemoryDriver());
    ns_ = WithImmutableTags(inner_, rules);
  }

  std::string Manifest(int seed) {
    auto cfg = storage::testing::PushBlob(*ns_, "rel/app", "config " + std::to_string(seed));
    auto layer = storage::testing::PushBlob(*ns_, "rel/app", "layer " + std::to_string(seed));
    return storage::testing::ImageManifest(cfg, layer);
  }
  Result<storage::PutManifestResult> Put(const std::string& tag, const std::string& body) {
    return ns_->Manifests().Put("rel/app", Reference{tag, {}}, storage::kOciManifest, body);
  }
  static void ExpectDenied(const Status& st, const std::string& start) {
    ASSERT_FALSE(st.has_value());
    EXPECT_EQ(st.error().code, ErrorCode::kDenied);
    EXPECT_EQ(st.error().HttpStatus(), 403);
    EXPECT_EQ(st.error().message.substr(0, start.size()), start) << st.error().message;
    EXPECT_NE(st.error().message.find("immutable rule \"releases\" (repository \"rel/*\", tags "
                                      "\"^v\", except \"^v0\")"),
              std::string::npos)
        << st.error().message;
  }

  storage::NamespacePtr inner_;
  storage::NamespacePtr ns_;
};

TEST_F(ImmutableStore, MovingACoveredTagIsDenied) {
  std::string a = Manifest(1), b = Manifest(2);
  auto first = Put("v1", a);
  ASSERT_TRUE(first.has_value()) << first.error().ToString();
  auto moved = Put("v1", b);
  ASSERT_FALSE(moved.has_value());
  ExpectDenied(std::unexpected(moved.error()),
               "tag \"v1\" of repository \"rel/app\" is immutable: it points at " +
                   first->digest.str() + " and cannot be moved to " + Digest::Of(b).str());
  // Through the tag service too (and the tag still points where it did).
  auto by_digest =
      ns_->Manifests().Put("rel/app", Reference{"", Digest::Of(b)}, storage::kOciManifest, b);
  ASSERT_TRUE(by_digest.has_value());
  ExpectDenied(ns_->Tags().Tag("rel/app", "v1", by_digest->digest), "tag \"v1\"");
  EXPECT_EQ(*ns_->Tags().Resolve("rel/app", "v1"), first->digest);
}

TEST_F(ImmutableStore, PuttingTheSameDigestAgainIsAccepted) {
  std::string a = Manifest(1);
  ASSERT_TRUE(Put("v1", a).has_value());
  auto again = Put("v1", a);
  EXPECT_TRUE(again.has_value()) << again.error().ToString();
  EXPECT_TRUE(ns_->Tags().Tag("rel/app", "v1", Digest::Of(a)).has_value());
}

TEST_F(ImmutableStore, DeletingACoveredTagOrItsManifestIsDenied) {
  std::string a = Manifest(1);
  ASSERT_TRUE(Put("v1", a).has_value());
  ExpectDenied(ns_->Tags().Untag("rel/app", "v1"), "tag \"v1\" of repository \"rel/app\"");
  ExpectDenied(ns_->Manifests().Delete("rel/app", Digest::Of(a)),
               "manifest " + Digest::Of(a).str() +
                   " of repository \"rel/app\" is what immutable tag \"v1\" points at");
  EXPECT_TRUE(ns_->Tags().Resolve("rel/app", "v1").has_value());
  EXPECT_TRUE(ns_->Manifests().Resolve("rel/app", Reference{"", Digest::Of(a)}).has_value());
  // An absent covered tag is simply unknown.
  auto absent = ns_->Tags().Untag("rel/app", "v9");
  ASSERT_FALSE(absent.has_value());
  EXPECT_EQ(absent.error().code, ErrorCode::kManifestUnknown);
}

TEST_F(ImmutableStore, UncoveredTagsAndRepositoriesStayMutable) {
  std::string a = Manifest(1), b = Manifest(2);
  for (const std::string tag : {"latest", "v0.1", "dev"}) {
    ASSERT_TRUE(Put(tag, a).has_value());
    EXPECT_TRUE(Put(tag, b).has_value()) << tag;
    EXPECT_TRUE(ns_->Tags().Untag("rel/app", tag).has_value()) << tag;
  }
  ASSERT_TRUE(Put("dev", a).has_value());
  EXPECT_TRUE(ns_->Manifests().Delete("rel/app", Digest::Of(a)).has_value());
}

TEST_F(ImmutableStore, WithoutRulesTheStackIsUnchanged) {
  EXPECT_EQ(WithImmutableTags(inner_,
                              std::make_shared<const ImmutableTags>(std::vector<ImmutableRule>{})),
            inner_);
}

}  // namespace
}  // namespace berth::policy
