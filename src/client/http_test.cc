#include "client/http.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <condition_variable>
#include <cstdlib>
#include <filesystem>
#include <mutex>
#include <string>
#include <thread>

#include "common/digest.h"
#include "http/server_test_util.h"

namespace berth::client {
namespace {

using http::Dispatch;
using http::PatternByte;
using http::PatternSource;
using http::TestServer;
using http::Text;

// A sink that hashes what it receives and answers with the count and the hash.
class HashingSink : public http::BodySink {
 public:
  Status Write(const char* data, size_t n) override {
    hasher_.Update(std::string_view(data, n));
    size_ += n;
    return Ok();
  }
  http::Response Finish(const Status& st) override {
    if (!st) return Text(400, st.error().message);
    return Text(201, std::to_string(size_) + " " + hasher_.Current().str());
  }

 private:
  Hasher hasher_{DigestAlgorithm::kSha256};
  uint64_t size_ = 0;
};

Request Make(std::string method, std::string url) {
  Request r;
  r.method = std::move(method);
  r.url = std::move(url);
  return r;
}
Request Get(std::string url) { return Make("GET", std::move(url)); }

ClientOptions ReadTimeout(std::chrono::milliseconds t) {
  ClientOptions o;
  o.read_timeout = t;
  return o;
}

std::string PatternString(uint64_t n) {
  std::string s(n, '\0');
  for (uint64_t i = 0; i < n; ++i) s[i] = PatternByte(i);
  return s;
}

http::Handler Routes(std::atomic<int>* hits = nullptr) {
  return [hits](http::Request& req) -> Dispatch {
    if (hits) ++*hits;
    if (req.path == "/big") {
      http::Response r;
      r.content_length = 8 << 20;
      r.stream = std::make_unique<PatternSource>(8 << 20);
      return Dispatch::Respond(std::move(r));
    }
    if (req.path == "/upload") return Dispatch::StreamBody(std::make_unique<HashingSink>());
    if (req.path == "/headers") {
      return Dispatch::Respond(Text(200, std::string(req.headers.Get("Authorization")) + "|" +
                                             std::string(req.headers.Get("X-Test"))));
    }
    return Dispatch::Respond(Text(404, "no route " + req.path));
  };
}

TEST(HttpClientUrl, ParsesAndRefuses) {
  auto u = Url::Parse("https://Registry.example:5443/v2/?n=1");
  ASSERT_TRUE(u);
  EXPECT_EQ(u->scheme, "https");
  EXPECT_EQ(u->host, "Registry.example");
  EXPECT_EQ(u->port, 5443);
  EXPECT_EQ(u->target, "/v2/?n=1");
  EXPECT_EQ(u->HostHeader(), "Registry.example:5443");
  auto d = Url::Parse("http://[::1]");
  ASSERT_TRUE(d);
  EXPECT_EQ(d->host, "::1");
  EXPECT_EQ(d->port, 80);
  EXPECT_EQ(d->target, "/");
  EXPECT_EQ(d->Origin(), "http://[::1]:80");
  for (const char* bad : {"ftp://h/", "http://", "http://user:pw@h/", "http://h:0/",
                          "http://h:70000/", "h/v2/", "http://h/a b", "http://[::1/"}) {
    auto r = Url::Parse(bad);
    EXPECT_FALSE(r) << bad;
    if (!r) {
      EXPECT_EQ(r.error().code, ErrorCode::kInvalidArgument);
    }
  }
  auto rel = u->Resolve("/token?x=1");
  ASSERT_TRUE(rel);
  EXPECT_EQ(rel->str(), "https://Registry.example:5443/token?x=1");
  auto other = u->Resolve("//cdn.example/blob");
  ASSERT_TRUE(other);
  EXPECT_EQ(other->str(), "https://cdn.example:443/blob");
}

TEST(HttpClient, StreamsALargeBodyInChunksAndReusesTheConnection) {
  TestServer srv(Routes());
  HttpClient c;
  for (int round = 0; round < 2; ++round) {
    auto res = c.Send(Get("http://127.0.0.1:" + std::to_string(srv.port()) + "/big"));
    ASSERT_TRUE(res) << res.error().ToString();
    EXPECT_EQ((*res)->status, 200);
    EXPECT_EQ((*res)->content_length, uint64_t{8} << 20);
    std::vector<char> buf(100'000);
    uint64_t total = 0;
    int reads = 0;
    bool ok = true;
    while (true) {
      auto n = (*res)->Read(buf.data(), buf.size());
      ASSERT_TRUE(n) << n.error().ToString();
      if (*n == 0) break;
      ++reads;
      for (size_t i = 0; i < *n && ok; ++i) ok = buf[i] == PatternByte(total + i);
      total += *n;
    }
    EXPECT_TRUE(ok);
    EXPECT_EQ(total, uint64_t{8} << 20);
    EXPECT_GE(reads, 80);  // pulled in chunks no larger than the caller's buffer
    EXPECT_TRUE((*res)->done());
  }
  EXPECT_EQ(c.connects(), 1u);
}

// A GET of `url` answers 200, and the client has opened `connects` connections by then.
void ExpectServedAfterConnects(HttpClient& c, const std::string& url, uint64_t connects) {
  auto res = c.Send(Get(url));
  ASSERT_TRUE(res) << res.error().ToString();
  EXPECT_EQ((*res)->status, 200);
  EXPECT_EQ(c.connects(), connects);
}

TEST(HttpClient, ResponseLeftUnreadClosesItsConnection) {
  TestServer srv(Routes());
  HttpClient c;
  std::string url = "http://127.0.0.1:" + std::to_string(srv.port()) + "/big";
  {
    auto res = c.Send(Get(url));
    ASSERT_TRUE(res);
    char buf[10];
    ASSERT_TRUE((*res)->Read(buf, sizeof buf));
  }
  ExpectServedAfterConnects(c, url, 2);
}

TEST(HttpClient, HeadHasNoBody) {
  TestServer srv(Routes());
  HttpClient c;
  std::string url = "http://127.0.0.1:" + std::to_string(srv.port()) + "/big";
  auto res = c.Send(Make("HEAD", url));
  ASSERT_TRUE(res);
  EXPECT_EQ((*res)->content_length, uint64_t{8} << 20);
  EXPECT_TRUE((*res)->done());
  res->reset();
  ExpectServedAfterConnects(c, "http://127.0.0.1:" + std::to_string(srv.port()) + "/headers", 1);
}

// A one-connection server over a raw socket that answers every request on it with `answer`.
class RawServer {
 public:
  explicit RawServer(std::string answer) : answer_(std::move(answer)) {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof a;
    if (::bind(fd_, reinterpret_cast<sockaddr*>(&a), len) != 0 || ::listen(fd_, 1) != 0 ||
        ::getsockname(fd_, reinterpret_cast<sockaddr*>(&a), &len) != 0) {
      ADD_FAILURE() << "cannot listen";
      return;
    }
    port_ = ntohs(a.sin_port);
    thread_ = std::thread([this] {
      int c = ::accept(fd_, nullptr, nullptr);
      if (c < 0) return;
      std::string in;
      char buf[4096];
      while (true) {
        ssize_t n = ::read(c, buf, sizeof buf);
        if (n <= 0) break;
        in.append(buf, static_cast<size_t>(n));
        for (size_t end; (end = in.find("\r\n\r\n")) != std::string::npos;) {
          in.erase(0, end + 4);
          for (size_t off = 0; off < answer_.size();) {
            ssize_t w = ::write(c, answer_.data() + off, answer_.size() - off);
            if (w <= 0) break;
            off += static_cast<size_t>(w);
          }
        }
      }
      ::close(c);
    });
  }
  ~RawServer() {
    ::shutdown(fd_, SHUT_RDWR);
    ::close(fd_);
    if (thread_.joinable()) thread_.join();
  }
  uint16_t port() const { return port_; }

 private:
  std::string answer_;
  int fd_ = -1;
  uint16_t port_ = 0;
  std::thread thread_;
};

TEST(HttpClient, ChunkedBodiesAreFramedAndTheConnectionReused) {
  const std::string body = PatternString(300'000);
  std::string answer = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n";
  for (size_t at = 0; at < body.size(); at += 70'000) {
    std::string part = body.substr(at, 70'000);
    char size[32];
    std::snprintf(size, sizeof size, "%zx\r\n", part.size());
    answer += size + part + "\r\n";
  }
  answer += "0\r\n\r\n";
  RawServer srv(answer);
  HttpClient c;
  std::string url = "http://127.0.0.1:" + std::to_string(srv.port()) + "/";
  for (int round = 0; round < 2; ++round) {
    auto res = c.Send(Get(url));
    ASSERT_TRUE(res) << res.error().ToString();
    EXPECT_FALSE((*res)->content_length);
    auto got = (*res)->ReadAll(1'000'000);
    ASSERT_TRUE(got) << got.error().ToString();
    EXPECT_TRUE(*got == body);
  }
  EXPECT_EQ(c.connects(), 1u);
}

TEST(HttpClient, StreamsUploadsWithLengthAndChunked) {
  TestServer srv(Routes());
  HttpClient c;
  const uint64_t size = 3'000'000;
  std::string expected = std::to_string(size) + " " + Digest::Of(PatternString(size)).str();
  for (bool chunked : {false, true}) {
    uint64_t pos = 0;
    Request req = Make("PUT", "http://127.0.0.1:" + std::to_string(srv.port()) + "/upload");
    req.body_source = [&](char* buf, size_t cap) -> Result<size_t> {
      size_t n = static_cast<size_t>(std::min<uint64_t>(std::min<size_t>(cap, 70'000), size - pos));
      for (size_t i = 0; i < n; ++i) buf[i] = PatternByte(pos + i);
      pos += n;
      return n;
    };
    if (!chunked) req.body_length = size;
    auto res = c.Send(std::move(req));
    ASSERT_TRUE(res) << res.error().ToString();
    EXPECT_EQ((*res)->status, 201);
    auto body = (*res)->ReadAll(1000);
    ASSERT_TRUE(body);
    EXPECT_EQ(*body, expected) << (chunked ? "chunked" : "with length");
  }
}

TEST(HttpClient, UploadShorterThanAnnouncedIsRefused) {
  TestServer srv(Routes());
  HttpClient c;
  Request req = Make("PUT", "http://127.0.0.1:" + std::to_string(srv.port()) + "/upload");
  bool given = false;
  req.body_source = [&](char* buf, size_t) -> Result<size_t> {
    if (given) return size_t{0};
    given = true;
    buf[0] = 'x';
    return size_t{1};
  };
  req.body_length = 10;
  auto res = c.Send(std::move(req));
  ASSERT_FALSE(res);
  EXPECT_EQ(res.error().code, ErrorCode::kInvalidArgument);
}

TEST(HttpClient, SendsHeadersAndSmallBodies) {
  TestServer srv(Routes());
  HttpClient c;
  Request req = Get("http://127.0.0.1:" + std::to_string(srv.port()) + "/headers");
  req.headers.Add("Authorization", "Bearer abc");
  req.headers.Add("X-Test", "yes");
  auto res = c.Send(std::move(req));
  ASSERT_TRUE(res);
  EXPECT_EQ((*res)->ReadAll(100).value_or("?"), "Bearer abc|yes");
}

TEST(HttpClient, FollowsRedirectsAndDropsAuthorizationAcrossOrigins) {
  TestServer target(Routes());
  std::string target_url = "http://127.0.0.1:" + std::to_string(target.port()) + "/headers";
  TestServer front([&](http::Request& req) {
    http::Response r = Text(307, "");
    if (req.path == "/same") r.headers.Add("Location", "/headers");
    if (req.path == "/away") r.headers.Add("Location", target_url);
    if (req.path == "/loop") r.headers.Add("Location", "/loop");
    if (req.path == "/headers") return Routes()(req);
    return Dispatch::Respond(std::move(r));
  });
  HttpClient c;
  std::string base = "http://127.0.0.1:" + std::to_string(front.port());
  auto send = [&](const std::string& path, std::string method = "GET") {
    Request req = Make(method, base + path);
    req.headers.Add("Authorization", "Basic secret");
    req.headers.Add("X-Test", "kept");
    return c.Send(std::move(req));
  };
  auto same = send("/same");
  ASSERT_TRUE(same);
  EXPECT_EQ((*same)->status, 200);
  EXPECT_EQ((*same)->ReadAll(100).value_or("?"), "Basic secret|kept");
  auto away = send("/away");
  ASSERT_TRUE(away);
  EXPECT_EQ((*away)->url, "http://127.0.0.1:" + std::to_string(target.port()) + "/headers");
  EXPECT_EQ((*away)->ReadAll(100).value_or("?"), "|kept");
  auto loop = send("/loop");
  ASSERT_FALSE(loop);
  EXPECT_EQ(loop.error().code, ErrorCode::kUnavailable);
  EXPECT_NE(loop.error().message.find("redirects"), std::string::npos);
  auto post = send("/same", "POST");  // not followed for other methods
  ASSERT_TRUE(post);
  EXPECT_EQ((*post)->status, 307);
}

TEST(HttpClient, ConnectionRefusedIsUnavailable) {
  uint16_t port;
  {
    TestServer srv(Routes());
    port = srv.port();
  }
  HttpClient c;
  auto res = c.Send(Get("http://127.0.0.1:" + std::to_string(port) + "/"));
  ASSERT_FALSE(res);
  EXPECT_EQ(res.error().code, ErrorCode::kUnavailable);
  EXPECT_NE(res.error().message.find("127.0.0.1"), std::string::npos);
}

TEST(HttpClient, ReadTimeoutBoundsASilentServer) {
  std::mutex mu;
  std::condition_variable cv;
  bool release = false;
  TestServer srv([&](http::Request&) {
    std::unique_lock lk(mu);
    cv.wait_for(lk, std::chrono::seconds(10), [&] { return release; });
    return Dispatch::Respond(Text(200, "late"));
  });
  HttpClient c(ReadTimeout(std::chrono::milliseconds(300)));
  auto start = std::chrono::steady_clock::now();
  auto res = c.Send(Get("http://127.0.0.1:" + std::to_string(srv.port()) + "/"));
  auto took = std::chrono::steady_clock::now() - start;
  {
    std::lock_guard lk(mu);
    release = true;
  }
  cv.notify_all();
  ASSERT_FALSE(res);
  EXPECT_EQ(res.error().code, ErrorCode::kUnavailable);
  EXPECT_LT(took, std::chrono::seconds(5));
}

// A source that fails after some bytes: the server aborts the connection mid-body.
class BreakingSource : public http::BodySource {
 public:
  Result<size_t> Read(char* buf, size_t cap) override {
    if (sent_ >= 5'000'000) return MakeError(ErrorCode::kIo, "disk gone");
    size_t n = std::min<size_t>(cap, 5'000'000 - sent_);
    std::memset(buf, 'a', n);
    sent_ += n;
    return n;
  }

 private:
  size_t sent_ = 0;
};

TEST(HttpClient, BodyCutShortIsAnErrorNotAShortSuccess) {
  TestServer srv([](http::Request&) {
    http::Response r;
    r.content_length = 10'000'000;
    r.stream = std::make_unique<BreakingSource>();
    return Dispatch::Respond(std::move(r));
  });
  HttpClient c;
  auto res = c.Send(Get("http://127.0.0.1:" + std::to_string(srv.port()) + "/"));
  ASSERT_TRUE(res);
  auto body = (*res)->ReadAll(20'000'000);
  ASSERT_FALSE(body);
  EXPECT_EQ(body.error().code, ErrorCode::kUnavailable);
}

TEST(HttpClient, ReadAllRefusesBodiesOverTheLimit) {
  TestServer srv(Routes());
  HttpClient c;
  auto res = c.Send(Get("http://127.0.0.1:" + std::to_string(srv.port()) + "/big"));
  ASSERT_TRUE(res);
  auto body = (*res)->ReadAll(1 << 20);
  ASSERT_FALSE(body);
  EXPECT_NE(body.error().message.find("longer than"), std::string::npos);
}

// TLS against a self-signed certificate for 127.0.0.1, made by the openssl command.
class TlsFixture : public ::testing::Test {
 protected:
  void SetUp() override {
    if (::access("/usr/bin/openssl", X_OK) != 0) GTEST_SKIP() << "no openssl command";
    char tmpl[] = "/tmp/berth_client_tls_XXXXXX";
    dir_ = mkdtemp(tmpl);
    std::string cmd =
        "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 1 "
        "-subj /CN=127.0.0.1 -addext subjectAltName=IP:127.0.0.1 -keyout " +
        dir_ + "/key.pem -out " + dir_ + "/cert.pem >/dev/null 2>&1";
    ASSERT_EQ(std::system(cmd.c_str()), 0);
  }
  void TearDown() override {
    if (!dir_.empty()) std::filesystem::remove_all(dir_);
  }
  std::string dir_;
};

TEST_F(TlsFixture, VerifiesAgainstTheConfiguredCaAndRefusesUnknownOnes) {
  http::ServerOptions o = http::TestOptions();
  o.tls_certificate = dir_ + "/cert.pem";
  o.tls_key = dir_ + "/key.pem";
  TestServer srv(Routes(), o);
  std::string url = "https://127.0.0.1:" + std::to_string(srv.port()) + "/headers";
  ClientOptions with_ca;
  with_ca.ca_file = dir_ + "/cert.pem";
  HttpClient trusted(with_ca);
  auto ok = trusted.Send(Get(url));
  ASSERT_TRUE(ok) << ok.error().ToString();
  EXPECT_EQ((*ok)->status, 200);
  HttpClient system_cas;
  auto refused = system_cas.Send(Get(url));
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().code, ErrorCode::kUnavailable);
  EXPECT_NE(refused.error().message.find("TLS"), std::string::npos);
  ClientOptions no_verify;
  no_verify.tls_verify = false;
  HttpClient insecure(no_verify);
  EXPECT_TRUE(insecure.Send(Get(url)));
  ClientOptions bad_ca;
  bad_ca.ca_file = dir_ + "/nope.pem";
  HttpClient missing(bad_ca);
  auto no_file = missing.Send(Get(url));
  ASSERT_FALSE(no_file);
  EXPECT_NE(no_file.error().message.find("nope.pem"), std::string::npos);
}

}  // namespace
}  // namespace berth::client
