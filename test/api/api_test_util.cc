#include "test/api/api_test_util.h"

#include <algorithm>

namespace berth::testing {

std::string Describe(const Response& r) {
  std::string out = "status " + std::to_string(r.status);
  if (!r.error.empty()) out += " (transport: " + r.error + ")";
  if (!r.body.empty()) {
    out += ", body: " + r.body.substr(0, 600);
    if (r.body.size() > 600) out += "...";
  }
  return out;
}

::testing::AssertionResult HasStatus(const Response& r, int status) {
  if (r.status == status) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << "want status " << status << ", got " << Describe(r);
}

std::string ErrorCode(const Response& r) {
  auto j = nlohmann::json::parse(r.body, nullptr, false);
  if (j.is_discarded() || !j.is_object() || !j.contains("errors") || !j["errors"].is_array() ||
      j["errors"].empty() || !j["errors"][0].is_object() || !j["errors"][0].contains("code") ||
      !j["errors"][0]["code"].is_string()) {
    return "";
  }
  return j["errors"][0]["code"].get<std::string>();
}

::testing::AssertionResult IsError(const Response& r, int status,
                                   std::initializer_list<std::string_view> codes) {
  if (r.status != status) {
    return ::testing::AssertionFailure() << "want status " << status << ", got " << Describe(r);
  }
  std::string ct = r.Header("Content-Type");
  if (!ct.starts_with("application/json")) {
    return ::testing::AssertionFailure()
           << "error Content-Type is \"" << ct << "\", want application/json; " << Describe(r);
  }
  auto j = nlohmann::json::parse(r.body, nullptr, false);
  if (j.is_discarded() || !j.is_object() || !j.contains("errors") || !j["errors"].is_array() ||
      j["errors"].empty()) {
    return ::testing::AssertionFailure() << "not an error envelope: " << Describe(r);
  }
  for (const auto& e : j["errors"]) {
    if (!e.is_object() || !e.contains("code") || !e["code"].is_string() || !e.contains("message") ||
        !e["message"].is_string()) {
      return ::testing::AssertionFailure()
             << "error entry lacks string code/message: " << e.dump() << "; " << Describe(r);
    }
  }
  std::string code = j["errors"][0]["code"].get<std::string>();
  for (std::string_view want : codes) {
    if (code == want) return ::testing::AssertionSuccess();
  }
  std::string want;
  for (std::string_view c : codes) want += (want.empty() ? "" : " or ") + std::string(c);
  return ::testing::AssertionFailure()
         << "error code " << code << ", want " << want << "; " << Describe(r);
}

::testing::AssertionResult HasUploadRange(const Response& r, uint64_t size) {
  std::string want = "0-" + std::to_string(size == 0 ? 0 : size - 1);
  std::string got = r.Header("Range");
  if (got == want) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << "Range \"" << got << "\", want \"" << want << "\" ("
                                       << size << " bytes stored); " << Describe(r);
}

std::unique_ptr<TestServer> StartServer(const TestServerOptions& options) {
  auto srv = TestServer::Start(options);
  if (!srv) ADD_FAILURE() << "test server did not start";
  return srv;
}

bool ApiTest::Restart(const TestServerOptions& options) {
  client_.reset();
  srv_.reset();
  srv_ = StartServer(options);
  if (!srv_) return false;
  client_ = std::make_unique<HttpClient>(srv_->port());
  return true;
}

TestServerOptions WithYaml(std::string yaml) {
  TestServerOptions o;
  o.yaml = std::move(yaml);
  return o;
}

TestServerOptions WithApi(std::function<void(api::ApiOptions&)> adjust) {
  TestServerOptions o;
  o.deps.adjust_api = std::move(adjust);
  return o;
}

TestServerOptions WithRoot(std::string root) {
  TestServerOptions o;
  o.root = std::move(root);
  return o;
}

std::string StartUpload(HttpClient& c, std::string_view repo) {
  Response r = c.Request("POST", "/v2/" + std::string(repo) + "/blobs/uploads/");
  if (r.status != 202 || r.Header("Location").empty()) {
    ADD_FAILURE() << "starting an upload in " << repo << ": " << Describe(r);
    return "";
  }
  return PathOf(r.Header("Location"));
}

std::string PushBlob(HttpClient& c, std::string_view repo, std::string_view data) {
  std::string digest = Sha256(data);
  std::string loc = StartUpload(c, repo);
  if (loc.empty()) return digest;
  Response r = c.Request("PUT", WithQuery(loc, "digest=" + digest), data,
                         {{"Content-Type", "application/octet-stream"}});
  if (r.status != 201) ADD_FAILURE() << "pushing blob " << digest << ": " << Describe(r);
  return digest;
}

::testing::AssertionResult BlobCreated(HttpClient& c, const Response& r, std::string_view repo,
                                       std::string_view digest, std::string_view data) {
  const std::string path = "/v2/" + std::string(repo) + "/blobs/" + std::string(digest);
  if (r.status != 201) return ::testing::AssertionFailure() << "want 201, got " << Describe(r);
  if (PathOf(r.Header("Location")) != path) {
    return ::testing::AssertionFailure()
           << "Location " << r.Header("Location") << ", want " << path;
  }
  if (r.Header("Docker-Content-Digest") != digest) {
    return ::testing::AssertionFailure()
           << "Docker-Content-Digest " << r.Header("Docker-Content-Digest") << ", want " << digest;
  }
  Response get = c.Request("GET", path);
  if (get.status != 200)
    return ::testing::AssertionFailure() << "GET " << path << ": " << Describe(get);
  if (get.body != data) {
    return ::testing::AssertionFailure()
           << "GET " << path << " returned " << get.body.size() << " bytes that differ from the "
           << data.size() << " pushed";
  }
  return ::testing::AssertionSuccess();
}

std::string PushManifest(HttpClient& c, std::string_view repo, std::string_view reference,
                         std::string_view media_type, std::string_view body) {
  Response r = c.Request("PUT", "/v2/" + std::string(repo) + "/manifests/" + std::string(reference),
                         body, {{"Content-Type", std::string(media_type)}});
  if (r.status != 201) {
    ADD_FAILURE() << "pushing manifest " << repo << ":" << reference << ": " << Describe(r);
    return "";
  }
  return r.Header("Docker-Content-Digest");
}

nlohmann::json DescriptorOf(std::string_view media_type, std::string_view bytes) {
  return {{"mediaType", media_type}, {"digest", Sha256(bytes)}, {"size", bytes.size()}};
}

PushedImage PushImage(HttpClient& c, std::string_view repo, std::string_view reference, int seed,
                      const nlohmann::json& extra) {
  PushedImage img;
  img.media_type = kOciManifest;
  img.config = nlohmann::json{
      {"architecture", "amd64"},
      {"os", "linux"},
      {"rootfs", {{"type", "layers"}, {"diff_ids", nlohmann::json::array()}}},
      {"seed",
       seed}}.dump();
  img.layer = "layer-" + std::to_string(seed) + "-" + PatternBytes(512, 1000 + seed);
  PushBlob(c, repo, img.config);
  PushBlob(c, repo, img.layer);
  nlohmann::json m = {{"schemaVersion", 2},
                      {"mediaType", kOciManifest},
                      {"config", DescriptorOf(kOciConfig, img.config)},
                      {"layers", {DescriptorOf(kOciLayer, img.layer)}}};
  for (auto it = extra.begin(); it != extra.end(); ++it) m[it.key()] = it.value();
  img.manifest = m.dump();
  std::string ref = reference.empty() ? Sha256(img.manifest) : std::string(reference);
  img.digest = PushManifest(c, repo, ref, kOciManifest, img.manifest);
  if (!img.digest.empty() && img.digest != Sha256(img.manifest)) {
    ADD_FAILURE() << "Docker-Content-Digest " << img.digest << " is not the digest of the bytes";
  }
  return img;
}

nlohmann::json PushEmptyConfig(HttpClient& c, std::string_view repo) {
  PushBlob(c, repo, "{}");
  return DescriptorOf(kOciEmpty, "{}");
}

PushedImage PushReferrer(HttpClient& c, std::string_view repo, const nlohmann::json& subject,
                         std::string_view artifact_type, int seed,
                         const nlohmann::json& annotations, std::string_view config_media_type) {
  PushedImage img;
  img.media_type = kOciManifest;
  img.config = config_media_type == kOciEmpty ? "{}" : "{\"seed\":" + std::to_string(seed) + "}";
  img.layer = "artifact-" + std::to_string(seed);
  PushBlob(c, repo, img.config);
  PushBlob(c, repo, img.layer);
  nlohmann::json m = {{"schemaVersion", 2},
                      {"mediaType", kOciManifest},
                      {"config", DescriptorOf(config_media_type, img.config)},
                      {"layers", {DescriptorOf("application/octet-stream", img.layer)}},
                      {"subject", subject}};
  if (!artifact_type.empty()) m["artifactType"] = artifact_type;
  if (!annotations.is_null()) m["annotations"] = annotations;
  img.manifest = m.dump();
  img.digest = PushManifest(c, repo, Sha256(img.manifest), kOciManifest, img.manifest);
  return img;
}

std::optional<nlohmann::json> JsonBody(const Response& r) {
  auto j = nlohmann::json::parse(r.body, nullptr, false);
  if (j.is_discarded()) {
    ADD_FAILURE() << "body is not JSON: " << Describe(r);
    return std::nullopt;
  }
  return j;
}

std::string NextLink(const Response& r) {
  for (const std::string& v : r.HeaderValues("Link")) {
    size_t lt = v.find('<');
    size_t gt = v.find('>', lt == std::string::npos ? 0 : lt);
    if (lt == std::string::npos || gt == std::string::npos) continue;
    std::string rest = v.substr(gt + 1);
    std::string lowered = rest;
    std::transform(lowered.begin(), lowered.end(), lowered.begin(), ::tolower);
    lowered.erase(std::remove(lowered.begin(), lowered.end(), ' '), lowered.end());
    if (lowered.find("rel=\"next\"") == std::string::npos &&
        lowered.find("rel=next") == std::string::npos) {
      continue;
    }
    return PathOf(v.substr(lt + 1, gt - lt - 1));
  }
  return "";
}

}  // namespace berth::testing
