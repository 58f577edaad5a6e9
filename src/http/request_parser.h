#pragma once
// Internal to http/: reading a request head into berth::http::Request and routing body bytes to
// their destination, on top of Beast's basic_parser (no intermediate Beast body or fields
// container).
//
// The head is checked here against the RFC 9112 rules that Beast leaves to its user: one valid Host
// (required in HTTP/1.1), one Content-Length of at most 2^63-1, no chunked body on HTTP/1.0, and
// only the chunked transfer coding. A refusal sets reject_status()/reject_reason() and stops the
// parser with an error; the connection answers it and closes.
//
// Thread-safety: one parser per request, used by one connection at a time.

#include <boost/beast/http/basic_parser.hpp>
#include <cstdint>
#include <optional>
#include <string_view>
#include <utility>
#include <vector>

#include "common/error.h"
#include "http/io.h"
#include "http/message.h"

namespace berth::http {

enum class BodyMode : uint8_t { kDiscard, kBuffer, kStream };

class RequestParser final : public beast::http::basic_parser<true> {
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
  // Stream mode: body bytes the last put() passed on, not yet written to the sink. They point into
  // the caller's input buffer, so WritePending must run before that buffer is consumed or grown.
  bool has_pending_writes() const { return !pending_.empty(); }
  // Writes the pending spans to the sink in order, stopping at the first error (then
  // sink_failed()). May block: the connection runs it on the blocking pool, one call per read.
  bool WritePending();
  Error TakeSinkError() { return std::move(*sink_error_); }
  // 0 unless the head was refused for a reason of ours rather than Beast's.
  int reject_status() const { return reject_status_; }
  std::string_view reject_reason() const { return reject_reason_; }
  uint64_t body_bytes() const { return received_; }

 private:
  void on_request_impl(beast::http::verb, beast::string_view method, beast::string_view target,
                       int version, beast::error_code&) override;
  void on_response_impl(int, beast::string_view, int, beast::error_code&) override {}
  void on_field_impl(beast::http::field f, beast::string_view name, beast::string_view value,
                     beast::error_code& ec) override;
  void on_header_impl(beast::error_code& ec) override;
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

  size_t Consume(const char* data, size_t n, beast::error_code& ec);
  // Refuses the head: RejectHead answers `status` with `reason` (a string literal) and closes.
  void Reject(int status, std::string_view reason, beast::error_code& ec);

  Request& request_;
  BodyMode mode_ = BodyMode::kDiscard;
  uint64_t limit_ = 0;
  BodySink* sink_ = nullptr;
  uint64_t received_ = 0;
  int version_ = 11;
  int content_length_fields_ = 0;
  int host_fields_ = 0;
  int reject_status_ = 0;
  std::string_view reject_reason_;
  bool header_done_ = false;
  bool expect_continue_ = false;
  bool too_large_ = false;
  std::optional<Error> sink_error_;
  std::vector<std::pair<const char*, size_t>> pending_;
};

}  // namespace berth::http
