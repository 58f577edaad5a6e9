#include "jobs/scheduler.h"

#include <pthread.h>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <exception>
#include <mutex>
#include <random>
#include <thread>
#include <utility>

#include "common/log.h"

namespace berth::jobs {

struct Scheduler::Shared : JobContext {
  struct Job {
    JobSpec spec;
    JobFn fn;
    JobState state;           // Guarded by mu.
    bool run_now = false;     // Guarded by mu.
    bool once_done = false;   // Guarded by mu. A run-once job has run its scheduled run.
    bool exited = false;      // Guarded by mu. Its thread has left the loop.
    uint64_t seen_epoch = 0;  // Guarded by mu. The last Poke epoch this job re-read the clock for.
    std::thread thread;       // Guarded by mu.
  };

  Shared(const Clock& c, SchedulerOptions o)
      : clock(c), options(o), rng(o.seed != 0 ? o.seed : std::random_device{}()) {}

  bool StopRequested() const override { return stopping.load(std::memory_order_relaxed); }

  // Requires mu held.
  std::chrono::nanoseconds JitterLocked(const JobSpec& spec) {
    if (spec.jitter <= std::chrono::nanoseconds::zero()) return std::chrono::nanoseconds::zero();
    std::uniform_int_distribution<int64_t> pick(0, spec.jitter.count());
    return std::chrono::nanoseconds(pick(rng));
  }

  // Requires mu held.
  void ScheduleFirstLocked(Job& job) {
    job.state.next_run = clock.Now() + std::chrono::duration_cast<SystemTime::duration>(
                                           job.spec.initial_delay + JitterLocked(job.spec));
  }

  // Requires mu held.
  void LaunchLocked(const std::shared_ptr<Shared>& self, Job& job) {
    ScheduleFirstLocked(job);
    job.thread = std::thread([self, &job] { self->Loop(job); });
    std::string thread_name = ("job:" + job.spec.name).substr(0, 15);
    ::pthread_setname_np(job.thread.native_handle(), thread_name.c_str());
  }

  void RunOnce(Job& job) {
    try {
      job.fn(*this);
    } catch (const std::exception& e) {
      spdlog::error("job {}: threw: {}", job.spec.name, e.what());
    } catch (...) {
      spdlog::error("job {}: threw a non-standard exception", job.spec.name);
    }
  }

  void Loop(Job& job) {
    std::unique_lock lock(mu);
    while (!stopping) {
      SystemTime now = clock.Now();
      bool due = job.run_now || (!job.once_done && now >= job.state.next_run);
      job.seen_epoch = epoch;
      if (!due) {
        changed.notify_all();  // Poke waits for seen_epoch
        auto wait = std::chrono::nanoseconds(options.max_wait);
        if (!job.once_done) {
          wait = std::min(
              wait, std::chrono::duration_cast<std::chrono::nanoseconds>(job.state.next_run - now));
        }
        wake.wait_for(lock, wait);
        continue;
      }
      job.run_now = false;
      job.state.running = true;
      job.state.last_start = now;
      changed.notify_all();
      lock.unlock();
      spdlog::debug("job {}: running", job.spec.name);
      RunOnce(job);
      lock.lock();
      job.state.running = false;
      ++job.state.runs;
      // After a stop the clock may be gone (its owner no longer waits for us): do not read it.
      if (!stopping) {
        job.state.last_end = clock.Now();
        if (job.spec.interval == std::chrono::nanoseconds::zero()) {
          job.once_done = true;
        } else {
          job.state.next_run =
              job.state.last_end + std::chrono::duration_cast<SystemTime::duration>(
                                       job.spec.interval + JitterLocked(job.spec));
        }
      }
      changed.notify_all();
    }
    job.exited = true;
    changed.notify_all();
  }

  Job* FindLocked(std::string_view name) {
    for (auto& job : jobs) {
      if (job->spec.name == name) return job.get();
    }
    return nullptr;
  }

  static std::unexpected<Error> Unknown(std::string_view name) {
    return MakeError(ErrorCode::kNotFound, "no job named \"" + std::string(name) + "\"");
  }

