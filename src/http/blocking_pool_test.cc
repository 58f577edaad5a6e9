#include "http/blocking_pool.h"

#include <gtest/gtest.h>

#include "http/server_test_util.h"

namespace berth::http {
namespace {

using namespace std::chrono_literals;

// Lets a test hold a blocking call until it says so (or until the call's own time limit).
struct Gate {
  std::mutex mu;
  std::condition_variable cv;
  int entered = 0;
  bool open = false;

  // Blocks the calling (pool) thread for up to `limit`.
  void Block(std::chrono::milliseconds limit) {
    std::unique_lock lock(mu);
    ++entered;
    cv.notify_all();
    cv.wait_for(lock, limit, [&] { return open; });
  }
  bool WaitEntered(int n) {
    return WaitFor(mu, cv, [&] { return entered >= n; });
  }
  void Open() {
    std::lock_guard lock(mu);
    open = true;
    cv.notify_all();
  }
};

ServerOptions OneLoop() {
  ServerOptions o = TestOptions();
  o.threads = 1;
  return o;
}

// 20 fresh requests to /fast, one after the other; each must be answered within 100 ms.
void ExpectFastAnswers(uint16_t port) {
  for (int i = 0; i < 20; ++i) {
    auto start = Clock::now();
    auto r = RoundTrip(port, "GET /fast HTTP/1.1\r\nHost: x\r\n\r\n");
    auto took = std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - start);
    ASSERT_TRUE(r) << i;
    EXPECT_EQ(r->status, 200);
    EXPECT_LT(took.count(), 100) << "request " << i << " waited on the blocked handler";
  }
}

// Starts a server with one event loop whose `handler` blocks on `gate` for `request`; while it
// blocks, 20 requests to /fast must be answered. Returns the blocked request's reply once the gate
// opens.
std::optional<Reply> ServeWhileBlocked(Gate& gate, Handler handler, std::string_view request) {
  TestServer ts(
      [&](Request& req) {
        if (req.path == "/fast") return Dispatch::Respond(Text(200, "done"));
        return handler(req);
      },
      OneLoop());
  Client c(ts.port());
  if (!c.Send(request)) return std::nullopt;
  EXPECT_TRUE(gate.WaitEntered(1));
  ExpectFastAnswers(ts.port());
  gate.Open();
  return c.Read();
}

TEST(BlockingWork, SlowHandlerDoesNotStallOtherRequestsOnItsLoop) {
  Gate gate;
  auto r = ServeWhileBlocked(
      gate,
      [&](Request&) {
        gate.Block(1000ms);
        return Dispatch::Respond(Text(200, "done"));
      },
      "GET /slow HTTP/1.1\r\nHost: x\r\n\r\n");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
}

// A sink that blocks in Write (a slow disk) on a body that arrives on a loop.
class BlockingSink : public BodySink {
 public:
  explicit BlockingSink(Gate& gate) : gate_(gate) {}
  Status Write(const char*, size_t n) override {
    gate_.Block(1000ms);
    bytes_ += n;
    return Ok();
  }
  Response Finish(const Status& s) override { return Text(s ? 201 : 400, std::to_string(bytes_)); }

