#pragma once
// The `health` section of Distribution's config.yml, decoded from Config::raw_sections["health"]:
//
//   health:
//     storagedriver: {enabled: true, interval: 10s, threshold: 3}
//     file:  [{file: /etc/registry/drain, interval: 10s}]
//     http:  [{uri: http://db:8080/ping, headers: {X-A: [b]}, statuscode: 200, timeout: 3s,
//              interval: 10s, threshold: 3}]
//     tcp:   [{addr: redis:6379, timeout: 3s, interval: 10s, threshold: 3}]
//
// Meaning (Distribution's): a check runs every `interval` (default 10 s); it counts as failing once
// it has failed `threshold` times in a row (0 or absent: at the first failure); one success clears
// it. The storagedriver check probes the storage; a file check fails while the file EXISTS (drop a
// file to take a node out of rotation); an http check fails unless a HEAD of `uri` answers
// `statuscode` (default 200) within `timeout`; a tcp check fails unless `addr` accepts a connection
// within `timeout`. Berth's default timeout is 3 s (Distribution's is none: a hung peer would
// hang the check forever).

#include <chrono>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "common/error.h"

namespace berth::health {

struct CheckTiming {
  std::chrono::milliseconds interval{10'000};
  uint32_t threshold = 0;
  std::chrono::milliseconds timeout{3'000};  // http and tcp only
};

struct StorageDriverCheckConfig {
  bool enabled = false;
  CheckTiming timing;
};

struct FileCheckConfig {
  std::string file;
  CheckTiming timing;
};

struct HttpCheckConfig {
  std::string uri;  // http://host[:port]/path
  std::vector<std::pair<std::string, std::string>> headers;
  int statuscode = 200;
  CheckTiming timing;
};

struct TcpCheckConfig {
  std::string addr;  // host:port
  CheckTiming timing;
};

struct HealthConfig {
  StorageDriverCheckConfig storagedriver;
  std::vector<FileCheckConfig> file;
  std::vector<HttpCheckConfig> http;
  std::vector<TcpCheckConfig> tcp;
};

// `yaml` is the section's text ("" when absent: the defaults). Errors: kInvalidArgument naming the
// key's dotted path ("health.http[0].uri: ..."). Unknown keys are warned about by config::Load.
Result<HealthConfig> ParseHealthConfig(const std::string& yaml);

}  // namespace berth::health