  const Clock& clock;
  const SchedulerOptions options;
  std::mutex mu;
  std::condition_variable wake;            // job threads wait on it
  std::condition_variable changed;         // Poke, WaitForRun and Stop wait on it
  std::vector<std::unique_ptr<Job>> jobs;  // Guarded by mu. Never shrinks: threads hold Job&.
  std::mt19937_64 rng;                     // Guarded by mu.
  bool started = false;                    // Guarded by mu.
  std::atomic<bool> stopping{false};       // Written under mu.
  uint64_t epoch = 0;                      // Guarded by mu.
};

Scheduler::Scheduler(const Clock& clock, SchedulerOptions options)
    : shared_(std::make_shared<Shared>(clock, options)) {}

Scheduler::~Scheduler() { Stop(std::chrono::seconds(10)); }

Status Scheduler::Add(JobSpec spec, JobFn fn) {
  using std::chrono::nanoseconds;
  if (spec.name.empty()) return MakeError(ErrorCode::kInvalidArgument, "job name is empty");
  if (spec.interval < nanoseconds::zero() || spec.initial_delay < nanoseconds::zero() ||
      spec.jitter < nanoseconds::zero()) {
    return MakeError(ErrorCode::kInvalidArgument,
                     "job \"" + spec.name + "\": interval, initial delay and jitter must be >= 0");
  }
  if (!fn) return MakeError(ErrorCode::kInvalidArgument, "job \"" + spec.name + "\": no function");
  std::lock_guard lock(shared_->mu);
  if (shared_->stopping) {
    return MakeError(ErrorCode::kInvalidArgument,
                     "job \"" + spec.name + "\": the scheduler is stopped");
  }
  if (shared_->FindLocked(spec.name) != nullptr) {
    return MakeError(ErrorCode::kInvalidArgument, "job \"" + spec.name + "\" already exists");
  }
  auto job = std::make_unique<Shared::Job>();
  job->spec = std::move(spec);
  job->fn = std::move(fn);
  Shared::Job& added = *job;
  shared_->jobs.push_back(std::move(job));
  if (shared_->started) shared_->LaunchLocked(shared_, added);
  return Ok();
}

void Scheduler::Start() {
  std::lock_guard lock(shared_->mu);
  if (shared_->started || shared_->stopping) return;
  shared_->started = true;
  for (auto& job : shared_->jobs) shared_->LaunchLocked(shared_, *job);
}

bool Scheduler::Stop(std::chrono::nanoseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  std::unique_lock lock(shared_->mu);
  shared_->stopping = true;
  shared_->wake.notify_all();
  auto all_exited = [&] {
    return std::all_of(shared_->jobs.begin(), shared_->jobs.end(),
                       [](const auto& job) { return !job->thread.joinable() || job->exited; });
  };
  bool done = shared_->changed.wait_until(lock, deadline, all_exited);
  for (auto& job : shared_->jobs) {
    if (!job->thread.joinable()) continue;
    if (job->exited) {
      job->thread.join();
    } else {
      spdlog::warn("job {}: still running {} ms after stop was asked; leaving it to finish",
                   job->spec.name,
                   std::chrono::duration_cast<std::chrono::milliseconds>(timeout).count());
      job->thread.detach();
    }
  }
  return done;
}

Result<uint64_t> Scheduler::RunNow(std::string_view name) {
  std::lock_guard lock(shared_->mu);
  Shared::Job* job = shared_->FindLocked(name);
  if (job == nullptr) return Shared::Unknown(name);
  job->run_now = true;
  shared_->wake.notify_all();
  return job->state.runs + (job->state.running ? 2 : 1);
}

Result<bool> Scheduler::WaitForRun(std::string_view name, uint64_t runs,
                                   std::chrono::nanoseconds timeout) {
  std::unique_lock lock(shared_->mu);
  Shared::Job* job = shared_->FindLocked(name);
  if (job == nullptr) return Shared::Unknown(name);
  return shared_->changed.wait_for(lock, timeout, [&] { return job->state.runs >= runs; });
}

void Scheduler::Poke() {
  std::unique_lock lock(shared_->mu);
  if (!shared_->started || shared_->stopping) return;
  uint64_t target = ++shared_->epoch;
  shared_->wake.notify_all();
  // Bounded only as a guard against a bug: each thread re-reads the clock at once.
  shared_->changed.wait_for(lock, std::chrono::seconds(30), [&] {
    return std::all_of(shared_->jobs.begin(), shared_->jobs.end(), [&](const auto& job) {
      return job->state.running || job->exited || job->seen_epoch >= target;
    });
  });
}

Result<JobState> Scheduler::State(std::string_view name) const {
  std::lock_guard lock(shared_->mu);
  Shared::Job* job = shared_->FindLocked(name);
  if (job == nullptr) return Shared::Unknown(name);
  return job->state;
}

std::vector<std::string> Scheduler::Names() const {
  std::lock_guard lock(shared_->mu);
  std::vector<std::string> names;
  for (const auto& job : shared_->jobs) names.push_back(job->spec.name);
  return names;
}

}  // namespace berth::jobs
