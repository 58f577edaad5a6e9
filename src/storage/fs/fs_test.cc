#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <sstream>
#include <thread>

#include "storage/driver/faulty.h"
#include "storage/fs/namespace.h"
#include "storage/paths.h"
#include "storage/storage_testing.h"

namespace berth::storage::fs {
namespace {
using namespace std::chrono_literals;

std::string ReadFile(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

class FsStoresTest : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = std::filesystem::temp_directory_path() /
            ("berth-fs-" + std::to_string(::getpid()) + "-" +
             ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(root_);
    driver_ = *driver::NewFilesystemDriver(root_.string());
    reg_ = NewNamespace(driver_, clock_);
  }
  void TearDown() override { std::filesystem::remove_all(root_); }

  BlobInfo Push(const std::string& repo, const std::string& data) {
    return testing::PushBlob(*reg_, repo, data);
  }
  std::string Manifest(const BlobInfo& cfg, const BlobInfo& layer, const std::string& extra = "") {
    return testing::ImageManifest(cfg, layer, extra);
  }

  FakeClock clock_{SystemTime(1700000000s)};
  std::filesystem::path root_;
  driver::StorageDriverPtr driver_;
  NamespacePtr reg_;
};

TEST_F(FsStoresTest, PublishedBlobUsesDistributionLayout) {
  BlobInfo b = Push("team/app", "hello");
  auto base = root_ / "docker/registry/v2";
  EXPECT_EQ(ReadFile(base / "blobs/sha256" / b.digest.hex().substr(0, 2) / b.digest.hex() / "data"),
            "hello");
  EXPECT_EQ(ReadFile(base / "repositories/team/app/_layers/sha256" / b.digest.hex() / "link"),
            b.digest.str());
  // The upload area is cleaned up after publishing.
  EXPECT_TRUE(std::filesystem::is_empty(base / "repositories/team/app/_uploads"));
}

TEST_F(FsStoresTest, WrongDigestPublishesNothing) {
  auto up = reg_->Uploads().Start("a");
  auto w = reg_->Uploads().Open("a", up->id);
  ASSERT_TRUE((*w)->Write("abc", 3).has_value());
  auto r = (*w)->Commit(Digest::Of("abd"));
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code, ErrorCode::kDigestInvalid);
  EXPECT_FALSE(reg_->Blobs().Stat("a", Digest::Of("abc")).has_value());
  EXPECT_FALSE(std::filesystem::exists(root_ / "docker/registry/v2/blobs/sha256" /
                                       Digest::Of("abc").hex().substr(0, 2)));
}

TEST_F(FsStoresTest, UploadResumesAfterRestartByRehashing) {
  auto up = reg_->Uploads().Start("a");
  {
    auto w = reg_->Uploads().Open("a", up->id);
    ASSERT_TRUE((*w)->Write("first-", 6).has_value());
  }  // closed, resumable
  // A new Namespace has no in-memory hash state: it must rebuild it from disk.
  reg_ = NewNamespace(driver_, clock_);
  EXPECT_EQ(reg_->Uploads().Get("a", up->id)->size, 6u);
  auto w = reg_->Uploads().Open("a", up->id);
  ASSERT_TRUE(w.has_value());
  ASSERT_TRUE((*w)->Write("second", 6).has_value());
  auto info = (*w)->Commit(Digest::Of("first-second"));
  ASSERT_TRUE(info.has_value()) << info.error().ToString();
  EXPECT_EQ(info->size, 12u);
}

TEST_F(FsStoresTest, Sha512UploadVerifies) {
  auto up = reg_->Uploads().Start("a");
  auto w = reg_->Uploads().Open("a", up->id);
  ASSERT_TRUE((*w)->Write("data", 4).has_value());
  auto info = (*w)->Commit(Digest::Of("data", DigestAlgorithm::kSha512));
  ASSERT_TRUE(info.has_value()) << info.error().ToString();
  EXPECT_TRUE(reg_->Blobs().Stat("a", Digest::Of("data", DigestAlgorithm::kSha512)).has_value());
}

TEST_F(FsStoresTest, OneSessionOneWriter) {
  auto up = reg_->Uploads().Start("a");
  auto w1 = reg_->Uploads().Open("a", up->id);
  ASSERT_TRUE(w1.has_value());
  auto w2 = reg_->Uploads().Open("a", up->id);
  ASSERT_FALSE(w2.has_value());
  EXPECT_EQ(w2.error().code, ErrorCode::kBlobUploadInvalid);
  w1->reset();
  EXPECT_TRUE(reg_->Uploads().Open("a", up->id).has_value());
}

TEST_F(FsStoresTest, RetryWaitsForTheEndingRequestToRelease) {
  auto up = reg_->Uploads().Start("a");
  auto w1 = reg_->Uploads().Open("a", up->id);
  ASSERT_TRUE(w1.has_value());
  std::thread ending([&] {
    std::this_thread::sleep_for(50ms);  // the server noticing a vanished client
    w1->reset();
  });
  auto w2 = reg_->Uploads().Open("a", up->id);
  ending.join();
  EXPECT_TRUE(w2.has_value());
}

TEST_F(FsStoresTest, TwentyConcurrentPushesOfOneBlob) {
  std::string data(1 << 20, 'z');
  for (size_t i = 0; i < data.size(); i += 4096) data[i] = static_cast<char>(i / 4096);
  std::vector<std::thread> threads;
  std::atomic<int> ok{0};
  for (int t = 0; t < 20; ++t) {
    threads.emplace_back([&] {
      auto up = reg_->Uploads().Start("race");
      if (!up) return;
      auto w = reg_->Uploads().Open("race", up->id);
      if (!w) return;
      for (size_t i = 0; i < data.size(); i += 65536) {
        if (!(*w)->Write(data.data() + i, 65536)) return;
      }
      if ((*w)->Commit(Digest::Of(data))) ++ok;
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(ok.load(), 20);
  auto r = reg_->Blobs().Open("race", Digest::Of(data), 0);
  ASSERT_TRUE(r.has_value());
  std::string back(data.size() + 10, '\0');
  size_t got = 0;
  while (true) {
    auto n = (*r)->Read(back.data() + got, back.size() - got);
    ASSERT_TRUE(n.has_value());
    if (*n == 0) break;
    got += *n;
  }
  back.resize(got);
  EXPECT_EQ(Digest::Of(back), Digest::Of(data));
}

// Clients PUT one tag (at a few manifests) while others DELETE those manifests by digest. Each
// call succeeds or finds the manifest already gone (never an I/O error), and after every burst the
// tag is listed exactly when it resolves, to a manifest that is still stored.
TEST_F(FsStoresTest, TagPutsRacingDeletesByDigestStayConsistent) {
  BlobInfo cfg = Push("a", "{}");
  std::vector<std::string> bodies;
  for (int i = 0; i < 3; ++i)
    bodies.push_back(Manifest(cfg, Push("a", "layer" + std::to_string(i))));
  const Reference tag = *ParseReference("t");
  std::mutex mu;
  std::vector<std::string> errors;  // Guarded by mu.
  auto fail = [&](const std::string& what) {
    std::lock_guard lock(mu);
    errors.push_back(what);
  };
  for (int round = 0; round < 12 && errors.empty(); ++round) {
    std::vector<std::thread> threads;
    for (int t = 0; t < 6; ++t) {
      threads.emplace_back([&, t] {
        for (int i = 0; i < 12; ++i) {
          const std::string& body = bodies[static_cast<size_t>(t + i) % bodies.size()];
          if (t % 2 == 0) {
            auto put = reg_->Manifests().Put("a", tag, kOciManifest, body);
            if (!put) fail("PUT: " + put.error().ToString());
          } else {
            auto del = reg_->Manifests().Delete("a", Digest::Of(body));
            if (!del && del.error().code != ErrorCode::kManifestUnknown) {
              fail("DELETE: " + del.error().ToString());
            }
          }
        }
      });
    }
    for (auto& th : threads) th.join();
    auto listed = reg_->Tags().List("a");
    ASSERT_TRUE(listed.has_value()) << listed.error().ToString();
    bool is_listed = std::find(listed->begin(), listed->end(), "t") != listed->end();
    auto got = reg_->Manifests().Get("a", tag);
    if (got) {
      EXPECT_TRUE(is_listed) << "round " << round << ": tag resolves but is not listed";
    } else {
      EXPECT_EQ(got.error().code, ErrorCode::kManifestUnknown) << got.error().ToString();
      EXPECT_FALSE(is_listed) << "round " << round << ": tag listed but names no stored manifest: "
                              << got.error().ToString();
      if (is_listed) break;
    }
  }
  for (const auto& e : errors) ADD_FAILURE() << e;
}

TEST_F(FsStoresTest, ManifestRequiresItsBlobsInTheRepository) {
  BlobInfo cfg = Push("a", "{}");
  BlobInfo layer = Push("other", "layer");
  auto put = reg_->Manifests().Put("a", *ParseReference("v1"), kOciManifest, Manifest(cfg, layer));
  ASSERT_FALSE(put.has_value());
  EXPECT_EQ(put.error().code, ErrorCode::kManifestBlobUnknown);
  ASSERT_TRUE(reg_->Blobs().Mount("a", "other", layer.digest).has_value());
  put = reg_->Manifests().Put("a", *ParseReference("v1"), kOciManifest, Manifest(cfg, layer));
  ASSERT_TRUE(put.has_value()) << put.error().ToString();
  auto base = root_ / "docker/registry/v2/repositories/a/_manifests";
  EXPECT_EQ(ReadFile(base / "tags/v1/current/link"), put->digest.str());
  EXPECT_EQ(ReadFile(base / "tags/v1/index/sha256" / put->digest.hex() / "link"),
            put->digest.str());
  EXPECT_EQ(ReadFile(base / "revisions/sha256" / put->digest.hex() / "link"), put->digest.str());
}

TEST_F(FsStoresTest, ManifestRoundTripAndDelete) {
  BlobInfo cfg = Push("a", "{}");
  BlobInfo layer = Push("a", "layer");
  std::string body = Manifest(cfg, layer);
  auto put = reg_->Manifests().Put("a", *ParseReference("v1"), kOciManifest, body);
  ASSERT_TRUE(put.has_value());
  ASSERT_TRUE(reg_->Manifests().Put("a", *ParseReference("v2"), kOciManifest, body).has_value());
  auto got = reg_->Manifests().Get("a", *ParseReference("v1"));
  ASSERT_TRUE(got.has_value());
  EXPECT_EQ(got->bytes, body);
  EXPECT_EQ(got->media_type, kOciManifest);
  EXPECT_EQ(*reg_->Tags().List("a"), (std::vector<std::string>{"v1", "v2"}));
  // Deleting a tag keeps the manifest.
  ASSERT_TRUE(reg_->Tags().Untag("a", "v2").has_value());
  EXPECT_TRUE(reg_->Manifests().Get("a", Reference{"", put->digest}).has_value());
  // Deleting the manifest removes every tag pointing at it.
  ASSERT_TRUE(reg_->Manifests().Delete("a", put->digest).has_value());
  EXPECT_EQ(reg_->Manifests().Get("a", *ParseReference("v1")).error().code,
            ErrorCode::kManifestUnknown);
  EXPECT_TRUE(reg_->Tags().List("a")->empty());
}

TEST_F(FsStoresTest, ReferrersIndexFollowsPutAndDelete) {
  BlobInfo cfg = Push("a", "{}");
  BlobInfo layer = Push("a", "layer");
  auto subject =
      reg_->Manifests().Put("a", *ParseReference("v1"), kOciManifest, Manifest(cfg, layer));
  ASSERT_TRUE(subject.has_value());
  std::string sig = Manifest(cfg, layer,
                             R"(,"artifactType":"application/x-sig","subject":{"mediaType":")" +
                                 std::string(kOciManifest) + R"(","digest":")" +
                                 subject->digest.str() + R"(","size":1})");
  auto put = reg_->Manifests().Put("a", Reference{"", Digest::Of(sig)}, kOciManifest, sig);
  ASSERT_TRUE(put.has_value()) << put.error().ToString();
  ASSERT_TRUE(put->subject);
  auto refs = reg_->Referrers().List("a", subject->digest);
  ASSERT_TRUE(refs.has_value());
  ASSERT_EQ(refs->size(), 1u);
  EXPECT_EQ((*refs)[0].descriptor.artifact_type, "application/x-sig");
  EXPECT_EQ((*refs)[0].descriptor.size, sig.size());
  ASSERT_TRUE(reg_->Manifests().Delete("a", put->digest).has_value());
  EXPECT_TRUE(reg_->Referrers().List("a", subject->digest)->empty());
}

TEST_F(FsStoresTest, CatalogListsRepositoriesWithManifests) {
  BlobInfo cfg = Push("b/x", "{}");
  BlobInfo layer = Push("b/x", "l");
  for (std::string repo : {"b/x", "a", "c/d/e"}) {
    if (repo != "b/x") {
      ASSERT_TRUE(reg_->Blobs().Mount(repo, "b/x", cfg.digest).has_value());
      ASSERT_TRUE(reg_->Blobs().Mount(repo, "b/x", layer.digest).has_value());
    }
    ASSERT_TRUE(
        reg_->Manifests().Put(repo, *ParseReference("t"), kOciManifest, Manifest(cfg, layer)));
  }
  Push("only-blobs", "x");
  bool more = false;
  EXPECT_EQ(*reg_->Catalog("", 10, &more), (std::vector<std::string>{"a", "b/x", "c/d/e"}));
  EXPECT_FALSE(more);
  EXPECT_EQ(*reg_->Catalog("", 2, &more), (std::vector<std::string>{"a", "b/x"}));
  EXPECT_TRUE(more);
  EXPECT_EQ(*reg_->Catalog("b/x", 2, &more), (std::vector<std::string>{"c/d/e"}));
  EXPECT_FALSE(more);
}

TEST_F(FsStoresTest, PurgeDeletesOnlyStaleUploads) {
  auto old_up = reg_->Uploads().Start("a");
  clock_.Advance(200h);
  auto new_up = reg_->Uploads().Start("a");
  auto n = reg_->Uploads().Purge(clock_.Now() - 168h, false);
  ASSERT_TRUE(n.has_value());
  EXPECT_EQ(*n, 1u);
  EXPECT_EQ(reg_->Uploads().Get("a", old_up->id).error().code, ErrorCode::kBlobUploadUnknown);
  EXPECT_TRUE(reg_->Uploads().Get("a", new_up->id).has_value());
}

TEST_F(FsStoresTest, UploadIdsCannotEscapeTheUploadArea) {
  for (std::string id : {"../../../etc", "a/b", "", "x y"}) {
    auto r = reg_->Uploads().Get("a", id);
    ASSERT_FALSE(r.has_value());
    EXPECT_EQ(r.error().code, ErrorCode::kBlobUploadUnknown);
  }
}

TEST_F(FsStoresTest, GlobalBlobStatLinkAndDelete) {
  BlobInfo b = Push("a", "shared");
  EXPECT_EQ(reg_->Blobs().StatGlobal(b.digest)->size, 6u);
  EXPECT_EQ(reg_->Blobs().Stat("b", b.digest).error().code, ErrorCode::kBlobUnknown);
  ASSERT_TRUE(reg_->Blobs().Link("b", b.digest).has_value());
  EXPECT_TRUE(reg_->Blobs().Stat("b", b.digest).has_value());
  EXPECT_EQ(reg_->Blobs().Link("b", Digest::Of("absent")).error().code, ErrorCode::kBlobUnknown);
  ASSERT_TRUE(reg_->Blobs().DeleteGlobal(b.digest).has_value());
  EXPECT_EQ(reg_->Blobs().Stat("a", b.digest).error().code, ErrorCode::kBlobUnknown);
  EXPECT_EQ(reg_->Blobs().StatGlobal(b.digest).error().code, ErrorCode::kBlobUnknown);
  EXPECT_EQ(reg_->Blobs().DeleteGlobal(b.digest).error().code, ErrorCode::kBlobUnknown);
}

// A tag that cannot be removed stops the manifest's deletion: no tag may name a deleted revision.
TEST(FsStoresFaults, ManifestDeleteKeepsTheRevisionWhenAnUntagFails) {
  driver::FaultPlan plan;
  FakeClock clock{SystemTime(1700000000s)};
  auto ns = NewNamespace(driver::NewFaultyDriver(driver::NewInMemoryDriver(), &plan), clock);
  BlobInfo cfg = testing::PushBlob(*ns, "a", "{}");
  BlobInfo layer = testing::PushBlob(*ns, "a", "layer");
  auto put = ns->Manifests().Put("a", *ParseReference("v1"), kOciManifest,
                                 testing::ImageManifest(cfg, layer));
  ASSERT_TRUE(put.has_value());
  plan.FailPath(driver::FaultOp::kDelete, "/_manifests/tags/v1");
  auto del = ns->Manifests().Delete("a", put->digest);
  ASSERT_FALSE(del.has_value());
  EXPECT_EQ(del.error().code, ErrorCode::kIo);
  plan.Clear();
  // Still consistent: the tag resolves to a manifest that is still there.
  auto got = ns->Manifests().Get("a", *ParseReference("v1"));
  ASSERT_TRUE(got.has_value()) << got.error().ToString();
  EXPECT_EQ(got->digest, put->digest);
}

}  // namespace
}  // namespace berth::storage::fs
