#pragma once
// JSON Web Tokens as Docker's token-auth spec uses them: compact JWS, signed RS256 (RSA PKCS#1 v1.5
// with SHA-256) or ES256 (ECDSA P-256 with SHA-256, the signature being raw r||s, 64 bytes).
//
// Verification refuses, before any cryptography: tokens over `max_token_size` (16 KiB), anything
// but three base64url parts, alg "none", HS* and every other alg, and an alg that does not match
// the key's type (an RSA key never verifies an ES256 token and vice versa, and no key is ever used
// as an HMAC secret, so the "HS256 signed with the public key" confusion cannot happen).
//
// Key selection: with a `kid` header, only keys with that ID are tried (an unknown kid is refused);
// without one, every key of the alg's type. A key's IDs are its JWKS `kid` (if any) and its
// libtrust key ID, the format Distribution uses for certificates in `rootcertbundle`:
//   base32(SHA-256(DER SubjectPublicKeyInfo)[0:30]) = 48 characters, in 12 groups of 4 joined by
//   ':' e.g. "ABCD:EFGH:...". (The `x5c` header is not used.)
//
// Claims checked: `iss` equals the configured issuer; `aud` (string or array) contains the
// configured service; `exp` present and `now < exp + leeway`; `nbf` and `iat`, when present, `<=
// now + leeway`; `access`, when present, an array of {type, name, actions[]} (anything else refuses
// the token).
//
// Errors: every refusal is kUnauthorized, with a message saying why (for logs; clients get
// `invalid_token`). Nothing here throws. Thread-safety: PublicKeySet and SigningKey are immutable
// after construction and safe to share between threads.

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "auth/scope.h"
#include "common/error.h"
#include "common/time.h"

namespace berth::auth {

inline constexpr size_t kMaxTokenSize = 16 * 1024;

// The libtrust key ID of a DER SubjectPublicKeyInfo.
std::string LibtrustKeyId(std::string_view spki_der);

struct JwtClaims {
  std::string issuer;
  std::string subject;
  std::vector<std::string> audience;
  std::string jwt_id;
  int64_t expires_at = 0;             // exp, seconds since the epoch
  std::optional<int64_t> not_before;  // nbf
  std::optional<int64_t> issued_at;   // iat
  std::vector<ResourceActions> access;
};

enum class KeyType { kRsa, kEcP256 };

struct VerifyOptions {
  std::string issuer;
  std::string audience;  // the service name
  const Clock* clock = &SystemClock();
  std::chrono::seconds leeway{60};
  size_t max_token_size = kMaxTokenSize;
};

class PublicKeySet;
Result<JwtClaims> VerifyJwt(std::string_view token, const PublicKeySet& keys,
                            const VerifyOptions& options);

// Public keys that may sign tokens. Copies share the (immutable) keys.
class PublicKeySet {
 public:
  PublicKeySet();  // empty; copies and moves are the implicit ones (the keys are shared)

  // PEM X.509 certificates (Distribution's `rootcertbundle`); bare "PUBLIC KEY" blocks are also
  // taken. Errors: kInvalidArgument when there is no usable key or a block does not parse.
  static Result<PublicKeySet> FromPemBundle(std::string_view pem);
  // {"keys":[{"kty":"RSA","n":..,"e":..,"kid":..}, {"kty":"EC","crv":"P-256","x":..,"y":..}]}.
  // Keys with "use" other than "sig" are skipped. Errors: kInvalidArgument.
  static Result<PublicKeySet> FromJwks(std::string_view json);
  static Result<PublicKeySet> LoadPemBundleFile(const std::string& path);  // + kIo
  static Result<PublicKeySet> LoadJwksFile(const std::string& path);       // + kIo
  void Merge(const PublicKeySet& other);

  size_t size() const;
  // All IDs of key i: the JWKS kid (when given) then the libtrust ID.
  std::vector<std::string> KeyIds(size_t i) const;
  KeyType key_type(size_t i) const;

 private:
  friend Result<JwtClaims> VerifyJwt(std::string_view, const PublicKeySet&, const VerifyOptions&);
  struct Impl;
  std::shared_ptr<Impl> impl_;
};

// A private key that signs tokens (the built-in token service).
class SigningKey {
 public:
  SigningKey();
  ~SigningKey();
  SigningKey(SigningKey&&) noexcept;
  SigningKey& operator=(SigningKey&&) noexcept;

  // PEM private key, RSA (>= 2048 bits) or EC P-256. Errors: kInvalidArgument.
  static Result<SigningKey> FromPem(std::string_view pem);
  static Result<SigningKey> LoadFile(const std::string& path);  // + kIo

  KeyType type() const;
  std::string_view alg() const;    // "RS256" | "ES256"
  const std::string& kid() const;  // libtrust key ID
  // The public half, for verifying what this key signs.
  PublicKeySet PublicKeys() const;

  // The compact JWS of `payload_json` with header {"typ":"JWT","alg":..,"kid":..}.
  Result<std::string> Sign(std::string_view payload_json) const;
  // The raw JWS signature (RS256: PKCS#1 v1.5; ES256: r||s) of `signing_input` ("b64(header).b64(
  // payload)"); tests use it to build tokens with unusual headers.
  Result<std::string> SignRaw(std::string_view signing_input) const;

 private:
  struct Impl;
  std::shared_ptr<Impl> impl_;
};

// Generates a signing key and a self-signed certificate for it (valid `days`, subject CN
// `common_name`), written to `key_path` (mode 0600) and `cert_path`: what a first start needs, the
// certificate doubling as the `rootcertbundle` of the registry. Errors: kIo, kInvalidArgument.
Status GenerateSigningKeyFiles(const std::string& key_path, const std::string& cert_path,
                               KeyType type = KeyType::kEcP256,
                               std::string_view common_name = "berth token signer",
                               int days = 3650);

}  // namespace berth::auth
