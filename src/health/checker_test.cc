#include "health/checker.h"

#include <gtest/gtest.h>

#include <atomic>
#include <thread>

namespace berth::health {
namespace {

CheckTiming Timing(uint32_t threshold,
                   std::chrono::milliseconds interval = std::chrono::seconds(10),
                   std::chrono::milliseconds timeout = std::chrono::seconds(3)) {
  CheckTiming t;
  t.threshold = threshold;
  t.interval = interval;
  t.timeout = timeout;
  return t;
}

struct Flaky {
  bool fail = false;
  CheckFn fn() {
    return [this]() -> Status {
      if (fail) return MakeError(ErrorCode::kUnavailable, "down");
      return Ok();
    };
  }
};

TEST(HealthChecker, ThresholdConsecutiveFailuresBeforeUnhealthyAndOneSuccessClears) {
  Checker c;
  Flaky f;
  c.Add("db", f.fn(), Timing(3), /*gating=*/true);
  c.RunOnce("db");
  EXPECT_TRUE(c.Healthy());
  f.fail = true;
  c.RunOnce("db");
  c.RunOnce("db");
  EXPECT_TRUE(c.Healthy());  // 2 < 3
  c.RunOnce("db");
  EXPECT_FALSE(c.Healthy());
  EXPECT_EQ(c.FailuresJson(), R"({"db":"down"})");
  f.fail = false;
  c.RunOnce("db");
  EXPECT_TRUE(c.Healthy());
  EXPECT_EQ(c.FailuresJson(), "{}");
  // A failure run after a success starts the count again.
  f.fail = true;
  c.RunOnce("db");
  EXPECT_TRUE(c.Healthy());
}

TEST(HealthChecker, ThresholdZeroFailsAtOnce) {
  Checker c;
  Flaky f{true};
  c.Add("x", f.fn(), Timing(0), true);
  c.RunOnce("x");
  EXPECT_FALSE(c.Healthy());
}

TEST(HealthChecker, NonGatingChecksDoNotDecideHealthButDecideReadiness) {
  Checker c;
  Flaky storage{true};
  c.Add("storagedriver", storage.fn(), Timing(0), /*gating=*/false);
  EXPECT_FALSE(c.Ready("storagedriver"));  // never ran
  c.RunOnce("storagedriver");
  EXPECT_TRUE(c.Healthy());
  EXPECT_FALSE(c.Ready("storagedriver"));
  storage.fail = false;
  c.RunOnce("storagedriver");
  EXPECT_TRUE(c.Ready("storagedriver"));
  auto states = c.States();
  ASSERT_EQ(states.size(), 1u);
  EXPECT_TRUE(states[0].ok);
  EXPECT_FALSE(states[0].gating);
}

TEST(HealthChecker, HungCheckCountsAsFailing) {
  Checker c;
  std::atomic<bool> release{false};
  c.Add(
      "slow",
      [&]() -> Status {
        while (!release) std::this_thread::sleep_for(std::chrono::milliseconds(5));
        return Ok();
      },
      {.interval = std::chrono::milliseconds(10), .timeout = std::chrono::milliseconds(10)}, true);
  std::thread t([&] { c.RunOnce("slow"); });
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  while (c.Healthy() && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  EXPECT_FALSE(c.Healthy());
  EXPECT_NE(c.FailuresJson().find("has not finished"), std::string::npos);
  release = true;
  t.join();
  EXPECT_TRUE(c.Healthy());
}

}  // namespace
}  // namespace berth::health
