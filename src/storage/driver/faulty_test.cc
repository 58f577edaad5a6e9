#include "storage/driver/faulty.h"

#include <gtest/gtest.h>

#include <atomic>
#include <string>
#include <thread>
#include <vector>

#include "storage/driver/driver_testing.h"
#include "storage/driver/filesystem.h"

namespace berth::storage::driver {
namespace {

TEST(FaultyDriver, FailsOnlyTheNthCall) {
  FaultPlan plan;
  auto d = NewFaultyDriver(NewInMemoryDriver(), &plan);
  plan.FailNth(FaultOp::kPutContent, 3);
  EXPECT_OK(d->PutContent("/1", "x"));
  EXPECT_OK(d->PutContent("/2", "x"));
  EXPECT_CODE(d->PutContent("/3", "x"), ErrorCode::kIo);
  EXPECT_OK(d->PutContent("/4", "x"));
  EXPECT_EQ(plan.Calls(FaultOp::kPutContent), 4u);
  // The failed call never reached the base driver.
  EXPECT_CODE(d->Stat("/3"), ErrorCode::kNotFound);
}

TEST(FaultyDriver, FailsEveryCallOnMatchingPathWithChosenCode) {
  FaultPlan plan;
  auto d = NewFaultyDriver(NewInMemoryDriver(), &plan);
  ASSERT_OK(d->PutContent("/repo/_layers/link", "x"));
  ASSERT_OK(d->PutContent("/repo/_manifests/link", "y"));
  plan.FailPath(FaultOp::kGetContent, "/_layers/", ErrorCode::kNotFound);
  for (int i = 0; i < 3; ++i)
    EXPECT_CODE(d->GetContent("/repo/_layers/link"), ErrorCode::kNotFound);
  EXPECT_OK(d->GetContent("/repo/_manifests/link"));
  EXPECT_OK(d->Stat("/repo/_layers/link"));  // other methods unaffected
  plan.Clear();
  EXPECT_OK(d->GetContent("/repo/_layers/link"));
}

TEST(FaultyDriver, AnyOpAndMoveMatchEitherPath) {
  FaultPlan plan;
  auto d = NewFaultyDriver(NewInMemoryDriver(), &plan);
  ASSERT_OK(d->PutContent("/src", "x"));
  plan.FailPath(FaultOp::kAny, "/blobs/");
  EXPECT_CODE(d->Move("/src", "/blobs/data"), ErrorCode::kIo);
  EXPECT_CODE(d->Stat("/blobs/data"), ErrorCode::kIo);
  EXPECT_OK(d->Stat("/src"));
}

TEST(FaultyDriver, WriteBudgetSimulatesDiskFullMidWrite) {
  testing::TempDir tmp;
  auto fs = NewFilesystemDriver(tmp.path());
  ASSERT_OK(fs);
  FaultPlan plan;
  auto d = NewFaultyDriver(*fs, &plan);
  plan.FailWritesAfter(10, "/_uploads/");
  auto w = d->NewWriter("/_uploads/u/data", false);
  ASSERT_OK(w);
  ASSERT_OK((*w)->Write("123456", 6));
  auto st = (*w)->Write("abcdef", 6);
  ASSERT_FALSE(st.has_value());
  EXPECT_EQ(st.error().code, ErrorCode::kIo);
  EXPECT_NE(st.error().message.find("No space left on device"), std::string::npos);
  EXPECT_EQ((*w)->Size(), 10u);  // the leading part of the crossing write landed
  EXPECT_CODE((*w)->Write("z", 1), ErrorCode::kIo);
  w->reset();
  EXPECT_CONTENT(*d, "/_uploads/u/data", "123456abcd");

  // Writers on other paths are not limited.
  auto other = d->NewWriter("/elsewhere", false);
  ASSERT_OK(other);
  EXPECT_OK((*other)->Write("0123456789abcdef", 16));
}

TEST(FaultyDriver, ReaderAndWriterCallsCanFail) {
  FaultPlan plan;
  auto d = NewFaultyDriver(NewInMemoryDriver(), &plan);
  ASSERT_OK(d->PutContent("/r", "abcdef"));
  plan.FailNth(FaultOp::kRead, 2);
  plan.FailNth(FaultOp::kCommit, 1, ErrorCode::kUnavailable);
  auto r = d->NewReader("/r", 0);
  ASSERT_OK(r);
  char buf[2];
  EXPECT_OK((*r)->Read(buf, 2));
  EXPECT_CODE((*r)->Read(buf, 2), ErrorCode::kIo);
  EXPECT_OK((*r)->Read(buf, 2));
  auto w = d->NewWriter("/w", false);
  ASSERT_OK(w);
  EXPECT_CODE((*w)->Commit(), ErrorCode::kUnavailable);
  EXPECT_OK((*w)->Commit());
}

TEST(FaultyDriver, WalkSeesListAndStatFaults) {
  FaultPlan plan;
  auto d = NewFaultyDriver(NewInMemoryDriver(), &plan);
  ASSERT_OK(d->PutContent("/w/a/x", "1"));
  ASSERT_OK(d->PutContent("/w/b/y", "2"));
  plan.FailPath(FaultOp::kList, "/w/b");
  EXPECT_CODE(d->Walk("/w", [](const FileInfo&) { return true; }), ErrorCode::kIo);
  plan.Clear();
  plan.FailNth(FaultOp::kWalk, 1, ErrorCode::kUnavailable);
  EXPECT_CODE(d->Walk("/w", [](const FileInfo&) { return true; }), ErrorCode::kUnavailable);
  EXPECT_OK(d->Walk("/w", [](const FileInfo&) { return true; }));
}

TEST(FaultyDriver, NthCallFailsExactlyOnceAcrossThreads) {
  FaultPlan plan;
  auto d = NewFaultyDriver(NewInMemoryDriver(), &plan);
  ASSERT_OK(d->PutContent("/s", "x"));
  plan.FailNth(FaultOp::kStat, 500);
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 16; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 100; ++i) {
        if (!d->Stat("/s")) ++failures;
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(failures.load(), 1);
  EXPECT_EQ(plan.Calls(FaultOp::kStat), 1600u);
  EXPECT_EQ(plan.Calls(FaultOp::kAny), 1601u);
}

}  // namespace
}  // namespace berth::storage::driver
