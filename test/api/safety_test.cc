// Read-only mode, CORS preflights, forwarded headers, the maximum blob size, references that can
// name nothing, and registry:2's foreign-layer URL validation.

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <filesystem>
#include <string>
#include <vector>

#include "api/api.h"
#include "test/api/api_test_util.h"
#include "test/support/temp_dir.h"

namespace berth::testing {
namespace {

using Safety = ApiTest;
const HeaderList kOctet = {{"Content-Type", "application/octet-stream"}};

// --- read-only
// ------------------------------------------------------------------------------------

TEST_F(Safety, ReadOnlyModeRefusesEveryWriteMethodAndChangesNothing) {
  TempDir root;
  ASSERT_TRUE(Restart(WithRoot(root.path())));
  PushedImage img = PushImage(c(), "lib/app", "v1");
  std::string session = StartUpload(c(), "lib/app");
  ASSERT_FALSE(session.empty());
  ASSERT_TRUE(Restart(WithYaml("storage:\n  filesystem:\n    rootdirectory: \"" + root.path() +
                               "\"\n  maintenance:\n    readonly:\n      enabled: true\n")));
  const std::string blob = "/v2/lib/app/blobs/" + Sha256(img.layer);
  const std::string manifest = "/v2/lib/app/manifests/v1";
  struct Write {
    const char* method;
    std::string target;
    std::string body;
  };
  const std::vector<Write> writes = {
      {"POST", "/v2/lib/app/blobs/uploads/", ""},
      {"POST", "/v2/lib/app/blobs/uploads/?digest=" + Sha256("x"), "x"},
      {"POST", "/v2/other/blobs/uploads/?mount=" + Sha256(img.layer) + "&from=lib/app", ""},
      {"PATCH", session, "chunk"},
      {"PUT", WithQuery(session, "digest=" + Sha256("chunk")), "chunk"},
      {"DELETE", session, ""},
      {"PUT", manifest, img.manifest},
      {"DELETE", manifest, ""},
      {"DELETE", "/v2/lib/app/manifests/" + img.digest, ""},
      {"DELETE", blob, ""},
  };
  for (const auto& w : writes) {
    Response r = c().Request(w.method, w.target, w.body, kOctet);
    EXPECT_ERROR(r, 405, "UNSUPPORTED") << w.method << " " << w.target;
  }
  EXPECT_STATUS(c().Request("GET", session), 204);  // the session is still there
  EXPECT_TRUE(HasUploadRange(c().Request("GET", session), 0));
  EXPECT_STATUS(c().Request("GET", manifest), 200);
  EXPECT_STATUS(c().Request("GET", blob), 200);
  EXPECT_STATUS(c().Request("HEAD", "/v2/other/blobs/" + Sha256(img.layer)), 404);
}

// --- CORS
// -------------------------------------------------------------------------------------------

class Cors : public ApiTest {
 protected:
  TestServerOptions ServerOptions() const override {
    return WithYaml(
        "http:\n  headers:\n    Access-Control-Allow-Origin: ['*']\n"
        "    Access-Control-Allow-Headers: ['Authorization', 'Accept']\n");
  }
};

TEST_F(Cors, OptionsOnEveryRouteIs200WithTheConfiguredHeaders) {
  for (const char* path :
       {"/v2/", "/v2/_catalog", "/v2/a/tags/list", "/v2/a/manifests/latest",
        "/v2/a/blobs/"
        "sha256:0000000000000000000000000000000000000000000000000000000000000000"}) {
    Response r =
        c().Request("OPTIONS", path, "",
                    {{"Origin", "http://ui.example"}, {"Access-Control-Request-Method", "GET"}});
    EXPECT_STATUS(r, 200) << path;
    EXPECT_EQ(r.Header("Access-Control-Allow-Origin"), "*") << path;
    EXPECT_EQ(r.Header("Access-Control-Allow-Headers"), "Authorization") << path;
    EXPECT_NE(r.Header("Allow").find("GET"), std::string::npos) << path;
  }
  EXPECT_ERROR(c().Request("OPTIONS", "/v2/a/nothing"), 404, "UNSUPPORTED");
}

// --- forwarded headers
// ------------------------------------------------------------------------------

TEST_F(Safety, LocationUsesValidForwardedHostAndProto) {
  Response r = c().Request("POST", "/v2/lib/app/blobs/uploads/", "",
                           {{"X-Forwarded-Host", "registry.example.com:8443, proxy.internal"},
                            {"X-Forwarded-Proto", "https"}});
  ASSERT_STATUS(r, 202);
  EXPECT_TRUE(r.Header("Location")
                  .starts_with("https://registry.example.com:8443/v2/lib/app/blobs/uploads/"))
      << r.Header("Location");
}

TEST_F(Safety, InvalidForwardedHostOrProtoFallsBackToHost) {
  const std::string direct = "http://" + srv_->hostport() + "/v2/lib/app/blobs/uploads/";
  const HeaderList bad[] = {
      {{"X-Forwarded-Host", "evil.example\"\r\nSet-Cookie: x=1"}},
      {{"X-Forwarded-Host", "evil.example\", realm=\"x"}},
      {{"X-Forwarded-Host", "user@evil.example"}},
      {{"X-Forwarded-Host", "evil.example/path"}},
      {{"X-Forwarded-Proto", "javascript"}},
      {{"X-Forwarded-Proto", "https\"x"}},
  };
  for (const auto& h : bad) {
    Response r = c().Request("POST", "/v2/lib/app/blobs/uploads/", "", h);
    ASSERT_STATUS(r, 202);
    EXPECT_TRUE(r.Header("Location").starts_with(direct))
        << h[0].first << ": " << h[0].second << " -> " << r.Header("Location");
    EXPECT_FALSE(r.HasHeader("Set-Cookie"));
  }
}

// --- maximum blob size
// --------------------------------------------------------------------------------

class SmallBlobLimit : public ApiTest {
 protected:
  TestServerOptions ServerOptions() const override {
    // Through the config key, so the wiring from berth.storage.maxblobsize is tested too.
    return {.yaml = "berth:\n  storage:\n    maxblobsize: 1000\n"};
  }
};

TEST_F(SmallBlobLimit, AnnouncedLengthBeyondTheLimitIs413SizeInvalid) {
  std::string session = StartUpload(c(), "lib/app");
  ASSERT_FALSE(session.empty());
  std::string big(1001, 'x');
  EXPECT_ERROR(c().Request("PATCH", session, big, kOctet), 413, "SIZE_INVALID");
  EXPECT_ERROR(c().Request("PUT", WithQuery(session, "digest=" + Sha256(big)), big, kOctet), 413,
               "SIZE_INVALID");
  EXPECT_ERROR(c().Request("POST", "/v2/lib/app/blobs/uploads/?digest=" + Sha256(big), big, kOctet),
               413, "SIZE_INVALID");
  EXPECT_TRUE(HasUploadRange(c().Request("GET", session), 0));  // nothing was stored
}

TEST_F(SmallBlobLimit, SessionGrowingPastTheLimitIs413) {
  std::string session = StartUpload(c(), "lib/app");
  ASSERT_FALSE(session.empty());
  Response first = c().Request("PATCH", session, std::string(600, 'a'), kOctet);
  ASSERT_STATUS(first, 202);
  EXPECT_ERROR(
      c().Request("PATCH", PathOf(first.Header("Location")), std::string(600, 'b'), kOctet), 413,
      "SIZE_INVALID");
}

TEST_F(SmallBlobLimit, ChunkedBodyGrowingPastTheLimitIs413) {
  std::string session = StartUpload(c(), "lib/app");
  ASSERT_FALSE(session.empty());
  uint64_t left = 5000;
  Response r = c().RequestChunked(
      "PATCH", session,
      [&](char* buf, size_t n) -> size_t {
        size_t k = std::min<uint64_t>({n, left, 100});
        std::fill(buf, buf + k, 'z');
        left -= k;
        return k;
      },
      kOctet);
  EXPECT_ERROR(r, 413, "SIZE_INVALID");
}

TEST_F(SmallBlobLimit, BlobsWithinTheLimitStillUpload) {
  std::string data(1000, 'q');
  std::string d = Sha256(data);
  EXPECT_TRUE(
      BlobCreated(c(), c().Request("POST", "/v2/lib/app/blobs/uploads/?digest=" + d, data, kOctet),
                  "lib/app", d, data));
}

// The announced length is not reserved on disk past what arrives: a client announcing 1 GiB,
// sending 5 bytes and hanging up leaves a small `data` file (the driver reserves at most a window
// tied to the bytes received; it failed against the earlier full-length reservation).
TEST_F(Safety, AnnouncedGigabyteThatNeverArrivesAllocatesLittle) {
  std::string session = StartUpload(c(), "lib/app");
  ASSERT_FALSE(session.empty());
  std::string id = session.substr(session.rfind('/') + 1);
  id = id.substr(0, id.find('?'));
  RawConnection raw(srv_->port());
  ASSERT_TRUE(raw.ok());
  ASSERT_TRUE(raw.Send(
      "PATCH " + session + " HTTP/1.1\r\nHost: " + srv_->hostport() +
      "\r\nContent-Type: application/octet-stream\r\nContent-Length: 1073741824\r\n\r\nhello"));
  raw.Close(/*reset=*/true);
  // The server keeps the 5 bytes: wait (bounded) until the session reports them.
  Response status;
  for (int i = 0; i < 200; ++i) {
    status = c().Request("GET", session);
    if (status.Header("Range") == "0-4") break;
    c().Request("GET", "/v2/");  // a round trip instead of a sleep
  }
  EXPECT_TRUE(HasUploadRange(status, 5));
  std::string data =
      srv_->root() + "/docker/registry/v2/repositories/lib/app/_uploads/" + id + "/data";
  struct stat st {};
  ASSERT_EQ(stat(data.c_str(), &st), 0) << data;
  EXPECT_LE(static_cast<uint64_t>(st.st_blocks) * 512, uint64_t{64} << 20)
      << "the upload's data file holds " << st.st_blocks * 512 << " bytes on disk for 5 received";
}

// --- references
// ----------------------------------------------------------------------------------------

TEST_F(Safety, GetOrHeadOfAReferenceThatCanNameNothingIsManifestUnknown) {
  PushImage(c(), "lib/app", "v1");
  for (const char* ref : {"-bad", "sha256:zz", "a%20b", "x:y"}) {
    EXPECT_ERROR(c().Request("GET", std::string("/v2/lib/app/manifests/") + ref), 404,
                 "MANIFEST_UNKNOWN")
        << ref;
    EXPECT_STATUS(c().Request("HEAD", std::string("/v2/lib/app/manifests/") + ref), 404) << ref;
    EXPECT_ERROR(c().Request("PUT", std::string("/v2/lib/app/manifests/") + ref, "{}",
                             {{"Content-Type", std::string(kOciManifest)}}),
                 400, "TAG_INVALID", "DIGEST_INVALID", "MANIFEST_INVALID")
        << ref;
  }
}

// --- foreign-layer URLs
// ----------------------------------------------------------------------------------

// A Docker schema2 manifest whose second layer is a foreign layer at `url`.
std::string ForeignManifest(
    HttpClient& c, const std::string& url,
    std::string_view type = "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip") {
  std::string config = "{\"foreign\":true}";
  PushBlob(c, "win/app", config);
  nlohmann::json layer = DescriptorOf(type, "elsewhere");
  layer["urls"] = {url};
  return nlohmann::json{{"schemaVersion", 2},
                        {"mediaType", kDockerManifest},
                        {"config", DescriptorOf(kDockerConfig, config)},
                        {"layers", {layer}}}
      .dump();
}

Response PutDocker(HttpClient& c, const std::string& body) {
  return c.Request("PUT", "/v2/win/app/manifests/v1", body,
                   {{"Content-Type", std::string(kDockerManifest)}});
}

TEST_F(Safety, ForeignLayerUrlsAreRefusedByDefaultAsInRegistry2) {
  EXPECT_ERROR(PutDocker(c(), ForeignManifest(c(), "https://mcr.microsoft.com/layer")), 400,
               "MANIFEST_INVALID");
}

class ForeignUrls : public ApiTest {
 protected:
  TestServerOptions ServerOptions() const override {
    // Through registry:2's config keys, so their wiring to the API is tested too.
    return {.yaml = "validation:\n  manifests:\n    urls:\n"
                    "      allow: ['^https://mcr\\.microsoft\\.com/']\n"
                    "      deny: ['/private/']\n"};
  }
};

TEST_F(ForeignUrls, AllowedUrlIsStoredAndOthersAreManifestInvalid) {
  EXPECT_STATUS(PutDocker(c(), ForeignManifest(c(), "https://mcr.microsoft.com/layer")), 201);
  for (const char* url :
       {"https://evil.example/layer", "https://mcr.microsoft.com/private/x",
        "ftp://mcr.microsoft.com/layer", "https://mcr.microsoft.com/layer#frag"}) {
    EXPECT_ERROR(PutDocker(c(), ForeignManifest(c(), url)), 400, "MANIFEST_INVALID") << url;
  }
}

TEST_F(ForeignUrls, UrlsOnANonLayerTypeStillNeedTheBlob) {
  EXPECT_ERROR(PutDocker(c(), ForeignManifest(c(), "https://mcr.microsoft.com/layer",
                                              "application/octet-stream")),
               400, "MANIFEST_BLOB_UNKNOWN");
}

TEST_F(Safety, ValidationDisabledAcceptsAnyHttpUrl) {
  ASSERT_TRUE(Restart({.yaml = "validation:\n  disabled: true\n"}));
  EXPECT_STATUS(PutDocker(c(), ForeignManifest(c(), "https://anywhere.example/layer")), 201);
  EXPECT_ERROR(PutDocker(c(), ForeignManifest(c(), "file:///etc/passwd")), 400, "MANIFEST_INVALID");
}

}  // namespace
}  // namespace berth::testing
