// The pull-through cache's size and age limits (proxy/evictor.h) over a real upstream, with the
// storage stack assembled in-process so the eviction pass can be run and time moved by hand.
#include <gtest/gtest.h>

#include <thread>

#include "config/config.h"
#include "proxy/evictor.h"
#include "proxy/proxy.h"
#include "storage/factory.h"
#include "test/api/api_test_util.h"
#include "test/support/temp_dir.h"

namespace berth::testing {
namespace {

struct Cache {
  TempDir dir;
  FakeClock clock{SystemClock().Now()};
  storage::NamespacePtr local;
  storage::NamespacePtr ns;
  std::shared_ptr<proxy::Proxy> proxy;

  Cache(const TestServer& up, const std::string& limits) {
    auto loaded = config::Load(
        "version: 0.1\nproxy:\n  remoteurl: http://" + up.hostport() + "\n" + limits, {});
    EXPECT_TRUE(loaded) << loaded.error().message;
    auto driver = storage::driver::NewFilesystemDriver(dir.path());
    EXPECT_TRUE(driver);
    auto p = proxy::Proxy::Create(loaded->config, *driver, &clock);
    EXPECT_TRUE(p && *p);
    proxy = *p;
    local = storage::NewRegistry(*driver);
    ns = proxy->Wrap(local);
  }

  // A client's pull: the tag, then every blob read to the end.
  void Pull(const std::string& repo, const std::vector<std::string>& blobs) {
    auto ref = ParseReference("v1");
    ASSERT_TRUE(ref);
    ASSERT_TRUE(ns->Manifests().Resolve(repo, *ref));
    for (const std::string& b : blobs) {
      auto d = Digest::Parse(b);
      ASSERT_TRUE(d);
      auto r = ns->Blobs().Open(repo, *d, 0);
      ASSERT_TRUE(r) << r.error().message;
      char buf[65536];
      while (true) {
        auto n = (*r)->Read(buf, sizeof buf);
        ASSERT_TRUE(n) << n.error().message;
        if (*n == 0) break;
      }
    }
    // The reader may finish before the fetch has committed and linked the blob: wait (bounded).
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    for (const std::string& b : blobs) {
      while (!Linked(repo, b) && std::chrono::steady_clock::now() < deadline) {
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
      }
    }
  }
  bool Linked(const std::string& repo, const std::string& blob) {
    return local->Blobs().Stat(repo, *Digest::Parse(blob)).has_value();
  }
};

TEST(ProxyEvict, LeastRecentlyPulledGoFirstUntilUnderTheLimit) {
  auto up = StartServer();
  HttpClient uc(up->port());
  PushedImage a = PushImage(uc, "library/a", "v1", 1);
  PushedImage b = PushImage(uc, "library/b", "v1", 2);
  uint64_t a_bytes = a.config.size() + a.layer.size();
  uint64_t b_bytes = b.config.size() + b.layer.size();
  // Room for one image's blobs, not both.
  Cache c(*up, "berth:\n  proxy:\n    maxcachesize: " + std::to_string(std::max(a_bytes, b_bytes)) +
                   "\n");
  std::vector<std::string> a_blobs = {Sha256(a.config), Sha256(a.layer)};
  std::vector<std::string> b_blobs = {Sha256(b.config), Sha256(b.layer)};
  c.Pull("library/a", a_blobs);
  c.clock.Advance(std::chrono::minutes(1));
  c.Pull("library/b", b_blobs);
  c.clock.Advance(std::chrono::minutes(1));
  c.Pull("library/a", a_blobs);  // a is now the most recently pulled
  ASSERT_TRUE(c.ns->Reconcile());
  auto st = c.proxy->evictor()->Run();
  ASSERT_TRUE(st) << st.error().message;
  EXPECT_EQ(st->cached_bytes, a_bytes + b_bytes);
  EXPECT_EQ(st->links_removed, 2u);
  for (const auto& blob : b_blobs) EXPECT_FALSE(c.Linked("library/b", blob)) << blob;
  for (const auto& blob : a_blobs) EXPECT_TRUE(c.Linked("library/a", blob)) << blob;
  // An evicted blob pulled again is fetched again.
  c.Pull("library/b", b_blobs);
  for (const auto& blob : b_blobs) EXPECT_TRUE(c.Linked("library/b", blob)) << blob;
}

TEST(ProxyEvict, BlobsNotPulledWithinTheTtlGo) {
  auto up = StartServer();
  HttpClient uc(up->port());
  PushedImage a = PushImage(uc, "library/a", "v1", 1);
  Cache c(*up, "  ttl: 1h\n");
  std::vector<std::string> blobs = {Sha256(a.config), Sha256(a.layer)};
  c.Pull("library/a", blobs);
  ASSERT_TRUE(c.ns->Reconcile());
  c.clock.Advance(std::chrono::minutes(59));
  auto kept = c.proxy->evictor()->Run();
  ASSERT_TRUE(kept);
  EXPECT_EQ(kept->links_removed, 0u);
  c.clock.Advance(std::chrono::minutes(2));
  auto gone = c.proxy->evictor()->Run();
  ASSERT_TRUE(gone);
  EXPECT_EQ(gone->links_removed, 2u);
  for (const auto& blob : blobs) EXPECT_FALSE(c.Linked("library/a", blob));
}

}  // namespace
}  // namespace berth::testing
