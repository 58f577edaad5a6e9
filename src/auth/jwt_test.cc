#include "auth/jwt.h"

#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/pem.h>
#include <sys/stat.h>

#include <nlohmann/json.hpp>
#include <random>
#include <regex>

#include "auth/encoding.h"
#include "auth/test_util.h"
#include "common/random_testing.h"

namespace berth::auth {
namespace {

using Json = nlohmann::json;
using testing::KeyAndCert;
using testing::NewKeyAndCert;
using testing::SignWith;
using namespace std::chrono_literals;

constexpr int64_t kNow = 1'700'000'000;

// Keys are slow to make (RSA); make each kind once.
const KeyAndCert& Ec() {
  static const KeyAndCert k = NewKeyAndCert(KeyType::kEcP256);
  return k;
}
const KeyAndCert& Rsa() {
  static const KeyAndCert k = NewKeyAndCert(KeyType::kRsa);
  return k;
}
const KeyAndCert& Ec2() {
  static const KeyAndCert k = NewKeyAndCert(KeyType::kEcP256);
  return k;
}

class Jwt : public ::testing::Test {
 protected:
  Jwt() : clock_(SystemTime(std::chrono::seconds(kNow))) {
    options_.issuer = "berth-issuer";
    options_.audience = "registry.example";
    options_.clock = &clock_;
  }
  static SigningKey Key(const KeyAndCert& k) { return *SigningKey::FromPem(k.key_pem); }
  static PublicKeySet Bundle(const KeyAndCert& k) {
    return *PublicKeySet::FromPemBundle(k.cert_pem);
  }
  static Json Claims() {
    return {{"iss", "berth-issuer"},
            {"sub", "alice"},
            {"aud", "registry.example"},
            {"exp", kNow + 300},
            {"nbf", kNow},
            {"iat", kNow},
            {"jti", "abc"},
            {"access",
             {{{"type", "repository"}, {"name", "team/app"}, {"actions", {"pull", "push"}}}}}};
  }
  static std::string Header(const SigningKey& key) {
    return Json{{"typ", "JWT"}, {"alg", std::string(key.alg())}, {"kid", key.kid()}}.dump();
  }
  FakeClock clock_;
  VerifyOptions options_;
};

TEST(LibtrustKeyId, KnownAnswer) {
  EXPECT_EQ(LibtrustKeyId("berth-spki"),
            "UMDB:RHHA:G52R:OEAW:ZXJH:3BUM:SKL2:GQ3M:FOBE:5MNP:LGIQ:KZWI");
}

TEST(LibtrustKeyId, StableAndSharedByCertificateAndKey) {
  std::string kid = LibtrustKeyId(testing::SpkiOf(Ec().cert_pem));
  EXPECT_TRUE(std::regex_match(kid, std::regex("([A-Z2-7]{4}:){11}[A-Z2-7]{4}"))) << kid;
  auto set = PublicKeySet::FromPemBundle(Ec().cert_pem);
  ASSERT_TRUE(set);
  EXPECT_EQ(set->KeyIds(0), std::vector<std::string>{kid});
  EXPECT_EQ(SigningKey::FromPem(Ec().key_pem)->kid(), kid);
  EXPECT_EQ(LibtrustKeyId(testing::SpkiOf(Ec().cert_pem)), kid);
  EXPECT_NE(SigningKey::FromPem(Rsa().key_pem)->kid(), kid);
}

TEST_F(Jwt, Es256RoundTrip) {
  SigningKey key = Key(Ec());
  EXPECT_EQ(key.alg(), "ES256");
  auto token = key.Sign(Claims().dump());
  ASSERT_TRUE(token);
  auto c = VerifyJwt(*token, Bundle(Ec()), options_);
  ASSERT_TRUE(c) << c.error().ToString();
  EXPECT_EQ(c->subject, "alice");
  EXPECT_EQ(c->expires_at, kNow + 300);
  ASSERT_EQ(c->access.size(), 1u);
  EXPECT_EQ(c->access[0], (ResourceActions{"repository", "team/app", {"pull", "push"}}));
}

TEST_F(Jwt, Rs256RoundTrip) {
  SigningKey key = Key(Rsa());
  EXPECT_EQ(key.alg(), "RS256");
  auto c = VerifyJwt(*key.Sign(Claims().dump()), Bundle(Rsa()), options_);
  ASSERT_TRUE(c) << c.error().ToString();
  EXPECT_EQ(c->issuer, "berth-issuer");
}

TEST_F(Jwt, WithoutKidEveryKeyOfTheTypeIsTried) {
  PublicKeySet keys = Bundle(Ec2());
  keys.Merge(Bundle(Rsa()));
  keys.Merge(Bundle(Ec()));
  SigningKey key = Key(Ec());
  std::string token = SignWith(key, R"({"alg":"ES256"})", Claims().dump());
  EXPECT_TRUE(VerifyJwt(token, keys, options_));
}

TEST_F(Jwt, JwksKeysMatchByKidOrLibtrustId) {
  auto jwks = PublicKeySet::FromJwks(testing::JwksFor(Rsa().cert_pem, "rsa-1"));
  ASSERT_TRUE(jwks) << jwks.error().ToString();
  auto ec = PublicKeySet::FromJwks(testing::JwksFor(Ec().cert_pem, "ec-1"));
  ASSERT_TRUE(ec) << ec.error().ToString();
  jwks->Merge(*ec);
  ASSERT_EQ(jwks->size(), 2u);
  EXPECT_EQ(jwks->KeyIds(1)[0], "ec-1");
  EXPECT_EQ(jwks->KeyIds(1)[1], Key(Ec()).kid());

  std::string rsa_token = SignWith(Key(Rsa()), R"({"alg":"RS256","kid":"rsa-1"})", Claims().dump());
  EXPECT_TRUE(VerifyJwt(rsa_token, *jwks, options_));
  std::string ec_token = SignWith(Key(Ec()), R"({"alg":"ES256","kid":"ec-1"})", Claims().dump());
  EXPECT_TRUE(VerifyJwt(ec_token, *jwks, options_));
  EXPECT_TRUE(VerifyJwt(*Key(Ec()).Sign(Claims().dump()), *jwks, options_));  // libtrust kid
  std::string unknown = SignWith(Key(Ec()), R"({"alg":"ES256","kid":"ec-2"})", Claims().dump());
  auto r = VerifyJwt(unknown, *jwks, options_);
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("untrusted key"), std::string::npos);
}

TEST(JwksLoading, RefusesBadKeys) {
  EXPECT_FALSE(PublicKeySet::FromJwks("not json"));
  EXPECT_FALSE(PublicKeySet::FromJwks("{}"));
  EXPECT_FALSE(PublicKeySet::FromJwks(R"({"keys":[]})"));
  EXPECT_FALSE(PublicKeySet::FromJwks(R"({"keys":[{"kty":"oct","k":"c2VjcmV0"}]})"));
  EXPECT_FALSE(PublicKeySet::FromJwks(R"({"keys":[{"kty":"RSA","n":"AQAB"}]})"));
  EXPECT_FALSE(
      PublicKeySet::FromJwks(R"({"keys":[{"kty":"RSA","n":"AQAB","e":"AQAB"}]})"));  // tiny
  std::string x = Base64UrlEncode(std::string(32, '\x01'));
  EXPECT_FALSE(PublicKeySet::FromJwks(R"({"keys":[{"kty":"EC","crv":"P-256","x":")" + x +
                                      R"(","y":")" + x + R"("}]})"));  // not on the curve
  EXPECT_FALSE(
      PublicKeySet::FromJwks(R"({"keys":[{"kty":"EC","crv":"P-384","x":"AA","y":"AA"}]})"));
  EXPECT_FALSE(PublicKeySet::FromJwks(R"({"keys":[{"kty":"RSA","n":5,"e":true}]})"));
}

