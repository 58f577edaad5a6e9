#include "api/router.h"

#include <gtest/gtest.h>

namespace berth::api {
namespace {

using auth::Access;

Access Repo(const char* name, const char* action) { return Access{"repository", name, action}; }

std::string Show(const std::vector<Access>& v) {
  std::string out;
  for (const auto& a : v) out += a.type + ":" + a.name + ":" + a.action + " ";
  return out;
}

TEST(Router, MatchesEveryEndpoint) {
  struct Case {
    const char* method;
    const char* path;
    RouteKind kind;
    const char* name;
    const char* arg;
  };
  const Case cases[] = {
      {"GET", "/v2/", RouteKind::kBase, "", ""},
      {"GET", "/v2", RouteKind::kBase, "", ""},
      {"GET", "/v2/_catalog", RouteKind::kCatalog, "", ""},
      {"GET", "/v2/a/b/tags/list", RouteKind::kTags, "a/b", ""},
      {"GET", "/v2/a/manifests/latest", RouteKind::kManifest, "a", "latest"},
      {"PUT", "/v2/a/manifests/b/manifests/v1", RouteKind::kManifest, "a/manifests/b", "v1"},
      {"GET", "/v2/a/blobs/sha256:x", RouteKind::kBlob, "a", "sha256:x"},
      {"POST", "/v2/a/blobs/uploads/", RouteKind::kUploadStart, "a", ""},
      {"POST", "/v2/a/blobs/uploads", RouteKind::kUploadStart, "a", ""},
      {"PATCH", "/v2/a/blobs/uploads/123-abc", RouteKind::kUpload, "a", "123-abc"},
      {"GET", "/v2/a/referrers/sha256:x", RouteKind::kReferrers, "a", "sha256:x"},
      {"GET", "/v1/search", RouteKind::kSearch, "", ""},
      {"GET", "/v1/_ping", RouteKind::kPing, "", ""},
      {"POST", "/auth/token", RouteKind::kToken, "", ""},
      {"GET", "/v3/", RouteKind::kNotFound, "", ""},
      {"GET", "/v2/a", RouteKind::kNotFound, "", ""},
      {"GET", "/v2/a/tags/list/", RouteKind::kNotFound, "", ""},
  };
  for (const auto& c : cases) {
    auto r = MatchRoute(c.method, c.path, "/");
    ASSERT_TRUE(r.has_value()) << c.path;
    EXPECT_EQ(r->route.kind, c.kind) << c.path;
    EXPECT_EQ(r->route.name, c.name) << c.path;
    EXPECT_EQ(r->route.arg, c.arg) << c.path;
    EXPECT_EQ(r->spec != nullptr, c.kind != RouteKind::kNotFound) << c.path;
  }
}

TEST(Router, MethodOutsideTheRowIsUnmatchedWithTheAllowedList) {
  auto r = MatchRoute("POST", "/v2/a/manifests/latest", "/");
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->route.kind, RouteKind::kManifest);
  EXPECT_EQ(r->spec, nullptr);
  EXPECT_EQ(r->allowed, (std::vector<std::string_view>{"GET", "HEAD", "PUT", "DELETE"}));
}

TEST(Router, PrefixIsRequired) {
  EXPECT_EQ(MatchRoute("GET", "/registry/v2/a/tags/list", "/registry/")->route.kind,
            RouteKind::kTags);
  EXPECT_EQ(MatchRoute("GET", "/v2/a/tags/list", "/registry/")->route.kind, RouteKind::kNotFound);
}

TEST(Router, BadNamesAreNameInvalid) {
  for (const char* p : {"/v2/Foo/tags/list", "/v2/a/../b/tags/list", "/v2/a//b/tags/list",
                        "/v2/a%2F..%2Fb/tags/list", "/v2/app%2F..%2Fsystem%2Fcore/manifests/x",
                        "/v2//manifests/x", "/v2/a%zz/tags/list"}) {
    auto r = MatchRoute("GET", p, "/");
    ASSERT_FALSE(r.has_value()) << p;
    EXPECT_EQ(r.error().code, ErrorCode::kNameInvalid) << p;
  }
}

// Every row of the table, with the accesses it needs.
TEST(Router, EveryRouteNeedsItsAccessList) {
  const Access catalog{"registry", "catalog", "*"};
  struct Case {
    const char* method;
    const char* target;
    std::vector<Access> required;
    bool authenticate;
  };
  const std::vector<Case> cases = {
      {"GET", "/v2/", {}, true},
      {"HEAD", "/v2/", {}, true},
      {"GET", "/v1/_ping", {}, true},
      {"GET", "/v1/search?q=x", {}, true},
      {"GET", "/auth/token?scope=repository:a:push", {}, false},
      {"POST", "/auth/token", {}, false},
      {"GET", "/v2/_catalog", {catalog}, true},
      {"GET", "/v2/a/b/tags/list", {Repo("a/b", "pull")}, true},
      {"GET", "/v2/a/manifests/t", {Repo("a", "pull")}, true},
      {"HEAD", "/v2/a/manifests/t", {Repo("a", "pull")}, true},
      {"PUT", "/v2/a/manifests/t", {Repo("a", "pull"), Repo("a", "push")}, true},
      {"DELETE", "/v2/a/manifests/t", {Repo("a", "delete")}, true},
      {"GET", "/v2/a/referrers/sha256:x", {Repo("a", "pull")}, true},
      {"POST", "/v2/a/blobs/uploads/", {Repo("a", "pull"), Repo("a", "push")}, true},
      {"GET", "/v2/a/blobs/uploads/u", {Repo("a", "pull"), Repo("a", "push")}, true},
      {"PATCH", "/v2/a/blobs/uploads/u", {Repo("a", "pull"), Repo("a", "push")}, true},
      {"PUT", "/v2/a/blobs/uploads/u?digest=x", {Repo("a", "pull"), Repo("a", "push")}, true},
      {"DELETE", "/v2/a/blobs/uploads/u", {Repo("a", "pull"), Repo("a", "push")}, true},
      {"GET", "/v2/a/blobs/sha256:x", {Repo("a", "pull")}, true},
      {"DELETE", "/v2/a/blobs/sha256:x", {Repo("a", "delete")}, true},
      // unknown endpoints and methods still authenticate
      {"GET", "/v2/a/nothing", {}, true},
      {"POST", "/v2/a/manifests/t", {}, true},
  };
  for (const auto& c : cases) {
    std::string_view target = c.target;
    auto q = target.find('?');
    auto needed = AccessFor(c.method, target.substr(0, q),
                            q == std::string_view::npos ? "" : target.substr(q + 1));
    ASSERT_TRUE(needed.has_value()) << c.method << " " << c.target;
    EXPECT_EQ(needed->required, c.required)
        << c.method << " " << c.target << ": got " << Show(needed->required);
    EXPECT_EQ(needed->authenticate, c.authenticate) << c.method << " " << c.target;
    EXPECT_TRUE(needed->optional.empty()) << c.method << " " << c.target;
  }
}

// The mount source is read from the decoded query, the same one the handler reads: an encoded
// parameter name is still `from`.
TEST(Router, MountSourceIsFoundUnderEncodedParameterNames) {
  for (const char* query : {"mount=sha256:x&from=secret/x", "mount=sha256:x&fro%6D=secret/x",
                            "mount=sha256:x&%66rom=secret/x", "%6Dount=sha256:x&from=secret%2Fx"}) {
    auto needed = AccessFor("POST", "/v2/app/z/blobs/uploads/", query);
    ASSERT_TRUE(needed.has_value()) << query;
    EXPECT_EQ(needed->required, (std::vector<Access>{Repo("app/z", "pull"), Repo("app/z", "push")}))
        << query;
    EXPECT_EQ(needed->optional, (std::vector<Access>{Repo("secret/x", "pull")})) << query;
  }
}

TEST(Router, MountWithoutFromOrWithABadSourceAsksNothingMore) {
  for (const char* query :
       {"mount=sha256:x", "from=secret/x", "mount=sha256:x&from=Bad/..", "mount=sha256:x&from="}) {
    auto needed = AccessFor("POST", "/v2/app/z/blobs/uploads/", query);
    ASSERT_TRUE(needed.has_value()) << query;
    EXPECT_TRUE(needed->optional.empty()) << query << ": " << Show(needed->optional);
  }
}

// `from=a&from=b` is refused: checking one and using the other is the bug class this prevents.
TEST(Router, RepeatedParametersAreRefused) {
  for (const char* query : {"mount=sha256:x&from=a&from=b", "mount=sha256:x&from=a&fro%6D=b",
                            "digest=sha256:a&digest=sha256:b", "n=1&n=2"}) {
    auto needed = AccessFor("POST", "/v2/app/z/blobs/uploads/", query);
    ASSERT_FALSE(needed.has_value()) << query;
    EXPECT_EQ(needed.error().code, ErrorCode::kUnsupported) << query;
    EXPECT_EQ(needed.error().HttpStatus(), 400) << query;
  }
  // the token endpoint's scope may repeat (Docker's token spec)
  auto q = Query::Parse("scope=repository:a:pull&scope=repository:b:pull&service=x");
  ASSERT_TRUE(q.has_value());
  EXPECT_EQ(q->GetAll("scope").size(), 2u);
}

TEST(Router, QueryDecodesNamesAndValuesOnce) {
  auto q = Query::Parse("l%61st=a%2Fb&n=%35&empty&plus=a+b");
  ASSERT_TRUE(q.has_value());
  EXPECT_EQ(q->Get("last"), "a/b");
  EXPECT_EQ(q->Get("n"), "5");
  EXPECT_EQ(q->Get("empty"), "");
  EXPECT_EQ(q->Get("plus"), "a b");
  EXPECT_EQ(q->Get("l%61st"), std::nullopt);
  EXPECT_FALSE(Query::Parse("from=%zz").has_value());
  EXPECT_FALSE(Query::Parse("%zz=1").has_value());
}

}  // namespace
}  // namespace berth::api
