#pragma once
// A fault-injecting StorageDriver decorator, for tests of everything above the driver (stores,
// upload resumption, GC, the API's error paths).
//
//   FaultPlan plan;
//   auto driver = NewFaultyDriver(NewInMemoryDriver(), &plan);
//   plan.FailNth(FaultOp::kPutContent, 3);                       // the 3rd PutContent fails with
//   kIo plan.FailPath(FaultOp::kGetContent, "/_layers/", ErrorCode::kNotFound);  // every such call
//   plan.FailWritesAfter(1000, "/_uploads/");  // writers opened from now on hit "disk full" at
//   1000 B
//
// A rule matches a call when its op matches (kAny matches all) and its path_contains is a substring
// of the call's path (Move: of src or dst; Reader/FileWriter calls: of the path they were opened
// on). With nth == 0 every matching call fails; with nth == N only the Nth matching call after the
// rule was added does. A failing call does not reach the base driver. The first matching rule wins.
//
// Write budgets model a disk filling mid-write: a writer opened while a budget rule matches its
// path passes its first `bytes` bytes (counted from this writer's first Write, not the object's
// size) to the base writer and then fails with kIo "No space left on device"; the Write that
// crosses the limit writes its leading part first, as write(2) does. Every later Write on that
// writer fails too.
//
// Walk is the generic List+Stat walk over the decorator (WalkByListing), so List/Stat rules apply
// inside it.
//
// Built on DriverWrapper (driver.h): it overrides only the calls it can fail. Invalid paths are
// refused by StorageDriver before the decorator sees them, so they are neither counted nor matched.
//
// Thread-safe: the plan may be changed while the driver is in use. The plan must outlive the driver
// and every Reader/FileWriter opened from it.

#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "storage/driver/driver.h"

namespace berth::storage::driver {

enum class FaultOp : uint8_t {
  kAny,
  kGetContent,
  kPutContent,
  kNewReader,
  kNewWriter,
  kStat,
  kList,
  kMove,
  kDelete,
  kWalk,
  kRedirectURL,
  kRead,    // Reader::Read
  kWrite,   // FileWriter::Write
  kCommit,  // FileWriter::Commit
  kCancel,  // FileWriter::Cancel
};

struct FaultRule {
  FaultOp op = FaultOp::kAny;
  std::string path_contains;  // "" matches every path
  uint64_t nth = 0;           // 0: every matching call; N: only the Nth matching call
  ErrorCode code = ErrorCode::kIo;
  std::string message = "injected fault";
};

class FaultPlan {
 public:
  FaultPlan() = default;
  FaultPlan(const FaultPlan&) = delete;
  FaultPlan& operator=(const FaultPlan&) = delete;

  void Add(FaultRule rule);
  void FailNth(FaultOp op, uint64_t nth, ErrorCode code = ErrorCode::kIo);
  void FailPath(FaultOp op, std::string path_contains, ErrorCode code = ErrorCode::kIo);
  void FailWritesAfter(uint64_t bytes, std::string path_contains = {});
  // Drops every rule and budget; call counts stay.
  void Clear();
  // Calls of `op` seen by the decorator (failed or not); kAny counts all.
  uint64_t Calls(FaultOp op) const;

  // For the decorator: records the call and returns the injected error, if any.
  std::optional<Error> Check(FaultOp op, std::string_view path, std::string_view path2 = {});
  // For the decorator: the byte budget for a writer opened now on `path`, if a budget rule matches.
  std::optional<uint64_t> WriteBudget(std::string_view path) const;

 private:
  struct ActiveRule {
    FaultRule rule;
    uint64_t matched = 0;
  };
  struct Budget {
    uint64_t bytes;
    std::string path_contains;
  };

  mutable std::mutex mu_;
  std::vector<ActiveRule> rules_;  // Guarded by mu_.
  std::vector<Budget> budgets_;    // Guarded by mu_.
  std::vector<uint64_t> calls_ = std::vector<uint64_t>(static_cast<size_t>(FaultOp::kCancel) + 1);
};

// Wraps `base`; see the top of this file. `plan` is not owned.
StorageDriverPtr NewFaultyDriver(StorageDriverPtr base, FaultPlan* plan);

}  // namespace berth::storage::driver
