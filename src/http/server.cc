#include "http/server.h"

#include <sched.h>

// The only translation unit that sees Asio and Beast (compile time, and api/ must not depend on
// them).
//
// Shape: `threads` workers, each an io_context run by exactly one thread. A connection lives on one
// worker for its whole life, so its coroutine, its watchdog and its handler calls never race and
// need no strand or lock. The acceptor lives on worker 0 and deals sockets round-robin.
//
// Timeouts use one watchdog timer per connection: a phase stores its deadline in a plain field, and
// the timer is only re-armed when it fires or when a deadline moves earlier. Steady keep-alive
// traffic therefore costs no timer operations per request.

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/sendfile.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/basic_waitable_timer.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ip/v6_only.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/wait_traits.hpp>
#include <boost/beast/core/buffers_suffix.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/basic_parser.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/field.hpp>
#include <boost/beast/http/status.hpp>
#include <cerrno>
#include <charconv>
#include <condition_variable>
#include <ctime>
#include <limits>
#include <mutex>
#include <optional>
#include <system_error>
#include <thread>
#include <type_traits>
#include <vector>

#include "common/log.h"
#include "common/strings.h"

namespace berth::http {
namespace {

// Cores this process may run on (taskset/cgroup cpusets), not the machine's: two event loops
// time-sharing one core cost latency for nothing.
int UsableCores() {
  cpu_set_t set;
  CPU_ZERO(&set);
  if (sched_getaffinity(0, sizeof set, &set) == 0) {
    int n = CPU_COUNT(&set);
    if (n > 0) return n;
  }
  return std::max(1, static_cast<int>(std::thread::hardware_concurrency()));
}


namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
using tcp = asio::ip::tcp;
using Clock = std::chrono::steady_clock;
using ErrorCodeT = boost::system::error_code;

// Strongly typed executors avoid any_io_executor's type erasure on every operation.
using Executor = asio::io_context::executor_type;
using Socket = asio::basic_stream_socket<tcp, Executor>;
using Acceptor = asio::basic_socket_acceptor<tcp, Executor>;
using Timer = asio::basic_waitable_timer<Clock, asio::wait_traits<Clock>, Executor>;
using TlsStream = asio::ssl::stream<Socket>;
template <class T>
using Task = asio::awaitable<T, Executor>;
// Errors come back as values: nothing on the request path throws.
constexpr asio::as_tuple_t<asio::use_awaitable_t<Executor>> kUse{};

constexpr Clock::time_point kNever = Clock::time_point::max();
// A head usually arrives in one segment; 16 KiB also swallows a burst of pipelined requests.
constexpr size_t kHeadReadSize = 16 * 1024;
constexpr size_t kMinBodyRead = 16 * 1024;
// Buffers grown by a big body or head are given back once the request is done, so that thousands of
// idle keep-alive connections stay small.
constexpr size_t kKeepBufferBytes = 64 * 1024;
// After answering without reading the body, keep reading (and dropping) for a moment before
// closing: closing a socket with unread input sends RST, which can destroy the response in the
// client's receive buffer before it reads it.
constexpr std::chrono::milliseconds kLingerTime{1000};
constexpr size_t kLingerBytes = 8 << 20;
// Status for requests whose response never went out, as nginx logs them.
constexpr int kClientClosedStatus = 499;
// Streamed file bodies from this size on are sent from mappings (ServerOptions::map_files).
constexpr uint64_t kMapFrom = 256 << 10;

std::string_view DateHeader() {
  // Formatting a date per response is measurable at high request rates; one per second per thread.
  thread_local time_t cached = -1;
  thread_local char text[64];
  thread_local size_t length = 0;
  time_t now = time(nullptr);
  if (now != cached) {
    static constexpr const char* kDays[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
    static constexpr const char* kMonths[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                              "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
    struct tm t;
    gmtime_r(&now, &t);
    int n = snprintf(text, sizeof(text), "Date: %s, %02d %s %04d %02d:%02d:%02d GMT\r\n",
                     kDays[t.tm_wday % 7], t.tm_mday, kMonths[t.tm_mon % 12], t.tm_year + 1900,
                     t.tm_hour, t.tm_min, t.tm_sec);
    length = n > 0 ? static_cast<size_t>(n) : 0;
    cached = now;
  }
  return {text, length};
}

void AppendNumber(std::string& out, uint64_t v) {
  char digits[24];
  auto [end, ec] = std::to_chars(digits, digits + sizeof(digits), v);
  out.append(digits, end);
}

bool ContainsLineBreak(std::string_view s) {
  // Not find_first_of: libstdc++ runs a memchr per character for it, which showed in profiles.
  for (char c : s) {
    if (c == '\r' || c == '\n') return true;
  }
  return false;
}

bool HasToken(std::string_view list, std::string_view token) {
  for (std::string_view part : Split(list, ',')) {
    if (IEquals(Trim(part), token)) return true;
  }
  return false;
}

Response TextResponse(int status, std::string_view text) {
  Response r;
  r.status = status;
  r.headers.Add("Content-Type", "text/plain; charset=utf-8");
  r.body = std::string(text);
  r.body += '\n';
  return r;
}

Response InternalError(std::string note) {
  Response r = TextResponse(500, "internal server error");
  r.log_note = std::move(note);
  return r;
}

// -------------------------------------------------------------------------------------------------
// Parsing: a basic_parser that writes the head straight into our Request and hands body bytes to
// their destination without an intermediate Beast body or fields container.

enum class BodyMode : uint8_t { kDiscard, kBuffer, kStream };

class RequestParser final : public bhttp::basic_parser<true> {
 public:
  explicit RequestParser(Request& request) : request_(request) {}

  void ExpectBody(BodyMode mode, uint64_t limit, BodySink* sink) {
    mode_ = mode;
    limit_ = limit;
    sink_ = sink;
  }
  int version() const { return version_; }
  bool expect_continue() const { return expect_continue_; }
  bool too_large() const { return too_large_; }
  bool sink_failed() const { return sink_error_.has_value(); }
  Error TakeSinkError() { return std::move(*sink_error_); }
  // 0 unless the head was refused for a reason of ours rather than Beast's.
  int reject_status() const { return reject_status_; }
  std::string_view reject_reason() const { return reject_reason_; }
  uint64_t body_bytes() const { return received_; }

 private:
  void on_request_impl(bhttp::verb, beast::string_view method, beast::string_view target,
                       int version, beast::error_code&) override {
    request_.method.assign(method.data(), method.size());
    request_.target.assign(target.data(), target.size());
    std::string_view t(target.data(), target.size());
    // absolute-form (RFC 9112 3.2.2) must be accepted; handlers route on the origin-form path.
    if (!t.empty() && t.front() != '/') {
      size_t scheme_end = t.find("://");
      if (scheme_end != std::string_view::npos &&
          (IEquals(t.substr(0, scheme_end), "http") || IEquals(t.substr(0, scheme_end), "https"))) {
        size_t path_start = t.find_first_of("/?", scheme_end + 3);
        t = path_start == std::string_view::npos ? std::string_view("/") : t.substr(path_start);
      }
    }
    size_t q = t.find('?');
    if (q == std::string_view::npos) {
      request_.path.assign(t);
    } else {
      request_.path.assign(q == 0 ? std::string_view("/") : t.substr(0, q));
      request_.query.assign(t.substr(q + 1));
    }
    version_ = version;
  }

  void on_response_impl(int, beast::string_view, int, beast::error_code&) override {}

  void on_field_impl(bhttp::field f, beast::string_view name, beast::string_view value,
                     beast::error_code& ec) override {
    if (header_done_) return;  // chunked trailers are not exposed to handlers
    std::string_view v(value.data(), value.size());
    if (f == bhttp::field::transfer_encoding) {
      // Beast ignores a Transfer-Encoding that does not end in chunked, which would let a body be
      // read as the next request (smuggling); RFC 9112 6.1/6.3 want 400 or 501 instead.
      if (!IEquals(Trim(v), "chunked")) {
        std::vector<std::string_view> codings = Split(v, ',');
        bool chunked_last = IEquals(Trim(codings.back()), "chunked");
        reject_status_ = chunked_last ? 501 : 400;
        reject_reason_ = chunked_last ? "unsupported transfer coding"
                                      : "transfer-encoding does not end in chunked";
        ec = bhttp::error::bad_transfer_encoding;
        return;
      }
    } else if (f == bhttp::field::expect) {
      expect_continue_ = IEquals(Trim(v), "100-continue");
    }
    request_.headers.Add(std::string(name.data(), name.size()), std::string(v));
  }

  void on_header_impl(beast::error_code&) override { header_done_ = true; }
  void on_body_init_impl(const boost::optional<std::uint64_t>&, beast::error_code&) override {}
  size_t on_body_impl(beast::string_view body, beast::error_code& ec) override {
    return Consume(body.data(), body.size(), ec);
  }
  void on_chunk_header_impl(std::uint64_t, beast::string_view, beast::error_code&) override {}
  size_t on_chunk_body_impl(std::uint64_t, beast::string_view body,
                            beast::error_code& ec) override {
    return Consume(body.data(), body.size(), ec);
  }
  void on_finish_impl(beast::error_code&) override {}

  size_t Consume(const char* data, size_t n, beast::error_code& ec) {
    switch (mode_) {
      case BodyMode::kDiscard:
        received_ += n;
        if (received_ > limit_) {
          too_large_ = true;
          ec = bhttp::error::body_limit;
        }
        return n;
      case BodyMode::kBuffer:
        if (received_ + n > limit_) {
          too_large_ = true;
          ec = bhttp::error::body_limit;
          return 0;
        }
        received_ += n;
        request_.body.append(data, n);
        return n;
      case BodyMode::kStream: {
        received_ += n;
        Status s = sink_->Write(data, n);
        if (!s) {
          sink_error_ = std::move(s.error());
          ec = bhttp::error::body_limit;  // any error stops the parser; sink_failed() says why
        }
        return n;
      }
    }
    return n;
  }

  Request& request_;
  BodyMode mode_ = BodyMode::kDiscard;
  uint64_t limit_ = 0;
  BodySink* sink_ = nullptr;
  uint64_t received_ = 0;
  int version_ = 11;
  int reject_status_ = 0;
  std::string_view reject_reason_;
  bool header_done_ = false;
  bool expect_continue_ = false;
  bool too_large_ = false;
  std::optional<Error> sink_error_;
};

// -------------------------------------------------------------------------------------------------
// Server state shared by all workers.

class ConnectionBase {
 public:
  virtual ~ConnectionBase() = default;
  // Both run on the connection's worker thread.
  virtual void Drain() = 0;       // close if no request is in flight
  virtual void ForceClose() = 0;  // close now

  ConnectionBase* prev_ = nullptr;
  ConnectionBase* next_ = nullptr;
  bool linked_ = false;
};

struct Worker {
  // Intrusive list of this worker's connections, touched only on its thread. Declared first so it
  // outlives `ioc`, whose destruction may destroy connections that unlink themselves.
  ConnectionBase* connections = nullptr;
  asio::io_context ioc{1};  // hint: run by exactly one thread
  std::optional<asio::executor_work_guard<Executor>> guard;
  std::thread thread;

  void Link(ConnectionBase* c) {
    c->next_ = connections;
    c->prev_ = nullptr;
    if (connections) connections->prev_ = c;
    connections = c;
    c->linked_ = true;
  }
  void Unlink(ConnectionBase* c) {
    if (!c->linked_) return;
    if (c->prev_)
      c->prev_->next_ = c->next_;
    else
      connections = c->next_;
    if (c->next_) c->next_->prev_ = c->prev_;
    c->linked_ = false;
  }
  template <class F>
  void ForEach(F f) {
    for (ConnectionBase* c = connections; c;) {
      ConnectionBase* next = c->next_;
      f(c);
      c = next;
    }
  }
};

struct Core {
  Core(ServerOptions o, Handler h) : options(std::move(o)), handler(std::move(h)) {
    large_buffers_left.store(
        static_cast<int64_t>(std::min<size_t>(options.large_buffer_budget, INT64_MAX)));
  }

  ServerOptions options;
  Handler handler;
  std::vector<std::unique_ptr<Worker>> workers;
  // Set by Start when serving TLS; never cleared.
  std::atomic<bool> tls_enabled{false};
  // Serialises reloads so that the last one to finish is the last one started.
  std::mutex reload_mu;

  // The context new connections handshake with. Each connection holds its own reference, so a
  // reload swaps this pointer and leaves established sessions untouched.
  std::shared_ptr<asio::ssl::context> CurrentTls() {
    std::lock_guard lock(tls_mu);
    return tls;
  }
  void SetTls(std::shared_ptr<asio::ssl::context> ctx) {
    std::lock_guard lock(tls_mu);
    tls = std::move(ctx);
  }
  std::atomic<bool> stopping{false};
  std::atomic<int64_t> live{0};
  // What is left of options.large_buffer_budget; see BufferLease.
  std::atomic<int64_t> large_buffers_left{0};
  std::mutex mu;
  std::condition_variable cv;

  void ConnectionEnded() {
    if (live.fetch_sub(1, std::memory_order_acq_rel) == 1 && stopping.load()) {
      std::lock_guard lock(mu);
      cv.notify_all();
    }
  }

 private:
  std::mutex tls_mu;
  std::shared_ptr<asio::ssl::context> tls;  // Guarded by tls_mu.
};

// A claim on the large-buffer budget for one transfer: large_buffer bytes while the budget lasts,
// else small_buffer (not counted). Never more than `need`. Returns its claim when destroyed.
class BufferLease {
 public:
  BufferLease(Core& core, uint64_t need) {
    const ServerOptions& o = core.options;
    const size_t small = std::max<size_t>(o.small_buffer, 4096);
    size_ = static_cast<size_t>(std::min<uint64_t>(small, need));
    const size_t large = std::max(o.large_buffer, small);
    if (need <= small || large == small) return;
    const auto want = static_cast<int64_t>(std::min<uint64_t>(large, need));
    int64_t left = core.large_buffers_left.load(std::memory_order_relaxed);
    while (left >= want) {
      if (core.large_buffers_left.compare_exchange_weak(left, left - want,
                                                        std::memory_order_relaxed)) {
        pool_ = &core.large_buffers_left;
        size_ = static_cast<size_t>(want);
        return;
      }
    }
  }
  ~BufferLease() {
    if (pool_) pool_->fetch_add(static_cast<int64_t>(size_), std::memory_order_relaxed);
  }
  BufferLease(const BufferLease&) = delete;
  BufferLease& operator=(const BufferLease&) = delete;
  size_t size() const { return size_; }

 private:
  std::atomic<int64_t>* pool_ = nullptr;
  size_t size_ = 0;
};

// Calls Finish exactly once, even if the connection dies in a way no code path foresaw.
class SinkGuard {
 public:
  explicit SinkGuard(std::unique_ptr<BodySink> sink) : sink_(std::move(sink)) {}
  ~SinkGuard() {
    if (sink_ && !finished_) {
      (void)sink_->Finish(MakeError(ErrorCode::kCancelled, "server closed the connection"));
    }
  }
  SinkGuard(const SinkGuard&) = delete;
  SinkGuard& operator=(const SinkGuard&) = delete;
  BodySink* get() { return sink_.get(); }
  Response Finish(const Status& s) {
    finished_ = true;
    return sink_->Finish(s);
  }

 private:
  std::unique_ptr<BodySink> sink_;
  bool finished_ = false;
};

// -------------------------------------------------------------------------------------------------
// One connection. Templated on the stream so that the same logic runs over TCP and TLS.

template <class Stream>
class Connection final : public ConnectionBase,
                         public std::enable_shared_from_this<Connection<Stream>> {
 public:
  static constexpr bool kTls = !std::is_same_v<Stream, Socket>;

  Connection(Core& core, Worker& worker, Socket socket)
      : core_(core),
        options_(core.options),
        worker_(worker),
        tls_context_(kTls ? core.CurrentTls() : nullptr),
        stream_(MakeStream(std::move(socket), tls_context_.get())),
        timer_(worker.ioc.get_executor()) {
    head_.reserve(512);
  }
  ~Connection() override {
    worker_.Unlink(this);
    core_.ConnectionEnded();
  }

  // `self` keeps the connection alive for the coroutine's lifetime.
  static Task<void> Run(std::shared_ptr<Connection> self) { co_await self->Serve(); }

  void Drain() override {
    if (phase_ == Phase::kIdle || phase_ == Phase::kLinger) CloseSocket();
  }
  void ForceClose() override { CloseSocket(); }

 private:
  enum class Phase : uint8_t { kIdle, kHead, kBusy, kLinger };
  enum class Next : uint8_t { kKeepAlive, kClose, kLinger };
  enum class BodyEnd : uint8_t {
    kComplete,
    kTooLarge,
    kSinkFailed,
    kMalformed,
    kTimedOut,
    kDisconnected
  };

  static Stream MakeStream(Socket&& socket, asio::ssl::context* tls) {
    if constexpr (kTls) {
      return Stream(std::move(socket), *tls);
    } else {
      return std::move(socket);
    }
  }
  auto& Lowest() { return stream_.lowest_layer(); }
  Socket& Raw() {
    if constexpr (kTls) {
      return stream_.next_layer();
    } else {
      return stream_;
    }
  }

  Task<void> Serve() {
    worker_.Link(this);
    ArmWatchdog();
    ErrorCodeT ec;
    Raw().set_option(tcp::no_delay(true), ec);
    // sendfile() needs a non-blocking descriptor to hand back EAGAIN instead of stalling the
    // thread.
    Raw().native_non_blocking(true, ec);
    tcp::endpoint remote = Raw().remote_endpoint(ec);
    if (!ec) {
      std::string ip = remote.address().to_string();
      remote_ = remote.address().is_v6() ? "[" + ip + "]" : ip;
      remote_ += ':';
      AppendNumber(remote_, remote.port());
    }

    Next next = Next::kKeepAlive;
    if (core_.stopping.load(std::memory_order_relaxed)) next = Next::kClose;
    if constexpr (kTls) {
      if (next == Next::kKeepAlive) {
        SetDeadline(Clock::now() + options_.header_timeout);
        auto [hec] = co_await stream_.async_handshake(asio::ssl::stream_base::server, kUse);
        if (hec) {
          spdlog::debug("http: TLS handshake with {} failed: {}", remote_, hec.message());
          next = Next::kClose;
        }
      }
    }
    while (next == Next::kKeepAlive) next = co_await ServeOne();
    if (next == Next::kLinger) co_await Linger();
    stopped_ = true;
    timer_.cancel();
    CloseSocket();
    worker_.Unlink(this);
  }

  // --- watchdog ---

  void ArmWatchdog() {
    armed_ = deadline_;
    timer_.expires_at(deadline_);
    timer_.async_wait([self = this->shared_from_this()](const ErrorCodeT&) { self->OnTimer(); });
  }
  void OnTimer() {
    if (stopped_) return;
    if (Clock::now() >= deadline_) {
      timed_out_ = true;
      deadline_ = kNever;
      // Cancelling (not closing) lets the coroutine still answer when it makes sense, e.g. the
      // sink's response to a stalled upload.
      ErrorCodeT ec;
      Lowest().cancel(ec);
    }
    ArmWatchdog();
  }
  void SetDeadline(Clock::time_point deadline) {
    deadline_ = deadline;
    timed_out_ = false;
    if (deadline < armed_) timer_.cancel();  // the watchdog wakes and re-arms for the nearer time
  }

  void CloseSocket() {
    ErrorCodeT ec;
    Lowest().close(ec);
  }

  // --- one request ---

  void ResetRequest() {
    req_.method.clear();
    req_.target.clear();
    req_.path.clear();
    req_.query.clear();
    req_.headers = Headers();
    req_.content_length.reset();
    req_.chunked = false;
    req_.tls = kTls;
    req_.remote_addr = remote_;
    if (req_.body.capacity() > kKeepBufferBytes) {
      req_.body = std::string();
    } else {
      req_.body.clear();
    }
  }

  Task<Next> ServeOne() {
    phase_ = Phase::kIdle;
    if (core_.stopping.load(std::memory_order_relaxed)) co_return Next::kClose;
    if (buf_.size() == 0 && buf_.capacity() > kKeepBufferBytes) buf_ = beast::flat_buffer();
    ResetRequest();
    parser_.emplace(req_);
    parser_->header_limit(static_cast<uint32_t>(
        std::min<size_t>(options_.max_header_bytes, std::numeric_limits<uint32_t>::max())));
    parser_->body_limit(boost::none);  // limits are per dispatch, enforced in Consume
    parser_->eager(false);             // stop after the head: the handler decides about the body

    if (buf_.size() == 0) {
      SetDeadline(Clock::now() + options_.idle_timeout);
      auto [ec, n] = co_await stream_.async_read_some(buf_.prepare(kHeadReadSize), kUse);
      buf_.commit(n);
      if (ec) co_return Next::kClose;  // idle close, timeout or EOF between requests: no log
    }
    phase_ = Phase::kHead;
    req_.received = Clock::now();
    bool head_deadline_set = false;
    size_t head_bytes = 0;
    for (;;) {
      beast::error_code ec;
      size_t used = parser_->put(buf_.data(), ec);
      buf_.consume(used);
      head_bytes += used;
      if (ec && ec != bhttp::error::need_more) co_return co_await RejectHead(ec);
      if (parser_->is_header_done()) break;
      if (head_bytes + buf_.size() >= options_.max_header_bytes) {
        co_return co_await RejectHead(bhttp::error::header_limit);
      }
      // Only a head split across segments needs its own deadline; setting it lazily keeps the
      // common case free of timer re-arming.
      if (!head_deadline_set) {
        SetDeadline(req_.received + options_.header_timeout);
        head_deadline_set = true;
      }
      auto [rec, n] = co_await stream_.async_read_some(buf_.prepare(kHeadReadSize), kUse);
      buf_.commit(n);
      if (rec) {
        if (timed_out_)
          spdlog::debug("http: {} did not complete its request head in time", remote_);
        co_return Next::kClose;
      }
    }

    phase_ = Phase::kBusy;
    if (auto cl = parser_->content_length()) req_.content_length = *cl;
    req_.chunked = parser_->chunked();
    const bool has_body = !parser_->is_done();
    const bool keep_alive = parser_->keep_alive();
    const bool expect_continue = has_body && parser_->expect_continue() && parser_->version() >= 11;

    Dispatch d = CallHandler();
    if (d.sink)
      co_return co_await StreamBody(std::move(d.sink), has_body, keep_alive, expect_continue);
    if (d.on_body) co_return co_await BufferBody(d, has_body, keep_alive, expect_continue);
    if (d.response)
      co_return co_await RespondNow(*d.response, has_body, keep_alive, expect_continue);
    Response r = InternalError("handler returned an empty dispatch");
    co_return co_await Reply(r, false, has_body);
  }

  Dispatch CallHandler() {
    // Handlers should not throw (project convention); a throw still must not take the thread down.
    try {
      return core_.handler(req_);
    } catch (const std::exception& e) {
      spdlog::error("http: handler threw on {} {}: {}", req_.method, req_.target, e.what());
    } catch (...) {
      spdlog::error("http: handler threw on {} {}", req_.method, req_.target);
    }
    return Dispatch::Respond(InternalError("handler threw"));
  }

  Task<Next> RejectHead(beast::error_code ec) {
    int status = 400;
    std::string_view reason = "bad request";
    if (ec == bhttp::error::header_limit) {
      status = 431;
      reason = "request header fields too large";
    } else if (parser_->reject_status() != 0) {
      status = parser_->reject_status();
      reason = parser_->reject_reason();
    }
    Response r = TextResponse(status, reason);
    r.log_note = std::string(reason);
    if (ec != bhttp::error::header_limit && parser_->reject_status() == 0) {
      r.log_note += ": ";
      r.log_note += ec.message();
    }
    // The rest of the input is unparseable: answer, then drop it.
    co_return co_await Reply(r, false, true);
  }

  Task<Next> RespondNow(Response& r, bool has_body, bool keep_alive, bool expect_continue) {
    if (!has_body) co_return co_await Reply(r, keep_alive, false);
    // A client waiting for 100 may never send the body; a big one is not worth reading.
    if (expect_continue || (req_.content_length && *req_.content_length > options_.discard_limit)) {
      co_return co_await Reply(r, false, true);
    }
    parser_->ExpectBody(BodyMode::kDiscard, options_.discard_limit, nullptr);
    // Not `switch (co_await ...)`: GCC 12 miscompiles a co_await in a switch condition.
    BodyEnd end = co_await ReadBody();
    switch (end) {
      case BodyEnd::kComplete:
        co_return co_await Reply(r, keep_alive, false);
      case BodyEnd::kTooLarge:
        co_return co_await Reply(r, false, true);
      case BodyEnd::kMalformed:
      case BodyEnd::kSinkFailed:
        co_return co_await Reply(r, false, false);
      case BodyEnd::kTimedOut:
      case BodyEnd::kDisconnected:
        break;
    }
    LogAccess(kClientClosedStatus, 0, "client went away while its body was discarded");
    co_return Next::kClose;
  }

  Task<Next> BufferBody(Dispatch& d, bool has_body, bool keep_alive, bool expect_continue) {
    Response too_large =
        d.response ? std::move(*d.response) : TextResponse(413, "request body too large");
    if (req_.content_length && *req_.content_length > d.buffer_limit) {
      co_return co_await Reply(too_large, false, true);
    }
    if (has_body) {
      if (req_.content_length) req_.body.reserve(*req_.content_length);
      parser_->ExpectBody(BodyMode::kBuffer, d.buffer_limit, nullptr);
      if (expect_continue) {
        bool ok = co_await SendContinue();
        if (!ok) co_return Next::kClose;
      }
      BodyEnd end = co_await ReadBody();
      switch (end) {
        case BodyEnd::kComplete:
          break;
        case BodyEnd::kTooLarge:
          co_return co_await Reply(too_large, false, true);
        case BodyEnd::kMalformed:
        case BodyEnd::kSinkFailed: {
          Response bad = TextResponse(400, "malformed request body");
          co_return co_await Reply(bad, false, false);
        }
        case BodyEnd::kTimedOut:
        case BodyEnd::kDisconnected:
          LogAccess(kClientClosedStatus, 0, "client stalled or went away during its body");
          co_return Next::kClose;
      }
    }
    Response r;
    try {
      r = d.on_body(req_);
    } catch (const std::exception& e) {
      spdlog::error("http: body handler threw on {} {}: {}", req_.method, req_.target, e.what());
      r = InternalError("body handler threw");
    }
    co_return co_await Reply(r, keep_alive, false);
  }

  Task<Next> StreamBody(std::unique_ptr<BodySink> owned, bool has_body, bool keep_alive,
                        bool expect_continue) {
    SinkGuard sink(std::move(owned));
    if (!has_body) {
      Response r = sink.Finish(Ok());
      co_return co_await Reply(r, keep_alive, false);
    }
    parser_->ExpectBody(BodyMode::kStream, std::numeric_limits<uint64_t>::max(), sink.get());
    if (expect_continue) {
      bool ok = co_await SendContinue();
      if (!ok) {
        (void)sink.Finish(MakeError(ErrorCode::kCancelled, "client went away before its body"));
        LogAccess(kClientClosedStatus, 0, "client went away before its body");
        co_return Next::kClose;
      }
    }
    BodyEnd end = co_await ReadBody();
    switch (end) {
      case BodyEnd::kComplete: {
        Response r = sink.Finish(Ok());
        co_return co_await Reply(r, keep_alive, false);
      }
      case BodyEnd::kSinkFailed: {
        // The rest of the body is not read: the connection cannot be reused.
        Response r = sink.Finish(std::unexpected(parser_->TakeSinkError()));
        co_return co_await Reply(r, false, true);
      }
      case BodyEnd::kTimedOut: {
        Response r = sink.Finish(MakeError(
            ErrorCode::kCancelled, "request body stalled for more than " +
                                       std::to_string(options_.body_idle_timeout.count()) + " ms"));
        co_return co_await Reply(r, false, false);
      }
      case BodyEnd::kMalformed: {
        Response r = sink.Finish(MakeError(ErrorCode::kCancelled, "malformed chunked body"));
        co_return co_await Reply(r, false, false);
      }
      case BodyEnd::kTooLarge:  // no limit in stream mode
      case BodyEnd::kDisconnected:
        break;
    }
    std::string why =
        "client went away after " + std::to_string(parser_->body_bytes()) + " body bytes";
    (void)sink.Finish(MakeError(ErrorCode::kCancelled, why));
    LogAccess(kClientClosedStatus, 0, why);
    co_return Next::kClose;
  }

  Task<BodyEnd> ReadBody() {
    parser_->eager(true);  // from here on, parse as much body as each read brings
    // Chunked bodies have no length: they get what a large body gets.
    const BufferLease lease(core_, parser_->content_length_remaining().value_or(UINT64_MAX));
    BodyEnd end = co_await ReadBodyInto(lease.size());
    // The lease ends here, so the buffer it paid for goes too (keeping any pipelined bytes).
    if (buf_.capacity() > kKeepBufferBytes) {
      beast::flat_buffer rest;
      if (buf_.size() > 0) {
        auto dst = rest.prepare(buf_.size());
        rest.commit(asio::buffer_copy(dst, buf_.data()));
      }
      buf_ = std::move(rest);
    }
    co_return end;
  }

  Task<BodyEnd> ReadBodyInto(size_t max_read) {
    for (;;) {
      if (buf_.size() > 0) {
        beast::error_code ec;
        size_t used = parser_->put(buf_.data(), ec);
        buf_.consume(used);
        if (parser_->is_done()) co_return BodyEnd::kComplete;
        if (ec && ec != bhttp::error::need_more) {
          if (parser_->too_large()) co_return BodyEnd::kTooLarge;
          if (parser_->sink_failed()) co_return BodyEnd::kSinkFailed;
          co_return BodyEnd::kMalformed;
        }
      }
      size_t want = max_read;
      if (auto remaining = parser_->content_length_remaining()) {
        want = static_cast<size_t>(
            std::clamp<uint64_t>(*remaining, kMinBodyRead, std::max(max_read, kMinBodyRead)));
      }
      SetDeadline(Clock::now() + options_.body_idle_timeout);
      auto [ec, n] = co_await stream_.async_read_some(buf_.prepare(want), kUse);
      buf_.commit(n);
      if (ec) co_return timed_out_ ? BodyEnd::kTimedOut : BodyEnd::kDisconnected;
    }
  }

  Task<bool> SendContinue() {
    static constexpr std::string_view kContinue = "HTTP/1.1 100 Continue\r\n\r\n";
    std::array<asio::const_buffer, 1> b{asio::buffer(kContinue.data(), kContinue.size())};
    co_return co_await WriteAll(b);
  }

  // Writes the response, logs it, and says what becomes of the connection.
  Task<Next> Reply(Response& r, bool keep_alive, bool body_unread) {
    if (body_unread || core_.stopping.load(std::memory_order_relaxed)) keep_alive = false;
    if (HasToken(r.headers.Get("Connection"), "close")) keep_alive = false;
    uint64_t sent = 0;
    bool ok = co_await WriteResponse(r, keep_alive, sent);
    LogAccess(r.status, sent, r.log_note);
    if (!ok) co_return Next::kClose;
    if (keep_alive) co_return Next::kKeepAlive;
    co_return body_unread ? Next::kLinger : Next::kClose;
  }

  void BuildHead(const Response& r, int status, std::optional<uint64_t> length, bool keep_alive) {
    head_.clear();
    head_ += "HTTP/1.1 ";
    AppendNumber(head_, static_cast<uint64_t>(status));
    head_ += ' ';
    beast::string_view reason = bhttp::obsolete_reason(bhttp::int_to_status(status));
    if (bhttp::int_to_status(status) == bhttp::status::unknown) reason = "Status";
    head_.append(reason.data(), reason.size());
    head_ += "\r\n";
    for (const auto& [name, value] : r.headers.items()) {
      // Framing headers are ours alone: a second or stale Content-Length would desynchronise the
      // client, and Connection must agree with what the server actually does.
      if (IEquals(name, "Content-Length") || IEquals(name, "Connection") ||
          IEquals(name, "Transfer-Encoding")) {
        continue;
      }
      if (ContainsLineBreak(name) || ContainsLineBreak(value)) {
        spdlog::warn("http: dropped response header \"{}\" with a line break", name);
        continue;
      }
      head_ += name;
      head_ += ": ";
      head_ += value;
      head_ += "\r\n";
    }
    if (length) {
      head_ += "Content-Length: ";
      AppendNumber(head_, *length);
      head_ += "\r\n";
    }
    head_ += DateHeader();
    if (!keep_alive) {
      head_ += "Connection: close\r\n";
    } else if (parser_->version() < 11) {
      head_ += "Connection: keep-alive\r\n";
    }
    head_ += "\r\n";
  }

  Task<bool> WriteResponse(Response& r, bool keep_alive, uint64_t& sent) {
    int status = r.status;
    if (status < 100 || status > 999) {
      spdlog::error("http: handler returned status {} for {} {}", status, req_.method, req_.target);
      r = InternalError("invalid status");
      status = 500;
    }
    if (r.stream && !r.content_length) {
      spdlog::error("http: streamed response without content_length for {} {}", req_.method,
                    req_.target);
      r = InternalError("streamed response without content_length");
      status = 500;
    }
    const bool head_request = req_.method == "HEAD";
    // RFC 9110 8.6: no Content-Length on 1xx and 204; a 304 may describe the GET it stands for.
    const bool bodiless_status = status < 200 || status == 204 || status == 304;
    std::optional<uint64_t> length;
    if (bodiless_status) {
      if (status == 304) length = r.content_length;
    } else if (r.stream) {
      length = r.content_length;
    } else if (head_request) {
      length = r.content_length;
      if (!length) {
        // A handler answering HEAD may describe the size in its own header.
        length = ParseUint64(Trim(r.headers.Get("Content-Length")));
      }
      if (!length) length = r.body.size();
    } else {
      length = r.body.size();  // what goes on the wire decides the framing
    }
    BuildHead(r, status, length, keep_alive);

    if (head_request || bodiless_status) {
      std::array<asio::const_buffer, 1> b{asio::buffer(head_)};
      co_return co_await WriteAll(b);
    }
    if (!r.stream) {
      std::array<asio::const_buffer, 2> b{asio::buffer(head_), asio::buffer(r.body)};
      bool ok = co_await WriteAll(b);
      if (ok) sent = r.body.size();
      co_return ok;
    }
    if constexpr (!kTls) {
      if (options_.sendfile && r.stream->NativeFd() >= 0) {
        co_return co_await SendFile(*r.stream, *length, sent);
      }
      if (options_.map_files && r.stream->NativeFd() >= 0 && *length >= kMapFrom) {
        co_return co_await SendMapped(*r.stream, *length, sent);
      }
    }
    co_return co_await CopyStream(*r.stream, *length, sent);
  }

  Task<bool> CopyStream(BodySource& source, uint64_t length, uint64_t& sent) {
    if (length == 0) {
      std::array<asio::const_buffer, 1> b{asio::buffer(head_)};
      co_return co_await WriteAll(b);
    }
    const BufferLease lease(core_, length);
    const size_t cap = lease.size();
    auto chunk = std::make_unique_for_overwrite<char[]>(cap);
    bool first = true;
    while (sent < length) {
      const size_t want = static_cast<size_t>(std::min<uint64_t>(cap, length - sent));
      size_t filled = 0;
      // Fill the buffer so that each write is large; a short read is not the end.
      while (filled < want) {
        Result<size_t> got = source.Read(chunk.get() + filled, want - filled);
        if (!got) {
          spdlog::warn("http: response body for {} {} failed after {} bytes: {}", req_.method,
                       req_.target, sent + filled, got.error().ToString());
          co_return false;
        }
        if (*got == 0) break;
        filled += std::min(*got, want - filled);
      }
      if (filled == 0) {
        spdlog::warn("http: response body for {} {} ended after {} of {} bytes", req_.method,
                     req_.target, sent, length);
        co_return false;
      }
      bool ok;
      if (first) {
        // Head and first chunk in one write: one segment for small responses.
        std::array<asio::const_buffer, 2> b{asio::buffer(head_), asio::buffer(chunk.get(), filled)};
        ok = co_await WriteAll(b);
        first = false;
      } else {
        std::array<asio::const_buffer, 1> b{asio::buffer(chunk.get(), filled)};
        ok = co_await WriteAll(b);
      }
      if (!ok) co_return false;
      sent += filled;
    }
    co_return true;
  }

  // Sends `length` bytes of the source's file from its current position, through read-only
  // mappings of one window at a time: the kernel copies page cache straight into the socket, which
  // saves the read() copy (8 concurrent 1 GiB GETs: 10-15 % less CPU than copying, faster than
  // sendfile here). Only the kernel touches the mapping (sendmsg), so a page that cannot be read
  // (I/O error, a file truncated under us) fails that write with EFAULT instead of raising SIGBUS;
  // the response is cut short and the connection closed, as when read() fails. Plain TCP only: TLS
  // would read the mapping in user space. Windows come from the large-buffer budget, so the mapped
  // (resident) size stays bounded like the copy buffers.
  Task<bool> SendMapped(BodySource& source, uint64_t length, uint64_t& sent) {
    const int fd = source.NativeFd();
    const off_t start = ::lseek(fd, 0, SEEK_CUR);
    if (start < 0) co_return co_await CopyStream(source, length, sent);
    std::array<asio::const_buffer, 1> head{asio::buffer(head_)};
    if (!co_await WriteAll(head)) co_return false;
    static const uint64_t kPage = static_cast<uint64_t>(::sysconf(_SC_PAGESIZE));
    const BufferLease lease(core_, length);
    const uint64_t window = std::max<uint64_t>(lease.size(), kPage);
    while (sent < length) {
      const uint64_t at = static_cast<uint64_t>(start) + sent;
      const uint64_t base = at & ~(kPage - 1);
      const uint64_t n = std::min<uint64_t>(window, length - sent);
      const size_t span = static_cast<size_t>(at - base + n);
      void* m = ::mmap(nullptr, span, PROT_READ, MAP_SHARED | MAP_POPULATE, fd,
                       static_cast<off_t>(base));
      if (m == MAP_FAILED) {
        spdlog::warn("http: mapping the body of {} {} failed after {} bytes: {}", req_.method,
                     req_.target, sent, std::error_code(errno, std::system_category()).message());
        co_return false;
      }
      std::array<asio::const_buffer, 1> b{
          asio::buffer(static_cast<const char*>(m) + (at - base), static_cast<size_t>(n))};
      ErrorCodeT ec;
      size_t wrote = 0;
      const bool ok = co_await WriteAll(b, &ec, &wrote);
      ::munmap(m, span);
      sent += wrote;
      if (!ok) {
        if (ec.value() == EFAULT) {
          spdlog::warn("http: file for {} {} could not be read after {} of {} bytes", req_.method,
                       req_.target, sent, length);
        }
        co_return false;
      }
    }
    co_return true;
  }

  Task<bool> SendFile(BodySource& source, uint64_t length, uint64_t& sent) {
    std::array<asio::const_buffer, 1> b{asio::buffer(head_)};
    bool ok = co_await WriteAll(b);
    if (!ok) co_return false;
    const int in_fd = source.NativeFd();
    const int out_fd = Raw().native_handle();
    // Large slices: sendfile stops at the socket buffer anyway, and this bounds one call's work.
    constexpr uint64_t kSlice = 16 << 20;
    while (sent < length) {
      SetDeadline(Clock::now() + options_.write_timeout);
      ssize_t n = ::sendfile(out_fd, in_fd, nullptr,
                             static_cast<size_t>(std::min<uint64_t>(kSlice, length - sent)));
      if (n > 0) {
        sent += static_cast<uint64_t>(n);
        continue;
      }
      if (n < 0 && errno == EINTR) continue;
      if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
        auto [ec] = co_await Raw().async_wait(tcp::socket::wait_write, kUse);
        if (ec) co_return false;
        continue;
      }
      if (n == 0) {
        spdlog::warn("http: file for {} {} ended after {} of {} bytes", req_.method, req_.target,
                     sent, length);
      } else if (errno != EPIPE && errno != ECONNRESET) {
        spdlog::warn("http: sendfile for {} {} failed: {}", req_.method, req_.target,
                     std::error_code(errno, std::system_category()).message());
      }
      co_return false;
    }
    co_return true;
  }

  // Writes everything, refreshing the deadline on progress: write_timeout bounds a stall, not the
  // whole transfer. On failure, `error` (if given) says why; `written` (if given) counts the bytes
  // that went out either way.
  template <size_t N>
  Task<bool> WriteAll(std::array<asio::const_buffer, N> buffers, ErrorCodeT* error = nullptr,
                      size_t* written = nullptr) {
    beast::buffers_suffix<std::array<asio::const_buffer, N>> rest(buffers);
    size_t left = asio::buffer_size(buffers);
    while (left > 0) {
      SetDeadline(Clock::now() + options_.write_timeout);
      auto [ec, n] = co_await stream_.async_write_some(rest, kUse);
      if (written) *written += n;
      if (ec) {
        if (error) *error = ec;
        co_return false;
      }
      rest.consume(n);
      left -= n;
    }
    co_return true;
  }

  Task<void> Linger() {
    phase_ = Phase::kLinger;
    ErrorCodeT ec;
    Raw().shutdown(tcp::socket::shutdown_send, ec);
    if (ec) co_return;
    SetDeadline(Clock::now() + kLingerTime);
    size_t total = 0;
    while (total < kLingerBytes) {
      buf_.consume(buf_.size());
      // Raw bytes even under TLS: they are thrown away, and the session is over.
      auto [rec, n] = co_await Raw().async_read_some(buf_.prepare(64 * 1024), kUse);
      if (rec) break;
      total += n;
    }
  }

  void LogAccess(int status, uint64_t sent, std::string_view note) {
    if (!options_.access_log) return;
    AccessLogEntry entry{
        &req_,
        status,
        sent,
        parser_ ? parser_->body_bytes() : 0,
        std::chrono::duration_cast<std::chrono::microseconds>(Clock::now() - req_.received),
        note};
    options_.access_log(entry);
  }

  Core& core_;
  const ServerOptions& options_;
  Worker& worker_;
  // The context this connection started with, kept alive for as long as the stream (declared
  // before it, so destroyed after it) whatever reloads happen meanwhile. Null for plain TCP.
  std::shared_ptr<asio::ssl::context> tls_context_;
  Stream stream_;
  Timer timer_;
  beast::flat_buffer buf_;
  std::string head_;
  std::string remote_;
  Request req_;
  std::optional<RequestParser> parser_;
  Clock::time_point deadline_ = kNever;
  Clock::time_point armed_ = kNever;
  Phase phase_ = Phase::kIdle;
  bool timed_out_ = false;
  bool stopped_ = false;
};

template <class Stream>
void SpawnConnection(Core& core, Worker& worker, Socket socket) {
  auto conn = std::make_shared<Connection<Stream>>(core, worker, std::move(socket));
  asio::co_spawn(worker.ioc.get_executor(), Connection<Stream>::Run(std::move(conn)),
                 [](std::exception_ptr e) {
                   if (!e) return;
                   try {
                     std::rethrow_exception(e);
                   } catch (const std::exception& ex) {
                     spdlog::error("http: connection ended by exception: {}", ex.what());
                   } catch (...) {
                     spdlog::error("http: connection ended by unknown exception");
                   }
                 });
}

Task<void> AcceptLoop(Core& core, Acceptor& acceptor) {
  size_t next = 0;
  Timer backoff(core.workers[0]->ioc.get_executor());
  for (;;) {
    Worker& worker = *core.workers[next];
    next = (next + 1) % core.workers.size();
    auto [ec, socket] = co_await acceptor.async_accept(worker.ioc.get_executor(), kUse);
    if (ec) {
      if (ec == asio::error::operation_aborted || !acceptor.is_open()) co_return;
      // Typically EMFILE: back off rather than spin on a listening socket that stays readable.
      spdlog::warn("http: accept failed: {}", ec.message());
      backoff.expires_after(std::chrono::milliseconds(50));
      co_await backoff.async_wait(kUse);
      continue;
    }
    if (core.stopping.load()) continue;  // the socket closes as it goes out of scope
    core.live.fetch_add(1, std::memory_order_relaxed);
    if (core.tls_enabled) {
      SpawnConnection<TlsStream>(core, worker, std::move(socket));
    } else {
      SpawnConnection<Socket>(core, worker, std::move(socket));
    }
  }
}

// Reads the certificate chain, key and client CAs named in `o` into a fresh context. Used by Start
// and by every reload, so both accept and refuse exactly the same files.
Result<std::shared_ptr<asio::ssl::context>> BuildTlsContext(const ServerOptions& o) {
  if (o.tls_certificate.empty() || o.tls_key.empty()) {
    return MakeError(ErrorCode::kIo, "TLS needs both a certificate and a key");
  }
  int min_version = 0;
  if (o.tls_minimum.empty() || o.tls_minimum == "tls1.2") {
    min_version = TLS1_2_VERSION;
  } else if (o.tls_minimum == "tls1.3") {
    min_version = TLS1_3_VERSION;
  } else {
    return MakeError(ErrorCode::kIo, "unknown TLS minimum version \"" + o.tls_minimum +
                                         "\" (want tls1.2 or tls1.3)");
  }
  // OpenSSL leaves the reasons for a failed load in this thread's error queue; asio has already
  // copied the first one into `ec`, and stale entries would confuse later callers on this thread.
  auto fail = [](std::string message) {
    ERR_clear_error();
    return MakeError(ErrorCode::kIo, std::move(message));
  };
  auto ctx = std::make_shared<asio::ssl::context>(asio::ssl::context::tls_server);
  ctx->set_options(asio::ssl::context::default_workarounds | asio::ssl::context::no_sslv2 |
                   asio::ssl::context::no_sslv3 | asio::ssl::context::single_dh_use);
  SSL_CTX_set_min_proto_version(ctx->native_handle(), min_version);
  ErrorCodeT ec;
  ctx->use_certificate_chain_file(o.tls_certificate, ec);
  if (ec) return fail("cannot load TLS certificate " + o.tls_certificate + ": " + ec.message());
  ctx->use_private_key_file(o.tls_key, asio::ssl::context::pem, ec);
  if (ec) return fail("cannot load TLS key " + o.tls_key + ": " + ec.message());
  // A key from another pair can load cleanly (e.g. a half-finished rotation); every handshake would
  // then fail, so refuse it here where the operator sees why.
  if (SSL_CTX_check_private_key(ctx->native_handle()) != 1) {
    return fail("TLS key " + o.tls_key + " does not match certificate " + o.tls_certificate);
  }
  if (!o.tls_client_cas.empty()) {
    ctx->load_verify_file(o.tls_client_cas, ec);
    if (ec) return fail("cannot load TLS client CAs " + o.tls_client_cas + ": " + ec.message());
    // Tell clients which CAs are acceptable so they pick the right certificate.
    if (STACK_OF(X509_NAME)* names = SSL_load_client_CA_file(o.tls_client_cas.c_str())) {
      SSL_CTX_set_client_CA_list(ctx->native_handle(), names);
    }
    ctx->set_verify_mode(asio::ssl::verify_peer | asio::ssl::verify_fail_if_no_peer_cert, ec);
    if (ec) return fail("cannot require client certificates: " + ec.message());
  }
  return ctx;
}

}  // namespace

// -------------------------------------------------------------------------------------------------

struct Server::Impl {
  Impl(ServerOptions o, Handler h) : core(std::move(o), std::move(h)) {}

