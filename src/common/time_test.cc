#include "common/time.h"

#include <gtest/gtest.h>

namespace berth {
namespace {
using namespace std::chrono_literals;

TEST(Time, GoDurations) {
  EXPECT_EQ(ParseGoDuration("168h"), std::chrono::nanoseconds(168h));
  EXPECT_EQ(ParseGoDuration("1h30m"), std::chrono::nanoseconds(90min));
  EXPECT_EQ(ParseGoDuration("500ms"), std::chrono::nanoseconds(500ms));
  EXPECT_EQ(ParseGoDuration("1.5s"), std::chrono::nanoseconds(1500ms));
  EXPECT_EQ(ParseGoDuration("10"), std::chrono::nanoseconds(10));
  EXPECT_FALSE(ParseGoDuration("ten"));
  EXPECT_FALSE(ParseGoDuration("10x"));
  EXPECT_FALSE(ParseGoDuration("-5s"));
  EXPECT_FALSE(ParseGoDuration(""));
}

TEST(Time, Rfc3339RoundTrip) {
  auto t = ParseRfc3339("2024-02-29T12:34:56.123456789Z");
  ASSERT_TRUE(t);
  EXPECT_EQ(FormatRfc3339(*t), "2024-02-29T12:34:56.123456789Z");
  auto off = ParseRfc3339("2024-02-29T14:34:56+02:00");
  ASSERT_TRUE(off);
  EXPECT_EQ(FormatRfc3339(*off), "2024-02-29T12:34:56Z");
  EXPECT_FALSE(ParseRfc3339("yesterday"));
}

TEST(Time, FakeClockAdvances) {
  FakeClock c;
  auto t0 = c.Now();
  c.Advance(5s);
  EXPECT_EQ(c.Now() - t0, std::chrono::duration_cast<SystemTime::duration>(5s));
}

}  // namespace
}  // namespace berth