TEST(PemBundle, LoadsSeveralCertificatesAndSkipsOtherBlocks) {
  auto set = PublicKeySet::FromPemBundle(Ec().cert_pem + Rsa().key_pem + Rsa().cert_pem);
  ASSERT_TRUE(set) << set.error().ToString();
  EXPECT_EQ(set->size(), 2u);
  EXPECT_EQ(set->key_type(0), KeyType::kEcP256);
  EXPECT_EQ(set->key_type(1), KeyType::kRsa);
  EXPECT_FALSE(PublicKeySet::FromPemBundle(""));
  EXPECT_FALSE(PublicKeySet::FromPemBundle(Ec().key_pem));
  EXPECT_FALSE(PublicKeySet::FromPemBundle(
      "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"));
}

TEST_F(Jwt, ForgedSignatureIsRefused) {
  SigningKey key = Key(Ec());
  std::string token = *key.Sign(Claims().dump());
  size_t dot = token.rfind('.');
  std::string sig = *Base64UrlDecode(token.substr(dot + 1));
  sig[10] ^= 1;
  std::string forged = token.substr(0, dot + 1) + Base64UrlEncode(sig);
  auto r = VerifyJwt(forged, Bundle(Ec()), options_);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::kUnauthorized);

  // Same claims with a widened access claim under the original signature.
  Json wider = Claims();
  wider["access"][0]["name"] = "system/core";
  size_t dot1 = token.find('.');
  std::string swapped =
      token.substr(0, dot1 + 1) + Base64UrlEncode(wider.dump()) + token.substr(dot);
  EXPECT_FALSE(VerifyJwt(swapped, Bundle(Ec()), options_));

  // RSA too.
  std::string rsa = *Key(Rsa()).Sign(Claims().dump());
  rsa[rsa.size() - 5] = rsa[rsa.size() - 5] == 'A' ? 'B' : 'A';
  EXPECT_FALSE(VerifyJwt(rsa, Bundle(Rsa()), options_));
}

