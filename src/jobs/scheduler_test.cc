// The scheduler under a FakeClock: time moves only when a test advances it, and Poke() makes the
// job threads look at it, so no test sleeps. Waits for a run are bounded (kWait).

#include "jobs/scheduler.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <set>
#include <stdexcept>
#include <string>

namespace berth::jobs {
namespace {

using std::chrono::hours;
using std::chrono::milliseconds;
using std::chrono::minutes;
using std::chrono::seconds;

constexpr auto kWait = seconds(20);  // a bound for things that happen at once; never reached

// A gate a job blocks on until the test opens it, and that tells the test when the job is inside.
class Gate {
 public:
  void Enter() {
    std::unique_lock lock(mu_);
    ++entered_;
    cv_.notify_all();
    cv_.wait(lock, [&] { return open_; });
  }
  bool WaitEntered(int n) {
    std::unique_lock lock(mu_);
    return cv_.wait_for(lock, kWait, [&] { return entered_ >= n; });
  }
  void Open() {
    std::lock_guard lock(mu_);
    open_ = true;
    cv_.notify_all();
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  int entered_ = 0;    // Guarded by mu_.
  bool open_ = false;  // Guarded by mu_.
};

class SchedulerTest : public ::testing::Test {
 protected:
  SchedulerOptions Options(uint64_t seed = 1) {
    SchedulerOptions o;
    o.seed = seed;
    return o;
  }

  uint64_t Runs(Scheduler& s, const std::string& name) {
    auto st = s.State(name);
    EXPECT_TRUE(st.has_value());
    return st ? st->runs : 0;
  }

  bool Running(Scheduler& s, const std::string& name) {
    auto st = s.State(name);
    return st && st->running;
  }

  void ExpectRunFinishes(Scheduler& s, const std::string& name, uint64_t runs) {
    auto done = s.WaitForRun(name, runs, kWait);
    ASSERT_TRUE(done.has_value());
    EXPECT_TRUE(*done) << name << " did not reach " << runs << " runs";
  }

  // The job does not run a second before `wait` has passed, and runs once it has.
  void ExpectNextRunAfter(Scheduler& s, const std::string& name, std::chrono::nanoseconds wait,
                          uint64_t runs_before) {
    clock_.Advance(wait - seconds(1));
    s.Poke();
    EXPECT_FALSE(Running(s, name));
    EXPECT_EQ(Runs(s, name), runs_before);
    clock_.Advance(seconds(1));
    s.Poke();
    ExpectRunFinishes(s, name, runs_before + 1);
  }

