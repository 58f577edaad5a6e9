#include "auth/token_authorizer.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "auth/test_util.h"

namespace berth::auth {
namespace {

using Json = nlohmann::json;
using namespace std::chrono_literals;

constexpr int64_t kNow = 1'700'000'000;

class TokenAuthz : public ::testing::Test {
 protected:
  void SetUp() override {
    static const testing::KeyAndCert kc = testing::NewKeyAndCert(KeyType::kEcP256);
    key_ = *SigningKey::FromPem(kc.key_pem);
    ASSERT_TRUE(AddCertFile(kc.cert_pem));
    auto a = TokenAuthorizer::FromFiles("https://auth.example/token", "registry.example",
                                        "berth-issuer", dir_.Path("bundle.pem"), "", clock_);
    ASSERT_TRUE(a) << a.error().ToString();
    authz_ = *a;
  }
  bool AddCertFile(const std::string& pem) {
    testing::WriteFile(dir_.Path("bundle.pem"), pem);
    return true;
  }
  std::string Token(Json access, int64_t exp = kNow + 300, std::string aud = "registry.example",
                    std::string iss = "berth-issuer") {
    Json claims = {{"iss", iss},  {"sub", "alice"}, {"aud", aud},  {"exp", exp},
                   {"iat", kNow}, {"nbf", kNow},    {"jti", "j1"}, {"access", access}};
    return "Bearer " + *key_.Sign(claims.dump());
  }
  static Json Repo(std::string name, std::vector<std::string> actions) {
    return {{"type", "repository"}, {"name", name}, {"actions", actions}};
  }

