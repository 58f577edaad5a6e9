#include "auth/token_service.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "auth/encoding.h"
#include "auth/test_util.h"
#include "auth/token_authorizer.h"

namespace berth::auth {
namespace {

using Json = nlohmann::json;
using namespace std::chrono_literals;

constexpr int64_t kNow = 1'700'000'000;

constexpr std::string_view kPolicy = R"({
  "roles": {
    "admin": [{"repositories": "*", "actions": ["pull", "push", "delete"]}],
    "developer": [{"repositories": "app/*", "actions": ["pull", "push"]},
                  {"repositories": "library/*", "actions": ["pull", "push"]}],
    "readonly": [{"repositories": "*", "actions": ["pull"]}],
    "ci": [{"repositories": "app/production/*", "actions": ["pull", "push"]}]
  },
  "users": {"alice": ["admin"], "bob": ["developer"], "carol": ["readonly"], "ci-bot": ["ci"]},
  "public": ["library/*"],
  "catalog": ["admin"]
})";

std::string Basic(std::string_view user, std::string_view pw) {
  return "Basic " + Base64Encode(std::string(user) + ":" + std::string(pw));
}

TEST(Glob, Semantics) {
  EXPECT_TRUE(GlobMatch("app/*", "app/x"));
  EXPECT_TRUE(GlobMatch("app/*", "app/x/y"));
  EXPECT_FALSE(GlobMatch("app/*", "app"));
  EXPECT_FALSE(GlobMatch("app/*", "application/x"));
  EXPECT_FALSE(GlobMatch("app/*", "xapp/x"));
  EXPECT_TRUE(GlobMatch("*", "anything/at/all"));
  EXPECT_TRUE(GlobMatch("app", "app"));
  EXPECT_FALSE(GlobMatch("app", "app/x"));
  EXPECT_TRUE(GlobMatch("a?c", "abc"));
  EXPECT_FALSE(GlobMatch("a?c", "ac"));
  EXPECT_TRUE(GlobMatch("*/prod/*", "team/prod/api"));
  EXPECT_TRUE(GlobMatch("*-tmp", "x/y-tmp"));
  EXPECT_FALSE(GlobMatch("*-tmp", "x/y-tmpz"));
  EXPECT_TRUE(GlobMatch("a**b", "ab"));
  EXPECT_FALSE(GlobMatch("", "a"));
}

TEST(Policy, ParsesTheExample) {
  auto p = AccessPolicy::Parse(kPolicy);
  ASSERT_TRUE(p) << p.error().ToString();
  EXPECT_EQ(p->roles.size(), 4u);
  EXPECT_EQ(p->users.at("bob"), std::vector<std::string>{"developer"});
}

TEST(Policy, RefusesMistakes) {
  EXPECT_FALSE(AccessPolicy::Parse("[]"));
  EXPECT_FALSE(AccessPolicy::Parse(R"({"users":{"a":["nope"]}})"));
  EXPECT_FALSE(AccessPolicy::Parse(R"({"roles":{"r":[{"repositories":"*","actions":["pul"]}]}})"));
  EXPECT_FALSE(AccessPolicy::Parse(R"({"roles":{"r":[{"repository":"*","actions":["pull"]}]}})"));
  EXPECT_FALSE(AccessPolicy::Parse(R"({"roles":{"r":[{"actions":["pull"]}]}})"));
  EXPECT_FALSE(AccessPolicy::Parse(R"({"rolez":{}})"));
  EXPECT_FALSE(AccessPolicy::Parse(R"({"catalog":["ghost"]})"));
  auto e = AccessPolicy::Parse(R"({"roles":{"dev":[{"repositories":"*","actions":["pul"]}]}})");
  EXPECT_NE(e.error().message.find("roles.dev[0].actions"), std::string::npos);
}

