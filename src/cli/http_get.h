#pragma once
// A one-shot blocking HTTP(S) GET for command-line tools (`berth status`, `berth healthcheck`):
// POSIX sockets plus OpenSSL, no event loop. Not for the request path.
//
// - Every step (resolve, connect, TLS handshake, each read and write) is bounded by `timeout`.
// - The response body is capped at `max_body` bytes (kInvalidArgument past it), so a wrong URL
//   pointing at a blob server cannot fill memory.
// - https: the server's certificate is verified against the system store unless `insecure` is set
//   (the health check talks to its own listener on loopback and sets it).
// - Errors: kInvalidArgument for a URL it cannot use (message says which part), kUnavailable for
//   "could not connect / resolve / handshake / timed out" (message names host:port and the cause).
// Thread-safe (no shared state).

#include <chrono>
#include <cstddef>
#include <string>

#include "common/error.h"

namespace berth::cli {

struct HttpGetOptions {
  std::chrono::milliseconds timeout{5000};
  size_t max_body = 1 << 20;
  bool insecure = false;
  std::string authorization;  // sent as the Authorization header when not empty
};

struct HttpReply {
  int status = 0;
  std::string content_type;
  std::string body;
};

struct Url {
  std::string scheme;  // "http" | "https"
  std::string host;    // without brackets
  uint16_t port = 0;
  std::string path;  // starts with '/'
};

// "http://host:port/path", "https://[::1]/x", "127.0.0.1:5001" (scheme http assumed).
Result<Url> ParseUrl(const std::string& text);

Result<HttpReply> HttpGet(const Url& url, const HttpGetOptions& options = {});

}  // namespace berth::cli
