// The storage seams seen from the HTTP API: the stack can be wrapped (a counting decorator shows
// exactly which store calls each request makes), and storage failures injected under a live server
// (storage/driver/faulty.h) give 500 in the OCI envelope and leave no partial state.
#include <gtest/gtest.h>

#include "storage/driver/faulty.h"
#include "storage/paths.h"
#include "test/api/api_test_util.h"
#include "test/api/counting_stores.h"

namespace berth::testing {
namespace {

using Counts = std::map<std::string, int>;

class CountedServer : public ::testing::Test {
 protected:
  void SetUp() override {
    TestServerOptions o;
    o.deps.decorate_storage = [this](storage::NamespacePtr inner) {
      return NewCountingNamespace(std::move(inner), counts_);
    };
    srv_ = StartServer(o);
    ASSERT_TRUE(srv_);
  }
  CallCounts counts_;
  std::unique_ptr<TestServer> srv_;
};

TEST_F(CountedServer, EachReadRequestMakesOnlyTheStoreCallsItNeeds) {
  HttpClient c(srv_->port());
  PushedImage img = PushImage(c, "team/app", "v1");
  ASSERT_FALSE(img.digest.empty());
  EXPECT_GE(counts_.Get("Manifests.Put"), 1);
  EXPECT_GE(counts_.Get("Uploads.Open"), 2);

  counts_.Reset();
  EXPECT_STATUS(
      c.Request("GET", "/v2/team/app/manifests/v1", {}, {{"Accept", std::string(kOciManifest)}}),
      200);
  EXPECT_EQ(counts_.All(), (Counts{{"Manifests.Resolve", 1}, {"Manifests.Read", 1}}));

  counts_.Reset();
  EXPECT_STATUS(c.Request("HEAD", "/v2/team/app/blobs/" + Sha256(img.layer)), 200);
  EXPECT_EQ(counts_.All(), (Counts{{"Blobs.Stat", 1}}));

  counts_.Reset();
  EXPECT_STATUS(c.Request("GET", "/v2/_catalog"), 200);
  EXPECT_STATUS(c.Request("GET", "/v2/team/app/tags/list"), 200);
  EXPECT_EQ(counts_.All(), (Counts{{"Namespace.Catalog", 1}, {"Tags.List", 1}}));

  // An unknown manifest asks whether the repository exists (NAME_UNKNOWN vs MANIFEST_UNKNOWN).
  counts_.Reset();
  EXPECT_ERROR(c.Request("GET", "/v2/nope/manifests/v1"), 404, "NAME_UNKNOWN");
  EXPECT_EQ(counts_.All(), (Counts{{"Manifests.Resolve", 1}, {"Namespace.RepositoryExists", 1}}));
}

class FaultyServer : public ::testing::Test {
 protected:
  void SetUp() override {
    base_ = storage::driver::NewInMemoryDriver();
    TestServerOptions o;
    o.deps.driver = storage::driver::NewFaultyDriver(base_, &plan_);
    srv_ = StartServer(o);
    ASSERT_TRUE(srv_);
  }
  // Whether the global blob store holds `digest` (read past the fault injector).
  bool BlobStored(const std::string& digest) {
    return base_->Stat(storage::paths::BlobData(*Digest::Parse(digest))).has_value();
  }

  storage::driver::FaultPlan plan_;
  storage::driver::StorageDriverPtr base_;
  std::unique_ptr<TestServer> srv_;
};

TEST_F(FaultyServer, DiskFullMidUploadIs500AndPublishesNothing) {
  HttpClient c(srv_->port());
  const std::string data = PatternBytes(256 * 1024);
  const std::string digest = Sha256(data);
  std::string loc = StartUpload(c, "a");
  ASSERT_FALSE(loc.empty());
  plan_.FailWritesAfter(100 * 1024, "/_uploads/");
  EXPECT_ERROR(c.Request("PUT", WithQuery(loc, "digest=" + digest), data,
                         {{"Content-Type", "application/octet-stream"}}),
               500, "UNKNOWN");
  plan_.Clear();
  HttpClient c2(srv_->port());
  EXPECT_ERROR(c2.Request("GET", "/v2/a/blobs/" + digest), 404, "BLOB_UNKNOWN");
  EXPECT_FALSE(BlobStored(digest));
  // The registry still works: the same blob pushes cleanly afterwards.
  PushBlob(c2, "a", data);
  EXPECT_STATUS(c2.Request("HEAD", "/v2/a/blobs/" + digest), 200);
}

TEST_F(FaultyServer, FailedPublishIs500AndLinksNothing) {
  HttpClient c(srv_->port());
  const std::string data = PatternBytes(4096);
  const std::string digest = Sha256(data);
  std::string loc = StartUpload(c, "a");
  ASSERT_FALSE(loc.empty());
  plan_.FailPath(storage::driver::FaultOp::kMove, "/blobs/");
  EXPECT_ERROR(c.Request("PUT", WithQuery(loc, "digest=" + digest), data,
                         {{"Content-Type", "application/octet-stream"}}),
               500, "UNKNOWN");
  plan_.Clear();
  EXPECT_STATUS(c.Request("HEAD", "/v2/a/blobs/" + digest), 404);
  EXPECT_FALSE(BlobStored(digest));
}

TEST_F(FaultyServer, FailedManifestWritesLeaveNoTagOnAMissingManifest) {
  HttpClient c(srv_->port());
  PushedImage base = PushImage(c, "a", "base");  // blobs in place, repository known
  ASSERT_FALSE(base.digest.empty());
  nlohmann::json m = nlohmann::json::parse(base.manifest);
  m["annotations"] = {{"n", "1"}};
  const std::string body = m.dump();
  const std::string digest = Sha256(body);
  const HeaderList ct = {{"Content-Type", std::string(kOciManifest)}};
  // Each write of a manifest push fails once in turn: content, revision link, tag.
  for (const char* where : {"/blobs/", "/_manifests/revisions/", "/_manifests/tags/v1/current"}) {
    SCOPED_TRACE(where);
    plan_.FailPath(storage::driver::FaultOp::kPutContent, where);
    EXPECT_ERROR(c.Request("PUT", "/v2/a/manifests/v1", body, ct), 500, "UNKNOWN");
    plan_.Clear();
    EXPECT_ERROR(c.Request("GET", "/v2/a/manifests/v1"), 404, "MANIFEST_UNKNOWN");
    auto tags = JsonBody(c.Request("GET", "/v2/a/tags/list"));
    ASSERT_TRUE(tags);
    EXPECT_EQ((*tags)["tags"], nlohmann::json::array({"base"}));
  }
  // Then it goes through, and everything reads back.
  EXPECT_STATUS(c.Request("PUT", "/v2/a/manifests/v1", body, ct), 201);
  EXPECT_STATUS(c.Request("GET", "/v2/a/manifests/v1"), 200);
  EXPECT_STATUS(c.Request("GET", "/v2/a/manifests/" + digest), 200);
}

}  // namespace
}  // namespace berth::testing
