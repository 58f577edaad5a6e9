// berth_loadgen: the keep-alive HTTP/1.1 load generator and seeding tool of the benchmark suite.
//
// Talks to a registry (or nginx) on 127.0.0.1 only, over plain POSIX sockets: an epoll loop for the
// many-connection request/second figures, one blocking connection per thread for the rest. Every
// mode is bounded in request count and in time, and prints one JSON object on stdout.
//
//   head       --path P [--method HEAD|GET] [--conns 64] [--duration 5] [--header "K: V"]...
//              requests/s and latency percentiles (wrk cannot finish a HEAD reply with
//              Content-Length)
//   get        --path P [--clients 1] [--repeat 1] [--duration 60]
//              each client GETs the whole body `repeat` times and discards it: GB/s (1 GB = 1e9
//              bytes)
//   push-small --repo R [--count 2000] [--parallel 16] [--size 4096] [--seed S] [--header "K: V"]...
//              distinct blobs, POST + PUT ?digest= each, keep-alive: operations/s
//   push-big   --repo R --size B [--chunk C] [--seed S]
//              monolithic (POST, PUT ?digest= with the body) or chunked (POST, PATCH with
//              Content-Range per chunk, PUT ?digest=): GB/s
//   put-raw    --path P --size B [--seed S]
//              one plain PUT of the body (the nginx WebDAV ceiling for push-big): GB/s
//   idle       --path P --conns 1000 --pid SERVER_PID [--duration 5]
//              opens `conns` keep-alive connections, one GET each, holds them idle for `duration`,
//              then one more GET each to show they all survived: the server's VmRSS and open
//              descriptors before, while held, and after they close
//   gen-file   --size B [--seed S] --out FILE      the same deterministic bytes push-big sends
//   seed-tags  --repo R [--tags 1000] [--parallel 8] [--manifest-out FILE]
//              config + layer + one ~1 KiB OCI manifest, tagged t0000..t0999 and "latest"
//   seed-repos --prefix P [--count 1000] [--parallel 8]
//              P/r0000..: each gets the config and layer (cross-repository mount, else upload) and
//              a manifest tagged "v1"
//
// Bodies are generated deterministically from --seed (SplitMix64) and hashed before the clock
// starts, so the load generator's own core never has to hash while it sends.

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/evp.h>
#include <dirent.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

namespace {

using Clock = std::chrono::steady_clock;

double Seconds(Clock::time_point a, Clock::time_point b) {
  return std::chrono::duration<double>(b - a).count();
}

[[noreturn]] void Die(const std::string& msg) {
  std::fprintf(stderr, "berth_loadgen: %s\n", msg.c_str());
  std::exit(2);
}

// ---- options
// -------------------------------------------------------------------------------------

struct Options {
  std::string mode;
  int port = 0;
  std::string path, method = "HEAD", repo, prefix, out, manifest_out;
  std::vector<std::string> headers;
  int conns = 64, clients = 1, parallel = 16, repeat = 1, count = 2000, tags = 1000;
  double duration = 5;
  uint64_t size = 4096, chunk = 0, seed = 1;
  int pid = 0;
};

Options ParseArgs(int argc, char** argv) {
  if (argc < 2)
    Die("usage: berth_loadgen MODE --port P [options] (see the header of bench/loadgen.cc)");
  Options o;
  o.mode = argv[1];
  for (int i = 2; i < argc; ++i) {
    std::string k = argv[i];
    if (i + 1 >= argc) Die("missing value for " + k);
    std::string v = argv[++i];
    auto num = [&] { return std::strtoull(v.c_str(), nullptr, 10); };
    if (k == "--port")
      o.port = static_cast<int>(num());
    else if (k == "--path")
      o.path = v;
    else if (k == "--method")
      o.method = v;
    else if (k == "--header")
      o.headers.push_back(v);
    else if (k == "--repo")
      o.repo = v;
    else if (k == "--prefix")
      o.prefix = v;
    else if (k == "--out")
      o.out = v;
    else if (k == "--manifest-out")
      o.manifest_out = v;
    else if (k == "--conns")
      o.conns = static_cast<int>(num());
    else if (k == "--clients")
      o.clients = static_cast<int>(num());
    else if (k == "--parallel")
      o.parallel = static_cast<int>(num());
    else if (k == "--repeat")
      o.repeat = static_cast<int>(num());
    else if (k == "--count")
      o.count = static_cast<int>(num());
    else if (k == "--tags")
      o.tags = static_cast<int>(num());
    else if (k == "--duration")
      o.duration = std::strtod(v.c_str(), nullptr);
    else if (k == "--size")
      o.size = num();
    else if (k == "--chunk")
      o.chunk = num();
    else if (k == "--seed")
      o.seed = num();
    else if (k == "--pid")
      o.pid = static_cast<int>(num());
    else
      Die("unknown option " + k);
  }
  if (o.mode != "gen-file" && (o.port <= 0 || o.port > 65535)) Die("--port is required");
  o.conns = std::clamp(o.conns, 1, 4096);
  o.clients = std::clamp(o.clients, 1, 256);
  o.parallel = std::clamp(o.parallel, 1, 256);
  o.duration = std::clamp(o.duration, 0.1, 600.0);
  return o;
}

// ---- deterministic content and hashing
// -----------------------------------------------------------

uint64_t SplitMix(uint64_t x) {
  x += 0x9E3779B97F4A7C15ULL;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ULL;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBULL;
  return x ^ (x >> 31);
}

// Byte `offset` onward of the stream for `seed`; offset must be a multiple of 8.
void Fill(uint64_t seed, uint64_t offset, char* out, size_t n) {
  uint64_t base = SplitMix(seed) ^ 0x5bd1e995ULL;
  size_t words = n / 8;
  uint64_t w0 = offset / 8;
  for (size_t i = 0; i < words; ++i) {
    uint64_t v = SplitMix(base + w0 + i);
    std::memcpy(out + i * 8, &v, 8);
  }
  if (n % 8) {
    uint64_t v = SplitMix(base + w0 + words);
    std::memcpy(out + words * 8, &v, n % 8);
  }
}

class Sha256 {
 public:
  Sha256() : ctx_(EVP_MD_CTX_new()) { EVP_DigestInit_ex(ctx_, EVP_sha256(), nullptr); }
  ~Sha256() { EVP_MD_CTX_free(ctx_); }
  Sha256(const Sha256&) = delete;
  Sha256& operator=(const Sha256&) = delete;
  void Update(const void* p, size_t n) { EVP_DigestUpdate(ctx_, p, n); }
  std::string Final() {
    unsigned char md[32];
    unsigned int len = 0;
    EVP_DigestFinal_ex(ctx_, md, &len);
    static const char* hex = "0123456789abcdef";
    std::string s = "sha256:";
    for (unsigned i = 0; i < len; ++i) {
      s += hex[md[i] >> 4];
      s += hex[md[i] & 15];
    }
    return s;
  }

