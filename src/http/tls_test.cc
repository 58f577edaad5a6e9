#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>

#include "http/server_test_util.h"

namespace berth::http {
namespace {

using namespace std::chrono_literals;

// A self-signed certificate and its key, written as PEM files for the server to load.
class TestCert {
 public:
  enum KeyType { kEc, kRsa };
  explicit TestCert(const std::string& cn, KeyType type = kEc) {
    key_ = type == kRsa ? EVP_RSA_gen(2048) : EVP_EC_gen("P-256");
    cert_ = X509_new();
    X509_set_version(cert_, 2);
    ASN1_INTEGER_set(X509_get_serialNumber(cert_),
                     static_cast<long>(std::hash<std::string>{}(cn)&0x7fffffff));
    X509_gmtime_adj(X509_getm_notBefore(cert_), -3600);
    X509_gmtime_adj(X509_getm_notAfter(cert_), 86400);
    X509_set_pubkey(cert_, key_);
    X509_NAME* name = X509_get_subject_name(cert_);
    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                               reinterpret_cast<const unsigned char*>(cn.c_str()), -1, -1, 0);
    X509_set_issuer_name(cert_, name);
    X509_sign(cert_, key_, EVP_sha256());
    char tmpl[] = "/tmp/berth_tls_test_XXXXXX";
    dir_ = mkdtemp(tmpl);
    cert_path_ = dir_ + "/cert.pem";
    key_path_ = dir_ + "/key.pem";
    FILE* f = fopen(cert_path_.c_str(), "w");
    PEM_write_X509(f, cert_);
    fclose(f);
    f = fopen(key_path_.c_str(), "w");
    PEM_write_PrivateKey(f, key_, nullptr, nullptr, 0, nullptr, nullptr);
    fclose(f);
  }
  ~TestCert() {
    X509_free(cert_);
    EVP_PKEY_free(key_);
    std::filesystem::remove_all(dir_);
  }
  const std::string& cert_path() const { return cert_path_; }
  const std::string& key_path() const { return key_path_; }
  X509* cert() const { return cert_; }
  EVP_PKEY* key() const { return key_; }

 private:
  EVP_PKEY* key_ = nullptr;
  X509* cert_ = nullptr;
  std::string dir_, cert_path_, key_path_;
};

// A client context that trusts `server` and optionally presents `client`.
SSL_CTX* ClientContext(const TestCert& server, const TestCert* client = nullptr,
                       int max_version = 0) {
  SSL_CTX* ctx = SSL_CTX_new(TLS_client_method());
  X509_STORE_add_cert(SSL_CTX_get_cert_store(ctx), server.cert());
  SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, nullptr);
  if (client) {
    SSL_CTX_use_certificate(ctx, client->cert());
    SSL_CTX_use_PrivateKey(ctx, client->key());
  }
  if (max_version) SSL_CTX_set_max_proto_version(ctx, max_version);
  return ctx;
}

ServerOptions TlsOptions(const TestCert& cert) {
  ServerOptions o = TestOptions();
  o.tls_certificate = cert.cert_path();
  o.tls_key = cert.key_path();
  return o;
}

TEST(ServerTls, ServesRequestsOverKeepAlive) {
  TestCert cert("localhost");
  std::atomic<bool> saw_tls{false};
  TestServer ts(
      [&](Request& req) {
        saw_tls = req.tls;
        if (req.path == "/big") {
          Response r;
          r.content_length = 8 << 20;
          r.stream = std::make_unique<PatternSource>(8 << 20);
          return Dispatch::Respond(std::move(r));
        }
        if (req.path == "/upload") return BufferingHandler(req);
        return EchoHandler(req);
      },
      TlsOptions(cert));
  SSL_CTX* ctx = ClientContext(cert);
  Client c(ts.port());
  ASSERT_TRUE(c.StartTls(ctx));
  for (int i = 0; i < 3; ++i) {
    auto r = ExpectHello(c, "GET /hello HTTP/1.1\r\nHost: x\r\n\r\n");
    ASSERT_TRUE(r);
  }
  EXPECT_TRUE(saw_tls.load());
  auto r = c.Exchange("PUT /upload HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nabcde");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->body, "got 5:abcde");
  r = c.Exchange("GET /big HTTP/1.1\r\nHost: x\r\n\r\n");
  EXPECT_TRUE(CarriesPattern(r, 8u << 20));
  SSL_CTX_free(ctx);
}

