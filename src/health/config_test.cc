#include "health/config.h"

#include <gtest/gtest.h>

namespace berth::health {
namespace {

TEST(HealthConfig, DecodesDistributionsKeys) {
  auto c = ParseHealthConfig(R"(
storagedriver: {enabled: true, interval: 2s, threshold: 3}
file:
  - {file: /tmp/drain, interval: 5s}
http:
  - uri: http://127.0.0.1:9/ping
    headers: {Authorization: [Basic abc], X-One: two}
    statuscode: 204
    timeout: 1s
    threshold: 2
tcp:
  - {addr: "127.0.0.1:6379", timeout: 500ms, interval: 1s}
)");
  ASSERT_TRUE(c) << c.error().message;
  EXPECT_TRUE(c->storagedriver.enabled);
  EXPECT_EQ(c->storagedriver.timing.interval, std::chrono::seconds(2));
  EXPECT_EQ(c->storagedriver.timing.threshold, 3u);
  ASSERT_EQ(c->file.size(), 1u);
  EXPECT_EQ(c->file[0].file, "/tmp/drain");
  EXPECT_EQ(c->file[0].timing.interval, std::chrono::seconds(5));
  ASSERT_EQ(c->http.size(), 1u);
  EXPECT_EQ(c->http[0].statuscode, 204);
  EXPECT_EQ(c->http[0].timing.timeout, std::chrono::seconds(1));
  EXPECT_EQ(c->http[0].timing.threshold, 2u);
  EXPECT_EQ(c->http[0].timing.interval, std::chrono::seconds(10));  // default
  ASSERT_EQ(c->http[0].headers.size(), 2u);
  EXPECT_EQ(c->http[0].headers[0].second, "Basic abc");
  ASSERT_EQ(c->tcp.size(), 1u);
  EXPECT_EQ(c->tcp[0].timing.timeout, std::chrono::milliseconds(500));
}

TEST(HealthConfig, WrongValuesNameTheKey) {
  auto msg = [](const std::string& yaml) {
    auto c = ParseHealthConfig(yaml);
    return c ? std::string("accepted") : c.error().message;
  };
  EXPECT_EQ(msg("storagedriver: {interval: soon}").rfind("health.storagedriver.interval:", 0), 0u);
  EXPECT_EQ(msg("storagedriver: {enabled: maybe}").rfind("health.storagedriver.enabled:", 0), 0u);
  EXPECT_EQ(msg("http: [{statuscode: 200}]").rfind("health.http[0].uri: required", 0), 0u);
  EXPECT_EQ(msg("http: [{uri: ftp://x}]").rfind("health.http[0].uri:", 0), 0u);
  EXPECT_EQ(msg("http: [{uri: 'http://x/', headers: {A: \"b\\r\\nC: d\"}}]")
                .rfind("health.http[0].headers.A:", 0),
            0u);
  EXPECT_EQ(msg("tcp: [{addr: nohost}]").rfind("health.tcp[0].addr:", 0), 0u);
  EXPECT_EQ(msg("tcp: {addr: x:1}").rfind("health.tcp: want a list", 0), 0u);
  EXPECT_EQ(msg("file: [{file: /x, interval: 0s}]").rfind("health.file[0].interval:", 0), 0u);
  EXPECT_EQ(msg("tcp: [{addr: 'a:1', threshold: -1}]").rfind("health.tcp[0].threshold:", 0), 0u);
}

}  // namespace
}  // namespace berth::health
