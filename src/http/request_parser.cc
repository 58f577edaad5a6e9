#include "http/request_parser.h"

#include <boost/beast/http/error.hpp>
#include <boost/beast/http/field.hpp>
#include <limits>
#include <string>
#include <vector>

#include "common/names.h"
#include "common/strings.h"

namespace berth::http {

namespace bhttp = beast::http;

void RequestParser::on_request_impl(bhttp::verb, beast::string_view method,
                                    beast::string_view target, int version, beast::error_code&) {
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

void RequestParser::on_field_impl(bhttp::field f, beast::string_view name, beast::string_view value,
                                  beast::error_code& ec) {
  if (header_done_) return;  // chunked trailers are not exposed to handlers
  std::string_view v(value.data(), value.size());
  if (f == bhttp::field::transfer_encoding) {
    // Beast ignores a Transfer-Encoding that does not end in chunked, which would let a body be
    // read as the next request (smuggling); RFC 9112 6.1/6.3 want 400 or 501 instead.
    if (!IEquals(Trim(v), "chunked")) {
      std::vector<std::string_view> codings = Split(v, ',');
      bool chunked_last = IEquals(Trim(codings.back()), "chunked");
      if (chunked_last) return Reject(501, "unsupported transfer coding", ec);
      return Reject(400, "transfer-encoding does not end in chunked", ec);
    }
  } else if (f == bhttp::field::content_length) {
    // Beast has already refused a malformed value and differing repeats (and a Content-Length next
    // to Transfer-Encoding). It accepts agreeing repeats ("5, 5", or the field twice), which RFC
    // 9112 6.3 lets a server refuse, and values up to 2^64-1, which no file offset or signed size
    // downstream can hold.
    if (++content_length_fields_ > 1 || v.find(',') != std::string_view::npos) {
      return Reject(400, "repeated content-length", ec);
    }
    std::optional<uint64_t> length = ParseUint64(Trim(v));
    if (!length || *length > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) {
      return Reject(400, "content-length too large", ec);
    }
  } else if (f == bhttp::field::host) {
    // RFC 9112 3.2: one Host, and a valid one. It may reach a Location header or a challenge.
    if (++host_fields_ > 1) return Reject(400, "more than one host header", ec);
    if (!IsValidHostPort(Trim(v))) return Reject(400, "invalid host header", ec);
  } else if (f == bhttp::field::expect) {
    expect_continue_ = IEquals(Trim(v), "100-continue");
  }
  request_.headers.Add(std::string(name.data(), name.size()), std::string(v));
}

void RequestParser::on_header_impl(beast::error_code& ec) {
  header_done_ = true;
  // RFC 9112 3.2: an HTTP/1.1 request without Host is refused.
  if (version_ >= 11 && host_fields_ == 0) return Reject(400, "missing host header", ec);
  // Chunked framing does not exist in HTTP/1.0 (RFC 9112 6.1): such a body cannot be delimited
  // reliably, so the request is refused and the connection closed.
  if (version_ < 11 && chunked()) return Reject(400, "chunked body on HTTP/1.0", ec);
}

void RequestParser::Reject(int status, std::string_view reason, beast::error_code& ec) {
  reject_status_ = status;
  reject_reason_ = reason;
  ec = bhttp::error::bad_field;
}

size_t RequestParser::Consume(const char* data, size_t n, beast::error_code& ec) {
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
    case BodyMode::kStream:
      received_ += n;
      if (n > 0) pending_.emplace_back(data, n);
      return n;
  }
  return n;
}

bool RequestParser::WritePending() {
  for (const auto& [data, n] : pending_) {
    Status s = sink_->Write(data, n);
    if (!s) {
      sink_error_ = std::move(s.error());
      break;
    }
  }
  pending_.clear();
  return !sink_error_;
}

}  // namespace berth::http
