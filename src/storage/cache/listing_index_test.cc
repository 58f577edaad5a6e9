#include "storage/cache/listing_index.h"

#include <gtest/gtest.h>

#include <atomic>
#include <condition_variable>
#include <functional>
#include <future>
#include <mutex>

#include "storage/driver/faulty.h"
#include "storage/fs/namespace.h"
#include "storage/storage_testing.h"
#include "storage/wrappers.h"

namespace berth::storage::cache {
namespace {
using namespace std::chrono_literals;
using Names = std::vector<std::string>;

// A tag service whose List runs a hook after reading storage, before the caller gets the result.
class HookedTags : public TagServiceWrapper {
 public:
  using TagServiceWrapper::TagServiceWrapper;
  Result<std::vector<std::string>> List(std::string_view repo) override {
    auto tags = TagServiceWrapper::List(repo);
    if (auto hook = std::exchange(after_list_, nullptr)) hook();
    return tags;
  }
  std::function<void()> after_list_;  // set before the List it applies to (same thread)
};

// The inner Namespace of the index under test, with a hook that runs when its Catalog (the storage
// walk) has finished but before the index receives the result, and a gate that holds the walk.
class HookedNamespace : public NamespaceWrapper {
 public:
  explicit HookedNamespace(NamespacePtr inner) : NamespaceWrapper(inner), tags_(inner->Tags()) {}
  TagService& Tags() override { return tags_; }
  HookedTags tags_;
  Result<std::vector<std::string>> Catalog(std::string_view last, size_t n, bool* more) override {
    {
      std::unique_lock lock(mu_);
      ++walks_;
      cv_.notify_all();
      cv_.wait(lock, [&] { return open_; });
    }
    auto all = NamespaceWrapper::Catalog(last, n, more);
    std::function<void()> hook;
    {
      std::lock_guard lock(mu_);
      hook = std::exchange(after_walk_, nullptr);
    }
    if (hook) hook();
    return all;
  }
  void SetGate(bool open) {
    std::lock_guard lock(mu_);
    open_ = open;
    cv_.notify_all();
  }
  void AfterNextWalk(std::function<void()> fn) {
    std::lock_guard lock(mu_);
    after_walk_ = std::move(fn);
  }
  bool WaitForWalks(int n) {
    std::unique_lock lock(mu_);
    return cv_.wait_for(lock, 10s, [&] { return walks_ >= n; });
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  bool open_ = true;
  int walks_ = 0;
  std::function<void()> after_walk_;
};

class ListingIndexTest : public ::testing::Test {
 protected:
  void SetUp() override {
    driver_ = driver::NewFaultyDriver(driver::NewInMemoryDriver(), &plan_);
    // Seed repository "a" with a tagged image before the index exists.
    auto seed = fs::NewNamespace(driver_, clock_);
    cfg_ = testing::PushBlob(*seed, "a", "{}");
    layer_ = testing::PushBlob(*seed, "a", "layer");
    body_ = testing::ImageManifest(cfg_, layer_);
    ASSERT_TRUE(seed->Manifests().Put("a", *ParseReference("v1"), kOciManifest, body_));
  }
  void Open(bool gate_open = true) {
    hooked_ = std::make_shared<HookedNamespace>(fs::NewNamespace(driver_, clock_));
    hooked_->SetGate(gate_open);
    ns_ = WithListingIndex(hooked_);
  }
  Names Catalog(Namespace& ns) {
    bool more = false;
    auto page = ns.Catalog("", 100, &more);
    EXPECT_TRUE(page.has_value());
    return page ? *page : Names{};
  }
  // Pushes the image of repository "a" into `repo` (mounting its blobs) under `tag`, through `ns`.
  void PutImage(Namespace& ns, const std::string& repo, const std::string& tag) {
    ASSERT_TRUE(ns.Blobs().Mount(repo, "a", cfg_.digest));
    ASSERT_TRUE(ns.Blobs().Mount(repo, "a", layer_.digest));
    ASSERT_TRUE(ns.Manifests().Put(repo, *ParseReference(tag), kOciManifest, body_));
  }