 private:
  EVP_MD_CTX* ctx_;
};

std::string DigestOf(std::string_view data) {
  Sha256 h;
  h.Update(data.data(), data.size());
  return h.Final();
}

// ---- a blocking HTTP/1.1 keep-alive client ------------------------------------------------------

std::string Lower(std::string_view s) {
  std::string r(s);
  for (char& c : r) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return r;
}

int ConnectLoopback(int port) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  int one = 1;
  ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<uint16_t>(port));
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);  // only ever 127.0.0.1
  if (::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
    ::close(fd);
    return -1;
  }
  return fd;
}

struct Response {
  int status = 0;
  std::map<std::string, std::string> headers;  // lower-case names
  std::string body;                            // kept only when asked
  uint64_t body_bytes = 0;
  bool close = false;
  std::string Header(const std::string& name) const {
    auto it = headers.find(name);
    return it == headers.end() ? "" : it->second;
  }
};

class Conn {
 public:
  explicit Conn(int port) : port_(port), rbuf_(1 << 20) {}
  ~Conn() { Close(); }
  Conn(const Conn&) = delete;
  Conn& operator=(const Conn&) = delete;

  void Close() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
    rpos_ = rend_ = 0;
  }

  // One request; the body comes from `body` or, when `body_src` is set, from that memory. Retries
  // once on a fresh connection when a reused one turns out to be closed before any reply byte.
  std::optional<Response> Do(const std::string& method, const std::string& target,
                             const std::vector<std::string>& headers, std::string_view body,
                             bool keep_body = true) {
    for (int attempt = 0; attempt < 2; ++attempt) {
      bool reused = fd_ >= 0;
      if (fd_ < 0 && (fd_ = ConnectLoopback(port_)) < 0) return std::nullopt;
      std::string head = method + " " + target + " HTTP/1.1\r\nHost: 127.0.0.1\r\n";
      for (const auto& h : headers) head += h + "\r\n";
      if (method == "POST" || method == "PUT" || method == "PATCH" || !body.empty()) {
        head += "Content-Length: " + std::to_string(body.size()) + "\r\n";
      }
      head += "\r\n";
      bool sent;
      if (body.size() <= 64 * 1024) {
        head.append(body);
        sent = SendAll(head.data(), head.size());
      } else {
        sent = SendAll(head.data(), head.size()) && SendAll(body.data(), body.size());
      }
      got_byte_ = false;
      std::optional<Response> r;
      if (sent) r = Read(method == "HEAD", keep_body);
      if (r) {
        if (r->close) Close();
        return r;
      }
      bool retry = reused && !got_byte_;
      Close();
      if (!retry) return std::nullopt;
    }
    return std::nullopt;
  }

 private:
  bool SendAll(const char* p, size_t n) {
    while (n > 0) {
      ssize_t w = ::send(fd_, p, n, MSG_NOSIGNAL);
      if (w < 0 && errno == EINTR) continue;
      if (w <= 0) return false;
      p += w;
      n -= static_cast<size_t>(w);
    }
    return true;
  }

  bool Fill() {
    if (rpos_ == rend_) rpos_ = rend_ = 0;
    if (rend_ == rbuf_.size()) {
      if (rpos_ == 0) return false;  // a header larger than the buffer
      std::memmove(rbuf_.data(), rbuf_.data() + rpos_, rend_ - rpos_);
      rend_ -= rpos_;
      rpos_ = 0;
    }
    for (;;) {
      ssize_t r = ::recv(fd_, rbuf_.data() + rend_, rbuf_.size() - rend_, 0);
      if (r < 0 && errno == EINTR) continue;
      if (r <= 0) return false;
      got_byte_ = true;
      rend_ += static_cast<size_t>(r);
      return true;
    }
  }

  bool ReadLine(std::string& line) {
    for (;;) {
      std::string_view avail(rbuf_.data() + rpos_, rend_ - rpos_);
      size_t eol = avail.find("\r\n");
      if (eol != std::string_view::npos) {
        line.assign(avail.substr(0, eol));
        rpos_ += eol + 2;
        return true;
      }
      if (!Fill()) return false;
    }
  }

  // Consumes exactly n body bytes, keeping them when asked.
  bool Body(uint64_t n, Response& r, bool keep) {
    while (n > 0) {
      if (rpos_ == rend_ && !Fill()) return false;
      size_t take = static_cast<size_t>(std::min<uint64_t>(n, rend_ - rpos_));
      if (keep) r.body.append(rbuf_.data() + rpos_, take);
      r.body_bytes += take;
      rpos_ += take;
      n -= take;
    }
    return true;
  }

  std::optional<Response> Read(bool head_request, bool keep_body) {
    Response r;
    std::string line;
    do {  // skip 100 Continue and other interim replies
      r.headers.clear();
      if (!ReadLine(line) || line.size() < 12 || line.compare(0, 5, "HTTP/") != 0)
        return std::nullopt;
      r.status = std::atoi(line.c_str() + 9);
      for (;;) {
        if (!ReadLine(line)) return std::nullopt;
        if (line.empty()) break;
        size_t colon = line.find(':');
        if (colon == std::string::npos) continue;
        std::string v = line.substr(colon + 1);
        size_t b = v.find_first_not_of(" \t");
        v = b == std::string::npos ? "" : v.substr(b);
        r.headers[Lower(line.substr(0, colon))] = v;
      }
    } while (r.status >= 100 && r.status < 200);
    r.close = Lower(r.Header("connection")) == "close";
    if (head_request || r.status == 204 || r.status == 304) return r;
    if (Lower(r.Header("transfer-encoding")).find("chunked") != std::string::npos) {
      for (;;) {
        if (!ReadLine(line)) return std::nullopt;
        uint64_t n = std::strtoull(line.c_str(), nullptr, 16);
        if (n == 0) {
          while (ReadLine(line) && !line.empty()) {
          }
          return r;
        }
        if (!Body(n, r, keep_body) || !ReadLine(line)) return std::nullopt;
      }
    }
    std::string cl = r.Header("content-length");
    if (!cl.empty()) {
      if (!Body(std::strtoull(cl.c_str(), nullptr, 10), r, keep_body)) return std::nullopt;
      return r;
    }
    // No length: the body runs to the end of the connection.
    while (Fill()) Body(rend_ - rpos_, r, keep_body);
    r.close = true;
    return r;
  }

  int port_;
  int fd_ = -1;
  std::vector<char> rbuf_;
  size_t rpos_ = 0, rend_ = 0;
  bool got_byte_ = false;
};

