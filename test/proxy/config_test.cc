// berth.proxy's fetch limits: decoded from the config, wrong values named, and the memory window
// holding a fetch back when the cache's disk stalls.
#include <gtest/gtest.h>

#include "config/config.h"
#include "proxy/config.h"

namespace berth::testing {
namespace {

Result<proxy::ProxyConfig> DecodeYaml(const std::string& yaml) {
  auto loaded = config::Load("version: 0.1\n" + yaml, {});
  if (!loaded) return std::unexpected(loaded.error());
  for (const auto& w : loaded->warnings) ADD_FAILURE() << "config warning: " << w;
  return proxy::Decode(loaded->config);
}

TEST(ProxyConfig, FetchLimitsDefaultAndFromBerthProxy) {
  auto defaults = DecodeYaml("proxy:\n  remoteurl: https://registry-1.docker.io\n");
  ASSERT_TRUE(defaults) << defaults.error().ToString();
  EXPECT_EQ(defaults->max_fetches, 8u);
  EXPECT_EQ(defaults->fetch_window_bytes, 8u << 20);

  auto set = DecodeYaml(
      "proxy:\n  remoteurl: https://registry-1.docker.io\n"
      "berth:\n  proxy:\n    maxfetches: 3\n    fetchwindow: 5000KiB\n");
  ASSERT_TRUE(set) << set.error().ToString();
  EXPECT_EQ(set->max_fetches, 3u);
  EXPECT_EQ(set->fetch_window_bytes, 5u << 20);  // rounded up to whole MiB
}

TEST(ProxyConfig, WrongFetchLimitsNameTheKey) {
  const std::string up = "proxy:\n  remoteurl: https://registry-1.docker.io\n";
  for (const auto& [yaml, key] : std::vector<std::pair<std::string, std::string>>{
           {"berth:\n  proxy:\n    maxfetches: 0\n", "berth.proxy.maxfetches"},
           {"berth:\n  proxy:\n    maxfetches: many\n", "berth.proxy.maxfetches"},
           {"berth:\n  proxy:\n    fetchwindow: 100KiB\n", "berth.proxy.fetchwindow"},
           {"berth:\n  proxy:\n    fetchwindow: 2GiB\n", "berth.proxy.fetchwindow"},
           {"berth:\n  proxy:\n    fetchwindow: lots\n", "berth.proxy.fetchwindow"}}) {
    auto r = DecodeYaml(up + yaml);
    ASSERT_FALSE(r) << yaml;
    EXPECT_EQ(r.error().code, ErrorCode::kInvalidArgument) << yaml;
    EXPECT_NE(r.error().message.find(key + ":"), std::string::npos) << r.error().message;
  }
}

// proxy.remoteurl's tags are rechecked on every pull as registry:2 does, unless berth.proxy.tagttl
// says how long to trust them; the key means nothing beside berth.proxy.upstreams, which have
// their own.
TEST(ProxyConfig, TagTtlOfTheRegistry2Form) {
  const std::string up = "proxy:\n  remoteurl: https://registry-1.docker.io\n";
  auto plain = DecodeYaml(up);
  ASSERT_TRUE(plain) << plain.error().ToString();
  ASSERT_EQ(plain->upstreams.size(), 1u);
  EXPECT_EQ(plain->upstreams[0].tag_ttl.count(), 0);

  auto set = DecodeYaml(up + "berth:\n  proxy:\n    tagttl: 90s\n");
  ASSERT_TRUE(set) << set.error().ToString();
  EXPECT_EQ(set->upstreams[0].tag_ttl.count(), 90'000);

  auto bad = DecodeYaml(up + "berth:\n  proxy:\n    tagttl: soon\n");
  ASSERT_FALSE(bad);
  EXPECT_NE(bad.error().message.find("berth.proxy.tagttl:"), std::string::npos);

  auto lists = DecodeYaml(
      "berth:\n  proxy:\n    tagttl: 1m\n    upstreams:\n"
      "      - prefix: hub\n        url: https://registry-1.docker.io\n");
  ASSERT_FALSE(lists);
  EXPECT_NE(lists.error().message.find("berth.proxy.tagttl:"), std::string::npos);
}

}  // namespace
}  // namespace berth::testing
