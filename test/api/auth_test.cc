// Authorization over HTTP, with htpasswd and with the built-in token service: challenges, refusals,
// throttling, the catalog scope, the mount source's pull check and search.

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "auth/encoding.h"
#include "auth/htpasswd.h"
#include "auth/jwt.h"
#include "test/api/api_test_util.h"
#include "test/support/temp_dir.h"

namespace berth::testing {
namespace {

std::string Basic(const std::string& user, const std::string& password) {
  return "Basic " + auth::Base64Encode(user + ":" + password);
}

// An htpasswd file with the given users (bcrypt at the lowest cost, to keep tests fast).
std::string Htpasswd(const std::vector<std::pair<std::string, std::string>>& users) {
  std::string out;
  for (const auto& [user, password] : users) {
    auto hash = auth::BcryptHash(password, 4);
    if (!hash) ADD_FAILURE() << hash.error().message;
    out += user + ":" + hash.value_or("") + "\n";
  }
  return out;
}

// Pushes `data` as a blob into `repo` with `auth` (Authorization header); returns its digest.
std::string PushBlobAs(HttpClient& c, const std::string& auth, const std::string& repo,
                       const std::string& data) {
  std::string digest = Sha256(data);
  Response r = c.Request("POST", "/v2/" + repo + "/blobs/uploads/?digest=" + digest, data,
                         {{"Authorization", auth}, {"Content-Type", "application/octet-stream"}});
  EXPECT_STATUS(r, 201);
  return digest;
}

// --- htpasswd -----------------------------------------------------------------------------------

class HtpasswdAuth : public ApiTest {
 protected:
  TestServerOptions ServerOptions() const override {
    WriteFile(dir_.Path("htpasswd"), Htpasswd({{"alice", "wonderland"}}));
    return WithYaml(
        "auth:\n  htpasswd:\n    realm: test-realm\n    path: " + dir_.Path("htpasswd") + "\n");
  }
  const std::string alice_ = Basic("alice", "wonderland");
  TempDir dir_;
};

TEST_F(HtpasswdAuth, NoCredentialsIs401WithBasicChallenge) {
  Response r = c().Request("GET", "/v2/");
  EXPECT_ERROR(r, 401, "UNAUTHORIZED");
  EXPECT_EQ(r.Header("WWW-Authenticate"), "Basic realm=\"test-realm\"");
}

TEST_F(HtpasswdAuth, WrongPasswordIs401AndRightOneIs200) {
  EXPECT_ERROR(c().Request("GET", "/v2/", "", {{"Authorization", Basic("alice", "x")}}), 401,
               "UNAUTHORIZED");
  EXPECT_STATUS(c().Request("GET", "/v2/", "", {{"Authorization", alice_}}), 200);
}

TEST_F(HtpasswdAuth, RepeatedFailuresAre429TooManyRequestsWithoutChallenge) {
  for (int i = 0; i < 5; ++i) {
    EXPECT_ERROR(c().Request("GET", "/v2/", "", {{"Authorization", Basic("alice", "guess")}}), 401,
                 "UNAUTHORIZED");
  }
  Response r = c().Request("GET", "/v2/", "", {{"Authorization", alice_}});
  EXPECT_ERROR(r, 429, "TOOMANYREQUESTS");
  EXPECT_FALSE(r.HasHeader("WWW-Authenticate"));
}

// Distribution's htpasswd rule: any authenticated user may do everything, the catalog included.
TEST_F(HtpasswdAuth, AuthenticatedUserMayPushAndListTheCatalog) {
  std::string d = PushBlobAs(c(), alice_, "team/app", "bytes");
  EXPECT_STATUS(c().Request("HEAD", "/v2/team/app/blobs/" + d, "", {{"Authorization", alice_}}),
                200);
  EXPECT_STATUS(c().Request("HEAD", "/v2/team/app/blobs/" + d), 401);
  EXPECT_ERROR(c().Request("GET", "/v2/_catalog"), 401, "UNAUTHORIZED");
  EXPECT_STATUS(c().Request("GET", "/v2/_catalog", "", {{"Authorization", alice_}}), 200);
}

// --- token auth with the built-in token service
// ---------------------------------------------------

constexpr std::string_view kPolicy = R"({
  "roles": {"admin": [{"repositories": "*", "actions": ["pull", "push", "delete"]}],
            "dev":   [{"repositories": "app/*", "actions": ["pull", "push"]}]},
  "users": {"alice": ["admin"], "bob": ["dev"]},
  "public": ["library/*"],
  "catalog": ["admin"]
})";

