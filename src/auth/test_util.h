#pragma once
// Shared helpers for the auth tests: temporary directories, files, keys and hand-made tokens.

#include <filesystem>
#include <string>
#include <string_view>

#include "auth/jwt.h"
#include "common/noncopyable.h"

namespace berth::auth::testing {

// A fresh directory under the system temp dir, removed on destruction.
class TempDir : NonCopyable {
 public:
  TempDir();
  ~TempDir();
  std::string Path(std::string_view name) const { return (dir_ / name).string(); }

 private:
  std::filesystem::path dir_;
};

void WriteFile(const std::string& path, std::string_view content);
std::string ReadFile(const std::string& path);

// A new key of `type` (EC P-256 or RSA 2048) as PEM, and a self-signed certificate for it.
struct KeyAndCert {
  std::string key_pem;
  std::string cert_pem;
};
KeyAndCert NewKeyAndCert(KeyType type);

// "b64url(header).b64url(payload)" signed by `key` with its alg (header is used as given).
std::string SignWith(const SigningKey& key, std::string_view header_json,
                     std::string_view payload_json);

// The JWKS document of `cert_pem`'s key (RSA n/e or EC x/y), with `kid`.
std::string JwksFor(const std::string& cert_pem, std::string_view kid);

// A DER SubjectPublicKeyInfo of the certificate's key.
std::string SpkiOf(const std::string& cert_pem);

}  // namespace berth::auth::testing
