#include "auth/jwt.h"

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <sys/stat.h>

#include <cmath>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "auth/encoding.h"
#include "common/strings.h"

namespace berth::auth {
namespace {

using Json = nlohmann::json;

// Owning pointers to OpenSSL objects, each freed by its library function.
template <auto Free>
struct FreeWith {
  template <typename T>
  void operator()(T* p) const {
    Free(p);
  }
};
using PkeyPtr = std::unique_ptr<EVP_PKEY, FreeWith<EVP_PKEY_free>>;
using BioPtr = std::unique_ptr<BIO, FreeWith<BIO_free>>;
using X509Ptr = std::unique_ptr<X509, FreeWith<X509_free>>;
using BnPtr = std::unique_ptr<BIGNUM, FreeWith<BN_free>>;
using MdCtxPtr = std::unique_ptr<EVP_MD_CTX, FreeWith<EVP_MD_CTX_free>>;
using SigPtr = std::unique_ptr<ECDSA_SIG, FreeWith<ECDSA_SIG_free>>;

std::unexpected<Error> Invalid(std::string message) {
  return MakeError(ErrorCode::kInvalidArgument, std::move(message));
}
std::unexpected<Error> Refuse(std::string message) {
  return MakeError(ErrorCode::kUnauthorized, std::move(message));
}

std::string OpensslError() {
  unsigned long e = ERR_get_error();
  ERR_clear_error();
  if (e == 0) return "unknown OpenSSL error";
  char buf[256];
  ERR_error_string_n(e, buf, sizeof buf);
  return buf;
}

Result<std::string> ReadSmallFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return MakeError(ErrorCode::kIo, "cannot read " + path);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::optional<std::string> SpkiDer(EVP_PKEY* key) {
  unsigned char* der = nullptr;
  int n = i2d_PUBKEY(key, &der);
  if (n <= 0) return std::nullopt;
  std::string out(reinterpret_cast<char*>(der), static_cast<size_t>(n));
  OPENSSL_free(der);
  return out;
}

// Which of our two key types `key` is; nullopt for anything else (DSA, Ed25519, P-384, ...).
std::optional<KeyType> TypeOf(EVP_PKEY* key) {
  if (EVP_PKEY_is_a(key, "RSA")) {
    // Short RSA keys are forgeable; Distribution's toolchain also refuses them.
    if (EVP_PKEY_get_bits(key) < 2048) return std::nullopt;
    return KeyType::kRsa;
  }
  if (EVP_PKEY_is_a(key, "EC")) {
    char group[64] = {};
    size_t len = 0;
    if (EVP_PKEY_get_group_name(key, group, sizeof group, &len) != 1) return std::nullopt;
    std::string_view g(group, len);
    if (g == "prime256v1" || g == "P-256" || g == "secp256r1") return KeyType::kEcP256;
  }
  return std::nullopt;
}

// Checks that JSON nesting stays shallow before handing untrusted text to the parser, so hostile
// input cannot make it (or the value's destructor) recurse deeply.
bool ShallowJson(std::string_view s, int max_depth = 16) {
  int depth = 0;
  bool in_string = false;
  bool escape = false;
  for (char c : s) {
    if (in_string) {
      if (escape) {
        escape = false;
      } else if (c == '\\') {
        escape = true;
      } else if (c == '"') {
        in_string = false;
      }
      continue;
    }
    if (c == '"') {
      in_string = true;
    } else if (c == '{' || c == '[') {
      if (++depth > max_depth) return false;
    } else if (c == '}' || c == ']') {
      --depth;
    }
  }
  return true;
}

std::optional<Json> ParseJsonObject(std::string_view text) {
  if (!ShallowJson(text)) return std::nullopt;
  Json j = Json::parse(text.begin(), text.end(), nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object()) return std::nullopt;
  return j;
}

const std::string* StringField(const Json& obj, const char* name) {
  auto it = obj.find(name);
  if (it == obj.end() || !it->is_string()) return nullptr;
  return &it->get_ref<const std::string&>();
}

// A NumericDate (RFC 7519): a JSON number of seconds; fractions are truncated.
enum class TimeField { kAbsent, kBad, kOk };
TimeField NumericDate(const Json& obj, const char* name, int64_t* out) {
  auto it = obj.find(name);
  if (it == obj.end()) return TimeField::kAbsent;
  if (it->is_number_integer()) {
    *out = it->is_number_unsigned()
               ? static_cast<int64_t>(std::min<uint64_t>(it->get<uint64_t>(), uint64_t{1} << 62))
               : it->get<int64_t>();
    return TimeField::kOk;
  }
  if (it->is_number_float()) {
    double d = it->get<double>();
    if (!std::isfinite(d) || d > 4e18 || d < -4e18) return TimeField::kBad;
    *out = static_cast<int64_t>(d);
    return TimeField::kOk;
  }
  return TimeField::kBad;
}

std::string EncodeKeyIdGroups(std::string_view base32) {
  std::string out;
  for (size_t i = 0; i < base32.size(); i += 4) {
    if (i > 0) out += ':';
    out += base32.substr(i, 4);
  }
  return out;
}

Result<std::string> RawToDerSignature(std::string_view raw) {
  if (raw.size() != 64)
    return Refuse("ES256 signature must be 64 bytes, got " + std::to_string(raw.size()));
  auto* bytes = reinterpret_cast<const unsigned char*>(raw.data());
  BnPtr r(BN_bin2bn(bytes, 32, nullptr));
  BnPtr s(BN_bin2bn(bytes + 32, 32, nullptr));
  SigPtr sig(ECDSA_SIG_new());
  if (!r || !s || !sig) return Refuse("out of memory");
  if (ECDSA_SIG_set0(sig.get(), r.get(), s.get()) != 1) return Refuse("bad ES256 signature");
  r.release();
  s.release();
  unsigned char* der = nullptr;
  int n = i2d_ECDSA_SIG(sig.get(), &der);
  if (n <= 0) return Refuse("bad ES256 signature");
  std::string out(reinterpret_cast<char*>(der), static_cast<size_t>(n));
  OPENSSL_free(der);
  return out;
}

bool VerifySignature(EVP_PKEY* key, std::string_view input, std::string_view sig) {
  MdCtxPtr ctx(EVP_MD_CTX_new());
  if (!ctx) return false;
  if (EVP_DigestVerifyInit(ctx.get(), nullptr, EVP_sha256(), nullptr, key) != 1) {
    ERR_clear_error();
    return false;
  }
  int rc =
      EVP_DigestVerify(ctx.get(), reinterpret_cast<const unsigned char*>(sig.data()), sig.size(),
                       reinterpret_cast<const unsigned char*>(input.data()), input.size());
  ERR_clear_error();
  return rc == 1;
}

}  // namespace

std::string LibtrustKeyId(std::string_view spki_der) {
  unsigned char sha[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  if (EVP_Digest(spki_der.data(), spki_der.size(), sha, &len, EVP_sha256(), nullptr) != 1)
    return {};
  std::string raw(reinterpret_cast<char*>(sha), 30);
  // 30 bytes are 240 bits: exactly 48 base32 characters, no padding.
  return EncodeKeyIdGroups(Base32Encode(raw));
}

// ---------------------------------------------------------------------------------------------------
// PublicKeySet

namespace {
struct TrustedKey {
  std::shared_ptr<EVP_PKEY> pkey;
  KeyType type;
  std::vector<std::string> ids;
};
}  // namespace

struct PublicKeySet::Impl {
  using Key = TrustedKey;
  std::vector<Key> keys;

  Status Add(PkeyPtr pkey, std::string explicit_kid, std::string_view what) {
    auto type = TypeOf(pkey.get());
    if (!type)
      return Invalid(std::string(what) +
                     ": only RSA (2048 bits or more) and EC P-256 keys are supported");
    auto der = SpkiDer(pkey.get());
    if (!der) return Invalid(std::string(what) + ": cannot encode public key");
    Key k{std::shared_ptr<EVP_PKEY>(pkey.release(), EVP_PKEY_free), *type, {}};
    if (!explicit_kid.empty()) k.ids.push_back(std::move(explicit_kid));
    k.ids.push_back(LibtrustKeyId(*der));
    keys.push_back(std::move(k));
    return Ok();
  }
};

PublicKeySet::PublicKeySet() : impl_(std::make_shared<Impl>()) {}

size_t PublicKeySet::size() const { return impl_ ? impl_->keys.size() : 0; }
std::vector<std::string> PublicKeySet::KeyIds(size_t i) const { return impl_->keys.at(i).ids; }
KeyType PublicKeySet::key_type(size_t i) const { return impl_->keys.at(i).type; }

void PublicKeySet::Merge(const PublicKeySet& other) {
  // Copy on write: other copies of this set keep their keys.
  auto merged = std::make_shared<Impl>(impl_ ? *impl_ : Impl{});
  if (other.impl_) {
    merged->keys.insert(merged->keys.end(), other.impl_->keys.begin(), other.impl_->keys.end());
  }
  impl_ = std::move(merged);
}

Result<PublicKeySet> PublicKeySet::FromPemBundle(std::string_view pem) {
  PublicKeySet set;
  BioPtr bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  if (!bio) return Invalid("out of memory");
  int index = 0;
  while (true) {
    char* name = nullptr;
    char* header = nullptr;
    unsigned char* data = nullptr;
    long len = 0;
    if (PEM_read_bio(bio.get(), &name, &header, &data, &len) != 1) {
      ERR_clear_error();
      break;
    }
    ++index;
    std::string block_name(name);
    std::string der(reinterpret_cast<char*>(data), static_cast<size_t>(len));
    OPENSSL_free(name);
    OPENSSL_free(header);
    OPENSSL_free(data);
    std::string what = "PEM block " + std::to_string(index) + " (" + block_name + ")";
    const auto* p = reinterpret_cast<const unsigned char*>(der.data());
    if (block_name == "CERTIFICATE") {
      X509Ptr cert(d2i_X509(nullptr, &p, static_cast<long>(der.size())));
      if (!cert) return Invalid(what + ": " + OpensslError());
      PkeyPtr key(X509_get_pubkey(cert.get()));
      if (!key) return Invalid(what + ": " + OpensslError());
      BERTH_RETURN_IF_ERROR(set.impl_->Add(std::move(key), "", what));
    } else if (block_name == "PUBLIC KEY") {
      PkeyPtr key(d2i_PUBKEY(nullptr, &p, static_cast<long>(der.size())));
      if (!key) return Invalid(what + ": " + OpensslError());
      BERTH_RETURN_IF_ERROR(set.impl_->Add(std::move(key), "", what));
    }
    // Other blocks (a private key pasted by mistake, parameters) carry no trust: skip them.
  }
  if (set.size() == 0) return Invalid("no certificates found in the PEM bundle");
  return set;
}

namespace {

// Reads `path` and parses it with `parse`; errors name the file.
Result<PublicKeySet> LoadKeySetFile(const std::string& path,
                                    Result<PublicKeySet> (*parse)(std::string_view)) {
  BERTH_ASSIGN_OR_RETURN(std::string text, ReadSmallFile(path));
  auto set = parse(text);
  if (!set) return Invalid(path + ": " + set.error().message);
  return set;
}

}  // namespace

Result<PublicKeySet> PublicKeySet::LoadPemBundleFile(const std::string& path) {
  return LoadKeySetFile(path, &PublicKeySet::FromPemBundle);
}

namespace {

Result<BnPtr> B64UrlBignum(const Json& jwk, const char* field, std::string_view what) {
  const std::string* s = StringField(jwk, field);
  if (!s) return Invalid(std::string(what) + ": missing \"" + field + "\"");
  auto bytes = Base64UrlDecode(*s);
  if (!bytes || bytes->empty())
    return Invalid(std::string(what) + ": bad base64url in \"" + field + "\"");
  BnPtr bn(BN_bin2bn(reinterpret_cast<const unsigned char*>(bytes->data()),
                     static_cast<int>(bytes->size()), nullptr));
  if (!bn) return Invalid("out of memory");
  return bn;
}

Result<PkeyPtr> PkeyFromParams(const char* type, OSSL_PARAM_BLD* bld, std::string_view what) {
  OSSL_PARAM* params = OSSL_PARAM_BLD_to_param(bld);
  EVP_PKEY_CTX* ctx = EVP_PKEY_CTX_new_from_name(nullptr, type, nullptr);
  EVP_PKEY* pkey = nullptr;
  bool ok = params && ctx && EVP_PKEY_fromdata_init(ctx) == 1 &&
            EVP_PKEY_fromdata(ctx, &pkey, EVP_PKEY_PUBLIC_KEY, params) == 1;
  EVP_PKEY_CTX_free(ctx);
  OSSL_PARAM_free(params);
  if (!ok) return Invalid(std::string(what) + ": " + OpensslError());
  return PkeyPtr(pkey);
}

Result<PkeyPtr> JwkToPkey(const Json& jwk, std::string_view what) {
  const std::string* kty = StringField(jwk, "kty");
  if (!kty) return Invalid(std::string(what) + ": missing \"kty\"");
  std::unique_ptr<OSSL_PARAM_BLD, decltype(&OSSL_PARAM_BLD_free)> bld(OSSL_PARAM_BLD_new(),
                                                                      OSSL_PARAM_BLD_free);
  if (!bld) return Invalid("out of memory");
  if (*kty == "RSA") {
    BERTH_ASSIGN_OR_RETURN(BnPtr n, B64UrlBignum(jwk, "n", what));
    BERTH_ASSIGN_OR_RETURN(BnPtr e, B64UrlBignum(jwk, "e", what));
    if (OSSL_PARAM_BLD_push_BN(bld.get(), OSSL_PKEY_PARAM_RSA_N, n.get()) != 1 ||
        OSSL_PARAM_BLD_push_BN(bld.get(), OSSL_PKEY_PARAM_RSA_E, e.get()) != 1) {
      return Invalid(std::string(what) + ": " + OpensslError());
    }
    return PkeyFromParams("RSA", bld.get(), what);
  }
  if (*kty == "EC") {
    const std::string* crv = StringField(jwk, "crv");
    if (!crv || *crv != "P-256")
      return Invalid(std::string(what) + ": only the P-256 curve is supported");
    const std::string* xs = StringField(jwk, "x");
    const std::string* ys = StringField(jwk, "y");
    auto x = xs ? Base64UrlDecode(*xs) : std::nullopt;
    auto y = ys ? Base64UrlDecode(*ys) : std::nullopt;
    if (!x || !y || x->size() != 32 || y->size() != 32) {
      return Invalid(std::string(what) + ": \"x\" and \"y\" must be 32-byte base64url values");
    }
    std::string point = "\x04" + *x + *y;
    static char kGroup[] = "prime256v1";
    if (OSSL_PARAM_BLD_push_utf8_string(bld.get(), OSSL_PKEY_PARAM_GROUP_NAME, kGroup, 0) != 1 ||
        OSSL_PARAM_BLD_push_octet_string(bld.get(), OSSL_PKEY_PARAM_PUB_KEY, point.data(),
                                         point.size()) != 1) {
      return Invalid(std::string(what) + ": " + OpensslError());
    }
    BERTH_ASSIGN_OR_RETURN(PkeyPtr key, PkeyFromParams("EC", bld.get(), what));
    // fromdata does not check that the point lies on the curve; an off-curve point is an attack.
    EVP_PKEY_CTX* ctx = EVP_PKEY_CTX_new_from_pkey(nullptr, key.get(), nullptr);
    bool on_curve = ctx && EVP_PKEY_public_check(ctx) == 1;
    EVP_PKEY_CTX_free(ctx);
    ERR_clear_error();
    if (!on_curve) return Invalid(std::string(what) + ": the point is not on P-256");
    return key;
  }
  return Invalid(std::string(what) + ": unsupported kty \"" + *kty + "\"");
}

}  // namespace

Result<PublicKeySet> PublicKeySet::FromJwks(std::string_view json) {
  auto doc = ParseJsonObject(json);
  if (!doc) return Invalid("JWKS is not a JSON object");
  auto keys = doc->find("keys");
  if (keys == doc->end() || !keys->is_array()) return Invalid("JWKS has no \"keys\" array");
  PublicKeySet set;
  size_t index = 0;
  for (const Json& jwk : *keys) {
    std::string what = "JWKS key " + std::to_string(index++);
    if (!jwk.is_object()) return Invalid(what + ": not an object");
    if (const std::string* use = StringField(jwk, "use"); use && *use != "sig") continue;
    const std::string* kid = StringField(jwk, "kid");
    if (kid) what += " (kid " + *kid + ")";
    BERTH_ASSIGN_OR_RETURN(PkeyPtr key, JwkToPkey(jwk, what));
    BERTH_RETURN_IF_ERROR(set.impl_->Add(std::move(key), kid ? *kid : "", what));
  }
  if (set.size() == 0) return Invalid("JWKS holds no signing keys");
  return set;
}

Result<PublicKeySet> PublicKeySet::LoadJwksFile(const std::string& path) {
  return LoadKeySetFile(path, &PublicKeySet::FromJwks);
}

// ---------------------------------------------------------------------------------------------------
// Verification

namespace {

Result<JwtClaims> CheckClaims(const Json& payload, const VerifyOptions& options) {
  JwtClaims c;
  const std::string* iss = StringField(payload, "iss");
  if (!iss || *iss != options.issuer) {
    return Refuse("token issuer \"" + (iss ? *iss : std::string()) + "\" is not \"" +
                  options.issuer + "\"");
  }
  c.issuer = *iss;
  if (const std::string* sub = StringField(payload, "sub")) c.subject = *sub;
  if (const std::string* jti = StringField(payload, "jti")) c.jwt_id = *jti;

  auto aud = payload.find("aud");
  if (aud != payload.end()) {
    if (aud->is_string()) {
      c.audience.push_back(aud->get<std::string>());
    } else if (aud->is_array()) {
      for (const Json& a : *aud) {
        if (!a.is_string()) return Refuse("token audience holds a non-string");
        c.audience.push_back(a.get<std::string>());
      }
    } else {
      return Refuse("token audience is neither a string nor an array");
    }
  }
  if (std::find(c.audience.begin(), c.audience.end(), options.audience) == c.audience.end()) {
    return Refuse("token audience does not include \"" + options.audience + "\"");
  }

  int64_t now =
      std::chrono::duration_cast<std::chrono::seconds>(options.clock->Now().time_since_epoch())
          .count();
  int64_t leeway = options.leeway.count();
  int64_t t = 0;
  switch (NumericDate(payload, "exp", &t)) {
    case TimeField::kAbsent:
      return Refuse("token has no expiry (exp)");
    case TimeField::kBad:
      return Refuse("token expiry (exp) is not a number");
    case TimeField::kOk:
      if (now >= t + leeway) return Refuse("token expired at " + std::to_string(t));
      c.expires_at = t;
  }
  // nbf and iat are optional, and neither may lie in the future.
  struct OptionalTime {
    const char* claim;
    const char* refusal;  // followed by the claim's value
    std::optional<int64_t> JwtClaims::*field;
  };
  for (const OptionalTime& o :
       {OptionalTime{"nbf", "token not valid before ", &JwtClaims::not_before},
        OptionalTime{"iat", "token issued in the future at ", &JwtClaims::issued_at}}) {
    TimeField f = NumericDate(payload, o.claim, &t);
    if (f == TimeField::kAbsent) continue;
    if (f == TimeField::kBad) return Refuse(std::string("token ") + o.claim + " is not a number");
    if (t > now + leeway) return Refuse(o.refusal + std::to_string(t));
    c.*o.field = t;
  }

  auto access = payload.find("access");
  if (access != payload.end() && !access->is_null()) {
    if (!access->is_array()) return Refuse("token access claim is not an array");
    for (const Json& entry : *access) {
      const std::string* type = entry.is_object() ? StringField(entry, "type") : nullptr;
      const std::string* name = entry.is_object() ? StringField(entry, "name") : nullptr;
      if (!type || !name) return Refuse("token access entry lacks type or name");
      ResourceActions ra{*type, *name, {}};
      auto actions = entry.find("actions");
      if (actions != entry.end() && !actions->is_null()) {
        if (!actions->is_array()) return Refuse("token access actions is not an array");
        for (const Json& a : *actions) {
          if (!a.is_string()) return Refuse("token access action is not a string");
          ra.actions.push_back(a.get<std::string>());
        }
      }
      c.access.push_back(std::move(ra));
    }
  }
  return c;
}

Result<JwtClaims> VerifyJwtImpl(std::string_view token, const std::vector<TrustedKey>* keys,
                                const VerifyOptions& options);

}  // namespace

Result<JwtClaims> VerifyJwt(std::string_view token, const PublicKeySet& keys,
                            const VerifyOptions& options) {
  static const std::vector<TrustedKey> kNone;
  const auto* list = keys.impl_ ? &keys.impl_->keys : &kNone;
  // The JSON library reports some misuse by exception; nothing below should trigger one, but a
  // token must never take the process down, so refuse instead.
  try {
    return VerifyJwtImpl(token, list, options);
  } catch (const std::exception& e) {
    return Refuse(std::string("malformed token: ") + e.what());
  }
}

namespace {

Result<JwtClaims> VerifyJwtImpl(std::string_view token, const std::vector<TrustedKey>* keys,
                                const VerifyOptions& options) {
  if (token.size() > options.max_token_size) {
    return Refuse("token is " + std::to_string(token.size()) + " bytes, over the limit of " +
                  std::to_string(options.max_token_size));
  }
  size_t dot1 = token.find('.');
  size_t dot2 = dot1 == std::string_view::npos ? dot1 : token.find('.', dot1 + 1);
  if (dot2 == std::string_view::npos || token.find('.', dot2 + 1) != std::string_view::npos) {
    return Refuse("token is not a compact JWS (three dot-separated parts)");
  }
  std::string_view header_b64 = token.substr(0, dot1);
  std::string_view payload_b64 = token.substr(dot1 + 1, dot2 - dot1 - 1);
  std::string_view sig_b64 = token.substr(dot2 + 1);
  auto header_text = Base64UrlDecode(header_b64);
  auto payload_text = Base64UrlDecode(payload_b64);
  auto sig = Base64UrlDecode(sig_b64);
  if (!header_text || !payload_text || !sig) return Refuse("token is not valid base64url");
  auto header = ParseJsonObject(*header_text);
  if (!header) return Refuse("token header is not a JSON object");

  const std::string* alg = StringField(*header, "alg");
  if (!alg) return Refuse("token header has no alg");
  KeyType want;
  if (*alg == "RS256") {
    want = KeyType::kRsa;
  } else if (*alg == "ES256") {
    want = KeyType::kEcP256;
  } else {
    return Refuse("token alg \"" + *alg + "\" is not accepted (only RS256 and ES256)");
  }
  // "crit" names extensions we would have to understand; we understand none (RFC 7515 4.1.11).
  if (header->contains("crit")) return Refuse("token header has crit extensions");
  if (sig->empty()) return Refuse("token has no signature");

  std::string sig_bytes = *sig;
  if (want == KeyType::kEcP256) {
    BERTH_ASSIGN_OR_RETURN(sig_bytes, RawToDerSignature(*sig));
  }

  std::vector<const TrustedKey*> candidates;
  auto kid_it = header->find("kid");
  if (kid_it != header->end()) {
    if (!kid_it->is_string()) return Refuse("token kid is not a string");
    const std::string& kid = kid_it->get_ref<const std::string&>();
    bool other_type = false;
    for (const auto& k : *keys) {
      if (std::find(k.ids.begin(), k.ids.end(), kid) == k.ids.end()) continue;
      if (k.type == want) {
        candidates.push_back(&k);
      } else {
        other_type = true;
      }
    }
    if (candidates.empty()) {
      return Refuse(other_type ? "token alg " + *alg + " does not match the type of key " + kid
                               : "token signed by untrusted key with ID " + kid);
    }
  } else {
    for (const auto& k : *keys) {
      if (k.type == want) candidates.push_back(&k);
    }
    if (candidates.empty()) return Refuse("no trusted key for alg " + *alg);
  }

  std::string_view signing_input = token.substr(0, dot2);
  bool verified = false;
  for (const auto* k : candidates) {
    if (VerifySignature(k->pkey.get(), signing_input, sig_bytes)) {
      verified = true;
      break;
    }
  }
  if (!verified) return Refuse("token signature does not verify");

  auto payload = ParseJsonObject(*payload_text);
  if (!payload) return Refuse("token payload is not a JSON object");
  return CheckClaims(*payload, options);
}

}  // namespace

// ---------------------------------------------------------------------------------------------------
// SigningKey

struct SigningKey::Impl {
  std::shared_ptr<EVP_PKEY> pkey;
  KeyType type;
  std::string kid;
  std::string spki_der;
};

SigningKey::SigningKey() = default;
SigningKey::~SigningKey() = default;
SigningKey::SigningKey(SigningKey&&) noexcept = default;
SigningKey& SigningKey::operator=(SigningKey&&) noexcept = default;

Result<SigningKey> SigningKey::FromPem(std::string_view pem) {
  BioPtr bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  if (!bio) return Invalid("out of memory");
  PkeyPtr pkey(PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr));
  if (!pkey) return Invalid("no private key in PEM: " + OpensslError());
  auto type = TypeOf(pkey.get());
  if (!type) return Invalid("signing key must be RSA (2048 bits or more) or EC P-256");
  auto der = SpkiDer(pkey.get());
  if (!der) return Invalid("cannot encode the public key");
  SigningKey key;
  key.impl_ = std::make_shared<Impl>();
  key.impl_->type = *type;
  key.impl_->kid = LibtrustKeyId(*der);
  key.impl_->spki_der = std::move(*der);
  key.impl_->pkey = std::shared_ptr<EVP_PKEY>(pkey.release(), EVP_PKEY_free);
  return key;
}

Result<SigningKey> SigningKey::LoadFile(const std::string& path) {
  BERTH_ASSIGN_OR_RETURN(std::string pem, ReadSmallFile(path));
  auto key = FromPem(pem);
  if (!key) return Invalid(path + ": " + key.error().message);
  return key;
}

KeyType SigningKey::type() const { return impl_->type; }
std::string_view SigningKey::alg() const {
  return impl_->type == KeyType::kRsa ? "RS256" : "ES256";
}
const std::string& SigningKey::kid() const { return impl_->kid; }

PublicKeySet SigningKey::PublicKeys() const {
  std::string pem = "-----BEGIN PUBLIC KEY-----\n" + Base64Encode(impl_->spki_der) +
                    "\n-----END PUBLIC KEY-----\n";
  // Our own key re-read: cannot fail short of memory exhaustion.
  auto set = PublicKeySet::FromPemBundle(pem);
  return set ? std::move(*set) : PublicKeySet();
}

Result<std::string> SigningKey::SignRaw(std::string_view signing_input) const {
  if (!impl_) return Invalid("empty signing key");
  MdCtxPtr ctx(EVP_MD_CTX_new());
  size_t len = 0;
  if (!ctx ||
      EVP_DigestSignInit(ctx.get(), nullptr, EVP_sha256(), nullptr, impl_->pkey.get()) != 1 ||
      EVP_DigestSign(ctx.get(), nullptr, &len,
                     reinterpret_cast<const unsigned char*>(signing_input.data()),
                     signing_input.size()) != 1) {
    return MakeError(ErrorCode::kUnknown, "signing failed: " + OpensslError());
  }
  std::string sig(len, '\0');
  if (EVP_DigestSign(ctx.get(), reinterpret_cast<unsigned char*>(sig.data()), &len,
                     reinterpret_cast<const unsigned char*>(signing_input.data()),
                     signing_input.size()) != 1) {
    return MakeError(ErrorCode::kUnknown, "signing failed: " + OpensslError());
  }
  sig.resize(len);
  if (impl_->type == KeyType::kRsa) return sig;
  // OpenSSL writes ECDSA signatures as DER; JWS wants r||s, each left-padded to 32 bytes.
  const auto* p = reinterpret_cast<const unsigned char*>(sig.data());
  SigPtr ecdsa(d2i_ECDSA_SIG(nullptr, &p, static_cast<long>(sig.size())));
  if (!ecdsa) return MakeError(ErrorCode::kUnknown, "signing failed: bad ECDSA signature");
  std::string raw(64, '\0');
  const BIGNUM* r = ECDSA_SIG_get0_r(ecdsa.get());
  const BIGNUM* s = ECDSA_SIG_get0_s(ecdsa.get());
  if (BN_bn2binpad(r, reinterpret_cast<unsigned char*>(raw.data()), 32) != 32 ||
      BN_bn2binpad(s, reinterpret_cast<unsigned char*>(raw.data()) + 32, 32) != 32) {
    return MakeError(ErrorCode::kUnknown, "signing failed: ECDSA value too large");
  }
  return raw;
}

Result<std::string> SigningKey::Sign(std::string_view payload_json) const {
  if (!impl_) return Invalid("empty signing key");
  Json header = {{"typ", "JWT"}, {"alg", std::string(alg())}, {"kid", impl_->kid}};
  std::string input = Base64UrlEncode(header.dump()) + "." + Base64UrlEncode(payload_json);
  BERTH_ASSIGN_OR_RETURN(std::string sig, SignRaw(input));
  return input + "." + Base64UrlEncode(sig);
}

Status GenerateSigningKeyFiles(const std::string& key_path, const std::string& cert_path,
                               KeyType type, std::string_view common_name, int days) {
  PkeyPtr pkey(type == KeyType::kRsa ? EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", size_t{3072})
                                     : EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256"));
  if (!pkey) return MakeError(ErrorCode::kIo, "key generation failed: " + OpensslError());

  X509Ptr cert(X509_new());
  if (!cert) return MakeError(ErrorCode::kIo, "out of memory");
  X509_set_version(cert.get(), 2);
  BnPtr serial(BN_new());
  BN_rand(serial.get(), 120, BN_RAND_TOP_ANY, BN_RAND_BOTTOM_ANY);
  BN_to_ASN1_INTEGER(serial.get(), X509_get_serialNumber(cert.get()));
  X509_gmtime_adj(X509_getm_notBefore(cert.get()), 0);
  X509_gmtime_adj(X509_getm_notAfter(cert.get()), static_cast<long>(days) * 24 * 3600);
  X509_set_pubkey(cert.get(), pkey.get());
  X509_NAME* subject = X509_get_subject_name(cert.get());
  std::string cn(common_name);
  X509_NAME_add_entry_by_txt(subject, "CN", MBSTRING_UTF8,
                             reinterpret_cast<const unsigned char*>(cn.c_str()), -1, -1, 0);
  X509_set_issuer_name(cert.get(), subject);
  if (X509_sign(cert.get(), pkey.get(), EVP_sha256()) <= 0) {
    return MakeError(ErrorCode::kIo, "certificate signing failed: " + OpensslError());
  }

  BioPtr key_bio(BIO_new(BIO_s_mem()));
  BioPtr cert_bio(BIO_new(BIO_s_mem()));
  if (!key_bio || !cert_bio ||
      PEM_write_bio_PrivateKey(key_bio.get(), pkey.get(), nullptr, nullptr, 0, nullptr, nullptr) !=
          1 ||
      PEM_write_bio_X509(cert_bio.get(), cert.get()) != 1) {
    return MakeError(ErrorCode::kIo, "PEM encoding failed: " + OpensslError());
  }
  auto contents = [](BIO* b) {
    char* data = nullptr;
    long n = BIO_get_mem_data(b, &data);
    return std::string(data, static_cast<size_t>(n));
  };
  auto write = [](const std::string& path, const std::string& data, mode_t mode) -> Status {
    std::string tmp = path + ".tmp-" + RandomHex(6);
    FILE* f = std::fopen(tmp.c_str(), "wx");
    if (!f) return MakeError(ErrorCode::kIo, "cannot create " + tmp);
    ::chmod(tmp.c_str(), mode);
    bool ok = std::fwrite(data.data(), 1, data.size(), f) == data.size();
    ok = (std::fflush(f) == 0) && ok;
    ok = (std::fclose(f) == 0) && ok;
    if (!ok || std::rename(tmp.c_str(), path.c_str()) != 0) {
      std::remove(tmp.c_str());
      return MakeError(ErrorCode::kIo, "cannot write " + path);
    }
    return Ok();
  };
  BERTH_RETURN_IF_ERROR(write(key_path, contents(key_bio.get()), 0600));
  BERTH_RETURN_IF_ERROR(write(cert_path, contents(cert_bio.get()), 0644));
  return Ok();
}

}  // namespace berth::auth
