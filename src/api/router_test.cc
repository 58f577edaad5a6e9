#include "api/router.h"

#include <gtest/gtest.h>

namespace berth::api {
namespace {

TEST(Router, MatchesEveryEndpoint) {
  struct Case { const char* path; RouteKind kind; const char* name; const char* arg; };
  const Case cases[] = {
      {"/v2/", RouteKind::kBase, "", ""},
      {"/v2", RouteKind::kBase, "", ""},
      {"/v2/_catalog", RouteKind::kCatalog, "", ""},
      {"/v2/a/b/tags/list", RouteKind::kTags, "a/b", ""},
      {"/v2/a/manifests/latest", RouteKind::kManifest, "a", "latest"},
      {"/v2/a/manifests/b/manifests/v1", RouteKind::kManifest, "a/manifests/b", "v1"},
      {"/v2/a/blobs/sha256:x", RouteKind::kBlob, "a", "sha256:x"},
      {"/v2/a/blobs/uploads/", RouteKind::kUploadStart, "a", ""},
      {"/v2/a/blobs/uploads", RouteKind::kUploadStart, "a", ""},
      {"/v2/a/blobs/uploads/123-abc", RouteKind::kUpload, "a", "123-abc"},
      {"/v2/a/referrers/sha256:x", RouteKind::kReferrers, "a", "sha256:x"},
      {"/v1/search", RouteKind::kSearch, "", ""},
      {"/v3/", RouteKind::kNotFound, "", ""},
      {"/v2/a", RouteKind::kNotFound, "", ""},
  };
  for (const auto& c : cases) {
    auto r = MatchRoute(c.path, "/");
    ASSERT_TRUE(r.has_value()) << c.path;
    EXPECT_EQ(r->kind, c.kind) << c.path;
    EXPECT_EQ(r->name, c.name) << c.path;
    EXPECT_EQ(r->arg, c.arg) << c.path;
  }
}

TEST(Router, PrefixIsRequired) {
  EXPECT_EQ(MatchRoute("/registry/v2/a/tags/list", "/registry/")->kind, RouteKind::kTags);
  EXPECT_EQ(MatchRoute("/v2/a/tags/list", "/registry/")->kind, RouteKind::kNotFound);
}

TEST(Router, BadNamesAreNameInvalid) {
  for (const char* p : {"/v2/Foo/tags/list", "/v2/a/../b/tags/list", "/v2/a//b/tags/list",
                        "/v2/a%2F..%2Fb/tags/list", "/v2/app%2F..%2Fsystem%2Fcore/manifests/x",
                        "/v2//manifests/x", "/v2/a%zz/tags/list"}) {
    auto r = MatchRoute(p, "/");
    ASSERT_FALSE(r.has_value()) << p;
    EXPECT_EQ(r.error().code, ErrorCode::kNameInvalid) << p;
  }
}

}  // namespace
}  // namespace berth::api