  Core core;
  std::optional<Acceptor> acceptor;
  uint16_t port = 0;
  bool started = false;
  bool shut_down = false;
  // Guards signal_ioc and shutdown_requested, shared with WaitForSignal.
  std::mutex signal_mu;
  asio::io_context* signal_ioc = nullptr;
  bool shutdown_requested = false;
};

Server::Server(ServerOptions options, Handler handler)
    : impl_(std::make_unique<Impl>(std::move(options), std::move(handler))) {}

Server::~Server() {
  if (impl_->started && !impl_->shut_down) Shutdown(std::chrono::milliseconds(0));
}

Status Server::Start() {
  Impl& s = *impl_;
  Core& core = s.core;
  const ServerOptions& o = core.options;
  if (s.started) return MakeError(ErrorCode::kInvalidArgument, "server already started");
  if (!core.handler) return MakeError(ErrorCode::kInvalidArgument, "server has no handler");

  if (!o.tls_certificate.empty() || !o.tls_key.empty()) {
    Result<std::shared_ptr<asio::ssl::context>> tls = BuildTlsContext(o);
    if (!tls) return std::unexpected(std::move(tls).error());
    core.SetTls(std::move(*tls));
    core.tls_enabled = true;
  }

  int threads = o.threads > 0 ? o.threads : UsableCores();
  if (threads <= 0) threads = 1;
  core.workers.clear();
  for (int i = 0; i < threads; ++i) core.workers.push_back(std::make_unique<Worker>());

  std::string where = (o.host.find(':') != std::string::npos ? "[" + o.host + "]" : o.host) + ":" +
                      std::to_string(o.port);
  ErrorCodeT ec;
  tcp::endpoint endpoint;
  if (o.host.empty()) {
    endpoint = tcp::endpoint(asio::ip::address_v4::any(), o.port);
  } else {
    asio::ip::address address = asio::ip::make_address(o.host, ec);
    if (!ec) {
      endpoint = tcp::endpoint(address, o.port);
    } else {
      asio::io_context resolver_ioc;
      tcp::resolver resolver(resolver_ioc);
      auto results = resolver.resolve(o.host, std::to_string(o.port), ec);
      if (ec || results.empty()) {
        return MakeError(ErrorCode::kIo, "cannot resolve listen address " + where + ": " +
                                             (ec ? ec.message() : "no addresses"));
      }
      endpoint = results.begin()->endpoint();
    }
  }

  Acceptor& acceptor = s.acceptor.emplace(core.workers[0]->ioc.get_executor());
  auto fail = [&](std::string_view what) {
    ErrorCodeT ignored;
    acceptor.close(ignored);
    return MakeError(ErrorCode::kIo,
                     "cannot " + std::string(what) + " on " + where + ": " + ec.message());
  };
  acceptor.open(endpoint.protocol(), ec);
  if (ec) return fail("open a socket");
  acceptor.set_option(asio::socket_base::reuse_address(true), ec);
  if (ec) return fail("set SO_REUSEADDR");
  if (endpoint.address().is_v6() && endpoint.address().is_unspecified()) {
    // "::" means every address, IPv4 included, whatever the system default for v6only is.
    acceptor.set_option(asio::ip::v6_only(false), ec);
  }
  acceptor.bind(endpoint, ec);
  if (ec) return fail("listen");
  acceptor.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) return fail("listen");
  s.port = acceptor.local_endpoint(ec).port();

