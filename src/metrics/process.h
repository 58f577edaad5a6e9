#pragma once
// The standard process metrics of Prometheus client libraries, read from /proc/self at scrape time:
//   process_cpu_seconds_total        user + system CPU time
//   process_resident_memory_bytes    resident set size
//   process_virtual_memory_bytes     virtual memory size
//   process_open_fds                 open file descriptors
//   process_max_fds                  the soft RLIMIT_NOFILE
//   process_start_time_seconds       start time since the Unix epoch
// Linux only; a value that cannot be read is left out of the scrape. Thread-safe.

#include <vector>

#include "metrics/registry.h"

namespace berth::metrics {

// Registers the callbacks; they stay registered as long as the returned registrations.
[[nodiscard]] std::vector<Registration> AddProcessMetrics(Registry& registry);

}  // namespace berth::metrics
