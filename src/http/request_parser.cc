#include "http/request_parser.h"

#include <boost/beast/http/error.hpp>
#include <boost/beast/http/field.hpp>
#include <string>
#include <vector>

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

void RequestParser::on_field_impl(bhttp::field f, beast::string_view name,
                                  beast::string_view value, beast::error_code& ec) {
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

}  // namespace berth::http
