#include "test/support/http_client.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <memory>
#include <string>

#include "common/digest.h"

namespace berth::testing {
namespace {

constexpr size_t kMaxHead = 1 << 20;

bool IEquals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) ==
                  std::tolower(static_cast<unsigned char>(y));
         });
}

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r'))
    s.remove_suffix(1);
  return s;
}

bool HasHeader(const HeaderList& h, std::string_view name) {
  return std::any_of(h.begin(), h.end(), [&](const auto& kv) { return IEquals(kv.first, name); });
}

void SetTimeouts(int fd, std::chrono::milliseconds timeout) {
  timeval tv{};
  tv.tv_sec = static_cast<time_t>(timeout.count() / 1000);
  tv.tv_usec = static_cast<suseconds_t>((timeout.count() % 1000) * 1000);
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
}

int Connect(uint16_t port, std::chrono::milliseconds timeout, std::string* error) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    *error = std::string("socket: ") + std::strerror(errno);
    return -1;
  }
  SetTimeouts(fd, timeout);
  int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    *error = std::string("connect: ") + std::strerror(errno);
    ::close(fd);
    return -1;
  }
  return fd;
}

// Appends whatever arrives next to `buf`. False on EOF, timeout or error (text in *error).
bool ReadMore(int fd, std::string& buf, std::string* error) {
  char tmp[64 * 1024];
  for (;;) {
    ssize_t n = ::recv(fd, tmp, sizeof tmp, 0);
    if (n > 0) {
      buf.append(tmp, static_cast<size_t>(n));
      return true;
    }
    if (n == 0) {
      *error = "connection closed by server";
      return false;
    }
    if (errno == EINTR) continue;
    *error = (errno == EAGAIN || errno == EWOULDBLOCK)
                 ? "read timed out"
                 : std::string("recv: ") + std::strerror(errno);
    return false;
  }
}

// Outcome of sending: all sent, the server answered early (stop sending, read the reply), or
// failure.
enum class SendResult { kOk, kPeerAnswered, kFailed };

SendResult SendAll(int fd, std::string_view data, std::chrono::milliseconds timeout,
                   std::string* error) {
  while (!data.empty()) {
    pollfd p{fd, POLLOUT | POLLIN, 0};
    int rc = ::poll(&p, 1, static_cast<int>(timeout.count()));
    if (rc < 0 && errno == EINTR) continue;
    if (rc == 0) {
      *error = "write timed out";
      return SendResult::kFailed;
    }
    if (rc < 0) {
      *error = std::string("poll: ") + std::strerror(errno);
      return SendResult::kFailed;
    }
    if (p.revents & (POLLIN | POLLHUP | POLLERR)) return SendResult::kPeerAnswered;
    ssize_t n = ::send(fd, data.data(), data.size(), MSG_NOSIGNAL);
    if (n < 0) {
      if (errno == EINTR || errno == EAGAIN) continue;
      // EPIPE / ECONNRESET: the server may still have left a response to read.
      *error = std::string("send: ") + std::strerror(errno);
      return SendResult::kPeerAnswered;
    }
    data.remove_prefix(static_cast<size_t>(n));
  }
  return SendResult::kOk;
}

