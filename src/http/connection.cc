#include "http/connection.h"

// One connection. Templated on the stream so that the same logic runs over TCP and TLS.
//
// Timeouts use one watchdog timer per connection: a phase stores its deadline in a plain field, and
// the timer is only re-armed when it fires or when a deadline moves earlier. Steady keep-alive
// traffic therefore costs no timer operations per request.

#include <array>
#include <boost/asio/co_spawn.hpp>
#include <boost/beast/core/buffers_suffix.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/error.hpp>
#include <limits>
#include <optional>
#include <string>
#include <type_traits>

#include "common/log.h"
#include "common/strings.h"
#include "http/blocking_pool.h"
#include "http/body_receiver.h"
#include "http/body_sender.h"
#include "http/request_parser.h"
#include "http/response_head.h"

namespace berth::http {
namespace {

namespace bhttp = beast::http;

// A head usually arrives in one segment; 16 KiB also swallows a burst of pipelined requests.
constexpr size_t kHeadReadSize = 16 * 1024;
// After answering without reading the body, keep reading (and dropping) for a moment before
// closing: closing a socket with unread input sends RST, which can destroy the response in the
// client's receive buffer before it reads it.
constexpr std::chrono::milliseconds kLingerTime{1000};
constexpr size_t kLingerBytes = 8 << 20;
// Status for requests whose response never went out, as nginx logs them.
constexpr int kClientClosedStatus = 499;
// The first byte of a TLS connection (a handshake record, RFC 8446 5.1).
constexpr unsigned char kTlsHandshakeRecord = 0x16;

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

  // --- the surface body_sender.h and body_receiver.h work through ---