// The path (and query) of a Location header, which may be absolute.
std::string LocationTarget(const std::string& loc) {
  if (loc.rfind("http://", 0) == 0 || loc.rfind("https://", 0) == 0) {
    size_t slash = loc.find('/', loc.find("//") + 2);
    return slash == std::string::npos ? "/" : loc.substr(slash);
  }
  return loc;
}

std::string WithQuery(const std::string& target, const std::string& kv) {
  return target + (target.find('?') == std::string::npos ? "?" : "&") + kv;
}

// Uploads a blob monolithically (POST, then PUT ?digest= with the body). Returns an error text.
// `extra` headers (e.g. Authorization) go on both requests.
std::string UploadBlob(Conn& c, const std::string& repo, std::string_view data,
                       const std::string& digest, const std::vector<std::string>& extra = {}) {
  auto r = c.Do("POST", "/v2/" + repo + "/blobs/uploads/", extra, "");
  if (!r || r->status != 202) return "POST upload: status " + std::to_string(r ? r->status : 0);
  std::string loc = LocationTarget(r->Header("location"));
  if (loc.empty()) return "POST upload: no Location";
  std::vector<std::string> put_headers = extra;
  put_headers.push_back("Content-Type: application/octet-stream");
  r = c.Do("PUT", WithQuery(loc, "digest=" + digest), put_headers, data);
  if (!r || r->status != 201) return "PUT blob: status " + std::to_string(r ? r->status : 0);
  return "";
}

