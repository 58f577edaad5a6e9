// One suite for every metadata-store database: SQLite always; PostgreSQL when BERTH_TEST_PG_DSN
// names a server (CTest's meta.conformance.postgres starts a throwaway one, see
// test/meta/with_postgres.sh, and sets BERTH_REQUIRE_PG=1 so that a broken DSN fails).
#include <gtest/gtest.h>

#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <thread>

#include "common/digest.h"
#include "common/strings.h"
#include "meta/store.h"

namespace berth::meta {
namespace {

class StoreConformance : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    if (GetParam() == "sqlite") {
      dir_ = std::filesystem::temp_directory_path() / ("berth-meta-" + RandomHex(6));
      std::filesystem::create_directories(dir_);
      path_ = (dir_ / "meta.db").string();
    } else {
      const char* dsn = std::getenv("BERTH_TEST_PG_DSN");
      if (dsn == nullptr || *dsn == '\0') {
        if (std::getenv("BERTH_REQUIRE_PG")) FAIL() << "BERTH_TEST_PG_DSN is not set";
        GTEST_SKIP() << "no PostgreSQL (BERTH_TEST_PG_DSN); ctest runs meta.conformance.postgres";
      }
      auto admin = OpenPostgres(dsn);
      ASSERT_TRUE(admin) << admin.error().message;
      schema_ = "t_" + RandomHex(6);
      ASSERT_TRUE((*admin)->ExecScript("CREATE SCHEMA " + schema_));
      // Each test gets its own schema, so tests neither see nor clean up after each other.
      dsn_ = std::string(dsn) + " options='-c search_path=" + schema_ + "'";
      base_dsn_ = dsn;
    }
    auto s = OpenAnother();
    ASSERT_TRUE(s) << s.error().message;
    store_ = *s;
  }
  void TearDown() override {
    store_.reset();
    if (!dir_.empty()) std::filesystem::remove_all(dir_);
    if (!schema_.empty()) {
      if (auto admin = OpenPostgres(base_dsn_)) {
        (void)(*admin)->ExecScript("DROP SCHEMA " + schema_ + " CASCADE");
      }
    }
  }
  Result<DatabasePtr> OpenDatabase() {
    return GetParam() == "sqlite" ? OpenSqlite(path_) : OpenPostgres(dsn_);
  }
  Result<StorePtr> OpenAnother() {
    BERTH_ASSIGN_OR_RETURN(auto db, OpenDatabase());
    return Store::Open(std::move(db), clock_);
  }
  int64_t Now() const {
    return std::chrono::duration_cast<std::chrono::seconds>(clock_.Now().time_since_epoch())
        .count();
  }
  // Org "acme" with team "dev" (member alice, write on acme); org "globex" with team "ops" (member
  // bob, read on globex).
  void TwoOrgs() {
    ASSERT_TRUE(store_->AddUser("alice", "$2y$10$hashA", false, "test"));
    ASSERT_TRUE(store_->AddUser("bob", "$2y$10$hashB", false, "test"));
    ASSERT_TRUE(store_->AddOrg("acme", "test"));
    ASSERT_TRUE(store_->AddOrg("globex", "test"));
    ASSERT_TRUE(store_->AddTeam("acme", "dev", "test"));
    ASSERT_TRUE(store_->AddTeam("globex", "ops", "test"));
    ASSERT_TRUE(store_->AddTeamMember("acme", "dev", "alice", "test"));
    ASSERT_TRUE(store_->AddTeamMember("globex", "ops", "bob", "test"));
    ASSERT_TRUE(store_->Grant("acme/dev", Role::kWrite, "acme", "test"));
    ASSERT_TRUE(store_->Grant("globex/ops", Role::kRead, "globex", "test"));
  }
  Directory Dir() {
    auto d = store_->LoadDirectory();
    EXPECT_TRUE(d) << d.error().message;
    return d ? std::move(*d) : Directory{};
  }

