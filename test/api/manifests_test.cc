// PUT, GET, HEAD and DELETE /v2/<name>/manifests/<reference>.

#include <gtest/gtest.h>

#include <algorithm>
#include <cctype>
#include <string>
#include <thread>
#include <vector>

#include "test/api/api_test_util.h"

namespace berth::testing {
namespace {

using Manifests = ApiTest;

using nlohmann::json;

// A client that accepts every manifest type, as docker, containerd and skopeo do.
const HeaderList kAcceptAll = {
    {"Accept", std::string(kOciManifest) + ", " + std::string(kOciIndex) + ", " +
                   std::string(kDockerManifest) + ", " + std::string(kDockerList)}};

Response PutManifest(HttpClient& c, std::string_view repo, std::string_view ref,
                     std::string_view media_type, std::string_view body) {
  return c.Request("PUT", "/v2/" + std::string(repo) + "/manifests/" + std::string(ref), body,
                   {{"Content-Type", std::string(media_type)}});
}

Response GetManifest(HttpClient& c, std::string_view repo, std::string_view ref,
                     std::string_view method = "GET") {
  return c.Request(method, "/v2/" + std::string(repo) + "/manifests/" + std::string(ref), {},
                   kAcceptAll);
}

// The response serves exactly `body` as `media_type`.
void ExpectServes(const Response& r, std::string_view body, std::string_view media_type) {
  EXPECT_STATUS(r, 200);
  EXPECT_EQ(r.body, body);
  EXPECT_EQ(r.Header("Content-Type"), media_type);
  EXPECT_EQ(r.Header("Docker-Content-Digest"), Sha256(body));
  EXPECT_EQ(r.Header("Content-Length"), std::to_string(body.size()));
}

// An OCI image manifest over blobs already pushed to `repo`.
std::string OciManifestOver(HttpClient& c, std::string_view repo, int seed) {
  std::string config =
      "{\"architecture\":\"amd64\",\"os\":\"linux\",\"n\":" + std::to_string(seed) + "}";
  std::string layer = PatternBytes(300, 500 + seed);
  PushBlob(c, repo, config);
  PushBlob(c, repo, layer);
  return json{{"schemaVersion", 2},
              {"mediaType", kOciManifest},
              {"config", DescriptorOf(kOciConfig, config)},
              {"layers", {DescriptorOf(kOciLayer, layer)}}}
      .dump();
}

std::string DockerManifestOver(HttpClient& c, std::string_view repo, int seed) {
  std::string config =
      "{\"architecture\":\"arm64\",\"os\":\"linux\",\"n\":" + std::to_string(seed) + "}";
  std::string layer = PatternBytes(300, 600 + seed);
  PushBlob(c, repo, config);
  PushBlob(c, repo, layer);
  return json{{"schemaVersion", 2},
              {"mediaType", kDockerManifest},
              {"config", DescriptorOf(kDockerConfig, config)},
              {"layers", {DescriptorOf(kDockerLayer, layer)}}}
      .dump();
}

json PlatformDescriptor(std::string_view media_type, std::string_view bytes, std::string arch) {
  json d = DescriptorOf(media_type, bytes);
  d["platform"] = {{"architecture", arch}, {"os", "linux"}};
  return d;
}

TEST_F(Manifests, PutOciManifestByTagIs201WithDigestAndLocation) {
  std::string m = OciManifestOver(c(), "lib/app", 1);
  Response r = PutManifest(c(), "lib/app", "v1", kOciManifest, m);
  ASSERT_STATUS(r, 201);
  EXPECT_EQ(r.Header("Docker-Content-Digest"), Sha256(m));
  EXPECT_EQ(PathOf(r.Header("Location")), "/v2/lib/app/manifests/" + Sha256(m));
  ExpectServes(GetManifest(c(), "lib/app", "v1"), m, kOciManifest);
}

TEST_F(Manifests, PutOciManifestByDigestIs201) {
  std::string m = OciManifestOver(c(), "lib/app", 2);
  Response r = PutManifest(c(), "lib/app", Sha256(m), kOciManifest, m);
  ASSERT_STATUS(r, 201);
  EXPECT_EQ(r.Header("Docker-Content-Digest"), Sha256(m));
  EXPECT_EQ(PathOf(r.Header("Location")), "/v2/lib/app/manifests/" + Sha256(m));
  ExpectServes(GetManifest(c(), "lib/app", Sha256(m)), m, kOciManifest);
}

TEST_F(Manifests, PutOciIndexIs201) {
  std::string amd = OciManifestOver(c(), "lib/app", 3);
  std::string arm = OciManifestOver(c(), "lib/app", 4);
  ASSERT_STATUS(PutManifest(c(), "lib/app", Sha256(amd), kOciManifest, amd), 201);
  ASSERT_STATUS(PutManifest(c(), "lib/app", Sha256(arm), kOciManifest, arm), 201);
  std::string index = json{{"schemaVersion", 2},
                           {"mediaType", kOciIndex},
                           {"manifests",
                            {PlatformDescriptor(kOciManifest, amd, "amd64"),
                             PlatformDescriptor(kOciManifest, arm, "arm64")}}}
                          .dump();
  Response r = PutManifest(c(), "lib/app", "multi", kOciIndex, index);
  ASSERT_STATUS(r, 201);
  EXPECT_EQ(r.Header("Docker-Content-Digest"), Sha256(index));
  ExpectServes(GetManifest(c(), "lib/app", "multi"), index, kOciIndex);
  Response by_digest = PutManifest(c(), "lib/app", Sha256(index), kOciIndex, index);
  EXPECT_STATUS(by_digest, 201);
}

TEST_F(Manifests, PutDockerSchema2Is201) {
  std::string m = DockerManifestOver(c(), "lib/app", 5);
  Response r = PutManifest(c(), "lib/app", "docker", kDockerManifest, m);
  ASSERT_STATUS(r, 201);
  EXPECT_EQ(r.Header("Docker-Content-Digest"), Sha256(m));
  EXPECT_EQ(PathOf(r.Header("Location")), "/v2/lib/app/manifests/" + Sha256(m));
  ExpectServes(GetManifest(c(), "lib/app", "docker"), m, kDockerManifest);
  EXPECT_STATUS(PutManifest(c(), "lib/app", Sha256(m), kDockerManifest, m), 201);
}

TEST_F(Manifests, PutDockerManifestListIs201) {
  std::string a = DockerManifestOver(c(), "lib/app", 6);
  std::string b = DockerManifestOver(c(), "lib/app", 7);
  ASSERT_STATUS(PutManifest(c(), "lib/app", Sha256(a), kDockerManifest, a), 201);
  ASSERT_STATUS(PutManifest(c(), "lib/app", Sha256(b), kDockerManifest, b), 201);
  std::string list = json{{"schemaVersion", 2},
                          {"mediaType", kDockerList},
                          {"manifests",
                           {PlatformDescriptor(kDockerManifest, a, "amd64"),
                            PlatformDescriptor(kDockerManifest, b, "arm64")}}}
                         .dump();
  Response r = PutManifest(c(), "lib/app", "list", kDockerList, list);
  ASSERT_STATUS(r, 201);
  EXPECT_EQ(r.Header("Docker-Content-Digest"), Sha256(list));
  ExpectServes(GetManifest(c(), "lib/app", "list"), list, kDockerList);
  EXPECT_STATUS(PutManifest(c(), "lib/app", Sha256(list), kDockerList, list), 201);
}

TEST_F(Manifests, DigestIsOfTheExactBytesEvenWithOddWhitespace) {
  json m = json::parse(OciManifestOver(c(), "lib/app", 8));
  std::string odd = "  \n" + m.dump(7) + "\r\n\t \n";
  ASSERT_NE(Sha256(odd), Sha256(m.dump()));
  Response r = PutManifest(c(), "lib/app", "odd", kOciManifest, odd);
  ASSERT_STATUS(r, 201);
  EXPECT_EQ(r.Header("Docker-Content-Digest"), Sha256(odd));
  ExpectServes(GetManifest(c(), "lib/app", "odd"), odd, kOciManifest);
  ExpectServes(GetManifest(c(), "lib/app", Sha256(odd)), odd, kOciManifest);
}

TEST_F(Manifests, MissingLayerIsManifestBlobUnknown) {
  std::string config = "{\"os\":\"linux\"}";
  PushBlob(c(), "lib/app", config);
  std::string m = json{{"schemaVersion", 2},
                       {"mediaType", kOciManifest},
                       {"config", DescriptorOf(kOciConfig, config)},
                       {"layers", {DescriptorOf(kOciLayer, "never pushed layer")}}}
                      .dump();
  EXPECT_ERROR(PutManifest(c(), "lib/app", "v1", kOciManifest, m), 400, "MANIFEST_BLOB_UNKNOWN");
  EXPECT_ERROR(GetManifest(c(), "lib/app", "v1"), 404, "MANIFEST_UNKNOWN", "NAME_UNKNOWN");
}

TEST_F(Manifests, MissingConfigIsManifestBlobUnknown) {
  std::string layer = "a layer";
  PushBlob(c(), "lib/app", layer);
  std::string m = json{{"schemaVersion", 2},
                       {"mediaType", kDockerManifest},
                       {"config", DescriptorOf(kDockerConfig, "never pushed config")},
                       {"layers", {DescriptorOf(kDockerLayer, layer)}}}
                      .dump();
  EXPECT_ERROR(PutManifest(c(), "lib/app", "v1", kDockerManifest, m), 400, "MANIFEST_BLOB_UNKNOWN");
}

TEST_F(Manifests, BlobsOfAnotherRepositoryAreManifestBlobUnknown) {
  std::string m = OciManifestOver(c(), "team/a", 9);  // blobs live in team/a only
  PushBlob(c(), "team/b", "make team/b exist");
  EXPECT_ERROR(PutManifest(c(), "team/b", "v1", kOciManifest, m), 400, "MANIFEST_BLOB_UNKNOWN");
}

TEST_F(Manifests, IndexWithMissingChildIsManifestBlobUnknown) {
  std::string child = OciManifestOver(c(), "lib/app", 10);  // blobs pushed, manifest not
  std::string index = json{{"schemaVersion", 2},
                           {"mediaType", kOciIndex},
                           {"manifests", {PlatformDescriptor(kOciManifest, child, "amd64")}}}
                          .dump();
  EXPECT_ERROR(PutManifest(c(), "lib/app", "multi", kOciIndex, index), 400,
               "MANIFEST_BLOB_UNKNOWN");
}

TEST_F(Manifests, BodyOver4MiBIs413) {
  json m = json::parse(OciManifestOver(c(), "lib/app", 11));
  m["annotations"] = {{"pad", std::string(4 * 1024 * 1024 + 100, 'p')}};
  std::string body = m.dump();
  Response r = PutManifest(c(), "lib/app", "huge", kOciManifest, body);
  EXPECT_EQ(r.status, 413) << Describe(r);
  HttpClient fresh(srv_->port());
  EXPECT_STATUS(fresh.Request("GET", "/v2/"), 200);
  EXPECT_STATUS(GetManifest(fresh, "lib/app", "huge"), 404);
}

TEST_F(Manifests, GarbageJsonIsManifestInvalid) {
  EXPECT_ERROR(PutManifest(c(), "lib/app", "v1", kOciManifest, "this is not json"), 400,
               "MANIFEST_INVALID");
  EXPECT_ERROR(PutManifest(c(), "lib/app", "v1", kOciManifest, "[1,2,3]"), 400, "MANIFEST_INVALID");
  EXPECT_ERROR(PutManifest(c(), "lib/app", "v1", kOciManifest, ""), 400, "MANIFEST_INVALID");
}

TEST_F(Manifests, Schema1IsManifestInvalidNamingSchema1) {
  std::string layer = "schema1 layer";
  PushBlob(c(), "lib/app", layer);
  std::string m = json{
      {"schemaVersion", 1},
      {"name", "lib/app"},
      {"tag", "old"},
      {"architecture", "amd64"},
      {"fsLayers", {{{"blobSum", Sha256(layer)}}}},
      {"history", {{{"v1Compatibility", "{\"id\":\"x\"}"}}}},
      {"signatures",
       json::array()}}.dump(3);
  Response r = PutManifest(c(), "lib/app", "old", kSchema1, m);
  ASSERT_TRUE(IsError(r, 400, {"MANIFEST_INVALID"}));
  auto j = JsonBody(r);
  ASSERT_TRUE(j);
  std::string message = (*j)["errors"][0]["message"].get<std::string>();
  std::string text = message + " " + (*j)["errors"][0].value("detail", json()).dump();
  std::transform(text.begin(), text.end(), text.begin(), ::tolower);
  EXPECT_TRUE(text.find("schema1") != std::string::npos ||
              text.find("schema 1") != std::string::npos)
      << "message does not name schema1: " << r.body;
}

TEST_F(Manifests, DigestInUrlNotMatchingBodyIsDigestInvalid) {
  std::string m = OciManifestOver(c(), "lib/app", 12);
  std::string wrong = Sha256(m + " ");
  EXPECT_ERROR(PutManifest(c(), "lib/app", wrong, kOciManifest, m), 400, "DIGEST_INVALID");
  EXPECT_STATUS(GetManifest(c(), "lib/app", wrong, "HEAD"), 404);
  EXPECT_STATUS(GetManifest(c(), "lib/app", Sha256(m), "HEAD"), 404);
}

TEST_F(Manifests, InvalidTagIsTagInvalid) {
  std::string m = OciManifestOver(c(), "lib/app", 13);
  EXPECT_ERROR(PutManifest(c(), "lib/app", "-bad", kOciManifest, m), 400, "TAG_INVALID");
  EXPECT_ERROR(PutManifest(c(), "lib/app", ".bad", kOciManifest, m), 400, "TAG_INVALID");
  EXPECT_ERROR(PutManifest(c(), "lib/app", std::string(129, 't'), kOciManifest, m), 400,
               "TAG_INVALID");
  // The longest valid tag is fine.
  EXPECT_STATUS(PutManifest(c(), "lib/app", std::string(128, 't'), kOciManifest, m), 201);
}

TEST_F(Manifests, SubjectIsEchoedInOciSubjectHeader) {
  PushedImage base = PushImage(c(), "lib/app", "v1", 14);
  json subject = DescriptorOf(kOciManifest, base.manifest);
  PushedImage sig = PushReferrer(c(), "lib/app", subject, "application/vnd.example.sig", 15);
  // Push it again to see the reply headers.
  Response r = PutManifest(c(), "lib/app", Sha256(sig.manifest), kOciManifest, sig.manifest);
  ASSERT_STATUS(r, 201);
  EXPECT_EQ(r.Header("OCI-Subject"), base.digest);
}

TEST_F(Manifests, ManifestWithoutSubjectHasNoOciSubjectHeader) {
  std::string m = OciManifestOver(c(), "lib/app", 16);
  Response r = PutManifest(c(), "lib/app", "v1", kOciManifest, m);
  ASSERT_STATUS(r, 201);
  EXPECT_FALSE(r.HasHeader("OCI-Subject"));
}

TEST_F(Manifests, HeadByTagAndDigestHasHeadersWithoutBody) {
  PushedImage img = PushImage(c(), "lib/app", "v1", 17);
  for (const std::string& ref : {std::string("v1"), img.digest}) {
    Response r = GetManifest(c(), "lib/app", ref, "HEAD");
    EXPECT_STATUS(r, 200);
    EXPECT_EQ(r.Header("Content-Type"), kOciManifest);
    EXPECT_EQ(r.Header("Docker-Content-Digest"), img.digest);
    EXPECT_EQ(r.Header("Content-Length"), std::to_string(img.manifest.size()));
    EXPECT_TRUE(r.body.empty());
  }
  // Nothing stray on the kept-alive connection.
  EXPECT_STATUS(c().Request("GET", "/v2/"), 200);
}

TEST_F(Manifests, IfNoneMatchWithTheDigestEtagIs304) {
  PushedImage img = PushImage(c(), "lib/app", "v1", 27);
  Response first = GetManifest(c(), "lib/app", "v1");
  ASSERT_STATUS(first, 200);
  std::string etag = first.Header("ETag");
  ASSERT_FALSE(etag.empty()) << "no ETag on a manifest";
  HeaderList h = kAcceptAll;
  h.emplace_back("If-None-Match", etag);
  Response again = c().Request("GET", "/v2/lib/app/manifests/v1", {}, h);
  EXPECT_STATUS(again, 304);
  EXPECT_TRUE(again.body.empty());
  EXPECT_STATUS(c().Request("GET", "/v2/"), 200);
}

TEST_F(Manifests, ManifestsAndTagsSurviveARestart) {
  auto first = StartServer();
  ASSERT_TRUE(first);
  PushedImage img;
  {
    HttpClient c(first->port());
    img = PushImage(c, "lib/app", "v1", 28);
  }
  first->Stop();
  auto second = StartServer(WithRoot(first->root()));
  ASSERT_TRUE(second);
  HttpClient c(second->port());
  ExpectServes(GetManifest(c, "lib/app", "v1"), img.manifest, kOciManifest);
  EXPECT_EQ(c.Request("GET", "/v2/lib/app/blobs/" + Sha256(img.layer)).body, img.layer);
}

TEST_F(Manifests, GetByDigestReturnsTheStoredBytes) {
  PushedImage img = PushImage(c(), "lib/app", "", 18);
  ExpectServes(GetManifest(c(), "lib/app", img.digest), img.manifest, kOciManifest);
}

TEST_F(Manifests, UnknownTagIsManifestUnknown) {
  PushImage(c(), "lib/app", "v1", 19);
  EXPECT_ERROR(GetManifest(c(), "lib/app", "v2"), 404, "MANIFEST_UNKNOWN");
  Response head = GetManifest(c(), "lib/app", "v2", "HEAD");
  EXPECT_STATUS(head, 404);
  EXPECT_TRUE(head.body.empty());
}

TEST_F(Manifests, UnknownDigestIsManifestUnknown) {
  PushImage(c(), "lib/app", "v1", 20);
  EXPECT_ERROR(GetManifest(c(), "lib/app", Sha256("no manifest")), 404, "MANIFEST_UNKNOWN");
}

TEST_F(Manifests, UnknownRepositoryIs404) {
  EXPECT_ERROR(GetManifest(c(), "no/such/repo", "latest"), 404, "NAME_UNKNOWN", "MANIFEST_UNKNOWN");
}

TEST_F(Manifests, RetaggingMovesTheTag) {
  PushedImage a = PushImage(c(), "lib/app", "latest", 21);
  PushedImage b = PushImage(c(), "lib/app", "latest", 22);
  ASSERT_NE(a.digest, b.digest);
  ExpectServes(GetManifest(c(), "lib/app", "latest"), b.manifest, kOciManifest);
  ExpectServes(GetManifest(c(), "lib/app", a.digest), a.manifest, kOciManifest);
}

TEST_F(Manifests, ConcurrentPushesToOneTagLeaveOneOfThem) {
  auto srv = StartServer();
  ASSERT_TRUE(srv);
  constexpr int kWriters = 8;
  std::vector<std::string> manifests(kWriters);
  {
    HttpClient c(srv->port());
    for (int i = 0; i < kWriters; ++i) manifests[i] = OciManifestOver(c, "lib/app", 100 + i);
  }
  std::vector<int> statuses(kWriters, 0);
  std::vector<std::thread> threads;
  for (int i = 0; i < kWriters; ++i) {
    threads.emplace_back([&, i] {
      HttpClient c(srv->port());
      statuses[i] = PutManifest(c, "lib/app", "race", kOciManifest, manifests[i]).status;
    });
  }
  for (auto& t : threads) t.join();
  for (int i = 0; i < kWriters; ++i) EXPECT_EQ(statuses[i], 201) << "writer " << i;
  HttpClient c(srv->port());
  Response r = GetManifest(c, "lib/app", "race");
  ASSERT_STATUS(r, 200);
  EXPECT_NE(std::find(manifests.begin(), manifests.end(), r.body), manifests.end());
  EXPECT_EQ(r.Header("Docker-Content-Digest"), Sha256(r.body));
}

TEST_F(Manifests, DeleteByDigestRemovesTheManifestAndItsTags) {
  PushedImage img = PushImage(c(), "lib/app", "v1", 23);
  ASSERT_STATUS(PutManifest(c(), "lib/app", "v1-alias", kOciManifest, img.manifest), 201);
  PushedImage other = PushImage(c(), "lib/app", "other", 24);
  Response del = c().Request("DELETE", "/v2/lib/app/manifests/" + img.digest);
  EXPECT_STATUS(del, 202);
  EXPECT_ERROR(GetManifest(c(), "lib/app", img.digest), 404, "MANIFEST_UNKNOWN");
  EXPECT_ERROR(GetManifest(c(), "lib/app", "v1"), 404, "MANIFEST_UNKNOWN");
  EXPECT_ERROR(GetManifest(c(), "lib/app", "v1-alias"), 404, "MANIFEST_UNKNOWN");
  ExpectServes(GetManifest(c(), "lib/app", "other"), other.manifest, kOciManifest);
  Response tags = c().Request("GET", "/v2/lib/app/tags/list");
  ASSERT_STATUS(tags, 200);
  auto j = JsonBody(tags);
  ASSERT_TRUE(j);
  EXPECT_EQ((*j)["tags"], json::array({"other"}));
  EXPECT_ERROR(c().Request("DELETE", "/v2/lib/app/manifests/" + img.digest), 404,
               "MANIFEST_UNKNOWN");
}

TEST_F(Manifests, DeleteByTagRemovesOnlyTheTag) {
  PushedImage img = PushImage(c(), "lib/app", "v1", 25);
  ASSERT_STATUS(PutManifest(c(), "lib/app", "keep", kOciManifest, img.manifest), 201);
  Response del = c().Request("DELETE", "/v2/lib/app/manifests/v1");
  EXPECT_STATUS(del, 202);
  EXPECT_ERROR(GetManifest(c(), "lib/app", "v1"), 404, "MANIFEST_UNKNOWN");
  ExpectServes(GetManifest(c(), "lib/app", img.digest), img.manifest, kOciManifest);
  ExpectServes(GetManifest(c(), "lib/app", "keep"), img.manifest, kOciManifest);
  EXPECT_ERROR(c().Request("DELETE", "/v2/lib/app/manifests/v1"), 404, "MANIFEST_UNKNOWN");
}

TEST_F(Manifests, DeleteWhenDisabledIsUnsupported) {
  ASSERT_TRUE(Restart(WithYaml(std::string(kDeleteDisabled))));
  PushedImage img = PushImage(c(), "lib/app", "v1", 26);
  EXPECT_ERROR(c().Request("DELETE", "/v2/lib/app/manifests/" + img.digest), 405, "UNSUPPORTED");
  EXPECT_ERROR(c().Request("DELETE", "/v2/lib/app/manifests/v1"), 405, "UNSUPPORTED");
  ExpectServes(GetManifest(c(), "lib/app", "v1"), img.manifest, kOciManifest);
}

}  // namespace
}  // namespace berth::testing
