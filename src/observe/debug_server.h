#pragma once
// The debug server: a second HTTP server on http.debug.addr (never the public address) serving
//   GET <http.debug.prometheus.path, default /metrics>  the metrics (when prometheus.enabled)
//   GET /debug/health   {"<check>":"<why it fails>",...}; 200 with {} when healthy, else 503
//                       (Distribution's format)
//   GET /livez          200 while the process serves
//   GET /readyz         200 once the storage check has passed and while healthy, else 503
//   GET /debug/status   200 {"version","started_at","uptime_seconds","healthy","checks":[{"name",
//                       "ok","message"}],"storage":{"driver","root","used_bytes","free_bytes"}}
//                       (for `berth status`; the byte counts are statvfs of the filesystem root and
//                       are left out for other drivers)
// Anything else is 404; methods other than GET/HEAD are 405. Thread-safe as http::Server.

#include <chrono>
#include <memory>
#include <string>

#include "common/error.h"
#include "common/noncopyable.h"
#include "common/time.h"

namespace berth::metrics {
class Registry;
}
namespace berth::health {
class Checker;
}

namespace berth::observe {

struct DebugServerOptions {
  std::string host = "127.0.0.1";
  uint16_t port = 0;
  bool prometheus = false;
  std::string prometheus_path = "/metrics";
  const metrics::Registry* metrics = nullptr;  // must outlive the server
  const health::Checker* checker = nullptr;    // must outlive the server
  std::string driver;                          // storage driver name
  std::string root;                            // filesystem root directory, or ""
  SystemTime started_at;
};

class DebugServer : NonCopyable {
 public:
  explicit DebugServer(DebugServerOptions options);
  ~DebugServer();
  // Errors: kIo (address in use, bad address).
  Status Start();
  uint16_t port() const;
  void Shutdown(std::chrono::milliseconds drain);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace berth::observe