TEST(ServerTls, SendfileOptionFallsBackToCopiesOverTls) {
  TestCert cert("localhost");
  constexpr uint64_t kSize = 2 << 20;
  TempFile file(kSize);
  std::atomic<int> reads{0};
  ServerOptions o = TlsOptions(cert);
  o.sendfile = true;
  TestServer ts(ServeFile(file, kSize, &reads), o);
  SSL_CTX* ctx = ClientContext(cert);
  Client c(ts.port());
  ASSERT_TRUE(c.StartTls(ctx));
  auto r = c.Exchange("GET / HTTP/1.1\r\nHost: x\r\n\r\n");
  EXPECT_TRUE(CarriesPattern(r, kSize));
  EXPECT_GT(reads.load(), 0);
  SSL_CTX_free(ctx);
}

// Whether GET /hello over TLS succeeds when the client trusts `server_cert` and presents
// `presented` (nullptr: no client certificate).
bool RequestWorksPresenting(uint16_t port, const TestCert& server_cert, const TestCert* presented) {
  SSL_CTX* ctx = ClientContext(server_cert, presented);
  Client c(port);
  std::optional<Reply> r;
  if (c.StartTls(ctx)) r = c.Exchange("GET /hello HTTP/1.1\r\nHost: x\r\n\r\n");
  SSL_CTX_free(ctx);
  ERR_clear_error();
  return r && r->status == 200;
}

TEST(ServerTls, ClientCertificateIsRequiredWhenClientCAsAreSet) {
  TestCert server_cert("localhost");
  TestCert client_cert("robot");
  TestCert stranger("stranger");
  ServerOptions o = TlsOptions(server_cert);
  o.tls_client_cas = {client_cert.cert_path()};
  TestServer ts(EchoHandler, o);

  auto request_works = [&](const TestCert* presented) {
    return RequestWorksPresenting(ts.port(), server_cert, presented);
  };
  EXPECT_FALSE(request_works(nullptr));
  EXPECT_FALSE(request_works(&stranger));
  EXPECT_TRUE(request_works(&client_cert));
}

TEST(ServerTls, MinimumVersionIsEnforced) {
  TestCert cert("localhost");
  ServerOptions o = TlsOptions(cert);
  o.tls_minimum = "tls1.3";
  TestServer ts(EchoHandler, o);
  SSL_CTX* old_client = ClientContext(cert, nullptr, TLS1_2_VERSION);
  {
    Client c(ts.port());
    EXPECT_FALSE(c.StartTls(old_client));
  }
  SSL_CTX* new_client = ClientContext(cert);
  Client c(ts.port());
  EXPECT_TRUE(c.StartTls(new_client));
  SSL_CTX_free(old_client);
  SSL_CTX_free(new_client);
  ERR_clear_error();
}

TEST(ServerTls, StartFailsOnBadTlsSettings) {
  TestCert cert("localhost");
  {
    ServerOptions o = TlsOptions(cert);
    o.tls_certificate = "/nonexistent/cert.pem";
    Server s(o, EchoHandler);
    Status st = s.Start();
    ASSERT_FALSE(st.has_value());
    EXPECT_EQ(st.error().code, ErrorCode::kIo);
    EXPECT_NE(st.error().message.find("/nonexistent/cert.pem"), std::string::npos);
  }
  {
    ServerOptions o = TlsOptions(cert);
    o.tls_minimum = "ssl3";
    Server s(o, EchoHandler);
    EXPECT_FALSE(s.Start().has_value());
  }
  {
    ServerOptions o = TlsOptions(cert);
    o.tls_key = "";
    Server s(o, EchoHandler);
    EXPECT_FALSE(s.Start().has_value());
  }
}

