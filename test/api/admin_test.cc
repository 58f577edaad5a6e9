// The JSON admin API under /api/v1/ (docs/openapi.yaml) over HTTP: who may do what, that what it
// creates works on /v2/ (a robot's token with docker-login-style Basic), that changes reach the
// audit trail, and that bad input gets the protocol's errors rather than a 500.
#include <gtest/gtest.h>

#include <chrono>
#include <fstream>
#include <thread>

#include "test/api/tenancy_fixture.h"

namespace berth::testing {
namespace {

HeaderList Json(const std::string& authorization) {
  HeaderList h = As(authorization);
  h.push_back({"Content-Type", "application/json"});
  return h;
}

class Admin : public Tenancy {
 protected:
  Response Call(const std::string& method, const std::string& path, const std::string& auth,
                const nlohmann::json& body = nullptr) {
    return c().Request(method, "/api/v1/" + path, body.is_null() ? "" : body.dump(), Json(auth));
  }
  nlohmann::json Body(const Response& r) {
    auto j = JsonBody(r);
    return j ? *j : nlohmann::json();
  }
};

TEST_F(Admin, ServerAdminCreatesAUserOrgTeamAndGrantThatWorkOnV2) {
  EXPECT_STATUS(Call("POST", "users", root_, {{"name", "carol"}, {"password", "carol-pw"}}), 201);
  EXPECT_STATUS(Call("POST", "orgs", root_, {{"name", "initech"}}), 201);
  EXPECT_STATUS(Call("POST", "orgs/initech/teams", root_, {{"name", "ops"}}), 201);
  EXPECT_STATUS(Call("PUT", "orgs/initech/teams/ops/members/carol", root_), 204);
  EXPECT_STATUS(Call("PUT", "grants", root_,
                     {{"subject", "initech/ops"}, {"role", "write"}, {"target", "initech"}}),
                200);
  PushAs(Basic("carol", "carol-pw"), "initech/app", 7);
  EXPECT_STATUS(
      c().Request("GET", "/v2/initech/app/manifests/v1", "", As(Basic("carol", "carol-pw"))), 200);
  auto teams = Body(Call("GET", "orgs/initech/teams", root_));
  EXPECT_EQ(teams["teams"][0]["members"], nlohmann::json({"carol"}));
  auto users = Body(Call("GET", "users", root_));
  ASSERT_EQ(users["users"].size(), 4u);
  EXPECT_EQ(users["users"][1]["name"], "bob");
  // Revoking the grant takes the access away on the next request.
  EXPECT_STATUS(Call("DELETE", "grants?subject=initech/ops&target=initech", root_), 204);
  EXPECT_ERROR(
      c().Request("GET", "/v2/initech/app/manifests/v1", "", As(Basic("carol", "carol-pw"))), 403,
      "DENIED");
  EXPECT_STATUS(Call("PUT", "users/carol/password", root_, {{"password", "new-pw"}}), 204);
  EXPECT_STATUS(c().Request("GET", "/v2/", "", As(Basic("carol", "new-pw"))), 200);
  EXPECT_STATUS(Call("DELETE", "users/carol", root_), 204);
  EXPECT_ERROR(c().Request("GET", "/v2/", "", As(Basic("carol", "new-pw"))), 401, "UNAUTHORIZED");
}

TEST_F(Admin, NonAdminsAndAnonymousCallersAreRefused) {
  Response anon = Call("GET", "users", "");
  EXPECT_ERROR(anon, 401, "UNAUTHORIZED");
  EXPECT_EQ(anon.Header("WWW-Authenticate"), "Basic realm=\"berth admin\"");
  EXPECT_ERROR(Call("GET", "users", alice_), 403, "DENIED");
  EXPECT_ERROR(Call("POST", "users", alice_, {{"name", "eve"}, {"password", "x"}}), 403, "DENIED");
  EXPECT_ERROR(Call("POST", "orgs", alice_, {{"name", "evil"}}), 403, "DENIED");
  EXPECT_ERROR(Call("PUT", "users/alice/admin", alice_, {{"admin", true}}), 403, "DENIED");
  EXPECT_ERROR(Call("PUT", "users/bob/password", alice_, {{"password", "mine"}}), 403, "DENIED");
  EXPECT_ERROR(Call("PUT", "quotas/acme", alice_, {{"limit", "1TiB"}}), 403, "DENIED");
  EXPECT_ERROR(Call("GET", "audit", alice_), 403, "DENIED");
  // A member (not an admin) of acme does not manage it.
  EXPECT_ERROR(Call("POST", "orgs/acme/teams", alice_, {{"name", "x"}}), 403, "DENIED");
  EXPECT_ERROR(
      Call("PUT", "grants", alice_, {{"subject", "alice"}, {"role", "admin"}, {"target", "acme"}}),
      403, "DENIED");
  EXPECT_ERROR(Call("GET", "users", Basic("alice", "wrong")), 401, "UNAUTHORIZED");
  // Her own password is hers to change.
  EXPECT_STATUS(Call("PUT", "users/alice/password", alice_, {{"password", "alice-2"}}), 204);
  EXPECT_STATUS(c().Request("GET", "/v2/", "", As(Basic("alice", "alice-2"))), 200);
}

TEST_F(Admin, AnOrganisationAdminManagesTheirOrganisationOnly) {
  ASSERT_TRUE(store_->Grant("alice", meta::Role::kAdmin, "acme", "test"));
  EXPECT_STATUS(Call("POST", "orgs/acme/teams", alice_, {{"name", "ops"}}), 201);
  EXPECT_STATUS(Call("PUT", "orgs/acme/teams/ops/members/bob", alice_), 204);
  EXPECT_STATUS(Call("PUT", "grants", alice_,
                     {{"subject", "acme/ops"}, {"role", "read"}, {"target", "acme/app"}}),
                200);
  auto orgs = Body(Call("GET", "orgs", alice_));
  EXPECT_EQ(orgs["orgs"], nlohmann::json({"acme"}));
  auto grants = Body(Call("GET", "grants", alice_));
  for (const auto& g : grants["grants"])
    EXPECT_TRUE(g["target"].get<std::string>().starts_with("acme"));
  EXPECT_ERROR(Call("GET", "orgs/globex/teams", alice_), 403, "DENIED");
  EXPECT_ERROR(Call("POST", "orgs/globex/teams", alice_, {{"name", "x"}}), 403, "DENIED");
  EXPECT_ERROR(
      Call("PUT", "grants", alice_, {{"subject", "alice"}, {"role", "read"}, {"target", "globex"}}),
      403, "DENIED");
  // Robots: only scopes that stay inside acme.
  EXPECT_STATUS(Call("POST", "robots", alice_, {{"name", "acme-ci"}, {"scopes", {"acme/*:pull"}}}),
                201);
  for (const char* scope : {"*:pull", "acme*:pull", "globex/*:pull", "*/app:pull"}) {
    EXPECT_ERROR(Call("POST", "robots", alice_, {{"name", "bad"}, {"scopes", {scope}}}), 403,
                 "DENIED")
        << scope;
  }
  auto robots = Body(Call("GET", "robots", alice_));
  ASSERT_EQ(robots["robots"].size(), 1u);
  EXPECT_FALSE(robots["robots"][0].contains("token")) << "a secret is shown only once";
  // Visibility of its repositories, not of others'.
  EXPECT_STATUS(Call("PUT", "repositories/acme/app/visibility", alice_, {{"visibility", "public"}}),
                200);
  EXPECT_ERROR(
      Call("PUT", "repositories/globex/app/visibility", alice_, {{"visibility", "public"}}), 403,
      "DENIED");
  EXPECT_EQ(Body(Call("GET", "repositories/acme/app/visibility", ""))["visibility"], "public");
}

TEST_F(Admin, ARobotCreatedThroughTheApiLogsInWithBasicPushesAndIsRevoked) {
  Response created = Call("POST", "robots", root_,
                          {{"name", "ci"}, {"scopes", {"acme/*:pull,push"}}, {"expires", "30d"}});
  ASSERT_STATUS(created, 201);
  auto j = Body(created);
  EXPECT_EQ(j["username"], "ci");
  ASSERT_TRUE(j["token"].is_string());
  EXPECT_TRUE(j["expires_at"].is_string());
  std::string ci = Basic("ci", j["token"].get<std::string>());
  EXPECT_STATUS(c().Request("GET", "/v2/", "", As(ci)), 200) << "docker login's check";
  PushAs(ci, "acme/app", 3);
  EXPECT_STATUS(c().Request("GET", "/v2/acme/app/manifests/v1", "", As(ci)), 200);
  EXPECT_ERROR(c().Request("POST", "/v2/globex/app/blobs/uploads/", "", As(ci)), 403, "DENIED");
  // A robot's credentials do not administer anything, not even what it may push to.
  auto me = Body(Call("GET", "me", ci));
  EXPECT_EQ(me["name"], "ci");
  EXPECT_EQ(me["kind"], "token");
  EXPECT_ERROR(Call("GET", "robots", ci), 403, "DENIED");
  EXPECT_STATUS(Call("DELETE", "robots/ci", root_), 204);
  EXPECT_ERROR(c().Request("GET", "/v2/acme/app/manifests/v1", "", As(ci)), 401, "UNAUTHORIZED");
  EXPECT_ERROR(Call("DELETE", "robots/nobody", root_), 404, "NAME_UNKNOWN");
}

TEST_F(Admin, PersonalTokensAreTheirOwnersAndNeverAdminister) {
  Response r = Call("POST", "tokens", root_, {{"name", "laptop"}, {"scopes", {"*:pull"}}});
  ASSERT_STATUS(r, 201);
  std::string pat = Basic("root", Body(r)["token"].get<std::string>());
  EXPECT_EQ(Body(Call("GET", "me", pat))["kind"], "token");
  EXPECT_ERROR(Call("GET", "users", pat), 403, "DENIED") << "a token does not carry admin rights";
  EXPECT_ERROR(
      Call("POST", "tokens", alice_, {{"name", "x"}, {"owner", "bob"}, {"scopes", {"*:pull"}}}),
      403, "DENIED");
  EXPECT_STATUS(
      Call("POST", "tokens", alice_, {{"name", "alice-cli"}, {"scopes", {"acme/*:pull"}}}), 201);
  auto mine = Body(Call("GET", "tokens", alice_));
  ASSERT_EQ(mine["tokens"].size(), 1u);
  EXPECT_EQ(mine["tokens"][0]["owner"], "alice");
  EXPECT_ERROR(Call("DELETE", "tokens/laptop", alice_), 404, "NAME_UNKNOWN") << "not hers";
  EXPECT_STATUS(Call("DELETE", "tokens/alice-cli", alice_), 204);
}

TEST_F(Admin, QuotaUsageIsVisibleToItsOwnerAndSetOnlyByServerAdmins) {
  EXPECT_EQ(Body(Call("PUT", "quotas/acme", root_, {{"limit", "10MiB"}}))["limit_bytes"],
            10u << 20);
  EXPECT_STATUS(Call("PUT", "quotas/alice", root_, {{"limit", 1000000}}), 200);
  PushAs(alice_, "alice/tool", 5);
  auto own = Body(Call("GET", "quotas/alice", alice_));
  EXPECT_EQ(own["limit_bytes"], 1000000);
  EXPECT_GT(own["used_bytes"].get<uint64_t>(), 0u);
  EXPECT_ERROR(Call("GET", "quotas/acme", alice_), 403, "DENIED") << "a member, not an admin";
  EXPECT_ERROR(Call("GET", "quotas/bob", alice_), 403, "DENIED");
  ASSERT_TRUE(store_->Grant("alice", meta::Role::kAdmin, "acme", "test"));
  EXPECT_STATUS(Call("GET", "quotas/acme", alice_), 200);
  auto me = Body(Call("GET", "me", alice_));
  EXPECT_EQ(me["administers"], nlohmann::json({"acme", "alice"}));
  EXPECT_EQ(me["teams"], nlohmann::json({"acme/dev"}));
  ASSERT_EQ(me["quotas"].size(), 2u);
  EXPECT_GT(me["quotas"][1]["used_bytes"].get<uint64_t>(), 0u);
  EXPECT_EQ(Body(Call("GET", "quotas", alice_))["quotas"].size(), 2u);
  EXPECT_EQ(Body(Call("GET", "me", ""))["kind"], "anonymous");
}

TEST_F(Admin, ChangesAppearInTheAuditTrailWithTheCallerAsActor) {
  ASSERT_STATUS(Call("POST", "orgs", root_, {{"name", "umbrella"}}), 201);
  ASSERT_STATUS(Call("POST", "robots", root_, {{"name", "bot"}, {"scopes", {"umbrella/*:pull"}}}),
                201);
  ASSERT_STATUS(Call("DELETE", "robots/bot", root_), 204);
  auto audit = Body(Call("GET", "audit?limit=3", root_));
  ASSERT_EQ(audit["entries"].size(), 3u);
  EXPECT_EQ(audit["entries"][0]["action"], "robot.revoke");
  EXPECT_EQ(audit["entries"][1]["action"], "robot.add");
  EXPECT_EQ(audit["entries"][1]["detail"], "umbrella/*:pull");
  EXPECT_EQ(audit["entries"][2]["action"], "org.add");
  EXPECT_EQ(audit["entries"][2]["target"], "umbrella");
  for (const auto& e : audit["entries"]) EXPECT_EQ(e["actor"], "root");
  EXPECT_ERROR(Call("GET", "audit?limit=0", root_), 400, "UNSUPPORTED");
}

TEST_F(Admin, BadInputGetsTheProtocolsErrorsNeverA500) {
  EXPECT_ERROR(c().Request("POST", "/api/v1/users", "{not json", Json(root_)), 400, "UNSUPPORTED");
  EXPECT_ERROR(c().Request("POST", "/api/v1/users", "[1,2]", Json(root_)), 400, "UNSUPPORTED");
  EXPECT_ERROR(c().Request("POST", "/api/v1/users", "", Json(root_)), 400, "UNSUPPORTED");
  EXPECT_ERROR(Call("POST", "users", root_, {{"name", 5}, {"password", "x"}}), 400, "UNSUPPORTED");
  EXPECT_ERROR(Call("POST", "users", root_, {{"name", "Bad Name"}, {"password", "x"}}), 400,
               "UNSUPPORTED");
  EXPECT_ERROR(Call("POST", "users", root_, {{"name", "alice"}, {"password", "x"}}), 409,
               "UNSUPPORTED");
  EXPECT_ERROR(Call("DELETE", "users/nobody", root_), 404, "NAME_UNKNOWN");
  EXPECT_ERROR(
      Call("PUT", "grants", root_, {{"subject", "alice"}, {"role", "owner"}, {"target", "acme"}}),
      400, "UNSUPPORTED");
  EXPECT_ERROR(Call("POST", "robots", root_, {{"name", "r"}, {"scopes", {"acme/*:fly"}}}), 400,
               "UNSUPPORTED");
  EXPECT_ERROR(Call("POST", "robots", root_,
                    {{"name", "r"}, {"scopes", {"acme/*:pull"}}, {"expires", "soon"}}),
               400, "UNSUPPORTED");
  EXPECT_ERROR(Call("PUT", "quotas/acme", root_, {{"limit", "lots"}}), 400, "UNSUPPORTED");
  EXPECT_ERROR(Call("PUT", "quotas/acme", root_, {{"limit", -1}}), 400, "UNSUPPORTED");
  EXPECT_ERROR(
      Call("PUT", "repositories/acme/../globex/x/visibility", root_, {{"visibility", "public"}}),
      400, "UNSUPPORTED");
  EXPECT_ERROR(Call("PUT", "repositories/acme/app/visibility", root_, {{"visibility", "open"}}),
               400, "UNSUPPORTED");
  EXPECT_ERROR(Call("DELETE", "grants?subject=alice", root_), 400, "UNSUPPORTED");
  EXPECT_ERROR(Call("GET", "nothing/here", root_), 404, "NAME_UNKNOWN");
  Response wrong = Call("PATCH", "users", root_);
  EXPECT_ERROR(wrong, 405, "UNSUPPORTED");
  EXPECT_EQ(wrong.Header("Allow"), "GET, POST");
  EXPECT_ERROR(c().Request("POST", "/api/v1/users", std::string(70 << 10, ' '), Json(root_)), 413,
               "SIZE_INVALID");
  EXPECT_ERROR(Call("GET", "users%zz", root_), 400, "UNSUPPORTED");
  // The registry API is untouched by the admin API's presence.
  EXPECT_STATUS(c().Request("GET", "/v2/", "", As(root_)), 200);
}

// With berth.audit on, the store's changes are also lines of the one audit trail.
class AdminAuditLog : public Admin {
 protected:
  std::string ExtraYaml() const override {
    return "  audit:\n    enabled: true\n    path: " + dir_.Path("audit.log") + "\n";
  }
  // The audit line whose action is `action` (polled with a deadline: the writer is async).
  nlohmann::json LineFor(const std::string& action) {
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (std::chrono::steady_clock::now() < deadline) {
      std::ifstream in(dir_.Path("audit.log"));
      for (std::string l; std::getline(in, l);) {
        auto j = nlohmann::json::parse(l, nullptr, false);
        if (!j.is_discarded() && j["action"] == action) return j;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    return nullptr;
  }
};

TEST_F(AdminAuditLog, ChangesThroughTheApiReachTheAuditLog) {
  ASSERT_STATUS(Call("POST", "orgs", root_, {{"name", "umbrella"}}), 201);
  ASSERT_STATUS(Call("POST", "robots", root_, {{"name", "bot"}, {"scopes", {"umbrella/*:pull"}}}),
                201);
  nlohmann::json org = LineFor("org.add");
  ASSERT_TRUE(org.is_object()) << "no org.add line";
  EXPECT_EQ(org["actor"]["name"], "root");
  EXPECT_EQ(org["target"], "umbrella");
  nlohmann::json robot = LineFor("robot.add");
  ASSERT_TRUE(robot.is_object()) << "no robot.add line";
  EXPECT_EQ(robot["detail"], "umbrella/*:pull");
  EXPECT_EQ(robot.dump().find("berth_"), std::string::npos) << "never the secret";
}

// Bearer JWTs from the built-in token service identify the caller, but as a token: one may have
// been issued for a personal access token, whose scope must not grow into administration.
class AdminToken : public TenancyToken {};

TEST_F(AdminToken, BearerTokensIdentifyButDoNotAdminister) {
  std::string bearer = Token(root_, "repository:acme/app:pull");
  ASSERT_FALSE(bearer.empty());
  Response me = c().Request("GET", "/api/v1/me", "", As(bearer));
  ASSERT_STATUS(me, 200);
  EXPECT_EQ((*JsonBody(me))["name"], "root");
  EXPECT_EQ((*JsonBody(me))["kind"], "token");
  EXPECT_ERROR(c().Request("GET", "/api/v1/users", "", As(bearer)), 403, "DENIED");
  EXPECT_STATUS(c().Request("GET", "/api/v1/users", "", As(root_)), 200)
      << "Basic with the password works with auth: token too";
  EXPECT_ERROR(c().Request("GET", "/api/v1/me", "", As("Bearer not.a.jwt")), 401, "UNAUTHORIZED");
}

}  // namespace
}  // namespace berth::testing
