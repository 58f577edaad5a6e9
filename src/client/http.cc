#include "client/http.h"

#include <openssl/ssl.h>

#include <atomic>
#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <deque>
#include <map>
#include <mutex>
#include <optional>
#include <variant>

#include "common/strings.h"

namespace berth::client {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = beast::http;
using tcp = asio::ip::tcp;
using SteadyClock = std::chrono::steady_clock;

namespace {

std::unexpected<Error> Unavailable(std::string_view url, std::string_view what) {
  return MakeError(ErrorCode::kUnavailable, std::string(url) + ": " + std::string(what));
}

bool IsRedirect(int status) {
  return status == 301 || status == 302 || status == 303 || status == 307 || status == 308;
}

}  // namespace

// ---------------------------------------------------------------------------------------- Url

Result<Url> Url::Parse(std::string_view s) {
  auto bad = [&](std::string_view why) {
    return MakeError(ErrorCode::kInvalidArgument,
                     "invalid URL \"" + std::string(s) + "\": " + std::string(why));
  };
  Url u;
  size_t colon = s.find("://");
  if (colon == std::string_view::npos) return bad("no scheme");
  u.scheme = ToLower(s.substr(0, colon));
  if (u.scheme != "http" && u.scheme != "https") return bad("scheme must be http or https");
  std::string_view rest = s.substr(colon + 3);
  size_t slash = rest.find_first_of("/?");
  std::string_view authority = rest.substr(0, slash);
  std::string_view target = slash == std::string_view::npos ? "/" : rest.substr(slash);
  if (authority.find('@') != std::string_view::npos) return bad("credentials in URLs are refused");
  if (authority.empty()) return bad("no host");
  std::string_view port;
  if (authority.front() == '[') {
    size_t close = authority.find(']');
    if (close == std::string_view::npos) return bad("unclosed IPv6 bracket");
    u.host = std::string(authority.substr(1, close - 1));
    std::string_view after = authority.substr(close + 1);
    if (!after.empty()) {
      if (after.front() != ':') return bad("junk after IPv6 address");
      port = after.substr(1);
    }
  } else {
    size_t c = authority.rfind(':');
    if (c != std::string_view::npos) {
      port = authority.substr(c + 1);
      authority = authority.substr(0, c);
    }
    u.host = std::string(authority);
  }
  if (u.host.empty()) return bad("no host");
  for (char ch : u.host) {
    if (static_cast<unsigned char>(ch) <= ' ' || ch == '/' || ch == '\\' || ch == '#')
      return bad("invalid character in host");
  }
  if (!port.empty()) {
    auto p = ParseUint64(port);
    if (!p || *p == 0 || *p > 65535) return bad("invalid port");
    u.port = static_cast<uint16_t>(*p);
  } else {
    u.port = u.scheme == "https" ? 443 : 80;
  }
  if (target.front() == '?') {
    u.target = "/" + std::string(target);
  } else {
    u.target = std::string(target);
  }
  if (size_t hash = u.target.find('#'); hash != std::string::npos) u.target.resize(hash);
  for (char ch : u.target) {
    if (static_cast<unsigned char>(ch) <= ' ' || ch == 0x7f)
      return bad("invalid character in path");
  }
  return u;
}

Result<Url> Url::Resolve(std::string_view location) const {
  if (location.find("://") != std::string_view::npos) return Parse(location);
  if (StartsWith(location, "//")) return Parse(scheme + ":" + std::string(location));
  if (!StartsWith(location, "/")) {
    return MakeError(ErrorCode::kInvalidArgument,
                     "relative location \"" + std::string(location) + "\" is not supported");
  }
  return Parse(Origin() + std::string(location));
}

std::string Url::Origin() const {
  std::string h = host.find(':') != std::string::npos ? "[" + host + "]" : host;
  return scheme + "://" + h + ":" + std::to_string(port);
}

std::string Url::HostHeader() const {
  std::string h = host.find(':') != std::string::npos ? "[" + host + "]" : host;
  bool default_port = (scheme == "https" && port == 443) || (scheme == "http" && port == 80);
  return default_port ? h : h + ":" + std::to_string(port);
}

// ---------------------------------------------------------------------------------- Connection

namespace {

// One connection with its own io_context: every operation is started asynchronously and the
// context is run until it completes, so the stream's expiry (beast::tcp_stream) bounds each one.
class Connection {
 public:
  using TlsStream = asio::ssl::stream<beast::tcp_stream>;

