#pragma once
// The process-wide logger (the one global, by convention). spdlog underneath; configured once at start-up
// by the CLI from `log.level` / `log.formatter`. Thread-safe.
#include <spdlog/spdlog.h>

namespace berth::log {
// Installs the default logger: level is Distribution's (error|warn|info|debug), json selects one JSON
// object per line. Unknown levels fall back to info.
void Configure(const std::string& level, bool json);
}  // namespace berth::log
