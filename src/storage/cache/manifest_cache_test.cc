#include "storage/cache/manifest_cache.h"

#include <gtest/gtest.h>

#include "storage/driver/faulty.h"
#include "storage/fs/namespace.h"
#include "storage/storage_testing.h"

namespace berth::storage::cache {
namespace {
using namespace std::chrono_literals;

class ManifestCacheTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ns_ = WithManifestCache(
        fs::NewNamespace(driver::NewFaultyDriver(driver::NewInMemoryDriver(), &plan_), clock_),
        1 << 20);
    BlobInfo cfg = testing::PushBlob(*ns_, "a", "{}");
    BlobInfo layer = testing::PushBlob(*ns_, "a", "layer");
    body_ = testing::ImageManifest(cfg, layer);
    auto put = ns_->Manifests().Put("a", *ParseReference("v1"), kOciManifest, body_);
    ASSERT_TRUE(put.has_value());
    digest_ = put->digest;
  }

  driver::FaultPlan plan_;
  FakeClock clock_{SystemTime(1700000000s)};
  NamespacePtr ns_;
  std::string body_;
  Digest digest_;
};

TEST_F(ManifestCacheTest, SecondGetReadsNoContentFromStorage) {
  ASSERT_TRUE(ns_->Manifests().Get("a", *ParseReference("v1")).has_value());
  uint64_t before = plan_.Calls(driver::FaultOp::kGetContent);
  auto got = ns_->Manifests().Get("a", Reference{"", digest_});
  ASSERT_TRUE(got.has_value());
  EXPECT_EQ(got->bytes, body_);
  EXPECT_EQ(got->media_type, kOciManifest);
  EXPECT_EQ(plan_.Calls(driver::FaultOp::kGetContent), before);  // by digest: a Stat, no read
}

TEST_F(ManifestCacheTest, LinksAreStillCheckedOnEveryGet) {
  ASSERT_TRUE(ns_->Manifests().Get("a", *ParseReference("v1")).has_value());  // cached now
  ASSERT_TRUE(ns_->Manifests().Delete("a", digest_).has_value());
  EXPECT_EQ(ns_->Manifests().Get("a", Reference{"", digest_}).error().code,
            ErrorCode::kManifestUnknown);
  EXPECT_EQ(ns_->Manifests().Get("a", *ParseReference("v1")).error().code,
            ErrorCode::kManifestUnknown);
  // Another repository never sees it through the cache either.
  EXPECT_EQ(ns_->Manifests().Get("b", Reference{"", digest_}).error().code,
            ErrorCode::kManifestUnknown);
}

}  // namespace
}  // namespace berth::storage::cache
