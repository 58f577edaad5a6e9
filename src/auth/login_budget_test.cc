#include "auth/login_budget.h"

#include <gtest/gtest.h>

#include <thread>
#include <vector>

namespace berth::auth {
namespace {

using namespace std::chrono_literals;

LoginBudgetOptions Small() {
  LoginBudgetOptions o;
  o.max_concurrent = 1;
  o.max_wait = 0ms;
  o.per_address_in_flight = 2;
  o.per_address_per_window = 3;
  o.window = 10s;
  return o;
}

// Small() with room overall, so only the per-address limits bite.
LoginBudgetOptions PerAddressOnly() {
  LoginBudgetOptions o = Small();
  o.max_concurrent = 8;
  return o;
}

TEST(LoginBudget, RefusesAThirdHashInFlightFromOneAddress) {
  FakeClock clock;
  LoginBudget b(clock, PerAddressOnly());
  auto t1 = b.Acquire("1.2.3.4");
  auto t2 = b.Acquire("1.2.3.4");
  ASSERT_TRUE(t1 && t2);
  EXPECT_FALSE(b.Acquire("1.2.3.4"));
  EXPECT_TRUE(b.Acquire("5.6.7.8"));  // another address is not affected
  t1 = LoginBudget::Ticket();         // released
  EXPECT_TRUE(b.Acquire("1.2.3.4"));
}

TEST(LoginBudget, RefusesBeyondTheWindowRateUntilTheWindowPasses) {
  FakeClock clock;
  LoginBudget b(clock, PerAddressOnly());
  for (int i = 0; i < 3; ++i) EXPECT_TRUE(b.Acquire("1.2.3.4")) << i;  // each released at once
  EXPECT_FALSE(b.Acquire("1.2.3.4"));
  clock.Advance(9s);
  EXPECT_FALSE(b.Acquire("1.2.3.4"));
  clock.Advance(1s);
  EXPECT_TRUE(b.Acquire("1.2.3.4"));
}

TEST(LoginBudget, GlobalLimitRefusesWhenTheWaitRunsOut) {
  FakeClock clock;
  LoginBudget b(clock, Small());
  auto held = b.Acquire("1.1.1.1");
  ASSERT_TRUE(held);
  EXPECT_FALSE(b.Acquire("2.2.2.2"));
  held = LoginBudget::Ticket();
  EXPECT_TRUE(b.Acquire("2.2.2.2"));
  // The refused (timed-out) attempt was given back: 2.2.2.2 has used one of its three.
  EXPECT_TRUE(b.Acquire("2.2.2.2"));
  EXPECT_TRUE(b.Acquire("2.2.2.2"));
  EXPECT_FALSE(b.Acquire("2.2.2.2"));
}

TEST(LoginBudget, WaiterGetsTheSlotWhenItIsReleased) {
  FakeClock clock;
  auto o = Small();
  o.max_wait = 60s;
  LoginBudget b(clock, o);
  auto held = b.Acquire("1.1.1.1");
  ASSERT_TRUE(held);
  bool got = false;
  std::thread waiter([&] { got = static_cast<bool>(b.Acquire("2.2.2.2")); });
  held = LoginBudget::Ticket();
  waiter.join();
  EXPECT_TRUE(got);
}

TEST(LoginBudget, DefaultLeavesACoreFree) {
  LoginBudget b;
  size_t cores = std::thread::hardware_concurrency();
  EXPECT_EQ(b.max_concurrent(), cores > 1 ? cores - 1 : 1);
}

TEST(LoginBudget, Ipv6CountsPerSlash64) {
  EXPECT_EQ(AddressKey("2001:db8:1:2:aaaa::1"), "2001:db8:1:2::/64");
  EXPECT_EQ(AddressKey("2001:db8:1:2:bbbb::7"), "2001:db8:1:2::/64");
  EXPECT_EQ(AddressKey("10.0.0.1"), "10.0.0.1");
  EXPECT_EQ(AddressKey("not an address"), "not an address");
  FakeClock clock;
  LoginBudget b(clock, PerAddressOnly());
  auto t1 = b.Acquire("2001:db8::1");
  auto t2 = b.Acquire("2001:db8::2");
  EXPECT_FALSE(b.Acquire("2001:db8::3"));
}

TEST(LoginBudget, ForgetsIdleAddressesWhenFull) {
  FakeClock clock;
  auto o = PerAddressOnly();
  o.max_addresses = 4;
  LoginBudget b(clock, o);
  for (int i = 0; i < 100; ++i) EXPECT_TRUE(b.Acquire("10.0.0." + std::to_string(i)));
  EXPECT_LE(b.tracked_addresses(), 4u);
}

}  // namespace
}  // namespace berth::auth