// --- cipher policy, plain HTTP on the TLS port, client CAs

// Runs `openssl s_client` against the server; the cipher it negotiated, or "" when the handshake
// failed.
std::string NegotiatedCipher(uint16_t port, std::string_view args) {
  std::string cmd = "timeout 20 openssl s_client -connect 127.0.0.1:" + std::to_string(port) +
                    " -servername localhost " + std::string(args) + " </dev/null 2>&1";
  FILE* p = popen(cmd.c_str(), "r");
  if (!p) return {};
  std::string out;
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof(buf), p)) > 0) out.append(buf, n);
  int rc = pclose(p);
  size_t at = out.find("Cipher is ");
  if (rc != 0 || at == std::string::npos) return {};
  std::string cipher = out.substr(at + 10, out.find('\n', at) - at - 10);
  return cipher == "(NONE)" ? std::string() : cipher;
}

bool HaveOpenSslTool() { return ::access("/usr/bin/openssl", X_OK) == 0; }

TEST(ServerTls, DefaultTls12SuitesAreEcdheWithAeadOnly) {
  if (!HaveOpenSslTool()) GTEST_SKIP() << "no openssl command";
  TestCert rsa("localhost", TestCert::kRsa);
  TestServer ts(EchoHandler, TlsOptions(rsa));
  // RSA key exchange, CBC, SHA-1 MACs: refused.
  for (std::string_view cipher : {"AES128-SHA", "AES256-GCM-SHA384", "AES128-SHA256",
                                  "ECDHE-RSA-AES128-SHA", "ECDHE-RSA-AES256-SHA384"}) {
    EXPECT_EQ(NegotiatedCipher(ts.port(), "-tls1_2 -cipher " + std::string(cipher)), "") << cipher;
  }
  for (std::string_view cipher : {"ECDHE-RSA-AES128-GCM-SHA256", "ECDHE-RSA-AES256-GCM-SHA384",
                                  "ECDHE-RSA-CHACHA20-POLY1305"}) {
    EXPECT_EQ(NegotiatedCipher(ts.port(), "-tls1_2 -cipher " + std::string(cipher)), cipher);
  }
  TestCert ec("localhost");
  TestServer ts_ec(EchoHandler, TlsOptions(ec));
  EXPECT_EQ(NegotiatedCipher(ts_ec.port(), "-tls1_2 -cipher ECDHE-ECDSA-AES128-SHA"), "");
  EXPECT_EQ(NegotiatedCipher(ts_ec.port(), "-tls1_2 -cipher ECDHE-ECDSA-AES128-GCM-SHA256"),
            "ECDHE-ECDSA-AES128-GCM-SHA256");
}

TEST(ServerTls, ConfiguredCipherSuitesReplaceTheDefault) {
  if (!HaveOpenSslTool()) GTEST_SKIP() << "no openssl command";
  TestCert rsa("localhost", TestCert::kRsa);
  ServerOptions o = TlsOptions(rsa);
  o.tls_ciphersuites = {"TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384", "TLS_RSA_WITH_AES_128_CBC_SHA"};
  TestServer ts(EchoHandler, o);
  EXPECT_EQ(NegotiatedCipher(ts.port(), "-tls1_2 -cipher ECDHE-RSA-AES128-GCM-SHA256"), "");
  EXPECT_EQ(NegotiatedCipher(ts.port(), "-tls1_2 -cipher ECDHE-RSA-AES256-GCM-SHA384"),
            "ECDHE-RSA-AES256-GCM-SHA384");
  // Asked for by name, so offered.
  EXPECT_EQ(NegotiatedCipher(ts.port(), "-tls1_2 -cipher AES128-SHA"), "AES128-SHA");
}

