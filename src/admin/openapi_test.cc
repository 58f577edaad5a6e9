// docs/openapi.yaml and the route table describe the same endpoints: every documented operation
// is served and every served one is documented.
#include <gtest/gtest.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <set>

#include "admin/api.h"

namespace berth::admin {
namespace {

TEST(OpenApi, DocumentsExactlyTheServedEndpoints) {
  YAML::Node doc = YAML::LoadFile(BERTH_OPENAPI_PATH);
  ASSERT_EQ(doc["openapi"].as<std::string>().substr(0, 2), "3.");
  const std::string base = doc["servers"][0]["url"].as<std::string>();
  std::set<std::string> documented;
  for (const auto& path : doc["paths"]) {
    for (const auto& op : path.second) {
      std::string method = op.first.as<std::string>();
      if (method == "parameters") continue;
      std::transform(method.begin(), method.end(), method.begin(), ::toupper);
      documented.insert(method + " " + base + path.first.as<std::string>());
    }
  }
  std::vector<std::string> served = AdminApi::Endpoints();
  std::set<std::string> served_set(served.begin(), served.end());
  EXPECT_EQ(served_set.size(), served.size()) << "a route appears twice";
  for (const auto& e : served_set) EXPECT_TRUE(documented.contains(e)) << "undocumented: " << e;
  for (const auto& e : documented) EXPECT_TRUE(served_set.contains(e)) << "not served: " << e;
}

}  // namespace
}  // namespace berth::admin
