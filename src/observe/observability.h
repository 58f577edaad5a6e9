#pragma once
// Health checks, metrics and the debug server, assembled from the config for cli::App (one object,
// so the app calls a few functions of this module and nothing else):
//   - health.* checks (health/) on the app's scheduler; GET /v2/ answers 503 while one fails
//     (Unhealthy(), given to the API);
//   - the metrics registry, always present so modules can register (App::metrics()); the
//   per-request
//     recording (HTTP and storage driver) is installed only when http.debug.prometheus.enabled and
//     http.debug.addr are set, since nothing could read it otherwise;
//   - the debug server on http.debug.addr (debug_server.h).
// Thread-safety: Create, Attach, Start and Shutdown from the controlling thread; the functions
// returned by the Wrap* and Unhealthy methods are thread-safe.

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "common/error.h"
#include "config/config.h"
#include "health/checker.h"
#include "http/message.h"
#include "metrics/registry.h"
#include "storage/driver/driver.h"
#include "storage/factory.h"
#include "storage/registry.h"

namespace berth::jobs {
class Scheduler;
}

namespace berth::observe {

class DebugServer;
class RequestMetrics;
class UploadCount;

class Observability {
 public:
  // Errors: kInvalidArgument naming the key (health.*, http.debug.addr).
  static Result<std::unique_ptr<Observability>> Create(const config::Config& cfg);
  ~Observability();

  metrics::Registry& metrics() { return *metrics_; }
  health::Checker& checker() { return checker_; }
  bool recording() const { return recording_; }

  // The driver with call metrics when recording, else `driver` itself.
  storage::driver::StorageDriverPtr DecorateDriver(storage::driver::StorageDriverPtr driver);
  // When recording: the storage stack's caches count hits and misses
  // (berth_cache_requests_total{cache="manifest"|"catalog"|"tags"}).
  void ConfigureStorage(storage::StackOptions& options);
  // When recording: `registry` with the open-upload-sessions gauge (upload_gauge.h), counted
  // through `driver` (undecorated), else `registry` itself.
  storage::NamespacePtr DecorateStorage(storage::NamespacePtr registry,
                                        storage::driver::StorageDriverPtr driver);
  // For ApiOptions::unhealthy: the failing checks as JSON, "" when healthy.
  std::function<std::string()> Unhealthy();
  // For ApiOptions::on_auth_failure: counts berth_auth_failures_total{reason} (null when not
  // recording).
  std::function<void(std::string_view)> AuthFailureHook();
  // The server's handler and access log with request metrics added (unchanged when not recording;
  // `log` may be null).
  http::Handler WrapHandler(http::Handler handler);
  std::function<void(const http::AccessLogEntry&)> WrapAccessLog(
      std::function<void(const http::AccessLogEntry&)> log);
  // Adds the configured checks over `driver` (undecorated: probes do not count as traffic) and
  // their jobs, and the start-up count of upload sessions. `root`: the filesystem root directory,
  // or "".
  Status Attach(jobs::Scheduler& scheduler, storage::driver::StorageDriverPtr driver,
                const std::string& root, bool read_only);
  // Starts the debug server when http.debug.addr is set. Errors: kIo (address in use...).
  Status Start();
  uint16_t debug_port() const;
  void Shutdown();

 private:
  Observability() = default;
  config::HttpConfig http_;
  health::HealthConfig health_;
  bool recording_ = false;
  std::string driver_name_, root_;
  SystemTime started_at_;
  std::unique_ptr<metrics::Registry> metrics_;
  health::Checker checker_;
  std::vector<metrics::Registration> process_;
  std::shared_ptr<RequestMetrics> requests_;
  std::shared_ptr<UploadCount> uploads_;  // when DecorateStorage installed the gauge
  metrics::Registration uploads_gauge_;
  std::unique_ptr<DebugServer> debug_;
};

}  // namespace berth::observe
