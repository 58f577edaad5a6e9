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
  ASSERT_TRUE(
      c.Send("DELETE /v2/a/b/manifests/x?n=1&last=z HTTP/1.1\r\nHost: h\r\n"
             "X-Thing: one\r\nx-thing: two\r\n\r\n"));
  auto r = c.Read();
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
  auto r = RoundTrip(ts.port(), "GET http://registry.local:5000/echo?x=1 HTTP/1.1\r\n\r\n");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->body, "GET http://registry.local:5000/echo?x=1 q=x=1");
}

TEST(Server, OversizedHeadGets431) {
  ServerOptions o = TestOptions();
  o.max_header_bytes = 8 * 1024;
  TestServer ts(EchoHandler, o);
  Client c(ts.port());
  std::string head = "GET /hello HTTP/1.1\r\n";
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
  ASSERT_TRUE(c.Send("GET /hello HTTP/1.1\r\nX-Big: " + std::string(7000, 'a') + "\r\n\r\n"));
  auto r = c.Read();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
}

TEST(Server, GarbageRequestLineGets400) {
  TestServer ts(EchoHandler);
  for (std::string_view garbage :
       {"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03\r\n\r\n", "GET\r\n\r\n",
        "GET / HTTP/9.9\r\n\r\n", "GET / HTTP/1.1\r\nBad Header\r\n\r\n",
        "GET / HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n",
        "POST / HTTP/1.1\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n"}) {
    Client c(ts.port());
    ASSERT_TRUE(c.Send(garbage));
    auto r = c.Read();
    ASSERT_TRUE(r) << garbage;
    EXPECT_EQ(r->status, 400) << garbage;
    EXPECT_TRUE(c.WaitClosed()) << garbage;
  }
}

TEST(Server, UnsupportedTransferCodingIsRefused) {
  TestServer ts(EchoHandler);
  {
    Client c(ts.port());
    ASSERT_TRUE(c.Send("POST / HTTP/1.1\r\nTransfer-Encoding: gzip, chunked\r\n\r\n"));
    auto r = c.Read();
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 501);
  }
  Client c(ts.port());
  // Not ending in chunked: without the check the body would be parsed as the next request.
  ASSERT_TRUE(
      c.Send("POST / HTTP/1.1\r\nTransfer-Encoding: chunked, gzip\r\n\r\nGET /x HTTP/1.1\r\n\r\n"));
  auto r = c.Read();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 400);
  EXPECT_TRUE(c.WaitClosed());
}

}  // namespace
}  // namespace berth::http
