#include "health/checker.h"

#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>

#include "jobs/scheduler.h"

namespace berth::health {

using SteadyClock = std::chrono::steady_clock;

struct Checker::Impl {
  struct Entry {
    std::string name;
    CheckFn fn;
    CheckTiming timing;
    bool gating = true;
    // Guarded by Impl::mu.
    uint32_t consecutive_failures = 0;
    bool ever_passed = false;
    std::string message;
    std::optional<SteadyClock::time_point> running_since;
    std::mutex run_mu;  // one run of a check at a time
  };
  mutable std::mutex mu;
  std::vector<std::unique_ptr<Entry>> entries;  // only appended to before the jobs start

  Entry* Find(const std::string& name) {
    for (auto& e : entries) {
      if (e->name == name) return e.get();
    }
    return nullptr;
  }

  // Guarded by mu.
  static CheckState StateOf(const Entry& e, SteadyClock::time_point now) {
    CheckState s{e.name, true, e.gating, e.ever_passed, e.message};
    uint32_t threshold = std::max<uint32_t>(e.timing.threshold, 1);
    if (e.consecutive_failures >= threshold) s.ok = false;
    if (e.running_since && now - *e.running_since > 2 * e.timing.interval + e.timing.timeout) {
      s.ok = false;
      s.message =
          "check has not finished for " +
          std::to_string(
              std::chrono::duration_cast<std::chrono::seconds>(now - *e.running_since).count()) +
          " s";
    }
    return s;
  }

  void Run(Entry& e) {
    std::unique_lock run(e.run_mu, std::try_to_lock);
    if (!run.owns_lock()) return;  // still running from before
    {
      std::lock_guard lock(mu);
      e.running_since = SteadyClock::now();
    }
    Status st = e.fn();
    std::lock_guard lock(mu);
    e.running_since.reset();
    if (st) {
      e.consecutive_failures = 0;
      e.ever_passed = true;
      e.message.clear();
    } else {
      ++e.consecutive_failures;
      e.message = st.error().message;
    }
  }
};

Checker::Checker() : impl_(std::make_shared<Impl>()) {}
Checker::~Checker() = default;

void Checker::Add(std::string name, CheckFn fn, CheckTiming timing, bool gating) {
  std::lock_guard lock(impl_->mu);
  if (impl_->Find(name)) return;
  auto e = std::make_unique<Impl::Entry>();
  e->name = std::move(name);
  e->fn = std::move(fn);
  e->timing = timing;
  e->gating = gating;
  impl_->entries.push_back(std::move(e));
}

void Checker::RunOnce(const std::string& name) {
  Impl::Entry* e;
  {
    std::lock_guard lock(impl_->mu);
    e = impl_->Find(name);
  }
  if (e) impl_->Run(*e);
}

Status Checker::AddJobs(jobs::Scheduler& scheduler) {
  std::vector<Impl::Entry*> entries;
  {
    std::lock_guard lock(impl_->mu);
    for (auto& e : impl_->entries) entries.push_back(e.get());
  }
  for (Impl::Entry* e : entries) {
    BERTH_RETURN_IF_ERROR(scheduler.Add(
        {.name = "health-" + e->name,
         .interval = std::chrono::duration_cast<std::chrono::nanoseconds>(e->timing.interval)},
        [impl = impl_, e](const jobs::JobContext&) { impl->Run(*e); }));
  }
  return Ok();
}

std::vector<CheckState> Checker::States() const {
  std::lock_guard lock(impl_->mu);
  auto now = SteadyClock::now();
  std::vector<CheckState> out;
  for (const auto& e : impl_->entries) out.push_back(Impl::StateOf(*e, now));
  return out;
}

bool Checker::Healthy() const {
  for (const CheckState& s : States()) {
    if (s.gating && !s.ok) return false;
  }
  return true;
}

bool Checker::Ready(const std::string& storage_check) const {
  bool passed = false;
  for (const CheckState& s : States()) {
    if (s.gating && !s.ok) return false;
    if (s.name == storage_check) passed = s.ever_passed && s.ok;
  }
  return passed;
}

std::string Checker::FailuresJson() const {
  nlohmann::json j = nlohmann::json::object();
  for (const CheckState& s : States()) {
    if (s.gating && !s.ok) j[s.name] = s.message;
  }
  return j.dump();
}

void AddConfiguredChecks(Checker& checker, const HealthConfig& cfg,
                         std::shared_ptr<storage::driver::StorageDriver> driver,
                         const std::string& root, bool read_only) {
  // Without health.storagedriver the check only serves readiness and status: it reads, and does not
  // write a probe every interval that nobody asked for.
  checker.Add("storagedriver",
              StorageCheck(std::move(driver), root, read_only || !cfg.storagedriver.enabled),
              cfg.storagedriver.timing, cfg.storagedriver.enabled);
  for (const auto& f : cfg.file) checker.Add(f.file, FileCheck(f.file), f.timing, true);
  for (const auto& h : cfg.http) checker.Add(h.uri, HttpCheck(h), h.timing, true);
  for (const auto& t : cfg.tcp) {
    checker.Add(t.addr, TcpCheck(t.addr, t.timing.timeout), t.timing, true);
  }
}

}  // namespace berth::health
