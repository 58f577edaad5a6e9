#include "cli/http_get.h"

#include <fcntl.h>
#include <netdb.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <cstring>
#include <memory>
#include <optional>

#include "common/strings.h"

namespace berth::cli {
namespace {

constexpr size_t kMaxHeaderBytes = 64 * 1024;

std::unexpected<Error> Unavailable(const Url& u, const std::string& why) {
  return MakeError(ErrorCode::kUnavailable,
                   "cannot reach " + u.host + ":" + std::to_string(u.port) + ": " + why);
}

std::string SslError() {
  unsigned long e = ERR_get_error();
  if (e == 0) return errno ? std::strerror(errno) : "connection closed";
  char buf[256];
  ERR_error_string_n(e, buf, sizeof buf);
  return buf;
}

struct Fd {
  int fd = -1;
  ~Fd() {
    if (fd >= 0) close(fd);
  }
};

// Connects with a deadline; the socket is returned blocking, with send/receive timeouts set.
Result<int> Connect(const Url& u, std::chrono::milliseconds timeout) {
  addrinfo hints{};
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_NUMERICSERV;
  addrinfo* res = nullptr;
  std::string port = std::to_string(u.port);
  if (int rc = getaddrinfo(u.host.c_str(), port.c_str(), &hints, &res); rc != 0) {
    return Unavailable(u, std::string("cannot resolve the host: ") + gai_strerror(rc));
  }
  std::unique_ptr<addrinfo, decltype(&freeaddrinfo)> guard(res, freeaddrinfo);
  std::string last = "no address";
  for (addrinfo* ai = res; ai; ai = ai->ai_next) {
    Fd s{socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK, ai->ai_protocol)};
    if (s.fd < 0) {
      last = std::strerror(errno);
      continue;
    }
    if (connect(s.fd, ai->ai_addr, ai->ai_addrlen) != 0) {
      if (errno != EINPROGRESS) {
        last = std::strerror(errno);
        continue;
      }
      pollfd p{s.fd, POLLOUT, 0};
      int n = poll(&p, 1, static_cast<int>(timeout.count()));
      if (n == 0) {
        last = "connection timed out after " + std::to_string(timeout.count()) + " ms";
        continue;
      }
      int err = 0;
      socklen_t len = sizeof err;
      getsockopt(s.fd, SOL_SOCKET, SO_ERROR, &err, &len);
      if (n < 0 || err != 0) {
        last = std::strerror(n < 0 ? errno : err);
        continue;
      }
    }
    fcntl(s.fd, F_SETFL, fcntl(s.fd, F_GETFL) & ~O_NONBLOCK);
    timeval tv{static_cast<time_t>(timeout.count() / 1000),
               static_cast<suseconds_t>(timeout.count() % 1000 * 1000)};
    setsockopt(s.fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    setsockopt(s.fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    int fd = s.fd;
    s.fd = -1;
    return fd;
  }
  return Unavailable(u, last);
}

// Decodes a chunked body; nullopt when it is malformed.
std::optional<std::string> Dechunk(std::string_view in, size_t max_body) {
  std::string out;
  while (true) {
    size_t eol = in.find("\r\n");
    if (eol == std::string_view::npos) return std::nullopt;
    std::string_view size_text = in.substr(0, eol);
    if (size_t semi = size_text.find(';'); semi != std::string_view::npos) {
      size_text = size_text.substr(0, semi);
    }
    if (size_text.empty() || size_text.size() > 15) return std::nullopt;
    size_t n = 0;
    for (char c : size_text) {
      int v = std::isdigit(static_cast<unsigned char>(c)) ? c - '0'
              : (c >= 'a' && c <= 'f')                    ? c - 'a' + 10
              : (c >= 'A' && c <= 'F')                    ? c - 'A' + 10
                                                          : -1;
      if (v < 0) return std::nullopt;
      n = n * 16 + static_cast<size_t>(v);
    }
    in.remove_prefix(eol + 2);
    if (n == 0) return out;
    if (n > in.size() || out.size() + n > max_body) return std::nullopt;
    out.append(in.substr(0, n));
    in.remove_prefix(n);
    if (!in.starts_with("\r\n")) return std::nullopt;
    in.remove_prefix(2);
  }
}

}  // namespace

Result<Url> ParseUrl(const std::string& text) {
  Url u;
  std::string_view rest = text;
  if (rest.starts_with("http://")) {
    u.scheme = "http";
    rest.remove_prefix(7);
  } else if (rest.starts_with("https://")) {
    u.scheme = "https";
    rest.remove_prefix(8);
  } else if (rest.find("://") != std::string_view::npos) {
    return MakeError(ErrorCode::kInvalidArgument,
                     "URL " + text + ": only http:// and https:// are supported");
  } else {
    u.scheme = "http";
  }
  size_t slash = rest.find('/');
  std::string_view hostport = rest.substr(0, slash);
  u.path = slash == std::string_view::npos ? "/" : std::string(rest.substr(slash));
  std::string_view port_text;
  if (hostport.starts_with("[")) {
    size_t close = hostport.find(']');
    if (close == std::string_view::npos) {
      return MakeError(ErrorCode::kInvalidArgument, "URL " + text + ": unclosed '[' in the host");
    }
    u.host = std::string(hostport.substr(1, close - 1));
    std::string_view after = hostport.substr(close + 1);
    if (!after.empty()) {
      if (after[0] != ':') {
        return MakeError(ErrorCode::kInvalidArgument, "URL " + text + ": junk after the host");
      }
      port_text = after.substr(1);
    }
  } else {
    size_t colon = hostport.rfind(':');
    u.host = std::string(hostport.substr(0, colon));
    if (colon != std::string_view::npos) port_text = hostport.substr(colon + 1);
  }
  if (u.host.empty()) {
    return MakeError(ErrorCode::kInvalidArgument,
                     "URL " + text + ": no host (try http://127.0.0.1:5001)");
  }
  for (char c : u.host) {
    if (static_cast<unsigned char>(c) <= ' ' || c == '@' || c == '/' || c == '?' || c == '#') {
      return MakeError(ErrorCode::kInvalidArgument, "URL " + text + ": bad character in the host");
    }
  }
  if (port_text.empty()) {
    u.port = u.scheme == "https" ? 443 : 80;
  } else {
    unsigned long p = 0;
    for (char c : port_text) {
      if (!std::isdigit(static_cast<unsigned char>(c)) || p > 65535) {
        return MakeError(ErrorCode::kInvalidArgument, "URL " + text + ": the port is not a number");
      }
      p = p * 10 + static_cast<unsigned long>(c - '0');
    }
    if (p == 0 || p > 65535) {
      return MakeError(ErrorCode::kInvalidArgument, "URL " + text + ": the port is out of range");
    }
    u.port = static_cast<uint16_t>(p);
  }
  for (char c : u.path) {
    if (static_cast<unsigned char>(c) <= ' ' || c == 0x7f) {
      return MakeError(ErrorCode::kInvalidArgument, "URL " + text + ": bad character in the path");
    }
  }
  return u;
}

Result<HttpReply> HttpGet(const Url& u, const HttpGetOptions& o) {
  auto fd_or = Connect(u, o.timeout);
  if (!fd_or) return std::unexpected(fd_or.error());
  Fd sock{*fd_or};
  const auto deadline = std::chrono::steady_clock::now() + o.timeout;

  std::unique_ptr<SSL_CTX, decltype(&SSL_CTX_free)> ctx(nullptr, SSL_CTX_free);
  std::unique_ptr<SSL, decltype(&SSL_free)> ssl(nullptr, SSL_free);
  if (u.scheme == "https") {
    ctx.reset(SSL_CTX_new(TLS_client_method()));
    if (!ctx) return Unavailable(u, "TLS: " + SslError());
    SSL_CTX_set_min_proto_version(ctx.get(), TLS1_2_VERSION);
    if (!o.insecure) {
      SSL_CTX_set_default_verify_paths(ctx.get());
      SSL_CTX_set_verify(ctx.get(), SSL_VERIFY_PEER, nullptr);
    }
    ssl.reset(SSL_new(ctx.get()));
    SSL_set_fd(ssl.get(), sock.fd);
    SSL_set_tlsext_host_name(ssl.get(), u.host.c_str());
    if (!o.insecure) SSL_set1_host(ssl.get(), u.host.c_str());
    if (SSL_connect(ssl.get()) != 1) {
      long v = SSL_get_verify_result(ssl.get());
      if (v != X509_V_OK) {
        return Unavailable(
            u, std::string("TLS certificate not trusted: ") + X509_verify_cert_error_string(v));
      }
      return Unavailable(u, "TLS handshake failed: " + SslError());
    }
  }
  auto write_all = [&](std::string_view data) -> bool {
    while (!data.empty()) {
      long n = ssl ? SSL_write(ssl.get(), data.data(), static_cast<int>(data.size()))
                   : send(sock.fd, data.data(), data.size(), MSG_NOSIGNAL);
      if (n <= 0) return false;
      data.remove_prefix(static_cast<size_t>(n));
    }
    return true;
  };
  std::string host_header = u.host.find(':') != std::string::npos ? "[" + u.host + "]" : u.host;
  std::string req =
      "GET " + u.path + " HTTP/1.1\r\nHost: " + host_header + ":" + std::to_string(u.port) +
      "\r\nUser-Agent: berth-cli\r\nAccept: application/json\r\nConnection: close\r\n";
  if (!o.authorization.empty()) req += "Authorization: " + o.authorization + "\r\n";
  req += "\r\n";
  if (!write_all(req)) return Unavailable(u, "sending the request failed: " + SslError());

  std::string raw;
  const size_t cap = kMaxHeaderBytes + o.max_body + 64 * 1024;  // chunk framing overhead
  char buf[16 * 1024];
  while (true) {
    if (std::chrono::steady_clock::now() > deadline) {
      return Unavailable(u,
                         "no complete answer within " + std::to_string(o.timeout.count()) + " ms");
    }
    long n = ssl ? SSL_read(ssl.get(), buf, sizeof buf) : recv(sock.fd, buf, sizeof buf, 0);
    if (n == 0) break;
    if (n < 0) {
      if (ssl && SSL_get_error(ssl.get(), static_cast<int>(n)) == SSL_ERROR_ZERO_RETURN) break;
      if (errno == EAGAIN || errno == EWOULDBLOCK) {
        return Unavailable(u, "no answer within " + std::to_string(o.timeout.count()) + " ms");
      }
      // A TLS peer that closes without close_notify still delivered what it sent.
      if (ssl && !raw.empty()) break;
      return Unavailable(u, "reading the answer failed: " + SslError());
    }
    raw.append(buf, static_cast<size_t>(n));
    if (raw.size() > cap) {
      return MakeError(ErrorCode::kInvalidArgument,
                       "the answer from " + u.host + ":" + std::to_string(u.port) +
                           " is larger than " + std::to_string(o.max_body) +
                           " bytes; is this the right URL?");
    }
  }
  size_t head_end = raw.find("\r\n\r\n");
  if (!raw.starts_with("HTTP/1.") || head_end == std::string::npos || raw.size() < 12) {
    return Unavailable(u, "the answer is not HTTP (is the URL's scheme right?)");
  }
  HttpReply reply;
  std::string_view code = std::string_view(raw).substr(9, 3);
  for (char c : code) {
    if (!std::isdigit(static_cast<unsigned char>(c))) return Unavailable(u, "bad HTTP status line");
    reply.status = reply.status * 10 + (c - '0');
  }
  bool chunked = false;
  std::optional<size_t> length;
  std::string_view head = std::string_view(raw).substr(0, head_end);
  size_t pos = head.find("\r\n");
  while (pos != std::string_view::npos && pos < head.size()) {
    size_t next = head.find("\r\n", pos + 2);
    std::string_view line =
        head.substr(pos + 2, next == std::string_view::npos ? head.npos : next - pos - 2);
    pos = next;
    size_t colon = line.find(':');
    if (colon == std::string_view::npos) continue;
    std::string name = ToLower(std::string(line.substr(0, colon)));
    std::string value(Trim(line.substr(colon + 1)));
    if (name == "content-type") reply.content_type = value;
    if (name == "transfer-encoding" && ToLower(value).find("chunked") != std::string::npos) {
      chunked = true;
    }
    if (name == "content-length") {
      if (auto v = ParseUint64(value)) length = static_cast<size_t>(*v);
    }
  }
  std::string_view body = std::string_view(raw).substr(head_end + 4);
  if (chunked) {
    auto d = Dechunk(body, o.max_body);
    if (!d) return Unavailable(u, "malformed chunked body");
    reply.body = std::move(*d);
  } else {
    if (length && *length < body.size()) body = body.substr(0, *length);
    if (length && *length > body.size()) return Unavailable(u, "the answer was cut short");
    reply.body = std::string(body);
  }
  if (reply.body.size() > o.max_body) {
    return MakeError(ErrorCode::kInvalidArgument,
                     "the answer is larger than " + std::to_string(o.max_body) + " bytes");
  }
  return reply;
}

}  // namespace berth::cli