// Cross-repository mount, falling back to an upload.
std::string MountOrUpload(Conn& c, const std::string& repo, const std::string& from,
                          std::string_view data, const std::string& digest) {
  auto r =
      c.Do("POST", "/v2/" + repo + "/blobs/uploads/?mount=" + digest + "&from=" + from, {}, "");
  if (r && r->status == 201) return "";
  if (r && r->status == 202) {  // mount refused: a session was opened instead; finish it
    std::string loc = LocationTarget(r->Header("location"));
    r = c.Do("PUT", WithQuery(loc, "digest=" + digest), {"Content-Type: application/octet-stream"},
             data);
    if (r && r->status == 201) return "";
  }
  return UploadBlob(c, repo, data, digest);
}

void PrintJson(const std::map<std::string, std::string>& kv) {
  std::string s = "{";
  for (const auto& [k, v] : kv) s += (s.size() > 1 ? "," : "") + ("\"" + k + "\":" + v);
  std::printf("%s}\n", s.c_str());
  std::fflush(stdout);
}
std::string Num(double v) {
  char b[64];
  std::snprintf(b, sizeof b, "%.6g", v);
  return b;
}
std::string Str(const std::string& v) {
  std::string s = "\"";
  for (char ch : v) {
    if (ch == '"' || ch == '\\') s += '\\';
    if (static_cast<unsigned char>(ch) < 0x20) ch = ' ';
    s += ch;
  }
  return s + "\"";
}

// ---- head: epoll, N keep-alive connections, one request in flight each --------------------------

struct EConn {
  int fd = -1;
  std::string in;
  Clock::time_point sent;
};