class TokenAuth : public ApiTest {
 protected:
  TestServerOptions ServerOptions() const override {
    auto st = auth::GenerateSigningKeyFiles(dir_.Path("key.pem"), dir_.Path("cert.pem"));
    if (!st) ADD_FAILURE() << st.error().message;
    WriteFile(dir_.Path("htpasswd"), Htpasswd({{"alice", "a-pass"}, {"bob", "b-pass"}}));
    WriteFile(dir_.Path("policy.json"), kPolicy);
    return WithYaml(
        "auth:\n  token:\n    realm: /auth/token\n    service: berth\n"
        "    issuer: berth\n    builtin:\n      signingkey: " +
        dir_.Path("key.pem") + "\n      htpasswd: " + dir_.Path("htpasswd") +
        "\n      policy: " + dir_.Path("policy.json") + "\n");
  }

  // A token from /auth/token for `user` ("" = anonymous) and `scopes`; "" on failure.
  std::string Token(const std::string& user, const std::vector<std::string>& scopes) {
    std::string target = "/auth/token?service=berth";
    for (const auto& s : scopes) target += "&scope=" + QueryEscape(s);
    HeaderList h;
    if (!user.empty())
      h.emplace_back("Authorization", Basic(user, user == "alice" ? "a-pass" : "b-pass"));
    Response r = c().Request("GET", target, "", h);
    auto j = JsonBody(r);
    if (r.status != 200 || !j || !j->contains("token")) {
      ADD_FAILURE() << "token for " << user << ": " << Describe(r);
      return "";
    }
    return (*j)["token"].get<std::string>();
  }
  static HeaderList Bearer(const std::string& token) {
    return {{"Authorization", "Bearer " + token}};
  }

  // Pushes a small image into `repo` as alice (admin).
  void Seed(const std::string& repo, int seed) {
    std::string t = Token("alice", {"repository:" + repo + ":pull,push"});
    std::string config = "{\"seed\":" + std::to_string(seed) + "}";
    std::string d = PushBlobAs(c(), "Bearer " + t, repo, config);
    nlohmann::json m = {{"schemaVersion", 2},
                        {"mediaType", kOciManifest},
                        {"config", DescriptorOf(kOciConfig, config)},
                        {"layers", nlohmann::json::array()}};
    HeaderList h = Bearer(t);
    h.emplace_back("Content-Type", std::string(kOciManifest));
    EXPECT_STATUS(c().Request("PUT", "/v2/" + repo + "/manifests/v1", m.dump(), h), 201);
  }

  TempDir dir_;
};

TEST_F(TokenAuth, NoTokenIs401WithBearerChallengeForTheNeededScope) {
  Response r = c().Request("GET", "/v2/app/x/tags/list");
  EXPECT_ERROR(r, 401, "UNAUTHORIZED");
  EXPECT_EQ(r.Header("WWW-Authenticate"),
            "Bearer realm=\"http://" + srv_->hostport() +
                "/auth/token\",service=\"berth\",scope=\"repository:app/x:pull\"");
}

TEST_F(TokenAuth, TokenLackingTheActionIs401InsufficientScope) {
  std::string t = Token("bob", {"repository:app/x:pull"});
  Response r = c().Request("POST", "/v2/app/x/blobs/uploads/", "", Bearer(t));
  EXPECT_ERROR(r, 401, "UNAUTHORIZED");
  EXPECT_NE(r.Header("WWW-Authenticate").find("error=\"insufficient_scope\""), std::string::npos)
      << r.Header("WWW-Authenticate");
  EXPECT_STATUS(c().Request("GET", "/v2/app/x/tags/list", "", Bearer(t)),
                404);  // granted: NAME_UNKNOWN
}

TEST_F(TokenAuth, CatalogNeedsTheCatalogScopeWhichOnlyCatalogRolesGet) {
  std::string bob = Token("bob", {"registry:catalog:*"});
  EXPECT_ERROR(c().Request("GET", "/v2/_catalog", "", Bearer(bob)), 401, "UNAUTHORIZED");
  std::string alice = Token("alice", {"registry:catalog:*"});
  EXPECT_STATUS(c().Request("GET", "/v2/_catalog", "", Bearer(alice)), 200);
}

TEST_F(TokenAuth, TokenEndpointThrottlesGuessingWith429) {
  for (int i = 0; i < 5; ++i) {
    EXPECT_ERROR(c().Request("GET", "/auth/token?service=berth", "",
                             {{"Authorization", Basic("bob", "guess")}}),
                 401, "UNAUTHORIZED");
  }
  EXPECT_ERROR(c().Request("GET", "/auth/token?service=berth", "",
                           {{"Authorization", Basic("bob", "b-pass")}}),
               429, "TOOMANYREQUESTS");
}

