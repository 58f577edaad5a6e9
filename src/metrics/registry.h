#pragma once
// Metrics: counters, gauges and histograms kept in memory and exposed in the Prometheus text format
// (version 0.0.4) by the debug server.
//
// How a module registers metrics
// ------------------------------
// The App owns one Registry and passes `metrics::Registry&` to the modules that record (through
// their constructor or their AddJobs-style entry point; there is no global registry). At start-up a
// module registers each family once and keeps the reference, then records on the hot path:
//
//   auto& runs = reg.AddCounter("berth_gc_runs_total", "Garbage collection runs.", {"result"});
//   auto& took = reg.AddHistogram("berth_gc_duration_seconds", "Duration of a GC run.", {},
//                                 metrics::kLatencyBuckets);
//   ...
//   metrics::Counter& ok = runs.With({"ok"});  // look a series up once where you can; With() is a
//   ok.Inc();                                  // hash lookup under a shared lock
//   took.With({}).Observe(seconds);
//
// Values that already live elsewhere (a queue's depth, bytes on disk) are read at scrape time by a
// callback instead; keep the returned Registration alive as long as what the callback reads:
//
//   registration_ = reg.AddCallback("berth_notify_pending_events", "Events waiting per endpoint.",
//       metrics::Type::kGauge, {"endpoint"}, [this] { return Snapshot(); });
//
// Naming (Prometheus rules): snake_case, base units (`_seconds`, `_bytes`), counters end in
// `_total`. Registry-compatible names keep the `registry_` prefix that Distribution uses so that
// existing dashboards keep working; Berth-only metrics start with `berth_`. Label values must come
// from a small closed set (route names, methods, status codes, result words): never a repository
// name, a digest, a user or an address. Each family holds at most `max_series` series; further
// label combinations are recorded in one series whose label values are all "other".
//
// Registering a name twice with the same type, label names and buckets returns the same family
// (modules may register idempotently); a different shape, or an invalid metric or label name, is a
// programming error and aborts with a message naming the metric.
//
// Thread-safety: everything is thread-safe. Recording (Inc, Add, Set, Observe) is lock-free:
// counters and histograms are sharded per thread group on separate cache lines, so threads do not
// contend on one line; reading sums the shards.

#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <initializer_list>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/noncopyable.h"

namespace berth::metrics {

enum class Type { kCounter, kGauge, kHistogram };

// Latency buckets in seconds, from 0.5 ms to 10 s (registry requests are mostly sub-millisecond
// from the page cache; uploads and slow stores take seconds).
inline constexpr std::array<double, 14> kLatencyBuckets = {
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10};

inline constexpr size_t kDefaultMaxSeries = 500;

namespace internal {
inline constexpr size_t kShards = 8;
// The shard of the calling thread (threads are spread round-robin on first use).
size_t ShardIndex();
}  // namespace internal

// A monotonically increasing count. Thread-safe, lock-free.
class Counter {
 public:
  Counter() = default;
  Counter(const Counter&) = delete;
  Counter& operator=(const Counter&) = delete;
  void Inc(uint64_t n = 1) {
    cells_[internal::ShardIndex()].v.fetch_add(n, std::memory_order_relaxed);
  }
  uint64_t Value() const;

 private:
  struct alignas(64) Cell {
    std::atomic<uint64_t> v{0};
  };
  std::array<Cell, internal::kShards> cells_;
};

// A value that goes up and down. Thread-safe, lock-free.
class Gauge {
 public:
  Gauge() = default;
  Gauge(const Gauge&) = delete;
  Gauge& operator=(const Gauge&) = delete;
  void Set(double v) { v_.store(v, std::memory_order_relaxed); }
  void Add(double d) { v_.fetch_add(d, std::memory_order_relaxed); }
  void Sub(double d) { v_.fetch_sub(d, std::memory_order_relaxed); }
  double Value() const { return v_.load(std::memory_order_relaxed); }

 private:
  std::atomic<double> v_{0};
};

// Observations counted into fixed buckets (upper bounds, ascending), with their sum and count.
// Thread-safe, lock-free.
class Histogram {
 public:
  explicit Histogram(std::span<const double> bounds);
  Histogram(const Histogram&) = delete;
  Histogram& operator=(const Histogram&) = delete;
  void Observe(double v);

  struct Snapshot {
    std::vector<uint64_t> cumulative;  // one per bound, then +Inf (== count)
    double sum = 0;
    uint64_t count = 0;
  };
  Snapshot Read() const;
  std::span<const double> bounds() const { return bounds_; }