  FakeClock clock_{SystemTime(hours(1000))};
};

TEST_F(SchedulerTest, FirstRunAfterInitialDelayThenEveryIntervalAfterTheLastEnd) {
  Scheduler s(clock_, Options());
  std::atomic<int> runs{0};
  ASSERT_TRUE(s.Add({.name = "tick", .interval = minutes(10), .initial_delay = minutes(1)},
                    [&](const JobContext&) { ++runs; }));
  s.Start();
  s.Poke();
  EXPECT_EQ(Runs(s, "tick"), 0u);
  ExpectNextRunAfter(s, "tick", minutes(1), 0);
  ExpectNextRunAfter(s, "tick", minutes(10), 1);
  // A long pause (the machine slept): one run, not a burst of the ones missed.
  clock_.Advance(hours(5));
  s.Poke();
  ExpectRunFinishes(s, "tick", 3);
  s.Poke();
  EXPECT_EQ(Runs(s, "tick"), 3u);
  EXPECT_TRUE(s.Stop(kWait));
  EXPECT_EQ(runs.load(), 3);
}

TEST_F(SchedulerTest, NextRunCountsFromTheEndOfALongRun) {
  Scheduler s(clock_, Options());
  ASSERT_TRUE(s.Add({.name = "slow", .interval = minutes(10)},
                    [&](const JobContext&) { clock_.Advance(minutes(25)); }));
  s.Start();
  s.Poke();
  ExpectRunFinishes(s, "slow", 1);
  auto st = s.State("slow");
  ASSERT_TRUE(st.has_value());
  EXPECT_EQ(st->last_end - st->last_start, minutes(25));
  EXPECT_EQ(st->next_run, st->last_end + minutes(10));
  EXPECT_TRUE(s.Stop(kWait));
}

TEST_F(SchedulerTest, JitterStaysWithinItsBoundAndVaries) {
  std::set<SystemTime::rep> firsts;
  for (uint64_t seed = 1; seed <= 20; ++seed) {
    Scheduler s(clock_, Options(seed));
    ASSERT_TRUE(s.Add(
        {.name = "j", .interval = hours(1), .initial_delay = seconds(60), .jitter = seconds(30)},
        [](const JobContext&) {}));
    SystemTime start = clock_.Now();
    s.Start();
    auto st = s.State("j");
    ASSERT_TRUE(st.has_value());
    EXPECT_GE(st->next_run, start + seconds(60));
    EXPECT_LE(st->next_run, start + seconds(90));
    firsts.insert((st->next_run - start).count());
    EXPECT_TRUE(s.Stop(kWait));
  }
  EXPECT_GT(firsts.size(), 10u);
}

TEST_F(SchedulerTest, RunNowRunsAtOnceAndCoalescesWhileRunning) {
  Scheduler s(clock_, Options());
  Gate gate;
  std::atomic<int> concurrent{0};
  std::atomic<int> max_concurrent{0};
  ASSERT_TRUE(s.Add({.name = "gc", .interval = hours(24), .initial_delay = hours(24)},
                    [&](const JobContext&) {
                      int now = ++concurrent;
                      max_concurrent = std::max(max_concurrent.load(), now);
                      gate.Enter();
                      --concurrent;
                    }));
  s.Start();
  auto first = s.RunNow("gc");
  ASSERT_TRUE(first.has_value());
  EXPECT_EQ(*first, 1u);
  ASSERT_TRUE(gate.WaitEntered(1));
  // Two more requests while it runs: one more run, right after this one.
  auto second = s.RunNow("gc");
  auto third = s.RunNow("gc");
  ASSERT_TRUE(second.has_value() && third.has_value());
  EXPECT_EQ(*second, 2u);
  EXPECT_EQ(*third, 2u);
  gate.Open();
  ExpectRunFinishes(s, "gc", 2);
  s.Poke();
  EXPECT_EQ(Runs(s, "gc"), 2u);
  EXPECT_EQ(max_concurrent.load(), 1);
  EXPECT_TRUE(s.Stop(kWait));
}

TEST_F(SchedulerTest, ASlowJobDoesNotDelayTheOthers) {
  Scheduler s(clock_, Options());
  Gate stuck;
  ASSERT_TRUE(
      s.Add({.name = "stuck", .interval = minutes(1)}, [&](const JobContext&) { stuck.Enter(); }));
  ASSERT_TRUE(s.Add({.name = "fast", .interval = minutes(1), .initial_delay = minutes(1)},
                    [](const JobContext&) {}));
  s.Start();
  ASSERT_TRUE(stuck.WaitEntered(1));
  for (uint64_t i = 1; i <= 3; ++i) {
    clock_.Advance(minutes(1));
    s.Poke();
    ExpectRunFinishes(s, "fast", i);
  }
  EXPECT_TRUE(Running(s, "stuck"));
  stuck.Open();
  EXPECT_TRUE(s.Stop(kWait));
}

TEST_F(SchedulerTest, RunOnceJobRunsOnceUnlessAskedAgain) {
  Scheduler s(clock_, Options());
  ASSERT_TRUE(s.Add({.name = "startup", .initial_delay = seconds(0)}, [](const JobContext&) {}));
  s.Start();
  ExpectRunFinishes(s, "startup", 1);
  clock_.Advance(hours(48));
  s.Poke();
  EXPECT_EQ(Runs(s, "startup"), 1u);
  auto again = s.RunNow("startup");
  ASSERT_TRUE(again.has_value());
  ExpectRunFinishes(s, "startup", *again);
  EXPECT_EQ(Runs(s, "startup"), 2u);
  EXPECT_TRUE(s.Stop(kWait));
}

TEST_F(SchedulerTest, JobAddedAfterStartIsScheduledFromThen) {
  Scheduler s(clock_, Options());
  s.Start();
  clock_.Advance(hours(3));
  ASSERT_TRUE(s.Add({.name = "late", .interval = hours(1), .initial_delay = minutes(5)},
                    [](const JobContext&) {}));
  s.Poke();
  EXPECT_EQ(Runs(s, "late"), 0u);
  clock_.Advance(minutes(5));
  s.Poke();
  ExpectRunFinishes(s, "late", 1);
  EXPECT_TRUE(s.Stop(kWait));
}

TEST_F(SchedulerTest, AThrowingJobIsContainedAndRunsAgain) {
  Scheduler s(clock_, Options());
  std::atomic<int> calls{0};
  ASSERT_TRUE(s.Add({.name = "boom", .interval = minutes(1)}, [&](const JobContext&) {
    ++calls;
    throw std::runtime_error("boom");
  }));
  s.Start();
  ExpectRunFinishes(s, "boom", 1);
  clock_.Advance(minutes(1));
  s.Poke();
  ExpectRunFinishes(s, "boom", 2);
  EXPECT_EQ(calls.load(), 2);
  EXPECT_TRUE(s.Stop(kWait));
}

TEST_F(SchedulerTest, StopTellsRunningJobsAndWaitsForThem) {
  Scheduler s(clock_, Options());
  Gate entered;
  std::atomic<bool> saw_stop{false};
  ASSERT_TRUE(s.Add({.name = "long", .interval = hours(1)}, [&](const JobContext& ctx) {
    entered.Open();
    entered.Enter();
    while (!ctx.StopRequested()) std::this_thread::yield();  // a long job checking for stop
    saw_stop = true;
  }));
  s.Start();
  ASSERT_TRUE(entered.WaitEntered(1));
  EXPECT_TRUE(s.Stop(kWait));
  EXPECT_TRUE(saw_stop.load());
  auto st = s.State("long");
  ASSERT_TRUE(st.has_value());
  EXPECT_FALSE(st->running);
  EXPECT_EQ(st->runs, 1u);
  // Stopped for good.
  EXPECT_FALSE(s.Add({.name = "after"}, [](const JobContext&) {}).has_value());
}

TEST_F(SchedulerTest, StopIsBoundedWhenAJobIgnoresIt) {
  auto finished = std::make_shared<std::atomic<bool>>(false);
  auto gate = std::make_shared<Gate>();
  {
    Scheduler s(clock_, Options());
    // Owns what it uses (shared_ptrs), as a job that may outlive Stop must.
    ASSERT_TRUE(s.Add({.name = "deaf", .interval = hours(1)}, [gate, finished](const JobContext&) {
      gate->Enter();
      *finished = true;
    }));
    s.Start();
    ASSERT_TRUE(gate->WaitEntered(1));
    auto t0 = std::chrono::steady_clock::now();
    EXPECT_FALSE(s.Stop(milliseconds(50)));
    EXPECT_LT(std::chrono::steady_clock::now() - t0, seconds(5));
  }  // the scheduler is gone; the detached job still runs
  gate->Open();
  auto deadline = std::chrono::steady_clock::now() + kWait;
  while (!*finished && std::chrono::steady_clock::now() < deadline) std::this_thread::yield();
  EXPECT_TRUE(finished->load());
}

TEST_F(SchedulerTest, BadJobsAndUnknownNamesAreErrors) {
  Scheduler s(clock_, Options());
  auto noop = [](const JobContext&) {};
  EXPECT_EQ(s.Add({.name = ""}, noop).error().code, ErrorCode::kInvalidArgument);
  EXPECT_EQ(s.Add({.name = "neg", .interval = -seconds(1)}, noop).error().code,
            ErrorCode::kInvalidArgument);
  EXPECT_EQ(s.Add({.name = "nofn"}, JobFn()).error().code, ErrorCode::kInvalidArgument);
  ASSERT_TRUE(s.Add({.name = "a", .interval = hours(1), .initial_delay = hours(1)}, noop));
  auto dup = s.Add({.name = "a"}, noop);
  ASSERT_FALSE(dup.has_value());
  EXPECT_NE(dup.error().message.find("\"a\" already exists"), std::string::npos);
  EXPECT_EQ(s.RunNow("b").error().code, ErrorCode::kNotFound);
  EXPECT_EQ(s.State("b").error().code, ErrorCode::kNotFound);
  EXPECT_EQ(s.WaitForRun("b", 1, milliseconds(1)).error().code, ErrorCode::kNotFound);
  EXPECT_EQ(s.Names(), (std::vector<std::string>{"a"}));
  // Before Start nothing runs, and Poke does not wait for threads that do not exist.
  s.Poke();
  EXPECT_EQ(Runs(s, "a"), 0u);
}

}  // namespace
}  // namespace berth::jobs
