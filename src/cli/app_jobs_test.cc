// The App's background jobs, run on its scheduler against a real server: stale temporaries go at
// start-up, and the upload-purge job removes abandoned uploads when their age is reached.

#include <fcntl.h>
#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/stat.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <string>

#include "cli/app.h"
#include "config/config.h"
#include "jobs/scheduler.h"
#include "test/support/http_client.h"

namespace berth::cli {
namespace {

constexpr auto kWait = std::chrono::seconds(20);

class AppJobsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = (std::filesystem::temp_directory_path() / "berth-app-jobs-XXXXXX").string();
    ASSERT_NE(::mkdtemp(tmpl.data()), nullptr);
    root_ = tmpl;
  }
  void TearDown() override {
    if (app_) app_->Shutdown();
    std::error_code ec;
    std::filesystem::remove_all(root_, ec);
  }

  void StartApp(const std::string& extra_yaml, const Clock* clock) {
    std::string yaml =
        "version: 0.1\nlog:\n  level: error\n  accesslog:\n    disabled: true\n"
        "http:\n  addr: 127.0.0.1:0\nstorage:\n  filesystem:\n    rootdirectory: \"" +
        root_ + "\"\n" + extra_yaml;
    auto loaded = config::Load(yaml, {});
    ASSERT_TRUE(loaded.has_value()) << loaded.error().message;
    ASSERT_TRUE(loaded->warnings.empty()) << loaded->warnings.front();
    AppDeps deps;
    deps.clock = clock;
    auto app = App::Create(loaded->config, deps);
    ASSERT_TRUE(app.has_value()) << app.error().message;
    app_ = std::move(*app);
    auto st = app_->Start();
    ASSERT_TRUE(st.has_value()) << st.error().message;
  }

  static void WriteAged(const std::string& path, std::chrono::seconds age) {
    std::filesystem::create_directories(std::filesystem::path(path).parent_path());
    std::ofstream(path) << "half";
    auto t = std::chrono::system_clock::now() - age;
    auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(t.time_since_epoch()).count();
    struct timespec times[2];
    times[0].tv_sec = times[1].tv_sec = static_cast<time_t>(ns / 1000000000);
    times[0].tv_nsec = times[1].tv_nsec = static_cast<long>(ns % 1000000000);
    ASSERT_EQ(::utimensat(AT_FDCWD, path.c_str(), times, 0), 0) << path;
  }

  std::string root_;
  // Outlives app_ (declared before it): the scheduler's job threads wait on it until the app stops.
  FakeClock clock_{std::chrono::system_clock::now()};
  std::unique_ptr<App> app_;
};

TEST_F(AppJobsTest, StaleTemporariesAreRemovedInTheBackgroundAtStartUp) {
  const std::string tag_dir =
      root_ + "/docker/registry/v2/repositories/a/_manifests/tags/t/current";
  WriteAged(tag_dir + "/.berth-tmp-0badc0de", std::chrono::hours(3));    // left by a kill -9
  WriteAged(tag_dir + "/.berth-tmp-1f1f1f1f", std::chrono::seconds(1));  // a write in flight
  StartApp("", &SystemClock());
  auto done = app_->scheduler().WaitForRun("storage-temporaries", 1, kWait);
  ASSERT_TRUE(done.has_value() && *done);
  EXPECT_FALSE(std::filesystem::exists(tag_dir + "/.berth-tmp-0badc0de"));
  EXPECT_TRUE(std::filesystem::exists(tag_dir + "/.berth-tmp-1f1f1f1f"));
}

TEST_F(AppJobsTest, ListingReconcileJobShowsRepositoriesWrittenByAnotherProcess) {
  FakeClock& clock = clock_;
  StartApp("", &clock);
  testing::HttpClient client(app_->port());
  EXPECT_EQ(client.Request("GET", "/v2/_catalog").body, R"({"repositories":[]})");
  // Another registry process sharing the storage creates a repository.
  std::filesystem::create_directories(root_ +
                                      "/docker/registry/v2/repositories/other/_manifests/tags");
  EXPECT_EQ(client.Request("GET", "/v2/_catalog").body, R"({"repositories":[]})");
  auto target = app_->scheduler().RunNow("listing-reconcile");
  ASSERT_TRUE(target.has_value());
  auto done = app_->scheduler().WaitForRun("listing-reconcile", *target, kWait);
  ASSERT_TRUE(done.has_value() && *done);
  EXPECT_EQ(client.Request("GET", "/v2/_catalog").body, R"({"repositories":["other"]})");
}

TEST_F(AppJobsTest, UploadPurgeJobDeletesUploadsOnceTheyAreOlderThanTheAge) {
  FakeClock& clock = clock_;
  StartApp(
      "  maintenance:\n    uploadpurging:\n      enabled: true\n      age: 1h\n"
      "      interval: 24h\n      dryrun: false\n",
      &clock);
  EXPECT_EQ(app_->scheduler().Names(),
            (std::vector<std::string>{"storage-temporaries", "listing-reconcile", "upload-purge",
                                      "health-storagedriver"}));
  testing::HttpClient client(app_->port());
  auto started = client.Request("POST", "/v2/team/app/blobs/uploads/");
  ASSERT_EQ(started.status, 202) << started.body;
  std::string location = started.Header("Location");
  ASSERT_FALSE(location.empty());
  if (location.starts_with("http")) location = location.substr(location.find('/', 8));

  auto run_purge = [&] {
    auto target = app_->scheduler().RunNow("upload-purge");
    ASSERT_TRUE(target.has_value());
    auto done = app_->scheduler().WaitForRun("upload-purge", *target, kWait);
    ASSERT_TRUE(done.has_value() && *done);
  };
  // Younger than the age: kept.
  clock.Advance(std::chrono::minutes(59));
  run_purge();
  EXPECT_EQ(client.Request("GET", location).status, 204);
  // Older: purged.
  clock.Advance(std::chrono::minutes(2));
  run_purge();
  auto gone = client.Request("GET", location);
  EXPECT_EQ(gone.status, 404) << gone.body;
}

}  // namespace
}  // namespace berth::cli
