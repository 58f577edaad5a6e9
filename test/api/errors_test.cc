// Request validation that cuts across endpoints: digests, repository names, routes, methods, and
// the shape of every error response.

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "test/api/api_test_util.h"

namespace berth::testing {
namespace {

using Errors = ApiTest;

const std::string kBadDigest = "sha256:totallywrong";

TEST_F(Errors, MalformedDigestIsDigestInvalidOnEveryEndpoint) {
  PushImage(c(), "lib/app", "v1", 1);
  struct Case {
    std::string method, target;
  };
  std::vector<Case> cases = {
      {"GET", "/v2/lib/app/blobs/" + kBadDigest},
      {"DELETE", "/v2/lib/app/blobs/" + kBadDigest},
      {"DELETE", "/v2/lib/app/manifests/" + kBadDigest},
      {"GET", "/v2/lib/app/referrers/" + kBadDigest},
      {"POST", "/v2/lib/app/blobs/uploads/?digest=" + kBadDigest},
      {"GET", "/v2/lib/app/blobs/sha256:" + std::string(63, 'a')},
      {"GET", "/v2/lib/app/blobs/sha256:" + std::string(64, 'A')},
      {"GET", "/v2/lib/app/blobs/sha512:" + std::string(64, 'a')},
  };
  for (const Case& k : cases) {
    Response r = c().Request(k.method, k.target);
    EXPECT_ERROR(r, 400, "DIGEST_INVALID") << k.method << " " << k.target;
  }
  // GET of a manifest by a malformed digest names nothing: 404, as registry:2 (safety_test.cc).
  EXPECT_ERROR(c().Request("GET", "/v2/lib/app/manifests/" + kBadDigest), 404, "MANIFEST_UNKNOWN");
  // HEAD has no body, but must still be a 400, not a 404 or 500.
  EXPECT_STATUS(c().Request("HEAD", "/v2/lib/app/blobs/" + kBadDigest), 400);
}

TEST_F(Errors, MalformedDigestInManifestPutIsDigestInvalid) {
  PushedImage img = PushImage(c(), "lib/app", "v1", 2);
  Response r = c().Request("PUT", "/v2/lib/app/manifests/" + kBadDigest, img.manifest,
                           {{"Content-Type", std::string(kOciManifest)}});
  EXPECT_ERROR(r, 400, "DIGEST_INVALID");
}

TEST_F(Errors, MalformedDigestInsideManifestIsRejected) {
  std::string config = "{}";
  PushBlob(c(), "lib/app", config);
  std::string m =
      nlohmann::json{{"schemaVersion", 2},
                     {"mediaType", kOciManifest},
                     {"config", DescriptorOf(kOciConfig, config)},
                     {"layers", {{{"mediaType", kOciLayer}, {"digest", kBadDigest}, {"size", 1}}}}}
          .dump();
  Response r = c().Request("PUT", "/v2/lib/app/manifests/v1", m,
                           {{"Content-Type", std::string(kOciManifest)}});
  EXPECT_ERROR(r, 400, "DIGEST_INVALID", "MANIFEST_INVALID", "MANIFEST_BLOB_UNKNOWN");
}

TEST_F(Errors, MalformedMountDigestFallsBackOrIsDigestInvalid) {
  Response r =
      c().Request("POST", "/v2/lib/app/blobs/uploads/?mount=" + kBadDigest + "&from=lib/x");
  // The spec lets a failed mount fall back to a plain upload; a 400 DIGEST_INVALID is fine too.
  if (r.status == 202) {
    EXPECT_FALSE(r.Header("Location").empty());
  } else {
    EXPECT_ERROR(r, 400, "DIGEST_INVALID");
  }
}

TEST_F(Errors, UppercaseRepositoryIsNameInvalid) {
  EXPECT_ERROR(c().Request("GET", "/v2/Foo/bar/tags/list"), 400, "NAME_INVALID");
  EXPECT_ERROR(c().Request("POST", "/v2/Foo/bar/blobs/uploads/"), 400, "NAME_INVALID");
}

TEST_F(Errors, DotDotRepositoryIsNameInvalid) {
  EXPECT_ERROR(c().Request("GET", "/v2/a/../b/manifests/latest"), 400, "NAME_INVALID");
  EXPECT_ERROR(c().Request("POST", "/v2/a/../b/blobs/uploads/"), 400, "NAME_INVALID");
  EXPECT_ERROR(c().Request("GET", "/v2/../etc/tags/list"), 400, "NAME_INVALID");
}

TEST_F(Errors, EmptyPathComponentIsNameInvalid) {
  EXPECT_ERROR(c().Request("GET", "/v2/a//b/tags/list"), 400, "NAME_INVALID");
  EXPECT_ERROR(c().Request("POST", "/v2/a//b/blobs/uploads/"), 400, "NAME_INVALID");
}

TEST_F(Errors, EncodedSlashRepositoryIsNameInvalid) {
  EXPECT_ERROR(c().Request("GET", "/v2/a%2F..%2Fb/tags/list"), 400, "NAME_INVALID");
  EXPECT_ERROR(c().Request("POST", "/v2/a%2F..%2Fb/blobs/uploads/"), 400, "NAME_INVALID");
}

TEST_F(Errors, OtherBadRepositoryNamesAreNameInvalid) {
  for (std::string name : {"-lead", "trail-", "a..b", "a__b_", ".hidden", "a/.b", "a/b/"}) {
    Response r = c().Request("GET", "/v2/" + name + "/tags/list");
    EXPECT_ERROR(r, 400, "NAME_INVALID") << name;
  }
}

TEST_F(Errors, RepositoryNameOver255CharactersIsNameInvalid) {
  std::string name =
      std::string(100, 'a') + "/" + std::string(100, 'b') + "/" + std::string(54, 'c');
  ASSERT_EQ(name.size(), 256u);
  EXPECT_ERROR(c().Request("POST", "/v2/" + name + "/blobs/uploads/"), 400, "NAME_INVALID");
  name.pop_back();  // 255 is allowed
  EXPECT_STATUS(c().Request("POST", "/v2/" + name + "/blobs/uploads/"), 202);
}

TEST_F(Errors, ValidUnusualRepositoryNamesAreAccepted) {
  for (std::string name : {"a", "a-b", "a__b", "a.b", "a_b/c-d/e.f", "0/1/2/3/4"}) {
    std::string d = PushBlob(c(), name, "name " + name);
    EXPECT_STATUS(c().Request("GET", "/v2/" + name + "/blobs/" + d), 200);
  }
}

TEST_F(Errors, UnknownRoutesAre404) {
  for (std::string target : {"/v2/lib/app/nothing", "/v2/lib/app/tags", "/v3/", "/v2/lib/app"}) {
    Response r = c().Request("GET", target);
    EXPECT_EQ(r.status, 404) << target << ": " << Describe(r);
  }
}

TEST_F(Errors, UnknownRouteUnderV2HasAnErrorEnvelope) {
  Response r = c().Request("GET", "/v2/lib/app/nothing");
  ASSERT_EQ(r.status, 404) << Describe(r);
  EXPECT_TRUE(r.Header("Content-Type").starts_with("application/json")) << Describe(r);
  EXPECT_FALSE(ErrorCode(r).empty()) << Describe(r);
}

TEST_F(Errors, WrongMethodOnAKnownRouteIs405WithAnErrorBody) {
  PushedImage img = PushImage(c(), "lib/app", "v1", 3);
  struct Case {
    std::string method, target;
  };
  std::vector<Case> cases = {
      {"POST", "/v2/lib/app/tags/list"},
      {"PUT", "/v2/lib/app/blobs/" + Sha256(img.layer)},
      {"PATCH", "/v2/lib/app/manifests/v1"},
      {"POST", "/v2/lib/app/manifests/v1"},
      {"DELETE", "/v2/_catalog"},
      {"PUT", "/v2/lib/app/referrers/" + img.digest},
  };
  for (const Case& k : cases) {
    Response r = c().Request(k.method, k.target);
    EXPECT_EQ(r.status, 405) << k.method << " " << k.target << ": " << Describe(r);
    EXPECT_TRUE(r.Header("Content-Type").starts_with("application/json"))
        << k.method << " " << k.target << ": " << Describe(r);
    EXPECT_FALSE(ErrorCode(r).empty()) << k.method << " " << k.target << ": " << Describe(r);
  }
}

TEST_F(Errors, EveryErrorIsAJsonEnvelope) {
  PushImage(c(), "lib/app", "v1", 4);
  struct Case {
    std::string method, target, body;
    int status;
    const char* code;
  };
  std::vector<Case> cases = {
      {"GET", "/v2/lib/app/blobs/" + Sha256("x"), "", 404, "BLOB_UNKNOWN"},
      {"GET", "/v2/lib/app/manifests/nope", "", 404, "MANIFEST_UNKNOWN"},
      {"GET", "/v2/nope/tags/list", "", 404, "NAME_UNKNOWN"},
      {"GET", "/v2/lib/app/blobs/uploads/nope", "", 404, "BLOB_UPLOAD_UNKNOWN"},
      {"PUT", "/v2/lib/app/manifests/v2", "{", 400, "MANIFEST_INVALID"},
      {"GET", "/v2/Bad/tags/list", "", 400, "NAME_INVALID"},
      {"GET", "/v2/lib/app/tags/list?n=-5", "", 400, "PAGINATION_NUMBER_INVALID"},
  };
  for (const Case& k : cases) {
    HeaderList h;
    if (k.method == "PUT") h = {{"Content-Type", std::string(kOciManifest)}};
    Response r = c().Request(k.method, k.target, k.body, h);
    EXPECT_ERROR(r, k.status, k.code) << k.method << " " << k.target;
    EXPECT_EQ(r.Header("Content-Length"), std::to_string(r.body.size()))
        << k.method << " " << k.target;
  }
}

}  // namespace
}  // namespace berth::testing
