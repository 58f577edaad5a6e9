#pragma once
// The HTTP layer's view of a request and a response, free of Beast/Asio types so that api/ never
// sees them. A handler decides, from the request head alone, what to do with the body:
//   - answer at once (any body is discarded by the server, bounded),
//   - have the body buffered up to a limit and then answer (manifests), or
//   - stream the body into a BodySink chunk by chunk (blob uploads; never held in memory).
// Thread-safety: a Request/Response belongs to one connection at a time.

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/error.h"

namespace berth::http {

// Ordered header list with case-insensitive lookup.
class Headers {
 public:
  // First value of `name`, or "" (absent and empty are the same to callers).
  std::string_view Get(std::string_view name) const;
  bool Has(std::string_view name) const;
  std::vector<std::string_view> GetAll(std::string_view name) const;
  void Add(std::string name, std::string value) {
    items_.emplace_back(std::move(name), std::move(value));
  }
  // Replaces every value of `name`.
  void Set(std::string name, std::string value);
  void Remove(std::string_view name);
  const std::vector<std::pair<std::string, std::string>>& items() const { return items_; }

 private:
  std::vector<std::pair<std::string, std::string>> items_;
};

struct Request {
  std::string method;  // "GET", "HEAD", ...
  std::string target;  // raw request-target as received ("/v2/a/b/tags/list?n=1")
  std::string path;    // raw path part of target (not percent-decoded)
  std::string query;   // raw query part (after '?'), may be empty
  Headers headers;
  std::optional<uint64_t> content_length;  // absent for chunked bodies or no body
  bool chunked = false;
  bool tls = false;
  std::string remote_addr;  // "ip:port"
  std::string body;         // filled only for BufferBody dispatches
  std::chrono::steady_clock::time_point received;
  // Set by the handler: a static name for the route ("manifest", ...) that metrics label requests
  // with; the server only clears it between requests. "" when no handler saw the request.
  std::string_view route;
};

// Source of a streamed response body. Read returns 0 at the end; an error aborts the connection
// (the status line has already gone out).
class BodySource {
 public:
  virtual ~BodySource() = default;
  virtual Result<size_t> Read(char* buf, size_t cap) = 0;
  // An OS file descriptor positioned at the first byte to send, or -1. The server may use sendfile
  // on plain TCP when it is enabled; otherwise it calls Read.
  virtual int NativeFd() const { return -1; }
};

struct Response {
  int status = 200;
  Headers headers;
  std::string body;  // small bodies
  std::unique_ptr<BodySource>
      stream;  // large bodies: exactly content_length bytes are read from it
  // Content-Length to advertise. Required with `stream`; for HEAD replies it is sent without a
  // body. When unset, body.size() is used.
  std::optional<uint64_t> content_length;
  // Informational for the access log (the repository, the digest...).
  std::string log_note;
};

// Receives a streamed request body.
class BodySink {
 public:
  virtual ~BodySink() = default;
  // Called with each chunk in order. An error stops reading; the server then calls Finish with it.
  virtual Status Write(const char* data, size_t n) = 0;
  // Called once: `body_status` is OK when the whole body arrived, or the reason it did not (client
  // disconnected, timed out, sent too much, or Write failed). The returned response is sent when
  // the connection is still usable.
  virtual Response Finish(const Status& body_status) = 0;
};

// What a handler wants done after seeing the request head.
struct Dispatch {
  // Answer now.
  static Dispatch Respond(Response r) {
    Dispatch d;
    d.response = std::move(r);
    return d;
  }
  // Buffer up to `limit` bytes into Request::body, then call `then`. A longer body gets `too_large`
  // (sent as-is) without calling `then`.
  static Dispatch BufferBody(size_t limit, std::function<Response(Request&)> then,
                             Response too_large) {
    Dispatch d;
    d.buffer_limit = limit;
    d.on_body = std::move(then);
    d.response = std::move(too_large);
    return d;
  }
  static Dispatch StreamBody(std::unique_ptr<BodySink> sink) {
    Dispatch d;
    d.sink = std::move(sink);
    return d;
  }

  std::optional<Response> response;
  size_t buffer_limit = 0;
  std::function<Response(Request&)> on_body;
  std::unique_ptr<BodySink> sink;
};

// Called for each request head on a thread of the blocking pool (see server.h), never on an event
// loop: it may block on storage.
using Handler = std::function<Dispatch(Request&)>;

struct AccessLogEntry {
  const Request* request;
  int status;
  uint64_t bytes_sent;
  uint64_t bytes_received;
  std::chrono::microseconds duration;
  std::string_view note;
};

}  // namespace berth::http
