// Immutable tags through the HTTP API (berth.immutable): moving, deleting a covered tag, or
// deleting the manifest it points at, is 403 DENIED in the OCI envelope naming the rule; the same
// digest again, uncovered tags and other repositories behave as without rules.

#include <gtest/gtest.h>

#include <string>

#include "test/api/api_test_util.h"

namespace berth::testing {
namespace {

class Immutable : public ApiTest {
 protected:
  TestServerOptions ServerOptions() const override {
    return WithYaml(R"(berth:
  immutable:
    rules:
      - name: releases
        repository: "release/*"
        tags: ['^v[0-9]+\.[0-9]+\.[0-9]+$']
        exclude: ['^v0\.']
)");
  }

  Response Put(std::string_view repo, std::string_view ref, const PushedImage& image) {
    return c().Request("PUT", "/v2/" + std::string(repo) + "/manifests/" + std::string(ref),
                       image.manifest, {{"Content-Type", image.media_type}});
  }
  Response Delete(std::string_view repo, std::string_view ref) {
    return c().Request("DELETE", "/v2/" + std::string(repo) + "/manifests/" + std::string(ref));
  }
  std::string TagDigest(std::string_view repo, std::string_view tag) {
    return c()
        .Request("HEAD", "/v2/" + std::string(repo) + "/manifests/" + std::string(tag), {},
                 {{"Accept", std::string(kOciManifest)}})
        .Header("Docker-Content-Digest");
  }
  // The first error's message names the rule.
  static void ExpectNamesRule(const Response& r) {
    auto body = JsonBody(r);
    ASSERT_TRUE(body.has_value());
    std::string message = (*body)["errors"][0]["message"].get<std::string>();
    EXPECT_NE(message.find("immutable rule \"releases\" (repository \"release/*\""),
              std::string::npos)
        << message;
  }
};

TEST_F(Immutable, MovingACoveredTagIsDenied) {
  PushedImage v1 = PushImage(c(), "release/app", "v1.0.0", 1);
  PushedImage other = PushImage(c(), "release/app", "", 2);
  Response r = Put("release/app", "v1.0.0", other);
  EXPECT_ERROR(r, 403, "DENIED");
  ExpectNamesRule(r);
  EXPECT_EQ(TagDigest("release/app", "v1.0.0"), v1.digest);
}

TEST_F(Immutable, PuttingTheSameDigestAgainIsAccepted) {
  PushedImage v1 = PushImage(c(), "release/app", "v1.0.0", 1);
  Response r = Put("release/app", "v1.0.0", v1);
  EXPECT_STATUS(r, 201);
  EXPECT_EQ(r.Header("Docker-Content-Digest"), v1.digest);
}

TEST_F(Immutable, DeletingACoveredTagOrItsManifestIsDenied) {
  PushedImage v1 = PushImage(c(), "release/app", "v1.0.0", 1);
  Response by_tag = Delete("release/app", "v1.0.0");
  EXPECT_ERROR(by_tag, 403, "DENIED");
  ExpectNamesRule(by_tag);
  Response by_digest = Delete("release/app", v1.digest);
  EXPECT_ERROR(by_digest, 403, "DENIED");
  ExpectNamesRule(by_digest);
  EXPECT_EQ(TagDigest("release/app", "v1.0.0"), v1.digest);
}

TEST_F(Immutable, UncoveredTagsAndRepositoriesStayMutable) {
  PushedImage a = PushImage(c(), "release/app", "latest", 1);
  PushedImage b = PushImage(c(), "release/app", "", 2);
  EXPECT_STATUS(Put("release/app", "latest", b), 201);
  EXPECT_STATUS(Put("release/app", "v0.1.0", a), 201);  // excluded
  EXPECT_STATUS(Put("release/app", "v0.1.0", b), 201);
  EXPECT_STATUS(Put("release/app", "v1.0.0-rc1", a), 201);  // not matched by the pattern
  EXPECT_STATUS(Put("release/app", "v1.0.0-rc1", b), 201);
  EXPECT_STATUS(Delete("release/app", "v1.0.0-rc1"), 202);
  PushImage(c(), "staging/app", "v1.0.0", 3);  // another repository
  PushedImage d = PushImage(c(), "staging/app", "", 4);
  EXPECT_STATUS(Put("staging/app", "v1.0.0", d), 201);
  EXPECT_STATUS(Delete("staging/app", d.digest), 202);
}

TEST_F(Immutable, ABadRuleStopsStartUpNamingTheKey) {
  auto loaded = config::Load(
      "version: 0.1\nstorage: inmemory\nberth:\n  immutable:\n    rules:\n      - repository: a\n"
      "        tags: ['[']\n",
      {});
  ASSERT_TRUE(loaded.has_value());
  auto app = cli::App::Create(loaded->config);
  ASSERT_FALSE(app.has_value());
  EXPECT_EQ(app.error().message.substr(0, 58),
            "berth.immutable.rules.0.tags.0: invalid regular expression");
}

}  // namespace
}  // namespace berth::testing
