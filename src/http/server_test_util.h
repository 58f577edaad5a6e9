#pragma once
// Helpers shared by the http server tests: a small blocking HTTP/1.1 client over POSIX sockets
// (every read bounded by a receive timeout, so a broken server fails a test instead of hanging
// it), a server started on 127.0.0.1:0, and body sources and sinks that record what they saw.

#include <arpa/inet.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <poll.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "common/strings.h"
#include "http/server.h"

namespace berth::http {

using Clock = std::chrono::steady_clock;

struct Reply {
  int status = 0;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;

  std::string Header(std::string_view name) const {
    for (const auto& [k, v] : headers) {
      if (IEquals(k, name)) return v;
    }
    return {};
  }
  int Count(std::string_view name) const {
    int n = 0;
    for (const auto& [k, v] : headers) n += IEquals(k, name) ? 1 : 0;
    return n;
  }
};

class Client {
 public:
  explicit Client(uint16_t port,
                  std::chrono::milliseconds timeout = std::chrono::milliseconds(5000)) {
    fd_ = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(port);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    timeval tv{static_cast<time_t>(timeout.count() / 1000),
               static_cast<suseconds_t>((timeout.count() % 1000) * 1000)};
    setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    setsockopt(fd_, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
    int one = 1;
    setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    connected_ = connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0;
  }
  ~Client() {
    if (ssl_) SSL_free(ssl_);
    Close();
  }
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  bool connected() const { return connected_; }
  int fd() const { return fd_; }

  // Switches the connection to TLS; false when the handshake fails.
  bool StartTls(SSL_CTX* ctx) {
    ssl_ = SSL_new(ctx);
    SSL_set_fd(ssl_, fd_);
    SSL_set_tlsext_host_name(ssl_, "localhost");
    return SSL_connect(ssl_) == 1;
  }

  // The subject CN of the certificate the server presented; "" without TLS or certificate.
  std::string PeerCommonName() const {
    if (!ssl_) return {};
    X509* cert = SSL_get1_peer_certificate(ssl_);
    if (!cert) return {};
    char cn[256] = {};
    int n = X509_NAME_get_text_by_NID(X509_get_subject_name(cert), NID_commonName, cn, sizeof(cn));
    X509_free(cert);
    return n > 0 ? std::string(cn, static_cast<size_t>(n)) : std::string();
  }

  bool Send(std::string_view data) {
    while (!data.empty()) {
      ssize_t n = ssl_ ? SSL_write(ssl_, data.data(), static_cast<int>(data.size()))
                       : ::send(fd_, data.data(), data.size(), MSG_NOSIGNAL);
      if (n <= 0) {
        if (n < 0 && errno == EINTR) continue;
        return false;
      }
      data.remove_prefix(static_cast<size_t>(n));
    }
    return true;
  }

  // Sends `request` and reads one response; nullopt when either fails.
  std::optional<Reply> Exchange(std::string_view request, bool head_request = false) {
    if (!Send(request)) return std::nullopt;
    return Read(head_request);
  }

  // One response; `head_request` means no body follows whatever the headers say.
  std::optional<Reply> Read(bool head_request = false) {
    size_t end;
    while ((end = pending_.find("\r\n\r\n")) == std::string::npos) {
      if (!Fill()) return std::nullopt;
    }
    Reply r;
    std::string_view head(pending_.data(), end);
    size_t line_end = head.find("\r\n");
    std::string_view status_line = head.substr(0, line_end);
    if (status_line.size() < 12 || !status_line.starts_with("HTTP/1.")) return std::nullopt;
    r.status = std::atoi(std::string(status_line.substr(9, 3)).c_str());
    if (line_end != std::string_view::npos) {
      for (std::string_view line : Split(head.substr(line_end + 2), '\n')) {
        line = Trim(line);
        size_t colon = line.find(':');
        if (colon == std::string_view::npos) continue;
        r.headers.emplace_back(std::string(line.substr(0, colon)),
                               std::string(Trim(line.substr(colon + 1))));
      }
    }
    pending_.erase(0, end + 4);
    if (head_request || r.status < 200 || r.status == 204 || r.status == 304) return r;
    std::string length = r.Header("Content-Length");
    if (length.empty()) {
      // No framing: the body runs to the end of the connection.
      while (Fill()) {
      }
      r.body = std::move(pending_);
      pending_.clear();
      return r;
    }
    size_t n = std::stoull(length);
    while (pending_.size() < n) {
      if (!Fill()) return std::nullopt;
    }
    r.body = pending_.substr(0, n);
    pending_.erase(0, n);
    return r;
  }

  // True when the server closes (EOF or reset) within `timeout`; data before it is dropped.
  bool WaitClosed(std::chrono::milliseconds timeout = std::chrono::milliseconds(3000)) {
    auto deadline = Clock::now() + timeout;
    char buf[65536];
    while (Clock::now() < deadline) {
      pollfd p{fd_, POLLIN, 0};
      int left = static_cast<int>(
          std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count());
      if (poll(&p, 1, std::max(left, 1)) <= 0) continue;
      ssize_t n = recv(fd_, buf, sizeof(buf), 0);
      if (n == 0) return true;
      if (n < 0 && errno != EINTR && errno != EAGAIN) return true;
    }
    return false;
  }

  void Close() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }

  std::string& pending() { return pending_; }

 private:
  bool Fill() {
    char buf[256 * 1024];
    ssize_t n = ssl_ ? SSL_read(ssl_, buf, sizeof(buf)) : recv(fd_, buf, sizeof(buf), 0);
    if (n <= 0) return false;
    pending_.append(buf, static_cast<size_t>(n));
    return true;
  }

  int fd_ = -1;
  SSL* ssl_ = nullptr;
  bool connected_ = false;
  std::string pending_;
};

// Waits for `pred` (checked under `mu`) until a deadline; the way tests synchronise with the
// server.
template <class Pred>
bool WaitFor(std::mutex& mu, std::condition_variable& cv, Pred pred,
             std::chrono::milliseconds timeout = std::chrono::milliseconds(5000)) {
  std::unique_lock lock(mu);
  return cv.wait_for(lock, timeout, pred);
}

// Polls an atomic condition with a deadline where no condition variable is at hand.
template <class Pred>
bool Eventually(Pred pred, std::chrono::milliseconds timeout = std::chrono::milliseconds(5000)) {
  auto deadline = Clock::now() + timeout;
  while (Clock::now() < deadline) {
    if (pred()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  return pred();
}

// Sends `request` over `c`, expects an answer with `status` and then the connection closed by the
// server; returns the answer.
inline std::optional<Reply> ExpectAnswerThenClose(Client& c, std::string_view request, int status) {
  auto r = c.Exchange(request);
  EXPECT_TRUE(r) << request;
  if (!r) return r;
  EXPECT_EQ(r->status, status) << request;
  EXPECT_TRUE(c.WaitClosed()) << request;
  return r;
}

// Sends `request` over `c` and expects EchoHandler's answer ("hello world"); returns the answer.
inline std::optional<Reply> ExpectHello(Client& c, std::string_view request) {
  auto r = c.Exchange(request);
  EXPECT_TRUE(r) << request;
  if (r) {
    EXPECT_EQ(r->body, "hello world") << request;
  }
  return r;
}

// One request on a fresh connection, and its reply.
inline std::optional<Reply> RoundTrip(uint16_t port, std::string_view request) {
  Client c(port);
  return c.Exchange(request);
}

inline ServerOptions TestOptions() {
  ServerOptions o;
  o.host = "127.0.0.1";
  o.port = 0;
  o.threads = 2;
  return o;
}

class TestServer {
 public:
  explicit TestServer(Handler handler, ServerOptions options = TestOptions())
      : server_(std::move(options), std::move(handler)) {
    Status s = server_.Start();
    EXPECT_TRUE(s.has_value()) << (s ? "" : s.error().ToString());
  }
  ~TestServer() { server_.Shutdown(std::chrono::milliseconds(0)); }
  uint16_t port() const { return server_.port(); }
  Server& server() { return server_; }

 private:
  Server server_;
};

inline Response Text(int status, std::string body) {
  Response r;
  r.status = status;
  r.headers.Add("Content-Type", "text/plain");
  r.body = std::move(body);
  return r;
}

// The byte at offset i of a generated body: cheap, position-dependent, not periodic at 2^n.
inline char PatternByte(uint64_t i) { return static_cast<char>((i * 2654435761u) >> 13); }

class PatternSource : public BodySource {
 public:
  explicit PatternSource(uint64_t size, std::atomic<int>* reads = nullptr)
      : size_(size), reads_(reads) {}
  Result<size_t> Read(char* buf, size_t cap) override {
    if (reads_) ++*reads_;
    size_t n = static_cast<size_t>(std::min<uint64_t>(cap, size_ - pos_));
    for (size_t i = 0; i < n; ++i) buf[i] = PatternByte(pos_ + i);
    pos_ += n;
    return n;
  }

 private:
  uint64_t size_;
  uint64_t pos_ = 0;
  std::atomic<int>* reads_;
};

// Whether `s` is the pattern starting at byte `from` of it.
inline bool MatchesPattern(const std::string& s, uint64_t from = 0) {
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] != PatternByte(from + i)) return false;
  }
  return true;
}