int RunHead(const Options& o) {
  if (o.path.empty()) Die("--path is required");
  const bool head = o.method == "HEAD";
  std::string req = o.method + " " + o.path + " HTTP/1.1\r\nHost: 127.0.0.1\r\n";
  for (const auto& h : o.headers) req += h + "\r\n";
  req += "\r\n";

  int ep = ::epoll_create1(EPOLL_CLOEXEC);
  std::vector<EConn> conns(static_cast<size_t>(o.conns));
  std::vector<float> lat_us;
  lat_us.reserve(1 << 20);
  uint64_t errors = 0, non2xx = 0, reconnects = 0;
  const auto start = Clock::now();
  const auto deadline = start + std::chrono::duration_cast<Clock::duration>(
                                    std::chrono::duration<double>(o.duration));
  const size_t kMaxSamples = 50'000'000;

  auto open = [&](size_t i) -> bool {
    EConn& c = conns[i];
    if (c.fd >= 0) {
      ::epoll_ctl(ep, EPOLL_CTL_DEL, c.fd, nullptr);
      ::close(c.fd);
    }
    c.fd = ConnectLoopback(o.port);
    c.in.clear();
    if (c.fd < 0) return false;
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.u64 = i;
    ::epoll_ctl(ep, EPOLL_CTL_ADD, c.fd, &ev);
    return true;
  };
  auto send_req = [&](size_t i) -> bool {
    EConn& c = conns[i];
    c.sent = Clock::now();
    return ::send(c.fd, req.data(), req.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(req.size());
  };

  for (size_t i = 0; i < conns.size(); ++i) {
    if (!open(i) || !send_req(i)) Die("cannot connect to 127.0.0.1:" + std::to_string(o.port));
  }
  size_t active = conns.size();
  std::vector<epoll_event> evs(256);
  char buf[65536];
  while (active > 0) {
    auto now = Clock::now();
    // Past the deadline, wait at most 2 s for the replies in flight, then stop.
    if (now > deadline + std::chrono::seconds(2)) break;
    int n = ::epoll_wait(ep, evs.data(), static_cast<int>(evs.size()), 100);
    for (int k = 0; k < n; ++k) {
      size_t i = evs[k].data.u64;
      EConn& c = conns[i];
      if (c.fd < 0) continue;
      ssize_t r = ::recv(c.fd, buf, sizeof buf, 0);
      if (r <= 0) {  // closed by the server: reopen and resend
        ++reconnects;
        if (Clock::now() < deadline && open(i) && send_req(i)) continue;
        ::epoll_ctl(ep, EPOLL_CTL_DEL, c.fd, nullptr);
        ::close(c.fd);
        c.fd = -1;
        --active;
        ++errors;
        continue;
      }
      c.in.append(buf, static_cast<size_t>(r));
      for (;;) {
        size_t hend = c.in.find("\r\n\r\n");
        if (hend == std::string::npos) break;
        std::string_view h(c.in.data(), hend);
        int status = h.size() > 12 ? std::atoi(c.in.c_str() + 9) : 0;
        uint64_t body = 0;
        bool close_after = false;
        std::string lower = Lower(h);
        size_t p = lower.find("\r\ncontent-length:");
        if (p != std::string::npos && !head)
          body = std::strtoull(lower.c_str() + p + 17, nullptr, 10);
        if (lower.find("\r\nconnection: close") != std::string::npos) close_after = true;
        if (c.in.size() < hend + 4 + body) break;
        c.in.erase(0, hend + 4 + body);
        auto done = Clock::now();
        if (lat_us.size() < kMaxSamples) {
          lat_us.push_back(std::chrono::duration<float, std::micro>(done - c.sent).count());
        }
        if (status < 200 || status >= 400) ++non2xx;
        if (done >= deadline) {
          ::epoll_ctl(ep, EPOLL_CTL_DEL, c.fd, nullptr);
          ::close(c.fd);
          c.fd = -1;
          --active;
          break;
        }
        if (close_after) {
          ++reconnects;
          if (!open(i)) {
            ++errors;
            c.fd = -1;
            --active;
            break;
          }
        }
        if (!send_req(i)) ++errors;
        break;  // one request in flight per connection
      }
    }
  }
  double secs = Seconds(start, Clock::now());
  for (auto& c : conns) {
    if (c.fd >= 0) ::close(c.fd);
  }
  ::close(ep);
  std::sort(lat_us.begin(), lat_us.end());
  auto pct = [&](double q) {
    if (lat_us.empty()) return 0.0;
    size_t idx = std::min(lat_us.size() - 1, static_cast<size_t>(q * (lat_us.size() - 1) + 0.5));
    return lat_us[idx] / 1000.0;
  };
  double measured = std::min(secs, o.duration);
  PrintJson({{"mode", Str("head")},
             {"method", Str(o.method)},
             {"requests", std::to_string(lat_us.size())},
             {"non2xx", std::to_string(non2xx)},
             {"errors", std::to_string(errors)},
             {"reconnects", std::to_string(reconnects)},
             {"seconds", Num(measured)},
             {"rps", Num(lat_us.size() / measured)},
             {"p50_ms", Num(pct(0.50))},
             {"p90_ms", Num(pct(0.90))},
             {"p99_ms", Num(pct(0.99))},
             {"max_ms", Num(pct(1.0))}});
  return (errors == 0 && non2xx == 0 && !lat_us.empty()) ? 0 : 1;
}

// ---- get: whole bodies, discarded ---------------------------------------------------------------

int RunGet(const Options& o) {
  if (o.path.empty()) Die("--path is required");
  std::atomic<uint64_t> bytes{0}, errors{0}, requests{0};
  const auto start = Clock::now();
  const auto deadline = start + std::chrono::duration_cast<Clock::duration>(
                                    std::chrono::duration<double>(o.duration));
  std::vector<std::thread> threads;
  for (int t = 0; t < o.clients; ++t) {
    threads.emplace_back([&] {
      Conn c(o.port);
      for (int i = 0; i < o.repeat && Clock::now() < deadline; ++i) {
        auto r = c.Do("GET", o.path, o.headers, "", /*keep_body=*/false);
        if (!r || r->status != 200) {
          ++errors;
          return;
        }
        bytes += r->body_bytes;
        ++requests;
      }
    });
  }
  for (auto& t : threads) t.join();
  double secs = Seconds(start, Clock::now());
  PrintJson({{"mode", Str("get")},
             {"clients", std::to_string(o.clients)},
             {"requests", std::to_string(requests.load())},
             {"errors", std::to_string(errors.load())},
             {"bytes", std::to_string(bytes.load())},
             {"seconds", Num(secs)},
             {"gbps", Num(bytes.load() / secs / 1e9)}});
  return errors == 0 ? 0 : 1;
}

// ---- idle ----------------------------------------------------------------------------------------

// VmRSS of a process in KiB, from /proc (0 if unreadable).
uint64_t RssKib(int pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("VmRSS:", 0) == 0) return std::strtoull(line.c_str() + 6, nullptr, 10);
  }
  return 0;
}

int OpenFds(int pid) {
  DIR* d = ::opendir(("/proc/" + std::to_string(pid) + "/fd").c_str());
  if (!d) return -1;
  int n = 0;
  while (dirent* e = ::readdir(d)) n += e->d_name[0] != '.';
  ::closedir(d);
  return n;
}

// One small GET on a raw socket (no per-connection read buffer: there are thousands of them):
// true when a complete 200 response arrived.
bool SmallGet(int fd, const std::string& request) {
  if (::send(fd, request.data(), request.size(), MSG_NOSIGNAL) != static_cast<ssize_t>(request.size()))
    return false;
  std::string got;
  char buf[4096];
  for (;;) {
    size_t end = got.find("\r\n\r\n");
    if (end != std::string::npos) {
      if (got.compare(0, 12, "HTTP/1.1 200") != 0) return false;
      uint64_t length = 0;
      std::string head = Lower(std::string_view(got).substr(0, end));
      if (size_t p = head.find("\r\ncontent-length:"); p != std::string::npos)
        length = std::strtoull(head.c_str() + p + 17, nullptr, 10);
      if (got.size() >= end + 4 + length) return true;
    }
    ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    if (n <= 0) return false;
    got.append(buf, static_cast<size_t>(n));
  }
}