  if (o.sendfile) {
    // sendfile(2) has no MSG_NOSIGNAL: a peer that hangs up would kill the process with SIGPIPE.
    struct sigaction current {};
    if (sigaction(SIGPIPE, nullptr, &current) == 0 && current.sa_handler == SIG_DFL) {
      signal(SIGPIPE, SIG_IGN);
    }
  }

  asio::co_spawn(core.workers[0]->ioc.get_executor(), AcceptLoop(core, acceptor),
                 [](std::exception_ptr e) {
                   if (e) spdlog::error("http: accept loop ended by an exception");
                 });
  for (auto& w : core.workers) {
    w->guard.emplace(w->ioc.get_executor());
    Worker* worker = w.get();
    w->thread = std::thread([worker] {
      for (;;) {
        try {
          worker->ioc.run();
          return;
        } catch (const std::exception& e) {
          spdlog::error("http: worker caught exception: {}", e.what());
        }
      }
    });
  }
  s.started = true;
  return Ok();
}

uint16_t Server::port() const { return impl_->port; }

void Server::Shutdown(std::chrono::milliseconds drain) {
  Impl& s = *impl_;
  Core& core = s.core;
  {
    std::lock_guard lock(s.signal_mu);
    s.shutdown_requested = true;
    if (s.signal_ioc) s.signal_ioc->stop();
  }
  if (!s.started || s.shut_down) return;
  s.shut_down = true;
  core.stopping.store(true);

  asio::post(core.workers[0]->ioc, [&s] {
    ErrorCodeT ec;
    s.acceptor->close(ec);
  });
  for (auto& w : core.workers) {
    Worker* worker = w.get();
    asio::post(worker->ioc, [worker] { worker->ForEach([](ConnectionBase* c) { c->Drain(); }); });
  }
  {
    std::unique_lock lock(core.mu);
    core.cv.wait_for(lock, drain, [&] { return core.live.load() == 0; });
  }
  for (auto& w : core.workers) {
    Worker* worker = w.get();
    asio::post(worker->ioc,
               [worker] { worker->ForEach([](ConnectionBase* c) { c->ForceClose(); }); });
  }
  {
    // Closed sockets end their coroutines at once unless a handler is blocked; bound that wait.
    std::unique_lock lock(core.mu);
    core.cv.wait_for(lock, std::chrono::seconds(5), [&] { return core.live.load() == 0; });
  }
  for (auto& w : core.workers) w->guard.reset();
  for (auto& w : core.workers) {
    if (core.live.load() != 0) w->ioc.stop();
    if (w->thread.joinable()) w->thread.join();
  }
  s.acceptor.reset();
  // Destroying the contexts here, on the controlling thread, destroys any coroutine that never
  // finished (sinks get their Finish from SinkGuard).
  core.workers.clear();
}

Status Server::ReloadTls() {
  Core& core = impl_->core;
  if (!core.tls_enabled) {
    return MakeError(ErrorCode::kInvalidArgument,
                     "cannot reload TLS: the server is not serving TLS");
  }
  std::lock_guard lock(core.reload_mu);
  Result<std::shared_ptr<asio::ssl::context>> tls = BuildTlsContext(core.options);
  if (!tls) {
    spdlog::error("http: TLS reload failed, still serving the previous certificate: {}",
                  tls.error().message);
    return std::unexpected(std::move(tls).error());
  }
  core.SetTls(std::move(*tls));
  spdlog::info("http: reloaded TLS certificate {} and key {}", core.options.tls_certificate,
               core.options.tls_key);
  return Ok();
}

int Server::WaitForSignal() {
  Impl& s = *impl_;
  asio::io_context ioc(1);
  asio::signal_set signals(ioc, SIGINT, SIGTERM, SIGHUP);
  int received = 0;
  // SIGHUP reloads and keeps waiting; the other two end the wait.
  std::function<void()> arm = [&] {
    signals.async_wait([&](const ErrorCodeT& ec, int signal_number) {
      if (ec) return;
      if (signal_number != SIGHUP) {
        received = signal_number;
        return;
      }
      if (s.core.tls_enabled) {
        (void)ReloadTls();  // logs its own outcome; the old certificate stays on failure
      } else {
        spdlog::info("http: SIGHUP ignored: the server is not serving TLS");
      }
      arm();
    });
  };
  arm();
  {
    std::lock_guard lock(s.signal_mu);
    if (s.shutdown_requested) return 0;
    s.signal_ioc = &ioc;
  }
  ioc.run();
  {
    std::lock_guard lock(s.signal_mu);
    s.signal_ioc = nullptr;
  }
  return received;
}

}  // namespace berth::http
