#pragma once
// Assembles a running registry from a Config: driver, the storage stack (storage::NewRegistry),
// Api, HTTP server, access log and the background jobs (upload purging, stale storage temporaries,
// listing reconciliation) on one jobs::Scheduler. Used by `berth serve` and by the in-process test
// server. Thread-safe for the controlling thread's calls (Start, then Wait/Shutdown).

#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "common/error.h"
#include "common/time.h"
#include "config/config.h"

namespace berth::api {
struct ApiOptions;
}  // namespace berth::api

namespace berth::storage {
class Namespace;
namespace driver {
class StorageDriver;
}
}  // namespace berth::storage
namespace berth::jobs {
class Scheduler;
}
namespace berth::metrics {
class Registry;
}

namespace berth::cli {

// What tests (and embedders) may inject instead of what the config names.
struct AppDeps {
  // Used instead of the driver `storage` names (e.g. a fault-injecting decorator over in-memory).
  std::shared_ptr<storage::driver::StorageDriver> driver;
  // Time for everything time-dependent (caches, jobs); must outlive the App. nullptr: the system
  // clock.
  const Clock* clock = nullptr;
  // Wraps the assembled storage stack before the API gets it (e.g. a counting decorator in tests).
  std::function<std::shared_ptr<storage::Namespace>(std::shared_ptr<storage::Namespace>)>
      decorate_storage;
  // Applied to the API's options after the config (tests: settings without a config key yet).
  std::function<void(api::ApiOptions&)> adjust_api;
};

class App {
 public:
  // Builds everything but does not listen yet. Errors: kIo (storage root), kInvalidArgument
  // (config).
  static Result<std::unique_ptr<App>> Create(const config::Config& cfg, AppDeps deps = {});
  ~App();

  Status Start();
  uint16_t port() const;
  // The background jobs; started by Start, stopped by Shutdown. Add jobs here, or RunNow one.
  jobs::Scheduler& scheduler();
  // The metrics registry (metrics/registry.h): modules register their metrics here. Exposed on the
  // debug server when http.debug.prometheus.enabled.
  metrics::Registry& metrics();
  // The debug server's port (http.debug.addr), 0 when there is none. Valid after Start.
  uint16_t debug_port() const;
  // Blocks until SIGINT/SIGTERM, then drains (http.draintimeout) and stops. Returns the signal.
  int RunUntilSignal();
  void Shutdown();
  const std::string& root_directory() const;

 private:
  App() = default;
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// What serving `cfg` needs besides the config itself, checked without serving (`berth config
// check` and App::Create): the storage root is a directory (or absent), TLS and authentication
// files load. Errors: kInvalidArgument naming the key and the file.
Status CheckResources(const config::Config& cfg);

// The one start-up line saying what is in force: "listening on ADDR: tls off, auth htpasswd,
// delete on, storage filesystem at /var/lib/registry, read-only off".
std::string Summary(const config::Config& cfg, std::string_view listening);

// `berth ...` with argv; returns the exit code.
int Main(int argc, char** argv);

}  // namespace berth::cli
