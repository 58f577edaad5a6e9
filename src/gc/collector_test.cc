// The collector on the in-memory driver, content written through the real storage stack. Ages come
// from AgingDriver: whatever was written before the test calls Age() looks two hours old.
#include "gc/collector.h"

#include <gtest/gtest.h>

#include "gc/lease.h"
#include "gc/leasing_namespace.h"
#include "gc/quarantine.h"
#include "storage/factory.h"
#include "storage/paths.h"
#include "storage/storage_testing.h"

namespace berth::gc {
namespace {

namespace paths = storage::paths;
using storage::BlobInfo;
using storage::driver::FileInfo;
using storage::testing::ImageManifest;
using storage::testing::PushBlob;
using namespace std::chrono_literals;

class AgingDriver : public storage::driver::DriverWrapper {
 public:
  using DriverWrapper::DriverWrapper;
  void Age() { epoch_ = SystemClock().Now(); }
  // Called with the source path before a Move reaches the target.
  std::function<void(std::string_view)> before_move;
  // Called with the path of every Stat.
  std::function<void(std::string_view)> on_stat;

 protected:
  Result<FileInfo> DoStat(std::string_view path) override {
    if (on_stat) on_stat(path);
    auto fi = target().Stat(path);
    if (fi && fi->mod_time < epoch_) fi->mod_time -= 2h;
    return fi;
  }
  Status DoWalk(std::string_view path, const std::function<bool(const FileInfo&)>& fn) override {
    return WalkByListing(path, fn);
  }
  Status DoMove(std::string_view src, std::string_view dst) override {
    if (before_move) before_move(src);
    return target().Move(src, dst);
  }

 private:
  SystemTime epoch_{};
};

struct Image {
  BlobInfo config, layer;
  Digest manifest;
};

class CollectorTest : public ::testing::Test {
 protected:
  void SetUp() override {
    driver_ = std::make_shared<AgingDriver>(storage::driver::NewInMemoryDriver());
    plain_ = storage::NewRegistry(driver_);
    leases_ = std::make_shared<Leases>(driver_, SystemClock(), 0s);
    ns_ = WithLeases(plain_, leases_);
  }

  // An image with its own config and layer, tagged `tag` (untagged when empty).
  Image Push(const std::string& repo, const std::string& tag, const std::string& seed,
             const std::string& extra = "") {
    Image img;
    img.config = PushBlob(*ns_, repo, "config-" + seed);
    img.layer = PushBlob(*ns_, repo, "layer-" + seed);
    std::string m = ImageManifest(img.config, img.layer, extra);
    img.manifest = Digest::Of(m);
    auto ref = tag.empty() ? Reference{"", img.manifest} : Reference{tag, {}};
    auto put = ns_->Manifests().Put(repo, ref, storage::kOciManifest, m);
    EXPECT_TRUE(put.has_value()) << put.error().ToString();
    return img;
  }

  Digest PushIndex(const std::string& repo, const std::string& tag,
                   const std::vector<Digest>& children) {
    std::string m = R"({"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json",)"
                    R"("manifests":[)";
    for (size_t i = 0; i < children.size(); ++i) {
      m += std::string(i ? "," : "") +
           R"({"mediaType":"application/vnd.oci.image.manifest.v1+json","size":1,"digest":")" +
           children[i].str() + "\"}";
    }
    m += "]}";
    auto put = ns_->Manifests().Put(repo, Reference{tag, {}}, storage::kOciIndex, m);
    EXPECT_TRUE(put.has_value()) << put.error().ToString();
    return Digest::Of(m);
  }

  CollectStats Collect(bool delete_untagged, bool dry_run = false) {
    driver_->Age();
    auto s =
        gc::Collect(*driver_, SystemClock(),
                    {.dry_run = dry_run, .delete_untagged = delete_untagged, .grace_period = 1h});
    EXPECT_TRUE(s.has_value()) << s.error().ToString();
    return s ? *s : CollectStats{};
  }

  bool Stored(const Digest& d) { return driver_->Stat(paths::BlobData(d)).has_value(); }
  bool Linked(const std::string& repo, const Digest& d) {
    return driver_->Stat(paths::LayerLink(repo, d)).has_value();
  }
  bool HasRevision(const std::string& repo, const Digest& d) {
    return driver_->Stat(paths::RevisionLink(repo, d)).has_value();
  }
  void ExpectImageKept(const std::string& repo, const Image& img) {
    EXPECT_TRUE(HasRevision(repo, img.manifest));
    EXPECT_TRUE(Stored(img.manifest));
    EXPECT_TRUE(Stored(img.config.digest));
    EXPECT_TRUE(Stored(img.layer.digest));
  }