  explicit Connection(std::string origin) : origin_(std::move(origin)) {}

  const std::string& origin() const { return origin_; }
  SteadyClock::time_point idle_since;

  Status Connect(const Url& u, const ClientOptions& o, asio::ssl::context* tls_ctx) {
    tcp::resolver resolver(ioc_);
    beast::error_code ec;
    tcp::resolver::results_type results;
    resolver.async_resolve(u.host, std::to_string(u.port),
                           [&](beast::error_code e, tcp::resolver::results_type r) {
                             ec = e;
                             results = std::move(r);
                           });
    ioc_.restart();
    if (ioc_.run_for(o.connect_timeout) == 0 || !ioc_.stopped()) {
      resolver.cancel();
      ioc_.restart();
      ioc_.run();
      if (!ec) ec = asio::error::timed_out;
    }
    if (ec) return Unavailable(u.str(), "resolving " + u.host + ": " + ec.message());
    beast::tcp_stream* lowest;
    if (u.scheme == "https") {
      tls_.emplace(ioc_, *tls_ctx);
      lowest = &beast::get_lowest_layer(*tls_);
    } else {
      plain_.emplace(ioc_);
      lowest = &*plain_;
    }
    lowest->expires_after(o.connect_timeout);
    ec = Run([&](auto h) { lowest->async_connect(results, h); });
    if (ec) return Unavailable(u.str(), "connecting: " + ec.message());
    lowest->socket().set_option(tcp::no_delay(true), ec);
    if (tls_) {
      // SNI only for names (RFC 6066 forbids literal addresses there).
      beast::error_code aec;
      asio::ip::make_address(u.host, aec);
      if (aec && !SSL_set_tlsext_host_name(tls_->native_handle(), u.host.c_str())) {
        return Unavailable(u.str(), "setting the TLS server name failed");
      }
      if (o.tls_verify) {
        tls_->set_verify_mode(asio::ssl::verify_peer);
        tls_->set_verify_callback(asio::ssl::host_name_verification(u.host));
      } else {
        tls_->set_verify_mode(asio::ssl::verify_none);
      }
      lowest->expires_after(o.connect_timeout);
      ec = Run([&](auto h) { tls_->async_handshake(asio::ssl::stream_base::client, h); });
      if (ec) return Unavailable(u.str(), "TLS handshake: " + ec.message());
    }
    return Ok();
  }

  void Expire(std::chrono::milliseconds t) {
    if (tls_) {
      beast::get_lowest_layer(*tls_).expires_after(t);
    } else {
      plain_->expires_after(t);
    }
  }

  // Runs `start(handler)` to completion on this connection's context; the handler's error.
  template <typename Start>
  beast::error_code Run(Start start) {
    beast::error_code out;
    bool done = false;
    start([&](beast::error_code ec, auto&&...) {
      out = ec;
      done = true;
    });
    ioc_.restart();
    ioc_.run();
    if (!done) out = asio::error::operation_aborted;
    return out;
  }

  template <typename F>
  beast::error_code WithStream(F&& f) {
    if (tls_) return f(*tls_);
    return f(*plain_);
  }

  beast::flat_buffer& buffer() { return buffer_; }
  std::optional<bhttp::response_parser<bhttp::buffer_body>>& parser() { return parser_; }
  // A connection that saw an error, or whose response could not be read to the end, is never
  // reused.
  bool reusable = true;

 private:
  std::string origin_;
  asio::io_context ioc_{1};
  std::optional<beast::tcp_stream> plain_;
  std::optional<TlsStream> tls_;
  beast::flat_buffer buffer_;
  std::optional<bhttp::response_parser<bhttp::buffer_body>> parser_;
};

}  // namespace

// -------------------------------------------------------------------------------- Client::Impl

struct ClientImpl {
  explicit ClientImpl(ClientOptions o)
      : options(std::move(o)), tls_ctx(asio::ssl::context::tls_client) {
    beast::error_code ec;
    if (!options.ca_file.empty()) {
      tls_ctx.load_verify_file(options.ca_file, ec);
      if (ec) tls_error = "reading CA file " + options.ca_file + ": " + ec.message();
    } else {
      tls_ctx.set_default_verify_paths(ec);
      if (ec) tls_error = "loading the system CAs: " + ec.message();
    }
    SSL_CTX_set_min_proto_version(tls_ctx.native_handle(), TLS1_2_VERSION);
  }

