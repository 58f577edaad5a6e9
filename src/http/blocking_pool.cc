#include "http/blocking_pool.h"

namespace berth::http {

BlockingPool::BlockingPool(size_t max_threads, size_t max_queue)
    : max_threads_(std::max<size_t>(max_threads, 1)), max_queue_(max_queue) {}

BlockingPool::~BlockingPool() { Stop(); }

bool BlockingPool::Submit(Job& job, bool admission) {
  {
    std::lock_guard lock(mu_);
    if (stopped_) return false;
    // Admission counts only jobs that would wait: an idle thread or room to start one takes the
    // job at once.
    if (admission && threads_.size() >= max_threads_ && queue_.size() >= idle_ + max_queue_) {
      return false;
    }
    queue_.push_back(std::move(job));
    // Every waiting job gets a thread of its own while the limit allows: a job must never wait
    // behind a slow one while the pool could still grow.
    if (queue_.size() > idle_ && threads_.size() < max_threads_) {
      threads_.emplace_back([this] { Loop(); });
    }
  }
  cv_.notify_one();
  return true;
}

void BlockingPool::Loop() {
  std::unique_lock lock(mu_);
  for (;;) {
    ++idle_;
    cv_.wait(lock, [&] { return !queue_.empty() || stopped_; });
    --idle_;
    if (queue_.empty()) return;  // stopped, and nothing left to run
    Job job = std::move(queue_.front());
    queue_.pop_front();
    lock.unlock();
    job();
    job = nullptr;  // the completion handler it held goes before the lock is taken again
    lock.lock();
  }
}

void BlockingPool::Stop() {
  std::vector<std::thread> threads;
  {
    std::lock_guard lock(mu_);
    stopped_ = true;
    threads.swap(threads_);
  }
  cv_.notify_all();
  for (std::thread& t : threads) t.join();
}

}  // namespace berth::http
