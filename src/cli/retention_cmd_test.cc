// `berth retention run [--dry-run] CONFIG` (its printed decisions, what it deletes) and the
// scheduled "retention" job inside a running App, driven by the scheduler's FakeClock.

#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "cli/app.h"
#include "config/config.h"
#include "jobs/scheduler.h"
#include "test/api/api_test_util.h"
#include "test/support/temp_dir.h"

namespace berth::cli {
namespace {

using berth::testing::HttpClient;
using berth::testing::PushImage;

constexpr auto kWait = std::chrono::seconds(20);

std::string TagLink(const std::string& root, const std::string& repo, const std::string& tag) {
  return root + "/docker/registry/v2/repositories/" + repo + "/_manifests/tags/" + tag +
         "/current/link";
}
std::string RevisionLink(const std::string& root, const std::string& repo,
                         const std::string& digest) {
  return root + "/docker/registry/v2/repositories/" + repo + "/_manifests/revisions/sha256/" +
         digest.substr(7) + "/link";
}

// Sets a file's modification time `age` into the past (a tag pushed then).
void Age(const std::string& path, std::chrono::hours age) {
  std::error_code ec;
  std::filesystem::last_write_time(
      path, std::chrono::file_clock::from_sys(std::chrono::system_clock::now() - age), ec);
  ASSERT_FALSE(ec) << path << ": " << ec.message();
}

std::string Config(const std::string& root, const std::string& berth) {
  return "version: 0.1\nlog:\n  level: error\n  accesslog:\n    disabled: true\n"
         "http:\n  addr: 127.0.0.1:0\nstorage:\n  filesystem:\n    rootdirectory: \"" +
         root + "\"\n  delete:\n    enabled: true\nberth:\n" + berth;
}

const char* kRules = R"(  retention:
    rules:
      - name: team
        repository: "team/*"
        keepdays: 7
        protected: [latest]
)";

// Runs `berth ARGS...` and returns (exit code, stdout).
std::pair<int, std::string> Berth(std::vector<std::string> args) {
  args.insert(args.begin(), "berth");
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  std::ostringstream out;
  auto* old = std::cout.rdbuf(out.rdbuf());
  int code = Main(static_cast<int>(argv.size()), argv.data());
  std::cout.rdbuf(old);
  return {code, out.str()};
}

class RetentionCommand : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = dir_.Path("data");
    {
      auto srv = berth::testing::StartServer(berth::testing::WithRoot(root_));
      ASSERT_TRUE(srv);
      HttpClient c(srv->port());
      old_ = PushImage(c, "team/app", "old", 1).digest;
      fresh_ = PushImage(c, "team/app", "fresh", 2).digest;
      latest_ = PushImage(c, "team/app", "latest", 3).digest;
      other_ = PushImage(c, "other/app", "old", 4).digest;
    }
    for (const auto& [repo, tag] : {std::pair{"team/app", "old"}, std::pair{"team/app", "latest"},
                                    std::pair{"other/app", "old"}}) {
      Age(TagLink(root_, repo, tag), std::chrono::hours(24 * 30));
    }
    config_ = dir_.Path("config.yml");
    std::ofstream(config_) << Config(root_, kRules);
  }

  berth::testing::TempDir dir_;
  std::string root_, config_;
  std::string old_, fresh_, latest_, other_;
};

TEST_F(RetentionCommand, DryRunPrintsEveryDecisionAndDeletesNothing) {
  auto [code, out] = Berth({"retention", "run", "--dry-run", config_});
  EXPECT_EQ(code, 0) << out;
  EXPECT_EQ(out,
            "team/app:fresh kept: pushed within 7 days [rule \"team\"]\n"
            "team/app:latest kept: protected [rule \"team\"]\n"
            "team/app:old would be deleted: pushed more than 7 days ago [rule \"team\"]\n"
            "team/app@" +
                old_ +
                " manifest would be deleted: its tags were deleted [rule \"team\"]\n"
                "dry run: 1 repositories, 2 tags kept, 1 tags would be deleted, 1 manifests "
                "would be deleted, 0 errors\n");
  EXPECT_TRUE(std::filesystem::exists(TagLink(root_, "team/app", "old")));
  EXPECT_TRUE(std::filesystem::exists(RevisionLink(root_, "team/app", old_)));
}

