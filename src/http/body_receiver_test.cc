#include <gtest/gtest.h>

#include "http/server_test_util.h"

namespace berth::http {
namespace {

using namespace std::chrono_literals;

TEST(Server, BufferBodyWithinLimitReachesHandler) {
  TestServer ts(BufferingHandler);
  Client c(ts.port());
  std::string body(1000, 'b');
  auto r = c.Exchange("PUT /m HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\n" + body);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 201);
  EXPECT_EQ(r->body, "got 1000:" + body.substr(0, 20));
  // Chunked within the limit too, on the same connection.
  r = c.Exchange(
      "PUT /m HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
      "5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->body, "got 11:hello world");
}

TEST(Server, BufferBodyOverLimitGetsTooLargeResponse) {
  TestServer ts(BufferingHandler);
  Client c(ts.port());
  // Announced too large: answered from the head, the body is never read.
  auto r = ExpectAnswerThenClose(
      c, "PUT /m HTTP/1.1\r\nHost: x\r\nContent-Length: 5000000000\r\n\r\nxxxx", 413);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->Header("Connection"), "close");
}

TEST(Server, ChunkedBodyGrowingPastLimitGetsTooLargeResponse) {
  TestServer ts(BufferingHandler);
  Client c(ts.port());
  std::string chunk(600, 'c');
  ExpectAnswerThenClose(c,
                        "PUT /m HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n258\r\n" +
                            chunk + "\r\n258\r\n" + chunk + "\r\n",
                        413);
}

TEST(Server, StreamBodyWithContentLengthReachesSinkExactly) {
  auto log = std::make_shared<SinkLog>();
  TestServer ts(
      [&](Request&) { return Dispatch::StreamBody(std::make_unique<RecordingSink>(log)); });
  Client c(ts.port());
  const size_t kSize = 5 << 20;
  std::string body(kSize, '\0');
  for (size_t i = 0; i < kSize; ++i) body[i] = PatternByte(i);
  ASSERT_TRUE(c.Send("PATCH /upload HTTP/1.1\r\nHost: x\r\nContent-Length: " +
                     std::to_string(kSize) + "\r\n\r\n"));
  // Sent in pieces so that the body arrives over many reads.
  for (size_t off = 0; off < kSize; off += 777777) ASSERT_TRUE(c.Send(body.substr(off, 777777)));
  auto r = c.Read();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 201);
  std::lock_guard lock(log->mu);
  EXPECT_EQ(log->finishes, 1);
  EXPECT_FALSE(log->finish_error);
  EXPECT_TRUE(log->data == body);
}

TEST(Server, ChunkedBodyIsStreamedToSink) {
  auto log = std::make_shared<SinkLog>();
  TestServer ts([&](Request& req) {
    if (req.path == "/upload") {
      EXPECT_TRUE(req.chunked);
      EXPECT_FALSE(req.content_length);
    }
    return Dispatch::StreamBody(std::make_unique<RecordingSink>(log));
  });
  Client c(ts.port());
  std::string expected;
  std::string wire = "PATCH /upload HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n";
  for (int i = 1; i <= 300; ++i) {
    std::string piece(static_cast<size_t>(i * 37), static_cast<char>('a' + i % 26));
    expected += piece;
    char size[32];
    snprintf(size, sizeof(size), "%zx", piece.size());
    wire += std::string(size) + (i % 7 == 0 ? ";ext=1" : "") + "\r\n" + piece + "\r\n";
  }
  wire += "0\r\nX-Trailer: t\r\n\r\n";
  // Split awkwardly, across chunk headers.
  for (size_t off = 0; off < wire.size(); off += 1001) ASSERT_TRUE(c.Send(wire.substr(off, 1001)));
  auto r = c.Read();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 201);
  {
    std::lock_guard lock(log->mu);
    EXPECT_EQ(log->finishes, 1);
    EXPECT_TRUE(log->data == expected);
  }
  // The connection is still usable after a chunked body.
  ASSERT_TRUE(c.Send("PATCH /next HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n"));
  EXPECT_TRUE(c.Read());
}

std::string Hex(size_t n) {
  char text[32];
  snprintf(text, sizeof(text), "%zx", n);
  return text;
}