int RunIdle(const Options& o) {
  if (o.path.empty() || o.pid <= 0) Die("--path and --pid are required");
  struct rlimit rl{};
  if (::getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
    rl.rlim_cur = rl.rlim_max;
    ::setrlimit(RLIMIT_NOFILE, &rl);
  }
  const std::string request = "GET " + o.path + " HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n";
  const uint64_t rss_before = RssKib(o.pid);
  const int fds_before = OpenFds(o.pid);
  std::vector<int> fds;
  int errors = 0, survived = 0;
  const auto start = Clock::now();
  for (int i = 0; i < o.conns; ++i) {
    int fd = ConnectLoopback(o.port);
    if (fd < 0) {
      ++errors;
      continue;
    }
    timeval tv{10, 0};
    ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    if (!SmallGet(fd, request)) ++errors;
    fds.push_back(fd);
  }
  const double open_secs = Seconds(start, Clock::now());
  std::this_thread::sleep_for(std::chrono::duration<double>(o.duration));
  const uint64_t rss_held = RssKib(o.pid);
  const int fds_held = OpenFds(o.pid);
  for (int fd : fds) survived += SmallGet(fd, request);
  for (int fd : fds) ::close(fd);
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  const uint64_t rss_after = RssKib(o.pid);
  const int fds_after = OpenFds(o.pid);
  const double per_conn =
      fds.empty() ? 0 : (static_cast<double>(rss_held) - static_cast<double>(rss_before)) * 1024 / fds.size();
  PrintJson({{"mode", Str("idle")},
             {"conns", std::to_string(fds.size())},
             {"errors", std::to_string(errors)},
             {"survived", std::to_string(survived)},
             {"open_seconds", Num(open_secs)},
             {"rss_before_kib", std::to_string(rss_before)},
             {"rss_held_kib", std::to_string(rss_held)},
             {"rss_after_kib", std::to_string(rss_after)},
             {"rss_bytes_per_conn", Num(per_conn)},
             {"fds_before", std::to_string(fds_before)},
             {"fds_held", std::to_string(fds_held)},
             {"fds_after", std::to_string(fds_after)}});
  return errors == 0 && survived == static_cast<int>(fds.size()) ? 0 : 1;
}

// ---- push-small ---------------------------------------------------------------------------------

int RunPushSmall(const Options& o) {
  if (o.repo.empty()) Die("--repo is required");
  const size_t n = static_cast<size_t>(std::clamp(o.count, 1, 1'000'000));
  const size_t sz = static_cast<size_t>(std::clamp<uint64_t>(o.size, 1, 1 << 20));
  std::vector<std::string> blobs(n), digests(n);
  for (size_t i = 0; i < n; ++i) {
    blobs[i].resize(sz);
    Fill(SplitMix(o.seed * 1'000'003 + i), 0, blobs[i].data(), sz);
    digests[i] = DigestOf(blobs[i]);
  }
  std::atomic<size_t> next{0};
  std::atomic<uint64_t> ok{0}, errors{0};
  std::mutex mu;
  std::string first_error;
  const auto start = Clock::now();
  const auto deadline = start + std::chrono::duration_cast<Clock::duration>(
                                    std::chrono::duration<double>(std::max(o.duration, 60.0)));
  std::vector<std::thread> threads;
  for (int t = 0; t < o.parallel; ++t) {
    threads.emplace_back([&] {
      Conn c(o.port);
      for (size_t i; (i = next++) < n && Clock::now() < deadline;) {
        std::string err = UploadBlob(c, o.repo, blobs[i], digests[i], o.headers);
        if (err.empty()) {
          ++ok;
        } else {
          ++errors;
          std::lock_guard<std::mutex> l(mu);
          if (first_error.empty()) first_error = err;
        }
      }
    });
  }
  for (auto& t : threads) t.join();
  double secs = Seconds(start, Clock::now());
  PrintJson({{"mode", Str("push-small")},
             {"ok", std::to_string(ok.load())},
             {"errors", std::to_string(errors.load())},
             {"first_error", Str(first_error)},
             {"seconds", Num(secs)},
             {"ops", Num(ok.load() / secs)}});
  return errors == 0 ? 0 : 1;
}

// ---- push-big -----------------------------------------------------------------------------------