  testing::TempDir dir_;
  FakeClock clock_{SystemTime(std::chrono::seconds(kNow))};
  SigningKey key_;
  std::shared_ptr<TokenAuthorizer> authz_;
  const std::vector<Access> pull_push_ = {{"repository", "team/app", "pull"},
                                          {"repository", "team/app", "push"}};
};

TEST_F(TokenAuthz, NoTokenIs401WithScopedChallenge) {
  Decision d = authz_->Authorize("", "1.2.3.4:5", pull_push_);
  EXPECT_FALSE(d.allowed);
  EXPECT_EQ(d.status, 401);
  EXPECT_EQ(d.challenge,
            "Bearer realm=\"https://auth.example/token\",service=\"registry.example\","
            "scope=\"repository:team/app:pull,push\"");
  d = authz_->Authorize("Basic YTpi", "1.2.3.4:5", {{"registry", "catalog", "*"}});
  EXPECT_EQ(d.status, 401);
  EXPECT_EQ(d.challenge,
            "Bearer realm=\"https://auth.example/token\",service=\"registry.example\","
            "scope=\"registry:catalog:*\"");
  d = authz_->Authorize("", "1.2.3.4:5", {});
  EXPECT_EQ(d.challenge,
            "Bearer realm=\"https://auth.example/token\",service=\"registry.example\"");
}

TEST_F(TokenAuthz, ValidTokenGrantsExactlyItsActions) {
  std::string t = Token(Json::array({Repo("team/app", {"pull", "push"})}));
  Decision d = authz_->Authorize(t, "1.2.3.4:5", pull_push_);
  EXPECT_TRUE(d.allowed) << d.message;
  EXPECT_EQ(d.subject, "alice");
  EXPECT_TRUE(authz_->Authorize(t, "", {}).allowed);  // GET /v2/
}

TEST_F(TokenAuthz, TokenLackingPushIsInsufficientScope) {
  std::string t = Token(Json::array({Repo("team/app", {"pull"})}));
  EXPECT_TRUE(authz_->Authorize(t, "", {{"repository", "team/app", "pull"}}).allowed);
  Decision d = authz_->Authorize(t, "", pull_push_);
  EXPECT_FALSE(d.allowed);
  EXPECT_EQ(d.status, 401);
  EXPECT_EQ(d.subject, "alice");
  EXPECT_EQ(d.challenge,
            "Bearer realm=\"https://auth.example/token\",service=\"registry.example\","
            "scope=\"repository:team/app:pull,push\",error=\"insufficient_scope\"");
  EXPECT_NE(d.message.find("push"), std::string::npos);
}

TEST_F(TokenAuthz, TokenForAnotherRepositoryIsRefused) {
  std::string t = Token(Json::array({Repo("team/other", {"pull", "push"})}));
  Decision d = authz_->Authorize(t, "", pull_push_);
  EXPECT_FALSE(d.allowed);
  EXPECT_NE(d.challenge.find("insufficient_scope"), std::string::npos);
  // Names match byte for byte: no prefix or glob semantics in tokens.
  t = Token(Json::array({Repo("team", {"*"}), Repo("team/app/x", {"*"}), Repo("team/*", {"*"})}));
  EXPECT_FALSE(authz_->Authorize(t, "", pull_push_).allowed);
  Json registry = {{"type", "registry"}, {"name", "team/app"}, {"actions", {"pull", "push"}}};
  EXPECT_FALSE(authz_->Authorize(Token(Json::array({registry})), "", pull_push_).allowed);
}

TEST_F(TokenAuthz, WildcardActionGrantsEverythingOnThatResource) {
  std::string t = Token(Json::array({Repo("team/app", {"*"})}));
  EXPECT_TRUE(authz_->Authorize(t, "", {{"repository", "team/app", "delete"}}).allowed);
  Json catalog = {{"type", "registry"}, {"name", "catalog"}, {"actions", {"*"}}};
  EXPECT_TRUE(
      authz_->Authorize(Token(Json::array({catalog})), "", {{"registry", "catalog", "*"}}).allowed);
}

TEST_F(TokenAuthz, InvalidTokensAreInvalidToken) {
  std::vector<std::string> bad = {
      "Bearer ",
      "Bearer garbage",
      "Bearer a.b.c",
      Token(Json::array({Repo("team/app", {"pull"})}), kNow - 3600),          // expired
      Token(Json::array({Repo("team/app", {"pull"})}), kNow + 300, "other"),  // audience
      Token(Json::array({Repo("team/app", {"pull"})}), kNow + 300, "registry.example", "evil"),
  };
  for (const std::string& h : bad) {
    Decision d = authz_->Authorize(h, "", {{"repository", "team/app", "pull"}});
    EXPECT_FALSE(d.allowed) << h;
    EXPECT_EQ(d.status, 401);
    EXPECT_TRUE(d.challenge.ends_with(",error=\"invalid_token\"")) << d.challenge;
  }
}

TEST_F(TokenAuthz, ExpiresWithTheClock) {
  std::string t = Token(Json::array({Repo("team/app", {"pull"})}));
  EXPECT_TRUE(authz_->Authorize(t, "", {{"repository", "team/app", "pull"}}).allowed);
  clock_.Advance(300s + 61s);
  Decision d = authz_->Authorize(t, "", {{"repository", "team/app", "pull"}});
  EXPECT_FALSE(d.allowed);
  EXPECT_NE(d.message.find("expired"), std::string::npos);
}

TEST_F(TokenAuthz, ConfigErrors) {
  EXPECT_FALSE(TokenAuthorizer::FromFiles("r", "s", "i", "", ""));
  EXPECT_FALSE(TokenAuthorizer::FromFiles("", "s", "i", dir_.Path("bundle.pem"), ""));
  EXPECT_FALSE(TokenAuthorizer::FromFiles("r", "s", "i", dir_.Path("missing.pem"), ""));
}

TEST(Grants, ExactMatch) {
  std::vector<ResourceActions> claims = {{"repository", "a/b", {"pull"}}};
  EXPECT_TRUE(Grants(claims, {"repository", "a/b", "pull"}));
  EXPECT_FALSE(Grants(claims, {"repository", "a/b", "push"}));
  EXPECT_FALSE(Grants(claims, {"repository", "A/b", "pull"}));
  EXPECT_FALSE(Grants(claims, {"repository", "a/b/", "pull"}));
  EXPECT_FALSE(Grants({}, {"repository", "a/b", "pull"}));
}

}  // namespace
}  // namespace berth::auth
