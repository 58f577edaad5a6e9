#include <gtest/gtest.h>

#include "http/server_test_util.h"

namespace berth::http {
namespace {

using namespace std::chrono_literals;

TEST(Server, SimpleGetReturnsBody) {
  TestServer ts(EchoHandler);
  Client c(ts.port());
  ASSERT_TRUE(c.connected());
  auto r = c.Exchange("GET /hello HTTP/1.1\r\nHost: x\r\n\r\n");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->body, "hello world");
  EXPECT_EQ(r->Header("Content-Length"), "11");
  EXPECT_EQ(r->Header("Content-Type"), "text/plain");
  EXPECT_FALSE(r->Header("Date").empty());
}

TEST(Server, KeepAliveServesSeveralRequestsOnOneConnection) {
  TestServer ts(EchoHandler);
  Client c(ts.port());
  for (int i = 0; i < 20; ++i) {
    std::string target = "/echo?i=" + std::to_string(i);
    auto r = c.Exchange("GET " + target + " HTTP/1.1\r\nHost: x\r\n\r\n");
    ASSERT_TRUE(r) << i;
    EXPECT_EQ(r->body, "GET " + target + " q=i=" + std::to_string(i));
    EXPECT_TRUE(r->Header("Connection").empty());
  }
}

TEST(Server, PipelinedRequestsAreAnsweredInOrder) {
  TestServer ts(EchoHandler);
  Client c(ts.port());
  std::string burst;
  for (int i = 0; i < 50; ++i)
    burst += "GET /echo?" + std::to_string(i) + " HTTP/1.1\r\nHost: x\r\n\r\n";
  ASSERT_TRUE(c.Send(burst));
  for (int i = 0; i < 50; ++i) {
    auto r = c.Read();
    ASSERT_TRUE(r) << i;
    EXPECT_EQ(r->body, "GET /echo?" + std::to_string(i) + " q=" + std::to_string(i));
  }
}

TEST(Server, ConnectionCloseIsHonoured) {
  TestServer ts(EchoHandler);
  Client c(ts.port());
  auto r =
      ExpectAnswerThenClose(c, "GET /hello HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", 200);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->Header("Connection"), "close");
}

TEST(Server, Http10ClosesUnlessKeepAliveIsAsked) {
  TestServer ts(EchoHandler);
  {
    Client c(ts.port());
    auto r = ExpectHello(c, "GET /hello HTTP/1.0\r\n\r\n");
    ASSERT_TRUE(r);
    EXPECT_TRUE(c.WaitClosed());
  }
  Client c(ts.port());
  for (int i = 0; i < 3; ++i) {
    auto r = c.Exchange("GET /hello HTTP/1.0\r\nConnection: keep-alive\r\n\r\n");
    ASSERT_TRUE(r);
    EXPECT_EQ(r->Header("Connection"), "keep-alive");
  }
}

TEST(Server, HandlerConnectionCloseClosesAfterResponse) {
  TestServer ts([](Request&) {
    Response r = Text(200, "bye");
    r.headers.Add("Connection", "close");
    return Dispatch::Respond(std::move(r));
  });
  Client c(ts.port());
  auto r = c.Exchange("GET / HTTP/1.1\r\nHost: x\r\n\r\n");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->Count("Connection"), 1);
  EXPECT_TRUE(c.WaitClosed());
}

TEST(Server, HeadHasContentLengthAndNoBody) {
  TestServer ts([](Request& req) {
    if (req.path == "/small") return Dispatch::Respond(Text(200, "0123456789"));
    Response r;
    r.content_length = 123456789;
    if (req.method != "HEAD") r.stream = std::make_unique<PatternSource>(123456789);
    return Dispatch::Respond(std::move(r));
  });
  Client c(ts.port());
  ASSERT_TRUE(c.Send("HEAD /small HTTP/1.1\r\nHost: x\r\n\r\n"));
  auto r = c.Read(/*head_request=*/true);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->Header("Content-Length"), "10");
  ASSERT_TRUE(c.Send("HEAD /big HTTP/1.1\r\nHost: x\r\n\r\n"));
  r = c.Read(true);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->Header("Content-Length"), "123456789");
  // Nothing may follow the heads: the next response must parse right after them.
  r = c.Exchange("GET /small HTTP/1.1\r\nHost: x\r\n\r\n");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->body, "0123456789");
}

// The response to `GET /` from a handler that answers 200 `body` with `extra` headers added.
std::optional<Reply> AnswerWithHeaders(
    const std::string& body, const std::vector<std::pair<std::string, std::string>>& extra) {
  TestServer ts([&](Request&) {
    Response r = Text(200, body);
    for (const auto& [name, value] : extra) r.headers.Add(name, value);
    return Dispatch::Respond(std::move(r));
  });
  return RoundTrip(ts.port(), "GET / HTTP/1.1\r\nHost: x\r\n\r\n");
}

TEST(Server, HandlerContentLengthIsNeverDuplicated) {
  auto r = AnswerWithHeaders("abc", {{"Content-Length", "3"}, {"content-length", "999"}});
  ASSERT_TRUE(r);
  EXPECT_EQ(r->Count("Content-Length"), 1);
  EXPECT_EQ(r->Header("Content-Length"), "3");
  EXPECT_EQ(r->body, "abc");
}

