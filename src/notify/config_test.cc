#include "notify/config.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>

namespace berth::notify {
namespace {

using ::testing::HasSubstr;

config::LoadResult MustLoad(const std::string& yaml) {
  auto r = config::Load("version: 0.1\n" + yaml, {});
  EXPECT_TRUE(r.has_value()) << (r ? "" : r.error().message);
  return r ? *r : config::LoadResult{};
}

std::string DecodeError(const std::string& yaml) {
  auto r = DecodeNotifications(MustLoad(yaml).config);
  return r ? "" : r.error().message;
}

TEST(NotifyConfig, DecodesDistributionKeysAndBerthExtras) {
  auto loaded = MustLoad(R"(
storage: {filesystem: {rootdirectory: /data}}
notifications:
  events: {includereferences: true}
  endpoints:
    - name: ci
      url: https://ci.example/hook
      headers: {Authorization: [Bearer x, y]}
      timeout: 500ms
      threshold: 5
      backoff: 2s
      ignoredmediatypes: [application/octet-stream]
      ignore: {mediatypes: [text/plain], actions: [pull]}
      secret: 0123456789abcdef
      format: cloudevents
      maxbackoff: 1m
      deadletterafter: 1h
      maxqueuesize: 1MiB
    - name: off
      disabled: true
      url: http://127.0.0.1:1/
berth:
  notifications: {maxqueuesize: 2MiB}
)");
  EXPECT_TRUE(std::none_of(
      loaded.warnings.begin(), loaded.warnings.end(),
      [](const std::string& w) { return w.find("notifications") != std::string::npos; }))
      << ::testing::PrintToString(loaded.warnings);
  auto nc = DecodeNotifications(loaded.config);
  ASSERT_TRUE(nc) << nc.error().message;
  EXPECT_TRUE(nc->include_references);
  EXPECT_EQ(nc->directory, "/data/_berth/notifications");
  ASSERT_EQ(nc->endpoints.size(), 2u);
  const EndpointConfig& e = nc->endpoints[0];
  EXPECT_EQ(e.name, "ci");
  EXPECT_EQ(e.url, "https://ci.example/hook");
  ASSERT_EQ(e.headers.size(), 1u);
  EXPECT_EQ(e.headers[0].second, (std::vector<std::string>{"Bearer x", "y"}));
  EXPECT_EQ(e.timeout, std::chrono::milliseconds(500));
  EXPECT_EQ(e.threshold, 5u);
  EXPECT_EQ(e.backoff, std::chrono::seconds(2));
  EXPECT_EQ(e.ignored_media_types,
            (std::vector<std::string>{"application/octet-stream", "text/plain"}));
  EXPECT_EQ(e.ignored_actions, (std::vector<std::string>{"pull"}));
  EXPECT_EQ(e.secret, "0123456789abcdef");
  EXPECT_EQ(e.format, Format::kCloudEvents);
  EXPECT_EQ(e.max_backoff, std::chrono::minutes(1));
  EXPECT_EQ(e.dead_letter_after, std::chrono::hours(1));
  EXPECT_EQ(e.max_queue_bytes, 1u << 20);
  EXPECT_EQ(e.directory, "/data/_berth/notifications/ci");
  EXPECT_TRUE(nc->endpoints[1].disabled);
  EXPECT_EQ(nc->endpoints[1].max_queue_bytes, 2u << 20);  // berth.notifications default
}

TEST(NotifyConfig, UnknownEndpointKeysWarnWithTheirPath) {
  auto loaded =
      MustLoad("notifications:\n  endpoints:\n    - {name: a, url: 'http://x/', bogus: 1}\n");
  EXPECT_NE(std::find(loaded.warnings.begin(), loaded.warnings.end(),
                      "unknown configuration key notifications.endpoints[0].bogus"),
            loaded.warnings.end())
      << ::testing::PrintToString(loaded.warnings);
}

TEST(NotifyConfig, WrongValuesNameTheKey) {
  const std::string ep = "notifications:\n  endpoints:\n    - ";
  const std::string e0 = "notifications.endpoints[0].";
  // {configuration, what the error must say}
  const std::pair<std::string, std::string> cases[] = {
      {ep + "{url: 'http://x/'}", e0 + "name: required"},
      {ep + "{name: a}", e0 + "url: required"},
      {ep + "{name: a, url: 'ftp://x/'}", e0 + "url"},
      {ep + "{name: a, url: 'http://u:p@x/'}", e0 + "url"},
      {ep + "{name: a, url: 'http://x/', timeout: soon}", e0 + "timeout: not a duration"},
      {ep + "{name: a, url: 'http://x/', secret: short}", e0 + "secret: must be at least 16"},
      {ep + "{name: a, url: 'http://x/', format: xml}", e0 + "format"},
      {ep + "{name: a, url: 'http://x/', ignore: {actions: [fly]}}",
       e0 + "ignore.actions: unknown action"},
      {ep + "{name: a, url: 'http://x/'}\n    - {name: a, url: 'http://y/'}",
       "notifications.endpoints[1].name: \"a\" is used twice"},
      {"storage: inmemory\n" + ep + "{name: a, url: 'http://x/'}",
       "berth.notifications.directory: required"},
      {"berth: {notifications: {maxqueuesize: 1KiB}}",
       "berth.notifications.maxqueuesize: must be at least"},
  };
  for (const auto& [yaml, expected] : cases) {
    EXPECT_THAT(DecodeError(yaml), HasSubstr(expected)) << yaml;
  }
}

TEST(NotifyConfig, EndpointNamesCannotEscapeTheQueueDirectory) {
  auto loaded = MustLoad(
      "storage: {filesystem: {rootdirectory: /d}}\nnotifications:\n  endpoints:\n"
      "    - {name: ../../etc, url: 'http://x/'}\n    - {name: '..', url: 'http://x/'}\n");
  auto nc = DecodeNotifications(loaded.config);
  ASSERT_TRUE(nc) << nc.error().message;
  EXPECT_EQ(nc->endpoints[0].directory, "/d/_berth/notifications/.._.._etc");
  EXPECT_EQ(nc->endpoints[1].directory, "/d/_berth/notifications/_..");
}

TEST(NotifyConfig, AuditSettings) {
  auto a = DecodeAudit(
      MustLoad("berth: {audit: {enabled: true, path: /l/a.log, maxsize: 1MiB, maxbackups: 2}}\n")
          .config);
  ASSERT_TRUE(a) << a.error().message;
  EXPECT_TRUE(a->enabled);
  EXPECT_EQ(a->path, "/l/a.log");
  EXPECT_EQ(a->max_bytes, 1u << 20);
  EXPECT_EQ(a->max_backups, 2u);
  auto bad = DecodeAudit(MustLoad("berth: {audit: {enabled: maybe}}\n").config);
  ASSERT_FALSE(bad);
  EXPECT_THAT(bad.error().message, HasSubstr("berth.audit.enabled: not a boolean"));
}

}  // namespace
}  // namespace berth::notify
