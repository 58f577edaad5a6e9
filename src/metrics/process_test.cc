#include "metrics/process.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <regex>
#include <string>

namespace berth::metrics {
namespace {

double Value(const std::string& text, const std::string& name) {
  std::smatch m;
  std::regex re("\n" + name + " ([0-9.e+]+)\n");
  if (!std::regex_search(text, m, re)) return -1;
  return std::stod(m[1]);
}

TEST(ProcessMetrics, ReportsCpuMemoryDescriptorsAndStartTime) {
  Registry reg;
  auto regs = AddProcessMetrics(reg);
  std::string before = reg.Expose();
  int fd = ::open("/dev/null", O_RDONLY);
  ASSERT_GE(fd, 0);
  std::string after = reg.Expose();
  ::close(fd);
  EXPECT_EQ(Value(after, "process_open_fds"), Value(before, "process_open_fds") + 1);
  EXPECT_GT(Value(after, "process_resident_memory_bytes"), 1 << 20);
  EXPECT_GE(Value(after, "process_virtual_memory_bytes"),
            Value(after, "process_resident_memory_bytes"));
  EXPECT_GE(Value(after, "process_cpu_seconds_total"), 0);
  EXPECT_GT(Value(after, "process_max_fds"), 0);
  double now =
      std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
  // Started within the last hour (and not in the future, give or take the clock's tick).
  EXPECT_LT(Value(after, "process_start_time_seconds"), now + 2);
  EXPECT_GT(Value(after, "process_start_time_seconds"), now - 3600);
  regs.clear();
  EXPECT_EQ(reg.Expose(), "");
}

}  // namespace
}  // namespace berth::metrics
