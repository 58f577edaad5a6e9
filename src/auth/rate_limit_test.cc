#include "auth/rate_limit.h"

#include <gtest/gtest.h>

namespace berth::auth {
namespace {

TEST(PullRateLimiter, EmptiesThenRefillsAtLimitPerWindow) {
  FakeClock clock;
  PullRateLimiter rl({.limit = 3, .window = std::chrono::seconds(300)}, clock);
  EXPECT_EQ(rl.Take("alice", "1.2.3.4").remaining, 2u);
  EXPECT_EQ(rl.Take("alice", "1.2.3.4").remaining, 1u);
  EXPECT_EQ(rl.Take("alice", "5.6.7.8").remaining, 0u) << "an identity's bucket, whatever address";
  auto refused = rl.Take("alice", "1.2.3.4");
  EXPECT_FALSE(refused.allowed);
  EXPECT_EQ(refused.retry_after.count(), 100) << "one pull comes back every window/limit";
  clock.Advance(std::chrono::seconds(99));
  EXPECT_FALSE(rl.Take("alice", "1.2.3.4").allowed);
  clock.Advance(std::chrono::seconds(2));
  EXPECT_TRUE(rl.Take("alice", "1.2.3.4").allowed);
  EXPECT_TRUE(rl.Take("bob", "1.2.3.4").allowed) << "another identity has its own bucket";
  EXPECT_EQ(rl.LimitHeader(), "3;w=300");
  EXPECT_EQ(rl.RemainingHeader(2), "2;w=300");
}

TEST(PullRateLimiter, AnonymousCallersAreLimitedPerAddress) {
  FakeClock clock;
  PullRateLimiter rl({.limit = 1, .window = std::chrono::seconds(60)}, clock);
  EXPECT_TRUE(rl.Take("", "10.0.0.1").allowed);
  EXPECT_FALSE(rl.Take("", "10.0.0.1").allowed);
  EXPECT_TRUE(rl.Take("", "10.0.0.2").allowed);
}

TEST(PullRateLimiter, ExemptIdentitiesAreNeverLimited) {
  FakeClock clock;
  PullRateLimiter rl({.limit = 1, .window = std::chrono::seconds(60), .exempt = {"ci"}}, clock);
  for (int i = 0; i < 10; ++i) {
    auto v = rl.Take("ci", "10.0.0.1");
    EXPECT_TRUE(v.allowed);
    EXPECT_TRUE(v.exempt);
  }
  EXPECT_EQ(rl.buckets(), 0u);
}

TEST(PullRateLimiter, BucketsAreBounded) {
  FakeClock clock;
  PullRateLimiter rl({.limit = 5, .window = std::chrono::seconds(60), .max_keys = 100}, clock);
  for (int i = 0; i < 1000; ++i) rl.Take("", "10.0." + std::to_string(i / 256) + "." + std::to_string(i % 256));
  EXPECT_LE(rl.buckets(), 100u);
}

}  // namespace
}  // namespace berth::auth
