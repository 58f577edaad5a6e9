// The notification service end to end in one process: events emitted -> durable queue -> POSTs to
// a loopback receiver (test_receiver.h), with failures, restarts, filters and dead letters.
#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <set>
#include <thread>

#include "notify/deadletter.h"
#include "notify/envelope.h"
#include "notify/service.h"
#include "notify/test_receiver.h"
#include "test/support/temp_dir.h"

namespace berth::notify {
namespace {

using nlohmann::json;
using std::chrono::milliseconds;
using testing::Received;
using testing::Receiver;

api::Event Push(const std::string& repo, const std::string& tag,
                std::string media_type = "application/vnd.oci.image.manifest.v1+json") {
  api::Event e;
  e.action = api::EventAction::kPush;
  e.time = std::chrono::system_clock::now();
  e.repository = repo;
  e.tag = tag;
  e.digest = "sha256:" + std::string(64, 'd');
  e.media_type = std::move(media_type);
  e.size = 10;
  e.request.method = "PUT";
  return e;
}

class Delivery : public ::testing::Test {
 protected:
  EndpointConfig Endpoint(const std::string& name = "hook") {
    EndpointConfig e;
    e.name = name;
    e.url = rx_.url();
    e.backoff = milliseconds(10);
    e.max_backoff = milliseconds(40);
    e.threshold = 2;
    e.timeout = milliseconds(2000);
    e.directory = dir_.Path(name);
    return e;
  }
  std::shared_ptr<NotificationService> Start(std::vector<EndpointConfig> endpoints,
                                             const Clock* clock = &SystemClock()) {
    NotificationsConfig nc;
    nc.endpoints = std::move(endpoints);
    ServiceOptions so;
    so.clock = clock;
    so.source = {"test:5000", "instance"};
    auto s = NotificationService::Start(nc, so);
    EXPECT_TRUE(s) << (s ? "" : s.error().message);
    return s ? *s : nullptr;
  }
  static std::string Tag(const Received& r) {
    auto j = json::parse(r.body);
    const json& ev = j.contains("events") ? j["events"][0] : j["data"];
    return ev["target"].value("tag", "");
  }
  static std::string Id(const Received& r) {
    auto j = json::parse(r.body);
    return j.contains("events") ? j["events"][0]["id"].get<std::string>()
                                : j["id"].get<std::string>();
  }