TEST_F(Jwt, TokenSignedByAnotherKeyIsRefused) {
  std::string token = *Key(Ec2()).Sign(Claims().dump());
  EXPECT_FALSE(VerifyJwt(token, Bundle(Ec()), options_));
  std::string no_kid = SignWith(Key(Ec2()), R"({"alg":"ES256"})", Claims().dump());
  EXPECT_FALSE(VerifyJwt(no_kid, Bundle(Ec()), options_));
}

TEST_F(Jwt, AlgNoneIsRefused) {
  std::string token = Base64UrlEncode(R"({"alg":"none","typ":"JWT"})") + "." +
                      Base64UrlEncode(Claims().dump()) + ".";
  auto r = VerifyJwt(token, Bundle(Ec()), options_);
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("not accepted"), std::string::npos);
  std::string none2 = Base64UrlEncode(R"({"alg":"None"})") + "." +
                      Base64UrlEncode(Claims().dump()) + "." + Base64UrlEncode("x");
  EXPECT_FALSE(VerifyJwt(none2, Bundle(Ec()), options_));
}

TEST_F(Jwt, Hs256WithThePublicKeyAsSecretIsRefused) {
  for (const KeyAndCert* k : {&Rsa(), &Ec()}) {
    std::string input =
        Base64UrlEncode(R"({"alg":"HS256","typ":"JWT"})") + "." + Base64UrlEncode(Claims().dump());
    for (const std::string& secret : {k->cert_pem, testing::SpkiOf(k->cert_pem)}) {
      unsigned char mac[EVP_MAX_MD_SIZE];
      unsigned int len = 0;
      HMAC(EVP_sha256(), secret.data(), static_cast<int>(secret.size()),
           reinterpret_cast<const unsigned char*>(input.data()), input.size(), mac, &len);
      std::string token =
          input + "." + Base64UrlEncode(std::string(reinterpret_cast<char*>(mac), len));
      auto r = VerifyJwt(token, Bundle(*k), options_);
      ASSERT_FALSE(r);
      EXPECT_NE(r.error().message.find("HS256"), std::string::npos);
    }
  }
}

