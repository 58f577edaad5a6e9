#pragma once
// A small blocking HTTP/1.1 client for API tests, on plain POSIX sockets to 127.0.0.1:<port>.
//
//   HttpClient c(port);
//   Response r = c.Request("PUT", "/v2/x/manifests/t", body, {{"Content-Type", "..."}});
//   r.status; r.Header("Docker-Content-Digest"); r.body;
//
// - Keep-alive: one connection is reused across requests and reopened when the server closed it.
// - Response bodies framed by Content-Length, chunked transfer-encoding, or connection close; no
// body is
//   read for HEAD, 1xx, 204 and 304.
// - Request bodies from a string, streamed from a callback with a known length (Content-Length), or
//   streamed with chunked transfer-encoding (no length known up front).
// - Every read and write has a timeout (SO_RCVTIMEO / SO_SNDTIMEO), so a hung server fails the test
//   instead of hanging it. Transport failures come back as status 0 with `error` set; nothing
//   throws.
// - If the server answers before the request body is fully sent (413, 400 ...), sending stops and
// the
//   early response is returned.
// RawConnection is for abuse tests: arbitrary bytes, half-close, close mid-body.
//
// Not thread-safe: one client per thread.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace berth::testing {

// Request headers, in order. Names are sent as given.
using HeaderList = std::vector<std::pair<std::string, std::string>>;

struct Response {
  int status = 0;      // 0: transport failure (see error)
  std::string reason;  // reason phrase
  HeaderList headers;  // in wire order, names as received
  std::string body;
  std::string error;  // transport error text when status == 0

  // First value of `name` (case-insensitive), "" when absent.
  std::string Header(std::string_view name) const;
  bool HasHeader(std::string_view name) const;
  // Every value of `name`, in order (each header line is one value; not split on commas).
  std::vector<std::string> HeaderValues(std::string_view name) const;
};

// Fills up to `n` bytes of `buf` with the next part of a streamed body; returns the count, 0 at the
// end.
using BodySource = std::function<size_t(char* buf, size_t n)>;

// A body source producing `size` deterministic pseudo-random bytes (the same as PatternBytes)
// without holding them in memory. `hash_into`, if given, sees every byte produced.
BodySource PatternSource(uint64_t size, uint64_t seed = 1,
                         std::function<void(std::string_view)> hash_into = nullptr);
// The same bytes PatternSource produces, in memory (for small sizes and slices).
std::string PatternBytes(uint64_t size, uint64_t seed = 1);
// Bytes [offset, offset+len) of the PatternSource(size, seed) stream.
std::string PatternSlice(uint64_t offset, uint64_t len, uint64_t seed = 1);

class HttpClient {
 public:
  explicit HttpClient(uint16_t port,
                      std::chrono::milliseconds timeout = std::chrono::milliseconds(15000));
  ~HttpClient();
  HttpClient(const HttpClient&) = delete;
  HttpClient& operator=(const HttpClient&) = delete;

  // A request with an in-memory body. Content-Length is sent for every method except
  // GET/HEAD/DELETE with an empty body (unless the caller gives one in `headers`). `target` is a
  // path plus query.
  Response Request(std::string_view method, std::string_view target, std::string_view body = {},
                   const HeaderList& headers = {});
  // A body of exactly `length` bytes pulled from `source` (Content-Length framing).
  Response RequestStream(std::string_view method, std::string_view target, uint64_t length,
                         const BodySource& source, const HeaderList& headers = {});
  // A body pulled from `source` until it returns 0, sent with Transfer-Encoding: chunked.
  Response RequestChunked(std::string_view method, std::string_view target,
                          const BodySource& source, const HeaderList& headers = {});

  // Drops the kept-alive connection (the next request opens a new one).
  void Close();
  uint16_t port() const { return port_; }
  // Connections opened so far (to check keep-alive reuse).
  int connects() const { return connects_; }

 private:
  enum class Framing { kNone, kLength, kChunked };
  Response Do(std::string_view method, std::string_view target, Framing framing, uint64_t length,
              const BodySource* source, std::string_view body, const HeaderList& headers);
  bool EnsureConnected(std::string* error);

  uint16_t port_;
  std::chrono::milliseconds timeout_;
  int fd_ = -1;
  int connects_ = 0;
};

// One raw TCP connection for abuse tests.
class RawConnection {
 public:
  explicit RawConnection(uint16_t port,
                         std::chrono::milliseconds timeout = std::chrono::milliseconds(15000));
  ~RawConnection();
  RawConnection(const RawConnection&) = delete;
  RawConnection& operator=(const RawConnection&) = delete;

  bool ok() const { return fd_ >= 0; }
  // Sends all of `bytes`; false if the connection failed (reset, closed, timeout).
  bool Send(std::string_view bytes);
  // Half-close: no more bytes from us; the server sees EOF.
  void ShutdownWrite();
  // Closes the socket. With `reset`, an RST instead of a FIN (SO_LINGER 0).
  void Close(bool reset = false);
  // Everything the server sends until it closes or `timeout` passes without data.
  std::string ReadAll(std::chrono::milliseconds timeout = std::chrono::milliseconds(3000));
  // Reads and parses one response; nullopt on timeout/EOF/garbage. `head`: a HEAD request's reply.
  std::optional<Response> ReadResponse(bool head = false);

 private:
  int fd_ = -1;
  std::string buffered_;
  std::chrono::milliseconds timeout_;
};

// Turns a Location (absolute "http://127.0.0.1:PORT/v2/..." or relative "/v2/...") into path+query.
std::string PathOf(std::string_view location);
// Appends `param` ("digest=sha256:...") to a path that may already carry a query.
std::string WithQuery(std::string_view path, std::string_view param);
// Percent-encodes a query value (keeps unreserved characters and ':').
std::string QueryEscape(std::string_view value);

// "sha256:<hex>" / "sha512:<hex>" of `bytes`, via common/digest.h.
std::string Sha256(std::string_view bytes);
std::string Sha512(std::string_view bytes);

}  // namespace berth::testing
