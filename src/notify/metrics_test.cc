#include "notify/metrics.h"

#include <gtest/gtest.h>

#include "notify/service.h"
#include "notify/test_receiver.h"
#include "test/support/temp_dir.h"

namespace berth::notify {
namespace {

TEST(NotifyMetrics, QueueDepthFailuresAndAgePerEndpoint) {
  berth::testing::TempDir dir;
  testing::Receiver rx;
  rx.status = 503;
  NotificationsConfig nc;
  EndpointConfig e;
  e.name = "hook";
  e.url = rx.url();
  e.backoff = std::chrono::milliseconds(10);
  e.directory = dir.Path("hook");
  nc.endpoints.push_back(e);
  Runtime rt;
  auto s = NotificationService::Start(nc, {});
  ASSERT_TRUE(s) << s.error().message;
  rt.notifications = *s;
  api::Event ev;
  ev.action = api::EventAction::kPush;
  ev.repository = "app";
  rt.notifications->Emit(ev);
  rt.notifications->Flush();
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (rt.notifications->Stats().endpoints[0].failures_total < 1 &&
         std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  metrics::Registry reg;
  auto regs = RegisterMetrics(reg, rt);
  std::string text = reg.Expose();
  EXPECT_NE(text.find("berth_notifications_pending_events{endpoint=\"hook\"} 1"), std::string::npos)
      << text;
  EXPECT_NE(text.find("berth_notifications_failures_total{endpoint=\"hook\"}"), std::string::npos);
  EXPECT_EQ(text.find("berth_notifications_failures_total{endpoint=\"hook\"} 0"), std::string::npos)
      << text;
  EXPECT_NE(text.find("berth_notifications_oldest_pending_age_seconds{endpoint=\"hook\"}"),
            std::string::npos);
  EXPECT_NE(text.find("berth_notifications_deliveries_total{endpoint=\"hook\"} 0"),
            std::string::npos);
}

}  // namespace
}  // namespace berth::notify
