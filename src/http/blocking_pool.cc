#include "http/blocking_pool.h"

#include <algorithm>

#include "http/core.h"

namespace berth::http {
namespace {

size_t DefaultEager() { return std::max<size_t>(8, 4 * static_cast<size_t>(UsableCores())); }

}  // namespace

BlockingPool::BlockingPool(size_t max_threads, size_t max_queue, size_t eager,
                           Clock::duration stall)
    : max_threads_(std::max<size_t>(max_threads, 1)),
      max_queue_(max_queue),
      eager_(std::clamp<size_t>(eager ? eager : DefaultEager(), 1, max_threads_)),
      stall_(stall) {}

BlockingPool::~BlockingPool() { Stop(); }

void BlockingPool::StartThread() {
  size_t slot = threads_.size();
  busy_since_.push_back(Clock::time_point::max());
  threads_.emplace_back([this, slot] { Loop(slot); });
}

bool BlockingPool::Submit(Job& job, bool admission) {
  bool wake_monitor = false;
  {
    std::lock_guard lock(mu_);
    if (stopped_) return false;
    // Admission counts only jobs that would wait: an idle thread, or a thread the pool may still
    // start, takes a job at once.
    if (admission && queue_.size() >= idle_ + (max_threads_ - threads_.size()) + max_queue_) {
      return false;
    }
    queue_.push_back(std::move(job));
    if (queue_.size() > idle_) {
      if (threads_.size() < eager_) {
        StartThread();
      } else if (threads_.size() < max_threads_) {
        if (!monitor_.joinable()) monitor_ = std::thread([this] { Monitor(); });
        wake_monitor = monitor_waiting_;
      }
    }
  }
  cv_.notify_one();
  if (wake_monitor) monitor_cv_.notify_one();
  return true;
}

void BlockingPool::Loop(size_t slot) {
  std::unique_lock lock(mu_);
  for (;;) {
    ++idle_;
    cv_.wait(lock, [&] { return !queue_.empty() || stopped_; });
    --idle_;
    if (queue_.empty()) return;  // stopped, and nothing left to run
    Job job = std::move(queue_.front());
    queue_.pop_front();
    busy_since_[slot] = Clock::now();
    lock.unlock();
    job();
    job = nullptr;  // the completion handler it held goes before the lock is taken again
    lock.lock();
    busy_since_[slot] = Clock::time_point::max();
  }
}

// Wakes every stall/4 while jobs wait and no thread is idle; sleeps until Submit's notice
// otherwise.
void BlockingPool::Monitor() {
  std::unique_lock lock(mu_);
  const auto tick = std::max<Clock::duration>(stall_ / 4, std::chrono::microseconds(250));
  while (!stopped_) {
    if (queue_.empty() || idle_ > 0 || threads_.size() >= max_threads_) {
      monitor_waiting_ = true;
      monitor_cv_.wait(lock);
      monitor_waiting_ = false;
      continue;
    }
    const auto stuck_before = Clock::now() - stall_;
    size_t free = 0;
    for (auto since : busy_since_) free += since == Clock::time_point::max() || since > stuck_before;
    // One new thread per waiting job, until `eager` threads are free of stuck jobs.
    size_t want = std::min({eager_ > free ? eager_ - free : 0, queue_.size() - idle_,
                            max_threads_ - threads_.size()});
    for (size_t i = 0; i < want; ++i) StartThread();
    if (want) cv_.notify_all();
    monitor_cv_.wait_for(lock, tick);
  }
}

size_t BlockingPool::Threads() {
  std::lock_guard lock(mu_);
  return threads_.size();
}

void BlockingPool::Stop() {
  std::vector<std::thread> threads;
  std::thread monitor;
  {
    std::lock_guard lock(mu_);
    stopped_ = true;
    threads.swap(threads_);
    monitor.swap(monitor_);
  }
  cv_.notify_all();
  monitor_cv_.notify_all();
  if (monitor.joinable()) monitor.join();
  for (std::thread& t : threads) t.join();
}

}  // namespace berth::http