TEST_F(Jwt, AlgMustMatchKeyType) {
  PublicKeySet both = Bundle(Rsa());
  both.Merge(Bundle(Ec()));
  // An ES256 signature presented as RS256 for the EC key's kid.
  SigningKey ec = Key(Ec());
  std::string header = Json{{"alg", "RS256"}, {"kid", ec.kid()}}.dump();
  std::string token = SignWith(ec, header, Claims().dump());
  auto r = VerifyJwt(token, both, options_);
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("does not match"), std::string::npos);
  // An RSA signature labelled ES256 with the RSA key's kid.
  SigningKey rsa = Key(Rsa());
  token = SignWith(rsa, Json{{"alg", "ES256"}, {"kid", rsa.kid()}}.dump(), Claims().dump());
  EXPECT_FALSE(VerifyJwt(token, both, options_));
  // An RS256 token against EC keys only.
  EXPECT_FALSE(VerifyJwt(*rsa.Sign(Claims().dump()), Bundle(Ec()), options_));
  // Other algs are refused outright.
  for (const char* alg : {"RS384", "RS512", "ES384", "PS256", "EdDSA", "HS512", ""}) {
    std::string t = SignWith(rsa, Json{{"alg", alg}}.dump(), Claims().dump());
    EXPECT_FALSE(VerifyJwt(t, both, options_)) << alg;
  }
}

TEST_F(Jwt, IssuerAndAudienceMustMatch) {
  SigningKey key = Key(Ec());
  Json c = Claims();
  c["iss"] = "someone-else";
  auto r = VerifyJwt(*key.Sign(c.dump()), Bundle(Ec()), options_);
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("issuer"), std::string::npos);

  c = Claims();
  c["aud"] = "other.registry";
  r = VerifyJwt(*key.Sign(c.dump()), Bundle(Ec()), options_);
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("audience"), std::string::npos);
  c.erase("aud");
  EXPECT_FALSE(VerifyJwt(*key.Sign(c.dump()), Bundle(Ec()), options_));
  c["aud"] = Json::array({"x", "registry.example"});
  EXPECT_TRUE(VerifyJwt(*key.Sign(c.dump()), Bundle(Ec()), options_));
  c["aud"] = Json::array({"x", 5});
  EXPECT_FALSE(VerifyJwt(*key.Sign(c.dump()), Bundle(Ec()), options_));
}

TEST_F(Jwt, TimeClaims) {
  SigningKey key = Key(Ec());
  PublicKeySet keys = Bundle(Ec());
  std::string token = *key.Sign(Claims().dump());
  EXPECT_TRUE(VerifyJwt(token, keys, options_));
  clock_.Advance(300s + 30s);  // within the leeway
  EXPECT_TRUE(VerifyJwt(token, keys, options_));
  clock_.Advance(31s);
  auto r = VerifyJwt(token, keys, options_);
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("expired"), std::string::npos);

  FakeClock now{SystemTime(std::chrono::seconds(kNow))};
  options_.clock = &now;
  Json c = Claims();
  c.erase("exp");
  EXPECT_FALSE(VerifyJwt(*key.Sign(c.dump()), keys, options_));
  c["exp"] = "tomorrow";
  EXPECT_FALSE(VerifyJwt(*key.Sign(c.dump()), keys, options_));
  c = Claims();
  c["nbf"] = kNow + 120;
  EXPECT_FALSE(VerifyJwt(*key.Sign(c.dump()), keys, options_));
  c["nbf"] = kNow + 30;  // clock skew within the leeway
  EXPECT_TRUE(VerifyJwt(*key.Sign(c.dump()), keys, options_));
  c = Claims();
  c["iat"] = kNow + 3600;
  EXPECT_FALSE(VerifyJwt(*key.Sign(c.dump()), keys, options_));
  c = Claims();
  c["exp"] = 1e300;
  EXPECT_FALSE(VerifyJwt(*key.Sign(c.dump()), keys, options_));
  c["exp"] = static_cast<double>(kNow + 100) + 0.5;
  EXPECT_TRUE(VerifyJwt(*key.Sign(c.dump()), keys, options_));
}

