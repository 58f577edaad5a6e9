#pragma once
// Shared helpers for the API tests: error-envelope checks, blob and manifest pushes, manifest
// builders. Every helper reports failures through gtest (ADD_FAILURE) and returns what it could.

#include <gtest/gtest.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "api/api.h"
#include "test/support/http_client.h"
#include "test/support/test_server.h"

namespace berth::testing {

inline constexpr std::string_view kOciManifest = "application/vnd.oci.image.manifest.v1+json";
inline constexpr std::string_view kOciIndex = "application/vnd.oci.image.index.v1+json";
inline constexpr std::string_view kOciConfig = "application/vnd.oci.image.config.v1+json";
inline constexpr std::string_view kOciLayer = "application/vnd.oci.image.layer.v1.tar+gzip";
inline constexpr std::string_view kOciEmpty = "application/vnd.oci.empty.v1+json";
inline constexpr std::string_view kDockerManifest =
    "application/vnd.docker.distribution.manifest.v2+json";
inline constexpr std::string_view kDockerList =
    "application/vnd.docker.distribution.manifest.list.v2+json";
inline constexpr std::string_view kDockerConfig = "application/vnd.docker.container.image.v1+json";
inline constexpr std::string_view kDockerLayer =
    "application/vnd.docker.image.rootfs.diff.tar.gzip";
inline constexpr std::string_view kSchema1 =
    "application/vnd.docker.distribution.manifest.v1+prettyjws";

// A short description of a response for failure messages: status, transport error, head of body.
std::string Describe(const Response& r);

// The response has `status` (the failure message shows the body).
::testing::AssertionResult HasStatus(const Response& r, int status);
#define EXPECT_STATUS(resp, code) EXPECT_TRUE(::berth::testing::HasStatus((resp), (code)))
#define ASSERT_STATUS(resp, code) ASSERT_TRUE(::berth::testing::HasStatus((resp), (code)))

// errors[0].code of an error envelope, "" if the body is not one.
std::string ErrorCode(const Response& r);
// The response is `status` with Content-Type application/json and a well-formed envelope
// {"errors":[{"code","message",...}]} whose first code is one of `codes`.
::testing::AssertionResult IsError(const Response& r, int status,
                                   std::initializer_list<std::string_view> codes);
#define EXPECT_ERROR(resp, status, ...) \
  EXPECT_TRUE(::berth::testing::IsError((resp), (status), {__VA_ARGS__}))

// The upload Range header reads exactly "0-<last>" ("0-0" when nothing was stored).
::testing::AssertionResult HasUploadRange(const Response& r, uint64_t size);

// The API test fixture: a fresh server (default options: filesystem in a temp dir, delete on) and a
// client connected to it for every test. A test that needs other settings calls Restart, or a
// derived fixture overrides ServerOptions.
//
//   using Blobs = ApiTest;
//   TEST_F(Blobs, GetReturnsBytes) { PushBlob(c(), "a", "x"); ... srv_->port() ... }
class ApiTest : public ::testing::Test {
 protected:
  virtual TestServerOptions ServerOptions() const { return {}; }
  void SetUp() override { ASSERT_TRUE(Restart(ServerOptions())); }
  // Replaces the server with one started with `options` and reconnects the client. False (and a
  // test failure) when it does not start.
  bool Restart(const TestServerOptions& options);
  HttpClient& c() { return *client_; }

  std::unique_ptr<TestServer> srv_;
  std::unique_ptr<HttpClient> client_;
};

// Starts a server and fails the test if it could not.
std::unique_ptr<TestServer> StartServer(const TestServerOptions& options = {});
// Options with only `yaml` (or only `root`) set.
TestServerOptions WithYaml(std::string yaml);
TestServerOptions WithRoot(std::string root);
// Options that adjust the API's settings directly (for settings without a config key).
TestServerOptions WithApi(std::function<void(api::ApiOptions&)> adjust);
inline constexpr std::string_view kDeleteDisabled = "storage:\n  delete:\n    enabled: false\n";

// POST /v2/<repo>/blobs/uploads/ and return the upload path+query from Location ("" on failure).
std::string StartUpload(HttpClient& c, std::string_view repo);
// Pushes `data` as one blob (POST, then PUT ?digest=); returns its sha256 digest.
std::string PushBlob(HttpClient& c, std::string_view repo, std::string_view data);
// The reply to a completed upload says 201 with Location /v2/<repo>/blobs/<digest> and
// Docker-Content-Digest <digest>, and the blob then reads back as `data`.
::testing::AssertionResult BlobCreated(HttpClient& c, const Response& r, std::string_view repo,
                                       std::string_view digest, std::string_view data);
// Pushes a manifest; returns the Docker-Content-Digest ("" on failure).
std::string PushManifest(HttpClient& c, std::string_view repo, std::string_view reference,
                         std::string_view media_type, std::string_view body);

// {"mediaType","digest","size"} for bytes.
nlohmann::json DescriptorOf(std::string_view media_type, std::string_view bytes);

// An image pushed to a repository: its config, one layer, and the manifest.
struct PushedImage {
  std::string config;
  std::string layer;
  std::string manifest;  // exact bytes sent
  std::string digest;    // manifest digest
  std::string media_type;
};

// Pushes config + layer blobs (distinct per `seed`) and an OCI image manifest under `reference`
// (a tag, or "" to push by digest). `extra` fields are merged into the manifest JSON (subject,
// artifactType, annotations ...).
PushedImage PushImage(HttpClient& c, std::string_view repo, std::string_view reference,
                      int seed = 1, const nlohmann::json& extra = nlohmann::json::object());

// The OCI empty config blob "{}" (pushed into `repo`), and its descriptor.
nlohmann::json PushEmptyConfig(HttpClient& c, std::string_view repo);

// Pushes an artifact manifest with `subject` (a descriptor) into `repo` by digest; `artifact_type`
// may be empty (then config.mediaType is `config_media_type`).
PushedImage PushReferrer(HttpClient& c, std::string_view repo, const nlohmann::json& subject,
                         std::string_view artifact_type, int seed,
                         const nlohmann::json& annotations = nullptr,
                         std::string_view config_media_type = kOciEmpty);

// Parses a JSON body; nullopt (and a test failure) if it does not parse.
std::optional<nlohmann::json> JsonBody(const Response& r);

// From `<url>; rel="next"`: the url's path+query, "" when not a next link.
std::string NextLink(const Response& r);

}  // namespace berth::testing