TEST(Policy, NamesThatTryToEscapeMatchNothing) {
  auto p = *AccessPolicy::Parse(kPolicy);
  EXPECT_TRUE(p.Allows("bob", {"repository", "app/x", "push"}));
  for (const char* name : {"app/../system/core", "app/./x", "app//x", "app/x/", "/app/x", "APP/x",
                           "app/%2e%2e/system", "app/x\n", "app/x y", "app/x:1", "app/\0"}) {
    EXPECT_FALSE(p.Allows("bob", {"repository", name, "pull"})) << name;
    EXPECT_FALSE(p.Allows("alice", {"repository", name, "pull"})) << name;  // even for "*"
  }
  EXPECT_FALSE(p.Allows("bob", {"repository", "system/core", "pull"}));
  EXPECT_FALSE(p.Allows("bob", {"repository", "app", "pull"}));
  EXPECT_FALSE(p.Allows("ci-bot", {"repository", "app/staging/x", "push"}));
  EXPECT_TRUE(p.Allows("ci-bot", {"repository", "app/production/x", "push"}));
  EXPECT_TRUE(p.Allows("", {"repository", "library/ubuntu", "pull"}));
  EXPECT_FALSE(p.Allows("", {"repository", "library/ubuntu", "push"}));
  EXPECT_FALSE(p.Allows("", {"repository", "app/x", "pull"}));
  EXPECT_FALSE(p.Allows("mallory", {"repository", "app/x", "pull"}));
  EXPECT_TRUE(p.Allows("alice", {"registry", "catalog", "*"}));
  EXPECT_FALSE(p.Allows("bob", {"registry", "catalog", "*"}));
  EXPECT_FALSE(p.Allows("alice", {"registry", "other", "*"}));
}

class TokenServiceTest : public ::testing::TestWithParam<KeyType> {
 protected:
  void SetUp() override {
    // RSA keys are slow to make: one per key type for the whole suite.
    static const testing::KeyAndCert kEc = testing::NewKeyAndCert(KeyType::kEcP256);
    static const testing::KeyAndCert kRsa = testing::NewKeyAndCert(KeyType::kRsa);
    const testing::KeyAndCert& kc = GetParam() == KeyType::kRsa ? kRsa : kEc;
    testing::WriteFile(dir_.Path("key.pem"), kc.key_pem);
    testing::WriteFile(dir_.Path("cert.pem"), kc.cert_pem);
    for (const char* user : {"alice", "bob", "carol", "ci-bot"}) {
      ASSERT_TRUE(AddUser(dir_.Path("htpasswd"), user, std::string(user) + "-pw", 4));
    }
    auto file = HtpasswdFile::Open(dir_.Path("htpasswd"), clock_);
    ASSERT_TRUE(file);
    TokenServiceOptions o;
    o.issuer = "berth";
    o.service = "registry.example";
    o.key = *SigningKey::LoadFile(dir_.Path("key.pem"));
    o.verifier = std::make_shared<CredentialVerifier>(*file, clock_);
    o.policy = *AccessPolicy::Parse(kPolicy);
    o.clock = &clock_;
    service_ = std::make_unique<TokenService>(std::move(o));
    auto authz = TokenAuthorizer::FromFiles("https://r/token", "registry.example", "berth",
                                            dir_.Path("cert.pem"), "", clock_);
    ASSERT_TRUE(authz) << authz.error().ToString();
    authz_ = *authz;
  }
  std::vector<ResourceActions> Granted(std::string_view auth, std::string scope) {
    auto t = service_->Issue(auth, "registry.example", {scope}, "10.0.0.1:1234");
    EXPECT_TRUE(t) << t.error().ToString();
    return t ? t->access : std::vector<ResourceActions>{};
  }

  testing::TempDir dir_;
  FakeClock clock_{SystemTime(std::chrono::seconds(kNow))};
  std::unique_ptr<TokenService> service_;
  std::shared_ptr<TokenAuthorizer> authz_;
};

TEST_P(TokenServiceTest, IssuedTokenVerifiesWithTheCertificateAsRootCertBundle) {
  auto t = service_->Issue(Basic("bob", "bob-pw"), "registry.example",
                           {"repository:app/web:pull,push"}, "10.0.0.1:1");
  ASSERT_TRUE(t) << t.error().ToString();
  EXPECT_EQ(t->expires_in, 300);
  EXPECT_EQ(t->subject, "bob");
  Decision d =
      authz_->Authorize("Bearer " + t->token, "10.0.0.1:1",
                        {{"repository", "app/web", "pull"}, {"repository", "app/web", "push"}});
  EXPECT_TRUE(d.allowed) << d.message;
  EXPECT_EQ(d.subject, "bob");
  // The header carries the certificate's libtrust kid and the key's alg.
  std::string header = *Base64UrlDecode(t->token.substr(0, t->token.find('.')));
  Json h = Json::parse(header);
  EXPECT_EQ(h["kid"], service_->key().kid());
  EXPECT_EQ(h["alg"], GetParam() == KeyType::kRsa ? "RS256" : "ES256");
  std::string body = *Base64UrlDecode(
      t->token.substr(t->token.find('.') + 1, t->token.rfind('.') - t->token.find('.') - 1));
  Json claims = Json::parse(body);
  for (const char* c : {"iss", "sub", "aud", "exp", "nbf", "iat", "jti", "access"}) {
    EXPECT_TRUE(claims.contains(c)) << c;
  }
  // And it stops working when it expires.
  clock_.Advance(300s + 61s);
  EXPECT_FALSE(
      authz_->Authorize("Bearer " + t->token, "", {{"repository", "app/web", "pull"}}).allowed);
}

