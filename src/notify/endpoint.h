#pragma once
// The delivery worker of one endpoint: a thread that takes the oldest pending record of the
// endpoint's Queue, POSTs it (Distribution or CloudEvents body, configured headers, the event id
// header and, with a secret, the signature header; envelope.h), and acknowledges it on a 2xx or
// 3xx answer (as registry:2 does). On failure it waits and tries the same record again, so order
// holds per endpoint: the first `threshold` consecutive failures wait `backoff` each, later ones
// double the wait up to `maxbackoff`. A record enqueued longer ago than `deadletterafter` that
// still fails is appended to the dead-letter file and acknowledged, and delivery moves on.
//
// Thread-safety: Wake, Stats and Stop may be called from any thread.

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "common/time.h"
#include "notify/config.h"
#include "notify/post.h"
#include "notify/queue.h"

namespace berth::notify {

struct EndpointStats {
  std::string name;
  QueueStats queue;
  uint64_t deliveries_total = 0;  // acknowledged by the receiver
  uint64_t failures_total = 0;    // failed attempts
  uint64_t dead_lettered_total = 0;
  std::string last_error;
};

class Endpoint {
 public:
  Endpoint(EndpointConfig cfg, std::unique_ptr<Queue> queue, std::unique_ptr<Poster> poster,
           const Clock& clock);
  ~Endpoint();  // stops
  void Start();
  // New records were appended.
  void Wake();
  // Ends the thread; an attempt in flight finishes first (bounded by the endpoint's timeout).
  void Stop();
  EndpointStats Stats() const;
  Queue& queue() { return *queue_; }
  const EndpointConfig& config() const { return cfg_; }

 private:
  void Run();
  // One attempt at the front record: true when it is done (delivered or dead-lettered).
  bool Attempt(const QueueRecord& rec, uint32_t& failures);
  // False (and the record stays queued) when the dead-letter file cannot be written.
  bool DeadLetter(const QueueRecord& rec, uint32_t attempts, const std::string& why);
  std::chrono::milliseconds Delay(uint32_t failures) const;

  const EndpointConfig cfg_;
  std::unique_ptr<Queue> queue_;
  std::unique_ptr<Poster> poster_;
  const Clock& clock_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;       // guarded by mu_
  bool woken_ = false;      // guarded by mu_
  std::string last_error_;  // guarded by mu_
  std::atomic<uint64_t> deliveries_{0}, failures_{0}, dead_lettered_{0};
  std::thread thread_;
};

}  // namespace berth::notify
