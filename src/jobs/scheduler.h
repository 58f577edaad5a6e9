#pragma once
// The one scheduler for background work: named jobs that run periodically (upload purging today;
// garbage collection, retention, cache TTLs, webhook retries and listing reconciliation next).
//
//   jobs::Scheduler scheduler(clock);
//   scheduler.Add({.name = "upload-purge", .interval = 24h, .initial_delay = 30s, .jitter = 60s},
//                 [&](const jobs::JobContext& ctx) { registry->Uploads().Purge(...); });
//   scheduler.Start();                 // with `serve`
//   scheduler.RunNow("upload-purge");  // an admin trigger
//   scheduler.Stop(10s);               // with `serve`'s shutdown
//
// Timing. Each job has its own thread, off the event loops, so a job never runs twice at once and a
// slow (or stuck) job delays no other job at all: another job's start is late only by the time it
// takes to take the scheduler's mutex for bookkeeping. The first run is `initial_delay` after Start
// (or after Add, for a job added to a running scheduler); each later run is `interval` after the
// previous run ended (runs never overlap or pile up; a run longer than the interval only pushes the
// next one). Every wait gets a uniformly random extra in [0, jitter], so a fleet restarted together
// spreads out. interval == 0 makes a run-once job (start-up work); RunNow can still run it again.
// RunNow runs a job as soon as its thread is free: at once if idle, right after the current run if
// running (several requests meanwhile coalesce into that one run).
//
// Time comes from the injected Clock. Waits re-read the clock at least every
// SchedulerOptions::max_wait of real time, so a wall-clock step is noticed within that; Poke()
// makes every waiting job re-read it at once (tests with FakeClock call it after Advance).
//
// Stopping. Stop(timeout) tells running jobs (JobContext::StopRequested) and waits up to `timeout`
// for them to return; a job still running then is left to finish on its own thread, detached, and
// named in a warning. Such a job must own what it uses (capture shared_ptrs, not references to
// things its owner destroys); the scheduler's own state lives until the last job thread ends. A job
// that throws is logged and scheduled again as if it had returned.
//
// Errors: Add gives kInvalidArgument for an empty or duplicate name, a negative duration, or a
// stopped scheduler; RunNow, WaitForRun and State give kNotFound for an unknown name.
//
// Thread-safe: every method may be called from any thread, including from inside a job (but a job
// must not WaitForRun on itself).

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "common/error.h"
#include "common/time.h"

namespace berth::jobs {

struct JobSpec {
  std::string name;
  std::chrono::nanoseconds interval{0};       // end of one run to the start of the next; 0: once
  std::chrono::nanoseconds initial_delay{0};  // Start (or a later Add) to the first run
  std::chrono::nanoseconds jitter{0};         // uniform extra in [0, jitter] on every wait
};

// What a running job may ask of the scheduler.
class JobContext {
 public:
  virtual ~JobContext() = default;
  // True once Stop was called: a long job should return soon.
  virtual bool StopRequested() const = 0;
};

using JobFn = std::function<void(const JobContext&)>;

struct JobState {
  uint64_t runs = 0;      // runs finished (returned or threw)
  bool running = false;   // a run is in progress
  SystemTime last_start;  // of the latest run; epoch if none
  SystemTime last_end;
  SystemTime next_run;  // when the next run is due (meaningless for a run-once job that ran)
};

struct SchedulerOptions {
  // The longest a waiting job goes without re-reading the clock.
  std::chrono::milliseconds max_wait{5000};
  // Seeds the jitter; 0 seeds from std::random_device.
  uint64_t seed = 0;
};

class Scheduler {
 public:
  // `clock` must outlive the scheduler.
  explicit Scheduler(const Clock& clock, SchedulerOptions options = {});
  // Stop(10 s) if still running.
  ~Scheduler();
  Scheduler(const Scheduler&) = delete;
  Scheduler& operator=(const Scheduler&) = delete;

  [[nodiscard]] Status Add(JobSpec spec, JobFn fn);
  // Starts every job's schedule. Later calls do nothing.
  void Start();
  // See the top of this file. Returns whether every job had returned by the deadline. Idempotent.
  bool Stop(std::chrono::nanoseconds timeout);

  // Asks for a run; returns the value `runs` will reach when that run has finished (for
  // WaitForRun).
  [[nodiscard]] Result<uint64_t> RunNow(std::string_view name);
  // Waits until the job has finished `runs` runs, at most `timeout`; true if it has.
  [[nodiscard]] Result<bool> WaitForRun(std::string_view name, uint64_t runs,
                                        std::chrono::nanoseconds timeout);
  // Makes every waiting job re-read the clock and returns once each has done so (a job that is
  // running does when it returns). Returns at once if the scheduler is not running.
  void Poke();

  [[nodiscard]] Result<JobState> State(std::string_view name) const;
  // Names of the jobs added, in order.
  std::vector<std::string> Names() const;

 private:
  struct Shared;
  std::shared_ptr<Shared> shared_;
};

}  // namespace berth::jobs
