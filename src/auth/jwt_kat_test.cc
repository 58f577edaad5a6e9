// Known answers: tokens made by other tools (openssl and python3, src/auth/testdata/
// make-kat-tokens.sh) verified by Berth, and tokens signed by Berth verified by `openssl dgst`, so
// neither side is only checked against itself.
#include <gtest/gtest.h>

#include <cstdlib>
#include <string>

#include "auth/encoding.h"
#include "auth/jwt.h"
#include "auth/test_util.h"

namespace berth::auth {
namespace {

using testing::ReadFile;
using testing::TempDir;
using testing::WriteFile;

std::string Testdata(const std::string& name) {
  std::string s = ReadFile(std::string(BERTH_SOURCE_DIR) + "/src/auth/testdata/" + name);
  while (!s.empty() && (s.back() == '\n' || s.back() == '\r')) s.pop_back();
  return s;
}

VerifyOptions KatOptions() {
  static FakeClock clock(SystemTime(std::chrono::seconds(1'700'000'100)));
  VerifyOptions o;
  o.issuer = "kat-issuer";
  o.audience = "kat-service";
  o.clock = &clock;
  return o;
}

// One bit flipped in the middle of the decoded signature (still decodes, same length).
std::string FlipSignatureBit(const std::string& token) {
  size_t dot = token.rfind('.');
  auto sig = Base64UrlDecode(token.substr(dot + 1));
  EXPECT_TRUE(sig.has_value());
  (*sig)[sig->size() / 2] ^= 0x01;
  return token.substr(0, dot + 1) + Base64UrlEncode(*sig);
}

class KnownAnswer : public ::testing::TestWithParam<const char*> {};

TEST_P(KnownAnswer, TokenMadeByOpensslVerifies) {
  std::string alg = GetParam();
  auto keys = PublicKeySet::FromPemBundle(Testdata(alg + ".pub.pem"));
  ASSERT_TRUE(keys) << keys.error().message;
  auto claims = VerifyJwt(Testdata(alg + ".jwt"), *keys, KatOptions());
  ASSERT_TRUE(claims) << claims.error().message;
  EXPECT_EQ(claims->issuer, "kat-issuer");
  EXPECT_EQ(claims->subject, "kat-user");
  EXPECT_EQ(claims->jwt_id, "kat-1");
  EXPECT_EQ(claims->expires_at, 4102444800);
  ASSERT_EQ(claims->access.size(), 1u);
  EXPECT_EQ(claims->access[0].type, "repository");
  EXPECT_EQ(claims->access[0].name, "team/app");
  EXPECT_EQ(claims->access[0].actions, (std::vector<std::string>{"pull", "push"}));
}

TEST_P(KnownAnswer, FlippedSignatureBitIsRefused) {
  std::string alg = GetParam();
  auto keys = PublicKeySet::FromPemBundle(Testdata(alg + ".pub.pem"));
  ASSERT_TRUE(keys);
  std::string token = Testdata(alg + ".jwt");
  auto forged = VerifyJwt(FlipSignatureBit(token), *keys, KatOptions());
  ASSERT_FALSE(forged);
  EXPECT_EQ(forged.error().code, ErrorCode::kUnauthorized);
}

TEST_P(KnownAnswer, OtherKeyDoesNotVerify) {
  std::string alg = GetParam();
  std::string other = alg == std::string("es256") ? "rs256" : "es256";
  auto keys = PublicKeySet::FromPemBundle(Testdata(other + ".pub.pem"));
  ASSERT_TRUE(keys);
  EXPECT_FALSE(VerifyJwt(Testdata(alg + ".jwt"), *keys, KatOptions()));
}

INSTANTIATE_TEST_SUITE_P(Algs, KnownAnswer, ::testing::Values("es256", "rs256"));

// r||s (64 bytes) -> DER ECDSA-Sig-Value, what `openssl dgst -verify` reads.
std::string RawToDer(std::string_view raw) {
  auto integer = [](std::string_view v) {
    size_t i = 0;
    while (i + 1 < v.size() && v[i] == 0) ++i;
    std::string out(v.substr(i));
    if (static_cast<unsigned char>(out[0]) & 0x80) out.insert(out.begin(), '\0');
    return std::string{'\x02', static_cast<char>(out.size())} + out;
  };
  std::string body = integer(raw.substr(0, 32)) + integer(raw.substr(32));
  return std::string{'\x30', static_cast<char>(body.size())} + body;
}

// Exit status of `openssl dgst -sha256 -verify` over `input` and `signature` with `pub_pem`.
int OpensslVerify(const TempDir& dir, const std::string& pub_pem, const std::string& input,
                  const std::string& signature) {
  WriteFile(dir.Path("pub.pem"), pub_pem);
  WriteFile(dir.Path("input"), input);
  WriteFile(dir.Path("sig"), signature);
  std::string cmd = "openssl dgst -sha256 -verify " + dir.Path("pub.pem") + " -signature " +
                    dir.Path("sig") + " " + dir.Path("input") + " >/dev/null 2>&1";
  return std::system(cmd.c_str());
}

class BerthSigned : public ::testing::TestWithParam<KeyType> {};

TEST_P(BerthSigned, OpensslVerifiesTheSignature) {
  if (std::system("openssl version >/dev/null 2>&1") != 0) GTEST_SKIP() << "no openssl";
  TempDir dir;
  ASSERT_TRUE(GenerateSigningKeyFiles(dir.Path("key.pem"), dir.Path("cert.pem"), GetParam()));
  auto key = SigningKey::LoadFile(dir.Path("key.pem"));
  ASSERT_TRUE(key);
  ASSERT_EQ(std::system(("openssl x509 -in " + dir.Path("cert.pem") + " -pubkey -noout > " +
                         dir.Path("cert-pub.pem"))
                            .c_str()),
            0);
  std::string pub = ReadFile(dir.Path("cert-pub.pem"));
  auto token = key->Sign(R"({"iss":"berth","aud":"x","exp":4102444800})");
  ASSERT_TRUE(token);
  size_t dot = token->rfind('.');
  std::string input = token->substr(0, dot);
  auto sig = Base64UrlDecode(token->substr(dot + 1));
  ASSERT_TRUE(sig);
  std::string wire = GetParam() == KeyType::kEcP256 ? RawToDer(*sig) : *sig;
  EXPECT_EQ(OpensslVerify(dir, pub, input, wire), 0);
  // And the check can fail: one flipped bit, and openssl refuses it.
  std::string flipped = *sig;
  flipped[flipped.size() / 2] ^= 0x01;
  std::string bad = GetParam() == KeyType::kEcP256 ? RawToDer(flipped) : flipped;
  EXPECT_NE(OpensslVerify(dir, pub, input, bad), 0);
}

INSTANTIATE_TEST_SUITE_P(Keys, BerthSigned, ::testing::Values(KeyType::kEcP256, KeyType::kRsa));

}  // namespace
}  // namespace berth::auth
