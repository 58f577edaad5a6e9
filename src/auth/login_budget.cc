#include "auth/login_budget.h"

#include <arpa/inet.h>

#include <algorithm>
#include <cstdio>
#include <thread>
#include <utility>

namespace berth::auth {

std::string AddressKey(std::string_view ip) {
  std::string s(ip);
  unsigned char v6[16];
  if (s.find(':') == std::string::npos || inet_pton(AF_INET6, s.c_str(), v6) != 1) return s;
  char out[64];
  std::snprintf(out, sizeof out, "%x:%x:%x:%x::/64", v6[0] << 8 | v6[1], v6[2] << 8 | v6[3],
                v6[4] << 8 | v6[5], v6[6] << 8 | v6[7]);
  return out;
}

namespace {
size_t DefaultConcurrency(size_t configured) {
  if (configured > 0) return configured;
  size_t cores = std::thread::hardware_concurrency();
  return cores > 1 ? cores - 1 : 1;
}
}  // namespace

LoginBudget::LoginBudget(const Clock& clock, LoginBudgetOptions options)
    : clock_(clock),
      options_(options),
      max_concurrent_(DefaultConcurrency(options.max_concurrent)) {}

LoginBudget::Ticket::Ticket(Ticket&& other) noexcept
    : budget_(std::exchange(other.budget_, nullptr)), key_(std::move(other.key_)) {}

LoginBudget::Ticket& LoginBudget::Ticket::operator=(Ticket&& other) noexcept {
  if (this != &other) {
    if (budget_ != nullptr) budget_->Release(key_);
    budget_ = std::exchange(other.budget_, nullptr);
    key_ = std::move(other.key_);
  }
  return *this;
}

LoginBudget::Ticket::~Ticket() {
  if (budget_ != nullptr) budget_->Release(key_);
}

size_t LoginBudget::tracked_addresses() {
  std::lock_guard lock(mu_);
  return addresses_.size();
}

void LoginBudget::PruneLocked(SystemTime now) {
  if (addresses_.size() < options_.max_addresses) return;
  std::erase_if(addresses_, [&](const auto& kv) {
    return kv.second.in_flight == 0 && now - kv.second.window_start >= options_.window;
  });
  // Still full: a flood of distinct addresses. Forget the idle ones rather than grow without end.
  if (addresses_.size() >= options_.max_addresses) {
    std::erase_if(addresses_, [](const auto& kv) { return kv.second.in_flight == 0; });
  }
}

LoginBudget::Ticket LoginBudget::Acquire(std::string_view ip) {
  std::string key = AddressKey(ip);
  std::unique_lock lock(mu_);
  SystemTime now = clock_.Now();
  PruneLocked(now);
  Address& a = addresses_[key];
  if (a.in_flight >= options_.per_address_in_flight) return Ticket();
  if (a.started == 0 || now - a.window_start >= options_.window) {
    a.window_start = now;
    a.started = 0;
  }
  if (a.started >= options_.per_address_per_window) return Ticket();
  ++a.in_flight;
  ++a.started;
  if (running_ < max_concurrent_ && waiters_.empty()) {
    ++running_;
    return Ticket(this, std::move(key));
  }
  Waiter w;
  waiters_.push_back(&w);
  auto deadline = std::chrono::steady_clock::now() + options_.max_wait;
  if (cv_.wait_until(lock, deadline, [&] { return w.granted; })) {
    return Ticket(this, std::move(key));
  }
  // Timed out: leave the queue and give back what was counted, since nothing was hashed.
  waiters_.erase(std::find(waiters_.begin(), waiters_.end(), &w));
  auto it = addresses_.find(key);
  if (it != addresses_.end()) {
    --it->second.in_flight;
    if (it->second.started > 0) --it->second.started;
  }
  return Ticket();
}

void LoginBudget::Release(const std::string& key) {
  std::lock_guard lock(mu_);
  auto it = addresses_.find(key);
  if (it != addresses_.end() && it->second.in_flight > 0) --it->second.in_flight;
  if (waiters_.empty()) {
    --running_;
    return;
  }
  // Hand the slot straight to the oldest waiter, so a newcomer cannot overtake it.
  waiters_.front()->granted = true;
  waiters_.pop_front();
  cv_.notify_all();
}

}  // namespace berth::auth
