#pragma once
// Sending one notification: an HTTP POST with a small body, through the project's outgoing client
// (client/http.h: plain or TLS with the system CAs, idle connections reused per endpoint). Behind
// an interface so tests can inject failures.
//
// Thread-safety: a Poster is used by its endpoint's delivery thread only.

#include <chrono>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "common/error.h"

namespace berth::notify {

struct PostRequest {
  std::string url;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string content_type;
  std::string body;
  // Bounds connecting (DNS, TCP, TLS) and, separately, each wait for the response.
  std::chrono::milliseconds timeout{1000};
};

class Poster {
 public:
  virtual ~Poster() = default;
  // The response status (the body is read and discarded, up to 64 KiB, so the connection can be
  // reused). Errors: kUnavailable (DNS, connect, TLS, timeout, malformed response),
  // kInvalidArgument (a URL the client cannot use).
  virtual Result<int> Post(const PostRequest& request) = 0;
};

std::unique_ptr<Poster> NewHttpPoster();

// Whether `url` is one the poster can use: http(s)://host[:port][/path][?query], no userinfo.
// Errors: kInvalidArgument saying why.
Status CheckUrl(const std::string& url);

}  // namespace berth::notify
