#include "notify/audit.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

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

}  // namespace
}  // namespace berth::notify