TEST(ServerTls, UnknownCipherSuiteFailsStartNamingIt) {
  TestCert cert("localhost");
  ServerOptions o = TlsOptions(cert);
  o.tls_ciphersuites = {"TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256", "TLS_MADE_UP_SUITE"};
  Server s(o, EchoHandler);
  Status st = s.Start();
  ASSERT_FALSE(st.has_value());
  EXPECT_NE(st.error().message.find("TLS_MADE_UP_SUITE"), std::string::npos) << st.error().message;
  // An OpenSSL name is not a Go/IANA name.
  o.tls_ciphersuites = {"ECDHE-RSA-AES128-GCM-SHA256"};
  Server s2(o, EchoHandler);
  EXPECT_FALSE(s2.Start().has_value());
}

TEST(ServerTls, PlainHttpToTlsPortGets400SayingToUseHttps) {
  TestCert cert("localhost");
  std::atomic<int> calls{0};
  TestServer ts(
      [&](Request& req) {
        ++calls;
        return EchoHandler(req);
      },
      TlsOptions(cert));
  Client c(ts.port());
  auto r = c.Exchange("GET /hello HTTP/1.1\r\nHost: x\r\n\r\n");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 400);
  EXPECT_NE(r->body.find("HTTPS"), std::string::npos) << r->body;
  EXPECT_EQ(r->Header("Connection"), "close");
  EXPECT_TRUE(c.WaitClosed());
  EXPECT_EQ(calls.load(), 0);
  // TLS clients are still served.
  SSL_CTX* ctx = ClientContext(cert);
  Client t(ts.port());
  ASSERT_TRUE(t.StartTls(ctx));
  auto tr = t.Exchange("GET /hello HTTP/1.1\r\nHost: x\r\n\r\n");
  ASSERT_TRUE(tr);
  EXPECT_EQ(tr->status, 200);
  SSL_CTX_free(ctx);
}

TEST(ServerTls, EveryListedClientCaIsTrusted) {
  TestCert server_cert("localhost");
  TestCert a("robot-a");
  TestCert b("robot-b");
  TestCert c("robot-c");
  TestCert stranger("stranger");
  // The first file holds two certificates.
  std::string both = std::filesystem::path(a.cert_path()).parent_path() / "two-cas.pem";
  {
    std::ofstream out(both);
    for (const TestCert* cert : {&a, &b}) {
      std::ifstream in(cert->cert_path());
      out << in.rdbuf();
    }
  }
  ServerOptions o = TlsOptions(server_cert);
  o.tls_client_cas = {both, c.cert_path()};
  TestServer ts(EchoHandler, o);

  auto request_works = [&](const TestCert* presented) {
    return RequestWorksPresenting(ts.port(), server_cert, presented);
  };
  EXPECT_TRUE(request_works(&a));
  EXPECT_TRUE(request_works(&b));
  EXPECT_TRUE(request_works(&c));
  EXPECT_FALSE(request_works(&stranger));
  EXPECT_FALSE(request_works(nullptr));
}

TEST(ServerTls, MissingClientCaFileFailsStartNamingIt) {
  TestCert server_cert("localhost");
  TestCert a("robot-a");
  ServerOptions o = TlsOptions(server_cert);
  o.tls_client_cas = {a.cert_path(), "/nonexistent/ca.pem"};
  Server s(o, EchoHandler);
  Status st = s.Start();
  ASSERT_FALSE(st.has_value());
  EXPECT_EQ(st.error().code, ErrorCode::kIo);
  EXPECT_NE(st.error().message.find("/nonexistent/ca.pem"), std::string::npos)
      << st.error().message;
}

// Puts `from` at `to` in one rename, as a careful operator (or cert-manager) does, so that the
// server never reads a half-written file.
void ReplaceFile(const std::string& from, const std::string& to) {
  std::string tmp = to + ".new";
  std::filesystem::copy_file(from, tmp, std::filesystem::copy_options::overwrite_existing);
  std::filesystem::rename(tmp, to);
}

