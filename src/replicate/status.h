#pragma once
// What each replication rule has done, kept in `<directory>/<rule>/status.json` (replaced
// atomically after each run or queued item) so that `berth replication status` can read it
// whether or not `serve` runs, and a restart keeps the totals:
//
//   {"rule": "eu", "last_run": "2026-12-01T09:00:00Z", "last_result": "ok",
//    "images": 12, "bytes": 1048576, "deletes": 1, "failures": 0, "last_error": ""}
//
// Pending work and lag come from the rule's queue (`<directory>/<rule>/queue`, notify::Queue):
// pending items and the age of the oldest.
//
// Thread-safety: RuleStatusFile is guarded by its own mutex; ReadRuleStatus is a pure read.
// Errors: kIo naming the file.

#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include "common/error.h"
#include "common/time.h"

namespace berth::replicate {

struct RuleStatus {
  std::string rule;
  std::optional<SystemTime> last_run;  // the end of the last sync or queued item
  std::string last_result;             // "ok", or the error of the last run
  uint64_t images = 0;                 // images copied (not counting ones already there)
  uint64_t bytes = 0;                  // blob bytes uploaded
  uint64_t deletes = 0;                // deletes propagated
  uint64_t failures = 0;               // failed runs and failed attempts at queued items
  std::string last_error;
  // From the queue, when read:
  uint64_t pending = 0;
  std::optional<SystemTime> oldest_pending;
};

// The directories of one rule.
std::string RuleDirectory(const std::string& directory, const std::string& rule);
std::string QueueDirectory(const std::string& directory, const std::string& rule);

// The persisted status with the queue's pending count (zeroes for a rule that never ran).
Result<RuleStatus> ReadRuleStatus(const std::string& directory, const std::string& rule);

// Seconds the oldest pending item has waited at `now`; 0 when nothing is pending.
double LagSeconds(const RuleStatus& s, SystemTime now);

// The in-memory copy of one rule's status.json, written through on every Record.
class RuleStatusFile {
 public:
  // Loads what a previous process recorded.
  static Result<std::unique_ptr<RuleStatusFile>> Open(const std::string& directory,
                                                      const std::string& rule);
  // Adds a run's outcome (error "" for success) and persists it.
  void Record(SystemTime end, uint64_t images, uint64_t bytes, uint64_t deletes,
              const std::string& error);
  // Counts a failed attempt that will be retried, and persists it (at most once per retry wait).
  void Failure(const std::string& error);
  RuleStatus Get() const;

 private:
  explicit RuleStatusFile(std::string path) : path_(std::move(path)) {}
  void PersistLocked();
  const std::string path_;
  mutable std::mutex mu_;
  RuleStatus status_;  // guarded by mu_
};

}  // namespace berth::replicate
