#include "notify/audit.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "notify/changes.h"
#include "notify/runtime.h"
#include "test/support/temp_dir.h"

namespace berth::notify {
namespace {

using nlohmann::json;

std::vector<json> ReadLines(const std::string& path) {
  std::ifstream in(path);
  std::vector<json> out;
  for (std::string line; std::getline(in, line);) out.push_back(json::parse(line));
  return out;
}

api::Event Ev(api::EventAction a) {
  api::Event e;
  e.action = a;
  e.repository = "team/app";
  e.request = {"rid", "10.1.2.3:4444", "reg", "PUT", "evil\"\n{\"action\":\"forged\"}"};
  e.status = 201;
  return e;
}

TEST(Audit, RecordsWhoWhatWhereAndResult) {
  berth::testing::TempDir dir;
  AuditConfig cfg{.enabled = true, .path = dir.Path("logs/audit.log")};
  auto log = AuditLog::Open(cfg);
  ASSERT_TRUE(log) << log.error().message;
  api::Event push = Ev(api::EventAction::kPush);
  push.actor = "alice";
  push.tag = "v1";
  push.digest = "sha256:" + std::string(64, 'e');
  (*log)->Emit(push);
  api::Event denied = Ev(api::EventAction::kDenied);
  denied.status = 403;
  denied.reason = "insufficient scope";
  (*log)->Emit(denied);
  (*log)->RecordReload(false, "http.tls.key: cannot read");
  (*log)->Flush();
  auto lines = ReadLines(cfg.path);
  ASSERT_EQ(lines.size(), 3u);  // the user agent could not add a line
  EXPECT_EQ(lines[0]["action"], "push");
  EXPECT_EQ(lines[0]["result"], "success");
  EXPECT_EQ(lines[0]["status"], 201);
  EXPECT_EQ(lines[0]["actor"]["name"], "alice");
  EXPECT_EQ(lines[0]["actor"]["addr"], "10.1.2.3:4444");
  EXPECT_EQ(lines[0]["actor"]["useragent"], push.request.user_agent);
  EXPECT_EQ(lines[0]["repository"], "team/app");
  EXPECT_EQ(lines[0]["reference"], "v1");
  EXPECT_EQ(lines[0]["digest"], push.digest);
  EXPECT_EQ(lines[1]["action"], "denied");
  EXPECT_EQ(lines[1]["result"], "denied");
  EXPECT_EQ(lines[1]["reason"], "insufficient scope");
  EXPECT_FALSE(lines[1]["actor"].contains("name"));  // anonymous
  EXPECT_EQ(lines[2]["action"], "config reload");
  EXPECT_EQ(lines[2]["result"], "failure");
}

TEST(Audit, RotatesBySizeKeepingMaxBackups) {
  berth::testing::TempDir dir;
  AuditConfig cfg{
      .enabled = true, .path = dir.Path("audit.log"), .max_bytes = 4096, .max_backups = 2};
  auto log = AuditLog::Open(cfg);
  ASSERT_TRUE(log);
  for (int i = 0; i < 100; ++i) {
    api::Event e = Ev(api::EventAction::kPull);
    e.tag = "t" + std::to_string(i);
    (*log)->Emit(e);
    if (i % 10 == 9) (*log)->Flush();  // several batches
  }
  (*log)->Flush();
  EXPECT_TRUE(std::filesystem::exists(cfg.path + ".1"));
  EXPECT_TRUE(std::filesystem::exists(cfg.path + ".2"));
  EXPECT_FALSE(std::filesystem::exists(cfg.path + ".3"));
  for (const auto& p : {cfg.path, cfg.path + ".1", cfg.path + ".2"}) {
    EXPECT_LE(std::filesystem::file_size(p), 4096u) << p;
  }
  auto current = ReadLines(cfg.path);
  ASSERT_FALSE(current.empty());
  EXPECT_EQ(current.back()["reference"], "t99");
  auto older = ReadLines(cfg.path + ".1");
  ASSERT_FALSE(older.empty());
  EXPECT_EQ(older.back()["reference"], "t" + std::to_string(99 - current.size()));
}

TEST(Audit, UnwritablePathFailsToOpenNamingTheKey) {
  auto log = AuditLog::Open({.enabled = true, .path = "/proc/no/such/audit.log"});
  ASSERT_FALSE(log);
  EXPECT_NE(log.error().message.find("berth.audit.path"), std::string::npos) << log.error().message;
}

TEST(Audit, TenancyChangesFromTheServerAndACliProcessReachTheTrail) {
  berth::testing::TempDir dir;
  const std::string path = dir.Path("audit.log");
  auto loaded = config::Load(
      "version: 0.1\nstorage: inmemory\nberth: {audit: {enabled: true, path: " + path + "}}\n", {});
  ASSERT_TRUE(loaded) << loaded.error().message;
  // The server's: through the running audit log.
  std::vector<api::EventSinkPtr> sinks;
  auto rt = Attach(loaded->config, sinks);
  ASSERT_TRUE(rt) << rt.error().message;
  ChangeHook server = (*rt)->ChangeRecorder();
  ASSERT_TRUE(server);
  server("admin", "user.add", "bob", "");
  (*rt)->audit->Flush();
  // A CLI process's: its own writer on the same file, each line on disk when the hook returns.
  auto cli = OpenChangeRecorder(loaded->config);
  ASSERT_TRUE(cli) << cli.error().message;
  ASSERT_TRUE(*cli);
  (*cli)("", "grant.set", "acme/ci", "role=write \"quoted\"\n{\"action\":\"forged\"}");
  auto lines = ReadLines(path);
  ASSERT_EQ(lines.size(), 2u);  // the detail could not add a line
  EXPECT_EQ(lines[0]["action"], "user.add");
  EXPECT_EQ(lines[0]["result"], "success");
  EXPECT_EQ(lines[0]["actor"]["name"], "admin");
  EXPECT_EQ(lines[0]["target"], "bob");
  EXPECT_FALSE(lines[0].contains("detail"));
  EXPECT_EQ(lines[1]["action"], "grant.set");
  EXPECT_FALSE(lines[1].contains("actor"));  // unknown actor: left out, not ""
  EXPECT_EQ(lines[1]["target"], "acme/ci");
  EXPECT_EQ(lines[1]["detail"], "role=write \"quoted\"\n{\"action\":\"forged\"}");
}

TEST(Audit, NoChangeRecorderWithoutAFileToWrite) {
  auto off = config::Load("version: 0.1\nstorage: inmemory\n", {});
  ASSERT_TRUE(off);
  auto hook = OpenChangeRecorder(off->config);
  ASSERT_TRUE(hook);
  EXPECT_FALSE(*hook);
  auto to_stdout =
      config::Load("version: 0.1\nstorage: inmemory\nberth: {audit: {enabled: true}}\n", {});
  ASSERT_TRUE(to_stdout);
  hook = OpenChangeRecorder(to_stdout->config);
  ASSERT_TRUE(hook);
  EXPECT_FALSE(*hook);  // another process's standard output is out of reach
  std::vector<api::EventSinkPtr> sinks;
  auto rt = Attach(off->config, sinks);
  ASSERT_TRUE(rt);
  EXPECT_FALSE((*rt)->ChangeRecorder());
  auto bad =
      config::Load("version: 0.1\nstorage: inmemory\nberth: {audit: {enabled: maybe}}\n", {});
  ASSERT_TRUE(bad);
  auto refused = OpenChangeRecorder(bad->config);
  ASSERT_FALSE(refused);
  EXPECT_NE(refused.error().message.find("berth.audit.enabled"), std::string::npos);
}

}  // namespace
}  // namespace berth::notify
