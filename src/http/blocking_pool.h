#pragma once
// Internal to http/: the bounded pool of threads on which everything that may block runs (the
// handler, BufferBody's `then`, BodySink::Write/Finish, BodySource::Read for sources without a
// file descriptor), so that the event-loop threads only do socket I/O and one slow handler never
// stalls the other connections of its loop (Distribution's `maxthreads` idea).
//
// Threads are started on demand and live until Stop. Up to `eager` threads (a few per core) start
// as soon as a job finds no idle thread. Beyond that the pool grows only when threads are stuck:
// a monitor thread, awake only while jobs wait, starts another thread (up to `max_threads`) when
// fewer than `eager` threads are free of a job that has run longer than `stall`. So a burst of
// quick jobs is served by a few threads (a hundred threads sharing two cores only switch contexts),
// while jobs that block (a slow disk, a proxy waiting on its upstream) never hold back the others
// for longer than about `stall`. Jobs run in the order they were queued.
//
// Bound: a job submitted with `admission` is refused (Submit returns false) when `max_queue` jobs
// are already waiting beyond what idle threads and threads not yet started could take; the server then answers that request
// 503 without calling the handler. Jobs that continue a request already admitted (its body chunks,
// Finish, body reads) are never refused, since refusing them would lose an upload part-way; each
// connection has at most one job at a time, so the queue holds at most max_queue plus one job per
// request in flight.
//
// Thread-safety: Submit from any thread. Stop from one controlling thread, once no new work can
// arrive; it runs what is queued, then joins the threads.

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <deque>
#include <exception>
#include <functional>
#include <mutex>
#include <optional>
#include <thread>
#include <type_traits>
#include <utility>
#include <vector>

#include "http/io.h"

namespace berth::http {

class BlockingPool {
 public:
  using Job = std::move_only_function<void()>;
  using Clock = std::chrono::steady_clock;

  // `eager` 0 means four threads per usable core, at least 8; it is capped at `max_threads`.
  BlockingPool(size_t max_threads, size_t max_queue, size_t eager = 0,
               Clock::duration stall = std::chrono::milliseconds(5));
  ~BlockingPool();
  BlockingPool(const BlockingPool&) = delete;
  BlockingPool& operator=(const BlockingPool&) = delete;

  // Queues `job`. False (and `job` untouched) when the pool is stopped, or when `admission` is set
  // and the queue is full (see the bound above).
  [[nodiscard]] bool Submit(Job& job, bool admission);
  void Stop();
  size_t Threads();  // threads started so far (for tests and diagnostics)

 private:
  void Loop(size_t slot);
  void Monitor();
  void StartThread();  // Requires mu_.

  const size_t max_threads_;
  const size_t max_queue_;
  const size_t eager_;
  const Clock::duration stall_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::condition_variable monitor_cv_;
  std::deque<Job> queue_;             // Guarded by mu_.
  std::vector<std::thread> threads_;  // Guarded by mu_.
  // When each thread's current job started; Clock::time_point::max() while it has none.
  std::vector<Clock::time_point> busy_since_;  // Guarded by mu_.
  std::thread monitor_;                        // Guarded by mu_; started with the first need.
  bool monitor_waiting_ = false;               // Guarded by mu_: asleep until notified.
  size_t idle_ = 0;                            // Guarded by mu_.
  bool stopped_ = false;                       // Guarded by mu_.
};

// Runs `f` on `pool` and resumes the calling coroutine on its own executor with the result (an
// exception thrown by `f` is rethrown here). When the pool refuses the job: with `admission`,
// returns nullopt without running `f`; otherwise (the pool is stopped) runs `f` inline.
template <class F, class R = std::invoke_result_t<F&>>
Task<std::optional<R>> RunBlocking(BlockingPool& pool, F f, bool admission = false) {
  std::optional<R> result;
  std::exception_ptr error;
  bool refused = false;
  co_await asio::async_initiate<const asio::use_awaitable_t<Executor>&, void()>(
      [&](auto handler) {
        BlockingPool::Job job = [&, handler = std::move(handler)]() mutable {
          if (!refused) {
            try {
              result.emplace(f());
            } catch (...) {
              error = std::current_exception();
            }
          }
          auto ex = asio::get_associated_executor(handler);
          asio::post(ex, std::move(handler));
        };
        if (pool.Submit(job, admission)) return;
        // Not queued, and `job` still holds the completion: post it from here (never resume the
        // coroutine inside its own initiation), running `f` first unless admission was refused.
        refused = admission;
        job();
      },
      asio::use_awaitable_t<Executor>{});
  if (error) std::rethrow_exception(error);
  co_return result;
}

}  // namespace berth::http