// Puts `cert`'s certificate and key where the server reads `target`'s.
void Install(const TestCert& cert, const TestCert& target) {
  ReplaceFile(cert.cert_path(), target.cert_path());
  ReplaceFile(cert.key_path(), target.key_path());
}

void WriteFile(const std::string& path, std::string_view content) {
  std::string tmp = path + ".new";
  FILE* f = fopen(tmp.c_str(), "w");
  ASSERT_NE(f, nullptr);
  fwrite(content.data(), 1, content.size(), f);
  fclose(f);
  std::filesystem::rename(tmp, path);
}

// A client context that trusts both certificates, so a test can see which one the server presents.
SSL_CTX* ClientContextTrusting(const TestCert& a, const TestCert& b) {
  SSL_CTX* ctx = ClientContext(a);
  X509_STORE_add_cert(SSL_CTX_get_cert_store(ctx), b.cert());
  return ctx;
}

// The CN a fresh connection sees, after one request over it succeeded; "" when either failed.
std::string NewConnectionCommonName(uint16_t port, SSL_CTX* ctx) {
  Client c(port);
  if (!c.StartTls(ctx) || !c.Send("GET /hello HTTP/1.1\r\nHost: x\r\n\r\n")) return {};
  auto r = c.Read();
  if (!r || r->status != 200) return {};
  return c.PeerCommonName();
}

// Waits until the server's SIGHUP handler is installed: raising before would end the test run.
bool WaitForHandler(int signal_number) {
  return Eventually([&] {
    struct sigaction current {};
    sigaction(signal_number, nullptr, &current);
    return current.sa_handler != SIG_DFL && current.sa_handler != SIG_IGN;
  });
}

// Runs the server's WaitForSignal on a thread; Stop shuts the server down and returns what the wait
// returned; the destructor stops it too, so a failed ASSERT cannot leave the thread running.
class SignalWaiter {
 public:
  explicit SignalWaiter(Server& server) : server_(server) {
    thread_ = std::thread([this] {
      result_ = server_.WaitForSignal();
      returned_ = true;
    });
  }
  ~SignalWaiter() { Stop(); }
  bool returned() const { return returned_.load(); }
  int Stop() {
    if (thread_.joinable()) {
      server_.Shutdown(std::chrono::milliseconds(100));
      thread_.join();
    }
    return result_.load();
  }

 private:
  Server& server_;
  std::atomic<bool> returned_{false};
  std::atomic<int> result_{-1};
  std::thread thread_;
};

TEST(ServerTlsReload, NewConnectionsGetTheNewCertificateAndOldOnesKeepWorking) {
  TestCert a("berth-a");
  TestCert b("berth-b");
  TestServer ts(EchoHandler, TlsOptions(a));
  SSL_CTX* ctx = ClientContextTrusting(a, b);

  Client old(ts.port());
  ASSERT_TRUE(old.StartTls(ctx));
  ASSERT_TRUE(old.Send("GET /hello HTTP/1.1\r\nHost: x\r\n\r\n"));
  ASSERT_TRUE(old.Read());
  EXPECT_EQ(old.PeerCommonName(), "berth-a");

  Install(b, a);
  Status st = ts.server().ReloadTls();
  ASSERT_TRUE(st.has_value()) << st.error().ToString();

  EXPECT_EQ(NewConnectionCommonName(ts.port(), ctx), "berth-b");
  // The established session is untouched: same certificate, still serving keep-alive requests.
  auto r = ExpectHello(old, "GET /hello HTTP/1.1\r\nHost: x\r\n\r\n");
  ASSERT_TRUE(r);
  EXPECT_EQ(old.PeerCommonName(), "berth-a");
  SSL_CTX_free(ctx);
}

