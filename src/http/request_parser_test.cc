#include <gtest/gtest.h>

#include "http/server_test_util.h"

namespace berth::http {
namespace {

using namespace std::chrono_literals;

TEST(Server, RequestFieldsReachTheHandler) {
  std::mutex mu;
  Request seen;
  TestServer ts([&](Request& req) {
    std::lock_guard lock(mu);
    seen.method = req.method;
    seen.target = req.target;
    seen.path = req.path;
    seen.query = req.query;
    seen.headers = req.headers;
    seen.remote_addr = req.remote_addr;
    seen.tls = req.tls;
    return Dispatch::Respond(Text(204, ""));
  });
  Client c(ts.port());
  auto r = c.Exchange(
      "DELETE /v2/a/b/manifests/x?n=1&last=z HTTP/1.1\r\nHost: h\r\n"
      "X-Thing: one\r\nx-thing: two\r\n\r\n");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 204);
  EXPECT_EQ(r->Count("Content-Length"), 0);
  std::lock_guard lock(mu);
  EXPECT_EQ(seen.method, "DELETE");
  EXPECT_EQ(seen.target, "/v2/a/b/manifests/x?n=1&last=z");
  EXPECT_EQ(seen.path, "/v2/a/b/manifests/x");
  EXPECT_EQ(seen.query, "n=1&last=z");
  EXPECT_EQ(seen.headers.GetAll("X-THING").size(), 2u);
  EXPECT_TRUE(seen.remote_addr.starts_with("127.0.0.1:"));
  EXPECT_FALSE(seen.tls);
}

TEST(Server, AbsoluteFormTargetIsRoutedByPath) {
  TestServer ts(EchoHandler);
  auto r =
      RoundTrip(ts.port(), "GET http://registry.local:5000/echo?x=1 HTTP/1.1\r\nHost: x\r\n\r\n");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->body, "GET http://registry.local:5000/echo?x=1 q=x=1");
}

TEST(Server, OversizedHeadGets431) {
  ServerOptions o = TestOptions();
  o.max_header_bytes = 8 * 1024;
  TestServer ts(EchoHandler, o);
  Client c(ts.port());
  std::string head = "GET /hello HTTP/1.1\r\nHost: x\r\n";
  for (int i = 0; i < 500; ++i)
    head += "X-Filler-" + std::to_string(i) + ": " + std::string(40, 'f') + "\r\n";
  head += "\r\n";
  c.Send(head);  // may fail part-way once the server has answered and closed
  auto r = c.Read();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 431);
  EXPECT_TRUE(c.WaitClosed());
}

TEST(Server, HeadJustUnderTheLimitIsServed) {
  ServerOptions o = TestOptions();
  o.max_header_bytes = 8 * 1024;
  TestServer ts(EchoHandler, o);
  Client c(ts.port());
  auto r =
      c.Exchange("GET /hello HTTP/1.1\r\nHost: x\r\nX-Big: " + std::string(7000, 'a') + "\r\n\r\n");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
}

TEST(Server, GarbageRequestLineGets400) {
  TestServer ts(EchoHandler);
  for (std::string_view garbage :
       {"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03\r\n\r\n", "GET\r\n\r\n",
        "GET / HTTP/9.9\r\n\r\n", "GET / HTTP/1.1\r\nHost: x\r\nBad Header\r\n\r\n",
        "GET / HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n",
        "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n"}) {
    Client c(ts.port());
    auto r = c.Exchange(garbage);
    ASSERT_TRUE(r) << garbage;
    EXPECT_EQ(r->status, 400) << garbage;
    EXPECT_TRUE(c.WaitClosed()) << garbage;
  }
}

TEST(Server, UnsupportedTransferCodingIsRefused) {
  TestServer ts(EchoHandler);
  {
    Client c(ts.port());
    auto r = c.Exchange("POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip, chunked\r\n\r\n");
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 501);
  }
  Client c(ts.port());
  // Not ending in chunked: without the check the body would be parsed as the next request.
  ExpectAnswerThenClose(
      c,
      "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked, gzip\r\n\r\nGET /x "
      "HTTP/1.1\r\nHost: x\r\n\r\n",
      400);
}