  std::shared_ptr<AgingDriver> driver_;
  storage::NamespacePtr plain_, ns_;
  LeasesPtr leases_;
};

TEST_F(CollectorTest, TaggedIndexKeepsUntaggedChildrenUnderDeleteUntagged) {
  Image amd = Push("app", "", "amd64");
  Image arm = Push("app", "", "arm64");
  Image stray = Push("app", "", "stray");
  PushIndex("app", "v1", {amd.manifest, arm.manifest});
  CollectStats s = Collect(/*delete_untagged=*/true);
  ExpectImageKept("app", amd);
  ExpectImageKept("app", arm);
  EXPECT_FALSE(HasRevision("app", stray.manifest));
  EXPECT_FALSE(Stored(stray.manifest));
  EXPECT_FALSE(Stored(stray.layer.digest));
  EXPECT_EQ(s.manifests_deleted, 1u);
  EXPECT_EQ(s.blobs_deleted, 3u);  // its manifest, config and layer
  EXPECT_TRUE(ns_->Manifests().Get("app", Reference{"v1", {}}).has_value());
}

TEST_F(CollectorTest, UntaggedManifestsKeptWithoutDeleteUntagged) {
  Image stray = Push("app", "", "stray");
  CollectStats s = Collect(/*delete_untagged=*/false);
  ExpectImageKept("app", stray);
  EXPECT_EQ(s.blobs_deleted, 0u);
}

TEST_F(CollectorTest, ReferrersOfKeptManifestsAreKept) {
  Image img = Push("app", "v1", "img");
  auto subject = [](const Digest& d) {
    return R"(,"subject":{"mediaType":"application/vnd.oci.image.manifest.v1+json","size":1,)"
           R"("digest":")" +
           d.str() + "\"}";
  };
  Image sig = Push("app", "", "sig", subject(img.manifest));
  Image gone = Push("app", "", "gone");
  Image gone_sig = Push("app", "", "gone-sig", subject(gone.manifest));
  Collect(/*delete_untagged=*/true);
  ExpectImageKept("app", sig);
  EXPECT_FALSE(HasRevision("app", gone_sig.manifest));
  EXPECT_FALSE(Stored(gone_sig.layer.digest));
  auto refs = ns_->Referrers().List("app", gone.manifest);
  ASSERT_TRUE(refs.has_value());
  EXPECT_TRUE(refs->empty());
  EXPECT_EQ(ns_->Referrers().List("app", img.manifest)->size(), 1u);
}

TEST_F(CollectorTest, YoungBlobsAreKeptOldGarbageGoes) {
  BlobInfo old_blob = PushBlob(*ns_, "app", "old garbage");
  driver_->Age();
  BlobInfo young_blob = PushBlob(*ns_, "app", "young garbage");
  // Data with no link yet (a commit between publishing and linking): kept by its own age.
  const Digest unlinked = Digest::Of("unlinked");
  ASSERT_TRUE(driver_->PutContent(paths::BlobData(unlinked), "unlinked").has_value());
  CollectStats s = gc::Collect(*driver_, SystemClock(), {.grace_period = 1h}).value();
  EXPECT_TRUE(Stored(unlinked));
  EXPECT_FALSE(Stored(old_blob.digest));
  EXPECT_TRUE(Stored(young_blob.digest));
  EXPECT_TRUE(Linked("app", young_blob.digest));
  EXPECT_EQ(s.blobs_deleted, 1u);
  EXPECT_EQ(s.bytes_freed, old_blob.size);
  // By default the old blob's link stays (as Distribution leaves it); the repository no longer
  // serves the blob.
  EXPECT_TRUE(Linked("app", old_blob.digest));
  EXPECT_EQ(s.links_deleted, 0u);
  auto head = ns_->Blobs().Stat("app", old_blob.digest);
  ASSERT_FALSE(head.has_value());
  EXPECT_EQ(head.error().code, ErrorCode::kBlobUnknown);
}

TEST_F(CollectorTest, RemoveLinksRemovesTheLinksOfDeletedBlobsOnly) {
  BlobInfo old_blob = PushBlob(*ns_, "app", "old garbage");
  driver_->Age();
  BlobInfo young_blob = PushBlob(*ns_, "app", "young garbage");
  CollectStats s =
      gc::Collect(*driver_, SystemClock(), {.grace_period = 1h, .remove_links = true}).value();
  EXPECT_FALSE(Stored(old_blob.digest));
  EXPECT_FALSE(Linked("app", old_blob.digest));
  EXPECT_TRUE(Stored(young_blob.digest));
  EXPECT_TRUE(Linked("app", young_blob.digest));
  EXPECT_EQ(s.blobs_deleted, 1u);
  EXPECT_EQ(s.links_deleted, 1u);
}

