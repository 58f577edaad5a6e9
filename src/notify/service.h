#pragma once
// Notifications: the EventSink the API emits to (api/events.h), fanning out to one durable queue
// and delivery worker per enabled endpoint (queue.h, endpoint.h).
//
// Emit runs on the request's thread and never waits for disk or network: it filters out actions
// notifications do not carry (login, denied), copies the event into a bounded in-memory list and
// returns. A writer thread turns each event into its Distribution JSON (one id per event, the same
// for every endpoint and every redelivery), appends it to the queue of every endpoint that does
// not ignore its action or media type, fsyncs once per batch and wakes the workers. It also takes
// in replayed dead letters (deadletter.h's inbox).
//
// The window: an event is on disk a few milliseconds after the response that caused it (one batch
// write + fdatasync). A crash inside that window loses the events in it; kill -9 after it loses
// nothing. When the in-memory list is full (the disk stalls), new events are dropped and counted
// (memory_dropped) rather than slowing requests.
//
// Thread-safety: Emit and Stats are thread-safe; Stop once, from the owner.

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "api/events.h"
#include "common/time.h"
#include "notify/config.h"
#include "notify/endpoint.h"
#include "notify/envelope.h"
#include "notify/post.h"

namespace berth::notify {

struct ServiceOptions {
  const Clock* clock = &SystemClock();
  Source source;  // source.addr / instanceID of every event
  // Makes each endpoint's poster (tests inject failing or recording ones).
  std::function<std::unique_ptr<Poster>()> make_poster = NewHttpPoster;
  size_t memory_limit = 10000;  // events waiting for the writer
};

struct ServiceStats {
  std::vector<EndpointStats> endpoints;
  uint64_t memory_dropped = 0;  // events lost because the in-memory list was full
  uint64_t persisted = 0;       // events written (per event, not per endpoint)
};

class NotificationService : public api::EventSink {
 public:
  // Opens (and recovers) every enabled endpoint's queue and starts the threads. Errors: kIo from
  // the queue directories.
  static Result<std::shared_ptr<NotificationService>> Start(const NotificationsConfig& cfg,
                                                            ServiceOptions options);
  ~NotificationService() override;
  void Emit(const api::Event& event) noexcept override;
  // Waits until every event emitted before the call is on disk (tests, shutdown).
  void Flush();
  // Persists what is in memory, then stops the writer and the workers.
  void Stop();
  ServiceStats Stats() const;

 private:
  struct Pending {
    api::Event event;  // event.manifest points into `manifest`
    std::string manifest;
    std::string id;
  };
  NotificationService(NotificationsConfig cfg, ServiceOptions options)
      : cfg_(std::move(cfg)), opt_(std::move(options)) {}
  void WriterLoop();
  void Persist(std::deque<Pending>& batch);
  void TakeInbox();

  const NotificationsConfig cfg_;
  const ServiceOptions opt_;
  std::vector<std::unique_ptr<Endpoint>> endpoints_;  // enabled ones; fixed after Start
  mutable std::mutex mu_;
  std::condition_variable cv_, flushed_cv_;
  std::deque<Pending> memory_;                               // guarded by mu_
  uint64_t emitted_ = 0, written_ = 0, memory_dropped_ = 0;  // guarded by mu_
  bool stop_ = false;                                        // guarded by mu_
  std::thread writer_;
};

}  // namespace berth::notify
