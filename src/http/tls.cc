#include "http/tls.h"

#include <openssl/err.h>
#include <openssl/ssl.h>

#include <string>
#include <string_view>
#include <vector>

namespace berth::http {
namespace {

// TLS 1.2 suites offered when ServerOptions::tls_ciphersuites is empty: ECDHE key exchange (forward
// secrecy) with AEAD ciphers only. No RSA key exchange, no CBC, no SHA-1 MACs. ECDSA first (cheaper
// and as strong), then AES-GCM before CHACHA20 (AES-NI), as Go and Mozilla's "intermediate" order.
constexpr const char* kDefaultTls12Ciphers =
    "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:"
    "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:"
    "ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305";

struct SuiteName {
  std::string_view iana;     // as Go's crypto/tls and Distribution's http.tls.ciphersuites name it
  std::string_view openssl;  // OpenSSL's name for the same suite
  bool tls13;                // a TLS 1.3 suite (configured apart from the 1.2 list)
};

// Every suite Go's crypto/tls knows by name (CipherSuites and InsecureCipherSuites), so that a
// Distribution configuration carries over; OpenSSL 3 may still refuse the weakest at handshake.
constexpr SuiteName kSuites[] = {
    {"TLS_RSA_WITH_RC4_128_SHA", "RC4-SHA", false},
    {"TLS_RSA_WITH_3DES_EDE_CBC_SHA", "DES-CBC3-SHA", false},
    {"TLS_RSA_WITH_AES_128_CBC_SHA", "AES128-SHA", false},
    {"TLS_RSA_WITH_AES_256_CBC_SHA", "AES256-SHA", false},
    {"TLS_RSA_WITH_AES_128_CBC_SHA256", "AES128-SHA256", false},
    {"TLS_RSA_WITH_AES_128_GCM_SHA256", "AES128-GCM-SHA256", false},
    {"TLS_RSA_WITH_AES_256_GCM_SHA384", "AES256-GCM-SHA384", false},
    {"TLS_ECDHE_ECDSA_WITH_RC4_128_SHA", "ECDHE-ECDSA-RC4-SHA", false},
    {"TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA", "ECDHE-ECDSA-AES128-SHA", false},
    {"TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA", "ECDHE-ECDSA-AES256-SHA", false},
    {"TLS_ECDHE_RSA_WITH_RC4_128_SHA", "ECDHE-RSA-RC4-SHA", false},
    {"TLS_ECDHE_RSA_WITH_3DES_EDE_CBC_SHA", "ECDHE-RSA-DES-CBC3-SHA", false},
    {"TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA", "ECDHE-RSA-AES128-SHA", false},
    {"TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA", "ECDHE-RSA-AES256-SHA", false},
    {"TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256", "ECDHE-ECDSA-AES128-SHA256", false},
    {"TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA256", "ECDHE-RSA-AES128-SHA256", false},
    {"TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256", "ECDHE-RSA-AES128-GCM-SHA256", false},
    {"TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256", "ECDHE-ECDSA-AES128-GCM-SHA256", false},
    {"TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384", "ECDHE-RSA-AES256-GCM-SHA384", false},
    {"TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384", "ECDHE-ECDSA-AES256-GCM-SHA384", false},
    {"TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256", "ECDHE-RSA-CHACHA20-POLY1305", false},
    {"TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256", "ECDHE-ECDSA-CHACHA20-POLY1305", false},
    // Go's older spellings of the two above.
    {"TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305", "ECDHE-RSA-CHACHA20-POLY1305", false},
    {"TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305", "ECDHE-ECDSA-CHACHA20-POLY1305", false},
    {"TLS_AES_128_GCM_SHA256", "TLS_AES_128_GCM_SHA256", true},
    {"TLS_AES_256_GCM_SHA384", "TLS_AES_256_GCM_SHA384", true},
    {"TLS_CHACHA20_POLY1305_SHA256", "TLS_CHACHA20_POLY1305_SHA256", true},
};

struct CipherLists {
  std::string tls12;  // for SSL_CTX_set_cipher_list
  std::string tls13;  // for SSL_CTX_set_ciphersuites; empty: OpenSSL's default
};

// Maps Go/IANA suite names to OpenSSL's lists. Errors: kInvalidArgument naming an unknown suite.
Result<CipherLists> MapCipherSuites(const std::vector<std::string>& names) {
  if (names.empty()) return CipherLists{kDefaultTls12Ciphers, ""};
  CipherLists lists;
  for (const std::string& name : names) {
    const SuiteName* found = nullptr;
    for (const SuiteName& s : kSuites) {
      if (s.iana == name) found = &s;
    }
    if (!found) {
      return MakeError(
          ErrorCode::kInvalidArgument,
          "unknown TLS cipher suite \"" + name +
              "\" (want a Go/IANA name such as TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256)");
    }
    std::string& list = found->tls13 ? lists.tls13 : lists.tls12;
    if (!list.empty()) list += ':';
    list += found->openssl;
  }
  return lists;
}

}  // namespace

Result<std::shared_ptr<asio::ssl::context>> BuildTlsContext(const ServerOptions& o) {
  if (o.tls_certificate.empty() || o.tls_key.empty()) {
    return MakeError(ErrorCode::kIo, "TLS needs both a certificate and a key");
  }
  int min_version = 0;
  if (o.tls_minimum.empty() || o.tls_minimum == "tls1.2") {
    min_version = TLS1_2_VERSION;
  } else if (o.tls_minimum == "tls1.3") {
    min_version = TLS1_3_VERSION;
  } else {
    return MakeError(ErrorCode::kIo, "unknown TLS minimum version \"" + o.tls_minimum +
                                         "\" (want tls1.2 or tls1.3)");
  }
  // OpenSSL leaves the reasons for a failed load in this thread's error queue; asio has already
  // copied the first one into `ec`, and stale entries would confuse later callers on this thread.
  auto fail = [](std::string message) {
    ERR_clear_error();
    return MakeError(ErrorCode::kIo, std::move(message));
  };
  auto ctx = std::make_shared<asio::ssl::context>(asio::ssl::context::tls_server);
  ctx->set_options(asio::ssl::context::default_workarounds | asio::ssl::context::no_sslv2 |
                   asio::ssl::context::no_sslv3 | asio::ssl::context::single_dh_use);
  SSL_CTX_set_min_proto_version(ctx->native_handle(), min_version);
  ErrorCodeT ec;
  ctx->use_certificate_chain_file(o.tls_certificate, ec);
  if (ec) return fail("cannot load TLS certificate " + o.tls_certificate + ": " + ec.message());
  ctx->use_private_key_file(o.tls_key, asio::ssl::context::pem, ec);
  if (ec) return fail("cannot load TLS key " + o.tls_key + ": " + ec.message());
  // A key from another pair can load cleanly (e.g. a half-finished rotation); every handshake would
  // then fail, so refuse it here where the operator sees why.
  if (SSL_CTX_check_private_key(ctx->native_handle()) != 1) {
    return fail("TLS key " + o.tls_key + " does not match certificate " + o.tls_certificate);
  }
  Result<CipherLists> ciphers = MapCipherSuites(o.tls_ciphersuites);
  if (!ciphers) return fail(ciphers.error().message);
  if (ciphers->tls12.empty() && min_version < TLS1_3_VERSION) {
    return fail("http.tls.ciphersuites lists no TLS 1.2 suite while TLS 1.2 is allowed");
  }
  if (!ciphers->tls12.empty() &&
      SSL_CTX_set_cipher_list(ctx->native_handle(), ciphers->tls12.c_str()) != 1) {
    return fail("OpenSSL supports none of the TLS 1.2 cipher suites " + ciphers->tls12);
  }
  if (!ciphers->tls13.empty() &&
      SSL_CTX_set_ciphersuites(ctx->native_handle(), ciphers->tls13.c_str()) != 1) {
    return fail("OpenSSL refused the TLS 1.3 cipher suites " + ciphers->tls13);
  }
  if (!o.tls_client_cas.empty()) {
    // Every listed file is trusted, each may hold several certificates; the names of all of them
    // are sent to clients so that they pick the right certificate.
    STACK_OF(X509_NAME)* names = sk_X509_NAME_new_null();
    for (const std::string& path : o.tls_client_cas) {
      ctx->load_verify_file(path, ec);
      if (ec || (names && SSL_add_file_cert_subjects_to_stack(names, path.c_str()) != 1)) {
        sk_X509_NAME_pop_free(names, X509_NAME_free);
        return fail("cannot load TLS client CAs " + path + ": " +
                    (ec ? ec.message() : std::string("no certificate in it")));
      }
    }
    if (names) SSL_CTX_set_client_CA_list(ctx->native_handle(), names);
    ctx->set_verify_mode(asio::ssl::verify_peer | asio::ssl::verify_fail_if_no_peer_cert, ec);
    if (ec) return fail("cannot require client certificates: " + ec.message());
  }
  return ctx;
}

}  // namespace berth::http