TEST(Server, IdleKeepAliveConnectionClosesAfterIdleTimeout) {
  ServerOptions o = TestOptions();
  o.idle_timeout = 300ms;
  TestServer ts(EchoHandler, o);
  Client c(ts.port());
  ASSERT_TRUE(c.Send("GET /hello HTTP/1.1\r\nHost: x\r\n\r\n"));
  ASSERT_TRUE(c.Read());
  auto start = Clock::now();
  EXPECT_TRUE(c.WaitClosed(3000ms));
  EXPECT_GE(Clock::now() - start, 250ms);
}

TEST(Server, IncompleteHeadClosesAfterHeaderTimeout) {
  ServerOptions o = TestOptions();
  o.header_timeout = 300ms;
  TestServer ts(EchoHandler, o);
  Client c(ts.port());
  auto start = Clock::now();
  ASSERT_TRUE(c.Send("GET /hello HTTP/1.1\r\nHost: slow"));
  EXPECT_TRUE(c.WaitClosed(3000ms));
  auto waited = Clock::now() - start;
  EXPECT_GE(waited, 250ms);
  EXPECT_LT(waited, 2000ms);
}

TEST(Server, StalledReaderIsCutOffAfterWriteTimeout) {
  ServerOptions o = TestOptions();
  o.write_timeout = 300ms;
  std::atomic<bool> logged{false};
  std::atomic<uint64_t> sent{0};
  o.access_log = [&](const AccessLogEntry& e) {
    sent = e.bytes_sent;
    logged = true;
  };
  TestServer ts(
      [](Request&) {
        Response r;
        r.content_length = 1ull << 30;
        r.stream = std::make_unique<PatternSource>(1ull << 30);
        return Dispatch::Respond(std::move(r));
      },
      o);
  Client c(ts.port());
  int small = 4096;
  setsockopt(c.fd(), SOL_SOCKET, SO_RCVBUF, &small, sizeof(small));
  ASSERT_TRUE(c.Send("GET / HTTP/1.1\r\nHost: x\r\n\r\n"));
  // Never read: the server must give up on its own.
  EXPECT_TRUE(Eventually([&] { return logged.load(); }, 3000ms));
  EXPECT_LT(sent.load(), 1ull << 30);
}

TEST(Server, HandlerExceptionBecomes500) {
  TestServer ts([](Request&) -> Dispatch { throw std::runtime_error("boom"); });
  auto r = RoundTrip(ts.port(), "GET / HTTP/1.1\r\nHost: x\r\n\r\n");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 500);
}

TEST(Server, ResponseHeaderWithLineBreakIsDropped) {
  auto r = AnswerWithHeaders("ok", {{"X-Evil", "a\r\nSet-Cookie: pwned"}, {"X-Good", "fine"}});
  ASSERT_TRUE(r);
  EXPECT_EQ(r->Count("Set-Cookie"), 0);
  EXPECT_EQ(r->Count("X-Evil"), 0);
  EXPECT_EQ(r->Header("X-Good"), "fine");
}

TEST(Server, AccessLogRecordsEachRequest) {
  struct Line {
    std::string method, target, note;
    int status;
    uint64_t sent, received;
  };
  std::mutex mu;
  std::condition_variable cv;
  std::vector<Line> lines;
  ServerOptions o = TestOptions();
  o.access_log = [&](const AccessLogEntry& e) {
    std::lock_guard lock(mu);
    lines.push_back({e.request->method, e.request->target, std::string(e.note), e.status,
                     e.bytes_sent, e.bytes_received});
    cv.notify_all();
  };
  TestServer ts(
      [](Request& req) {
        if (req.method == "PUT") return BufferingHandler(req);
        Response r = Text(200, "hello world");
        r.log_note = "greeting";
        return Dispatch::Respond(std::move(r));
      },
      o);
  Client c(ts.port());
  ASSERT_TRUE(
      c.Send("GET /a?b HTTP/1.1\r\nHost: x\r\n\r\nPUT /m HTTP/1.1\r\nHost: x\r\nContent-Length: "
             "4\r\n\r\nabcd"));
  ASSERT_TRUE(c.Read());
  ASSERT_TRUE(c.Read());
  ASSERT_TRUE(WaitFor(mu, cv, [&] { return lines.size() == 2; }));
  std::lock_guard lock(mu);
  EXPECT_EQ(lines[0].method, "GET");
  EXPECT_EQ(lines[0].target, "/a?b");
  EXPECT_EQ(lines[0].status, 200);
  EXPECT_EQ(lines[0].sent, 11u);
  EXPECT_EQ(lines[0].note, "greeting");
  EXPECT_EQ(lines[1].method, "PUT");
  EXPECT_EQ(lines[1].status, 201);
  EXPECT_EQ(lines[1].received, 4u);
}

TEST(Server, SingleThreadServesConcurrentClients) {
  ServerOptions o = TestOptions();
  o.threads = 1;
  TestServer ts(EchoHandler, o);
  std::vector<std::thread> threads;
  std::atomic<int> ok{0};
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&] {
      Client c(ts.port());
      for (int i = 0; i < 200; ++i) {
        if (!c.Send("GET /hello HTTP/1.1\r\nHost: x\r\n\r\n")) return;
        auto r = c.Read();
        if (!r || r->body != "hello world") return;
      }
      ++ok;
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(ok.load(), 8);
}

}  // namespace
}  // namespace berth::http
