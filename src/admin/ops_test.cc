// The operations' access rules, directly over a SQLite store (the API tests cover the wire).
#include "admin/ops.h"

#include <gtest/gtest.h>

#include "auth/htpasswd.h"
#include "test/support/temp_dir.h"

namespace berth::admin {
namespace {

// The error code of `r`; kCancelled (which no operation returns) when it succeeded.
template <typename T>
ErrorCode Code(const std::expected<T, Error>& r) {
  return r ? ErrorCode::kCancelled : r.error().code;
}

class Ops : public ::testing::Test {
 protected:
  void SetUp() override {
    auto db = meta::OpenSqlite(dir_.Path("meta.db"));
    ASSERT_TRUE(db);
    store_ = *meta::Store::Open(std::move(*db));
    std::string hash = auth::BcryptHash("pw", 4).value();
    ASSERT_TRUE(store_->AddUser("root", hash, true, "t"));
    ASSERT_TRUE(store_->AddUser("alice", hash, false, "t"));
    ASSERT_TRUE(store_->AddUser("bob", hash, false, "t"));
    ASSERT_TRUE(store_->AddOrg("acme", "t"));
    ASSERT_TRUE(store_->AddTeam("acme", "leads", "t"));
    ASSERT_TRUE(store_->AddTeamMember("acme", "leads", "alice", "t"));
  }
  testing::TempDir dir_;
  meta::StorePtr store_;
};

TEST_F(Ops, TheLocalOperatorMayDoEverythingAndIsTheAuditActor) {
  Operations ops(*store_);
  Caller cli = Caller::Local("cli:ops");
  ASSERT_TRUE(ops.AddOrg(cli, "globex"));
  ASSERT_TRUE(ops.SetQuota(cli, "globex", "1GiB"));
  ASSERT_TRUE(ops.AddToken(cli, "ci", "", {"globex/*:pull"}, "12h"));
  EXPECT_EQ(ops.ListTokens(cli, true)->size(), 1u);
  EXPECT_EQ(ops.ListTokens(cli, false)->size(), 0u);
  auto audit = ops.Audit(cli, 1);
  ASSERT_TRUE(audit);
  EXPECT_EQ(audit->at(0).actor, "cli:ops");
}

TEST_F(Ops, AdminRoleThroughATeamMakesAnOrganisationAdmin) {
  Operations ops(*store_);
  Caller alice = Caller::User("alice");
  EXPECT_EQ(Code(ops.AddTeam(alice, "acme", "x")), ErrorCode::kDenied);
  ASSERT_TRUE(store_->Grant("acme/leads", meta::Role::kAdmin, "acme", "t"));
  EXPECT_TRUE(ops.AddTeam(alice, "acme", "x"));
  EXPECT_TRUE(ops.AddMember(alice, "acme", "x", "bob"));
  EXPECT_EQ(Code(ops.AddOrg(alice, "mine")), ErrorCode::kDenied);
  EXPECT_EQ(Code(ops.SetQuota(alice, "acme", "1TiB")), ErrorCode::kDenied);
  auto me = ops.WhoAmI(alice);
  ASSERT_TRUE(me);
  EXPECT_EQ(me->administers, (std::vector<std::string>{"acme", "alice"}));
  EXPECT_FALSE(me->admin);
}

TEST_F(Ops, TokensAndAnonymousCallersOnlyLearnWhoTheyAre) {
  Operations ops(*store_);
  for (const Caller& c : {Caller::Token("root"), Caller{}}) {
    ErrorCode want = c.kind == Caller::Kind::kToken ? ErrorCode::kDenied : ErrorCode::kUnauthorized;
    EXPECT_EQ(Code(ops.ListUsers(c)), want);
    EXPECT_EQ(Code(ops.ListOrgs(c)), want);
    EXPECT_EQ(Code(ops.ListTokens(c, false)), want);
    EXPECT_EQ(Code(ops.Quotas(c, "")), want);
    EXPECT_EQ(Code(ops.SetVisibility(c, "acme/app", "public")), want);
    EXPECT_EQ(Code(ops.AddToken(c, "t", "root", {"*:pull"}, "")), want);
    EXPECT_TRUE(ops.WhoAmI(c));
  }
}

TEST_F(Ops, LifetimesParseAsDaysOrGoDurations) {
  EXPECT_EQ(*ParseLifetime(""), 0);
  EXPECT_EQ(*ParseLifetime("30d"), 30 * 86400);
  EXPECT_EQ(*ParseLifetime("90m"), 90 * 60);
  for (const char* bad : {"0d", "d", "-1h", "soon", "99999d"})
    EXPECT_FALSE(ParseLifetime(bad)) << bad;
}

}  // namespace
}  // namespace berth::admin