// A large body grows the read buffer; when the body ends, the buffer is given back but the bytes of
// the next, pipelined request that arrived with the body's tail must survive.
TEST(Server, RequestPipelinedAfterALargeBodyIsAnswered) {
  auto log = std::make_shared<SinkLog>();
  TestServer ts([&](Request& req) {
    if (req.path == "/hello") return Dispatch::Respond(Text(200, "hello world"));
    return Dispatch::StreamBody(std::make_unique<RecordingSink>(log));
  });
  for (bool chunked : {false, true}) {
    log->data.clear();
    std::string body(3 << 20, 'q');
    std::string wire =
        chunked
            ? "PATCH /upload HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n" +
                  Hex(body.size()) + "\r\n" + body + "\r\n0\r\n\r\n"
            : "PUT /upload HTTP/1.1\r\nHost: x\r\nContent-Length: " + std::to_string(body.size()) +
                  "\r\n\r\n" + body;
    wire += "GET /hello HTTP/1.1\r\nHost: x\r\n\r\n";
    Client c(ts.port());
    auto r = c.Exchange(wire);
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 201) << chunked;
    auto h = c.Read();
    ASSERT_TRUE(h) << chunked;
    EXPECT_EQ(h->body, "hello world");
    std::lock_guard lock(log->mu);
    EXPECT_EQ(log->data.size(), body.size());
  }
}

TEST(Server, StreamBodyWithoutBodyFinishesAtOnce) {
  auto log = std::make_shared<SinkLog>();
  TestServer ts(
      [&](Request&) { return Dispatch::StreamBody(std::make_unique<RecordingSink>(log)); });
  auto r = RoundTrip(ts.port(), "POST /start HTTP/1.1\r\nHost: x\r\n\r\n");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 201);
  std::lock_guard lock(log->mu);
  EXPECT_EQ(log->finishes, 1);
  EXPECT_EQ(log->writes, 0);
}

// Sends `head` (which asks for 100-continue), expects the interim 100, then sends `body` and
// returns the final answer.
std::optional<Reply> ContinueThenSend(Client& c, std::string_view head, std::string_view body) {
  auto interim = c.Exchange(head);
  EXPECT_TRUE(interim && interim->status == 100);
  if (!interim || interim->status != 100) return std::nullopt;
  return c.Exchange(body);
}

TEST(Server, ExpectContinueGets100BeforeBody) {
  auto log = std::make_shared<SinkLog>();
  TestServer ts(
      [&](Request&) { return Dispatch::StreamBody(std::make_unique<RecordingSink>(log)); });
  Client c(ts.port());
  auto r = ContinueThenSend(
      c, "PUT /u HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n",
      "abcde");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 201);
  std::lock_guard lock(log->mu);
  EXPECT_EQ(log->data, "abcde");
}

TEST(Server, ExpectContinueForBufferedBody) {
  TestServer ts(BufferingHandler);
  Client c(ts.port());
  auto r = ContinueThenSend(
      c, "PUT /m HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nExpect: 100-Continue\r\n\r\n", "xyz");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->body, "got 3:xyz");
}

TEST(Server, ExpectContinueAnsweredAtOnceGetsNo100AndCloses) {
  TestServer ts([](Request& req) {
    if (req.path == "/big") return BufferingHandler(req);
    return Dispatch::Respond(Text(401, "who are you"));
  });
  {
    Client c(ts.port());
    auto r = ExpectAnswerThenClose(
        c, "PUT /x HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n", 401);
    ASSERT_TRUE(r);
    EXPECT_EQ(r->Header("Connection"), "close");
  }
  Client c(ts.port());
  ExpectAnswerThenClose(
      c, "PUT /big HTTP/1.1\r\nHost: x\r\nContent-Length: 5000\r\nExpect: 100-continue\r\n\r\n",
      413);
}

TEST(Server, RespondDiscardsSmallBodyAndKeepsAlive) {
  TestServer ts(EchoHandler);
  Client c(ts.port());
  auto r = ExpectHello(c, "POST /hello HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\n0123456789");
  ASSERT_TRUE(r);
  EXPECT_TRUE(r->Header("Connection").empty());
  ASSERT_TRUE(
      c.Send("POST /hello HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: "
             "chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n"));
  ASSERT_TRUE(c.Read());
  r = c.Exchange("GET /echo HTTP/1.1\r\nHost: x\r\n\r\n");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->body, "GET /echo q=");
}