  berth::testing::TempDir dir_;
  Receiver rx_;
};

TEST_F(Delivery, EventsArriveInOrderSignedWithStableIds) {
  EndpointConfig e = Endpoint();
  e.secret = "0123456789abcdef-secret";
  e.headers = {{"X-Test", {"configured"}}};
  auto s = Start({e});
  for (int i = 0; i < 5; ++i) s->Emit(Push("app", "t" + std::to_string(i)));
  ASSERT_TRUE(rx_.WaitFor(5));
  auto got = rx_.got();
  std::set<std::string> ids;
  for (int i = 0; i < 5; ++i) {
    EXPECT_EQ(Tag(got[i]), "t" + std::to_string(i));
    EXPECT_EQ(got[i].content_type, kDistributionMediaType);
    EXPECT_EQ(got[i].signature, Signature(e.secret, got[i].body));
    EXPECT_EQ(got[i].event_id, Id(got[i]));
    EXPECT_EQ(got[i].custom, "configured");
    ids.insert(Id(got[i]));
  }
  EXPECT_EQ(ids.size(), 5u);
  // The count is taken after the receiver answered: wait for it, bounded.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (s->Stats().endpoints[0].deliveries_total < 5 &&
         std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  EXPECT_EQ(s->Stats().endpoints[0].deliveries_total, 5u);
}

TEST_F(Delivery, LoginAndDeniedAreNotNotifications) {
  auto s = Start({Endpoint()});
  api::Event login = Push("", "");
  login.action = api::EventAction::kLogin;
  s->Emit(login);
  s->Emit(Push("app", "after"));
  ASSERT_TRUE(rx_.WaitFor(1));
  s->Flush();
  EXPECT_EQ(rx_.got().size(), 1u);
  EXPECT_EQ(Tag(rx_.got()[0]), "after");
}

TEST_F(Delivery, AReceiverThatIsDownGetsEverythingInOrderWhenItReturns) {
  rx_.status = 503;
  auto s = Start({Endpoint()});
  for (int i = 0; i < 4; ++i) s->Emit(Push("app", "t" + std::to_string(i)));
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (rx_.attempts < 5 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(milliseconds(5));
  }
  EXPECT_GE(rx_.attempts.load(), 5);
  EXPECT_EQ(rx_.got().size(), 0u);
  EXPECT_EQ(s->Stats().endpoints[0].queue.pending, 4u);
  EXPECT_GT(s->Stats().endpoints[0].failures_total, 0u);
  rx_.status = 200;
  ASSERT_TRUE(rx_.WaitFor(4));
  auto got = rx_.got();
  for (int i = 0; i < 4; ++i) EXPECT_EQ(Tag(got[i]), "t" + std::to_string(i));
}

TEST_F(Delivery, QueuedEventsSurviveARestartWithTheSameIds) {
  rx_.status = 500;
  std::vector<std::string> ids_before;
  {
    auto s = Start({Endpoint()});
    for (int i = 0; i < 3; ++i) s->Emit(Push("app", "t" + std::to_string(i)));
    s->Flush();
    s->Stop();
    auto q = Queue::Open(dir_.Path("hook"), 1 << 20);
    ASSERT_TRUE(q);
    ASSERT_EQ((*q)->Stats().pending, 3u);
    auto f = (*q)->Front();
    ids_before.push_back(json::parse((*f)->payload)["id"]);
  }
  rx_.status = 200;
  auto s = Start({Endpoint()});
  ASSERT_TRUE(rx_.WaitFor(3));
  auto got = rx_.got();
  EXPECT_EQ(Id(got[0]), ids_before[0]);
  for (int i = 0; i < 3; ++i) EXPECT_EQ(Tag(got[i]), "t" + std::to_string(i));
}

TEST_F(Delivery, IgnoredActionsAndMediaTypesAreNotSent) {
  EndpointConfig e = Endpoint();
  e.ignored_actions = {"pull"};
  e.ignored_media_types = {"application/octet-stream"};
  auto s = Start({e});
  api::Event pull = Push("app", "pulled");
  pull.action = api::EventAction::kPull;
  s->Emit(pull);
  s->Emit(Push("app", "layer", "application/octet-stream"));
  s->Emit(Push("app", "kept"));
  ASSERT_TRUE(rx_.WaitFor(1));
  s->Flush();
  s->Stop();
  ASSERT_EQ(rx_.got().size(), 1u);
  EXPECT_EQ(Tag(rx_.got()[0]), "kept");
}

TEST_F(Delivery, CloudEventsFormat) {
  EndpointConfig e = Endpoint();
  e.format = Format::kCloudEvents;
  auto s = Start({e});
  s->Emit(Push("app", "ce"));
  ASSERT_TRUE(rx_.WaitFor(1));
  Received r = rx_.got()[0];
  EXPECT_EQ(r.content_type, kCloudEventsMediaType);
  auto j = json::parse(r.body);
  EXPECT_EQ(j["specversion"], "1.0");
  EXPECT_EQ(j["type"], "io.berth.registry.push");
  EXPECT_EQ(Tag(r), "ce");
}

TEST_F(Delivery, UndeliverableEventsGoToTheDeadLetterFileAndReplayResendsThem) {
  rx_.status = 500;
  FakeClock clock(std::chrono::system_clock::now());
  EndpointConfig e = Endpoint();
  e.dead_letter_after = std::chrono::seconds(60);
  auto s = Start({e}, &clock);
  s->Emit(Push("app", "lost"));
  s->Emit(Push("app", "next"));
  s->Flush();
  clock.Advance(std::chrono::seconds(61));
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (std::chrono::steady_clock::now() < deadline) {
    auto st = s->Stats().endpoints[0];
    if (st.dead_lettered_total == 2 && st.queue.pending == 0) break;
    std::this_thread::sleep_for(milliseconds(5));
  }
  auto letters = ReadDeadLetters(e.directory).value();
  ASSERT_EQ(letters.size(), 2u);
  json first = json::parse(letters[0]);
  EXPECT_EQ(first["endpoint"], "hook");
  EXPECT_EQ(first["lasterror"], "status 500");
  EXPECT_EQ(first["event"]["target"]["tag"], "lost");
  EXPECT_EQ(s->Stats().endpoints[0].dead_lettered_total, 2u);
  EXPECT_EQ(s->Stats().endpoints[0].queue.pending, 0u);

  rx_.status = 200;
  auto moved = ReplayDeadLetters(e.directory, {first["event"]["id"].get<std::string>()});
  ASSERT_TRUE(moved);
  EXPECT_EQ(*moved, 1u);
  ASSERT_TRUE(rx_.WaitFor(1));
  EXPECT_EQ(Id(rx_.got()[0]), first["event"]["id"]);
  EXPECT_EQ(ReadDeadLetters(e.directory)->size(), 1u);  // the other one stays
}

TEST_F(Delivery, ABoundedQueueDropsTheOldestWhenTheReceiverIsAway) {
  rx_.status = 500;
  EndpointConfig e = Endpoint();
  e.max_queue_bytes = 64 << 10;
  auto s = Start({e});
  for (int i = 0; i < 400; ++i)
    s->Emit(Push("app", "t" + std::to_string(i) + std::string(300, 'x')));
  s->Flush();
  auto st = s->Stats().endpoints[0];
  EXPECT_GT(st.queue.dropped_total, 0u);
  EXPECT_LE(st.queue.pending_bytes, 64u << 10);
  rx_.status = 200;
  ASSERT_TRUE(rx_.WaitFor(st.queue.pending));
  // The newest survive. Delivery is in order, so the newest is the last to arrive; the count
  // above may be reached before it (a retried delivery counts again), so wait for it, bounded.
  const std::string newest = "t399" + std::string(300, 'x');
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (Tag(rx_.got().back()) != newest && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  EXPECT_EQ(Tag(rx_.got().back()), newest);
}

}  // namespace
}  // namespace berth::notify
