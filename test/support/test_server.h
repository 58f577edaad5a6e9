#pragma once
// An in-process Berth for tests: the real HTTP server and API on 127.0.0.1:0 over a temp filesystem
// directory (default) or the in-memory driver. Removes its directory on destruction.
//
//   auto srv = berth::testing::TestServer::Start();            // delete enabled, temp dir
//   auto srv = berth::testing::TestServer::Start({.yaml = "storage:\n  delete:\n    enabled:
//   false\n"}); srv->port(); srv->root();   // root(): the filesystem rootdirectory ("" for
//   inmemory)

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "cli/app.h"

namespace berth::testing {

struct TestServerOptions {
  // Distribution-format YAML merged over the defaults (version 0.1, filesystem storage in a fresh
  // temp dir, storage.delete.enabled true, http.addr 127.0.0.1:0, access log off). Keys given here
  // win.
  std::string yaml;
  bool inmemory = false;
  // Reuse an existing root directory (restart tests); not removed on destruction.
  std::string root;
  // Config warnings the test expects (exact text). Any other warning fails the start, so a misspelt
  // key cannot silently run a test with defaults.
  std::vector<std::string> allowed_warnings;
  // Injected driver and clock (e.g. storage::driver's fault-injecting decorator); see cli::AppDeps.
  cli::AppDeps deps;
};

class TestServer {
 public:
  static std::unique_ptr<TestServer> Start(const TestServerOptions& options = {});
  virtual ~TestServer() = default;
  virtual uint16_t port() const = 0;
  virtual const std::string& root() const = 0;
  // The debug server's port (http.debug.addr: 127.0.0.1:0), 0 without one.
  virtual uint16_t debug_port() const = 0;
  // "127.0.0.1:PORT"
  std::string hostport() const { return "127.0.0.1:" + std::to_string(port()); }
  // Graceful stop (drain), as SIGTERM does. Destruction also stops.
  virtual void Stop() = 0;
};

}  // namespace berth::testing