int RunPushBig(const Options& o) {
  if (o.repo.empty()) Die("--repo is required");
  if (o.size == 0 || o.size > (8ULL << 30)) Die("--size must be in (0, 8 GiB]");
  // Generate and hash before the clock starts (untimed), so the client core only sends.
  std::string data(o.size, '\0');
  Fill(o.seed, 0, data.data(), data.size());
  const std::string digest = DigestOf(data);

  Conn c(o.port);
  std::string err;
  const auto start = Clock::now();
  auto r = c.Do("POST", "/v2/" + o.repo + "/blobs/uploads/", {}, "");
  if (!r || r->status != 202) {
    err = "POST: status " + std::to_string(r ? r->status : 0);
  } else if (o.chunk == 0) {
    std::string loc = LocationTarget(r->Header("location"));
    r = c.Do("PUT", WithQuery(loc, "digest=" + digest), {"Content-Type: application/octet-stream"},
             data);
    if (!r || r->status != 201) err = "PUT: status " + std::to_string(r ? r->status : 0);
  } else {
    std::string loc = LocationTarget(r->Header("location"));
    for (uint64_t off = 0; off < o.size && err.empty(); off += o.chunk) {
      uint64_t len = std::min<uint64_t>(o.chunk, o.size - off);
      std::string range =
          "Content-Range: " + std::to_string(off) + "-" + std::to_string(off + len - 1);
      r = c.Do("PATCH", loc, {"Content-Type: application/octet-stream", range},
               std::string_view(data).substr(off, len));
      if (!r || r->status != 202) {
        err = "PATCH at " + std::to_string(off) + ": status " + std::to_string(r ? r->status : 0);
        break;
      }
      std::string next = LocationTarget(r->Header("location"));
      if (!next.empty()) loc = next;
    }
    if (err.empty()) {
      r = c.Do("PUT", WithQuery(loc, "digest=" + digest), {}, "");
      if (!r || r->status != 201) err = "final PUT: status " + std::to_string(r ? r->status : 0);
    }
  }
  double secs = Seconds(start, Clock::now());
  PrintJson({{"mode", Str("push-big")},
             {"chunk", std::to_string(o.chunk)},
             {"bytes", std::to_string(o.size)},
             {"digest", Str(digest)},
             {"error", Str(err)},
             {"seconds", Num(secs)},
             {"gbps", Num(o.size / secs / 1e9)}});
  return err.empty() ? 0 : 1;
}

int RunPutRaw(const Options& o) {
  if (o.path.empty()) Die("--path is required");
  if (o.size == 0 || o.size > (8ULL << 30)) Die("--size must be in (0, 8 GiB]");
  std::string data(o.size, '\0');
  Fill(o.seed, 0, data.data(), data.size());
  Conn c(o.port);
  const auto start = Clock::now();
  auto r = c.Do("PUT", o.path, {"Content-Type: application/octet-stream"}, data);
  double secs = Seconds(start, Clock::now());
  int status = r ? r->status : 0;
  bool ok = status == 201 || status == 204;
  PrintJson({{"mode", Str("put-raw")},
             {"bytes", std::to_string(o.size)},
             {"error", Str(ok ? "" : "PUT: status " + std::to_string(status))},
             {"seconds", Num(secs)},
             {"gbps", Num(o.size / secs / 1e9)}});
  return ok ? 0 : 1;
}

int RunGenFile(const Options& o) {
  if (o.out.empty()) Die("--out is required");
  std::ofstream f(o.out, std::ios::binary | std::ios::trunc);
  if (!f) Die("cannot write " + o.out);
  Sha256 h;
  std::vector<char> buf(8 << 20);
  for (uint64_t off = 0; off < o.size; off += buf.size()) {
    size_t n = static_cast<size_t>(std::min<uint64_t>(buf.size(), o.size - off));
    Fill(o.seed, off, buf.data(), n);
    h.Update(buf.data(), n);
    f.write(buf.data(), static_cast<std::streamsize>(n));
  }
  f.close();
  if (!f) Die("short write to " + o.out);
  PrintJson(
      {{"mode", Str("gen-file")}, {"bytes", std::to_string(o.size)}, {"digest", Str(h.Final())}});
  return 0;
}

// ---- seeding ------------------------------------------------------------------------------------

struct Image {
  std::string config, layer, manifest;
  std::string config_digest, layer_digest, manifest_digest;
};

// A config, a 1 KiB layer and an OCI image manifest padded with an annotation to about 1 KiB.
Image MakeImage() {
  Image im;
  im.config =
      R"({"architecture":"amd64","os":"linux","config":{},"rootfs":{"type":"layers","diff_ids":[]}})";
  im.layer.resize(1024);
  Fill(424242, 0, im.layer.data(), im.layer.size());
  im.config_digest = DigestOf(im.config);
  im.layer_digest = DigestOf(im.layer);
  std::string body =
      R"({"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json",)"
      R"("config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":")" +
      im.config_digest + R"(","size":)" + std::to_string(im.config.size()) +
      R"(},"layers":[{"mediaType":"application/vnd.oci.image.layer.v1.tar+gzip","digest":")" +
      im.layer_digest + R"(","size":)" + std::to_string(im.layer.size()) +
      R"(}],"annotations":{"org.opencontainers.image.description":")";
  while (body.size() < 1000) body += 'x';
  body += R"("}})";
  im.manifest = body;
  im.manifest_digest = DigestOf(im.manifest);
  return im;
}