// Serves a's certificate, lets `damage` rewrite the files under a's paths (b is another valid
// certificate), and expects the reload to fail naming the key file while new connections still get
// a's certificate.
void ExpectReloadRefusedKeepsOld(const std::function<void(TestCert& a, TestCert& b)>& damage) {
  TestCert a("berth-a");
  TestCert b("berth-b");
  TestServer ts(EchoHandler, TlsOptions(a));
  SSL_CTX* ctx = ClientContextTrusting(a, b);
  damage(a, b);
  Status st = ts.server().ReloadTls();
  EXPECT_FALSE(st.has_value());
  if (!st) {
    EXPECT_EQ(st.error().code, ErrorCode::kIo);
    EXPECT_NE(st.error().message.find(a.key_path()), std::string::npos) << st.error().message;
  }
  EXPECT_EQ(NewConnectionCommonName(ts.port(), ctx), "berth-a");
  SSL_CTX_free(ctx);
  ERR_clear_error();
}

TEST(ServerTlsReload, BrokenKeyKeepsTheOldCertificate) {
  ExpectReloadRefusedKeepsOld([](TestCert& a, TestCert& b) {
    ReplaceFile(b.cert_path(), a.cert_path());
    WriteFile(a.key_path(), "-----BEGIN PRIVATE KEY-----\nnot a key\n-----END PRIVATE KEY-----\n");
  });
}

TEST(ServerTlsReload, KeyOfAnotherCertificateIsRefused) {
  // The key file still holds a's key.
  ExpectReloadRefusedKeepsOld(
      [](TestCert& a, TestCert& b) { ReplaceFile(b.cert_path(), a.cert_path()); });
}

TEST(ServerTlsReload, ReloadWithoutTlsIsAnError) {
  TestServer ts(EchoHandler);
  Status st = ts.server().ReloadTls();
  ASSERT_FALSE(st.has_value());
  EXPECT_EQ(st.error().code, ErrorCode::kInvalidArgument);
}

TEST(ServerTlsReload, SighupReloadsAndWaitForSignalKeepsWaiting) {
  TestCert a("berth-a");
  TestCert b("berth-b");
  TestCert c("berth-c");
  // The server reads the files under a's paths; the test rewrites them. `a` itself keeps its
  // in-memory certificate for the client's trust store.
  TestServer ts(EchoHandler, TlsOptions(a));
  SSL_CTX* ctx = ClientContextTrusting(a, b);
  X509_STORE_add_cert(SSL_CTX_get_cert_store(ctx), c.cert());

  SignalWaiter waiter(ts.server());
  bool installed = WaitForHandler(SIGHUP);
  EXPECT_TRUE(installed);
  if (installed) {
    Install(b, a);
    kill(getpid(), SIGHUP);
    EXPECT_TRUE(Eventually([&] { return NewConnectionCommonName(ts.port(), ctx) == "berth-b"; }));
    EXPECT_FALSE(waiter.returned());
    // The wait re-armed itself: a second SIGHUP reloads again.
    Install(c, a);
    kill(getpid(), SIGHUP);
    EXPECT_TRUE(Eventually([&] { return NewConnectionCommonName(ts.port(), ctx) == "berth-c"; }));
    EXPECT_FALSE(waiter.returned());
  }
  EXPECT_EQ(waiter.Stop(), 0);
  SSL_CTX_free(ctx);
}

TEST(ServerTlsReload, SighupWithoutTlsIsIgnored) {
  TestServer ts(EchoHandler);
  SignalWaiter waiter(ts.server());
  bool installed = WaitForHandler(SIGHUP);
  EXPECT_TRUE(installed);
  if (installed) {
    kill(getpid(), SIGHUP);
    // Serving goes on and the wait does not end.
    Client c(ts.port());
    EXPECT_TRUE(c.Exchange("GET /hello HTTP/1.1\r\nHost: x\r\n\r\n"));
    EXPECT_FALSE(waiter.returned());
  }
  EXPECT_EQ(waiter.Stop(), 0);
}

}  // namespace
}  // namespace berth::http
