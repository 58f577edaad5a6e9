// Tenancy over HTTP (berth.meta): users, organisations, teams, grants, visibility, robot tokens,
// quotas and pull rate limits from the metadata store, with Basic auth and with the built-in token
// service. The store is written directly (as `berth user ...` does, from another connection) while
// the server runs, so these tests also show that the server sees changes on the next request.
#include <gtest/gtest.h>

#include <atomic>
#include <thread>

#include "auth/encoding.h"
#include "auth/htpasswd.h"
#include "auth/jwt.h"
#include "common/strings.h"
#include "meta/store.h"
#include "test/api/tenancy_fixture.h"

namespace berth::testing {
namespace {

TEST_F(Tenancy, GetV2WithoutCredentialsIsChallengedAndAStoreUserLogsIn) {
  Response r = c().Request("GET", "/v2/");
  EXPECT_ERROR(r, 401, "UNAUTHORIZED");
  EXPECT_EQ(r.Header("WWW-Authenticate"), "Basic realm=\"Registry Realm\"");
  EXPECT_STATUS(c().Request("GET", "/v2/", "", As(alice_)), 200);
  EXPECT_ERROR(c().Request("GET", "/v2/", "", As(Basic("alice", "wrong"))), 401, "UNAUTHORIZED");
  EXPECT_ERROR(c().Request("GET", "/v2/", "", As(Basic("nobody", "x"))), 401, "UNAUTHORIZED");
}

TEST_F(Tenancy, MembersOfOneOrganisationCannotReachAnothersPrivateRepositories) {
  PushedImage mine = PushAs(alice_, "acme/app", 1);
  PushedImage theirs = PushAs(bob_, "globex/secret", 2);
  // pull
  EXPECT_ERROR(c().Request("GET", "/v2/globex/secret/manifests/v1", "", As(alice_)), 403,
               "DENIED");
  EXPECT_ERROR(c().Request("GET", "/v2/globex/secret/blobs/" + Sha256(theirs.layer), "",
                           As(alice_)),
               403, "DENIED");
  // push
  EXPECT_ERROR(c().Request("POST", "/v2/globex/secret/blobs/uploads/", "", As(alice_)), 403,
               "DENIED");
  // list tags, read referrers
  EXPECT_ERROR(c().Request("GET", "/v2/globex/secret/tags/list", "", As(alice_)), 403, "DENIED");
  EXPECT_ERROR(c().Request("GET", "/v2/globex/secret/referrers/" + theirs.digest, "", As(alice_)),
               403, "DENIED");
  // mount from: an ordinary session, the blob stays out of acme
  for (std::string q : {std::string("&from=globex/secret"), std::string()}) {
    Response m = c().Request(
        "POST", "/v2/acme/app/blobs/uploads/?mount=" + Sha256(theirs.layer) + q, "", As(alice_));
    EXPECT_STATUS(m, 202) << q;
  }
  EXPECT_STATUS(c().Request("HEAD", "/v2/acme/app/blobs/" + Sha256(theirs.layer), "", As(alice_)),
                404);
  // see: catalog and search list only what the caller may pull
  auto cat = JsonBody(c().Request("GET", "/v2/_catalog", "", As(alice_)));
  ASSERT_TRUE(cat);
  EXPECT_EQ((*cat)["repositories"], nlohmann::json({"acme/app"}));
  auto search = JsonBody(c().Request("GET", "/v1/search?q=e", "", As(alice_)));
  ASSERT_TRUE(search);
  EXPECT_EQ((*search)["num_results"], 1);
  EXPECT_EQ((*search)["results"][0]["name"], "acme/app");
  // the owner sees everything of their own, the admin everything
  EXPECT_STATUS(c().Request("GET", "/v2/globex/secret/referrers/" + theirs.digest, "", As(bob_)),
                200);
  auto all = JsonBody(c().Request("GET", "/v2/_catalog", "", As(root_)));
  ASSERT_TRUE(all);
  EXPECT_EQ((*all)["repositories"], nlohmann::json({"acme/app", "globex/secret"}));
  // and alice still reaches her own
  EXPECT_STATUS(c().Request("GET", "/v2/acme/app/manifests/v1", "", As(alice_)), 200);
  (void)mine;
}

TEST_F(Tenancy, PublicRepositoriesPullAnonymouslyAndNothingElseDoes) {
  PushedImage img = PushAs(bob_, "globex/tools", 1);
  EXPECT_ERROR(c().Request("GET", "/v2/globex/tools/manifests/v1"), 401, "UNAUTHORIZED");
  ASSERT_TRUE(store_->SetVisibility("globex/tools", true, "test"));
  EXPECT_STATUS(c().Request("GET", "/v2/globex/tools/manifests/v1"), 200);
  EXPECT_STATUS(c().Request("GET", "/v2/globex/tools/blobs/" + Sha256(img.layer)), 200);
  EXPECT_STATUS(c().Request("GET", "/v2/globex/tools/manifests/v1", "", As(alice_)), 200);
  EXPECT_ERROR(c().Request("POST", "/v2/globex/tools/blobs/uploads/"), 401, "UNAUTHORIZED");
  EXPECT_ERROR(c().Request("POST", "/v2/globex/tools/blobs/uploads/", "", As(alice_)), 403,
               "DENIED");
  auto cat = JsonBody(c().Request("GET", "/v2/_catalog"));
  ASSERT_TRUE(cat);
  EXPECT_EQ((*cat)["repositories"], nlohmann::json({"globex/tools"}));
  ASSERT_TRUE(store_->SetVisibility("globex/tools", false, "test"));
  EXPECT_ERROR(c().Request("GET", "/v2/globex/tools/manifests/v1"), 401, "UNAUTHORIZED");
}

TEST_F(Tenancy, RevokedRobotTokenFailsOnItsNextRequest) {
  PushAs(alice_, "acme/app", 1);
  auto robot = store_->AddToken("ci", "", {*meta::ParseScopeSpec("acme/*:pull")}, 0, "test");
  ASSERT_TRUE(robot);
  std::string auth = Basic("ci", robot->secret);
  EXPECT_STATUS(c().Request("GET", "/v2/acme/app/manifests/v1", "", As(auth)), 200);
  EXPECT_ERROR(c().Request("POST", "/v2/acme/app/blobs/uploads/", "", As(auth)), 403, "DENIED");
  EXPECT_ERROR(c().Request("GET", "/v2/acme/app/manifests/v1", "",
                           As(Basic("alice", robot->secret))),
               401, "UNAUTHORIZED")
      << "a robot's token is not alice's";
  ASSERT_TRUE(store_->RevokeToken("ci", "test"));
  EXPECT_ERROR(c().Request("GET", "/v2/acme/app/manifests/v1", "", As(auth)), 401, "UNAUTHORIZED");
}

TEST_F(Tenancy, PersonalAccessTokensLogInAsTheirOwnerWithinTheirScope) {
  PushAs(alice_, "acme/app", 1);
  auto pat = store_->AddToken("laptop", "alice", {*meta::ParseScopeSpec("acme/*:pull")}, 0, "t");
  ASSERT_TRUE(pat);
  std::string auth = Basic("alice", pat->secret);
  EXPECT_STATUS(c().Request("GET", "/v2/acme/app/manifests/v1", "", As(auth)), 200);
  EXPECT_ERROR(c().Request("DELETE", "/v2/acme/app/manifests/v1", "", As(auth)), 403, "DENIED");
  EXPECT_ERROR(c().Request("GET", "/v2/acme/app/manifests/v1", "", As(Basic("bob", pat->secret))),
               401, "UNAUTHORIZED");
}

TEST_F(Tenancy, QuotaRefusesAPushOverTheLimitWithUsageAndLimit) {
  ASSERT_TRUE(store_->SetQuota("acme", 1000, "test"));
  std::string a(600, 'a'), b(600, 'b');
  EXPECT_STATUS(c().Request("POST", "/v2/acme/one/blobs/uploads/?digest=" + Sha256(a), a,
                            As(alice_)),
                201);
  Response over =
      c().Request("POST", "/v2/acme/one/blobs/uploads/?digest=" + Sha256(b), b, As(alice_));
  EXPECT_ERROR(over, 403, "DENIED");
  EXPECT_NE(over.body.find("600 B used of 1000 B"), std::string::npos) << over.body;
  // The same blob again, in another repository of the namespace, costs nothing.
  EXPECT_STATUS(c().Request("POST", "/v2/acme/two/blobs/uploads/?digest=" + Sha256(a), a,
                            As(alice_)),
                201);
  EXPECT_EQ(store_->GetQuota("acme")->used_bytes, 600u);
  // Another namespace has its own (no) limit.
  EXPECT_STATUS(c().Request("POST", "/v2/globex/x/blobs/uploads/?digest=" + Sha256(b), b,
                            As(bob_)),
                201);
}

TEST_F(Tenancy, ParallelPushesCannotOvershootTheQuota) {
  constexpr int kClients = 6, kBlobsEach = 4, kSize = 1000, kFit = 10;
  ASSERT_TRUE(store_->SetQuota("acme", kFit * kSize, "test"));
  // One login first, so the parallel requests hit the password cache instead of the bcrypt budget.
  EXPECT_STATUS(c().Request("GET", "/v2/", "", As(alice_)), 200);
  std::atomic<int> created{0}, denied{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < kClients; ++i) {
    threads.emplace_back([&, i] {
      HttpClient client(srv_->port());
      for (int j = 0; j < kBlobsEach; ++j) {
        std::string data(kSize, static_cast<char>('a' + i));
        data[0] = static_cast<char>('0' + j);
        Response r = client.Request(
            "POST", "/v2/acme/race" + std::to_string(i % 2) + "/blobs/uploads/?digest=" +
                        Sha256(data),
            data, {{"Authorization", alice_}});
        if (r.status == 201) {
          ++created;
        } else if (r.status == 403) {
          ++denied;
        } else {
          ADD_FAILURE() << Describe(r);
        }
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(created.load(), kFit);
  EXPECT_EQ(denied.load(), kClients * kBlobsEach - kFit);
  EXPECT_LE(store_->GetQuota("acme")->used_bytes, uint64_t{kFit * kSize});
}

class TenancyRateLimit : public Tenancy {
 protected:
  std::string ExtraYaml() const override {
    return "  ratelimit:\n    pulls: 2\n    window: 60s\n    exempt: [root]\n";
  }
};

TEST_F(TenancyRateLimit, ManifestGetsCarryDockerHubHeadersThen429) {
  PushAs(alice_, "acme/app", 1);
  Response first = c().Request("GET", "/v2/acme/app/manifests/v1", "", As(alice_));
  EXPECT_STATUS(first, 200);
  EXPECT_EQ(first.Header("ratelimit-limit"), "2;w=60");
  EXPECT_EQ(first.Header("ratelimit-remaining"), "1;w=60");
  EXPECT_STATUS(c().Request("HEAD", "/v2/acme/app/manifests/v1", "", As(alice_)), 200)
      << "HEAD is not a pull";
  Response second = c().Request("GET", "/v2/acme/app/manifests/v1", "", As(alice_));
  EXPECT_EQ(second.Header("ratelimit-remaining"), "0;w=60");
  Response third = c().Request("GET", "/v2/acme/app/manifests/v1", "", As(alice_));
  EXPECT_ERROR(third, 429, "TOOMANYREQUESTS");
  EXPECT_EQ(third.Header("ratelimit-limit"), "2;w=60");
  EXPECT_EQ(third.Header("ratelimit-remaining"), "0;w=60");
  EXPECT_EQ(third.Header("Retry-After"), "30");
  // Another identity has its own bucket; an exempt one has none.
  EXPECT_STATUS(c().Request("GET", "/v2/acme/app/manifests/v1", "", As(bob_)), 403);
  for (int i = 0; i < 4; ++i) {
    Response r = c().Request("GET", "/v2/acme/app/manifests/v1", "", As(root_));
    EXPECT_STATUS(r, 200);
    EXPECT_EQ(r.Header("ratelimit-limit"), "");
  }
}

TEST_F(TenancyToken, TokensAreIssuedFromTheStoreAndRecheckedOnEveryRequest) {
  std::string push = Token(alice_, "repository:acme/app:pull,push");
  ASSERT_FALSE(push.empty());
  PushAs(push, "acme/app", 1);
  // bob gets no pull on acme (the access claim is empty), so the registry refuses.
  std::string bobs = Token(bob_, "repository:acme/app:pull");
  EXPECT_ERROR(c().Request("GET", "/v2/acme/app/manifests/v1", "", As(bobs)), 401,
               "UNAUTHORIZED");
  // A robot logs in at the token endpoint with its token as the password.
  auto robot = store_->AddToken("ci", "", {*meta::ParseScopeSpec("acme/*:pull")}, 0, "test");
  ASSERT_TRUE(robot);
  std::string ci = Token(Basic("ci", robot->secret), "repository:acme/app:pull");
  ASSERT_FALSE(ci.empty());
  EXPECT_STATUS(c().Request("GET", "/v2/acme/app/manifests/v1", "", As(ci)), 200);
  ASSERT_TRUE(store_->RevokeToken("ci", "test"));
  Response r = c().Request("GET", "/v2/acme/app/manifests/v1", "", As(ci));
  EXPECT_ERROR(r, 401, "UNAUTHORIZED");
  EXPECT_NE(r.Header("WWW-Authenticate").find("insufficient_scope"), std::string::npos);
  EXPECT_EQ(c().Request("GET", "/auth/token?service=berth&scope=repository:acme/app:pull", "",
                        As(Basic("ci", robot->secret)))
                .status,
            401);
  // Anonymous tokens pull public repositories only.
  ASSERT_TRUE(store_->SetVisibility("acme/app", true, "test"));
  std::string anon = Token("", "repository:acme/app:pull");
  EXPECT_STATUS(c().Request("GET", "/v2/acme/app/manifests/v1", "", As(anon)), 200);
}

}  // namespace
}  // namespace berth::testing
