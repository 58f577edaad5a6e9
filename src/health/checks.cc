#include "health/checks.h"

#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <utility>

#include "common/strings.h"
#include "storage/driver/driver.h"

namespace berth::health {
namespace {

using Clock = std::chrono::steady_clock;

std::unexpected<Error> Failed(std::string message) {
  return MakeError(ErrorCode::kUnavailable, std::move(message));
}

int RemainingMs(Clock::time_point deadline) {
  auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
  return left.count() > 0 ? static_cast<int>(left.count()) : 0;
}

// Splits "host:port" / "[v6]:port".
bool SplitAddr(const std::string& addr, std::string& host, std::string& port) {
  auto colon = addr.rfind(':');
  if (colon == std::string::npos || colon + 1 == addr.size()) return false;
  host = addr.substr(0, colon);
  port = addr.substr(colon + 1);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
  return !host.empty();
}

class Fd {
 public:
  explicit Fd(int fd = -1) : fd_(fd) {}
  ~Fd() {
    if (fd_ >= 0) ::close(fd_);
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  int get() const { return fd_; }
  int release() { return std::exchange(fd_, -1); }

 private:
  int fd_;
};

// A connected non-blocking socket to host:port before `deadline`. Name resolution blocks (it runs
// on a job thread).
Result<int> Connect(const std::string& addr, Clock::time_point deadline) {
  std::string host, port;
  if (!SplitAddr(addr, host, port)) return Failed("bad address " + addr);
  addrinfo hints{};
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* res = nullptr;
  if (int rc = ::getaddrinfo(host.c_str(), port.c_str(), &hints, &res); rc != 0) {
    return Failed("cannot resolve " + addr + ": " + ::gai_strerror(rc));
  }
  std::string last = "no addresses";
  int connected = -1;
  for (addrinfo* ai = res; ai != nullptr && connected < 0; ai = ai->ai_next) {
    Fd fd(::socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, ai->ai_protocol));
    if (fd.get() < 0) {
      last = std::strerror(errno);
      continue;
    }
    if (::connect(fd.get(), ai->ai_addr, ai->ai_addrlen) != 0 && errno != EINPROGRESS) {
      last = std::strerror(errno);
      continue;
    }
    pollfd p{fd.get(), POLLOUT, 0};
    int n = ::poll(&p, 1, RemainingMs(deadline));
    if (n == 0) {
      last = "timed out";
      continue;
    }
    int err = 0;
    socklen_t len = sizeof(err);
    if (n < 0 || ::getsockopt(fd.get(), SOL_SOCKET, SO_ERROR, &err, &len) != 0 || err != 0) {
      last = std::strerror(err != 0 ? err : errno);
      continue;
    }
    connected = fd.release();
  }
  ::freeaddrinfo(res);
  if (connected < 0) return Failed("cannot connect to " + addr + ": " + last);
  return connected;
}

}  // namespace

CheckFn StorageCheck(std::shared_ptr<storage::driver::StorageDriver> driver, std::string root,
                     bool read_only) {
  return [driver = std::move(driver), root = std::move(root), read_only]() -> Status {
    if (!root.empty()) {
      struct stat st {};
      if (::stat(root.c_str(), &st) != 0) {
        return Failed("storage root " + root + ": " + std::strerror(errno));
      }
      if (!S_ISDIR(st.st_mode)) return Failed("storage root " + root + " is not a directory");
    }
    if (read_only) {
      auto listed = driver->List("/");
      if (!listed && !(root.empty() && listed.error().Is(ErrorCode::kNotFound))) {
        return Failed("storage: " + listed.error().message);
      }
      return Ok();
    }
    const std::string probe = "/berth-health-" + RandomHex(8);
    if (auto st = driver->PutContent(probe, "ok"); !st) {
      return Failed("storage is not writable: " + st.error().message);
    }
    auto back = driver->GetContent(probe);
    (void)driver->Delete(probe);
    if (!back) return Failed("storage: cannot read back a probe: " + back.error().message);
    if (*back != "ok") return Failed("storage: a probe read back different bytes");
    return Ok();
  };
}

CheckFn FileCheck(std::string path) {
  return [path = std::move(path)]() -> Status {
    struct stat st {};
    if (::stat(path.c_str(), &st) == 0) return Failed("file exists: " + path);
    return Ok();
  };
}

CheckFn TcpCheck(std::string addr, std::chrono::milliseconds timeout) {
  return [addr = std::move(addr), timeout]() -> Status {
    BERTH_ASSIGN_OR_RETURN(int fd, Connect(addr, Clock::now() + timeout));
    ::close(fd);
    return Ok();
  };
}

CheckFn HttpCheck(HttpCheckConfig c) {
  return [c = std::move(c)]() -> Status {
    // http://authority/path (the config accepts only http://).
    std::string rest = c.uri.substr(std::string_view("http://").size());
    auto slash = rest.find_first_of("/?");
    std::string authority = rest.substr(0, slash);
    std::string target = slash == std::string::npos ? "/" : rest.substr(slash);
    if (target.front() == '?') target.insert(0, "/");
    if (auto at = authority.rfind('@'); at != std::string::npos) authority.erase(0, at + 1);
    std::string hostport = authority;
    bool has_port =
        !authority.empty() && authority.back() != ']' && authority.rfind(':') != std::string::npos;
    if (!has_port) hostport += ":80";
    const auto deadline = Clock::now() + c.timing.timeout;
    BERTH_ASSIGN_OR_RETURN(int raw, Connect(hostport, deadline));
    Fd fd(raw);
    std::string req = "HEAD " + target + " HTTP/1.1\r\nHost: " + authority +
                      "\r\nUser-Agent: berth-health\r\nConnection: close\r\n";
    for (const auto& [name, value] : c.headers) req += name + ": " + value + "\r\n";
    req += "\r\n";
    size_t off = 0;
    while (off < req.size()) {
      pollfd p{fd.get(), POLLOUT, 0};
      if (::poll(&p, 1, RemainingMs(deadline)) <= 0) return Failed(c.uri + ": timed out");
      ssize_t n = ::send(fd.get(), req.data() + off, req.size() - off, MSG_NOSIGNAL);
      if (n < 0 && errno != EAGAIN && errno != EINTR) {
        return Failed(c.uri + ": " + std::strerror(errno));
      }
      if (n > 0) off += static_cast<size_t>(n);
    }
    // Only the status line matters: "HTTP/1.x NNN ...".
    std::string head;
    while (head.find("\r\n") == std::string::npos && head.size() < 1024) {
      pollfd p{fd.get(), POLLIN, 0};
      if (::poll(&p, 1, RemainingMs(deadline)) <= 0) return Failed(c.uri + ": timed out");
      char buf[512];
      ssize_t n = ::recv(fd.get(), buf, sizeof(buf), 0);
      if (n == 0) break;
      if (n < 0) {
        if (errno == EAGAIN || errno == EINTR) continue;
        return Failed(c.uri + ": " + std::strerror(errno));
      }
      head.append(buf, static_cast<size_t>(n));
    }
    if (head.size() < 12 || !head.starts_with("HTTP/1.")) {
      return Failed(c.uri + ": not an HTTP response");
    }
    auto code = ParseUint64(std::string_view(head).substr(9, 3));
    if (!code) return Failed(c.uri + ": not an HTTP response");
    if (static_cast<int>(*code) != c.statuscode) {
      return Failed(c.uri + ": status " + std::to_string(*code) + ", want " +
                    std::to_string(c.statuscode));
    }
    return Ok();
  };
}

}  // namespace berth::health