// The reply arrived and holds exactly `size` bytes of the pattern, starting at offset `from`.
inline ::testing::AssertionResult CarriesPattern(const std::optional<Reply>& r, uint64_t size,
                                                 uint64_t from = 0) {
  if (!r) return ::testing::AssertionFailure() << "no reply";
  if (r->body.size() != size)
    return ::testing::AssertionFailure() << "body of " << r->body.size() << " bytes, want " << size;
  if (!MatchesPattern(r->body, from)) return ::testing::AssertionFailure() << "body differs";
  return ::testing::AssertionSuccess();
}

// What a RecordingSink saw; shared with the test thread.
struct SinkLog {
  std::mutex mu;
  std::condition_variable cv;
  std::string data;
  int writes = 0;
  int finishes = 0;
  std::optional<Error> finish_error;
  Clock::time_point finished_at;
};

class RecordingSink : public BodySink {
 public:
  RecordingSink(std::shared_ptr<SinkLog> log, std::optional<size_t> fail_after = std::nullopt)
      : log_(std::move(log)), fail_after_(fail_after) {}
  Status Write(const char* data, size_t n) override {
    std::lock_guard lock(log_->mu);
    log_->data.append(data, n);
    ++log_->writes;
    if (fail_after_ && log_->data.size() >= *fail_after_) {
      return MakeError(ErrorCode::kIo, "disk full");
    }
    return Ok();
  }
  Response Finish(const Status& body_status) override {
    std::lock_guard lock(log_->mu);
    ++log_->finishes;
    log_->finished_at = Clock::now();
    if (!body_status) log_->finish_error = body_status.error();
    log_->cv.notify_all();
    if (!body_status) return Text(body_status.error().code == ErrorCode::kIo ? 500 : 400, "failed");
    return Text(201, "stored " + std::to_string(log_->data.size()));
  }

 private:
  std::shared_ptr<SinkLog> log_;
  std::optional<size_t> fail_after_;
};

inline bool WaitFinished(SinkLog& log,
                         std::chrono::milliseconds timeout = std::chrono::milliseconds(5000)) {
  return WaitFor(
      log.mu, log.cv, [&] { return log.finishes > 0; }, timeout);
}

// A handler with the common routes of these tests.
inline Dispatch EchoHandler(Request& req) {
  if (req.path == "/hello") return Dispatch::Respond(Text(200, "hello world"));
  if (req.path == "/echo") {
    return Dispatch::Respond(Text(200, req.method + " " + req.target + " q=" + req.query));
  }
  return Dispatch::Respond(Text(404, "not found"));
}

// A file-backed source for the sendfile path; Read is the fallback and is counted.
class FileSource : public BodySource {
 public:
  FileSource(int fd, std::atomic<int>* reads) : fd_(fd), reads_(reads) {}
  ~FileSource() override { ::close(fd_); }
  Result<size_t> Read(char* buf, size_t cap) override {
    ++*reads_;
    ssize_t n = ::read(fd_, buf, cap);
    if (n < 0) return MakeError(ErrorCode::kIo, "read failed");
    return static_cast<size_t>(n);
  }
  int NativeFd() const override { return fd_; }

 private:
  int fd_;
  std::atomic<int>* reads_;
};

class TempFile {
 public:
  explicit TempFile(uint64_t size) {
    char tmpl[] = "/tmp/berth_http_test_XXXXXX";
    int fd = mkstemp(tmpl);
    path_ = tmpl;
    std::string chunk(1 << 20, '\0');
    for (uint64_t off = 0; off < size; off += chunk.size()) {
      size_t n = static_cast<size_t>(std::min<uint64_t>(chunk.size(), size - off));
      for (size_t i = 0; i < n; ++i) chunk[i] = PatternByte(off + i);
      EXPECT_EQ(::write(fd, chunk.data(), n), static_cast<ssize_t>(n));
    }
    ::close(fd);
  }
  ~TempFile() { std::filesystem::remove(path_); }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

// Answers every request with `length` bytes of the file from `offset` (the source is positioned
// there, as a range would be), counting the source's Read calls.
inline Handler ServeFile(const TempFile& file, uint64_t length, std::atomic<int>* reads,
                         uint64_t offset = 0) {
  return [&file, length, reads, offset](Request&) {
    Response r;
    r.content_length = length;
    int fd = ::open(file.path().c_str(), O_RDONLY);
    ::lseek(fd, static_cast<off_t>(offset), SEEK_SET);
    r.stream = std::make_unique<FileSource>(fd, reads);
    return Dispatch::Respond(std::move(r));
  };
}

inline Dispatch BufferingHandler(Request& req) {
  return Dispatch::BufferBody(
      1000,
      [](Request& r) {
        return Text(201, "got " + std::to_string(r.body.size()) + ":" + r.body.substr(0, 20));
      },
      Text(413, "too large"));
}

}  // namespace berth::http
