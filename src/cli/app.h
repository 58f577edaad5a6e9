#pragma once
// Assembles a running registry from a Config: driver, Registry, Api, HTTP server, access log and the
// upload-purging job. Used by `berth serve` and by the in-process test server. Thread-safe for the
// controlling thread's calls (Start, then Wait/Shutdown).

#include <memory>
#include <string>

#include "common/error.h"
#include "config/config.h"

namespace berth::cli {

class App {
 public:
  // Builds everything but does not listen yet. Errors: kIo (storage root), kInvalidArgument (config).
  static Result<std::unique_ptr<App>> Create(const config::Config& cfg);
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