  driver::FaultPlan plan_;
  FakeClock clock_{SystemTime(1700000000s)};
  driver::StorageDriverPtr driver_;
  BlobInfo cfg_, layer_;
  std::string body_;
  std::shared_ptr<HookedNamespace> hooked_;
  NamespacePtr ns_;
};

TEST_F(ListingIndexTest, OwnWritesAtOnceOtherWritersAfterReconcile) {
  Open();
  EXPECT_EQ(Catalog(*ns_), Names{"a"});
  EXPECT_EQ(*ns_->Tags().List("a"), Names{"v1"});
  // Own writes: visible at once.
  PutImage(*ns_, "new/repo", "t");
  EXPECT_EQ(Catalog(*ns_), (Names{"a", "new/repo"}));
  ASSERT_TRUE(ns_->Manifests().Put("a", *ParseReference("v2"), kOciManifest, body_));
  EXPECT_EQ(*ns_->Tags().List("a"), (Names{"v1", "v2"}));
  ASSERT_TRUE(ns_->Tags().Untag("a", "v1").has_value());
  EXPECT_EQ(*ns_->Tags().List("a"), Names{"v2"});
  // Another process on the same storage: visible after a reconcile, not before.
  auto other = fs::NewNamespace(driver_, clock_);
  PutImage(*other, "b", "x");
  ASSERT_TRUE(other->Manifests().Put("a", *ParseReference("v3"), kOciManifest, body_));
  EXPECT_EQ(Catalog(*ns_), (Names{"a", "new/repo"}));
  EXPECT_EQ(*ns_->Tags().List("a"), Names{"v2"});
  ASSERT_TRUE(ns_->Reconcile().has_value());
  EXPECT_EQ(Catalog(*ns_), (Names{"a", "b", "new/repo"}));
  EXPECT_EQ(*ns_->Tags().List("a"), (Names{"v2", "v3"}));
}

TEST_F(ListingIndexTest, DeletingAManifestDropsItsTagsAtOnce) {
  Open();
  std::string other = testing::ImageManifest(cfg_, layer_, R"(,"annotations":{"k":"v"})");
  ASSERT_TRUE(ns_->Manifests().Put("a", *ParseReference("keep"), kOciManifest, other));
  ASSERT_TRUE(ns_->Manifests().Put("a", *ParseReference("v2"), kOciManifest, body_));
  EXPECT_EQ(*ns_->Tags().List("a"), (Names{"keep", "v1", "v2"}));
  auto del = ns_->Manifests().Delete("a", Digest::Of(body_));
  ASSERT_TRUE(del.has_value()) << del.error().ToString();
  auto tags = ns_->Tags().List("a");
  ASSERT_TRUE(tags.has_value()) << tags.error().ToString();
  EXPECT_EQ(*tags, Names{"keep"});
}

TEST_F(ListingIndexTest, ATagListLoadThatRacedWithATagWriteIsNotKept) {
  Open();
  // The write lands after the load has read storage: the loaded list lacks it.
  hooked_->tags_.after_list_ = [&] {
    ASSERT_TRUE(ns_->Manifests().Put("a", *ParseReference("v9"), kOciManifest, body_));
  };
  EXPECT_EQ(*ns_->Tags().List("a"), Names{"v1"});
  EXPECT_EQ(*ns_->Tags().List("a"), (Names{"v1", "v9"}));
}

TEST_F(ListingIndexTest, CatalogAndTagPagesDoNoStorageWork) {
  Open();
  EXPECT_EQ(Catalog(*ns_), Names{"a"});
  EXPECT_EQ(*ns_->Tags().List("a"), Names{"v1"});
  uint64_t before = plan_.Calls(driver::FaultOp::kAny);
  for (int i = 0; i < 100; ++i) {
    EXPECT_EQ(Catalog(*ns_), Names{"a"});
    EXPECT_EQ(*ns_->Tags().List("a"), Names{"v1"});
  }
  EXPECT_EQ(plan_.Calls(driver::FaultOp::kAny), before);
  bool more = false;
  EXPECT_EQ(*ns_->Catalog("a", 10, &more), Names{});
  EXPECT_FALSE(more);
}

TEST_F(ListingIndexTest, AReconcileDoesNotLoseAnOwnWriteThatRacedWithIt) {
  Open();
  EXPECT_EQ(Catalog(*ns_), Names{"a"});
  // The write lands after the walk has passed: the walk's result lacks it.
  hooked_->AfterNextWalk([&] { PutImage(*ns_, "raced", "t"); });
  ASSERT_TRUE(ns_->Reconcile().has_value());
  EXPECT_EQ(Catalog(*ns_), (Names{"a", "raced"}));
}

TEST_F(ListingIndexTest, OnlyCatalogWaitsForTheFirstBuild) {
  Open(/*gate_open=*/false);
  ASSERT_TRUE(hooked_->WaitForWalks(1));  // the first build is running (held at the gate)
  // Other requests go ahead, reads and writes alike.
  EXPECT_TRUE(ns_->Manifests().Get("a", *ParseReference("v1")).has_value());
  EXPECT_EQ(*ns_->Tags().List("a"), Names{"v1"});
  PutImage(*ns_, "during", "t");
  auto catalog = std::async(std::launch::async, [&] { return Catalog(*ns_); });
  EXPECT_EQ(catalog.wait_for(50ms), std::future_status::timeout);
  hooked_->SetGate(true);
  EXPECT_EQ(catalog.get(), (Names{"a", "during"}));
}

TEST_F(ListingIndexTest, AFailedFirstBuildFallsBackToStorageAndRecovers) {
  plan_.FailPath(driver::FaultOp::kList, "/repositories");
  Open();
  bool more = false;
  auto page = ns_->Catalog("", 10, &more);
  ASSERT_FALSE(page.has_value());
  EXPECT_EQ(page.error().code, ErrorCode::kIo);
  plan_.Clear();
  EXPECT_EQ(Catalog(*ns_), Names{"a"});  // asked storage directly
  ASSERT_TRUE(ns_->Reconcile().has_value());
  EXPECT_EQ(Catalog(*ns_), Names{"a"});
}

}  // namespace
}  // namespace berth::storage::cache
