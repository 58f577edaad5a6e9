#include "gc/config.h"

#include <yaml-cpp/yaml.h>

#include "common/time.h"

namespace berth::gc {
namespace {

constexpr std::string_view kPath = "storage.maintenance.gc";
constexpr auto kMinGrace = std::chrono::seconds(1);

std::unexpected<Error> Bad(std::string_view key, const std::string& why) {
  return MakeError(ErrorCode::kInvalidArgument,
                   std::string(kPath) + "." + std::string(key) + ": " + why);
}

Result<bool> Bool(const YAML::Node& n, std::string_view key) {
  bool b = false;
  if (!n.IsScalar() || !YAML::convert<bool>::decode(n, b)) {
    return Bad(key, "not a boolean: " + (n.IsScalar() ? "\"" + n.Scalar() + "\"" : "not a scalar"));
  }
  return b;
}

Result<std::chrono::nanoseconds> Duration(const YAML::Node& n, std::string_view key) {
  std::optional<std::chrono::nanoseconds> d;
  if (n.IsScalar()) d = ParseGoDuration(n.Scalar());
  if (!d) {
    return Bad(key,
               "not a duration: " + (n.IsScalar() ? "\"" + n.Scalar() + "\"" : "not a scalar"));
  }
  return *d;
}

}  // namespace

Result<GcConfig> DecodeConfig(const config::Config& cfg) {
  GcConfig out;
  auto it = cfg.raw_sections.find(std::string(kPath));
  if (it == cfg.raw_sections.end()) return out;
  YAML::Node root;
  try {
    root = YAML::Load(it->second);
  } catch (const YAML::Exception& e) {
    return MakeError(ErrorCode::kInvalidArgument, std::string(kPath) + ": " + e.what());
  }
  if (root.IsNull()) return out;
  if (!root.IsMap())
    return MakeError(ErrorCode::kInvalidArgument, std::string(kPath) + ": not a mapping");
  if (auto n = root["enabled"]; n.IsDefined() && !n.IsNull()) {
    BERTH_ASSIGN_OR_RETURN(out.enabled, Bool(n, "enabled"));
  }
  if (auto n = root["deleteuntagged"]; n.IsDefined() && !n.IsNull()) {
    BERTH_ASSIGN_OR_RETURN(out.deleteuntagged, Bool(n, "deleteuntagged"));
  }
  if (auto n = root["removelinks"]; n.IsDefined() && !n.IsNull()) {
    BERTH_ASSIGN_OR_RETURN(out.removelinks, Bool(n, "removelinks"));
  }
  if (auto n = root["interval"]; n.IsDefined() && !n.IsNull()) {
    BERTH_ASSIGN_OR_RETURN(out.interval, Duration(n, "interval"));
    if (out.interval <= std::chrono::nanoseconds(0)) return Bad("interval", "must be positive");
  }
  if (auto n = root["graceperiod"]; n.IsDefined() && !n.IsNull()) {
    BERTH_ASSIGN_OR_RETURN(out.graceperiod, Duration(n, "graceperiod"));
    // Zero would let a sweep race every push: refuse rather than collect unsafely.
    if (out.graceperiod < kMinGrace) return Bad("graceperiod", "must be at least 1s");
  }
  return out;
}

}  // namespace berth::gc
