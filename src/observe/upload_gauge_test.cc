// The open-upload-sessions count: exact across a count that runs while sessions start and end.
#include "observe/upload_gauge.h"

#include <gtest/gtest.h>

#include "storage/driver/factory.h"
#include "storage/factory.h"
#include "storage/paths.h"

namespace berth::observe {
namespace {

class UploadCountTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto d = storage::driver::Create("inmemory", {});
    ASSERT_TRUE(d);
    driver_ = *d;
  }
  // A session as the layout stores it.
  std::string Session(std::string_view repo, std::string_view id) {
    EXPECT_TRUE(
        driver_->PutContent(storage::paths::UploadStartedAt(repo, id), "2026-01-01T00:00:00Z"));
    return storage::paths::UploadDir(repo, id);
  }
  void Remove(const std::string& dir) { EXPECT_TRUE(driver_->Delete(dir)); }

  storage::driver::StorageDriverPtr driver_;
  UploadCount count_;
};

TEST_F(UploadCountTest, UnknownUntilCountedThenCountsEverySessionInStorage) {
  EXPECT_FALSE(count_.Value());
  ASSERT_TRUE(count_.Recount(*driver_));
  EXPECT_EQ(count_.Value(), 0);  // no repositories at all
  Session("a", "1");
  Session("a", "2");
  Session("team/b", "3");
  ASSERT_TRUE(driver_->PutContent("/docker/registry/v2/repositories/a/_layers/x/link", "y"));
  ASSERT_TRUE(count_.Recount(*driver_));
  EXPECT_EQ(count_.Value(), 3);
}

TEST_F(UploadCountTest, FollowsStartsAndEndsBetweenCounts) {
  ASSERT_TRUE(count_.Recount(*driver_));
  auto t = count_.Begin();
  count_.Started(Session("a", "1"), t);
  t = count_.Begin();
  count_.Started(Session("a", "2"), t);
  count_.Unchanged(count_.Begin());
  EXPECT_EQ(count_.Value(), 2);
  t = count_.Begin();
  count_.Ended(storage::paths::UploadDir("a", "1"), t);
  EXPECT_EQ(count_.Value(), 1);
}

TEST_F(UploadCountTest, CallsRunningAcrossACountAreCountedOnce) {
  ASSERT_TRUE(count_.Recount(*driver_));
  std::string kept = Session("a", "kept");
  std::string gone_before = Session("a", "gone-before");
  auto t_kept_start = count_.Begin();  // a Start whose session the count will see
  std::string seen_start = Session("a", "seen-start");
  auto t_unseen_start = count_.Begin();  // a Start still writing when the count walks
  auto t_end_seen = count_.Begin();      // an End that deletes after the walk
  auto t_end_unseen = count_.Begin();    // an End that deletes before the walk
  Remove(gone_before);
  ASSERT_TRUE(count_.Recount(*driver_));
  EXPECT_EQ(count_.Value(), 2);  // kept, seen-start
  count_.Started(seen_start, t_kept_start);
  EXPECT_EQ(count_.Value(), 2) << "a start the count saw is not added again";
  count_.Started(Session("a", "late"), t_unseen_start);
  EXPECT_EQ(count_.Value(), 3) << "a start the count missed is added";
  Remove(kept);
  count_.Ended(kept, t_end_seen);
  EXPECT_EQ(count_.Value(), 2) << "an end after the count saw the session takes it away";
  count_.Ended(gone_before, t_end_unseen);
  EXPECT_EQ(count_.Value(), 2) << "an end the count already missed takes nothing";
  // Later calls are plain again.
  count_.Ended(seen_start, count_.Begin());
  EXPECT_EQ(count_.Value(), 1);
}

TEST_F(UploadCountTest, StartsAndEndsDuringTheWalkAreJournalled) {
  std::string one = Session("a", "1");
  Session("b", "2");
  // The walk is depth-first in name order: a, a/_uploads (listed), b, b/_uploads. When it reaches
  // b, requests change a behind it.
  int calls = 0;
  ASSERT_TRUE(count_.Recount(*driver_, [&] {
    if (++calls == 3) {
      count_.Started(Session("a", "3"), count_.Begin());
      count_.Started(Session("a", "4"), count_.Begin());
      Remove(one);
      count_.Ended(one, count_.Begin());
    }
    return false;
  }));
  EXPECT_EQ(calls, 4);
  EXPECT_EQ(count_.Value(), 3);  // 2, 3 and 4; the walk saw 1 and 2
}

TEST_F(UploadCountTest, AStoppedCountChangesNothing) {
  Session("a", "1");
  ASSERT_TRUE(count_.Recount(*driver_, [] { return true; }));
  EXPECT_FALSE(count_.Value());
}

TEST_F(UploadCountTest, TheDecoratorFollowsTheServiceAndCountsAgainAfterAPurge) {
  auto count = std::make_shared<UploadCount>();
  auto ns = WithUploadCount(storage::NewRegistry(driver_), count, driver_);
  ASSERT_TRUE(count->Recount(*driver_));
  auto a = ns->Uploads().Start("r");
  auto b = ns->Uploads().Start("r");
  ASSERT_TRUE(a && b);
  EXPECT_EQ(count->Value(), 2);
  // Another process sharing the storage starts one: seen at the next count.
  Session("r", "from-elsewhere");
  EXPECT_EQ(count->Value(), 2);
  auto dry = ns->Uploads().Purge(SystemTime::max(), /*dry_run=*/true);
  ASSERT_TRUE(dry);
  EXPECT_EQ(*dry, 3u);
  EXPECT_EQ(count->Value(), 2);  // a dry run removes nothing, counts nothing
  ASSERT_TRUE(ns->Uploads().Cancel("r", a->id));
  EXPECT_EQ(count->Value(), 1);
  auto purged = ns->Uploads().Purge(SystemTime::max(), /*dry_run=*/false);
  ASSERT_TRUE(purged);
  EXPECT_EQ(*purged, 2u);
  EXPECT_EQ(count->Value(), 0);
}

}  // namespace
}  // namespace berth::observe
