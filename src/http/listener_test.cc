#include <gtest/gtest.h>

#include "http/server_test_util.h"

namespace berth::http {
namespace {

using namespace std::chrono_literals;

TEST(Server, StartFailsWhenPortIsInUse) {
  TestServer first(EchoHandler);
  ServerOptions o = TestOptions();
  o.port = first.port();
  Server second(o, EchoHandler);
  Status s = second.Start();
  ASSERT_FALSE(s.has_value());
  EXPECT_EQ(s.error().code, ErrorCode::kIo);
  EXPECT_NE(s.error().message.find("in use"), std::string::npos) << s.error().message;
}

TEST(Server, StartFailsOnBadAddress) {
  ServerOptions o = TestOptions();
  o.host = "256.1.1.1";
  Server s(o, EchoHandler);
  Status st = s.Start();
  ASSERT_FALSE(st.has_value());
  EXPECT_EQ(st.error().code, ErrorCode::kIo);
}

TEST(Server, ShutdownDrainsInFlightRequestButClosesIdleOnes) {
  auto log = std::make_shared<SinkLog>();
  TestServer ts([&](Request& req) {
    if (req.path == "/upload") return Dispatch::StreamBody(std::make_unique<RecordingSink>(log));
    return EchoHandler(req);
  });
  Client idle(ts.port());
  ASSERT_TRUE(idle.Send("GET /hello HTTP/1.1\r\nHost: x\r\n\r\n"));
  ASSERT_TRUE(idle.Read());
  Client busy(ts.port());
  ASSERT_TRUE(busy.Send("PATCH /upload HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\n12345"));
  ASSERT_TRUE(Eventually([&] {
    std::lock_guard lock(log->mu);
    return log->data.size() == 5;
  }));

  std::atomic<bool> done{false};
  auto started = Clock::now();
  std::thread stopper([&] {
    ts.server().Shutdown(3000ms);
    done = true;
  });
  EXPECT_TRUE(idle.WaitClosed(1000ms));
  EXPECT_FALSE(done.load());
  auto r = ExpectAnswerThenClose(busy, "67890", 201);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->Header("Connection"), "close");
  stopper.join();
  EXPECT_LT(Clock::now() - started, 2500ms);
  // No new connections after shutdown.
  Client late(ts.port(), 500ms);
  EXPECT_TRUE(!late.connected() || late.WaitClosed(1000ms));
}

TEST(Server, ShutdownClosesRequestsThatOutliveTheDrain) {
  auto log = std::make_shared<SinkLog>();
  TestServer ts(
      [&](Request&) { return Dispatch::StreamBody(std::make_unique<RecordingSink>(log)); });
  Client busy(ts.port());
  ASSERT_TRUE(busy.Send("PATCH /upload HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\n12345"));
  ASSERT_TRUE(Eventually([&] {
    std::lock_guard lock(log->mu);
    return log->data.size() == 5;
  }));
  auto start = Clock::now();
  ts.server().Shutdown(200ms);
  auto took = Clock::now() - start;
  EXPECT_GE(took, 150ms);
  EXPECT_LT(took, 2000ms);
  std::lock_guard lock(log->mu);
  EXPECT_EQ(log->finishes, 1);
  ASSERT_TRUE(log->finish_error);
  EXPECT_EQ(log->finish_error->code, ErrorCode::kCancelled);
}

TEST(Server, ThousandIdleKeepAliveConnectionsCloseOnShutdown) {
  rlimit rl{};
  getrlimit(RLIMIT_NOFILE, &rl);
  if (rl.rlim_cur < 4096) {
    rl.rlim_cur = std::min<rlim_t>(rl.rlim_max, 4096);
    setrlimit(RLIMIT_NOFILE, &rl);
  }
  if (rl.rlim_cur < 2200) GTEST_SKIP() << "needs 2200 descriptors, have " << rl.rlim_cur;
  TestServer ts(EchoHandler);
  std::vector<std::unique_ptr<Client>> clients;
  for (int i = 0; i < 1000; ++i) {
    clients.push_back(std::make_unique<Client>(ts.port()));
    ASSERT_TRUE(clients.back()->connected()) << i;
    ASSERT_TRUE(clients.back()->Send("GET /hello HTTP/1.1\r\nHost: x\r\n\r\n"));
  }
  for (auto& c : clients) ASSERT_TRUE(c->Read());
  // Still serving with all of them open.
  Client extra(ts.port());
  ASSERT_TRUE(extra.Send("GET /hello HTTP/1.1\r\nHost: x\r\n\r\n"));
  ASSERT_TRUE(extra.Read());
  auto start = Clock::now();
  ts.server().Shutdown(5000ms);
  EXPECT_LT(Clock::now() - start, 1500ms);  // idle ones do not wait for the drain
  for (auto& c : clients) ASSERT_TRUE(c->WaitClosed(1000ms));
}

TEST(Server, WaitForSignalReturnsZeroOnShutdown) {
  TestServer ts(EchoHandler);
  std::thread stopper([&] { ts.server().Shutdown(100ms); });
  EXPECT_EQ(ts.server().WaitForSignal(), 0);
  stopper.join();
}

TEST(Server, WaitForSignalReturnsTheSignal) {
  TestServer ts(EchoHandler);
  // Raise only once the server's handler is installed: before that SIGTERM would end the test run.
  std::thread raiser([] {
    auto deadline = Clock::now() + 5s;
    while (Clock::now() < deadline) {
      struct sigaction current {};
      sigaction(SIGTERM, nullptr, &current);
      if (current.sa_handler != SIG_DFL && current.sa_handler != SIG_IGN) {
        kill(getpid(), SIGTERM);
        return;
      }
      std::this_thread::sleep_for(1ms);
    }
  });
  EXPECT_EQ(ts.server().WaitForSignal(), SIGTERM);
  raiser.join();
}

}  // namespace
}  // namespace berth::http