  FakeClock clock_{SystemTime(std::chrono::seconds(1'800'000'000))};
  std::filesystem::path dir_;
  std::string path_, dsn_, base_dsn_, schema_;
  StorePtr store_;
};

TEST_P(StoreConformance, MigrationsRecordTheVersionAndReopenKeepsData) {
  EXPECT_EQ(store_->SchemaVersion().value(), CurrentSchemaVersion());
  ASSERT_TRUE(store_->AddUser("alice", "$2y$10$x", true, "test"));
  store_.reset();
  auto again = OpenAnother();
  ASSERT_TRUE(again) << again.error().message;
  auto users = (*again)->ListUsers();
  ASSERT_TRUE(users);
  ASSERT_EQ(users->size(), 1u);
  EXPECT_EQ((*users)[0].name, "alice");
  EXPECT_TRUE((*users)[0].admin);
}

TEST_P(StoreConformance, NewerSchemaIsRefusedWithAClearMessage) {
  auto db = OpenDatabase();
  ASSERT_TRUE(db);
  ASSERT_TRUE((*db)->Query("UPDATE berth_meta_state SET value = 999 WHERE key = 'schema_version'"));
  db->reset();
  auto again = OpenAnother();
  ASSERT_FALSE(again);
  EXPECT_EQ(again.error().code, ErrorCode::kUnavailable);
  EXPECT_NE(again.error().message.find("schema version 999 is newer"), std::string::npos)
      << again.error().message;
  EXPECT_NE(again.error().message.find("upgrade berth"), std::string::npos);
}

TEST_P(StoreConformance, UsersOrganisationsAndRobotsShareOneNameSpace) {
  ASSERT_TRUE(store_->AddUser("alice", "$2y$10$x", false, "test"));
  auto dup = store_->AddUser("alice", "$2y$10$y", false, "test");
  ASSERT_FALSE(dup);
  EXPECT_EQ(dup.error().code, ErrorCode::kAlreadyExists);
  auto org = store_->AddOrg("alice", "test");
  ASSERT_FALSE(org);
  EXPECT_NE(org.error().message.find("taken by a user"), std::string::npos);
  ASSERT_TRUE(store_->AddOrg("acme", "test"));
  EXPECT_FALSE(store_->AddUser("acme", "$2y$10$x", false, "test"));
  ASSERT_TRUE(store_->AddToken("ci", "", {*ParseScopeSpec("acme/*:pull")}, 0, "test"));
  EXPECT_FALSE(store_->AddUser("ci", "$2y$10$x", false, "test"));
  EXPECT_FALSE(store_->AddOrg("ci", "test"));
}

TEST_P(StoreConformance, BadNamesAreRefused) {
  for (const char* bad : {"", "Alice", "a/b", "a..b", "-a", "a-", "a b", "../x"}) {
    auto st = store_->AddUser(bad, "$2y$10$x", false, "test");
    ASSERT_FALSE(st) << bad;
    EXPECT_EQ(st.error().code, ErrorCode::kInvalidArgument) << bad;
  }
  EXPECT_FALSE(store_->AddOrg(std::string(65, 'a'), "test"));
}

TEST_P(StoreConformance, PasswordsAndDeletion) {
  ASSERT_TRUE(store_->AddUser("alice", "$2y$10$old", false, "test"));
  ASSERT_TRUE(store_->SetPassword("alice", "$2y$10$new", "test"));
  EXPECT_EQ(store_->PasswordHash("alice").value(), std::optional<std::string>("$2y$10$new"));
  EXPECT_EQ(store_->PasswordHash("nobody").value(), std::nullopt);
  EXPECT_EQ(store_->SetPassword("nobody", "$2y$10$x", "test").error().code, ErrorCode::kNotFound);
  ASSERT_TRUE(store_->AddToken("laptop", "alice", {*ParseScopeSpec("alice/*:*")}, 0, "test"));
  ASSERT_TRUE(store_->DeleteUser("alice", "test"));
  EXPECT_EQ(store_->DeleteUser("alice", "test").error().code, ErrorCode::kNotFound);
  EXPECT_TRUE(store_->ListTokens()->empty()) << "a user's personal tokens go with the user";
}

// What `who` may do on each of `repos`: "pull,push" per repository, "-" for nothing, joined by
// " | ".
std::string Reach(const Directory& d, const Identity& who, int64_t now,
                  std::initializer_list<const char*> repos) {
  std::string out;
  for (const char* repo : repos) {
    std::string actions;
    for (const char* action : {"pull", "push", "delete"}) {
      if (Allows(d, who, repo, action, now))
        actions += (actions.empty() ? "" : ",") + std::string(action);
    }
    out += (out.empty() ? "" : " | ") + (actions.empty() ? "-" : actions);
  }
  return out;
}

TEST_P(StoreConformance, MembersOfOneOrganisationCannotReachAnother) {
  TwoOrgs();
  Directory d = Dir();
  // Their organisations, a personal namespace, a name that merely starts with the organisation's
  // (another namespace), and a traversal.
  auto reach = [&](const Identity& who) {
    return Reach(d, who, Now(),
                 {"acme/app", "globex/app", "alice/tools", "acme2/app", "acme/../globex/app"});
  };
  EXPECT_EQ(reach(Identity{"alice"}), "pull,push | - | pull,push,delete | - | -");
  EXPECT_EQ(reach(Identity{"bob"}), "- | pull | - | - | -");
  EXPECT_EQ(reach(Identity{}), "- | - | - | - | -");
}

TEST_P(StoreConformance, RepositoryGrantsAndVisibility) {
  TwoOrgs();
  ASSERT_TRUE(store_->Grant("bob", Role::kDelete, "acme/shared", "test"));
  ASSERT_TRUE(store_->SetVisibility("globex/public-app", true, "test"));
  Directory d = Dir();
  int64_t now = Now();
  EXPECT_TRUE(Allows(d, Identity{"bob"}, "acme/shared", "delete", now));
  EXPECT_FALSE(Allows(d, Identity{"bob"}, "acme/other", "pull", now));
  EXPECT_TRUE(Allows(d, Identity{}, "globex/public-app", "pull", now));
  EXPECT_FALSE(Allows(d, Identity{}, "globex/public-app", "push", now));
  EXPECT_TRUE(Allows(d, Identity{"alice"}, "globex/public-app", "pull", now));
  ASSERT_TRUE(store_->SetVisibility("globex/public-app", false, "test"));
  EXPECT_FALSE(Allows(Dir(), Identity{}, "globex/public-app", "pull", now));
  // Revoking and regranting.
  ASSERT_TRUE(store_->Revoke("bob", "acme/shared", "test"));
  EXPECT_FALSE(Allows(Dir(), Identity{"bob"}, "acme/shared", "pull", now));
  EXPECT_EQ(store_->Revoke("bob", "acme/shared", "test").error().code, ErrorCode::kNotFound);
  EXPECT_EQ(store_->Grant("nobody", Role::kRead, "acme", "test").error().code,
            ErrorCode::kNotFound);
  EXPECT_EQ(store_->Grant("acme/nope", Role::kRead, "acme", "test").error().code,
            ErrorCode::kNotFound);
  EXPECT_EQ(store_->Grant("bob", Role::kRead, "initech", "test").error().code,
            ErrorCode::kNotFound);
}

TEST_P(StoreConformance, DeletingAnOrganisationRemovesItsTeamsAndGrants) {
  TwoOrgs();
  ASSERT_TRUE(store_->Grant("bob", Role::kRead, "acme/app", "test"));
  ASSERT_TRUE(store_->DeleteOrg("acme", "test"));
  Directory d = Dir();
  EXPECT_FALSE(d.grants.contains("acme/dev"));
  EXPECT_FALSE(d.grants.contains("bob"));
  EXPECT_TRUE(d.grants.contains("globex/ops"));
  EXPECT_FALSE(Allows(d, Identity{"alice"}, "acme/app", "pull", Now()));
  EXPECT_EQ(store_->ListTeams("acme").error().code, ErrorCode::kNotFound);
  // The name is free again, and a new organisation of that name inherits nothing.
  ASSERT_TRUE(store_->AddOrg("acme", "test"));
  EXPECT_TRUE(store_->ListTeams("acme")->empty());
}

TEST_P(StoreConformance, RobotTokensAreScopedExpireAndRevoke) {
  TwoOrgs();
  auto robot = store_->AddToken("ci", "", {*ParseScopeSpec("acme/*:pull,push")},
                                Now() + 3600, "test");
  ASSERT_TRUE(robot) << robot.error().message;
  EXPECT_TRUE(robot->secret.starts_with("berth_"));
  EXPECT_EQ(robot->secret.size(), 6u + 64u);
  Directory d = Dir();
  auto t = d.tokens_by_secret.find(Digest::Of(robot->secret).hex());
  ASSERT_NE(t, d.tokens_by_secret.end()) << "the store keeps the secret's SHA-256";
  EXPECT_EQ(d.robot_secret["ci"], t->first);
  Identity ci{"ci", &t->second};
  EXPECT_TRUE(Allows(d, ci, "acme/app", "push", Now()));
  EXPECT_FALSE(Allows(d, ci, "acme/app", "delete", Now()));
  EXPECT_FALSE(Allows(d, ci, "globex/app", "pull", Now()));
  EXPECT_FALSE(Allows(d, ci, "acme/app", "pull", Now() + 3600)) << "expired";
  ASSERT_TRUE(store_->RevokeToken("ci", "test"));
  Directory after = Dir();
  const TokenInfo& revoked = after.tokens_by_secret.at(t->first);
  EXPECT_TRUE(revoked.revoked);
  EXPECT_FALSE(Allows(after, Identity{"ci", &revoked}, "acme/app", "pull", Now()));
  EXPECT_EQ(store_->RevokeToken("nope", "test").error().code, ErrorCode::kNotFound);
  auto list = store_->ListTokens();
  ASSERT_TRUE(list);
  ASSERT_EQ(list->size(), 1u);
  EXPECT_TRUE((*list)[0].revoked);
  EXPECT_EQ(FormatScope((*list)[0].scopes.at(0)), "acme/*:pull,push");
}

TEST_P(StoreConformance, PersonalTokensNeverExceedTheirOwner) {
  TwoOrgs();
  auto pat = store_->AddToken("laptop", "alice", {*ParseScopeSpec("*:*")}, 0, "test");
  ASSERT_TRUE(pat);
  Directory d = Dir();
  const TokenInfo& t = d.tokens_by_secret.at(Digest::Of(pat->secret).hex());
  Identity who{"alice", &t};
  EXPECT_TRUE(Allows(d, who, "acme/app", "push", Now()));
  EXPECT_FALSE(Allows(d, who, "globex/app", "pull", Now())) << "alice herself may not";
  EXPECT_EQ(store_->AddToken("x", "nobody", {*ParseScopeSpec("*:*")}, 0, "test").error().code,
            ErrorCode::kNotFound);
}

TEST_P(StoreConformance, QuotaCountsEachBlobOncePerNamespace) {
  TwoOrgs();
  ASSERT_TRUE(store_->SetQuota("acme", 1000, "test"));
  auto c1 = store_->ChargeBlob("acme/a", "sha256:aa", 600);
  ASSERT_TRUE(c1);
  EXPECT_TRUE(c1->counted);
  auto c2 = store_->ChargeBlob("acme/b", "sha256:aa", 600);
  ASSERT_TRUE(c2) << "the same blob in another repository of the namespace costs nothing";
  EXPECT_FALSE(c2->counted);
  EXPECT_EQ(store_->GetQuota("acme")->used_bytes, 600u);
  auto over = store_->ChargeBlob("acme/a", "sha256:bb", 401);
  ASSERT_FALSE(over);
  EXPECT_EQ(over.error().code, ErrorCode::kDenied);
  EXPECT_NE(over.error().message.find("600 B used of 1000 B"), std::string::npos)
      << over.error().message;
  ASSERT_TRUE(store_->ChargeBlob("acme/a", "sha256:bb", 400));
  EXPECT_EQ(store_->GetQuota("acme")->used_bytes, 1000u);
  // Another namespace is unaffected; a namespace without a limit is only counted.
  ASSERT_TRUE(store_->ChargeBlob("globex/a", "sha256:aa", 5000));
  EXPECT_EQ(store_->GetQuota("globex")->used_bytes, 5000u);
  // Releasing: the namespace's usage drops only when no repository holds the blob.
  ASSERT_TRUE(store_->ReleaseBlob("acme/a", "sha256:aa"));
  EXPECT_EQ(store_->GetQuota("acme")->used_bytes, 1000u);
  ASSERT_TRUE(store_->ReleaseBlob("acme/b", "sha256:aa"));
  EXPECT_EQ(store_->GetQuota("acme")->used_bytes, 400u);
  ASSERT_TRUE(store_->ReleaseBlob("acme/b", "sha256:aa")) << "releasing twice is harmless";
  EXPECT_EQ(store_->GetQuota("acme")->used_bytes, 400u);
  EXPECT_EQ(store_->SetQuota("initech", 1, "test").error().code, ErrorCode::kNotFound);
}

TEST_P(StoreConformance, ParallelChargesFromSeveralConnectionsNeverOvershoot) {
  TwoOrgs();
  ASSERT_TRUE(store_->SetQuota("acme", 10 * 100, "test"));
  constexpr int kThreads = 4, kPerThread = 8;
  std::vector<StorePtr> stores;
  for (int i = 0; i < kThreads; ++i) {
    auto s = OpenAnother();
    ASSERT_TRUE(s) << s.error().message;
    stores.push_back(*s);
  }
  std::atomic<int> ok{0}, denied{0}, other{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < kThreads; ++i) {
    threads.emplace_back([&, i] {
      for (int j = 0; j < kPerThread; ++j) {
        auto c = stores[i]->ChargeBlob("acme/app" + std::to_string(j % 2),
                                       "sha256:" + std::to_string(i) + "-" + std::to_string(j),
                                       100);
        if (c) {
          ++ok;
        } else if (c.error().code == ErrorCode::kDenied) {
          ++denied;
        } else {
          ++other;
          ADD_FAILURE() << c.error().message;
        }
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(ok.load(), 10);
  EXPECT_EQ(denied.load(), kThreads * kPerThread - 10);
  EXPECT_EQ(store_->GetQuota("acme")->used_bytes, 1000u);
}

TEST_P(StoreConformance, EveryChangeBumpsTheGenerationAndIsAudited) {
  uint64_t g0 = store_->Generation().value();
  ASSERT_TRUE(store_->AddUser("alice", "$2y$10$x", false, "root"));
  uint64_t g1 = store_->Generation().value();
  EXPECT_GT(g1, g0);
  ASSERT_TRUE(store_->AddOrg("acme", "alice"));
  ASSERT_TRUE(store_->Grant("alice", Role::kAdmin, "acme", "root"));
  ASSERT_TRUE(store_->SetQuota("acme", 10, "root"));
  uint64_t g2 = store_->Generation().value();
  EXPECT_GT(g2, g1);
  ASSERT_TRUE(store_->ChargeBlob("acme/x", "sha256:1", 1));
  EXPECT_EQ(store_->Generation().value(), g2) << "usage changes no access";
  EXPECT_FALSE(store_->AddOrg("acme", "root"));
  EXPECT_EQ(store_->Generation().value(), g2) << "a refused change changes nothing";
  // Another connection (the CLI while the server runs) sees the change.
  auto other = OpenAnother();
  ASSERT_TRUE(other);
  ASSERT_TRUE((*other)->AddUser("bob", "$2y$10$x", false, "cli"));
  EXPECT_GT(store_->Generation().value(), g2);
  auto audit = store_->Audit(10);
  ASSERT_TRUE(audit);
  ASSERT_EQ(audit->size(), 5u);
  EXPECT_EQ((*audit)[0].action, "user.add");
  EXPECT_EQ((*audit)[0].target, "bob");
  EXPECT_EQ((*audit)[0].actor, "cli");
  EXPECT_EQ((*audit)[1].action, "quota.set");
  EXPECT_EQ((*audit)[2].action, "grant.set");
  EXPECT_EQ((*audit)[2].detail, "alice admin");
  EXPECT_EQ((*audit)[4].action, "user.add");
  EXPECT_EQ((*audit)[4].at, Now());
}

TEST_P(StoreConformance, TheChangeHookHearsCommittedChangesOnly) {
  std::vector<std::string> heard;
  store_->OnChange([&](std::string_view actor, std::string_view action, std::string_view target,
                       std::string_view detail) {
    heard.push_back(std::string(actor) + " " + std::string(action) + " " + std::string(target) +
                    " " + std::string(detail));
  });
  ASSERT_TRUE(store_->AddOrg("acme", "root"));
  EXPECT_FALSE(store_->AddOrg("acme", "root")) << "taken: rolled back";
  EXPECT_FALSE(store_->DeleteUser("nobody", "root"));
  ASSERT_TRUE(store_->AddUser("alice", "$2y$10$hashA", true, "cli:ops"));
  EXPECT_EQ(heard,
            (std::vector<std::string>{"root org.add acme ", "cli:ops user.add alice admin"}));
  store_->OnChange(nullptr);
  ASSERT_TRUE(store_->AddOrg("globex", "root"));
  EXPECT_EQ(heard.size(), 2u);
}

TEST_P(StoreConformance, TeamsListTheirMembers) {
  TwoOrgs();
  ASSERT_TRUE(store_->AddTeamMember("acme", "dev", "bob", "test"));
  ASSERT_TRUE(store_->AddTeamMember("acme", "dev", "bob", "test")) << "adding twice is harmless";
  auto teams = store_->ListTeams("acme");
  ASSERT_TRUE(teams);
  ASSERT_EQ(teams->size(), 1u);
  EXPECT_EQ((*teams)[0].members, (std::vector<std::string>{"alice", "bob"}));
  ASSERT_TRUE(store_->RemoveTeamMember("acme", "dev", "alice", "test"));
  EXPECT_FALSE(Allows(Dir(), Identity{"alice"}, "acme/app", "pull", Now()));
  EXPECT_EQ(store_->AddTeamMember("acme", "dev", "nobody", "test").error().code,
            ErrorCode::kNotFound);
  ASSERT_TRUE(store_->DeleteTeam("acme", "dev", "test"));
  EXPECT_FALSE(Dir().grants.contains("acme/dev"));
}

INSTANTIATE_TEST_SUITE_P(Databases, StoreConformance, ::testing::Values("sqlite", "postgres"),
                         [](const auto& info) { return info.param; });

}  // namespace
}  // namespace berth::meta
