#pragma once
// Assembles a running registry from a Config: driver, Registry, Api, HTTP server, access log and the
// upload-purging job. Used by `berth serve` and by the in-process test server. Thread-safe for the
// controlling thread's calls (Start, then Wait/Shutdown).

#include <functional>
#include <memory>
#include <string>

#include "common/error.h"
#include "common/time.h"
#include "config/config.h"

namespace berth::api {
struct ApiOptions;
}  // namespace berth::api

namespace berth::storage::driver {
class StorageDriver;
}

namespace berth::cli {

// What tests (and embedders) may inject instead of what the config names.
struct AppDeps {
  // Used instead of the driver `storage` names (e.g. a fault-injecting decorator over in-memory).
  std::shared_ptr<storage::driver::StorageDriver> driver;
  // Time for everything time-dependent (caches, jobs); must outlive the App. nullptr: the system clock.
  const Clock* clock = nullptr;
  // Applied to the API's options after the config (tests: settings without a config key yet).
  std::function<void(api::ApiOptions&)> adjust_api;
};

class App {
 public:
  // Builds everything but does not listen yet. Errors: kIo (storage root), kInvalidArgument (config).
  static Result<std::unique_ptr<App>> Create(const config::Config& cfg, AppDeps deps = {});
  ~App();

  Status Start();
  uint16_t port() const;
  // Blocks until SIGINT/SIGTERM, then drains (http.draintimeout) and stops. Returns the signal.
  int RunUntilSignal();
  void Shutdown();
  const std::string& root_directory() const;

 private:
  App() = default;
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// `berth ...` with argv; returns the exit code.
int Main(int argc, char** argv);

}  // namespace berth::cli