TEST_P(TokenServiceTest, GrantsOnlyTheIntersection) {
  // Pull-only user asking for delete gets a token without delete (and without push).
  EXPECT_EQ(Granted(Basic("carol", "carol-pw"), "repository:app/x:pull,push,delete"),
            (std::vector<ResourceActions>{{"repository", "app/x", {"pull"}}}));
  EXPECT_EQ(Granted(Basic("bob", "bob-pw"), "repository:app/x:pull,push,delete"),
            (std::vector<ResourceActions>{{"repository", "app/x", {"pull", "push"}}}));
  EXPECT_EQ(Granted(Basic("alice", "alice-pw"), "repository:app/x:pull,push,delete"),
            (std::vector<ResourceActions>{{"repository", "app/x", {"pull", "push", "delete"}}}));
  EXPECT_TRUE(Granted(Basic("bob", "bob-pw"), "repository:system/core:pull").empty());
  EXPECT_EQ(Granted(Basic("alice", "alice-pw"), "repository:app/x:*"),
            (std::vector<ResourceActions>{{"repository", "app/x", {"pull", "push", "delete"}}}));
}

TEST_P(TokenServiceTest, DeniedActionFailsAtTheRegistry) {
  auto t = service_->Issue(Basic("carol", "carol-pw"), "registry.example",
                           {"repository:app/x:pull,delete"}, "10.0.0.1:1");
  ASSERT_TRUE(t);
  Decision d = authz_->Authorize("Bearer " + t->token, "", {{"repository", "app/x", "delete"}});
  EXPECT_FALSE(d.allowed);
  EXPECT_NE(d.challenge.find("insufficient_scope"), std::string::npos);
}

TEST_P(TokenServiceTest, AnonymousGetsPublicPullOnly) {
  EXPECT_EQ(Granted("", "repository:library/ubuntu:pull,push"),
            (std::vector<ResourceActions>{{"repository", "library/ubuntu", {"pull"}}}));
  EXPECT_TRUE(Granted("", "repository:app/x:pull").empty());
  EXPECT_TRUE(Granted("", "registry:catalog:*").empty());
  auto t = service_->Issue("", "registry.example", {}, "1.1.1.1:1");
  ASSERT_TRUE(t);
  EXPECT_EQ(t->subject, "");
}

TEST_P(TokenServiceTest, CatalogForCatalogRolesOnly) {
  EXPECT_EQ(Granted(Basic("alice", "alice-pw"), "registry:catalog:*"),
            (std::vector<ResourceActions>{{"registry", "catalog", {"*"}}}));
  EXPECT_TRUE(Granted(Basic("bob", "bob-pw"), "registry:catalog:*").empty());
}

TEST_P(TokenServiceTest, SeveralScopes) {
  auto t = service_->Issue(
      Basic("bob", "bob-pw"), "registry.example",
      {"repository:app/a:pull repository:library/b:push", "repository:x/y:pull"}, "10.0.0.1:1");
  ASSERT_TRUE(t);
  EXPECT_EQ(t->access, (std::vector<ResourceActions>{{"repository", "app/a", {"pull"}},
                                                     {"repository", "library/b", {"push"}}}));
}

