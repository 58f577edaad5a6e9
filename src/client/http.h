#pragma once
// An outgoing HTTP/1.1 client: plain TCP or TLS (system CAs, or a CA bundle file), connect and
// read timeouts, request headers, streamed request bodies (Content-Length or chunked), response
// bodies pulled in chunks (never held whole), redirects followed for GET/HEAD up to a cap, and
// idle connections kept per origin for reuse. Beast and Asio stay inside http.cc.
//
//   client::HttpClient c({.read_timeout = std::chrono::seconds(30)});
//   auto res = c.Send({.method = "GET", .url = "https://example.com/v2/"});
//   if (!res) return res.error();               // transport failure (kUnavailable)
//   (*res)->status; (*res)->headers.Get("Content-Type");
//   char buf[65536];
//   while (true) {                                // stream the body
//     BERTH_ASSIGN_OR_RETURN(size_t n, (*res)->Read(buf, sizeof buf));
//     if (n == 0) break;                          // end of body
//   }
//   auto small = (*res)->ReadAll(1 << 20);        // or: whole body up to a limit (JSON, errors)
//
// A streamed upload: set Request::body_source (and body_length for Content-Length framing;
// without it the body is sent chunked). The source is read on the calling thread.
//
// Errors: every transport problem (DNS, refused, TLS handshake or verification, timeout, reset,
// malformed response, too many redirects) is ErrorCode::kUnavailable with a message naming the
// URL and the cause; a bad URL is kInvalidArgument. HTTP statuses are not errors: the caller reads
// `status`.
//
// Redirects: 301/302/303/307/308 answers to GET and HEAD are followed (max_redirects, then
// kUnavailable). The Authorization header is dropped when the redirect leaves the origin (a blob
// redirect to object storage must not carry the registry credentials there). Other methods get
// the redirect response itself.
//
// Connection reuse: a connection goes back to the idle pool when its response was read to the end
// (or had no body) and neither side asked to close; a Response destroyed early closes its
// connection. An idle connection the server has closed meanwhile is detected on the next request
// (which is then retried once on a fresh connection when it was idempotent and had no streamed
// body).
//
// Thread-safety: HttpClient is thread-safe (many threads may Send at once; each request gets its
// own connection). A Response is used by one thread at a time and may outlive nothing: destroy it
// before the HttpClient.
//
// Blocking: Send and Response::Read block the calling thread (bounded by the timeouts). Call them
// from a worker or the server's blocking pool, never from an event loop.

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "common/error.h"
#include "http/message.h"

namespace berth::client {

using Headers = http::Headers;

// An absolute http(s) URL split into its parts.
struct Url {
  std::string scheme;  // "http" or "https"
  std::string host;    // without brackets for IPv6
  uint16_t port = 0;   // explicit or the scheme's default
  std::string target;  // path and query, at least "/"

  // kInvalidArgument for anything but http(s)://host[:port][/path][?query] (no userinfo).
  static Result<Url> Parse(std::string_view s);
  // A Location header relative to this URL: absolute, scheme-relative ("//h/p") or absolute path.
  Result<Url> Resolve(std::string_view location) const;
  // "https://host:port" (the pool key); str() adds the target.
  std::string Origin() const;
  std::string str() const { return Origin() + target; }
  // Host header value ("host" or "host:port" when not the default).
  std::string HostHeader() const;
};

struct ClientOptions {
  std::chrono::milliseconds connect_timeout{10'000};  // DNS + TCP connect + TLS handshake
  // Longest wait for any single read or write to make progress (not a whole-body deadline, so a
  // large blob may take as long as it needs while bytes keep coming).
  std::chrono::milliseconds read_timeout{60'000};
  int max_redirects = 5;
  size_t max_idle_per_origin = 8;               // idle connections kept per origin
  std::chrono::milliseconds idle_keep{60'000};  // idle connections older than this are closed
  size_t max_header_bytes = 64 * 1024;          // larger response heads are kUnavailable
  // TLS: a PEM bundle to trust instead of the system CAs; verification can be turned off only
  // explicitly (tests, `insecure` upstreams).
  std::string ca_file;
  bool tls_verify = true;
  std::string user_agent = "berth";
};

// A streamed request body: Read fills up to `cap` bytes and returns how many, 0 at the end.
using BodyReader = std::function<Result<size_t>(char* buf, size_t cap)>;

struct Request {
  std::string method = "GET";
  std::string url;
  Headers headers;
  std::string body;        // small bodies (JSON, tokens); ignored when body_source is set
  BodyReader body_source;  // streamed body
  std::optional<uint64_t> body_length;  // with body_source: Content-Length; absent: chunked
};

// A response whose body is pulled by the caller.
class Response {
 public:
  ~Response();
  Response(const Response&) = delete;
  Response& operator=(const Response&) = delete;

  int status = 0;
  Headers headers;
  std::optional<uint64_t> content_length;  // when announced
  std::string url;                         // the URL that answered (after redirects)

  // Up to `cap` body bytes; 0 at the end. kUnavailable on a transport failure or timeout (the body
  // is then incomplete: a Content-Length body that ends early is an error, never a short success).
  Result<size_t> Read(char* buf, size_t cap);
  // The rest of the body; kUnavailable when it is longer than `limit`.
  Result<std::string> ReadAll(size_t limit);
  // True once the body has been read to its end.
  bool done() const;

 private:
  friend struct ResponseAccess;  // http.cc
  Response();
  struct State;
  std::unique_ptr<State> s_;
};
using ResponsePtr = std::unique_ptr<Response>;

struct ClientImpl;  // http.cc

class HttpClient {
 public:
  explicit HttpClient(ClientOptions options = {});
  ~HttpClient();
  HttpClient(const HttpClient&) = delete;
  HttpClient& operator=(const HttpClient&) = delete;

  // Sends `req` and returns once the response head has arrived (see the top for errors and
  // redirects). Host, User-Agent and the body framing headers are set here.
  Result<ResponsePtr> Send(Request req);

  // Connections opened so far (tests check reuse with it).
  uint64_t connects() const;
  const ClientOptions& options() const;

 private:
  std::shared_ptr<ClientImpl> impl_;
};

}  // namespace berth::client