 private:
  Gate& gate_;
  size_t bytes_ = 0;
};

TEST(BlockingWork, SlowSinkWriteDoesNotStallOtherRequests) {
  Gate gate;
  auto r = ServeWhileBlocked(
      gate, [&](Request&) { return Dispatch::StreamBody(std::make_unique<BlockingSink>(gate)); },
      "PUT /upload HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 201);
  EXPECT_EQ(r->body, "5");
}

// A source without a file descriptor whose reads block (a remote or slow store).
class BlockingSource : public BodySource {
 public:
  explicit BlockingSource(Gate& gate) : gate_(gate) {}
  Result<size_t> Read(char* buf, size_t cap) override {
    if (done_) return size_t{0};
    gate_.Block(1000ms);
    done_ = true;
    size_t n = std::min<size_t>(cap, 4);
    memcpy(buf, "data", n);
    return n;
  }

 private:
  Gate& gate_;
  bool done_ = false;
};

TEST(BlockingWork, SlowSourceReadDoesNotStallOtherRequests) {
  Gate gate;
  auto r = ServeWhileBlocked(
      gate,
      [&](Request&) {
        Response blob;
        blob.content_length = 4;
        blob.stream = std::make_unique<BlockingSource>(gate);
        return Dispatch::Respond(std::move(blob));
      },
      "GET /blob HTTP/1.1\r\nHost: x\r\n\r\n");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->body, "data");
}

TEST(BlockingWork, FullQueueAnswers503WithoutCallingTheHandler) {
  Gate gate;
  std::atomic<int> calls{0};
  ServerOptions o = OneLoop();
  o.blocking_threads = 1;
  o.blocking_queue = 0;  // nothing may wait for a thread
  TestServer ts(
      [&](Request&) {
        ++calls;
        gate.Block(5000ms);
        return Dispatch::Respond(Text(200, "done"));
      },
      o);
  Client first(ts.port());
  ASSERT_TRUE(first.Send("GET /a HTTP/1.1\r\nHost: x\r\n\r\n"));
  ASSERT_TRUE(gate.WaitEntered(1));  // the only thread is busy
  auto busy = RoundTrip(ts.port(), "GET /b HTTP/1.1\r\nHost: x\r\n\r\n");
  ASSERT_TRUE(busy);
  EXPECT_EQ(busy->status, 503);
  EXPECT_EQ(busy->Header("Retry-After"), "1");
  gate.Open();
  auto r = first.Read();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(calls.load(), 1);
}

TEST(BlockingPool, GrowsToItsLimitAndRunsEveryJob) {
  BlockingPool pool(3, 100);
  std::mutex mu;
  std::condition_variable cv;
  int running = 0, max_running = 0, done = 0;
  bool release = false;
  for (int i = 0; i < 10; ++i) {
    BlockingPool::Job job = [&] {
      std::unique_lock lock(mu);
      max_running = std::max(max_running, ++running);
      cv.notify_all();
      cv.wait_for(lock, 5s, [&] { return release || running == 3; });
      release = true;
      cv.notify_all();
      --running;
      ++done;
    };
    ASSERT_TRUE(pool.Submit(job, /*admission=*/false));
  }
  pool.Stop();  // runs everything queued
  EXPECT_EQ(done, 10);
  EXPECT_EQ(max_running, 3);
  BlockingPool::Job late = [] {};
  EXPECT_FALSE(pool.Submit(late, false));
  EXPECT_TRUE(late);  // refused jobs stay with the caller
}

// A burst of jobs that all wait is served by the eager threads alone while none of them is stuck
// (the stall limit here is far longer than the test).
TEST(BlockingPool, BurstStaysOnTheEagerThreads) {
  BlockingPool pool(100, 1000, /*eager=*/4, /*stall=*/30s);
  Gate gate;
  std::atomic<int> done{0};
  for (int i = 0; i < 200; ++i) {
    BlockingPool::Job job = [&] {
      gate.Block(10s);
      ++done;
    };
    ASSERT_TRUE(pool.Submit(job, /*admission=*/false));
  }
  ASSERT_TRUE(gate.WaitEntered(4));
  EXPECT_EQ(pool.Threads(), 4u);
  gate.Open();
  pool.Stop();
  EXPECT_EQ(done.load(), 200);
}

// When every eager thread is stuck in a long job, the monitor starts another thread so that a
// waiting job still runs, long before the stuck ones finish.
TEST(BlockingPool, StuckThreadsAreReplaced) {
  BlockingPool pool(16, 1000, /*eager=*/2, /*stall=*/20ms);
  Gate gate;
  for (int i = 0; i < 2; ++i) {
    BlockingPool::Job job = [&] { gate.Block(20s); };
    ASSERT_TRUE(pool.Submit(job, /*admission=*/false));
  }
  ASSERT_TRUE(gate.WaitEntered(2));
  std::mutex mu;
  std::condition_variable cv;
  bool ran = false;
  BlockingPool::Job quick = [&] {
    std::lock_guard lock(mu);
    ran = true;
    cv.notify_all();
  };
  ASSERT_TRUE(pool.Submit(quick, /*admission=*/false));
  EXPECT_TRUE(WaitFor(mu, cv, [&] { return ran; }));
  EXPECT_EQ(pool.Threads(), 3u);
  gate.Open();
  pool.Stop();
}

}  // namespace
}  // namespace berth::http
