// Replication rules: decoding, the bandwidth limit, and the on-push service end to end against an
// in-process Berth (source: an in-memory storage stack; destination: a real server on 127.0.0.1:0).
#include <gtest/gtest.h>

#include <cstring>
#include <functional>
#include <thread>

#include "client/registry.h"
#include "replicate/bandwidth.h"
#include "replicate/config.h"
#include "replicate/copier.h"
#include "replicate/metrics.h"
#include "replicate/service.h"
#include "storage/driver/factory.h"
#include "storage/factory.h"
#include "test/support/temp_dir.h"
#include "test/support/test_server.h"
#include "transfer/import.h"

namespace berth::replicate {
namespace {

using berth::testing::TempDir;
using berth::testing::TestServer;

Result<ReplicationConfig> Decode(const std::string& yaml) {
  auto loaded = config::Load("version: 0.1\nstorage:\n  filesystem:\n    rootdirectory: /tmp/x\n" +
                                 yaml,
                             {});
  if (!loaded) return std::unexpected(loaded.error());
  return DecodeConfig(loaded->config);
}

std::string Error(const std::string& yaml) {
  auto r = Decode(yaml);
  return r ? "" : r.error().message;
}

TEST(ReplicationConfig, DecodesARule) {
  auto rc = Decode(R"(berth:
  replication:
    maxbackoff: 30s
    rules:
      - name: eu
        url: https://eu.example.com
        repository: "team/*"
        tags: '^v[0-9]+$'
        prefix: mirror/
        username: u
        password: p
        insecure: true
        trigger: [onpush, schedule]
        interval: 10m
        deletes: true
        concurrency: 4
        bandwidth: 10MB
)");
  ASSERT_TRUE(rc) << rc.error().message;
  EXPECT_EQ(rc->directory, "/tmp/x/_berth/replication");
  EXPECT_EQ(rc->max_backoff, std::chrono::seconds(30));
  ASSERT_EQ(rc->rules.size(), 1u);
  const Rule& r = rc->rules[0];
  EXPECT_EQ(r.name, "eu");
  EXPECT_EQ(r.direction, Direction::kPush);
  EXPECT_EQ(r.selection.repo_glob, "team/*");
  EXPECT_EQ(r.prefix, "mirror/");
  EXPECT_TRUE(r.on_push && r.scheduled && r.deletes && r.insecure);
  EXPECT_EQ(r.interval, std::chrono::minutes(10));
  EXPECT_EQ(r.concurrency, 4);
  EXPECT_EQ(r.bandwidth, 10u * 1000 * 1000);
}

TEST(ReplicationConfig, ErrorsNameTheKey) {
  const std::string head = "berth:\n  replication:\n    rules:\n      - name: a\n";
  const std::string url = "        url: http://h\n";
  const std::pair<std::string, std::string> cases[] = {
      {head + "        direction: sideways\n" + url, "berth.replication.rules.0.direction"},
      {head, "berth.replication.rules.0.url: required"},
      {head + url + "        direction: pull\n        trigger: onpush\n",
       "berth.replication.rules.0.trigger: onpush needs direction push"},
      {head + url + "        delete: true\n", "berth.replication.rules.0.delete: unknown key"},
      {head + url + "        bandwidth: lots\n", "berth.replication.rules.0.bandwidth"},
      {head + url + "        tags: '('\n", "berth.replication.rules.0.tags"},
      {head + url + "      - name: a\n" + url, "berth.replication.rules.1.name: \"a\" is used twice"},
      {"berth:\n  replication:\n    rules:\n      - name: ../x\n" + url,
       "berth.replication.rules.0.name"},
      {head + "        url: http://h/path\n", "rules.0.url: must have no path"},
      {head + url + "        concurrency: 0\n", "berth.replication.rules.0.concurrency"},
  };
  for (const auto& [yaml, want] : cases) {
    EXPECT_NE(Error(yaml).find(want), std::string::npos) << yaml << "\ngave: " << Error(yaml);
  }
}

TEST(ReplicationConfig, PullRulesDefaultToSchedule) {
  auto rc = Decode("berth:\n  replication:\n    rules:\n      - name: in\n        url: http://h\n"
                   "        direction: pull\n");
  ASSERT_TRUE(rc) << rc.error().message;
  EXPECT_TRUE(rc->rules[0].scheduled);
  EXPECT_FALSE(rc->rules[0].on_push);
}

TEST(Bandwidth, HoldsStreamsToTheRate) {
  Bandwidth bw(512 * 1024);
  auto t0 = std::chrono::steady_clock::now();
  std::thread other([&] { bw.Take(128 * 1024); });
  bw.Take(128 * 1024);
  bw.Take(128 * 1024);
  other.join();
  // 384 KiB at 512 KiB/s: 0.75 s (shared by both threads).
  EXPECT_GE(std::chrono::steady_clock::now() - t0, std::chrono::milliseconds(700));
}

// A one-layer image in `ns`; returns its manifest digest.
Digest PutImage(storage::Namespace& ns, const std::string& repo, const std::string& tag,
                const std::string& layer) {
  auto store = [&](const std::string& bytes) {
    Digest d = Digest::Of(bytes);
    size_t off = 0;
    auto st = transfer::StoreBlob(
        ns, repo, d, bytes.size(),
        [&](char* buf, size_t cap) -> Result<size_t> {
          size_t n = std::min(cap, bytes.size() - off);
          std::memcpy(buf, bytes.data() + off, n);
          off += n;
          return n;
        },
        nullptr);
    EXPECT_TRUE(st) << st.error().message;
    return d;
  };
  const std::string config = "{\"architecture\":\"amd64\",\"os\":\"linux\"}";
  Digest c = store(config), l = store(layer);
  std::string m = "{\"schemaVersion\":2,\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\","
                  "\"config\":{\"mediaType\":\"application/vnd.oci.image.config.v1+json\",\"digest\":\"" +
                  c.str() + "\",\"size\":" + std::to_string(config.size()) +
                  "},\"layers\":[{\"mediaType\":\"application/vnd.oci.image.layer.v1.tar\",\"digest\":\"" +
                  l.str() + "\",\"size\":" + std::to_string(layer.size()) + "}]}";
  auto put = ns.Manifests().Put(repo, *ParseReference(tag),
                                "application/vnd.oci.image.manifest.v1+json", m);
  EXPECT_TRUE(put) << put.error().message;
  return Digest::Of(m);
}

api::Event PushEvent(const std::string& repo, const std::string& tag, const Digest& d) {
  api::Event e;
  e.action = api::EventAction::kPush;
  e.repository = repo;
  e.tag = tag;
  e.digest = d.str();
  e.manifest = "{}";
  e.media_type = "application/vnd.oci.image.manifest.v1+json";
  return e;
}

// Polls `cond` for up to 20 s.
template <typename F>
bool Eventually(F cond) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (std::chrono::steady_clock::now() < deadline) {
    if (cond()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return cond();
}

storage::NamespacePtr MemoryStack() {
  return storage::NewRegistry(*storage::driver::Create("inmemory", {}));
}

// A config of one rule named `name` to `url`, with its directory in `dir`.
ReplicationConfig OneRule(const TempDir& dir, const std::string& name, const std::string& url,
                          const std::function<void(Rule&)>& adjust) {
  ReplicationConfig rc;
  rc.directory = dir.path();
  Rule rule;
  rule.name = name;
  rule.url = url;
  adjust(rule);
  rc.rules.push_back(rule);
  return rc;
}

TEST(ReplicationService, OnPushCopiesAndPropagatesDeletes) {
  auto dest = TestServer::Start();
  ASSERT_TRUE(dest);
  TempDir dir;
  auto ns = MemoryStack();
  const std::string url = "http://" + dest->hostport();
  ReplicationConfig rc = OneRule(dir, "d", url, [](Rule& r) {
    r.prefix = "copy/";
    r.selection.repo_glob = "team/*";
    r.on_push = true;
    r.deletes = true;
  });
  auto svc = Service::Start(rc, ns);
  ASSERT_TRUE(svc) << svc.error().message;

  Digest d = PutImage(*ns, "team/app", "1", "layer bytes");
  ASSERT_EQ(PutImage(*ns, "other/app", "1", "layer bytes"), d);
  (*svc)->Emit(PushEvent("other/app", "1", d));  // not selected (the glob is team/*)
  (*svc)->Emit(PushEvent("team/app", "1", d));
  client::RegistryOptions ro;
  ro.url = url;
  auto reg = client::RegistryClient::Create(ro);
  ASSERT_TRUE(reg);
  EXPECT_TRUE(Eventually([&] {
    auto m = (*reg)->HeadManifest("copy/team/app", "1");
    return m && m->digest == d;
  }));
  EXPECT_FALSE((*reg)->HeadManifest("copy/other/app", "1"));

  ASSERT_TRUE(ns->Manifests().Delete("team/app", d));
  api::Event del;
  del.action = api::EventAction::kDelete;
  del.repository = "team/app";
  del.digest = d.str();
  (*svc)->Emit(del);
  EXPECT_TRUE(Eventually([&] {
    auto m = (*reg)->HeadManifest("copy/team/app", d.str());
    return !m && m.error().Is(ErrorCode::kManifestUnknown);
  }));
  // The status is recorded just after the destination answers.
  EXPECT_TRUE(Eventually([&] { return (*svc)->Statuses()[0].deletes == 1; }));
  metrics::Registry metrics;
  auto regs = RegisterMetrics(metrics, *svc);
  const std::string text = metrics.Expose();
  EXPECT_NE(text.find("berth_replication_images_total{rule=\"d\"} 1"), std::string::npos) << text;
  EXPECT_NE(text.find("berth_replication_deletes_total{rule=\"d\"} 1"), std::string::npos);
  EXPECT_NE(text.find("berth_replication_pending_items{rule=\"d\"} 0"), std::string::npos);
  (*svc)->Stop();
  auto st = ReadRuleStatus(dir.path(), "d");
  ASSERT_TRUE(st) << st.error().message;
  EXPECT_EQ(st->images, 1u);
  EXPECT_EQ(st->deletes, 1u);
  EXPECT_EQ(st->pending, 0u);
  EXPECT_EQ(st->last_result, "ok");
}

TEST(ReplicationService, QueuedItemsWaitForADownDestinationAcrossRestarts) {
  TempDir dir;
  auto ns = MemoryStack();
  // A port nothing listens on: a server started and stopped.
  std::string url;
  {
    auto gone = TestServer::Start();
    url = "http://" + gone->hostport();
  }
  ReplicationConfig rc = OneRule(dir, "r", url, [](Rule& r) { r.on_push = true; });
  rc.max_backoff = std::chrono::seconds(1);
  Digest d = PutImage(*ns, "team/app", "1", "layer");
  {
    auto svc = Service::Start(rc, ns);
    ASSERT_TRUE(svc) << svc.error().message;
    (*svc)->Emit(PushEvent("team/app", "1", d));
    (*svc)->Flush();
    EXPECT_TRUE(Eventually([&] { return (*svc)->Statuses()[0].failures > 0; }));
    (*svc)->Stop();
  }
  auto st = ReadRuleStatus(dir.path(), "r");
  ASSERT_TRUE(st);
  EXPECT_EQ(st->pending, 1u);  // survived the stop, on disk
  EXPECT_GT(LagSeconds(*st, SystemClock().Now() + std::chrono::seconds(5)), 4.0);
}

TEST(ReplicationService, PullRuleSyncsIntoThisRegistry) {
  auto remote = TestServer::Start();
  ASSERT_TRUE(remote);
  client::RegistryOptions ro;
  ro.url = "http://" + remote->hostport();
  auto reg = client::RegistryClient::Create(ro);
  ASSERT_TRUE(reg);
  // Seed the remote registry with a copy from a local stack.
  auto seed = MemoryStack();
  Digest d = PutImage(*seed, "team/app", "1", "pulled layer");
  auto seed_src = LocalSource(seed);
  auto remote_dst = RemoteDestination(**reg, 1 << 20);
  ASSERT_TRUE(Copier(*seed_src, *remote_dst, {}).CopyImage("team/app", "1", "team/app", "1"));

  TempDir dir;
  auto here = MemoryStack();
  ReplicationConfig rc = OneRule(dir, "in", ro.url, [](Rule& r) {
    r.direction = Direction::kPull;
    r.scheduled = true;
    r.prefix = "up/";
  });
  auto svc = Service::Start(rc, here);
  ASSERT_TRUE(svc) << svc.error().message;
  auto st = (*svc)->SyncRule(0);
  ASSERT_TRUE(st) << st.error().message;
  auto got = here->Tags().Resolve("up/team/app", "1");
  ASSERT_TRUE(got) << got.error().message;
  EXPECT_EQ(*got, d);
  ASSERT_TRUE((*svc)->SyncRule(0));  // up to date: copies nothing more
  EXPECT_EQ((*svc)->Statuses()[0].images, 1u);
  EXPECT_EQ((*svc)->Statuses()[0].last_result, "ok");
}

}  // namespace
}  // namespace berth::replicate
