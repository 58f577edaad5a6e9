#pragma once
// Internal to http/: the state every worker and connection of one Server shares.
//
// Shape: `threads` workers, each an io_context run by exactly one thread. A connection lives on one
// worker for its whole life, so its coroutine and its watchdog never race and need no strand or
// lock. The acceptor lives on worker 0 and deals sockets round-robin.
//
// Thread-safety: Core's atomics and its TLS pointer are shared; a Worker's connection list is
// touched only on that worker's thread.

#include <algorithm>
#include <atomic>
#include <boost/asio/executor_work_guard.hpp>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

#include "http/blocking_pool.h"
#include "http/io.h"
#include "http/server.h"

namespace berth::http {

// Cores this process may run on (taskset/cgroup cpusets), not the machine's: two event loops
// time-sharing one core cost latency for nothing.
int UsableCores();

class ConnectionBase {
 public:
  virtual ~ConnectionBase() = default;
  // Both run on the connection's worker thread.
  virtual void Drain() = 0;       // close if no request is in flight
  virtual void ForceClose() = 0;  // close now

  ConnectionBase* prev_ = nullptr;
  ConnectionBase* next_ = nullptr;
  bool linked_ = false;
};

struct Worker {
  // Intrusive list of this worker's connections, touched only on its thread. Declared first so it
  // outlives `ioc`, whose destruction may destroy connections that unlink themselves.
  ConnectionBase* connections = nullptr;
  asio::io_context ioc{1};  // hint: run by exactly one thread
  std::optional<asio::executor_work_guard<Executor>> guard;
  std::thread thread;

  void Link(ConnectionBase* c) {
    c->next_ = connections;
    c->prev_ = nullptr;
    if (connections) connections->prev_ = c;
    connections = c;
    c->linked_ = true;
  }
  void Unlink(ConnectionBase* c) {
    if (!c->linked_) return;
    if (c->prev_)
      c->prev_->next_ = c->next_;
    else
      connections = c->next_;
    if (c->next_) c->next_->prev_ = c->prev_;
    c->linked_ = false;
  }
  template <class F>
  void ForEach(F f) {
    for (ConnectionBase* c = connections; c;) {
      ConnectionBase* next = c->next_;
      f(c);
      c = next;
    }
  }
};

struct Core {
  Core(ServerOptions o, Handler h) : options(std::move(o)), handler(std::move(h)) {
    large_buffers_left.store(
        static_cast<int64_t>(std::min<size_t>(options.large_buffer_budget, INT64_MAX)));
  }

  ServerOptions options;
  Handler handler;
  std::vector<std::unique_ptr<Worker>> workers;
  // Where handlers and other blocking calls run (see server.h). Created by Start.
  std::unique_ptr<BlockingPool> pool;
  // Set by Start when serving TLS; never cleared.
  std::atomic<bool> tls_enabled{false};
  // Serialises reloads so that the last one to finish is the last one started.
  std::mutex reload_mu;

  // The context new connections handshake with. Each connection holds its own reference, so a
  // reload swaps this pointer and leaves established sessions untouched.
  std::shared_ptr<asio::ssl::context> CurrentTls() {
    std::lock_guard lock(tls_mu);
    return tls;
  }
  void SetTls(std::shared_ptr<asio::ssl::context> ctx) {
    std::lock_guard lock(tls_mu);
    tls = std::move(ctx);
  }
  std::atomic<bool> stopping{false};
  std::atomic<int64_t> live{0};
  // What is left of options.large_buffer_budget; see BufferLease.
  std::atomic<int64_t> large_buffers_left{0};
  std::mutex mu;
  std::condition_variable cv;

  void ConnectionEnded() {
    if (live.fetch_sub(1, std::memory_order_acq_rel) == 1 && stopping.load()) {
      std::lock_guard lock(mu);
      cv.notify_all();
    }
  }

 private:
  std::mutex tls_mu;
  std::shared_ptr<asio::ssl::context> tls;  // Guarded by tls_mu.
};

// A claim on the large-buffer budget for one transfer: large_buffer bytes while the budget lasts,
// else small_buffer (not counted). Never more than `need`. Returns its claim when destroyed.
class BufferLease {
 public:
  BufferLease(Core& core, uint64_t need);
  ~BufferLease() {
    if (pool_) pool_->fetch_add(static_cast<int64_t>(size_), std::memory_order_relaxed);
  }
  BufferLease(const BufferLease&) = delete;
  BufferLease& operator=(const BufferLease&) = delete;
  size_t size() const { return size_; }

 private:
  std::atomic<int64_t>* pool_ = nullptr;
  size_t size_ = 0;
};

}  // namespace berth::http
