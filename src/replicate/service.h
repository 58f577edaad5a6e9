#pragma once
// Replication inside `berth serve`: the rules of `berth.replication` (config.h), each with its own
// client for the other registry, bandwidth limit and status (status.h).
//
// On push (rules with trigger onpush, direction push): the service is an API event sink
// (api/events.h). Emit never waits: it matches the event against the rules (repository glob, tag
// regex; manifests pushed by digest only when they name a subject, i.e. referrers, since children
// of an index travel with it) and copies a small work item into a bounded in-memory list. A writer
// thread appends the items to each rule's durable queue (notify::Queue, fdatasync per batch, in
// `<directory>/<rule>/queue`), so a restart or kill -9 after that loses no pending replication.
// One worker per rule takes the oldest item, copies the image (only what the destination lacks,
// replicate/copier.h) or propagates the delete (rules with `deletes`), and acknowledges it. While
// the destination is down (client::IsUpstreamDown) the item stays at the front and the worker
// retries after 1 s, doubling to `maxbackoff`; order is kept per rule, so a destination down for
// an hour catches up in order when it returns. Other errors (refused, invalid) are recorded as the
// rule's failure and the item is dropped; the next scheduled sync repairs what it can.
//
// On schedule (trigger schedule, either direction): a scheduler job per rule runs SyncRule, a full
// sync of the rule's selection (concurrency images at once), at `interval`.
//
// Thread-safety: Emit, Flush, SyncRule and Statuses are thread-safe; Stop once, from the owner,
// after the HTTP server has drained (it persists what is still in memory).

#include <atomic>
#include <condition_variable>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "api/events.h"
#include "common/error.h"
#include "common/time.h"
#include "replicate/config.h"
#include "replicate/status.h"
#include "storage/registry.h"

namespace berth::replicate {

class Service : public api::EventSink {
 public:
  // Opens every rule's status and queue (recovering what a previous process left) and starts the
  // threads. Errors: kIo naming the directory; kInvalidArgument naming the rule's key.
  static Result<std::shared_ptr<Service>> Start(ReplicationConfig cfg, storage::NamespacePtr ns,
                                                const Clock& clock = SystemClock());
  ~Service() override;
  void Emit(const api::Event& event) noexcept override;
  // Waits until every item emitted before the call is in its queue (tests).
  void Flush();
  // A full sync of rule `index` (the scheduled job). kCancelled after Stop.
  Status SyncRule(size_t index);
  // Persists the items still in memory, then stops the threads (a copy in flight is cancelled at
  // its next chunk and retried after the restart).
  void Stop();
  // Every rule's status, with pending items and lag from its queue.
  std::vector<RuleStatus> Statuses() const;
  const ReplicationConfig& config() const { return cfg_; }

 private:
  struct RuleRt;
  struct Item {
    size_t rule;
    std::string payload;
  };
  Service(ReplicationConfig cfg, storage::NamespacePtr ns, const Clock& clock);
  void WriterLoop();
  void WorkerLoop(RuleRt& r);
  // Applies one queued item; an error that means "down" leaves it queued.
  Status Apply(RuleRt& r, const std::string& payload, uint64_t& images, uint64_t& bytes,
               uint64_t& deletes);

  const ReplicationConfig cfg_;
  storage::NamespacePtr ns_;
  const Clock& clock_;
  std::vector<std::unique_ptr<RuleRt>> rules_;  // fixed after Start
  std::atomic<bool> stopping_{false};
  mutable std::mutex mu_;
  std::condition_variable cv_, flushed_cv_;
  std::deque<Item> memory_;              // guarded by mu_
  uint64_t emitted_ = 0, written_ = 0;   // guarded by mu_
  uint64_t memory_dropped_ = 0;          // guarded by mu_
  bool stop_ = false;                    // guarded by mu_
  std::thread writer_;
};

}  // namespace berth::replicate