  std::unique_ptr<Connection> Take(const std::string& origin, bool* reused) {
    std::lock_guard lk(mu);
    auto it = idle.find(origin);
    *reused = false;
    while (it != idle.end() && !it->second.empty()) {
      std::unique_ptr<Connection> c = std::move(it->second.back());
      it->second.pop_back();
      if (SteadyClock::now() - c->idle_since < options.idle_keep) {
        *reused = true;
        return c;
      }
    }
    return nullptr;
  }

  void Give(std::unique_ptr<Connection> c) {
    std::lock_guard lk(mu);
    auto& list = idle[c->origin()];
    c->idle_since = SteadyClock::now();
    list.push_back(std::move(c));
    while (list.size() > options.max_idle_per_origin) list.pop_front();
  }

  // One request/response exchange on one connection (no redirects).
  Result<ResponsePtr> Exchange(const Url& u, Request& req, const std::shared_ptr<ClientImpl>& self);
  Result<ResponsePtr> Attempt(const Url& u, Request& req, const std::shared_ptr<ClientImpl>& self,
                              std::unique_ptr<Connection> conn, bool* retryable);

  ClientOptions options;
  asio::ssl::context tls_ctx;
  std::string tls_error;
  std::mutex mu;
  std::map<std::string, std::deque<std::unique_ptr<Connection>>> idle;  // Guarded by mu.
  std::atomic<uint64_t> connects{0};
};

// ------------------------------------------------------------------------------------ Response

struct Response::State {
  std::unique_ptr<Connection> conn;
  std::weak_ptr<ClientImpl> client;
  std::chrono::milliseconds read_timeout{60'000};
  bool done = false;
  bool failed = false;
  // A Content-Length body is read past the parser, straight from the socket into the caller's
  // buffer (one large read per call instead of the parser's small ones and a copy): the bytes
  // still to come. Absent for chunked or close-delimited bodies, which the parser frames.
  std::optional<uint64_t> remaining;
  bool keep_alive = false;
};

struct ResponseAccess {
  static ResponsePtr Make() { return ResponsePtr(new Response()); }
  static Response::State& S(Response& r) { return *r.s_; }
  static Result<size_t> ReadDirect(Response::State& s, const std::string& url, char* buf,
                                   size_t cap);
};

Response::Response() : s_(std::make_unique<State>()) {}

Response::~Response() {
  if (!s_ || !s_->conn) return;
  auto& p = s_->conn->parser();
  bool framed = s_->remaining ? *s_->remaining == 0 && s_->keep_alive
                              : p && p->is_done() && p->get().keep_alive() && !p->need_eof();
  bool clean = s_->done && !s_->failed && s_->conn->reusable && framed;
  if (!clean) return;
  if (auto c = s_->client.lock()) {
    s_->conn->parser().reset();
    c->Give(std::move(s_->conn));
  }
}

bool Response::done() const { return s_->done; }

// Response::Read for a Content-Length body: first what the head's read left in the connection's
// buffer, then reads straight from the stream, never past the announced end.
Result<size_t> ResponseAccess::ReadDirect(Response::State& s, const std::string& url, char* buf,
                                          size_t cap) {
  Connection& c = *s.conn;
  const size_t want = static_cast<size_t>(std::min<uint64_t>(cap, *s.remaining));
  size_t n = 0;
  if (c.buffer().size() > 0) {
    n = asio::buffer_copy(asio::buffer(buf, want), c.buffer().data());
    c.buffer().consume(n);
  } else {
    c.Expire(s.read_timeout);
    beast::error_code ec = c.WithStream([&](auto& st) {
      return c.Run([&](auto h) {
        st.async_read_some(asio::buffer(buf, want), [&n, h](beast::error_code e, size_t got) {
          n = got;
          h(e);
        });
      });
    });
    if (ec || n == 0) {
      s.failed = true;
      c.reusable = false;
      return Unavailable(url, "reading the response body: " +
                                  (ec ? ec.message() : std::string("connection closed")) +
                                  " with " + std::to_string(*s.remaining) + " bytes to come");
    }
  }
  *s.remaining -= n;
  s.done = *s.remaining == 0;
  return n;
}

Result<size_t> Response::Read(char* buf, size_t cap) {
  if (s_->done || cap == 0) return size_t{0};
  if (s_->failed || !s_->conn) return Unavailable(url, "response body already failed");
  Connection& c = *s_->conn;
  if (s_->remaining) return ResponseAccess::ReadDirect(*s_, url, buf, cap);
  auto& p = *c.parser();
  while (true) {
    if (p.is_done()) {
      s_->done = true;
      return size_t{0};
    }
    p.get().body().data = buf;
    p.get().body().size = cap;
    c.Expire(s_->read_timeout);
    beast::error_code ec = c.WithStream(
        [&](auto& s) { return c.Run([&](auto h) { bhttp::async_read(s, c.buffer(), p, h); }); });
    if (ec == bhttp::error::need_buffer) ec = {};
    if (ec) {
      s_->failed = true;
      c.reusable = false;
      return Unavailable(url, "reading the response body: " + ec.message());
    }
    size_t n = cap - p.get().body().size;
    s_->done = p.is_done();
    if (n > 0) return n;
  }
}

Result<std::string> Response::ReadAll(size_t limit) {
  std::string out;
  char buf[16384];
  while (true) {
    BERTH_ASSIGN_OR_RETURN(size_t n, Read(buf, sizeof buf));
    if (n == 0) return out;
    if (out.size() + n > limit) {
      s_->failed = true;
      return Unavailable(url, "response body longer than " + std::to_string(limit) + " bytes");
    }
    out.append(buf, n);
  }
}

// ---------------------------------------------------------------------------------- HttpClient

HttpClient::HttpClient(ClientOptions options)
    : impl_(std::make_shared<ClientImpl>(std::move(options))) {}
HttpClient::~HttpClient() = default;
uint64_t HttpClient::connects() const { return impl_->connects.load(); }
const ClientOptions& HttpClient::options() const { return impl_->options; }

Result<ResponsePtr> ClientImpl::Attempt(const Url& u, Request& req,
                                        const std::shared_ptr<ClientImpl>& self,
                                        std::unique_ptr<Connection> conn, bool* retryable) {
  *retryable = false;
  Connection& c = *conn;
  auto fail = [&](std::string_view what, const beast::error_code& ec) {
    return Unavailable(u.str(), std::string(what) + ": " + ec.message());
  };
  bhttp::verb verb = bhttp::string_to_verb(req.method);
  if (verb == bhttp::verb::unknown) {
    return MakeError(ErrorCode::kInvalidArgument, "unknown HTTP method " + req.method);
  }
  auto set_fields = [&](auto& m) {
    m.method(verb);
    m.target(u.target);
    m.version(11);
    m.set(bhttp::field::host, u.HostHeader());
    m.set(bhttp::field::user_agent, options.user_agent);
    for (const auto& [k, v] : req.headers.items()) m.insert(k, v);
  };

  beast::error_code ec;
  if (!req.body_source) {
    bhttp::request<bhttp::string_body> m;
    set_fields(m);
    m.body() = req.body;
    if (!req.body.empty() ||
        (verb != bhttp::verb::get && verb != bhttp::verb::head && verb != bhttp::verb::delete_)) {
      m.content_length(req.body.size());
    }
    c.Expire(options.read_timeout);
    ec = c.WithStream([&](auto& s) { return c.Run([&](auto h) { bhttp::async_write(s, m, h); }); });
    // A pooled connection the server closed meanwhile fails here or on the head below: nothing
    // was processed, so the caller may retry on a fresh connection.
    if (ec) {
      *retryable = true;
      return fail("sending the request", ec);
    }
  } else {
    bhttp::request<bhttp::buffer_body> m;
    set_fields(m);
    if (req.body_length) {
      m.content_length(*req.body_length);
    } else {
      m.chunked(true);
    }
    bhttp::request_serializer<bhttp::buffer_body> sr(m);
    c.Expire(options.read_timeout);
    ec = c.WithStream(
        [&](auto& s) { return c.Run([&](auto h) { bhttp::async_write_header(s, sr, h); }); });
    if (ec) return fail("sending the request head", ec);
    std::vector<char> buf(256 * 1024);
    uint64_t sent = 0;
    while (true) {
      auto n = req.body_source(buf.data(), buf.size());
      if (!n) {
        c.reusable = false;
        return std::unexpected(n.error());
      }
      if (req.body_length && sent + *n > *req.body_length) {
        c.reusable = false;
        return MakeError(ErrorCode::kInvalidArgument, "request body longer than its announced " +
                                                          std::to_string(*req.body_length) +
                                                          " bytes");
      }
      if (*n == 0 && req.body_length && sent != *req.body_length) {
        c.reusable = false;
        return MakeError(ErrorCode::kInvalidArgument,
                         "request body ended after " + std::to_string(sent) + " of " +
                             std::to_string(*req.body_length) + " bytes");
      }
      m.body().data = *n ? buf.data() : nullptr;
      m.body().size = *n;
      m.body().more = *n != 0;
      sent += *n;
      c.Expire(options.read_timeout);
      ec = c.WithStream(
          [&](auto& s) { return c.Run([&](auto h) { bhttp::async_write(s, sr, h); }); });
      if (ec == bhttp::error::need_buffer) ec = {};
      if (ec) {
        c.reusable = false;
        return fail("sending the request body", ec);
      }
      if (*n == 0) break;
    }
  }

  auto& parser = c.parser();
  parser.emplace();
  parser->header_limit(static_cast<std::uint32_t>(options.max_header_bytes));
  parser->body_limit(boost::none);
  if (verb == bhttp::verb::head) parser->skip(true);
  c.Expire(options.read_timeout);
  ec = c.WithStream([&](auto& s) {
    return c.Run([&](auto h) { bhttp::async_read_header(s, c.buffer(), *parser, h); });
  });
  if (ec) {
    c.reusable = false;
    *retryable = ec == bhttp::error::end_of_stream || ec == asio::error::connection_reset ||
                 ec == asio::error::eof || ec == asio::ssl::error::stream_truncated;
    return fail("reading the response head", ec);
  }
  ResponsePtr res = ResponseAccess::Make();
  const auto& head = parser->get();
  res->status = static_cast<int>(head.result_int());
  for (const auto& f : head) res->headers.Add(std::string(f.name_string()), std::string(f.value()));
  if (auto cl = parser->content_length()) res->content_length = *cl;
  res->url = u.str();
  auto& st = ResponseAccess::S(*res);
  st.read_timeout = options.read_timeout;
  st.client = self;
  st.done = parser->is_done();
  st.keep_alive = head.keep_alive();
  if (!st.done && !parser->chunked() && parser->content_length()) {
    st.remaining = *parser->content_length();
  }
  st.conn = std::move(conn);
  return res;
}

Result<ResponsePtr> ClientImpl::Exchange(const Url& u, Request& req,
                                         const std::shared_ptr<ClientImpl>& self) {
  if (u.scheme == "https" && !tls_error.empty()) return Unavailable(u.str(), tls_error);
  for (int attempt = 0;; ++attempt) {
    bool reused = false;
    std::unique_ptr<Connection> conn = Take(u.Origin(), &reused);
    if (!conn) {
      conn = std::make_unique<Connection>(u.Origin());
      connects.fetch_add(1);
      BERTH_RETURN_IF_ERROR(conn->Connect(u, options, &tls_ctx));
    }
    bool retryable = false;
    auto r = Attempt(u, req, self, std::move(conn), &retryable);
    if (r || !reused || !retryable || req.body_source || attempt > 0) return r;
  }
}

Result<ResponsePtr> HttpClient::Send(Request req) {
  BERTH_ASSIGN_OR_RETURN(Url u, Url::Parse(req.url));
  const bool follow = req.method == "GET" || req.method == "HEAD";
  const std::string first_origin = u.Origin();
  for (int redirects = 0;; ++redirects) {
    BERTH_ASSIGN_OR_RETURN(ResponsePtr res, impl_->Exchange(u, req, impl_));
    if (!follow || !IsRedirect(res->status)) return res;
    std::string location(res->headers.Get("Location"));
    if (location.empty()) return res;
    if (redirects >= impl_->options.max_redirects) {
      return Unavailable(
          req.url, "more than " + std::to_string(impl_->options.max_redirects) + " redirects");
    }
    auto next = u.Resolve(location);
    if (!next) return Unavailable(u.str(), "bad redirect: " + next.error().message);
    (void)res->ReadAll(64 * 1024);  // lets the connection be reused when the body is small
    res.reset();
    if (next->Origin() != first_origin) req.headers.Remove("Authorization");
    u = std::move(*next);
  }
}

}  // namespace berth::client
