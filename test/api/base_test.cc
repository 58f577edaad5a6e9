// GET /v2/, keep-alive, and configuration that shapes every response (http.headers, http.prefix).

#include <gtest/gtest.h>

#include "test/api/api_test_util.h"

namespace berth::testing {
namespace {

using Base = ApiTest;
using Config = ApiTest;

TEST_F(Base, VersionCheckIs200WithApiVersionHeader) {
  Response r = c().Request("GET", "/v2/");
  EXPECT_STATUS(r, 200);
  EXPECT_EQ(r.Header("Docker-Distribution-API-Version"), "registry/2.0");
}

TEST_F(Base, VersionCheckWithoutTrailingSlashIsServed) {
  // Distribution serves /v2 as well as /v2/ (some clients probe without the slash).
  Response r = c().Request("GET", "/v2");
  EXPECT_TRUE(r.status == 200 || r.status == 301 || r.status == 307 || r.status == 308)
      << Describe(r);
}

TEST_F(Base, HeadVersionCheckHasNoBody) {
  Response r = c().Request("HEAD", "/v2/");
  EXPECT_STATUS(r, 200);
  EXPECT_EQ(r.Header("Docker-Distribution-API-Version"), "registry/2.0");
  // The connection stays usable: a HEAD reply carries no body bytes to trip the next read.
  Response again = c().Request("GET", "/v2/");
  EXPECT_STATUS(again, 200);
}

TEST_F(Base, KeepAliveServesManyRequestsOnOneConnection) {
  for (int i = 0; i < 20; ++i) {
    Response r = c().Request("GET", "/v2/");
    ASSERT_STATUS(r, 200);
  }
  EXPECT_EQ(c().connects(), 1);
}

TEST_F(Base, KeepAliveSurvivesErrorResponses) {
  Response miss = c().Request("GET", "/v2/nothing/manifests/latest");
  EXPECT_EQ(miss.status, 404) << Describe(miss);
  Response ok = c().Request("GET", "/v2/");
  EXPECT_STATUS(ok, 200);
  EXPECT_EQ(c().connects(), 1);
}

TEST_F(Config, CustomHeadersAppearOnResponses) {
  ASSERT_TRUE(Restart(WithYaml(
      "http:\n  headers:\n    X-Content-Type-Options: [nosniff]\n    X-Berth-Test: [a]\n")));
  Response r = c().Request("GET", "/v2/");
  EXPECT_STATUS(r, 200);
  EXPECT_EQ(r.Header("X-Content-Type-Options"), "nosniff");
  EXPECT_EQ(r.Header("X-Berth-Test"), "a");
  // Errors carry them too.
  Response miss = c().Request("GET", "/v2/nothing/blobs/" + Sha256("nope"));
  EXPECT_EQ(miss.status, 404) << Describe(miss);
  EXPECT_EQ(miss.Header("X-Content-Type-Options"), "nosniff");
}

TEST_F(Config, PrefixServesApiUnderPrefix) {
  ASSERT_TRUE(Restart(WithYaml("http:\n  prefix: /registry/\n")));
  Response base = c().Request("GET", "/registry/v2/");
  EXPECT_STATUS(base, 200);
  EXPECT_EQ(base.Header("Docker-Distribution-API-Version"), "registry/2.0");

  // An upload under the prefix: the Location points back under the prefix.
  Response start = c().Request("POST", "/registry/v2/pre/app/blobs/uploads/");
  ASSERT_STATUS(start, 202);
  std::string loc = PathOf(start.Header("Location"));
  EXPECT_TRUE(loc.starts_with("/registry/v2/pre/app/blobs/uploads/")) << loc;
  std::string data = "prefixed blob";
  Response put = c().Request("PUT", WithQuery(loc, "digest=" + Sha256(data)), data);
  ASSERT_STATUS(put, 201);
  EXPECT_EQ(PathOf(put.Header("Location")), "/registry/v2/pre/app/blobs/" + Sha256(data));
  Response get = c().Request("GET", "/registry/v2/pre/app/blobs/" + Sha256(data));
  EXPECT_STATUS(get, 200);
  EXPECT_EQ(get.body, data);
}

TEST_F(Config, PrefixHidesUnprefixedApi) {
  ASSERT_TRUE(Restart(WithYaml("http:\n  prefix: /registry/\n")));
  Response r = c().Request("GET", "/v2/");
  EXPECT_EQ(r.status, 404) << Describe(r);
}

TEST_F(Config, RelativeUrlsGiveRelativeLocations) {
  ASSERT_TRUE(Restart(WithYaml("http:\n  relativeurls: true\n")));
  Response start = c().Request("POST", "/v2/lib/app/blobs/uploads/");
  ASSERT_STATUS(start, 202);
  EXPECT_TRUE(start.Header("Location").starts_with("/v2/lib/app/blobs/uploads/"))
      << start.Header("Location");
  Response put =
      c().Request("PUT", WithQuery(PathOf(start.Header("Location")), "digest=" + Sha256("r")), "r");
  ASSERT_STATUS(put, 201);
  EXPECT_EQ(put.Header("Location"), "/v2/lib/app/blobs/" + Sha256("r"));
}

TEST_F(Config, HostSetsTheBaseOfAbsoluteLocations) {
  ASSERT_TRUE(Restart(WithYaml("http:\n  host: https://registry.example.com\n")));
  Response start = c().Request("POST", "/v2/lib/app/blobs/uploads/");
  ASSERT_STATUS(start, 202);
  EXPECT_TRUE(start.Header("Location").starts_with("https://registry.example.com/v2/lib/app/"))
      << start.Header("Location");
}

TEST_F(Config, InMemoryStorageServesPushAndPull) {
  TestServerOptions options;
  options.inmemory = true;
  auto srv = StartServer(options);
  ASSERT_TRUE(srv);
  HttpClient c(srv->port());
  PushedImage img = PushImage(c, "mem/app", "v1", 1);
  Response r =
      c.Request("GET", "/v2/mem/app/manifests/v1", {}, {{"Accept", std::string(kOciManifest)}});
  EXPECT_STATUS(r, 200);
  EXPECT_EQ(r.body, img.manifest);
  EXPECT_EQ(c.Request("GET", "/v2/mem/app/blobs/" + Sha256(img.layer)).body, img.layer);
}

}  // namespace
}  // namespace berth::testing