TEST_F(Jwt, MalformedAccessClaimRefusesTheToken) {
  SigningKey key = Key(Ec());
  for (Json access :
       {Json("repository:x:pull"), Json::array({Json("x")}),
        Json::array({Json{{"type", "repository"}}}),
        Json::array({Json{{"type", "repository"}, {"name", "x"}, {"actions", "pull"}}}),
        Json::array({Json{{"type", "repository"}, {"name", "x"}, {"actions", {1}}}})}) {
    Json c = Claims();
    c["access"] = access;
    EXPECT_FALSE(VerifyJwt(*key.Sign(c.dump()), Bundle(Ec()), options_)) << access.dump();
  }
}

TEST_F(Jwt, MalformedTokensAreRefusedWithoutCrashing) {
  PublicKeySet keys = Bundle(Ec());
  std::string good = *Key(Ec()).Sign(Claims().dump());
  for (std::string bad :
       {std::string(""), std::string("."), std::string(".."), std::string("a.b.c"),
        std::string("a.b.c.d"), good + ".", good.substr(0, good.rfind('.')), good + "=",
        std::string(kMaxTokenSize + 1, 'a'), "e30.e30." + Base64UrlEncode(std::string(64, 'x')),
        Base64UrlEncode("[1,2]") + ".e30.AA", Base64UrlEncode(R"({"alg":5})") + ".e30.AA",
        Base64UrlEncode(R"({"alg":"ES256","kid":7})") + ".e30.AA",
        Base64UrlEncode(R"({"alg":"ES256"})") + ".e30.AAAA",
        Base64UrlEncode(R"({"alg":"ES256","crit":["x"]})") + ".e30." +
            Base64UrlEncode(std::string(64, 'x')),
        Base64UrlEncode(std::string(2000, '[')) + ".e30.AA"}) {
    EXPECT_FALSE(VerifyJwt(bad, keys, options_)) << bad.substr(0, 80);
  }
  // Random junk of every shape.
  std::mt19937 rng(42);
  constexpr std::string_view kAlphabet = "abcXYZ019-_.=+/ {}\"";
  for (int i = 0; i < 2000; ++i) {
    std::string junk = RandomString(rng, kAlphabet, 200);
    EXPECT_FALSE(VerifyJwt(junk, keys, options_));
  }
  // Deeply nested payload under a valid signature.
  std::string deep = std::string(5000, '[') + std::string(5000, ']');
  EXPECT_FALSE(VerifyJwt(SignWith(Key(Ec()), R"({"alg":"ES256"})", deep), keys, options_));
}

TEST(SigningKeyTest, GeneratedFilesLoadAndMatch) {
  testing::TempDir dir;
  ASSERT_TRUE(GenerateSigningKeyFiles(dir.Path("k.pem"), dir.Path("c.pem"), KeyType::kEcP256));
  struct stat st {};
  ASSERT_EQ(::stat(dir.Path("k.pem").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  auto key = SigningKey::LoadFile(dir.Path("k.pem"));
  ASSERT_TRUE(key);
  auto certs = PublicKeySet::LoadPemBundleFile(dir.Path("c.pem"));
  ASSERT_TRUE(certs);
  EXPECT_EQ(certs->KeyIds(0)[0], key->kid());
  EXPECT_EQ(key->PublicKeys().KeyIds(0)[0], key->kid());
  EXPECT_FALSE(SigningKey::LoadFile(dir.Path("missing.pem")));
}

TEST(SigningKeyTest, RefusesWeakOrWrongKeys) {
  EXPECT_FALSE(SigningKey::FromPem("junk"));
  EXPECT_FALSE(SigningKey::FromPem(Ec().cert_pem));
  EVP_PKEY* small = EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", size_t{1024});
  BIO* bio = BIO_new(BIO_s_mem());
  PEM_write_bio_PrivateKey(bio, small, nullptr, nullptr, 0, nullptr, nullptr);
  char* data = nullptr;
  long n = BIO_get_mem_data(bio, &data);
  std::string pem(data, static_cast<size_t>(n));
  BIO_free(bio);
  EVP_PKEY_free(small);
  EXPECT_FALSE(SigningKey::FromPem(pem));
}

}  // namespace
}  // namespace berth::auth
