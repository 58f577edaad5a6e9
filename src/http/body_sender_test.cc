#include <gtest/gtest.h>

#include "http/body_sender.h"
#include "http/server_test_util.h"

namespace berth::http {
namespace {

using namespace std::chrono_literals;

TEST(Server, StreamedResponseArrivesIntact) {
  constexpr uint64_t kSize = 50ull << 20;
  TestServer ts([&](Request&) {
    Response r;
    r.content_length = kSize;
    r.stream = std::make_unique<PatternSource>(kSize);
    return Dispatch::Respond(std::move(r));
  });
  Client c(ts.port());
  auto r = c.Exchange("GET /blob HTTP/1.1\r\nHost: x\r\n\r\n");
  EXPECT_TRUE(CarriesPattern(r, kSize));
  // Keep-alive survives a streamed response.
  r = c.Exchange("GET /blob HTTP/1.1\r\nHost: x\r\n\r\n");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->body.size(), kSize);
}

// Serves bytes [from, size) of a pattern file with `o`, fetches them twice over one connection,
// checks what arrives, and returns how many times the server read the file itself.
int FetchFileTwice(ServerOptions o, uint64_t size, uint64_t from) {
  TempFile file(size);
  std::atomic<int> reads{0};
  TestServer ts(ServeFile(file, size - from, &reads, from), std::move(o));
  Client c(ts.port());
  for (int round = 0; round < 2; ++round) {
    EXPECT_TRUE(
        CarriesPattern(c.Exchange("GET /file HTTP/1.1\r\nHost: x\r\n\r\n"), size - from, from));
  }
  return reads.load();
}

TEST(Server, SendfileResponseArrivesIntact) {
  ServerOptions o = TestOptions();
  o.sendfile = true;
  EXPECT_EQ(FetchFileTwice(o, 50ull << 20, 1000), 0);  // sendfile, not Read
}

TEST(Server, MappedResponseArrivesIntact) {
  constexpr uint64_t kSize = 9ull << 20;
  constexpr uint64_t kFrom = 12345;  // not page-aligned
  TempFile file(kSize);
  std::atomic<int> reads{0};
  ServerOptions o = TestOptions();
  ASSERT_TRUE(o.map_files);  // the default
  o.large_buffer = 1 << 20;  // several windows, some from the budget and some not
  o.large_buffer_budget = 1 << 20;
  o.small_buffer = 64 << 10;
  TestServer ts(ServeFile(file, kSize - kFrom, &reads, kFrom), o);
  Client a(ts.port());
  Client b(ts.port());
  for (int round = 0; round < 2; ++round) {
    ASSERT_TRUE(a.Send("GET /file HTTP/1.1\r\nHost: x\r\n\r\n"));
    ASSERT_TRUE(b.Send("GET /file HTTP/1.1\r\nHost: x\r\n\r\n"));
    for (Client* c : {&a, &b}) {
      auto r = c->Read();
      EXPECT_TRUE(CarriesPattern(r, kSize - kFrom, kFrom));
    }
  }
  EXPECT_EQ(reads.load(), 0);  // mapped, not Read
}

// The file ends before the announced length: the pages past its end cannot be mapped in. Only the
// kernel touches the mapping, so the write fails (no SIGBUS, which would end this whole test
// binary); the connection closes and the server goes on serving.
TEST(Server, MappedFileShorterThanItsLengthClosesTheConnectionOnly) {
  constexpr uint64_t kSize = 3ull << 20;
  TempFile file(kSize);
  std::atomic<int> reads{0};
  TestServer ts([&](Request& req) {
    Response r;
    r.content_length = req.target == "/short" ? kSize + (2 << 20) : kSize;
    r.stream = std::make_unique<FileSource>(::open(file.path().c_str(), O_RDONLY), &reads);
    return Dispatch::Respond(std::move(r));
  });
  Client c(ts.port());
  ASSERT_TRUE(c.Send("GET /short HTTP/1.1\r\nHost: x\r\n\r\n"));
  EXPECT_FALSE(c.Read());
  Client d(ts.port());
  auto r = d.Exchange("GET /whole HTTP/1.1\r\nHost: x\r\n\r\n");
  EXPECT_TRUE(CarriesPattern(r, kSize));
}

TEST(Server, FileSourceIsCopiedWhenSendfileAndMappingAreOff) {
  ServerOptions o = TestOptions();
  o.map_files = false;
  EXPECT_GT(FetchFileTwice(o, 3ull << 20, 0), 0);
}

// Fills whatever it is asked for with 'x' and remembers the largest request (the buffer size).
class CapSource : public BodySource {
 public:
  CapSource(std::atomic<size_t>* max_cap, std::atomic<int>* calls)
      : max_cap_(max_cap), calls_(calls) {}
  Result<size_t> Read(char* buf, size_t cap) override {
    memset(buf, 'x', cap);
    size_t prev = max_cap_->load();
    while (cap > prev && !max_cap_->compare_exchange_weak(prev, cap)) {
    }
    calls_->fetch_add(1);
    return cap;
  }

