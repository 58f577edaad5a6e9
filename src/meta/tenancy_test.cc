// The tenancy's directory cache: no query per request, and still every change seen on the next
// request, whether this process made it or another connection (the CLI) did.
#include "meta/tenancy.h"

#include <gtest/gtest.h>

#include <atomic>
#include <filesystem>

#include "auth/htpasswd.h"
#include "common/strings.h"

namespace berth::meta {
namespace {

// Counts the statements that reach the database; with `no_stamp`, has no change stamp (as
// PostgreSQL).
class CountingDatabase : public Database {
 public:
  CountingDatabase(DatabasePtr inner, std::atomic<int>& queries, const std::atomic<bool>& no_stamp)
      : inner_(std::move(inner)), queries_(queries), no_stamp_(no_stamp) {}
  Result<std::vector<SqlRow>> Query(std::string_view sql,
                                    const std::vector<SqlValue>& params) override {
    ++queries_;
    return inner_->Query(sql, params);
  }
  Status ExecScript(std::string_view sql) override { return inner_->ExecScript(sql); }
  Status Begin() override { return inner_->Begin(); }
  Status Commit() override { return inner_->Commit(); }
  void Rollback() override { inner_->Rollback(); }
  std::string_view Dialect() const override { return inner_->Dialect(); }
  std::string Describe() const override { return inner_->Describe(); }
  std::optional<uint64_t> ChangeStamp() const override {
    return no_stamp_ ? std::nullopt : inner_->ChangeStamp();
  }

 private:
  DatabasePtr inner_;
  std::atomic<int>& queries_;
  const std::atomic<bool>& no_stamp_;
};

class TenancyCache : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() / ("berth-tenancy-" + RandomHex(6));
    std::filesystem::create_directories(dir_);
    other_ = Open();  // the CLI's connection
    ASSERT_TRUE(other_->AddUser("alice", auth::BcryptHash("pw", 4).value(), false, "t"));
    ASSERT_TRUE(other_->AddOrg("acme", "t"));
    ASSERT_TRUE(other_->Grant("alice", Role::kRead, "acme", "t"));
    auto db = OpenSqlite((dir_ / "meta.db").string());
    ASSERT_TRUE(db);
    auto store =
        Store::Open(std::make_unique<CountingDatabase>(std::move(*db), queries_, no_stamp_));
    ASSERT_TRUE(store);
    tenancy_ = Tenancy::Create(*store);
  }
  void TearDown() override {
    tenancy_.reset();
    other_.reset();
    std::filesystem::remove_all(dir_);
  }
  StorePtr Open() {
    auto db = OpenSqlite((dir_ / "meta.db").string());
    EXPECT_TRUE(db);
    return *Store::Open(std::move(*db));
  }
  // One request's worth of work: a login and an access decision.
  bool PullAsAlice() {
    auto who = tenancy_->Authenticate("alice", "pw", "127.0.0.1:1");
    return who && tenancy_->Allows(*who, auth::Access{"repository", "acme/app", "pull"});
  }

  std::filesystem::path dir_;
  std::atomic<int> queries_{0};
  std::atomic<bool> no_stamp_{false};
  StorePtr other_;
  TenancyPtr tenancy_;
};

TEST_F(TenancyCache, RequestsCostNoQueryOnceTheDirectoryIsLoaded) {
  ASSERT_TRUE(PullAsAlice());
  int before = queries_;
  for (int i = 0; i < 200; ++i) ASSERT_TRUE(PullAsAlice());
  EXPECT_EQ(queries_ - before, 0) << "no SQL per request";
}

TEST_F(TenancyCache, AChangeByAnotherConnectionIsSeenOnTheNextRequest) {
  ASSERT_TRUE(PullAsAlice());
  ASSERT_TRUE(other_->Revoke("alice", "acme", "cli"));
  EXPECT_FALSE(PullAsAlice());
  ASSERT_TRUE(other_->Grant("alice", Role::kRead, "acme/app", "cli"));
  EXPECT_TRUE(PullAsAlice());
  ASSERT_TRUE(other_->SetPassword("alice", auth::BcryptHash("new", 4).value(), "cli"));
  EXPECT_FALSE(PullAsAlice()) << "the old password stops working at once";
}

TEST_F(TenancyCache, AChangeThroughThisProcesssStoreIsSeenOnTheNextRequest) {
  no_stamp_ = true;  // as on PostgreSQL: only the store's own count of changes tells
  ASSERT_TRUE(PullAsAlice());
  ASSERT_TRUE(PullAsAlice());
  ASSERT_TRUE(tenancy_->store().Revoke("alice", "acme", "api"));
  EXPECT_FALSE(PullAsAlice());
}

}  // namespace
}  // namespace berth::meta
