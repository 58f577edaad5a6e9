#pragma once
// Internal to http/: receiving a request body into its destination (discarded, buffered into
// Request::body, or streamed to a BodySink), as the handler's Dispatch chose.
//
// `Conn` is the connection (connection.cc) seen through the surface this needs: buffer, parser,
// stream, SetDeadline, timed_out, core, options.
//
// Thread-safety: run on the connection's worker thread, as part of its coroutine.

#include <algorithm>
#include <boost/beast/http/error.hpp>
#include <cstdint>
#include <memory>
#include <optional>

#include "common/error.h"
#include "http/blocking_pool.h"
#include "http/core.h"
#include "http/io.h"
#include "http/message.h"
#include "http/request_parser.h"

namespace berth::http {

// Buffers grown by a big body or head are given back once the request is done, so that thousands of
// idle keep-alive connections stay small.
inline constexpr size_t kKeepBufferBytes = 64 * 1024;
inline constexpr size_t kMinBodyRead = 16 * 1024;

enum class BodyEnd : uint8_t {
  kComplete,
  kTooLarge,
  kSinkFailed,
  kMalformed,
  kTimedOut,
  kDisconnected
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

template <class Conn>
Task<BodyEnd> ReadBodyInto(Conn& c, size_t max_read) {
  RequestParser& parser = c.parser();
  beast::flat_buffer& buf = c.buffer();
  for (;;) {
    if (buf.size() > 0) {
      beast::error_code ec;
      size_t used = parser.put(buf.data(), ec);
      // The sink's writes (a stream body) go to the blocking pool, all that this put() parsed in
      // one hop; the spans point into `buf`, which is consumed only afterwards.
      if (parser.has_pending_writes()) {
        std::optional<bool> written =
            co_await RunBlocking(*c.core().pool, [&parser] { return parser.WritePending(); });
        if (!*written) {
          buf.consume(used);
          co_return BodyEnd::kSinkFailed;
        }
      }
      buf.consume(used);
      if (parser.is_done()) co_return BodyEnd::kComplete;
      if (ec && ec != beast::http::error::need_more) {
        if (parser.too_large()) co_return BodyEnd::kTooLarge;
        if (parser.sink_failed()) co_return BodyEnd::kSinkFailed;
        co_return BodyEnd::kMalformed;
      }
    }
    size_t want = max_read;
    if (auto remaining = parser.content_length_remaining()) {
      want = static_cast<size_t>(
          std::clamp<uint64_t>(*remaining, kMinBodyRead, std::max(max_read, kMinBodyRead)));
    }
    c.SetDeadline(Clock::now() + c.options().body_idle_timeout);
    auto [ec, n] = co_await c.stream().async_read_some(buf.prepare(want), kUse);
    buf.commit(n);
    if (ec) co_return c.timed_out() ? BodyEnd::kTimedOut : BodyEnd::kDisconnected;
  }
}

// Reads the body the parser was told to expect (RequestParser::ExpectBody) to its end or until it
// fails, through buffers leased from the large-buffer budget.
template <class Conn>
Task<BodyEnd> ReadBody(Conn& c) {
  RequestParser& parser = c.parser();
  parser.eager(true);  // from here on, parse as much body as each read brings
  // Chunked bodies have no length: they get what a large body gets.
  const BufferLease lease(c.core(), parser.content_length_remaining().value_or(UINT64_MAX));
  BodyEnd end = co_await ReadBodyInto(c, lease.size());
  // The lease ends here, so the buffer it paid for goes too (keeping any pipelined bytes).
  beast::flat_buffer& buf = c.buffer();
  if (buf.capacity() > kKeepBufferBytes) {
    beast::flat_buffer rest;
    if (buf.size() > 0) {
      auto dst = rest.prepare(buf.size());
      rest.commit(asio::buffer_copy(dst, buf.data()));
    }
    buf = std::move(rest);
  }
  co_return end;
}

}  // namespace berth::http