const std::vector<std::string> kManifestHeaders = {
    "Content-Type: application/vnd.oci.image.manifest.v1+json"};

// Runs fn(index, conn) for index in [0, n) on `parallel` threads; returns the first error.
template <typename Fn>
std::string Parallel(const Options& o, size_t n, Fn fn) {
  std::atomic<size_t> next{0};
  std::mutex mu;
  std::string first;
  const auto deadline = Clock::now() + std::chrono::seconds(300);
  std::vector<std::thread> threads;
  for (int t = 0; t < std::min(o.parallel, 64); ++t) {
    threads.emplace_back([&] {
      Conn c(o.port);
      for (size_t i; (i = next++) < n;) {
        std::string err = Clock::now() > deadline ? "seeding took over 300 s" : fn(i, c);
        if (!err.empty()) {
          std::lock_guard<std::mutex> l(mu);
          if (first.empty()) first = err;
          next = n;
        }
      }
    });
  }
  for (auto& t : threads) t.join();
  return first;
}

int RunSeedTags(const Options& o) {
  if (o.repo.empty()) Die("--repo is required");
  Image im = MakeImage();
  Conn c(o.port);
  std::string err = UploadBlob(c, o.repo, im.config, im.config_digest);
  if (err.empty()) err = UploadBlob(c, o.repo, im.layer, im.layer_digest);
  const auto start = Clock::now();
  const size_t n = static_cast<size_t>(std::clamp(o.tags, 0, 100'000));
  if (err.empty()) {
    err = Parallel(o, n + 1, [&](size_t i, Conn& conn) -> std::string {
      char tag[32];
      if (i == n)
        std::snprintf(tag, sizeof tag, "latest");
      else
        std::snprintf(tag, sizeof tag, "t%04zu", i);
      auto r = conn.Do("PUT", "/v2/" + o.repo + "/manifests/" + tag, kManifestHeaders, im.manifest);
      if (!r || r->status != 201) {
        return std::string("PUT manifest ") + tag + ": status " +
               std::to_string(r ? r->status : 0) + " " + (r ? r->body.substr(0, 300) : "");
      }
      return "";
    });
  }
  if (!o.manifest_out.empty()) {
    std::ofstream(o.manifest_out, std::ios::binary) << im.manifest;
  }
  PrintJson({{"mode", Str("seed-tags")},
             {"tags", std::to_string(n + 1)},
             {"manifest_digest", Str(im.manifest_digest)},
             {"manifest_bytes", std::to_string(im.manifest.size())},
             {"layer_digest", Str(im.layer_digest)},
             {"error", Str(err)},
             {"seconds", Num(Seconds(start, Clock::now()))}});
  return err.empty() ? 0 : 1;
}

int RunSeedRepos(const Options& o) {
  if (o.prefix.empty()) Die("--prefix is required");
  Image im = MakeImage();
  const size_t n = static_cast<size_t>(std::clamp(o.count, 1, 100'000));
  auto repo = [&](size_t i) {
    char b[32];
    std::snprintf(b, sizeof b, "/r%04zu", i);
    return o.prefix + b;
  };
  const auto start = Clock::now();
  Conn c(o.port);
  std::string err = UploadBlob(c, repo(0), im.config, im.config_digest);
  if (err.empty()) err = UploadBlob(c, repo(0), im.layer, im.layer_digest);
  if (err.empty()) {
    err = Parallel(o, n, [&](size_t i, Conn& conn) -> std::string {
      std::string name = repo(i);
      if (i > 0) {
        std::string e = MountOrUpload(conn, name, repo(0), im.config, im.config_digest);
        if (e.empty()) e = MountOrUpload(conn, name, repo(0), im.layer, im.layer_digest);
        if (!e.empty()) return name + ": " + e;
      }
      auto r = conn.Do("PUT", "/v2/" + name + "/manifests/v1", kManifestHeaders, im.manifest);
      if (!r || r->status != 201) {
        return "PUT manifest in " + name + ": status " + std::to_string(r ? r->status : 0);
      }
      return "";
    });
  }
  PrintJson({{"mode", Str("seed-repos")},
             {"repositories", std::to_string(n)},
             {"error", Str(err)},
             {"seconds", Num(Seconds(start, Clock::now()))}});
  return err.empty() ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
  Options o = ParseArgs(argc, argv);
  if (o.mode == "head") return RunHead(o);
  if (o.mode == "get") return RunGet(o);
  if (o.mode == "idle") return RunIdle(o);
  if (o.mode == "push-small") return RunPushSmall(o);
  if (o.mode == "push-big") return RunPushBig(o);
  if (o.mode == "put-raw") return RunPutRaw(o);
  if (o.mode == "gen-file") return RunGenFile(o);
  if (o.mode == "seed-tags") return RunSeedTags(o);
  if (o.mode == "seed-repos") return RunSeedRepos(o);
  Die("unknown mode " + o.mode);
}