// Sends `request` on a fresh connection and expects the server's own 400, then a close.
void ExpectRefused(uint16_t port, std::string_view request, std::string_view reason) {
  Client c(port);
  auto r = c.Exchange(request);
  ASSERT_TRUE(r) << request;
  EXPECT_EQ(r->status, 400) << request;
  EXPECT_NE(r->body.find(reason), std::string::npos) << request << " -> " << r->body;
  EXPECT_TRUE(c.WaitClosed()) << request;
}

void ExpectEachRefused(uint16_t port, const std::vector<std::string>& requests,
                       std::string_view reason) {
  for (const std::string& request : requests) ExpectRefused(port, request, reason);
}

// A test server whose handler counts its calls: a refused head never reaches the handler.
struct CountingServer {
  explicit CountingServer(Handler inner)
      : ts([this, inner = std::move(inner)](Request& req) {
          ++calls;
          return inner(req);
        }) {}
  uint16_t port() { return ts.port(); }
  std::atomic<int> calls{0};
  TestServer ts;
};

TEST(RequestHead, ContentLengthAbove2To63Minus1Is400) {
  CountingServer ts(EchoHandler);
  ExpectEachRefused(
      ts.port(),
      {"PUT /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 9223372036854775808\r\n\r\n",
       "PUT /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 18446744073709551615\r\n\r\n"},
      "content-length too large");
  EXPECT_EQ(ts.calls.load(), 0);
  // 2^63-1 itself is a valid length: the handler sees it (and the server will not read it all).
  auto r = RoundTrip(
      ts.port(), "PUT /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 9223372036854775807\r\n\r\n");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(ts.calls.load(), 1);
}

TEST(RequestHead, RepeatedContentLengthIs400EvenWhenTheValuesAgree) {
  TestServer ts(EchoHandler);
  ExpectEachRefused(
      ts.port(),
      {"PUT /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nContent-Length: 3\r\n\r\nabc",
       "PUT /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 3, 3\r\n\r\nabc"},
      "repeated content-length");
}

TEST(RequestHead, ContentLengthWithTransferEncodingIs400) {
  TestServer ts(EchoHandler);
  ExpectEachRefused(
      ts.port(),
      {"PUT /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n",
       "PUT /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n"},
      "bad request");
}

TEST(RequestHead, Http11WithoutHostIs400) {
  CountingServer ts(EchoHandler);
  ExpectRefused(ts.port(), "GET /hello HTTP/1.1\r\n\r\n", "missing host header");
  EXPECT_EQ(ts.calls.load(), 0);
  // HTTP/1.0 has no such rule.
  auto r = RoundTrip(ts.port(), "GET /hello HTTP/1.0\r\n\r\n");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
}

TEST(RequestHead, TwoHostHeadersAre400) {
  TestServer ts(EchoHandler);
  ExpectEachRefused(ts.port(),
                    {"GET /hello HTTP/1.1\r\nHost: a\r\nHost: a\r\n\r\n",
                     "GET /hello HTTP/1.1\r\nHost: a\r\nhost: b\r\n\r\n"},
                    "more than one host header");
}

TEST(RequestHead, HostThatIsNotAnAuthorityIs400) {
  TestServer ts(EchoHandler);
  for (std::string_view host :
       {"", "a b", "evil.com/path", "user@evil.com", "a:99999", "\"x\"", "a,b", "[::1", "a:b"}) {
    ExpectRefused(ts.port(), "GET /hello HTTP/1.1\r\nHost: " + std::string(host) + "\r\n\r\n",
                  "invalid host header");
  }
  for (std::string_view host : {"registry.example.com", "127.0.0.1:5000", "[::1]:443", "a"}) {
    auto r = RoundTrip(ts.port(), "GET /hello HTTP/1.1\r\nHost: " + std::string(host) + "\r\n\r\n");
    ASSERT_TRUE(r) << host;
    EXPECT_EQ(r->status, 200) << host;
  }
}

TEST(RequestHead, ChunkedBodyOnHttp10Is400AndCloses) {
  CountingServer ts(BufferingHandler);
  ExpectRefused(ts.port(),
                "PUT /m HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n",
                "chunked body on HTTP/1.0");
  EXPECT_EQ(ts.calls.load(), 0);
}

}  // namespace
}  // namespace berth::http
