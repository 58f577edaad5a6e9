#pragma once
// A budget for password hashing (bcrypt), the one thing an unauthenticated client can make the
// registry spend tens of milliseconds of CPU on. Without it, a flood of Basic-auth requests with
// fresh user names (the per-(address, user) failure throttle never sees the same pair twice) runs
// bcrypt on every event-loop thread at once and starves every other request.
//
// Three limits, checked in Acquire before any hashing:
//   - per client address, hashes in flight (`per_address_in_flight`, default 2);
//   - per client address, hashes started per `window` (`per_address_per_window` per 10 s);
//   - overall, hashes running at once (`max_concurrent`, default one less than the cores, at least
//     one), so at least one core is always left for request handling. A caller that finds every
//     slot taken waits its turn (first come, first served) for at most `max_wait`.
// A caller over any limit gets no ticket and must be answered 429 TOOMANYREQUESTS. IPv4 addresses
// are counted one by one; IPv6 addresses by their /64 prefix (one host usually owns a whole /64).
//
// Thread-safety: thread-safe. A Ticket releases its slot when destroyed, from any thread.

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <deque>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>

#include "common/time.h"

namespace berth::auth {

struct LoginBudgetOptions {
  size_t max_concurrent = 0;  // 0: max(1, cores - 1)
  std::chrono::milliseconds max_wait{1000};
  size_t per_address_in_flight = 2;
  size_t per_address_per_window = 30;
  std::chrono::seconds window{10};
  size_t max_addresses = 100000;  // tracked addresses; beyond it, idle ones are forgotten
};

class LoginBudget {
 public:
  explicit LoginBudget(const Clock& clock = SystemClock(), LoginBudgetOptions options = {});
  LoginBudget(const LoginBudget&) = delete;
  LoginBudget& operator=(const LoginBudget&) = delete;

  // Holds one hashing slot until destroyed. An empty ticket (false) means "over budget".
  class Ticket {
   public:
    Ticket() = default;
    Ticket(Ticket&& other) noexcept;
    Ticket& operator=(Ticket&& other) noexcept;
    ~Ticket();
    explicit operator bool() const { return budget_ != nullptr; }

   private:
    friend class LoginBudget;
    Ticket(LoginBudget* budget, std::string key) : budget_(budget), key_(std::move(key)) {}
    LoginBudget* budget_ = nullptr;
    std::string key_;
  };

  // `ip` is the client's address without the port. May block up to max_wait for a global slot.
  Ticket Acquire(std::string_view ip);

  size_t max_concurrent() const { return max_concurrent_; }
  size_t tracked_addresses();

 private:
  struct Address {
    size_t in_flight = 0;
    size_t started = 0;  // in the current window
    SystemTime window_start;
  };
  struct Waiter {
    bool granted = false;
  };
  void Release(const std::string& key);
  void PruneLocked(SystemTime now);

  const Clock& clock_;
  const LoginBudgetOptions options_;
  const size_t max_concurrent_;
  std::mutex mu_;
  std::condition_variable cv_;
  size_t running_ = 0;                                  // Guarded by mu_.
  std::deque<Waiter*> waiters_;                         // Guarded by mu_. Oldest first.
  std::unordered_map<std::string, Address> addresses_;  // Guarded by mu_.
};

// The key an address is counted under: IPv4 as is, IPv6 as its /64 ("2001:db8:1:2::/64"), anything
// unparsable as is.
std::string AddressKey(std::string_view ip);

}  // namespace berth::auth
