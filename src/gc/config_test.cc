#include "gc/config.h"

#include <gtest/gtest.h>

namespace berth::gc {
namespace {

Result<GcConfig> Decode(const std::string& yaml, const std::vector<std::string>& env = {}) {
  auto loaded = config::Load(yaml, env);
  if (!loaded) return std::unexpected(loaded.error());
  return DecodeConfig(loaded->config);
}

TEST(GcConfig, Defaults) {
  GcConfig c = Decode("").value();
  EXPECT_FALSE(c.enabled);
  EXPECT_EQ(c.graceperiod, std::chrono::hours(1));
  EXPECT_FALSE(c.deleteuntagged);
  EXPECT_FALSE(c.removelinks);
}

TEST(GcConfig, FromYamlAndEnvironment) {
  GcConfig c = Decode(
                   "version: 0.1\nstorage:\n  maintenance:\n    gc:\n      enabled: true\n"
                   "      interval: 30m\n      graceperiod: 2h\n",
                   {"REGISTRY_STORAGE_MAINTENANCE_GC_DELETEUNTAGGED=true"})
                   .value();
  EXPECT_TRUE(c.enabled);
  EXPECT_TRUE(c.deleteuntagged);
  EXPECT_EQ(c.interval, std::chrono::minutes(30));
  EXPECT_EQ(c.graceperiod, std::chrono::hours(2));
  EXPECT_TRUE(Decode("", {"REGISTRY_STORAGE_MAINTENANCE_GC_ENABLED=true"})->enabled);
  EXPECT_TRUE(Decode("version: 0.1\nstorage:\n  maintenance:\n    gc:\n      removelinks: true\n")
                  ->removelinks);
  EXPECT_TRUE(Decode("", {"REGISTRY_STORAGE_MAINTENANCE_GC_REMOVELINKS=true"})->removelinks);
  auto bad = Decode("version: 0.1\nstorage:\n  maintenance:\n    gc:\n      removelinks: 2\n");
  ASSERT_FALSE(bad.has_value());
  EXPECT_NE(bad.error().message.find("storage.maintenance.gc.removelinks"), std::string::npos);
}

TEST(GcConfig, WrongValuesNameTheKey) {
  auto bad = Decode("version: 0.1\nstorage:\n  maintenance:\n    gc:\n      graceperiod: 0s\n");
  ASSERT_FALSE(bad.has_value());
  EXPECT_NE(bad.error().message.find("storage.maintenance.gc.graceperiod"), std::string::npos);
  bad = Decode("version: 0.1\nstorage:\n  maintenance:\n    gc:\n      enabled: maybe\n");
  ASSERT_FALSE(bad.has_value());
  EXPECT_NE(bad.error().message.find("storage.maintenance.gc.enabled"), std::string::npos);
}

TEST(GcConfig, UnknownSubKeyWarns) {
  auto loaded = config::Load(
      "version: 0.1\nstorage:\n  maintenance:\n    gc:\n      graceperiod: 1h\n"
      "      gracepriod: 2h\n",
      {});
  ASSERT_TRUE(loaded.has_value());
  ASSERT_EQ(loaded->warnings.size(), 1u);
  EXPECT_NE(loaded->warnings[0].find("gracepriod"), std::string::npos);
}

}  // namespace
}  // namespace berth::gc
