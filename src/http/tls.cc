#include "http/tls.h"

#include <openssl/err.h>
#include <openssl/ssl.h>

#include <string>

namespace berth::http {

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
  if (!o.tls_client_cas.empty()) {
    ctx->load_verify_file(o.tls_client_cas, ec);
    if (ec) return fail("cannot load TLS client CAs " + o.tls_client_cas + ": " + ec.message());
    // Tell clients which CAs are acceptable so they pick the right certificate.
    if (STACK_OF(X509_NAME)* names = SSL_load_client_CA_file(o.tls_client_cas.c_str())) {
      SSL_CTX_set_client_CA_list(ctx->native_handle(), names);
    }
    ctx->set_verify_mode(asio::ssl::verify_peer | asio::ssl::verify_fail_if_no_peer_cert, ec);
    if (ec) return fail("cannot require client certificates: " + ec.message());
  }
  return ctx;
}

}  // namespace berth::http