 private:
  struct alignas(64) Shard {
    std::unique_ptr<std::atomic<uint64_t>[]> counts;  // bounds + 1 (+Inf)
    std::atomic<double> sum{0};
  };
  std::vector<double> bounds_;
  std::array<Shard, internal::kShards> shards_;
};

class FamilyBase {
 public:
  FamilyBase(std::string name, std::string help, Type type, std::vector<std::string> label_names,
             size_t max_series);
  virtual ~FamilyBase();
  FamilyBase(const FamilyBase&) = delete;
  FamilyBase& operator=(const FamilyBase&) = delete;

  const std::string& name() const { return name_; }
  const std::string& help() const { return help_; }
  Type type() const { return type_; }
  const std::vector<std::string>& label_names() const { return label_names_; }
  // Appends this family in the text format.
  virtual void Expose(std::string& out) const = 0;

 protected:
  // The series slot for these label values (created on first use); stable for the family's life.
  void* Find(std::span<const std::string_view> values);
  virtual std::unique_ptr<void, void (*)(void*)> NewSeries() const = 0;
  // Series with their label values, sorted by label values.
  std::vector<std::pair<const std::vector<std::string>*, const void*>> SortedSeries() const;

 private:
  struct Impl;
  std::string name_, help_;
  Type type_;
  std::vector<std::string> label_names_;
  size_t max_series_;
  std::unique_ptr<Impl> impl_;
};

// The series of one metric, one per combination of label values. Thread-safe.
template <typename T>
class Family : public FamilyBase {
 public:
  using FamilyBase::FamilyBase;
  // The series with these label values, in label_names() order; the count must match (a mismatch
  // is a programming error and aborts). The reference stays valid as long as the Registry.
  T& With(std::initializer_list<std::string_view> values) {
    return *static_cast<T*>(Find(std::span<const std::string_view>(values.begin(), values.size())));
  }
  T& With(std::span<const std::string_view> values) { return *static_cast<T*>(Find(values)); }
};

// Counters and gauges: one number per series (defined for Counter and Gauge in registry.cc).
template <typename T>
class ScalarFamily final : public Family<T> {
 public:
  using Family<T>::Family;
  void Expose(std::string& out) const override;

 protected:
  std::unique_ptr<void, void (*)(void*)> NewSeries() const override;
};
using CounterFamily = ScalarFamily<Counter>;
using GaugeFamily = ScalarFamily<Gauge>;

class HistogramFamily final : public Family<Histogram> {
 public:
  HistogramFamily(std::string name, std::string help, std::vector<std::string> label_names,
                  std::vector<double> bounds, size_t max_series);
  void Expose(std::string& out) const override;
  const std::vector<double>& bounds() const { return bounds_; }

 protected:
  std::unique_ptr<void, void (*)(void*)> NewSeries() const override;

 private:
  std::vector<double> bounds_;
};

// One sample a callback reports: label values (in the callback's label order) and the value.
struct Sample {
  std::vector<std::string> label_values;
  double value = 0;
};

// Keeps a callback registered; destroying it (or Reset) removes the callback. May outlive the
// Registry (then it does nothing).
class Registration {
 public:
  Registration() = default;
  Registration(Registration&&) noexcept = default;
  Registration& operator=(Registration&& other) noexcept;
  ~Registration();
  void Reset();

  struct State;  // the registry's shared state (registry.cc)

 private:
  friend class Registry;
  Registration(std::weak_ptr<State> state, uint64_t id) : state_(std::move(state)), id_(id) {}
  std::weak_ptr<State> state_;
  uint64_t id_ = 0;
};

class Registry : NonCopyable {
 public:
  Registry();
  ~Registry();

  CounterFamily& AddCounter(std::string name, std::string help,
                            std::vector<std::string> label_names = {},
                            size_t max_series = kDefaultMaxSeries);
  GaugeFamily& AddGauge(std::string name, std::string help,
                        std::vector<std::string> label_names = {},
                        size_t max_series = kDefaultMaxSeries);
  HistogramFamily& AddHistogram(std::string name, std::string help,
                                std::vector<std::string> label_names,
                                std::span<const double> bounds = kLatencyBuckets,
                                size_t max_series = kDefaultMaxSeries);

  // A counter or gauge whose samples `collect` returns at scrape time (called without any lock of
  // the registry held, from the scraping thread; keep it quick). A name may not be both a family
  // and a callback.
  [[nodiscard]] Registration AddCallback(std::string name, std::string help, Type type,
                                         std::vector<std::string> label_names,
                                         std::function<std::vector<Sample>()> collect);
  // Unlabelled convenience form.
  [[nodiscard]] Registration AddCallback(std::string name, std::string help, Type type,
                                         std::function<double()> value);

  // Everything, in the Prometheus text format 0.0.4, families sorted by name.
  std::string Expose() const;

  // The Content-Type to serve Expose() with.
  static constexpr std::string_view kContentType = "text/plain; version=0.0.4; charset=utf-8";

 private:
  friend class Registration;
  std::shared_ptr<Registration::State> state_;
};

}  // namespace berth::metrics
