#pragma once
// Open upload sessions, as the gauge berth_uploads_open: a decorator of the Uploads service that
// follows sessions as this process starts and ends them, and a count of the sessions in storage
// that makes the gauge right after a restart (sessions survive restarts; registry.h).
//
//   auto count = std::make_shared<observe::UploadCount>();
//   ns = observe::WithUploadCount(std::move(ns), count, driver);  // storage stack
//   scheduler.Add({.name = "upload-count"}, [count, driver](const jobs::JobContext& ctx) {
//     count->Recount(*driver, [&] { return ctx.StopRequested(); });
//   });
//
// The count walks `_uploads` of every repository through the driver and the layout's path mapper
// (storage/paths.h), in the background: it may take long on a large store, and sessions start and
// end meanwhile. Those are journalled while it runs, so its result is exact: the sessions it saw
// or that started during it, less those that ended during it. Until the first count has finished
// the gauge is not exposed (absent, not a wrong number). Each non-dry-run Purge counts again
// afterwards (it runs on the purge job's thread), so drift from sessions that other processes
// sharing the storage start or end is corrected at every purge.
//
// A session ends when its writer commits (whatever the outcome, if the session is then gone: a
// digest mismatch cancels it), when it is cancelled, or when it is purged.
//
// Thread-safety: thread-safe.

#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_set>

#include "metrics/registry.h"
#include "storage/driver/driver.h"
#include "storage/registry.h"

namespace berth::observe {

class UploadCount {
 public:
  // Brackets one call that may start or end a session: Begin before the call, then exactly one of
  // Started, Ended or Unchanged with its ticket (so that a count finishing while the call runs
  // neither misses nor double-counts it). Sessions are named by their directory
  // (storage::paths::UploadDir).
  struct Ticket {
    uint64_t epoch = 0;
  };
  Ticket Begin();
  void Started(const std::string& dir, Ticket t) { Finish(&dir, t, +1); }
  void Ended(const std::string& dir, Ticket t) { Finish(&dir, t, -1); }
  void Unchanged(Ticket t) { Finish(nullptr, t, 0); }

  // Counts the sessions in storage (see the top). `stop` is polled; a stopped or failed walk
  // changes nothing. Errors: the driver's (kIo).
  Status Recount(storage::driver::StorageDriver& driver, const std::function<bool()>& stop = {});
  // The number of open sessions; nullopt until a count has finished.
  std::optional<int64_t> Value() const;

 private:
  void Finish(const std::string* dir, Ticket t, int delta);

  std::mutex recount_mu_;  // one count at a time
  mutable std::mutex mu_;
  int64_t open_ = 0;                         // Guarded by mu_.
  bool counted_ = false;                     // Guarded by mu_.
  uint64_t epoch_ = 0;                       // Guarded by mu_: counts finished.
  uint64_t in_flight_ = 0;                   // Guarded by mu_: calls between Begin and Finish.
  bool journalling_ = false;                 // Guarded by mu_.
  std::unordered_set<std::string> started_;  // Guarded by mu_: during a count.
  std::unordered_set<std::string> ended_;    // Guarded by mu_: during a count.
  // The last count's sessions, kept while calls that were running when it finished are still
  // running (`snapshot_users_` of them). Guarded by mu_.
  std::shared_ptr<const std::unordered_set<std::string>> snapshot_;
  uint64_t snapshot_users_ = 0;
};

// Registers berth_uploads_open, read from `count` at scrape time.
[[nodiscard]] metrics::Registration RegisterUploadGauge(metrics::Registry& registry,
                                                        std::shared_ptr<UploadCount> count);

// Wraps `inner`'s Uploads() to keep `count`; everything else passes through. `driver` (the
// storage's, undecorated) is walked by the count after each Purge.
storage::NamespacePtr WithUploadCount(storage::NamespacePtr inner,
                                      std::shared_ptr<UploadCount> count,
                                      storage::driver::StorageDriverPtr driver);

}  // namespace berth::observe
