#include "health/checks.h"

#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <filesystem>

#include "http/server.h"
#include "storage/driver/driver.h"
#include "storage/driver/faulty.h"
#include "storage/driver/filesystem.h"
#include "test/support/temp_dir.h"

namespace berth::health {
namespace {

using namespace std::chrono_literals;
namespace drv = storage::driver;

TEST(HealthChecks, StorageRootThatDisappearsIsNoticedAndNotRecreated) {
  testing::TempDir dir;
  std::string root = dir.Path("root");
  auto driver = drv::NewFilesystemDriver(root);
  ASSERT_TRUE(driver);
  ASSERT_TRUE((*driver)->PutContent("/docker/x", "1"));
  CheckFn check = StorageCheck(*driver, root, /*read_only=*/false);
  EXPECT_TRUE(check());
  std::filesystem::remove_all(root);
  auto st = check();
  ASSERT_FALSE(st);
  EXPECT_NE(st.error().message.find("storage root " + root), std::string::npos);
  EXPECT_FALSE(std::filesystem::exists(root));  // the probe did not bring it back
  std::filesystem::create_directory(root);
  EXPECT_TRUE(check());
  // The probe leaves nothing behind.
  EXPECT_TRUE(std::filesystem::is_empty(root));
}

TEST(HealthChecks, StorageThatRefusesWritesIsNoticed) {
  drv::FaultPlan plan;
  auto driver = drv::NewFaultyDriver(drv::NewInMemoryDriver(), &plan);
  CheckFn check = StorageCheck(driver, "", /*read_only=*/false);
  EXPECT_TRUE(check());
  plan.FailPath(drv::FaultOp::kPutContent, "berth-health", ErrorCode::kIo);
  auto st = check();
  ASSERT_FALSE(st);
  EXPECT_NE(st.error().message.find("not writable"), std::string::npos);
  // In read-only mode a write probe would fail by design: only a listing is asked for.
  EXPECT_TRUE(StorageCheck(driver, "", /*read_only=*/true)());
  plan.Clear();
  EXPECT_TRUE(check());
}

TEST(HealthChecks, ReadOnlyRootThatDisappearsIsNoticed) {
  testing::TempDir dir;
  auto driver = drv::NewFilesystemDriver(dir.path());
  ASSERT_TRUE(driver);
  std::filesystem::remove_all(dir.path());
  EXPECT_FALSE(StorageCheck(*driver, dir.path(), /*read_only=*/true)());
}

TEST(HealthChecks, FileCheckFailsWhileTheFileExists) {
  testing::TempDir dir;
  CheckFn check = FileCheck(dir.Path("drain"));
  EXPECT_TRUE(check());
  testing::WriteFile(dir.Path("drain"), "");
  auto st = check();
  ASSERT_FALSE(st);
  EXPECT_NE(st.error().message.find("drain"), std::string::npos);
}

// A listening socket on 127.0.0.1:0; its port, and whether it is still open.
struct Listener {
  int fd = -1;
  uint16_t port = 0;
  Listener() {
    fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof(a);
    EXPECT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&a), len), 0);
    EXPECT_EQ(::listen(fd, 8), 0);
    ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
    port = ntohs(a.sin_port);
  }
  void Close() {
    if (fd >= 0) ::close(fd);
    fd = -1;
  }
  ~Listener() { Close(); }
};

TEST(HealthChecks, TcpCheckNeedsAListener) {
  Listener l;
  std::string addr = "127.0.0.1:" + std::to_string(l.port);
  CheckFn check = TcpCheck(addr, 2s);
  EXPECT_TRUE(check());
  l.Close();
  auto st = check();
  ASSERT_FALSE(st);
  EXPECT_NE(st.error().message.find("cannot connect to " + addr), std::string::npos);
}

TEST(HealthChecks, HttpCheckWantsTheConfiguredStatusAndSendsHeaders) {
  std::atomic<int> status{200};
  std::string seen_method, seen_header;
  std::mutex mu;
  http::ServerOptions so;
  so.threads = 1;
  so.blocking_threads = 2;
  http::Server server(std::move(so), [&](http::Request& req) {
    std::lock_guard lock(mu);
    seen_method = req.method;
    seen_header = std::string(req.headers.Get("X-Probe"));
    http::Response r;
    r.status = status.load();
    return http::Dispatch::Respond(std::move(r));
  });
  ASSERT_TRUE(server.Start());
  HttpCheckConfig c;
  c.uri = "http://127.0.0.1:" + std::to_string(server.port()) + "/ping?x=1";
  c.headers = {{"X-Probe", "yes"}};
  c.timing.timeout = 2s;
  CheckFn check = HttpCheck(c);
  EXPECT_TRUE(check());
  {
    std::lock_guard lock(mu);
    EXPECT_EQ(seen_method, "HEAD");
    EXPECT_EQ(seen_header, "yes");
  }
  status = 500;
  auto st = check();
  ASSERT_FALSE(st);
  EXPECT_NE(st.error().message.find("status 500, want 200"), std::string::npos);
  c.statuscode = 500;
  EXPECT_TRUE(HttpCheck(c)());
  server.Shutdown(1s);
  EXPECT_FALSE(check());
}

TEST(HealthChecks, HttpCheckTimesOutOnASilentPeer) {
  Listener l;  // accepts (backlog) but never answers
  HttpCheckConfig c;
  c.uri = "http://127.0.0.1:" + std::to_string(l.port) + "/";
  c.timing.timeout = 300ms;
  auto start = std::chrono::steady_clock::now();
  auto st = HttpCheck(c)();
  ASSERT_FALSE(st);
  EXPECT_NE(st.error().message.find("timed out"), std::string::npos);
  EXPECT_LT(std::chrono::steady_clock::now() - start, 5s);
}

}  // namespace
}  // namespace berth::health