// Links left by a deleted blob (by default, or by Distribution's collector) cost later runs a name
// in a listing, never a read of their age: only blobs about to be deleted have their links' ages
// read. With remove_links a later run removes them.
TEST_F(CollectorTest, DanglingLinksAreNotReadAndGoWithRemoveLinks) {
  BlobInfo b = PushBlob(*ns_, "app", "garbage");
  ASSERT_TRUE(ns_->Blobs().Link("other", b.digest).has_value());
  CollectStats s = Collect(/*delete_untagged=*/false);
  ASSERT_EQ(s.blobs_deleted, 1u);
  ASSERT_TRUE(Linked("app", b.digest));
  ASSERT_TRUE(Linked("other", b.digest));

  size_t link_stats = 0;
  driver_->on_stat = [&](std::string_view path) {
    if (path.find("/_layers/") != std::string_view::npos) ++link_stats;
  };
  s = Collect(/*delete_untagged=*/false);
  EXPECT_EQ(link_stats, 0u);
  EXPECT_EQ(s.links_deleted, 0u);
  EXPECT_TRUE(Linked("app", b.digest));

  driver_->Age();
  s = gc::Collect(*driver_, SystemClock(), {.grace_period = 1h, .remove_links = true}).value();
  EXPECT_EQ(s.links_deleted, 2u);
  EXPECT_FALSE(Linked("app", b.digest));
  EXPECT_FALSE(Linked("other", b.digest));
  driver_->on_stat = nullptr;
}

// A repository link written within the grace period keeps an otherwise unreferenced old blob (a
// writer that takes no lease, e.g. Distribution sharing the storage, just linked it).
TEST_F(CollectorTest, YoungLinkKeepsAnOldUnreferencedBlob) {
  BlobInfo b = PushBlob(*ns_, "app", "old but just linked");
  BlobInfo gone = PushBlob(*ns_, "app", "old and not linked since");
  driver_->Age();
  ASSERT_TRUE(plain_->Blobs().Link("other", b.digest).has_value());  // no lease: plain_
  CollectStats s = gc::Collect(*driver_, SystemClock(), {.grace_period = 1h}).value();
  EXPECT_TRUE(Stored(b.digest));
  EXPECT_TRUE(Linked("app", b.digest));
  EXPECT_TRUE(Linked("other", b.digest));
  EXPECT_FALSE(Stored(gone.digest));
  EXPECT_EQ(s.blobs_deleted, 1u);
}

// Under --delete-untagged, an untagged manifest whose revision link is younger than the grace
// period stays, with its content, and so does the child of a young untagged index.
TEST_F(CollectorTest, YoungUntaggedManifestsAreKept) {
  Image old_img = Push("app", "", "old");
  Image child = Push("app", "", "child");
  driver_->Age();
  Image young_img = Push("app", "", "young");
  const Digest index = PushIndex("app", "tmp", {child.manifest});
  ASSERT_TRUE(ns_->Tags().Untag("app", "tmp").has_value());  // untagged, young
  // Nothing is leased: only the revision links' ages keep these, and a young revision is never
  // even moved aside (a GET of it must not see a 404 while the collector re-checks it).
  ASSERT_TRUE(driver_->Delete(LeasesRoot()).has_value());
  std::vector<std::string> moved;
  driver_->before_move = [&](std::string_view src) { moved.emplace_back(src); };
  CollectStats s =
      gc::Collect(*driver_, SystemClock(), {.delete_untagged = true, .grace_period = 1h}).value();
  EXPECT_FALSE(HasRevision("app", old_img.manifest));
  EXPECT_FALSE(Stored(old_img.layer.digest));
  EXPECT_EQ(s.manifests_deleted, 1u);
  EXPECT_TRUE(HasRevision("app", young_img.manifest));
  EXPECT_TRUE(Stored(young_img.layer.digest));
  EXPECT_TRUE(HasRevision("app", index));
  ExpectImageKept("app", child);
  for (const Digest& d : {young_img.manifest, index, child.manifest}) {
    EXPECT_EQ(std::count(moved.begin(), moved.end(), paths::RevisionLink("app", d)), 0) << d.str();
  }
}

// An untagged manifest loses its tags' history entries (the tags that once pointed at it), and
// only those: the history of its replacement stays.
TEST_F(CollectorTest, DeletedManifestLeavesTheTagsHistory) {
  Image first = Push("app", "v1", "first");
  Image second = Push("app", "v1", "second");  // v1 moves on: first is untagged
  Image other = Push("app", "v2", "other");
  const std::string first_entry = paths::TagIndexLink("app", "v1", first.manifest);
  const std::string second_entry = paths::TagIndexLink("app", "v1", second.manifest);
  ASSERT_TRUE(driver_->Stat(first_entry).has_value());
  Collect(/*delete_untagged=*/true);
  EXPECT_FALSE(HasRevision("app", first.manifest));
  EXPECT_FALSE(driver_->Stat(first_entry).has_value());
  EXPECT_TRUE(driver_->Stat(second_entry).has_value());
  EXPECT_TRUE(driver_->Stat(paths::TagIndexLink("app", "v2", other.manifest)).has_value());
  ExpectImageKept("app", second);
}

