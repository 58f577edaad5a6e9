#pragma once
// Drivers chosen by name: one table of factories, registered explicitly in factory.cc (no
// static-init magic). A new driver (s3 next) is one line there and its own New*Driver function.
//
//   auto driver = driver::Create("filesystem", {{"rootdirectory", "/var/lib/registry"}});
//
// Parameters are Distribution's storage.<driver> keys as strings. A factory reads the ones it knows
// and ignores the rest (the config loader warns about unknown keys); a missing required parameter
// or a bad value is kInvalidArgument naming the driver and the key.
//
// Errors: kInvalidArgument for an unknown driver name (the message names it and lists the known
// ones) or bad parameters; whatever the driver's constructor returns otherwise (filesystem: kIo
// when the root cannot be created).
//
// Thread-safe (the table is constant).

#include <functional>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "common/error.h"
#include "storage/driver/driver.h"

namespace berth::storage::driver {

using DriverParams = std::map<std::string, std::string, std::less<>>;

Result<StorageDriverPtr> Create(std::string_view name, const DriverParams& params);

// The registered names, in registration order.
std::vector<std::string_view> DriverNames();

}  // namespace berth::storage::driver
