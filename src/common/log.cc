#include "common/log.h"

#include <spdlog/sinks/stdout_sinks.h>

namespace berth::log {

void Configure(const std::string& level, bool json) {
  auto logger = spdlog::stderr_logger_mt("berth");
  if (json) {
    logger->set_pattern(R"({"time":"%Y-%m-%dT%H:%M:%S.%fZ","level":"%l","msg":"%v"})", spdlog::pattern_time_type::utc);
  } else {
    logger->set_pattern("time=\"%Y-%m-%dT%H:%M:%S.%fZ\" level=%l msg=\"%v\"", spdlog::pattern_time_type::utc);
  }
  spdlog::level::level_enum lvl = spdlog::level::info;
  if (level == "debug") lvl = spdlog::level::debug;
  else if (level == "warn" || level == "warning") lvl = spdlog::level::warn;
  else if (level == "error") lvl = spdlog::level::err;
  else if (level == "trace") lvl = spdlog::level::trace;
  logger->set_level(lvl);
  spdlog::set_default_logger(logger);
}

}  // namespace berth::log