TEST_F(CollectorTest, DryRunDeletesNothing) {
  Image stray = Push("app", "", "stray");
  CollectStats s = Collect(/*delete_untagged=*/true, /*dry_run=*/true);
  ExpectImageKept("app", stray);
  EXPECT_EQ(s.manifests_deleted, 1u);
  EXPECT_EQ(s.blobs_deleted, 3u);
}

// The race: a client finds the blob (HEAD) while the collector is deleting it. The use comes right
// before the collector's rename; the collector must see its lease and put the blob back.
TEST_F(CollectorTest, UseRacingTheSweepKeepsTheBlob) {
  BlobInfo b = PushBlob(*ns_, "app", "shared layer");
  driver_->Age();
  bool used = false;
  driver_->before_move = [&](std::string_view src) {
    if (!used && src == paths::BlobData(b.digest)) {
      used = true;
      EXPECT_TRUE(ns_->Blobs().Stat("app", b.digest).has_value());  // HEAD: 200
    }
  };
  CollectStats s = gc::Collect(*driver_, SystemClock(), {.grace_period = 1h}).value();
  EXPECT_TRUE(used);
  EXPECT_TRUE(Stored(b.digest));
  EXPECT_TRUE(Linked("app", b.digest));
  EXPECT_EQ(s.blobs_deleted, 0u);
}

// An upload in progress whose bytes are an old unreferenced blob: its commit takes a lease, so a
// collection racing it keeps the data the commit linked.
TEST_F(CollectorTest, UploadCommitRacingTheSweepKeepsTheBlob) {
  const std::string bytes = "pushed again";
  BlobInfo b = PushBlob(*ns_, "old", bytes);
  auto up = ns_->Uploads().Start("new");
  auto w = ns_->Uploads().Open("new", up->id);
  ASSERT_TRUE(w.has_value());
  ASSERT_TRUE((*w)->Write(bytes.data(), bytes.size()).has_value());
  driver_->Age();
  driver_->before_move = [&](std::string_view src) {
    if (w && *w && src == paths::BlobData(b.digest)) {
      EXPECT_TRUE((*w)->Commit(b.digest).has_value());
      w->reset();
    }
  };
  gc::Collect(*driver_, SystemClock(), {.grace_period = 1h}).value();
  EXPECT_TRUE(Stored(b.digest));
  EXPECT_TRUE(ns_->Blobs().Stat("new", b.digest).has_value());
}

TEST_F(CollectorTest, ManifestPutAfterTheSweepIsBlobUnknownNotDangling) {
  BlobInfo cfg = PushBlob(*ns_, "app", "cfg");
  BlobInfo layer = PushBlob(*ns_, "app", "layer");
  ASSERT_TRUE(driver_->Delete(paths::BlobDir(layer.digest)).has_value());  // swept, link left
  auto put = ns_->Manifests().Put("app", Reference{"v1", {}}, storage::kOciManifest,
                                  ImageManifest(cfg, layer));
  ASSERT_FALSE(put.has_value());
  EXPECT_EQ(put.error().code, ErrorCode::kManifestBlobUnknown);
}

TEST_F(CollectorTest, InterruptedSweepIsUndone) {
  Image img = Push("app", "v1", "img");
  const std::string data = paths::BlobData(img.layer.digest);
  ASSERT_TRUE(driver_->Move(data, AsidePath(data)).has_value());  // a crash after the rename
  const std::string link = paths::RevisionLink("app", img.manifest);
  ASSERT_TRUE(driver_->Move(link, AsidePath(link)).has_value());
  Collect(/*delete_untagged=*/false);
  ExpectImageKept("app", img);
}

TEST_F(CollectorTest, OldLeasesAreRemovedFreshOnesKept) {
  Digest old_d = Digest::Of("a"), fresh_d = Digest::Of("b");
  ASSERT_TRUE(leases_->Take(old_d).has_value());
  driver_->Age();
  ASSERT_TRUE(leases_->Take(fresh_d).has_value());
  CollectStats s = gc::Collect(*driver_, SystemClock(), {.grace_period = 1h}).value();
  EXPECT_EQ(s.leases_deleted, 1u);
  EXPECT_FALSE(driver_->Stat(LeasePath(old_d)).has_value());
  EXPECT_TRUE(driver_->Stat(LeasePath(fresh_d)).has_value());
}

}  // namespace
}  // namespace berth::gc