TEST_P(TokenServiceTest, Refusals) {
  auto t = service_->Issue(Basic("bob", "wrong"), "registry.example", {}, "10.0.0.1:1");
  ASSERT_FALSE(t);
  EXPECT_EQ(t.error().code, ErrorCode::kUnauthorized);
  t = service_->Issue(Basic("nobody", "x"), "registry.example", {}, "10.0.0.1:1");
  EXPECT_EQ(t.error().code, ErrorCode::kUnauthorized);
  t = service_->Issue("Bearer abc", "registry.example", {}, "10.0.0.1:1");
  EXPECT_EQ(t.error().code, ErrorCode::kUnauthorized);
  t = service_->Issue(Basic("bob", "bob-pw"), "other.service", {}, "10.0.0.1:1");
  ASSERT_FALSE(t);
  EXPECT_EQ(t.error().HttpStatus(), 400);
  EXPECT_NE(t.error().message.find("unknown service"), std::string::npos);
  t = service_->Issue(Basic("bob", "bob-pw"), "registry.example",
                      {"repository:app/../system/core:pull"}, "10.0.0.1:1");
  ASSERT_FALSE(t);
  EXPECT_EQ(t.error().code, ErrorCode::kNameInvalid);
  t = service_->Issue(Basic("bob", "bob-pw"), "registry.example", {"garbage"}, "10.0.0.1:1");
  ASSERT_FALSE(t);
  EXPECT_EQ(t.error().HttpStatus(), 400);
}

TEST_P(TokenServiceTest, ThrottledAfterRepeatedFailures) {
  for (int i = 0; i < 5; ++i) {
    EXPECT_EQ(
        service_->Issue(Basic("bob", "guess"), "registry.example", {}, "6.6.6.6:1").error().code,
        ErrorCode::kUnauthorized);
  }
  auto t = service_->Issue(Basic("bob", "bob-pw"), "registry.example", {}, "6.6.6.6:1");
  ASSERT_FALSE(t);
  EXPECT_EQ(t.error().code, ErrorCode::kTooManyRequests);
  EXPECT_EQ(t.error().HttpStatus(), 429);
  clock_.Advance(31s);
  EXPECT_TRUE(service_->Issue(Basic("bob", "bob-pw"), "registry.example", {}, "6.6.6.6:1"));
}

TEST_P(TokenServiceTest, OAuthPasswordGrant) {
  auto t = service_->IssueOAuth(
      "grant_type=password&username=bob&password=bob-pw&service=registry.example"
      "&scope=repository%3Aapp%2Fweb%3Apull%2Cpush+repository%3Alibrary%2Fx%3Apull&client_id="
      "podman",
      "10.0.0.1:1");
  ASSERT_TRUE(t) << t.error().ToString();
  EXPECT_EQ(t->access, (std::vector<ResourceActions>{{"repository", "app/web", {"pull", "push"}},
                                                     {"repository", "library/x", {"pull"}}}));
  EXPECT_TRUE(
      authz_->Authorize("Bearer " + t->token, "", {{"repository", "app/web", "push"}}).allowed);

  auto bad = service_->IssueOAuth(
      "grant_type=password&username=bob&password=nope&service=registry.example", "10.0.0.1:1");
  EXPECT_EQ(bad.error().code, ErrorCode::kUnauthorized);
  bad = service_->IssueOAuth("grant_type=refresh_token&refresh_token=x&service=registry.example",
                             "10.0.0.1:1");
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().HttpStatus(), 400);
  EXPECT_NE(bad.error().message.find("refresh"), std::string::npos);
  EXPECT_FALSE(service_->IssueOAuth("grant_type=client_credentials", "10.0.0.1:1"));
  EXPECT_FALSE(service_->IssueOAuth("grant_type=password&password=x", "10.0.0.1:1"));
  EXPECT_FALSE(service_->IssueOAuth("grant_type=password&username=%zz", "10.0.0.1:1"));
}

TEST_P(TokenServiceTest, ResponseJson) {
  auto t = service_->Issue("", "registry.example", {}, "1.1.1.1:1");
  ASSERT_TRUE(t);
  Json j = Json::parse(TokenService::ResponseJson(*t));
  EXPECT_EQ(j["token"], t->token);
  EXPECT_EQ(j["access_token"], t->token);
  EXPECT_EQ(j["expires_in"], 300);
  EXPECT_EQ(j["issued_at"], "2023-11-14T22:13:20Z");
}

INSTANTIATE_TEST_SUITE_P(Keys, TokenServiceTest, ::testing::Values(KeyType::kEcP256, KeyType::kRsa),
                         [](const auto& info) {
                           return info.param == KeyType::kRsa ? "RS256" : "ES256";
                         });

}  // namespace
}  // namespace berth::auth
