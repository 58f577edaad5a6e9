// The pull-through cache against real upstreams on loopback: another in-process Berth (plain, and
// with the built-in token service), driven over sockets like a client would.
#include <gtest/gtest.h>

#include <atomic>
#include <condition_variable>
#include <filesystem>
#include <fstream>
#include <thread>

#include "auth/htpasswd.h"
#include "auth/jwt.h"
#include "common/digest.h"
#include "proxy/blob_fetcher.h"
#include "proxy/upstreams.h"
#include "storage/driver/faulty.h"
#include "storage/driver/filesystem.h"
#include "storage/factory.h"
#include "test/api/api_test_util.h"
#include "test/api/counting_stores.h"
#include "test/support/temp_dir.h"

namespace berth::testing {
namespace {

constexpr char kOciManifest[] = "application/vnd.oci.image.manifest.v1+json";
constexpr char kOciConfig[] = "application/vnd.oci.image.config.v1+json";
constexpr char kOciLayer[] = "application/vnd.oci.image.layer.v1.tar+gzip";

struct Image {
  std::string config, layer, manifest, digest;
  std::string config_digest, layer_digest;
};

// Pushes an image with a `layer_size`-byte layer to `repo`:`tag` of the server `c` talks to.
Image PushBigImage(HttpClient& c, const std::string& repo, const std::string& tag,
                   uint64_t layer_size, int seed, const HeaderList& auth = {}) {
  Image im;
  im.config = "{\"architecture\":\"amd64\",\"os\":\"linux\",\"seed\":" + std::to_string(seed) + "}";
  im.layer = PatternBytes(layer_size, static_cast<uint64_t>(seed));
  for (auto* blob : {&im.config, &im.layer}) {
    Response start = c.Request("POST", "/v2/" + repo + "/blobs/uploads/", "", auth);
    EXPECT_EQ(start.status, 202) << Describe(start);
    std::string digest = Sha256(*blob);
    HeaderList h = auth;
    h.emplace_back("Content-Type", "application/octet-stream");
    Response put =
        c.Request("PUT", WithQuery(PathOf(start.Header("Location")), "digest=" + digest), *blob, h);
    EXPECT_EQ(put.status, 201) << Describe(put);
  }
  im.config_digest = Sha256(im.config);
  im.layer_digest = Sha256(im.layer);
  nlohmann::json m = {{"schemaVersion", 2},
                      {"mediaType", kOciManifest},
                      {"config", DescriptorOf(kOciConfig, im.config)},
                      {"layers", nlohmann::json::array({DescriptorOf(kOciLayer, im.layer)})}};
  im.manifest = m.dump();
  HeaderList h = auth;
  h.emplace_back("Content-Type", kOciManifest);
  Response put = c.Request("PUT", "/v2/" + repo + "/manifests/" + tag, im.manifest, h);
  EXPECT_EQ(put.status, 201) << Describe(put);
  im.digest = put.Header("Docker-Content-Digest");
  return im;
}

// Pulls `repo`:`ref` like a client: manifest, then each blob; checks every byte by digest.
::testing::AssertionResult Pull(HttpClient& c, const std::string& repo, const std::string& ref,
                                const Image& want) {
  Response m =
      c.Request("GET", "/v2/" + repo + "/manifests/" + ref, "", {{"Accept", kOciManifest}});
  if (m.status != 200) return ::testing::AssertionFailure() << "manifest: " << Describe(m);
  if (m.body != want.manifest) return ::testing::AssertionFailure() << "manifest bytes differ";
  if (m.Header("Docker-Content-Digest") != want.digest) {
    return ::testing::AssertionFailure() << "manifest digest " << m.Header("Docker-Content-Digest");
  }
  for (const std::string* d : {&want.config_digest, &want.layer_digest}) {
    Response b = c.Request("GET", "/v2/" + repo + "/blobs/" + *d);
    if (b.status != 200)
      return ::testing::AssertionFailure() << "blob " << *d << ": " << Describe(b);
    if (Sha256(b.body) != *d) return ::testing::AssertionFailure() << "blob " << *d << " corrupt";
  }
  return ::testing::AssertionSuccess();
}

std::string Mirror(const TestServer& upstream) {
  return "proxy:\n  remoteurl: http://" + upstream.hostport() + "\n";
}

// An upstream whose storage calls are counted (Blobs.Open = one blob GET served).
struct CountedUpstream {
  CallCounts counts;
  std::unique_ptr<TestServer> server;
  explicit CountedUpstream(TestServerOptions o = {}) {
    o.deps.decorate_storage = [this](storage::NamespacePtr inner) {
      return NewCountingNamespace(std::move(inner), counts);
    };
    server = StartServer(o);
  }
};

// Polls `cond` until it holds or `limit` passes; its last value.
template <typename F>
bool WaitUntil(F cond, std::chrono::seconds limit = std::chrono::seconds(20)) {
  auto deadline = std::chrono::steady_clock::now() + limit;
  while (!cond() && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return cond();
}

bool EmptyOrAbsent(const std::string& dir) {
  return !std::filesystem::exists(dir) || std::filesystem::is_empty(dir);
}

TEST(Proxy, TwentyClientsPullingOneColdImageFetchEachBlobOnce) {
  CountedUpstream up;
  HttpClient uc(up.server->port());
  Image im = PushBigImage(uc, "library/busybox", "latest", 24 << 20, 7);
  auto proxy = StartServer(WithYaml(Mirror(*up.server)));
  up.counts.Reset();

  std::atomic<int> ok{0};
  std::vector<std::thread> clients;
  std::vector<std::string> failures(20);
  for (int i = 0; i < 20; ++i) {
    clients.emplace_back([&, i] {
      HttpClient c(proxy->port(), std::chrono::seconds(60));
      auto r = Pull(c, "library/busybox", "latest", im);
      if (r) {
        ++ok;
      } else {
        failures[i] = r.message();
      }
    });
  }
  for (auto& t : clients) t.join();
  for (const auto& f : failures) EXPECT_EQ(f, "");
  EXPECT_EQ(ok.load(), 20);
  // Each blob left the upstream exactly once (every GET is one Blobs.Open there).
  EXPECT_EQ(up.counts.Get("Blobs.Open"), 2) << "upstream blob GETs";
  // And the cache serves the next pull without the upstream's blobs.
  HttpClient again(proxy->port());
  EXPECT_TRUE(Pull(again, "library/busybox", "latest", im));
  EXPECT_EQ(up.counts.Get("Blobs.Open"), 2);
}

TEST(Proxy, CachedImagePullsWithTheUpstreamDown) {
  auto up = StartServer();
  HttpClient uc(up->port());
  Image im = PushBigImage(uc, "library/app", "v1", 1 << 20, 3);
  auto proxy = StartServer(WithYaml(Mirror(*up)));
  HttpClient c(proxy->port());
  ASSERT_TRUE(Pull(c, "library/app", "v1", im));
  up->Stop();
  up.reset();
  // By tag (stale within the limit, logged) and by digest (cached for good).
  EXPECT_TRUE(Pull(c, "library/app", "v1", im));
  EXPECT_TRUE(Pull(c, "library/app", im.digest, im));
  // What was never cached is a clean 503, not a hang or a 500.
  Response miss = c.Request("GET", "/v2/library/app/manifests/other");
  EXPECT_EQ(miss.status, 503) << Describe(miss);
  EXPECT_EQ(ErrorCode(miss), "UNAVAILABLE");
}

TEST(Proxy, UpstreamBreakingMidBlobCachesNothingAndTheNextPullCompletes) {
  storage::driver::FaultPlan plan;
  TempDir dir;
  auto base = storage::driver::NewFilesystemDriver(dir.path());
  ASSERT_TRUE(base);
  // Blob bodies through BodySource::Read (not file mappings), so the fault reaches them.
  TestServerOptions o = WithYaml("berth:\n  http:\n    transfer:\n      mapfiles: false\n");
  o.root = dir.path();
  o.deps.driver = storage::driver::NewFaultyDriver(*base, &plan);
  auto up = StartServer(o);
  HttpClient uc(up->port());
  Image im = PushBigImage(uc, "library/big", "latest", 16 << 20, 5);
  auto proxy = StartServer(WithYaml(Mirror(*up)));
  HttpClient c(proxy->port(), std::chrono::seconds(30));
  // The upstream's third read of the layer's data fails: its response stops mid-body.
  plan.Add({.op = storage::driver::FaultOp::kRead, .path_contains = "", .nth = 3});
  Response broken = c.Request("GET", "/v2/library/big/blobs/" + im.layer_digest);
  EXPECT_TRUE(broken.status == 0 || broken.status >= 500 || broken.body.size() < im.layer.size())
      << Describe(broken);
  // Nothing of it is in the cache: no blob data, no upload session left behind.
  std::string hex = im.layer_digest.substr(7);
  std::filesystem::path data = std::filesystem::path(proxy->root()) /
                               "docker/registry/v2/blobs/sha256" / hex.substr(0, 2) / hex / "data";
  std::filesystem::path uploads =
      std::filesystem::path(proxy->root()) / "docker/registry/v2/repositories/library/big/_uploads";
  // The fetch ends on its own thread just after the client saw the break: wait for it (bounded).
  EXPECT_TRUE(WaitUntil([&] { return EmptyOrAbsent(uploads); }, std::chrono::seconds(10)));
  EXPECT_FALSE(std::filesystem::exists(data));
  plan.Clear();
  HttpClient fresh(proxy->port(), std::chrono::seconds(30));
  EXPECT_TRUE(Pull(fresh, "library/big", "latest", im));
  // The client has every byte before the fetch commits (it is served from the fetch's memory):
  // the blob appears in the cache a moment later.
  EXPECT_TRUE(WaitUntil([&] { return std::filesystem::exists(data); }, std::chrono::seconds(10)));
}

// A driver whose writers under _uploads/ block in Write until released: a disk that stalls.
class StallingDriver : public storage::driver::DriverWrapper {
 public:
  using DriverWrapper::DriverWrapper;
  void Release() {
    {
      std::lock_guard lk(mu_);
      released_ = true;
    }
    cv_.notify_all();
  }

 protected:
  class Writer : public storage::driver::FileWriterWrapper {
   public:
    Writer(storage::driver::FileWriterPtr w, StallingDriver& d)
        : FileWriterWrapper(std::move(w)), d_(d) {}
    Status Write(const char* data, size_t n) override {
      std::unique_lock lk(d_.mu_);
      d_.cv_.wait_for(lk, std::chrono::seconds(30), [&] { return d_.released_; });
      lk.unlock();
      return FileWriterWrapper::Write(data, n);
    }

   private:
    StallingDriver& d_;
  };
  Result<storage::driver::FileWriterPtr> DoNewWriter(std::string_view path, bool append) override {
    BERTH_ASSIGN_OR_RETURN(auto w, target().NewWriter(path, append));
    if (path.find("/_uploads/") == std::string_view::npos) return w;
    return storage::driver::FileWriterPtr(std::make_unique<Writer>(std::move(w), *this));
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  bool released_ = false;
};

// An upstream holding library/app:v1 with a `layer_size`-byte layer, and a filesystem driver over
// a temp dir for a mirror of it to use (through a decorator the test chooses).
struct UpstreamAndDisk {
  std::unique_ptr<TestServer> up = StartServer();
  Image im;
  TempDir dir;
  storage::driver::StorageDriverPtr base;

  UpstreamAndDisk(uint64_t layer_size, int seed) {
    HttpClient uc(up->port());
    im = PushBigImage(uc, "library/app", "v1", layer_size, seed);
    auto b = storage::driver::NewFilesystemDriver(dir.path());
    EXPECT_TRUE(b);
    if (b) base = *b;
  }
  std::unique_ptr<TestServer> StartMirror(storage::driver::StorageDriverPtr driver) const {
    TestServerOptions o = WithYaml(Mirror(*up));
    o.root = dir.path();
    o.deps.driver = std::move(driver);
    return StartServer(o);
  }
  std::string Path(const std::string& rel) const { return dir.Path(rel); }
};

// The upstreams of a registry:2-style mirror of `up` (for tests that drive a BlobFetcher).
std::shared_ptr<proxy::Upstreams> MirrorUpstreams(const TestServer& up) {
  proxy::ProxyConfig pc;
  pc.upstreams.push_back({.url = "http://" + up.hostport(), .where = "proxy"});
  auto ups = proxy::Upstreams::Create(pc, &SystemClock());
  EXPECT_TRUE(ups) << ups.error().ToString();
  return ups ? *ups : nullptr;
}

// A BlobFetcher mirroring `up` over `driver` (the cache's disk), as the proxy builds one.
struct FetcherRig {
  std::shared_ptr<proxy::Upstreams> ups;
  storage::NamespacePtr local;
  std::unique_ptr<proxy::BlobFetcher> fetcher;
  FetcherRig(const TestServer& up, const storage::driver::StorageDriverPtr& driver,
             std::chrono::milliseconds stall, size_t max_fetches = 8,
             uint64_t window = proxy::kDefaultFetchWindow)
      : ups(MirrorUpstreams(up)),
        local(storage::NewRegistry(driver)),
        fetcher(std::make_unique<proxy::BlobFetcher>(*local, driver, stall, max_fetches, window)) {}
  proxy::Match Find(std::string_view repo) const { return ups ? ups->Find(repo) : proxy::Match{}; }
};

TEST(Proxy, ClientsGetTheBytesWhileTheCacheDiskStalls) {
  UpstreamAndDisk env(6 << 20, 11);
  auto stalling = std::make_shared<StallingDriver>(env.base);
  auto proxy = env.StartMirror(stalling);
  // The layer reaches the client from memory although nothing of it could be written yet.
  HttpClient c(proxy->port(), std::chrono::seconds(20));
  Response b = c.Request("GET", "/v2/library/app/blobs/" + env.im.layer_digest);
  EXPECT_EQ(b.status, 200) << Describe(b);
  EXPECT_TRUE(Sha256(b.body) == env.im.layer_digest);
  stalling->Release();
  // Once the disk moves again the blob is cached.
  std::string hex = env.im.layer_digest.substr(7);
  std::string data =
      env.Path("docker/registry/v2/blobs/sha256/" + hex.substr(0, 2) + "/" + hex + "/data");
  EXPECT_TRUE(WaitUntil([&] { return std::filesystem::exists(data); }));
  EXPECT_TRUE(Pull(c, "library/app", "v1", env.im));
}

TEST(Proxy, CacheDiskFullMidBlobCachesNothingAndTheNextPullCompletes) {
  UpstreamAndDisk env(24 << 20, 12);
  storage::driver::FaultPlan plan;
  plan.FailWritesAfter(3 << 20, "/_uploads/");
  auto proxy = env.StartMirror(storage::driver::NewFaultyDriver(env.base, &plan));
  HttpClient c(proxy->port(), std::chrono::seconds(30));
  Response broken = c.Request("GET", "/v2/library/app/blobs/" + env.im.layer_digest);
  EXPECT_TRUE(broken.status == 0 || broken.status >= 500 ||
              broken.body.size() < env.im.layer.size())
      << Describe(broken);
  std::string uploads = env.Path("docker/registry/v2/repositories/library/app/_uploads");
  EXPECT_TRUE(WaitUntil([&] { return EmptyOrAbsent(uploads); }, std::chrono::seconds(10)));
  plan.Clear();
  HttpClient fresh(proxy->port(), std::chrono::seconds(30));
  EXPECT_TRUE(Pull(fresh, "library/app", "v1", env.im));
}

// The value of the series `series` (exact text before the value) in a scrape, or -1.
double Scraped(const std::string& scrape, const std::string& series) {
  size_t pos = scrape.find("\n" + series + " ");
  if (pos == std::string::npos) return -1;
  return std::stod(scrape.substr(pos + series.size() + 2));
}

TEST(Proxy, MetricsPerUpstreamOnTheDebugEndpoint) {
  auto up = StartServer();
  HttpClient uc(up->port());
  Image im = PushBigImage(uc, "library/app", "v1", 300'000, 13);
  auto proxy = StartServer(WithYaml(
      "http:\n  debug:\n    addr: 127.0.0.1:0\n    prometheus:\n      enabled: true\n"
      "berth:\n  proxy:\n    upstreams:\n      - prefix: hub/\n        url: http://" +
      up->hostport() + "\n        tagttl: 0s\n      - prefix: other/\n        url: http://" +
      up->hostport() + "\n"));
  HttpClient c(proxy->port());
  ASSERT_TRUE(Pull(c, "hub/library/app", "v1", im));  // cold
  ASSERT_TRUE(Pull(c, "hub/library/app", "v1", im));  // warm (the tag revalidated: unchanged)
  up->Stop();
  ASSERT_TRUE(Pull(c, "hub/library/app", "v1", im));  // the tag served stale
  HttpClient debug(proxy->debug_port());
  Response r = debug.Request("GET", "/metrics");
  ASSERT_EQ(r.status, 200);
  auto at = [&](const char* family, const char* upstream) {
    return Scraped(r.body, std::string(family) + "{upstream=\"" + upstream + "\"}");
  };
  EXPECT_EQ(at("berth_proxy_blob_fetches_total", "hub/"), 2);
  const double bodies =
      static_cast<double>(im.layer.size() + im.config.size() + im.manifest.size());
  EXPECT_EQ(at("berth_proxy_fetched_bytes_total", "hub/"), bodies);
  EXPECT_GE(at("berth_proxy_misses_total", "hub/"), 3);  // tag, config, layer
  EXPECT_GE(at("berth_proxy_hits_total", "hub/"), 4);    // the warm pull's tag and two blobs...
  EXPECT_GE(at("berth_proxy_upstream_requests_total", "hub/"), 4);
  EXPECT_EQ(at("berth_proxy_stale_serves_total", "hub/"), 1);
  EXPECT_GE(at("berth_proxy_errors_total", "hub/"), 1);  // the HEAD that found it down
  for (const char* family :
       {"berth_proxy_hits_total", "berth_proxy_misses_total", "berth_proxy_upstream_requests_total",
        "berth_proxy_blob_fetches_total", "berth_proxy_fetched_bytes_total",
        "berth_proxy_errors_total", "berth_proxy_stale_serves_total"}) {
    EXPECT_EQ(at(family, "other/"), 0) << family;
  }
}

// Counts what a mirror asks its upstream for: every request (the mirror's own metric) and the
// upstream's blob reads.
struct MirrorOfCountedUpstream {
  CountedUpstream up;
  Image im;
  std::unique_ptr<TestServer> proxy;
  explicit MirrorOfCountedUpstream(const std::string& extra_yaml, uint8_t seed) {
    HttpClient uc(up.server->port());
    im = PushBigImage(uc, "library/app", "v1", 300'000, seed);
    proxy = StartServer(WithYaml(
        "http:\n  debug:\n    addr: 127.0.0.1:0\n    prometheus:\n      enabled: true\n" +
        Mirror(*up.server) + extra_yaml));
    up.counts.Reset();
  }
  int64_t UpstreamRequests() {
    HttpClient debug(proxy->debug_port());
    Response r = debug.Request("GET", "/metrics");
    return Scraped(r.body, "berth_proxy_upstream_requests_total{upstream=\"http://" +
                               up.server->hostport() + "\"}");
  }
  int BlobReads() { return up.counts.Get("Blobs.Open"); }
  int ManifestLookups() { return up.counts.Get("Manifests.Resolve"); }
};

TEST(Proxy, AColdTagIsOneManifestRequestUpstreamAndAWarmPullNoBlobRequest) {
  MirrorOfCountedUpstream m("", 19);
  HttpClient c(m.proxy->port());
  ASSERT_TRUE(Pull(c, "library/app", "v1", m.im));
  // GET /v2/ (the challenge), the manifest by tag (no HEAD before it), the config, the layer. The
  // upstream's stores count what reached them: one tag resolution, two blob reads. (The mirror's
  // own request count is at least 4; under load it was once 5, a second challenge most likely.)
  EXPECT_GE(m.UpstreamRequests(), 4);
  EXPECT_EQ(m.ManifestLookups(), 1);
  EXPECT_EQ(m.BlobReads(), 2);
  // Warm: the tag's revalidation (registry:2 checks a tag on every pull), no blob.
  ASSERT_TRUE(Pull(c, "library/app", "v1", m.im));
  EXPECT_EQ(m.ManifestLookups(), 2);
  EXPECT_EQ(m.BlobReads(), 2);
}

// With berth.proxy.tagttl, the registry:2 form trusts a cached tag for that long: a warm pull does
// not ask the upstream about the tag, nor for any blob.
TEST(Proxy, TagTtlSparesTheRegistry2FormsRevalidation) {
  MirrorOfCountedUpstream m("berth:\n  proxy:\n    tagttl: 1h\n", 23);
  HttpClient c(m.proxy->port());
  ASSERT_TRUE(Pull(c, "library/app", "v1", m.im));
  EXPECT_EQ(m.ManifestLookups(), 1);
  ASSERT_TRUE(Pull(c, "library/app", "v1", m.im));
  EXPECT_EQ(m.ManifestLookups(), 1);  // the tag was not asked about again
  EXPECT_EQ(m.BlobReads(), 2);
}

TEST(ProxyFetcher, ColdBlobsBeyondTheCapQueueAndAllComplete) {
  auto up = StartServer();
  HttpClient uc(up->port());
  std::vector<Image> images;
  for (int i = 0; i < 6; ++i) {
    images.push_back(PushBigImage(uc, "library/app", "v" + std::to_string(i), 2 << 20, 20 + i));
  }
  auto ups = MirrorUpstreams(*up);
  ASSERT_TRUE(ups);
  TempDir dir;
  auto driver = storage::driver::NewFilesystemDriver(dir.path());
  ASSERT_TRUE(driver);
  storage::NamespacePtr local = storage::NewRegistry(*driver);
  proxy::BlobFetcher fetcher(*local, *driver, std::chrono::seconds(60), /*max_fetches=*/2);
  proxy::Match m = ups->Find("library/app");
  ASSERT_TRUE(m);
  std::atomic<size_t> most_threads{0};
  std::atomic<int> intact{0};
  std::vector<std::thread> clients;
  for (const Image& im : images) {
    clients.emplace_back([&, d = *Digest::Parse(im.layer_digest)] {
      auto r = fetcher.Open(m, "library/app", d, 0);
      if (!r) return;
      Hasher h(DigestAlgorithm::kSha256);
      std::vector<char> buf(1 << 20);
      while (true) {
        size_t t = fetcher.threads();
        size_t seen = most_threads.load();
        while (t > seen && !most_threads.compare_exchange_weak(seen, t)) {
        }
        auto n = (*r)->Read(buf.data(), buf.size());
        if (!n || *n == 0) break;
        h.Update(std::string_view(buf.data(), *n));
      }
      if (h.Current() == d) ++intact;
    });
  }
  for (auto& t : clients) t.join();
  EXPECT_EQ(intact.load(), 6);
  EXPECT_LE(most_threads.load(), 2u);
  EXPECT_EQ(ups->all()[0]->blob_fetches.load(), 6u);
}

// A driver that counts readers opened on, and small files written to, paths containing `part`
// (e.g. "/_uploads/": the cache's sessions), over a decorated driver.
class PathCountingDriver : public storage::driver::DriverWrapper {
 public:
  PathCountingDriver(storage::driver::StorageDriverPtr target, std::string part)
      : DriverWrapper(std::move(target)), part_(std::move(part)) {}
  int reads() const { return reads_.load(); }
  int puts() const { return puts_.load(); }

 protected:
  Result<storage::driver::ReaderPtr> DoNewReader(std::string_view path, uint64_t offset) override {
    if (path.find(part_) != std::string_view::npos) ++reads_;
    return DriverWrapper::DoNewReader(path, offset);
  }
  Status DoPutContent(std::string_view path, std::string_view content) override {
    if (path.find(part_) != std::string_view::npos) ++puts_;
    return DriverWrapper::DoPutContent(path, content);
  }

 private:
  std::string part_;
  std::atomic<int> reads_{0};
  std::atomic<int> puts_{0};
};

// The registry:2 form revalidates a tag on every pull, but rewrites the tag's link (its check time
// on disk) only when that time is older than a minute: the rewrite was most of what a warm pull
// cost more than a normal one.
TEST(Proxy, RevalidatingAnUnchangedTagRewritesItsLinkOnlyWhenItsTimeIsOld) {
  CountedUpstream up;
  HttpClient uc(up.server->port());
  Image im = PushBigImage(uc, "library/app", "v1", 1000, 29);
  TempDir dir;
  auto base = storage::driver::NewFilesystemDriver(dir.path());
  ASSERT_TRUE(base);
  auto counting = std::make_shared<PathCountingDriver>(*base, "/_manifests/tags/v1/current/");
  TestServerOptions o = WithYaml(Mirror(*up.server));
  o.root = dir.path();
  o.deps.driver = counting;
  auto proxy = StartServer(o);
  HttpClient c(proxy->port());
  ASSERT_TRUE(Pull(c, "library/app", "v1", im));
  up.counts.Reset();
  const int after_cold = counting->puts();
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(Pull(c, "library/app", "v1", im));
  EXPECT_EQ(up.counts.Get("Manifests.Resolve"), 3);  // still checked upstream on every pull
  EXPECT_EQ(counting->puts(), after_cold);           // but the link was not rewritten
  // A link whose time is older than a minute (a restart: nothing in memory is newer) is renewed.
  const std::filesystem::path link =
      std::filesystem::path(dir.path()) /
      "docker/registry/v2/repositories/library/app/_manifests/tags/v1/current/link";
  const auto old = std::filesystem::file_time_type::clock::now() - std::chrono::minutes(10);
  std::filesystem::last_write_time(link, old);
  proxy.reset();
  proxy = StartServer(o);
  HttpClient c2(proxy->port());
  ASSERT_TRUE(Pull(c2, "library/app", "v1", im));
  EXPECT_EQ(counting->puts(), after_cold + 1);
  EXPECT_GT(std::filesystem::last_write_time(link), old + std::chrono::minutes(9));
}

TEST(ProxyFetcher, TheCommitVerifiesTheDigestWithoutReadingTheBlobBack) {
  UpstreamAndDisk env(8 << 20, 14);
  auto counting = std::make_shared<PathCountingDriver>(env.base, "/_uploads/");
  FetcherRig rig(*env.up, counting, std::chrono::seconds(60));
  proxy::Match m = rig.Find("library/app");
  ASSERT_TRUE(m);
  const Digest d = *Digest::Parse(env.im.layer_digest);
  // No client reads along: the fetch writes, hashes as it writes, commits.
  auto info = rig.fetcher->Stat(m, "library/app", d);
  ASSERT_TRUE(info) << info.error().ToString();
  EXPECT_EQ(info->size, env.im.layer.size());
  ASSERT_TRUE(WaitUntil([&] { return rig.fetcher->running() == 0; }));
  auto cached = rig.local->Blobs().Stat("library/app", d);
  ASSERT_TRUE(cached) << cached.error().ToString();
  EXPECT_EQ(cached->size, env.im.layer.size());
  // The 8 MiB were hashed on their way to the disk, not read back from it at the commit.
  EXPECT_EQ(counting->reads(), 0);
}

TEST(ProxyFetcher, TheMemoryWindowBoundsHowFarAFetchRunsAheadOfAStalledDisk) {
  UpstreamAndDisk env(6 << 20, 16);
  auto stalling = std::make_shared<StallingDriver>(env.base);
  FetcherRig rig(*env.up, stalling, std::chrono::milliseconds(500), 8, /*window=*/2 << 20);
  proxy::Match m = rig.Find("library/app");
  ASSERT_TRUE(m);
  const Digest d = *Digest::Parse(env.im.layer_digest);
  auto r = rig.fetcher->Open(m, "library/app", d, 0);
  ASSERT_TRUE(r) << r.error().ToString();
  // Nothing reaches the disk: the client gets the window's 2 MiB, then nothing more comes.
  std::string got;
  std::vector<char> buf(256 << 10);
  Result<size_t> n;
  while ((n = (*r)->Read(buf.data(), buf.size())) && *n > 0) got.append(buf.data(), *n);
  EXPECT_FALSE(n);  // the stall limit, not the end
  EXPECT_EQ(got.size(), 2u << 20);
  EXPECT_EQ(got, env.im.layer.substr(0, got.size()));
  // Once the disk moves the fetch completes and caches the blob.
  stalling->Release();
  ASSERT_TRUE(WaitUntil([&] { return rig.fetcher->running() == 0; }));
  EXPECT_TRUE(rig.local->Blobs().Stat("library/app", d));
}

// Reads `r` to its end; what it returned.
std::string ReadAll(storage::driver::Reader& r) {
  std::string got;
  std::vector<char> buf(256 << 10);
  while (true) {
    auto n = r.Read(buf.data(), buf.size());
    if (!n || *n == 0) break;
    got.append(buf.data(), *n);
  }
  return got;
}

TEST(ProxyFetcher, OneFetchPerUpstreamAndDigestAcrossRepositoriesEachConfirmedUpstream) {
  CountedUpstream up;
  HttpClient uc(up.server->port());
  Image a = PushBigImage(uc, "library/a", "v1", 3 << 20, 17);
  Image b = PushBigImage(uc, "library/b", "v1", 3 << 20, 17);  // the same layer
  PushBigImage(uc, "library/c", "v1", 1000, 18);                 // not that layer
  ASSERT_EQ(a.layer_digest, b.layer_digest);
  TempDir dir;
  auto base = storage::driver::NewFilesystemDriver(dir.path());
  ASSERT_TRUE(base);
  // The disk stalls, so the first fetch is still running when the other repositories ask.
  auto stalling = std::make_shared<StallingDriver>(*base);
  FetcherRig rig(*up.server, stalling, std::chrono::seconds(20));
  ASSERT_TRUE(rig.ups);
  const Digest d = *Digest::Parse(a.layer_digest);
  up.counts.Reset();
  auto ra = rig.fetcher->Open(rig.Find("library/a"), "library/a", d, 0);
  ASSERT_TRUE(ra) << ra.error().ToString();
  auto rb = rig.fetcher->Open(rig.Find("library/b"), "library/b", d, 0);
  ASSERT_TRUE(rb) << rb.error().ToString();
  // library/c does not have the blob upstream: it does not get it through library/a's fetch.
  auto rc = rig.fetcher->Open(rig.Find("library/c"), "library/c", d, 0);
  EXPECT_FALSE(rc);
  EXPECT_EQ(rig.fetcher->running(), 1u);
  EXPECT_TRUE(ReadAll(**ra) == a.layer);
  EXPECT_TRUE(ReadAll(**rb) == a.layer);
  stalling->Release();
  ASSERT_TRUE(WaitUntil([&] { return rig.fetcher->running() == 0; }));
  EXPECT_EQ(up.counts.Get("Blobs.Open"), 1) << "upstream blob GETs";
  EXPECT_EQ(rig.ups->all()[0]->blob_fetches.load(), 1u);
  // Cached for both repositories that were confirmed, not for the other.
  EXPECT_TRUE(rig.local->Blobs().Stat("library/a", d));
  EXPECT_TRUE(rig.local->Blobs().Stat("library/b", d));
  EXPECT_FALSE(rig.local->Blobs().Stat("library/c", d));
}

TEST(ProxyFetcher, AClientThatGoesAwayDoesNotStopTheFetch) {
  CountedUpstream up;
  HttpClient uc(up.server->port());
  Image im = PushBigImage(uc, "library/app", "v1", 6 << 20, 20);
  TempDir dir;
  auto base = storage::driver::NewFilesystemDriver(dir.path());
  ASSERT_TRUE(base);
  auto stalling = std::make_shared<StallingDriver>(*base);  // keeps the fetch running
  FetcherRig rig(*up.server, stalling, std::chrono::seconds(20));
  const Digest d = *Digest::Parse(im.layer_digest);
  up.counts.Reset();
  {
    auto r = rig.fetcher->Open(rig.Find("library/app"), "library/app", d, 0);
    ASSERT_TRUE(r) << r.error().ToString();
    std::vector<char> buf(64 << 10);
    auto n = (*r)->Read(buf.data(), buf.size());
    ASSERT_TRUE(n && *n > 0);
  }  // the only client leaves after its first bytes
  stalling->Release();
  ASSERT_TRUE(WaitUntil([&] { return rig.fetcher->running() == 0; }));
  // Cached whole, from the one upstream GET.
  auto cached = rig.local->Blobs().Open("library/app", d, 0);
  ASSERT_TRUE(cached) << cached.error().ToString();
  EXPECT_TRUE(ReadAll(**cached) == im.layer);
  EXPECT_EQ(up.counts.Get("Blobs.Open"), 1) << "upstream blob GETs";
}

TEST(ProxyFetcher, ARequestAfterTheLastByteIsServedFromTheCommittedBlobsFile) {
  UpstreamAndDisk env(6 << 20, 21);
  auto stalling = std::make_shared<StallingDriver>(env.base);
  FetcherRig rig(*env.up, stalling, std::chrono::seconds(20));
  const Digest d = *Digest::Parse(env.im.layer_digest);
  auto first = rig.fetcher->Open(rig.Find("library/app"), "library/app", d, 0);
  ASSERT_TRUE(first) << first.error().ToString();
  // Every byte is in (from memory: the disk stalls), nothing is committed yet.
  EXPECT_TRUE(ReadAll(**first) == env.im.layer);
  EXPECT_EQ((*first)->NativeFd(), -1);
  stalling->Release();
  // A request now waits for the commit (a few milliseconds of writing and hashing) and gets the
  // cached blob's file, which the server can send without copying, rather than following the
  // fetch through copies.
  auto late = rig.fetcher->Open(rig.Find("library/app"), "library/app", d, 0);
  ASSERT_TRUE(late) << late.error().ToString();
  EXPECT_GE((*late)->NativeFd(), 0);
  EXPECT_TRUE(ReadAll(**late) == env.im.layer);
}

TEST(ProxyFetcher, AFollowerStillReadsTheFetchsMemoryAfterTheCommit) {
  UpstreamAndDisk env(6 << 20, 22);
  auto stalling = std::make_shared<StallingDriver>(env.base);
  auto counting = std::make_shared<PathCountingDriver>(stalling, "/blobs/");
  FetcherRig rig(*env.up, counting, std::chrono::seconds(20));
  const Digest d = *Digest::Parse(env.im.layer_digest);
  auto r = rig.fetcher->Open(rig.Find("library/app"), "library/app", d, 0);
  ASSERT_TRUE(r) << r.error().ToString();
  // The fetch commits before this client reads anything: the bytes are still in the fetch's
  // memory (6 MiB, within the window), so they come from there, not from the blob's file.
  stalling->Release();
  ASSERT_TRUE(WaitUntil([&] { return rig.fetcher->running() == 0; }));
  EXPECT_TRUE(ReadAll(**r) == env.im.layer);
  EXPECT_EQ(counting->reads(), 0);
}

TEST(Proxy, UpstreamSendingOtherBytesForADigestCachesNothing) {
  CountedUpstream up;
  HttpClient uc(up.server->port());
  Image im = PushBigImage(uc, "library/app", "v1", 3 << 20, 15);
  // The upstream's copy of the layer rots on its disk: same size, other bytes (it serves them
  // as they are; the mirror must not keep them under the layer's digest).
  std::string hex = im.layer_digest.substr(7);
  const std::string rel = "docker/registry/v2/blobs/sha256/" + hex.substr(0, 2) + "/" + hex + "/data";
  {
    std::string rotten = im.layer;
    rotten[rotten.size() / 2] ^= 0x55;
    std::ofstream(up.server->root() + "/" + rel, std::ios::binary | std::ios::trunc) << rotten;
  }
  auto proxy = StartServer(WithYaml(Mirror(*up.server)));
  up.counts.Reset();
  HttpClient c(proxy->port(), std::chrono::seconds(30));
  Response b = c.Request("GET", "/v2/library/app/blobs/" + im.layer_digest);
  EXPECT_NE(Sha256(b.body), im.layer_digest);  // whatever arrived is not the layer
  std::string uploads = proxy->root() + "/docker/registry/v2/repositories/library/app/_uploads";
  EXPECT_TRUE(WaitUntil([&] { return EmptyOrAbsent(uploads); }, std::chrono::seconds(10)));
  EXPECT_FALSE(std::filesystem::exists(proxy->root() + "/" + rel));
  // Not cached: the next request fetches again.
  (void)c.Request("GET", "/v2/library/app/blobs/" + im.layer_digest);
  EXPECT_EQ(up.counts.Get("Blobs.Open"), 2) << "upstream blob GETs";
  EXPECT_FALSE(std::filesystem::exists(proxy->root() + "/" + rel));
}

TEST(Proxy, PrefixedUpstreamsBesideLocalRepositoriesAndContainerdNs) {
  auto up = StartServer();
  HttpClient uc(up->port());
  Image im = PushBigImage(uc, "library/busybox", "latest", 100'000, 2);
  auto proxy =
      StartServer(WithYaml("berth:\n  proxy:\n    upstreams:\n      - prefix: hub/\n"
                           "        url: http://" +
                           up->hostport() + "\n        ns: docker.io\n"));
  HttpClient c(proxy->port());
  EXPECT_TRUE(Pull(c, "hub/library/busybox", "latest", im));
  // containerd: the upstream's own name with ?ns=docker.io.
  Response m = c.Request("GET", "/v2/library/busybox/manifests/latest?ns=docker.io", "",
                         {{"Accept", kOciManifest}});
  EXPECT_EQ(m.status, 200) << Describe(m);
  EXPECT_EQ(m.body, im.manifest);
  // Pushing into the mirrored namespace is refused clearly; local repositories take pushes.
  Response push = c.Request("POST", "/v2/hub/library/busybox/blobs/uploads/");
  EXPECT_EQ(push.status, 405) << Describe(push);
  EXPECT_EQ(ErrorCode(push), "UNSUPPORTED");
  EXPECT_NE(push.body.find("pull-through cache"), std::string::npos);
  Response put = c.Request("PUT", "/v2/hub/library/busybox/manifests/x", im.manifest,
                           {{"Content-Type", kOciManifest}});
  EXPECT_EQ(put.status, 405) << Describe(put);
  Image mine = PushBigImage(c, "team/app", "v1", 1000, 9);
  EXPECT_TRUE(Pull(c, "team/app", "v1", mine));
  // A local blob is not exposed under a mirrored name the upstream does not have it in.
  Response leak = c.Request("GET", "/v2/hub/library/busybox/blobs/" + mine.layer_digest);
  EXPECT_EQ(leak.status, 404) << Describe(leak);
  // Tags come from the upstream.
  Response tags = c.Request("GET", "/v2/hub/library/busybox/tags/list");
  EXPECT_EQ(tags.status, 200);
  EXPECT_NE(tags.body.find("latest"), std::string::npos);
}

TEST(Proxy, TagsAreRevalidatedAfterTheirTtlOnly) {
  auto up = StartServer();
  HttpClient uc(up->port());
  Image v1 = PushBigImage(uc, "library/app", "latest", 1000, 1);
  std::string cfg =
      "berth:\n  proxy:\n    upstreams:\n      - prefix: slow/\n        url: http://" +
      up->hostport() + "\n        tagttl: 1h\n      - prefix: fast/\n        url: http://" +
      up->hostport() + "\n        tagttl: 0s\n";
  auto proxy = StartServer(WithYaml(cfg));
  HttpClient c(proxy->port());
  ASSERT_TRUE(Pull(c, "slow/library/app", "latest", v1));
  ASSERT_TRUE(Pull(c, "fast/library/app", "latest", v1));
  Image v2 = PushBigImage(uc, "library/app", "latest", 1000, 2);
  EXPECT_TRUE(Pull(c, "slow/library/app", "latest", v1));  // within its TTL
  EXPECT_TRUE(Pull(c, "fast/library/app", "latest", v2));  // revalidated, moved
}

constexpr std::string_view kPolicy = R"({
  "roles": {"admin": [{"repositories": "*", "actions": ["pull", "push", "delete"]}]},
  "users": {"alice": ["admin"]},
  "public": ["library/*"]
})";

TEST(Proxy, BearerTokenUpstreamsAnonymousAndWithCredentials) {
  TempDir dir;
  ASSERT_TRUE(auth::GenerateSigningKeyFiles(dir.path() + "/key.pem", dir.path() + "/cert.pem"));
  {
    auto hash = auth::BcryptHash("a-pass", 4);
    ASSERT_TRUE(hash);
    WriteFile(dir.Path("htpasswd"), "alice:" + *hash + "\n");
    WriteFile(dir.Path("policy.json"), kPolicy);
  }
  auto up = StartServer(
      WithYaml("auth:\n  token:\n    realm: /auth/token\n    service: berth\n    issuer: berth\n"
               "    builtin:\n      signingkey: " +
               dir.path() + "/key.pem\n      htpasswd: " + dir.path() +
               "/htpasswd\n      policy: " + dir.path() + "/policy.json\n"));
  HttpClient uc(up->port());
  // Push as alice with a token.
  Response tok = uc.Request(
      "GET",
      "/auth/token?service=berth&scope=" + QueryEscape("repository:team/private:pull,push") +
          "&scope=" + QueryEscape("repository:library/pub:pull,push"),
      "", {{"Authorization", "Basic YWxpY2U6YS1wYXNz"}});
  ASSERT_EQ(tok.status, 200) << Describe(tok);
  HeaderList bearer = {{"Authorization", "Bearer " + (*JsonBody(tok))["token"].get<std::string>()}};
  Image pub = PushBigImage(uc, "library/pub", "v1", 5000, 1, bearer);
  Image priv = PushBigImage(uc, "team/private", "v1", 5000, 2, bearer);

  auto anon = StartServer(WithYaml(Mirror(*up)));
  HttpClient a(anon->port());
  EXPECT_TRUE(Pull(a, "library/pub", "v1", pub));
  Response denied = a.Request("GET", "/v2/team/private/manifests/v1");
  EXPECT_EQ(denied.status / 100, 4) << Describe(denied);

  auto withcreds = StartServer(WithYaml(Mirror(*up) + "  username: alice\n  password: a-pass\n"));
  HttpClient w(withcreds->port());
  EXPECT_TRUE(Pull(w, "team/private", "v1", priv));
  EXPECT_TRUE(Pull(w, "library/pub", "v1", pub));
}

}  // namespace
}  // namespace berth::testing

namespace berth::testing {
namespace {

TEST(Proxy, BasicAuthUpstream) {
  TempDir dir;
  auto hash = auth::BcryptHash("s3cret", 4);
  ASSERT_TRUE(hash);
  WriteFile(dir.Path("htpasswd"), "bob:" + *hash + "\n");
  auto up = StartServer(
      WithYaml("auth:\n  htpasswd:\n    realm: up\n    path: " + dir.Path("htpasswd") + "\n"));
  HttpClient uc(up->port());
  HeaderList basic = {{"Authorization", "Basic Ym9iOnMzY3JldA=="}};  // bob:s3cret
  Image im = PushBigImage(uc, "library/app", "v1", 4000, 4, basic);
  auto good = StartServer(WithYaml(Mirror(*up) + "  username: bob\n  password: s3cret\n"));
  HttpClient g(good->port());
  EXPECT_TRUE(Pull(g, "library/app", "v1", im));
  auto bad = StartServer(WithYaml(Mirror(*up) + "  username: bob\n  password: wrong\n"));
  HttpClient b(bad->port());
  Response r = b.Request("GET", "/v2/library/app/manifests/v1");
  EXPECT_EQ(r.status / 100, 4) << Describe(r);
  EXPECT_NE(r.body.find("upstream"), std::string::npos) << r.body;
}

}  // namespace
}  // namespace berth::testing