// Parses one response from fd (bytes already received are in `buf`, leftovers stay there).
// *keep_alive tells whether the connection can carry another request. *got_bytes: any byte arrived.
bool ReadOneResponse(int fd, std::string& buf, bool head, Response* out, bool* keep_alive,
                     bool* got_bytes) {
  *keep_alive = false;
  *got_bytes = !buf.empty();
  std::string err;
  size_t end;
  for (;;) {
    end = buf.find("\r\n\r\n");
    if (end != std::string::npos) break;
    if (buf.size() > kMaxHead) {
      out->error = "response head too large";
      return false;
    }
    if (!ReadMore(fd, buf, &err)) {
      out->error = err + (buf.empty() ? " (no response)" : " (inside response head)");
      return false;
    }
    *got_bytes = true;
  }
  std::string_view headtext(buf.data(), end);
  size_t line_end = headtext.find("\r\n");
  std::string_view status_line = headtext.substr(0, line_end);
  // HTTP/1.1 200 OK
  if (status_line.size() < 12 || !status_line.starts_with("HTTP/1.")) {
    out->error = "bad status line: " + std::string(status_line);
    return false;
  }
  bool http10 = status_line.starts_with("HTTP/1.0");
  int status = 0;
  for (size_t i = 9; i < 12; ++i) {
    char c = status_line[i];
    if (c < '0' || c > '9') {
      out->error = "bad status code: " + std::string(status_line);
      return false;
    }
    status = status * 10 + (c - '0');
  }
  out->status = status;
  out->reason = status_line.size() > 13 ? std::string(status_line.substr(13)) : std::string();
  out->headers.clear();
  if (line_end != std::string_view::npos) {
    std::string_view rest = headtext.substr(line_end + 2);
    while (!rest.empty()) {
      size_t e = rest.find("\r\n");
      std::string_view line = rest.substr(0, e);
      rest = e == std::string_view::npos ? std::string_view() : rest.substr(e + 2);
      size_t colon = line.find(':');
      if (colon == std::string_view::npos) continue;
      out->headers.emplace_back(std::string(Trim(line.substr(0, colon))),
                                std::string(Trim(line.substr(colon + 1))));
    }
  }
  buf.erase(0, end + 4);

  std::string connection = Lower(out->Header("Connection"));
  bool close = connection.find("close") != std::string::npos ||
               (http10 && connection.find("keep-alive") == std::string::npos);

  out->body.clear();
  bool no_body = head || status == 204 || status == 304 || (status >= 100 && status < 200);
  if (no_body) {
    *keep_alive = !close;
    return true;
  }
  std::string te = Lower(out->Header("Transfer-Encoding"));
  if (te.find("chunked") != std::string::npos) {
    for (;;) {
      size_t le;
      while ((le = buf.find("\r\n")) == std::string::npos) {
        if (!ReadMore(fd, buf, &err)) {
          out->error = err + " (inside chunked body)";
          return false;
        }
      }
      std::string size_line = buf.substr(0, le);
      buf.erase(0, le + 2);
      size_t semi = size_line.find(';');
      if (semi != std::string::npos) size_line.resize(semi);
      uint64_t chunk = 0;
      try {
        chunk = std::stoull(std::string(Trim(size_line)), nullptr, 16);
      } catch (...) {
        out->error = "bad chunk size line: " + size_line;
        return false;
      }
      if (chunk == 0) {
        // Trailers until an empty line.
        for (;;) {
          while ((le = buf.find("\r\n")) == std::string::npos) {
            if (!ReadMore(fd, buf, &err)) {
              out->error = err + " (inside chunked trailer)";
              return false;
            }
          }
          bool empty = le == 0;
          buf.erase(0, le + 2);
          if (empty) break;
        }
        break;
      }
      while (buf.size() < chunk + 2) {
        if (!ReadMore(fd, buf, &err)) {
          out->error = err + " (inside chunk)";
          return false;
        }
      }
      out->body.append(buf, 0, chunk);
      buf.erase(0, chunk + 2);
    }
    *keep_alive = !close;
    return true;
  }
  if (out->HasHeader("Content-Length")) {
    uint64_t len = 0;
    try {
      len = std::stoull(out->Header("Content-Length"));
    } catch (...) {
      out->error = "bad Content-Length: " + out->Header("Content-Length");
      return false;
    }
    out->body.reserve(len);
    if (buf.size() >= len) {
      out->body.assign(buf, 0, len);
      buf.erase(0, len);
    } else {
      out->body = std::move(buf);
      buf.clear();
      while (out->body.size() < len) {
        if (!ReadMore(fd, out->body, &err)) {
          out->error = err + " (body short: " + std::to_string(out->body.size()) + " of " +
                       std::to_string(len) + ")";
          return false;
        }
      }
      if (out->body.size() > len) {
        buf.assign(out->body, len);
        out->body.resize(len);
      }
    }
    *keep_alive = !close;
    return true;
  }
  // Delimited by close.
  out->body = std::move(buf);
  buf.clear();
  while (ReadMore(fd, out->body, &err)) {
  }
  *keep_alive = false;
  return true;
}

uint64_t SplitMix(uint64_t x) {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

void FillPattern(uint64_t seed, uint64_t offset, char* out, size_t n) {
  uint64_t key = SplitMix(seed);
  for (size_t i = 0; i < n; ++i) {
    uint64_t pos = offset + i;
    uint64_t word = SplitMix(key ^ (pos / 8));
    out[i] = static_cast<char>((word >> (8 * (pos % 8))) & 0xff);
  }
}

}  // namespace

// ---- Response ----

std::string Response::Header(std::string_view name) const {
  for (const auto& [k, v] : headers) {
    if (IEquals(k, name)) return v;
  }
  return {};
}

bool Response::HasHeader(std::string_view name) const { return testing::HasHeader(headers, name); }

std::vector<std::string> Response::HeaderValues(std::string_view name) const {
  std::vector<std::string> out;
  for (const auto& [k, v] : headers) {
    if (IEquals(k, name)) out.push_back(v);
  }
  return out;
}

// ---- Patterns ----

