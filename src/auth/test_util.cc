#include "auth/test_util.h"

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <stdexcept>

#include "auth/encoding.h"
#include "common/strings.h"

namespace berth::auth::testing {

TempDir::TempDir() : dir_(std::filesystem::temp_directory_path() / ("berth-auth-" + RandomHex(8))) {
  std::filesystem::create_directories(dir_);
}
TempDir::~TempDir() {
  std::error_code ec;
  std::filesystem::remove_all(dir_, ec);
}

void WriteFile(const std::string& path, std::string_view content) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << content;
  if (!out) throw std::runtime_error("cannot write " + path);
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

KeyAndCert NewKeyAndCert(KeyType type) {
  TempDir dir;
  auto st = GenerateSigningKeyFiles(dir.Path("key.pem"), dir.Path("cert.pem"), type, "test");
  if (!st) throw std::runtime_error(st.error().ToString());
  return {ReadFile(dir.Path("key.pem")), ReadFile(dir.Path("cert.pem"))};
}

std::string SignWith(const SigningKey& key, std::string_view header_json,
                     std::string_view payload_json) {
  std::string input = Base64UrlEncode(header_json) + "." + Base64UrlEncode(payload_json);
  auto sig = key.SignRaw(input);
  if (!sig) throw std::runtime_error(sig.error().ToString());
  return input + "." + Base64UrlEncode(*sig);
}

namespace {
EVP_PKEY* CertKey(const std::string& cert_pem) {
  BIO* bio = BIO_new_mem_buf(cert_pem.data(), static_cast<int>(cert_pem.size()));
  X509* cert = PEM_read_bio_X509(bio, nullptr, nullptr, nullptr);
  BIO_free(bio);
  if (!cert) throw std::runtime_error("bad certificate");
  EVP_PKEY* key = X509_get_pubkey(cert);
  X509_free(cert);
  return key;
}
std::string BnBytes(const BIGNUM* bn, int pad = 0) {
  std::string out(pad ? pad : BN_num_bytes(bn), '\0');
  if (pad) {
    BN_bn2binpad(bn, reinterpret_cast<unsigned char*>(out.data()), pad);
  } else {
    BN_bn2bin(bn, reinterpret_cast<unsigned char*>(out.data()));
  }
  return out;
}
}  // namespace

std::string JwksFor(const std::string& cert_pem, std::string_view kid) {
  EVP_PKEY* key = CertKey(cert_pem);
  nlohmann::json jwk;
  if (EVP_PKEY_is_a(key, "RSA")) {
    BIGNUM* n = nullptr;
    BIGNUM* e = nullptr;
    EVP_PKEY_get_bn_param(key, OSSL_PKEY_PARAM_RSA_N, &n);
    EVP_PKEY_get_bn_param(key, OSSL_PKEY_PARAM_RSA_E, &e);
    jwk = {{"kty", "RSA"}, {"n", Base64UrlEncode(BnBytes(n))}, {"e", Base64UrlEncode(BnBytes(e))}};
    BN_free(n);
    BN_free(e);
  } else {
    BIGNUM* x = nullptr;
    BIGNUM* y = nullptr;
    EVP_PKEY_get_bn_param(key, OSSL_PKEY_PARAM_EC_PUB_X, &x);
    EVP_PKEY_get_bn_param(key, OSSL_PKEY_PARAM_EC_PUB_Y, &y);
    jwk = {{"kty", "EC"},
           {"crv", "P-256"},
           {"x", Base64UrlEncode(BnBytes(x, 32))},
           {"y", Base64UrlEncode(BnBytes(y, 32))}};
    BN_free(x);
    BN_free(y);
  }
  EVP_PKEY_free(key);
  if (!kid.empty()) jwk["kid"] = std::string(kid);
  jwk["use"] = "sig";
  return nlohmann::json{{"keys", nlohmann::json::array({jwk})}}.dump();
}

std::string SpkiOf(const std::string& cert_pem) {
  EVP_PKEY* key = CertKey(cert_pem);
  unsigned char* der = nullptr;
  int n = i2d_PUBKEY(key, &der);
  std::string out(reinterpret_cast<char*>(der), static_cast<size_t>(n));
  OPENSSL_free(der);
  EVP_PKEY_free(key);
  return out;
}

}  // namespace berth::auth::testing
