#pragma once
// How notify's background threads (endpoint delivery, the audit writer) are stopped: the flag is
// set under the mutex the thread waits with, the thread is woken, then joined. Idempotent.

#include <condition_variable>
#include <mutex>
#include <thread>

namespace berth::notify {

inline void StopAndJoin(std::mutex& mu, std::condition_variable& cv, bool& stop,
                        std::thread& thread) {
  {
    std::lock_guard lock(mu);
    stop = true;
    cv.notify_all();
  }
  if (thread.joinable()) thread.join();
}

}  // namespace berth::notify