BodySource PatternSource(uint64_t size, uint64_t seed,
                         std::function<void(std::string_view)> hash_into) {
  auto offset = std::make_shared<uint64_t>(0);
  return [=](char* buf, size_t n) -> size_t {
    uint64_t left = size - *offset;
    size_t take = static_cast<size_t>(std::min<uint64_t>(left, n));
    FillPattern(seed, *offset, buf, take);
    if (hash_into && take > 0) hash_into(std::string_view(buf, take));
    *offset += take;
    return take;
  };
}

std::string PatternBytes(uint64_t size, uint64_t seed) { return PatternSlice(0, size, seed); }

std::string PatternSlice(uint64_t offset, uint64_t len, uint64_t seed) {
  std::string out(len, '\0');
  FillPattern(seed, offset, out.data(), out.size());
  return out;
}

// ---- HttpClient ----

HttpClient::HttpClient(uint16_t port, std::chrono::milliseconds timeout)
    : port_(port), timeout_(timeout) {}

HttpClient::~HttpClient() { Close(); }

void HttpClient::Close() {
  if (fd_ >= 0) {
    ::close(fd_);
    fd_ = -1;
  }
}

bool HttpClient::EnsureConnected(std::string* error) {
  if (fd_ >= 0) {
    // A kept-alive connection the server has since closed reads as EOF (or has stray bytes): drop
    // it.
    char c;
    ssize_t n = ::recv(fd_, &c, 1, MSG_PEEK | MSG_DONTWAIT);
    if (n == 0 || n > 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK)) Close();
  }
  if (fd_ >= 0) return true;
  fd_ = Connect(port_, timeout_, error);
  if (fd_ < 0) return false;
  ++connects_;
  return true;
}

Response HttpClient::Request(std::string_view method, std::string_view target,
                             std::string_view body, const HeaderList& headers) {
  bool wants_length = !body.empty() || !(method == "GET" || method == "HEAD" || method == "DELETE");
  return Do(method, target, wants_length ? Framing::kLength : Framing::kNone, body.size(), nullptr,
            body, headers);
}

Response HttpClient::RequestStream(std::string_view method, std::string_view target,
                                   uint64_t length, const BodySource& source,
                                   const HeaderList& headers) {
  return Do(method, target, Framing::kLength, length, &source, {}, headers);
}

Response HttpClient::RequestChunked(std::string_view method, std::string_view target,
                                    const BodySource& source, const HeaderList& headers) {
  return Do(method, target, Framing::kChunked, 0, &source, {}, headers);
}

Response HttpClient::Do(std::string_view method, std::string_view target, Framing framing,
                        uint64_t length, const BodySource* source, std::string_view body,
                        const HeaderList& headers) {
  // An in-memory body can be replayed on a fresh connection if a reused one turns out dead.
  bool replayable = source == nullptr;
  bool head = method == "HEAD";
  for (int attempt = 0; attempt < 2; ++attempt) {
    Response r;
    int connects_before = connects_;
    if (!EnsureConnected(&r.error)) return r;
    bool reused = connects_ == connects_before;

    std::string req;
    req.reserve(256 + target.size());
    req.append(method).append(" ").append(target).append(" HTTP/1.1\r\n");
    if (!HasHeader(headers, "Host")) req += "Host: 127.0.0.1:" + std::to_string(port_) + "\r\n";
    if (!HasHeader(headers, "User-Agent")) req += "User-Agent: berth-api-test/1\r\n";
    for (const auto& [k, v] : headers) req.append(k).append(": ").append(v).append("\r\n");
    if (framing == Framing::kLength && !HasHeader(headers, "Content-Length")) {
      req += "Content-Length: " + std::to_string(length) + "\r\n";
    }
    if (framing == Framing::kChunked && !HasHeader(headers, "Transfer-Encoding")) {
      req += "Transfer-Encoding: chunked\r\n";
    }
    req += "\r\n";
    // Small in-memory bodies go out with the head in one write.
    bool body_inline = source == nullptr && body.size() <= 64 * 1024;
    if (body_inline) req.append(body);

    std::string err;
    SendResult sent = SendAll(fd_, req, timeout_, &err);
    if (sent == SendResult::kOk && source == nullptr && !body_inline) {
      sent = SendAll(fd_, body, timeout_, &err);
    }
    if (sent == SendResult::kOk && framing != Framing::kNone && source != nullptr) {
      std::string chunk(256 * 1024, '\0');
      uint64_t remaining = length;
      for (;;) {
        size_t want = chunk.size();
        if (framing == Framing::kLength) {
          if (remaining == 0) break;
          want = static_cast<size_t>(std::min<uint64_t>(remaining, chunk.size()));
        }
        size_t n = (*source)(chunk.data(), want);
        if (framing == Framing::kChunked) {
          char hex[32];
          int hn = std::snprintf(hex, sizeof hex, "%zx\r\n", n);
          std::string frame(hex, static_cast<size_t>(hn));
          if (n > 0) frame.append(chunk.data(), n);
          frame += "\r\n";
          sent = SendAll(fd_, frame, timeout_, &err);
          if (sent != SendResult::kOk || n == 0) break;
          continue;
        }
        if (n == 0) {
          err = "body source ended early";
          sent = SendResult::kFailed;
          break;
        }
        sent = SendAll(fd_, std::string_view(chunk.data(), n), timeout_, &err);
        if (sent != SendResult::kOk) break;
        remaining -= n;
      }
    }
    if (sent == SendResult::kFailed) {
      r.error = err;
      Close();
      return r;
    }
    bool complete = sent == SendResult::kOk;

    std::string buf;
    bool keep_alive = false;
    bool got_bytes = false;
    bool ok = ReadOneResponse(fd_, buf, head, &r, &keep_alive, &got_bytes);
    // Interim 1xx replies (an unsolicited 100 Continue) precede the real one.
    while (ok && r.status >= 100 && r.status < 200 && r.status != 101) {
      ok = ReadOneResponse(fd_, buf, head, &r, &keep_alive, &got_bytes);
      got_bytes = true;
    }
    if (!ok) {
      Close();
      if (reused && !got_bytes && replayable && attempt == 0) continue;  // stale keep-alive
      r.status = 0;
      return r;
    }
    // After an early answer the rest of our body is still unsent: the connection is unusable.
    if (!keep_alive || !complete || !buf.empty()) Close();
    return r;
  }
  Response r;
  r.error = "unreachable";
  return r;
}

