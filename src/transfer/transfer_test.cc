// Export, import, backup, verify and restore over in-memory registries and temp directories.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "storage/factory.h"
#include "storage/storage_testing.h"
#include "transfer/backup.h"
#include "transfer/export.h"
#include "transfer/import.h"
#include "transfer/layout_files.h"
#include "transfer/oci_layout.h"
#include "transfer/snapshot.h"

namespace berth::transfer {
namespace {

namespace fs = std::filesystem;
using storage::testing::ImageManifest;
using storage::testing::PushBlob;

struct Registry {
  storage::driver::StorageDriverPtr driver = storage::driver::NewInMemoryDriver();
  storage::NamespacePtr ns = storage::NewRegistry(driver);
};

class TempDir {
 public:
  TempDir() {
    char tmpl[] = "/tmp/berth-transfer-test-XXXXXX";
    path_ = ::mkdtemp(tmpl);
  }
  ~TempDir() { fs::remove_all(path_); }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

Digest Put(storage::Namespace& ns, const std::string& repo, const std::string& ref,
           const std::string& mt, const std::string& bytes) {
  auto r = ParseReference(ref);
  EXPECT_TRUE(r.has_value());
  auto put = ns.Manifests().Put(repo, *r, mt, bytes);
  EXPECT_TRUE(put.has_value()) << put.error().ToString();
  return put ? put->digest : Digest{};
}

std::string Desc(std::string_view mt, const Digest& d, size_t size, const std::string& extra = "") {
  return R"({"mediaType":")" + std::string(mt) + R"(","digest":")" + d.str() + R"(","size":)" +
         std::to_string(size) + extra + "}";
}

// team/app:1 (image), team/app:multi (index of two images), a referrer of team/app:1, and
// other/thing:v2 sharing a layer with team/app.
struct Fixture {
  Digest image, index, referrer, other;
  std::string image_bytes;
};

Fixture Populate(storage::Namespace& ns) {
  Fixture f;
  auto cfg = PushBlob(ns, "team/app", R"({"architecture":"amd64","os":"linux"})");
  auto layer = PushBlob(ns, "team/app", std::string(300000, 'a'));
  f.image_bytes = ImageManifest(cfg, layer);
  f.image = Put(ns, "team/app", "1", std::string(storage::kOciManifest), f.image_bytes);
  auto cfg2 = PushBlob(ns, "team/app", R"({"architecture":"arm64","os":"linux"})");
  auto layer2 = PushBlob(ns, "team/app", "arm64 layer bytes");
  std::string m2 = ImageManifest(cfg2, layer2);
  Digest d2 = Put(ns, "team/app", Digest::Of(m2).str(), std::string(storage::kOciManifest), m2);
  std::string idx =
      R"({"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[)" +
      Desc(storage::kOciManifest, f.image, f.image_bytes.size(),
           R"(,"platform":{"architecture":"amd64","os":"linux"})") +
      "," +
      Desc(storage::kOciManifest, d2, m2.size(),
           R"(,"platform":{"architecture":"arm64","os":"linux","variant":"v8"})") +
      "]}";
  f.index = Put(ns, "team/app", "multi", std::string(storage::kOciIndex), idx);
  auto sig = PushBlob(ns, "team/app", "signature payload");
  std::string ref = ImageManifest(
      cfg, sig, R"(,"subject":)" + Desc(storage::kOciManifest, f.image, f.image_bytes.size()));
  f.referrer = Put(ns, "team/app", Digest::Of(ref).str(), std::string(storage::kOciManifest), ref);
  auto ocfg = PushBlob(ns, "other/thing", R"({"os":"linux"})");
  auto olayer = PushBlob(ns, "other/thing", std::string(300000, 'a'));  // same as team/app's layer
  f.other =
      Put(ns, "other/thing", "v2", std::string(storage::kOciManifest), ImageManifest(ocfg, olayer));
  return f;
}

void ExpectSameImages(storage::Namespace& a, storage::Namespace& b, const Fixture& f) {
  for (auto [repo, tag] :
       {std::pair{"team/app", "1"}, {"team/app", "multi"}, {"other/thing", "v2"}}) {
    auto da = a.Tags().Resolve(repo, tag);
    auto db = b.Tags().Resolve(repo, tag);
    ASSERT_TRUE(db.has_value()) << repo << ":" << tag << " " << db.error().ToString();
    EXPECT_EQ(*da, *db) << repo << ":" << tag;
  }
  auto refs = b.Referrers().List("team/app", f.image);
  ASSERT_TRUE(refs.has_value());
  ASSERT_EQ(refs->size(), 1u);
  EXPECT_EQ((*refs)[0].descriptor.digest, f.referrer);
  // Every blob of every manifest is linked and readable with the right bytes.
  for (const Digest& d : {f.image, f.referrer, f.other}) {
    const std::string repo = d == f.other ? "other/thing" : "team/app";
    auto m = b.Manifests().Read(repo, d);
    ASSERT_TRUE(m.has_value());
    auto parsed = storage::ParseManifest(m->bytes, "");
    ASSERT_TRUE(parsed.has_value());
    for (const auto& l : parsed->layers) {
      auto info = b.Blobs().Stat(repo, l.digest);
      ASSERT_TRUE(info.has_value()) << l.digest.str();
      EXPECT_EQ(info->size, l.size);
    }
  }
}

Snapshot All(storage::Namespace& ns) {
  auto s = TakeSnapshot(ns, Selection{});
  EXPECT_TRUE(s.has_value());
  return *s;
}

void RoundTrip(const std::string& out_path) {
  Registry src, dst;
  Fixture f = Populate(*src.ns);
  auto out = OpenLayoutWriter(out_path);
  ASSERT_TRUE(out.has_value());
  auto ex = ExportOciLayout(*src.ns, All(*src.ns), **out, {});
  ASSERT_TRUE(ex.has_value()) << ex.error().ToString();
  EXPECT_EQ(ex->tags, 3u);
  auto in = OpenLayoutReader(out_path);
  ASSERT_TRUE(in.has_value()) << in.error().ToString();
  auto im = ImportLayout(**in, *dst.ns, {});
  ASSERT_TRUE(im.has_value()) << im.error().ToString();
  EXPECT_EQ(im->tags, 3u);
  ExpectSameImages(*src.ns, *dst.ns, f);
}

TEST(Export, DirectoryRoundTripKeepsDigestsChildrenAndReferrers) {
  TempDir t;
  RoundTrip(t.path() + "/layout");
}

TEST(Export, TarRoundTripKeepsDigestsChildrenAndReferrers) {
  TempDir t;
  RoundTrip(t.path() + "/layout.tar");
  // No temporary is left beside the archive.
  size_t n = 0;
  for (auto& e : fs::directory_iterator(t.path())) n += e.path().filename() != "layout.tar";
  EXPECT_EQ(n, 0u);
}

TEST(Export, IndexNamesEveryTagWithItsRepository) {
  TempDir t;
  Registry src;
  Fixture f = Populate(*src.ns);
  auto snap = TakeSnapshot(*src.ns, {"team/*", "^m.*"});
  ASSERT_TRUE(snap.has_value());
  ASSERT_EQ(snap->tags.size(), 1u);
  auto out = OpenLayoutWriter(t.path());
  ASSERT_TRUE(ExportOciLayout(*src.ns, *snap, **out, {}).has_value());
  std::ifstream in(t.path() + "/index.json");
  auto index = nlohmann::json::parse(in);
  // The tag, then the referrer of its child (children themselves are reached through the index).
  ASSERT_EQ(index["manifests"].size(), 2u);
  EXPECT_EQ(index["manifests"][1]["digest"], f.referrer.str());
  EXPECT_FALSE(index["manifests"][1]["annotations"].contains(std::string(kRefNameAnnotation)));
  auto e = index["manifests"][0];
  EXPECT_EQ(e["digest"], f.index.str());
  EXPECT_EQ(e["annotations"][std::string(kRefNameAnnotation)], "multi");
  EXPECT_EQ(e["annotations"][std::string(kContainerdNameAnnotation)], "team/app:multi");
  EXPECT_TRUE(fs::exists(t.path() + "/" + BlobPath(f.image)));     // child of the index
  EXPECT_TRUE(fs::exists(t.path() + "/" + BlobPath(f.referrer)));  // referrer of the child
}

TEST(Export, BadTagRegexIsInvalidArgument) {
  Registry src;
  auto snap = TakeSnapshot(*src.ns, {"*", "(["});
  ASSERT_FALSE(snap.has_value());
  EXPECT_TRUE(snap.error().Is(ErrorCode::kInvalidArgument));
}

// Flips one byte of a file, keeping its size.
void Corrupt(const std::string& path) {
  std::fstream f(path, std::ios::in | std::ios::out | std::ios::binary);
  f.seekg(10);
  char c;
  f.read(&c, 1);
  f.seekp(10);
  c ^= 0x5a;
  f.write(&c, 1);
}

// team/app:1 of a populated registry `src`, exported to the layout `t`; `dst` is empty.
class ExportedApp : public ::testing::Test {
 protected:
  void SetUp() override {
    f = Populate(*src.ns);
    auto out = OpenLayoutWriter(t.path());
    ASSERT_TRUE(out.has_value());
    ASSERT_TRUE(
        ExportOciLayout(*src.ns, *TakeSnapshot(*src.ns, {"team/app", "1"}), **out, {}).has_value());
  }
  TempDir t;
  Registry src, dst;
  Fixture f;
};

TEST_F(ExportedApp, TamperedLayerIsRefusedAndNotTagged) {
  auto m = src.ns->Manifests().Read("team/app", f.image);
  auto parsed = storage::ParseManifest(m->bytes, "");
  Corrupt(t.path() + "/" + BlobPath(parsed->layers[0].digest));
  auto in = OpenLayoutReader(t.path());
  auto im = ImportLayout(**in, *dst.ns, {});
  ASSERT_FALSE(im.has_value());
  EXPECT_TRUE(im.error().Is(ErrorCode::kDigestInvalid)) << im.error().ToString();
  EXPECT_FALSE(dst.ns->Tags().Resolve("team/app", "1").has_value());
  EXPECT_FALSE(dst.ns->Blobs().StatGlobal(parsed->layers[0].digest).has_value());
}

TEST_F(ExportedApp, TamperedManifestIsRefused) {
  Corrupt(t.path() + "/" + BlobPath(f.image));
  auto in = OpenLayoutReader(t.path());
  auto im = ImportLayout(**in, *dst.ns, {});
  ASSERT_FALSE(im.has_value());
  EXPECT_TRUE(im.error().Is(ErrorCode::kDigestInvalid)) << im.error().ToString();
}

TEST_F(ExportedApp, RepoOptionAndContainerdNameDecideTheRepository) {
  auto in = OpenLayoutReader(t.path());
  ASSERT_TRUE(ImportLayout(**in, *dst.ns, {"mirror/app", nullptr}).has_value());
  auto d = dst.ns->Tags().Resolve("mirror/app", "1");
  ASSERT_TRUE(d.has_value());
  EXPECT_EQ(*d, f.image);
  // A layout naming no repository at all needs --repo.
  std::ofstream(t.path() + "/index.json")
      << R"({"schemaVersion":2,"manifests":[)" +
             Desc(storage::kOciManifest, f.image, f.image_bytes.size()) + "]}";
  auto again = ImportLayout(**in, *dst.ns, {});
  ASSERT_FALSE(again.has_value());
  EXPECT_NE(again.error().message.find("--repo"), std::string::npos);
  // io.containerd.image.name with a registry host in front.
  std::ofstream(t.path() + "/index.json")
      << R"({"schemaVersion":2,"manifests":[)" +
             Desc(storage::kOciManifest, f.image, f.image_bytes.size(),
                  R"(,"annotations":{"io.containerd.image.name":"127.0.0.1:5000/ctr/app:7"})") +
             "]}";
  ASSERT_TRUE(ImportLayout(**in, *dst.ns, {}).has_value());
  EXPECT_TRUE(dst.ns->Tags().Resolve("ctr/app", "7").has_value());
}

TEST(Import, NotALayoutIsInvalidArgument) {
  TempDir t;
  Registry dst;
  std::ofstream(t.path() + "/index.json") << "{}";
  auto in = OpenLayoutReader(t.path());
  auto im = ImportLayout(**in, *dst.ns, {});
  ASSERT_FALSE(im.has_value());
  EXPECT_TRUE(im.error().Is(ErrorCode::kInvalidArgument));
  std::ofstream(t.path() + "/x.tar") << "definitely not a tar archive, but long enough? no";
  EXPECT_FALSE(OpenLayoutReader(t.path() + "/x.tar").has_value());
}

TEST(DockerArchive, PicksTheHostPlatformAndGroupsTags) {
  TempDir t;
  Registry src;
  Fixture f = Populate(*src.ns);
  // team/app:multi resolves (amd64) to the same image as team/app:1.
  auto out = OpenLayoutWriter(t.path() + "/d.tar");
  DockerArchiveOptions o;
  o.arch = "amd64";
  auto st = ExportDockerArchive(*src.ns, *TakeSnapshot(*src.ns, {"team/app", ""}), **out, o);
  ASSERT_TRUE(st.has_value()) << st.error().ToString();
  auto in = OpenLayoutReader(t.path() + "/d.tar");
  auto mj = nlohmann::json::parse(*(*in)->ReadFile("manifest.json", 1 << 20));
  ASSERT_EQ(mj.size(), 1u);
  EXPECT_EQ(mj[0]["RepoTags"], nlohmann::json::array({"team/app:1", "team/app:multi"}));
  auto m = storage::ParseManifest(f.image_bytes, "");
  EXPECT_EQ(mj[0]["Config"], BlobPath(m->config->digest));
  EXPECT_EQ(mj[0]["Layers"][0], BlobPath(m->layers[0].digest));
  EXPECT_TRUE((*in)->Size(BlobPath(m->layers[0].digest)).has_value());
}

TEST(Backup, SecondBackupCopiesOnlyNewBlobsAndRestores) {
  TempDir t;
  Registry src;
  Fixture f = Populate(*src.ns);
  auto first = Backup(*src.ns, *src.driver, t.path(), nullptr);
  ASSERT_TRUE(first.has_value()) << first.error().ToString();
  // cfg, layer, cfg2, layer2, sig, ocfg; olayer is layer (written once), the referrer reuses cfg.
  EXPECT_EQ(first->blobs_written, 6u);
  // A new image with one new layer and one old one.
  auto cfg = PushBlob(*src.ns, "team/app", R"({"architecture":"amd64","os":"linux","v":2})");
  auto layer = PushBlob(*src.ns, "team/app", "new layer");
  Put(*src.ns, "team/app", "2", std::string(storage::kOciManifest), ImageManifest(cfg, layer));
  auto second = Backup(*src.ns, *src.driver, t.path(), nullptr);
  ASSERT_TRUE(second.has_value());
  EXPECT_EQ(second->blobs_written, 2u);
  EXPECT_EQ(second->tags, 4u);
  auto in = OpenLayoutReader(t.path());
  auto v = VerifyLayout(**in, nullptr);
  ASSERT_TRUE(v.has_value()) << v.error().ToString();
  Registry dst;
  auto r = Restore(**in, *dst.ns, *dst.driver, nullptr);
  ASSERT_TRUE(r.has_value()) << r.error().ToString();
  ExpectSameImages(*src.ns, *dst.ns, f);
  EXPECT_TRUE(dst.ns->Tags().Resolve("team/app", "2").has_value());
  // The untagged arm64 child and the referrer came back as revisions too.
  auto revs = ListRevisions(*dst.driver, "team/app");
  auto src_revs = ListRevisions(*src.driver, "team/app");
  EXPECT_EQ(*revs, *src_revs);
  // Restoring over data is refused.
  auto again = Restore(**in, *dst.ns, *dst.driver, nullptr);
  ASSERT_FALSE(again.has_value());
  EXPECT_TRUE(again.error().Is(ErrorCode::kInvalidArgument));
}

TEST(Backup, UntaggedManifestIsBackedUp) {
  TempDir t;
  Registry src;
  auto cfg = PushBlob(*src.ns, "lone/repo", R"({"os":"linux"})");
  auto layer = PushBlob(*src.ns, "lone/repo", "bytes");
  std::string m = ImageManifest(cfg, layer);
  Digest d = Put(*src.ns, "lone/repo", Digest::Of(m).str(), std::string(storage::kOciManifest), m);
  ASSERT_TRUE(Backup(*src.ns, *src.driver, t.path(), nullptr).has_value());
  Registry dst;
  auto in = OpenLayoutReader(t.path());
  ASSERT_TRUE(Restore(**in, *dst.ns, *dst.driver, nullptr).has_value());
  EXPECT_TRUE(dst.ns->Manifests().Resolve("lone/repo", Reference{"", d}).has_value());
}

TEST(Backup, VerifyFindsACorruptBlobAndAMissingOne) {
  TempDir t;
  Registry src;
  Fixture f = Populate(*src.ns);
  ASSERT_TRUE(Backup(*src.ns, *src.driver, t.path(), nullptr).has_value());
  auto m = storage::ParseManifest(f.image_bytes, "");
  const std::string layer = t.path() + "/" + BlobPath(m->layers[0].digest);
  Corrupt(layer);
  auto in = OpenLayoutReader(t.path());
  auto v = VerifyLayout(**in, nullptr);
  ASSERT_FALSE(v.has_value());
  EXPECT_TRUE(v.error().Is(ErrorCode::kDigestInvalid)) << v.error().ToString();
  fs::remove(layer);
  v = VerifyLayout(**in, nullptr);
  ASSERT_FALSE(v.has_value());
  EXPECT_TRUE(v.error().Is(ErrorCode::kBlobUnknown)) << v.error().ToString();
}

}  // namespace
}  // namespace berth::transfer