 private:
  std::atomic<size_t>* max_cap_;
  std::atomic<int>* calls_;
};

TEST(Server, LargeBuffersComeFromABudget) {
  ServerOptions o = TestOptions();
  o.small_buffer = 64 << 10;
  o.large_buffer = 1 << 20;
  o.large_buffer_budget = 1 << 20;  // one large buffer at a time
  // Sources without a file never gather more than kStreamBuffer: that is their large buffer.
  constexpr size_t kLarge = kStreamBuffer;
  o.large_buffer_budget = kLarge;
  std::map<std::string, std::pair<std::atomic<size_t>, std::atomic<int>>> seen;
  for (const char* p : {"/a", "/b", "/c", "/tiny"}) seen[p];
  TestServer ts(
      [&](Request& req) {
        auto& [cap, calls] = seen.at(req.target);
        Response r;
        r.content_length = req.target == "/tiny" ? 1000 : (req.target == "/a" ? 64 << 20 : 4 << 20);
        r.stream = std::make_unique<CapSource>(&cap, &calls);
        return Dispatch::Respond(std::move(r));
      },
      o);
  // /a is not read: the server blocks on a full socket while holding the only large buffer.
  Client a(ts.port(), 20'000ms);
  ASSERT_TRUE(a.Send("GET /a HTTP/1.1\r\nHost: x\r\n\r\n"));
  for (int i = 0; i < 500 && seen.at("/a").second.load() == 0; ++i)
    std::this_thread::sleep_for(10ms);
  ASSERT_GT(seen.at("/a").second.load(), 0);
  EXPECT_EQ(seen.at("/a").first.load(), kLarge);

  Client b(ts.port());
  auto rb = b.Exchange("GET /b HTTP/1.1\r\nHost: x\r\n\r\n");
  ASSERT_TRUE(rb);
  EXPECT_EQ(rb->body.size(), size_t{4} << 20);
  EXPECT_EQ(seen.at("/b").first.load(), size_t{64} << 10);  // budget spent: small buffer

  auto rt = b.Exchange("GET /tiny HTTP/1.1\r\nHost: x\r\n\r\n");
  ASSERT_TRUE(rt);
  EXPECT_EQ(seen.at("/tiny").first.load(), 1000u);  // never more than the body

  auto ra = a.Read();  // drains /a; its lease goes back
  ASSERT_TRUE(ra);
  EXPECT_EQ(ra->body.size(), size_t{64} << 20);
  auto rc = b.Exchange("GET /c HTTP/1.1\r\nHost: x\r\n\r\n");
  ASSERT_TRUE(rc);
  EXPECT_EQ(seen.at("/c").first.load(), kLarge);
}

// Hands out 64 KiB per read until 320 KiB, then blocks until released.
class TrickleSource : public BodySource {
 public:
  explicit TrickleSource(std::atomic<bool>* release) : release_(release) {}
  Result<size_t> Read(char* buf, size_t cap) override {
    if (given_ >= (320u << 10)) {
      for (int i = 0; i < 1000 && !release_->load(); ++i) std::this_thread::sleep_for(10ms);
    }
    size_t n = std::min<size_t>(cap, 64 << 10);
    memset(buf, 'x', n);
    given_ += n;
    return n;
  }

 private:
  std::atomic<bool>* release_;
  size_t given_ = 0;
};

// A source without a file (a pull-through fetch, an object store) delivers bytes as they come:
// they reach the client without waiting for a large buffer to fill.
TEST(Server, StreamedBytesLeaveBeforeALargeBufferFills) {
  ServerOptions o = TestOptions();
  o.large_buffer = 4 << 20;
  o.large_buffer_budget = 64 << 20;
  std::atomic<bool> release{false};
  TestServer ts(
      [&](Request&) {
        Response r;
        r.content_length = 8 << 20;
        r.stream = std::make_unique<TrickleSource>(&release);
        return Dispatch::Respond(std::move(r));
      },
      o);
  Client c(ts.port());
  ASSERT_TRUE(c.Send("GET / HTTP/1.1\r\nHost: x\r\n\r\n"));
  // While the source is stalled at 320 KiB, at least the first buffer's worth has arrived.
  size_t got = 0;
  char buf[64 << 10];
  const auto deadline = Clock::now() + 5s;
  while (got < (256u << 10) && Clock::now() < deadline) {
    ssize_t n = recv(c.fd(), buf, sizeof buf, 0);
    if (n <= 0) break;
    got += static_cast<size_t>(n);
  }
  EXPECT_GE(got, 256u << 10);
  EXPECT_FALSE(release.load());
  release = true;
}

class FailingSource : public BodySource {
 public:
  Result<size_t> Read(char* buf, size_t cap) override {
    if (calls_++ == 0) {
      size_t n = std::min<size_t>(cap, 1000);
      memset(buf, 'x', n);
      return n;
    }
    return MakeError(ErrorCode::kIo, "disk gone");
  }

 private:
  int calls_ = 0;
};

TEST(Server, SourceErrorMidStreamClosesConnection) {
  ServerOptions o = TestOptions();
  o.small_buffer = 4096;
  o.large_buffer = 4096;
  TestServer ts(
      [](Request&) {
        Response r;
        r.content_length = 1 << 20;
        r.stream = std::make_unique<FailingSource>();
        return Dispatch::Respond(std::move(r));
      },
      o);
  Client c(ts.port());
  ASSERT_TRUE(c.Send("GET / HTTP/1.1\r\nHost: x\r\n\r\n"));
  EXPECT_FALSE(c.Read());  // truncated: the connection closes before 1 MiB arrives
}

TEST(Server, SourceEndingEarlyClosesConnection) {
  TestServer ts([](Request&) {
    Response r;
    r.content_length = 5000;
    r.stream = std::make_unique<PatternSource>(100);
    return Dispatch::Respond(std::move(r));
  });
  Client c(ts.port());
  ASSERT_TRUE(c.Send("GET / HTTP/1.1\r\nHost: x\r\n\r\n"));
  EXPECT_FALSE(c.Read());
}

}  // namespace
}  // namespace berth::http