// ---- RawConnection ----

RawConnection::RawConnection(uint16_t port, std::chrono::milliseconds timeout) : timeout_(timeout) {
  std::string err;
  fd_ = Connect(port, timeout, &err);
}

RawConnection::~RawConnection() { Close(); }

bool RawConnection::Send(std::string_view bytes) {
  if (fd_ < 0) return false;
  while (!bytes.empty()) {
    ssize_t n = ::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL);
    if (n < 0) {
      if (errno == EINTR) continue;
      return false;
    }
    bytes.remove_prefix(static_cast<size_t>(n));
  }
  return true;
}

void RawConnection::ShutdownWrite() {
  if (fd_ >= 0) ::shutdown(fd_, SHUT_WR);
}

void RawConnection::Close(bool reset) {
  if (fd_ < 0) return;
  if (reset) {
    linger l{1, 0};
    setsockopt(fd_, SOL_SOCKET, SO_LINGER, &l, sizeof l);
  }
  ::close(fd_);
  fd_ = -1;
}

std::string RawConnection::ReadAll(std::chrono::milliseconds timeout) {
  std::string out = std::move(buffered_);
  buffered_.clear();
  if (fd_ < 0) return out;
  SetTimeouts(fd_, timeout);
  std::string err;
  while (ReadMore(fd_, out, &err)) {
  }
  SetTimeouts(fd_, timeout_);
  return out;
}

std::optional<Response> RawConnection::ReadResponse(bool head) {
  if (fd_ < 0) return std::nullopt;
  Response r;
  bool keep_alive = false;
  bool got_bytes = false;
  if (!ReadOneResponse(fd_, buffered_, head, &r, &keep_alive, &got_bytes)) return std::nullopt;
  return r;
}

// ---- Helpers ----

std::string PathOf(std::string_view location) {
  std::string_view s = location;
  size_t scheme = s.find("://");
  if (scheme != std::string_view::npos && s.find('/') > scheme) {
    s.remove_prefix(scheme + 3);
    size_t slash = s.find('/');
    if (slash == std::string_view::npos) return "/";
    s.remove_prefix(slash);
  } else if (s.starts_with("//")) {  // network-path reference
    s.remove_prefix(2);
    size_t slash = s.find('/');
    if (slash == std::string_view::npos) return "/";
    s.remove_prefix(slash);
  }
  size_t hash = s.find('#');
  if (hash != std::string_view::npos) s = s.substr(0, hash);
  if (!s.starts_with("/")) return "/" + std::string(s);
  return std::string(s);
}

std::string WithQuery(std::string_view path, std::string_view param) {
  std::string out(path);
  out += path.find('?') == std::string_view::npos ? '?' : '&';
  out.append(param);
  return out;
}

std::string QueryEscape(std::string_view value) {
  static const char* kHex = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : value) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~' || c == ':') {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  return out;
}

std::string Sha256(std::string_view bytes) { return Digest::Of(bytes).str(); }
std::string Sha512(std::string_view bytes) {
  return Digest::Of(bytes, DigestAlgorithm::kSha512).str();
}

}  // namespace berth::testing