TEST(Server, RespondClosesInsteadOfReadingLargeBody) {
  ServerOptions o = TestOptions();
  o.discard_limit = 100;
  TestServer ts(EchoHandler, o);
  Client c(ts.port());
  auto r = c.Exchange("POST /hello HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\n" +
                      std::string(1000, 'z'));
  ASSERT_TRUE(r);
  EXPECT_EQ(r->Header("Connection"), "close");
  EXPECT_TRUE(c.WaitClosed());
}

TEST(Server, ClientDisconnectMidBodyFinishesSinkWithError) {
  auto log = std::make_shared<SinkLog>();
  TestServer ts(
      [&](Request&) { return Dispatch::StreamBody(std::make_unique<RecordingSink>(log)); });
  Client c(ts.port());
  ASSERT_TRUE(c.Send("PATCH /u HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\n" +
                     std::string(500, 'a')));
  ASSERT_TRUE(Eventually([&] {
    std::lock_guard lock(log->mu);
    return log->data.size() == 500;
  }));
  c.Close();
  ASSERT_TRUE(WaitFinished(*log));
  std::lock_guard lock(log->mu);
  EXPECT_EQ(log->finishes, 1);
  ASSERT_TRUE(log->finish_error);
  EXPECT_EQ(log->finish_error->code, ErrorCode::kCancelled);
}

TEST(Server, SlowBodyIsCutOffAfterBodyIdleTimeout) {
  auto log = std::make_shared<SinkLog>();
  ServerOptions o = TestOptions();
  o.body_idle_timeout = 300ms;
  TestServer ts(
      [&](Request&) { return Dispatch::StreamBody(std::make_unique<RecordingSink>(log)); }, o);
  Client c(ts.port());
  ASSERT_TRUE(c.Send("PATCH /u HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\n"));
  // A trickle faster than the timeout keeps the upload alive.
  for (int i = 0; i < 4; ++i) {
    if (i > 0) std::this_thread::sleep_for(100ms);  // pacing the client, not synchronisation
    ASSERT_TRUE(c.Send("0123456789"));
  }
  auto stalled_at = Clock::now();
  ASSERT_TRUE(WaitFinished(*log, 3000ms));
  {
    std::lock_guard lock(log->mu);
    EXPECT_EQ(log->data.size(), 40u);
    ASSERT_TRUE(log->finish_error);
    EXPECT_EQ(log->finish_error->code, ErrorCode::kCancelled);
    auto waited = log->finished_at - stalled_at;
    EXPECT_GE(waited, 250ms);
    EXPECT_LT(waited, 2000ms);
  }
  auto r = c.Read();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 400);
  EXPECT_EQ(r->Header("Connection"), "close");
  EXPECT_TRUE(c.WaitClosed());
}

TEST(Server, SinkWriteErrorStopsReadingAndCloses) {
  auto log = std::make_shared<SinkLog>();
  TestServer ts(
      [&](Request&) { return Dispatch::StreamBody(std::make_unique<RecordingSink>(log, 100)); });
  Client c(ts.port());
  auto r = ExpectAnswerThenClose(
      c,
      "PATCH /u HTTP/1.1\r\nHost: x\r\nContent-Length: 10000000\r\n\r\n" + std::string(200000, 'q'),
      500);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->Header("Connection"), "close");
  std::lock_guard lock(log->mu);
  EXPECT_EQ(log->finishes, 1);
  EXPECT_EQ(log->writes, 1);
  ASSERT_TRUE(log->finish_error);
  EXPECT_EQ(log->finish_error->code, ErrorCode::kIo);
}

TEST(Server, MalformedChunkedBodyFinishesSinkWithError) {
  auto log = std::make_shared<SinkLog>();
  TestServer ts(
      [&](Request&) { return Dispatch::StreamBody(std::make_unique<RecordingSink>(log)); });
  Client c(ts.port());
  ExpectAnswerThenClose(
      c, "PATCH /u HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\nzz\r\n",
      400);
  std::lock_guard lock(log->mu);
  EXPECT_EQ(log->finishes, 1);
  EXPECT_TRUE(log->finish_error);
}

}  // namespace
}  // namespace berth::http