  Core& core() { return core_; }
  const ServerOptions& options() const { return options_; }
  const Request& request() const { return req_; }
  std::string& head() { return head_; }
  Stream& stream() { return stream_; }
  beast::flat_buffer& buffer() { return buf_; }
  RequestParser& parser() { return *parser_; }
  bool timed_out() const { return timed_out_; }
  Socket& Raw() {
    if constexpr (kTls) {
      return stream_.next_layer();
    } else {
      return stream_;
    }
  }
  void SetDeadline(Clock::time_point deadline) {
    deadline_ = deadline;
    timed_out_ = false;
    if (deadline < armed_) timer_.cancel();  // the watchdog wakes and re-arms for the nearer time
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

 private:
  enum class Phase : uint8_t { kIdle, kHead, kBusy, kLinger };
  enum class Next : uint8_t { kKeepAlive, kClose, kLinger };

  static Stream MakeStream(Socket&& socket, asio::ssl::context* tls) {
    if constexpr (kTls) {
      return Stream(std::move(socket), *tls);
    } else {
      return std::move(socket);
    }
  }
  auto& Lowest() { return stream_.lowest_layer(); }

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
        next = co_await Handshake();
      }
    }
    while (next == Next::kKeepAlive) next = co_await ServeOne();
    if (next == Next::kLinger) co_await Linger();
    stopped_ = true;
    timer_.cancel();
    CloseSocket();
    worker_.Unlink(this);
  }

  // Waits for the client's first bytes: a TLS handshake when they start a TLS record, else a plain
  // HTTP request, answered as registry:2 (Go) does (400 saying to use HTTPS) rather than dropped.
  Task<Next> Handshake() {
    auto [wec] = co_await Raw().async_wait(tcp::socket::wait_read, kUse);
    if (wec) co_return Next::kClose;
    unsigned char first = 0;
    ssize_t n;
    do {
      n = ::recv(Raw().native_handle(), &first, 1, MSG_PEEK);
    } while (n < 0 && errno == EINTR);
    if (n <= 0) co_return Next::kClose;
    if (first != kTlsHandshakeRecord) {
      spdlog::debug("http: {} spoke plain HTTP to the TLS port", remote_);
      Response r = TextResponse(400, "Client sent an HTTP request to an HTTPS server.");
      BuildResponseHead(head_, r, r.status, r.body.size(), /*keep_alive=*/false, 11);
      std::array<asio::const_buffer, 2> b{asio::buffer(head_), asio::buffer(r.body)};
      SetDeadline(Clock::now() + options_.write_timeout);
      auto [ec, written] = co_await asio::async_write(Raw(), b, kUse);
      co_return ec ? Next::kClose : Next::kLinger;
    }
    auto [hec] = co_await stream_.async_handshake(asio::ssl::stream_base::server, kUse);
    if (hec) {
      spdlog::debug("http: TLS handshake with {} failed: {}", remote_, hec.message());
      co_return Next::kClose;
    }
    co_return Next::kKeepAlive;
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
    req_.route = {};
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

    // The handler may block on storage: it runs on the blocking pool, and this loop serves other
    // connections meanwhile. A full pool queue refuses new requests rather than queue unboundedly.
    std::optional<Dispatch> dispatched = co_await RunBlocking(
        *core_.pool, [this] { return CallHandler(); }, /*admission=*/true);
    if (!dispatched) {
      Response busy = TextResponse(503, "server busy, retry later");
      busy.headers.Add("Retry-After", "1");
      busy.log_note = "blocking pool queue full";
      co_return co_await Reply(busy, keep_alive, has_body);
    }
    Dispatch& d = *dispatched;
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
    BodyEnd end = co_await ReadBody(*this);
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
      BodyEnd end = co_await ReadBody(*this);
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
    std::optional<Response> r = co_await RunBlocking(*core_.pool, [&]() -> Response {
      try {
        return d.on_body(req_);
      } catch (const std::exception& e) {
        spdlog::error("http: body handler threw on {} {}: {}", req_.method, req_.target, e.what());
        return InternalError("body handler threw");
      }
    });
    co_return co_await Reply(*r, keep_alive, false);
  }

  Task<Next> StreamBody(std::unique_ptr<BodySink> owned, bool has_body, bool keep_alive,
                        bool expect_continue) {
    SinkGuard sink(std::move(owned));
    if (!has_body) {
      Response r = co_await FinishSink(sink, Ok());
      co_return co_await Reply(r, keep_alive, false);
    }
    parser_->ExpectBody(BodyMode::kStream, std::numeric_limits<uint64_t>::max(), sink.get());
    if (expect_continue) {
      bool ok = co_await SendContinue();
      if (!ok) {
        (void)co_await FinishSink(
            sink, MakeError(ErrorCode::kCancelled, "client went away before its body"));
        LogAccess(kClientClosedStatus, 0, "client went away before its body");
        co_return Next::kClose;
      }
    }
    BodyEnd end = co_await ReadBody(*this);
    switch (end) {
      case BodyEnd::kComplete: {
        Response r = co_await FinishSink(sink, Ok());
        co_return co_await Reply(r, keep_alive, false);
      }
      case BodyEnd::kSinkFailed: {
        // The rest of the body is not read: the connection cannot be reused.
        Response r = co_await FinishSink(sink, std::unexpected(parser_->TakeSinkError()));
        co_return co_await Reply(r, false, true);
      }
      case BodyEnd::kTimedOut: {
        Response r = co_await FinishSink(
            sink, MakeError(ErrorCode::kCancelled,
                            "request body stalled for more than " +
                                std::to_string(options_.body_idle_timeout.count()) + " ms"));
        co_return co_await Reply(r, false, false);
      }
      case BodyEnd::kMalformed: {
        Response r =
            co_await FinishSink(sink, MakeError(ErrorCode::kCancelled, "malformed chunked body"));
        co_return co_await Reply(r, false, false);
      }
      case BodyEnd::kTooLarge:  // no limit in stream mode
      case BodyEnd::kDisconnected:
        break;
    }
    std::string why =
        "client went away after " + std::to_string(parser_->body_bytes()) + " body bytes";
    (void)co_await FinishSink(sink, MakeError(ErrorCode::kCancelled, why));
    LogAccess(kClientClosedStatus, 0, why);
    co_return Next::kClose;
  }

  // BodySink::Finish may block (it typically commits an upload): it runs on the blocking pool.
  Task<Response> FinishSink(SinkGuard& sink, Status status) {
    co_return std::move(*co_await RunBlocking(*core_.pool, [&] { return sink.Finish(status); }));
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
    BuildResponseHead(head_, r, status, length, keep_alive, parser_->version());

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
        co_return co_await SendFile(*this, *r.stream, *length, sent);
      }
      if (options_.map_files && r.stream->NativeFd() >= 0 && *length >= kMapFrom) {
        co_return co_await SendMapped(*this, *r.stream, *length, sent);
      }
    }
    co_return co_await CopyStream(*this, *r.stream, *length, sent);
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
void Spawn(Core& core, Worker& worker, Socket socket) {
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

}  // namespace

void SpawnConnection(Core& core, Worker& worker, Socket socket, bool tls) {
  if (tls) {
    Spawn<TlsStream>(core, worker, std::move(socket));
  } else {
    Spawn<Socket>(core, worker, std::move(socket));
  }
}

}  // namespace berth::http
