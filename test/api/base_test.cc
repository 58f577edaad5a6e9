// GET /v2/, keep-alive, and configuration that shapes every response (http.headers, http.prefix).

#include <gtest/gtest.h>

#include "test/api/api_test_util.h"

namespace berth::testing {
namespace {

TEST(Base, VersionCheckIs200WithApiVersionHeader) {
  auto srv = StartServer();
  ASSERT_TRUE(srv);
  HttpClient c(srv->port());
  Response r = c.Request("GET", "/v2/");
  EXPECT_STATUS(r, 200);
  EXPECT_EQ(r.Header("Docker-Distribution-API-Version"), "registry/2.0");
}

TEST(Base, VersionCheckWithoutTrailingSlashIsServed) {
  // Distribution serves /v2 as well as /v2/ (some clients probe without the slash).
  auto srv = StartServer();
  ASSERT_TRUE(srv);
  HttpClient c(srv->port());
  Response r = c.Request("GET", "/v2");
  EXPECT_TRUE(r.status == 200 || r.status == 301 || r.status == 307 || r.status == 308)
      << Describe(r);
}

TEST(Base, HeadVersionCheckHasNoBody) {
  auto srv = StartServer();
  ASSERT_TRUE(srv);
  HttpClient c(srv->port());
  Response r = c.Request("HEAD", "/v2/");
  EXPECT_STATUS(r, 200);
  EXPECT_EQ(r.Header("Docker-Distribution-API-Version"), "registry/2.0");
  // The connection stays usable: a HEAD reply carries no body bytes to trip the next read.
  Response again = c.Request("GET", "/v2/");
  EXPECT_STATUS(again, 200);
}

TEST(Base, KeepAliveServesManyRequestsOnOneConnection) {
  auto srv = StartServer();
  ASSERT_TRUE(srv);
  HttpClient c(srv->port());
  for (int i = 0; i < 20; ++i) {
    Response r = c.Request("GET", "/v2/");
    ASSERT_STATUS(r, 200);
  }
  EXPECT_EQ(c.connects(), 1);
}

TEST(Base, KeepAliveSurvivesErrorResponses) {
  auto srv = StartServer();
  ASSERT_TRUE(srv);
  HttpClient c(srv->port());
  Response miss = c.Request("GET", "/v2/nothing/manifests/latest");
  EXPECT_EQ(miss.status, 404) << Describe(miss);
  Response ok = c.Request("GET", "/v2/");
  EXPECT_STATUS(ok, 200);
  EXPECT_EQ(c.connects(), 1);
}

TEST(Config, CustomHeadersAppearOnResponses) {
  auto srv = StartServer(WithYaml(
      "http:\n  headers:\n    X-Content-Type-Options: [nosniff]\n    X-Berth-Test: [a]\n"));
  ASSERT_TRUE(srv);
  HttpClient c(srv->port());
  Response r = c.Request("GET", "/v2/");
  EXPECT_STATUS(r, 200);
  EXPECT_EQ(r.Header("X-Content-Type-Options"), "nosniff");
  EXPECT_EQ(r.Header("X-Berth-Test"), "a");
  // Errors carry them too.
  Response miss = c.Request("GET", "/v2/nothing/blobs/" + Sha256("nope"));
  EXPECT_EQ(miss.status, 404) << Describe(miss);
  EXPECT_EQ(miss.Header("X-Content-Type-Options"), "nosniff");
}

TEST(Config, PrefixServesApiUnderPrefix) {
  auto srv = StartServer(WithYaml("http:\n  prefix: /registry/\n"));
  ASSERT_TRUE(srv);
  HttpClient c(srv->port());
  Response base = c.Request("GET", "/registry/v2/");
  EXPECT_STATUS(base, 200);
  EXPECT_EQ(base.Header("Docker-Distribution-API-Version"), "registry/2.0");

  // An upload under the prefix: the Location points back under the prefix.
  Response start = c.Request("POST", "/registry/v2/pre/app/blobs/uploads/");
  ASSERT_STATUS(start, 202);
  std::string loc = PathOf(start.Header("Location"));
  EXPECT_TRUE(loc.starts_with("/registry/v2/pre/app/blobs/uploads/")) << loc;
  std::string data = "prefixed blob";
  Response put = c.Request("PUT", WithQuery(loc, "digest=" + Sha256(data)), data);
  ASSERT_STATUS(put, 201);
  EXPECT_EQ(PathOf(put.Header("Location")), "/registry/v2/pre/app/blobs/" + Sha256(data));
  Response get = c.Request("GET", "/registry/v2/pre/app/blobs/" + Sha256(data));
  EXPECT_STATUS(get, 200);
  EXPECT_EQ(get.body, data);
}

TEST(Config, PrefixHidesUnprefixedApi) {
  auto srv = StartServer(WithYaml("http:\n  prefix: /registry/\n"));
  ASSERT_TRUE(srv);
  HttpClient c(srv->port());
  Response r = c.Request("GET", "/v2/");
  EXPECT_EQ(r.status, 404) << Describe(r);
}

TEST(Config, RelativeUrlsGiveRelativeLocations) {
  auto srv = StartServer(WithYaml("http:\n  relativeurls: true\n"));
  ASSERT_TRUE(srv);
  HttpClient c(srv->port());
  Response start = c.Request("POST", "/v2/lib/app/blobs/uploads/");
  ASSERT_STATUS(start, 202);
  EXPECT_TRUE(start.Header("Location").starts_with("/v2/lib/app/blobs/uploads/"))
      << start.Header("Location");
  Response put =
      c.Request("PUT", WithQuery(PathOf(start.Header("Location")), "digest=" + Sha256("r")), "r");
  ASSERT_STATUS(put, 201);
  EXPECT_EQ(put.Header("Location"), "/v2/lib/app/blobs/" + Sha256("r"));
}

TEST(Config, HostSetsTheBaseOfAbsoluteLocations) {
  auto srv = StartServer(WithYaml("http:\n  host: https://registry.example.com\n"));
  ASSERT_TRUE(srv);
  HttpClient c(srv->port());
  Response start = c.Request("POST", "/v2/lib/app/blobs/uploads/");
  ASSERT_STATUS(start, 202);
  EXPECT_TRUE(start.Header("Location").starts_with("https://registry.example.com/v2/lib/app/"))
      << start.Header("Location");
}

TEST(Config, ReadOnlyModeRefusesWritesAndServesReads) {
  std::string root;
  std::string digest;
  auto writable = StartServer();
  ASSERT_TRUE(writable);
  {
    HttpClient c(writable->port());
    digest = PushBlob(c, "lib/app", "read me");
  }
  writable->Stop();
  auto srv =
      StartServer(WithYaml("storage:\n  filesystem:\n    rootdirectory: \"" + writable->root() +
                           "\"\n  maintenance:\n    readonly:\n      enabled: true\n"));
  ASSERT_TRUE(srv);
  HttpClient c(srv->port());
  EXPECT_STATUS(c.Request("GET", "/v2/"), 200);
  Response get = c.Request("GET", "/v2/lib/app/blobs/" + digest);
  EXPECT_STATUS(get, 200);
  EXPECT_EQ(get.body, "read me");
  EXPECT_ERROR(c.Request("POST", "/v2/lib/app/blobs/uploads/"), 405, "UNSUPPORTED");
  EXPECT_ERROR(c.Request("DELETE", "/v2/lib/app/blobs/" + digest), 405, "UNSUPPORTED");
}

TEST(Config, InMemoryStorageServesPushAndPull) {
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
