#pragma once
// The health checks Berth runs, each a function returning OK or why it failed. They block (disk,
// network) and run on the scheduler's job threads (see checker.h), never on a request path.
// Thread-safe: each returned function may be called from any one thread at a time.

#include <chrono>
#include <functional>
#include <memory>
#include <string>

#include "common/error.h"
#include "health/config.h"

namespace berth::storage::driver {
class StorageDriver;
}

namespace berth::health {

// OK, or an error whose message says what failed.
using CheckFn = std::function<Status()>;

// The storage answers (and accepts writes unless `read_only`): for the filesystem driver `root`
// names the root directory, which must exist (the probe would otherwise recreate a directory that
// disappeared, e.g. an unmounted volume); then a small object is written and deleted through the
// driver ("/berth-health-<random>", outside Distribution's docker/ tree). In read-only mode the
// driver only lists the root.
CheckFn StorageCheck(std::shared_ptr<storage::driver::StorageDriver> driver, std::string root,
                     bool read_only);
// Fails while `path` exists (Distribution's file check: drop a file to drain a node).
CheckFn FileCheck(std::string path);
// Fails unless host:port accepts a TCP connection within `timeout`.
CheckFn TcpCheck(std::string addr, std::chrono::milliseconds timeout);
// Fails unless a HEAD of the http:// URI answers `c.statuscode` within the timeout.
CheckFn HttpCheck(HttpCheckConfig c);

}  // namespace berth::health
