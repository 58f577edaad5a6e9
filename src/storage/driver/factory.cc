// The one table of storage drivers by name.

#include "storage/driver/factory.h"

#include <string>

namespace berth::storage::driver {
namespace {

Result<StorageDriverPtr> MakeFilesystem(const DriverParams& params) {
  auto root = params.find("rootdirectory");
  if (root == params.end() || root->second.empty()) {
    return MakeError(ErrorCode::kInvalidArgument,
                     "storage driver \"filesystem\": rootdirectory is required");
  }
  return NewFilesystemDriver(root->second);
}

Result<StorageDriverPtr> MakeInMemory(const DriverParams&) { return NewInMemoryDriver(); }

struct Factory {
  std::string_view name;
  Result<StorageDriverPtr> (*make)(const DriverParams&);
};

// Registration: add a row per driver.
constexpr Factory kFactories[] = {
    {"filesystem", MakeFilesystem},
    {"inmemory", MakeInMemory},
};

}  // namespace

Result<StorageDriverPtr> Create(std::string_view name, const DriverParams& params) {
  for (const Factory& f : kFactories) {
    if (f.name == name) return f.make(params);
  }
  std::string known;
  for (const Factory& f : kFactories) {
    known += known.empty() ? "" : ", ";
    known += f.name;
  }
  // The name comes from configuration; keep the message printable.
  std::string shown;
  for (char c : name.substr(0, 64)) shown += (c >= 0x20 && c < 0x7f) ? c : '?';
  return MakeError(ErrorCode::kInvalidArgument,
                   "storage driver \"" + shown + "\" is not known (known drivers: " + known + ")");
}

std::vector<std::string_view> DriverNames() {
  std::vector<std::string_view> names;
  for (const Factory& f : kFactories) names.push_back(f.name);
  return names;
}

}  // namespace berth::storage::driver
