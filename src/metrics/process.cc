#include "metrics/process.h"

#include <dirent.h>
#include <sys/resource.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <optional>
#include <sstream>
#include <string>

namespace berth::metrics {
namespace {

// Fields of /proc/self/stat after the command name (which may hold spaces and parentheses, so
// parsing starts after the last ')'). Field 3 (state) is index 0 here.
std::optional<std::vector<std::string>> StatFields() {
  std::ifstream in("/proc/self/stat");
  std::string line;
  if (!std::getline(in, line)) return std::nullopt;
  auto close = line.rfind(')');
  if (close == std::string::npos) return std::nullopt;
  std::istringstream rest(line.substr(close + 1));
  std::vector<std::string> fields;
  for (std::string f; rest >> f;) fields.push_back(std::move(f));
  if (fields.size() < 22) return std::nullopt;
  return fields;
}

std::optional<double> Field(size_t stat_field_number) {
  auto fields = StatFields();
  if (!fields) return std::nullopt;
  try {
    return std::stod((*fields)[stat_field_number - 3]);
  } catch (...) {
    return std::nullopt;
  }
}

// Seconds since the epoch at boot (btime in /proc/stat).
std::optional<double> BootTime() {
  std::ifstream in("/proc/stat");
  for (std::string line; std::getline(in, line);) {
    if (line.rfind("btime ", 0) != 0) continue;
    try {
      return std::stod(line.substr(6));
    } catch (...) {
      return std::nullopt;
    }
  }
  return std::nullopt;
}

std::vector<Sample> One(std::optional<double> v) {
  if (!v) return {};
  return {Sample{{}, *v}};
}

}  // namespace

std::vector<Registration> AddProcessMetrics(Registry& registry) {
  const double ticks = static_cast<double>(::sysconf(_SC_CLK_TCK));
  const double page = static_cast<double>(::sysconf(_SC_PAGESIZE));
  std::vector<Registration> out;
  out.push_back(registry.AddCallback("process_cpu_seconds_total",
                                     "Total user and system CPU time spent in seconds.",
                                     Type::kCounter, {}, [ticks] {
                                       auto utime = Field(14), stime = Field(15);
                                       if (!utime || !stime) return std::vector<Sample>{};
                                       return One((*utime + *stime) / ticks);
                                     }));
  out.push_back(registry.AddCallback(
      "process_resident_memory_bytes", "Resident memory size in bytes.", Type::kGauge, {}, [page] {
        auto rss = Field(24);
        return One(rss ? std::optional<double>(*rss * page) : std::nullopt);
      }));
  out.push_back(registry.AddCallback("process_virtual_memory_bytes",
                                     "Virtual memory size in bytes.", Type::kGauge, {},
                                     [] { return One(Field(23)); }));
  out.push_back(registry.AddCallback("process_open_fds", "Number of open file descriptors.",
                                     Type::kGauge, {}, [] {
                                       DIR* d = ::opendir("/proc/self/fd");
                                       if (d == nullptr) return std::vector<Sample>{};
                                       double n = 0;
                                       while (dirent* e = ::readdir(d)) {
                                         if (e->d_name[0] != '.') ++n;
                                       }
                                       ::closedir(d);
                                       return One(n - 1);  // the descriptor opendir itself holds
                                     }));
  out.push_back(registry.AddCallback(
      "process_max_fds", "Maximum number of open file descriptors.", Type::kGauge, {}, [] {
        rlimit rl{};
        if (::getrlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_cur == RLIM_INFINITY) {
          return std::vector<Sample>{};
        }
        return One(static_cast<double>(rl.rlim_cur));
      }));
  // Constant for the process's life: computed once.
  std::optional<double> start;
  if (auto boot = BootTime(); boot) {
    if (auto since_boot = Field(22); since_boot) start = *boot + *since_boot / ticks;
  }
  out.push_back(registry.AddCallback("process_start_time_seconds",
                                     "Start time of the process since unix epoch in seconds.",
                                     Type::kGauge, {}, [start] { return One(start); }));
  return out;
}

}  // namespace berth::metrics