// The bypass: the access check read `from` from the raw query while the handler decoded names,
// so an encoded `from` linked a blob the caller could not pull.
TEST_F(TokenAuth, MountFromRepositoryTheCallerCannotPullIsAnOrdinaryUploadEvenWithEncodedNames) {
  std::string secret =
      PushBlobAs(c(), "Bearer " + Token("alice", {"repository:secret/x:push,pull"}), "secret/x",
                 "private bytes");
  std::string absent = Sha256("never pushed");
  std::string bob = Token("bob", {"repository:app/z:pull,push", "repository:secret/x:pull"});
  for (std::string from : {"from", "fro%6D", "%66rom"}) {
    for (const std::string& digest : {secret, absent}) {
      Response r =
          c().Request("POST", "/v2/app/z/blobs/uploads/?mount=" + digest + "&" + from + "=secret/x",
                      "", Bearer(bob));
      // the same answer whether or not secret/x has the blob
      EXPECT_STATUS(r, 202) << from << " " << digest;
      EXPECT_FALSE(r.Header("Docker-Upload-UUID").empty());
    }
    EXPECT_STATUS(c().Request("HEAD", "/v2/app/z/blobs/" + secret, "", Bearer(bob)), 404);
  }
}

TEST_F(TokenAuth, MountFromRepositoryTheCallerMayPullLinksTheBlob) {
  std::string d = PushBlobAs(c(), "Bearer " + Token("bob", {"repository:app/y:push,pull"}), "app/y",
                             "shared bytes");
  std::string bob = Token("bob", {"repository:app/z:pull,push", "repository:app/y:pull"});
  Response r =
      c().Request("POST", "/v2/app/z/blobs/uploads/?mount=" + d + "&from=app/y", "", Bearer(bob));
  EXPECT_STATUS(r, 201);
  EXPECT_EQ(r.Header("Docker-Content-Digest"), d);
  EXPECT_STATUS(c().Request("HEAD", "/v2/app/z/blobs/" + d, "", Bearer(bob)), 200);
}

TEST_F(TokenAuth, MountFromRepositoryNotInTheTokenIsAnOrdinaryUpload) {
  std::string d = PushBlobAs(c(), "Bearer " + Token("bob", {"repository:app/y:push,pull"}), "app/y",
                             "shared bytes");
  std::string bob = Token("bob", {"repository:app/z:pull,push"});  // no pull on app/y in the token
  EXPECT_STATUS(
      c().Request("POST", "/v2/app/z/blobs/uploads/?mount=" + d + "&from=app/y", "", Bearer(bob)),
      202);
}

TEST_F(TokenAuth, MountWithoutFromLinksFromARepositoryTheTokenMayPull) {
  std::string d = PushBlobAs(c(), "Bearer " + Token("bob", {"repository:app/y:push,pull"}), "app/y",
                             "shared bytes");
  std::string without = Token("bob", {"repository:app/z:pull,push"});
  EXPECT_STATUS(c().Request("POST", "/v2/app/z/blobs/uploads/?mount=" + d, "", Bearer(without)),
                202);
  std::string with = Token("bob", {"repository:app/z:pull,push", "repository:app/y:pull"});
  Response r = c().Request("POST", "/v2/app/z/blobs/uploads/?mount=" + d, "", Bearer(with));
  EXPECT_STATUS(r, 201);
  EXPECT_STATUS(c().Request("HEAD", "/v2/app/z/blobs/" + d, "", Bearer(with)), 200);
}

// What docker does for `docker search`: ask, follow the challenge to the token service, ask again.
TEST_F(TokenAuth, SearchListsExactlyWhatEachCallerMayPull) {
  Seed("app/one", 1);
  Seed("secret/two", 2);
  Seed("library/three", 3);
  Response challenge = c().Request("GET", "/v1/search?q=");
  EXPECT_ERROR(challenge, 401, "UNAUTHORIZED");
  std::string www = challenge.Header("WWW-Authenticate");
  auto realm_at = www.find("realm=\"");
  ASSERT_NE(realm_at, std::string::npos) << www;
  std::string realm = www.substr(realm_at + 7, www.find('"', realm_at + 7) - realm_at - 7);
  EXPECT_EQ(realm, "http://" + srv_->hostport() + "/auth/token");

  auto names_for = [&](const std::string& user) {
    HeaderList h;
    if (!user.empty())
      h.emplace_back("Authorization", Basic(user, user == "alice" ? "a-pass" : "b-pass"));
    Response tr =
        c().Request("GET", PathOf(realm) + "?service=berth&scope=registry:catalog:search", "", h);
    auto tj = JsonBody(tr);
    std::vector<std::string> names;
    if (!tj || !tj->contains("token")) {
      ADD_FAILURE() << Describe(tr);
      return names;
    }
    auto sj = JsonBody(c().Request("GET", "/v1/search?q=", "", Bearer((*tj)["token"])));
    if (!sj) return names;
    for (const auto& r : (*sj)["results"]) names.push_back(r["name"]);
    return names;
  };
  EXPECT_EQ(names_for("alice"),
            (std::vector<std::string>{"app/one", "library/three", "secret/two"}));
  EXPECT_EQ(names_for("bob"), (std::vector<std::string>{"app/one", "library/three"}));
  EXPECT_EQ(names_for(""), (std::vector<std::string>{"library/three"}));
}

}  // namespace
}  // namespace berth::testing