TEST_F(RetentionCommand, RunDeletesTheTagAndItsManifestOnly) {
  auto [code, out] = Berth({"retention", "run", config_});
  EXPECT_EQ(code, 0) << out;
  EXPECT_NE(out.find("team/app:old deleted: pushed more than 7 days ago [rule \"team\"]\n"),
            std::string::npos)
      << out;
  EXPECT_FALSE(std::filesystem::exists(TagLink(root_, "team/app", "old")));
  EXPECT_FALSE(std::filesystem::exists(RevisionLink(root_, "team/app", old_)));
  EXPECT_TRUE(std::filesystem::exists(TagLink(root_, "team/app", "fresh")));
  EXPECT_TRUE(std::filesystem::exists(TagLink(root_, "team/app", "latest")));
  EXPECT_TRUE(std::filesystem::exists(TagLink(root_, "other/app", "old")));  // no rule
  // Blobs are left to garbage collection.
  EXPECT_TRUE(std::filesystem::exists(root_ + "/docker/registry/v2/blobs/sha256/" +
                                      old_.substr(7, 2) + "/" + old_.substr(7) + "/data"));
}

TEST_F(RetentionCommand, ABadRuleIsAConfigurationErrorNamingTheKey) {
  std::ofstream(config_) << Config(root_,
                                   "  retention:\n    rules:\n      - repository: a\n"
                                   "        keepdays: soon\n");
  std::ostringstream err;
  auto* old = std::cerr.rdbuf(err.rdbuf());
  auto [code, out] = Berth({"retention", "run", config_});
  std::cerr.rdbuf(old);
  EXPECT_EQ(code, 2);
  EXPECT_EQ(err.str(),
            "berth retention: configuration error: berth.retention.rules.0.keepdays: not a "
            "non-negative integer: \"soon\"\n");
}

TEST(RetentionJob, RunsOnTheScheduleAndDeletesExpiredTags) {
  berth::testing::TempDir dir;
  const std::string root = dir.Path("data");
  FakeClock clock(std::chrono::system_clock::now());
  auto loaded = config::Load(Config(root, std::string(kRules) + "    interval: 1h\n"), {});
  ASSERT_TRUE(loaded.has_value()) << loaded.error().message;
  ASSERT_TRUE(loaded->warnings.empty()) << loaded->warnings.front();
  AppDeps deps;
  deps.clock = &clock;
  auto app = App::Create(loaded->config, deps);
  ASSERT_TRUE(app.has_value()) << app.error().message;
  ASSERT_TRUE((*app)->Start().has_value());
  HttpClient c((*app)->port());
  PushImage(c, "team/app", "old", 1);
  PushImage(c, "team/app", "fresh", 2);
  Age(TagLink(root, "team/app", "old"), std::chrono::hours(24 * 8));
  auto& scheduler = (*app)->scheduler();
  auto state = scheduler.State("retention");
  ASSERT_TRUE(state.has_value());
  EXPECT_EQ(state->runs, 0u);
  // The first run is 5 minutes (plus up to 1 minute of jitter) after start.
  clock.Advance(std::chrono::minutes(6) + std::chrono::seconds(1));
  scheduler.Poke();
  auto done = scheduler.WaitForRun("retention", 1, kWait);
  ASSERT_TRUE(done.has_value() && *done);
  auto tags = c.Request("GET", "/v2/team/app/tags/list");
  EXPECT_EQ(tags.body, R"({"name":"team/app","tags":["fresh"]})");
  (*app)->Shutdown();
}

}  // namespace
}  // namespace berth::cli
