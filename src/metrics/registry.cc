#include "metrics/registry.h"

#include <algorithm>
#include <array>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <mutex>
#include <shared_mutex>
#include <unordered_map>

#include "common/enum_names.h"
#include "metrics/text_format.h"

namespace berth::metrics {
namespace {

[[noreturn]] void Die(std::string_view what, std::string_view name) {
  std::fprintf(stderr, "metrics: %.*s: %.*s\n", static_cast<int>(what.size()), what.data(),
               static_cast<int>(name.size()), name.data());
  std::abort();
}

constexpr std::array<std::string_view, 3> kTypeNames = {"counter", "gauge", "histogram"};
static_assert(kTypeNames.size() == static_cast<size_t>(Type::kHistogram) + 1);

std::string_view TypeName(Type t) { return EnumName(t, kTypeNames, "untyped"); }

std::string Formatted(double v) {
  std::string s;
  AppendValue(s, v);
  return s;
}

// Label values as a key, looked up without building a vector<string> (no allocation per With()).
struct ValuesHash {
  using is_transparent = void;
  template <typename Seq>
  size_t operator()(const Seq& values) const {
    size_t h = 0xcbf29ce484222325ull;
    for (const auto& v : values) {
      h ^= std::hash<std::string_view>{}(std::string_view(v)) + 0x9e3779b97f4a7c15ull + (h << 6) +
           (h >> 2);
    }
    return h;
  }
};
struct ValuesEqual {
  using is_transparent = void;
  template <typename A, typename B>
  bool operator()(const A& a, const B& b) const {
    return std::equal(a.begin(), a.end(), b.begin(), b.end(),
                      [](const auto& x, const auto& y) { return std::string_view(x) == y; });
  }
};

}  // namespace

namespace internal {
size_t ShardIndex() {
  static std::atomic<size_t> next{0};
  thread_local const size_t shard = next.fetch_add(1, std::memory_order_relaxed) % kShards;
  return shard;
}
}  // namespace internal

uint64_t Counter::Value() const {
  uint64_t sum = 0;
  for (const Cell& c : cells_) sum += c.v.load(std::memory_order_relaxed);
  return sum;
}

Histogram::Histogram(std::span<const double> bounds) : bounds_(bounds.begin(), bounds.end()) {
  for (Shard& s : shards_) {
    s.counts = std::make_unique<std::atomic<uint64_t>[]>(bounds_.size() + 1);
  }
}

void Histogram::Observe(double v) {
  // First bucket whose upper bound is >= v ("le" is inclusive); past the last bound: +Inf.
  size_t i = std::lower_bound(bounds_.begin(), bounds_.end(), v) - bounds_.begin();
  Shard& s = shards_[internal::ShardIndex()];
  s.counts[i].fetch_add(1, std::memory_order_relaxed);
  s.sum.fetch_add(v, std::memory_order_relaxed);
}

Histogram::Snapshot Histogram::Read() const {
  Snapshot snap;
  snap.cumulative.assign(bounds_.size() + 1, 0);
  for (const Shard& s : shards_) {
    for (size_t i = 0; i <= bounds_.size(); ++i) {
      snap.cumulative[i] += s.counts[i].load(std::memory_order_relaxed);
    }
    snap.sum += s.sum.load(std::memory_order_relaxed);
  }
  for (size_t i = 1; i < snap.cumulative.size(); ++i) snap.cumulative[i] += snap.cumulative[i - 1];
  snap.count = snap.cumulative.back();
  return snap;
}

struct FamilyBase::Impl {
  struct Series {
    std::unique_ptr<void, void (*)(void*)> ptr{nullptr, nullptr};
  };
  mutable std::shared_mutex mu;
  std::unordered_map<std::vector<std::string>, Series, ValuesHash, ValuesEqual> series;
  std::vector<std::string> overflow_values;  // all "other"
};

FamilyBase::FamilyBase(std::string name, std::string help, Type type,
                       std::vector<std::string> label_names, size_t max_series)
    : name_(std::move(name)),
      help_(std::move(help)),
      type_(type),
      label_names_(std::move(label_names)),
      max_series_(std::max<size_t>(max_series, 1)),
      impl_(std::make_unique<Impl>()) {
  if (!ValidMetricName(name_)) Die("invalid metric name", name_);
  for (const std::string& l : label_names_) {
    if (!ValidLabelName(l) || (type_ == Type::kHistogram && l == "le")) {
      Die("invalid label name " + l + " in metric", name_);
    }
  }
  impl_->overflow_values.assign(label_names_.size(), "other");
}

FamilyBase::~FamilyBase() = default;

void* FamilyBase::Find(std::span<const std::string_view> values) {
  if (values.size() != label_names_.size()) Die("wrong number of label values for", name_);
  {
    std::shared_lock lock(impl_->mu);
    auto it = impl_->series.find(values);
    if (it != impl_->series.end()) return it->second.ptr.get();
  }
  std::unique_lock lock(impl_->mu);
  auto it = impl_->series.find(values);
  if (it != impl_->series.end()) return it->second.ptr.get();
  std::vector<std::string> key(values.begin(), values.end());
  // The overflow series takes one slot of the bound too.
  if (impl_->series.size() + 1 >= max_series_) {
    key = impl_->overflow_values;
    it = impl_->series.find(key);
    if (it != impl_->series.end()) return it->second.ptr.get();
  }
  auto [pos, inserted] = impl_->series.emplace(std::move(key), Impl::Series{NewSeries()});
  return pos->second.ptr.get();
}

std::vector<std::pair<const std::vector<std::string>*, const void*>> FamilyBase::SortedSeries()
    const {
  std::vector<std::pair<const std::vector<std::string>*, const void*>> out;
  {
    std::shared_lock lock(impl_->mu);
    out.reserve(impl_->series.size());
    // Keys and series are never removed, so the pointers stay valid after the lock is released.
    for (const auto& [k, s] : impl_->series) out.emplace_back(&k, s.ptr.get());
  }
  std::sort(out.begin(), out.end(),
            [](const auto& a, const auto& b) { return *a.first < *b.first; });
  return out;
}

template <typename T, typename... Args>
static std::unique_ptr<void, void (*)(void*)> MakeSeries(Args&&... args) {
  return {new T(std::forward<Args>(args)...), [](void* p) { delete static_cast<T*>(p); }};
}

template <typename T>
std::unique_ptr<void, void (*)(void*)> ScalarFamily<T>::NewSeries() const {
  return MakeSeries<T>();
}
std::unique_ptr<void, void (*)(void*)> HistogramFamily::NewSeries() const {
  return MakeSeries<Histogram>(std::span<const double>(bounds_));
}

HistogramFamily::HistogramFamily(std::string name, std::string help,
                                 std::vector<std::string> label_names, std::vector<double> bounds,
                                 size_t max_series)
    : Family<Histogram>(std::move(name), std::move(help), Type::kHistogram, std::move(label_names),
                        max_series),
      bounds_(std::move(bounds)) {
  if (bounds_.empty() || !std::is_sorted(bounds_.begin(), bounds_.end()) ||
      std::adjacent_find(bounds_.begin(), bounds_.end()) != bounds_.end()) {
    Die("histogram buckets must be non-empty and strictly ascending", this->name());
  }
}

namespace {
// Counters are integers; gauges print as the shortest exact decimal.
std::string ValueText(const Counter& c) { return std::to_string(c.Value()); }
std::string ValueText(const Gauge& g) { return Formatted(g.Value()); }
}  // namespace

template <typename T>
void ScalarFamily<T>::Expose(std::string& out) const {
  AppendHeader(out, this->name(), this->help(), TypeName(this->type()));
  for (const auto& [values, p] : this->SortedSeries()) {
    AppendSample(out, this->name(), this->label_names(), *values, {}, {},
                 ValueText(*static_cast<const T*>(p)));
  }
}

template class ScalarFamily<Counter>;
template class ScalarFamily<Gauge>;

void HistogramFamily::Expose(std::string& out) const {
  AppendHeader(out, name(), help(), "histogram");
  std::vector<std::string> les;
  for (double b : bounds_) les.push_back(Formatted(b));
  les.push_back("+Inf");
  const std::string bucket = name() + "_bucket", sum = name() + "_sum", count = name() + "_count";
  for (const auto& [values, p] : SortedSeries()) {
    Histogram::Snapshot snap = static_cast<const Histogram*>(p)->Read();
    for (size_t i = 0; i < les.size(); ++i) {
      AppendSample(out, bucket, label_names(), *values, "le", les[i],
                   std::to_string(snap.cumulative[i]));
    }
    AppendSample(out, sum, label_names(), *values, {}, {}, Formatted(snap.sum));
    AppendSample(out, count, label_names(), *values, {}, {}, std::to_string(snap.count));
  }
}

// Callbacks are looked up by id; each has its own mutex so that Reset waits for a scrape that is
// calling it, and after Reset the callback is never called again.
struct Registration::State {
  struct Callback {
    std::string name, help;
    Type type;
    std::vector<std::string> label_names;
    std::mutex mu;
    std::function<std::vector<Sample>()> collect;  // guarded by mu; null once removed
  };
  std::mutex mu;
  std::map<std::string, std::unique_ptr<FamilyBase>, std::less<>> families;  // guarded by mu
  std::map<uint64_t, std::shared_ptr<Callback>> callbacks;                   // guarded by mu
  uint64_t next_id = 1;

  // Aborts when `name` is taken by a callback.
  void CheckFreeOfCallbacks(std::string_view name) {
    for (const auto& [id, cb] : callbacks) {
      if (cb->name == name) Die("metric registered twice", name);
    }
  }
};

Registration& Registration::operator=(Registration&& other) noexcept {
  if (this != &other) {
    Reset();
    state_ = std::move(other.state_);
    id_ = std::exchange(other.id_, 0);
  }
  return *this;
}

Registration::~Registration() { Reset(); }

void Registration::Reset() {
  std::shared_ptr<State> state = state_.lock();
  state_.reset();
  if (!state || id_ == 0) return;
  std::shared_ptr<State::Callback> cb;
  {
    std::lock_guard lock(state->mu);
    auto it = state->callbacks.find(id_);
    if (it != state->callbacks.end()) {
      cb = it->second;
      state->callbacks.erase(it);
    }
  }
  id_ = 0;
  if (cb) {
    std::lock_guard lock(cb->mu);
    cb->collect = nullptr;
  }
}

Registry::Registry() : state_(std::make_shared<Registration::State>()) {}
Registry::~Registry() = default;

namespace {

template <typename F, typename Make>
F& AddFamily(Registration::State& state, const std::string& name, Type type,
             const std::vector<std::string>& label_names, Make make,
             const std::vector<double>* bounds = nullptr) {
  std::lock_guard lock(state.mu);
  auto it = state.families.find(name);
  if (it != state.families.end()) {
    auto* f = dynamic_cast<F*>(it->second.get());
    bool same = f != nullptr && f->type() == type && f->label_names() == label_names;
    if constexpr (std::is_same_v<F, HistogramFamily>) same = same && f->bounds() == *bounds;
    if (!same) Die("metric registered twice with a different type, labels or buckets", name);
    return *f;
  }
  state.CheckFreeOfCallbacks(name);
  auto family = make();
  F& ref = *family;
  state.families.emplace(name, std::move(family));
  return ref;
}

}  // namespace

CounterFamily& Registry::AddCounter(std::string name, std::string help,
                                    std::vector<std::string> label_names, size_t max_series) {
  return AddFamily<CounterFamily>(*state_, name, Type::kCounter, label_names, [&] {
    return std::make_unique<CounterFamily>(name, std::move(help), Type::kCounter, label_names,
                                           max_series);
  });
}

GaugeFamily& Registry::AddGauge(std::string name, std::string help,
                                std::vector<std::string> label_names, size_t max_series) {
  return AddFamily<GaugeFamily>(*state_, name, Type::kGauge, label_names, [&] {
    return std::make_unique<GaugeFamily>(name, std::move(help), Type::kGauge, label_names,
                                         max_series);
  });
}

HistogramFamily& Registry::AddHistogram(std::string name, std::string help,
                                        std::vector<std::string> label_names,
                                        std::span<const double> bounds, size_t max_series) {
  std::vector<double> b(bounds.begin(), bounds.end());
  return AddFamily<HistogramFamily>(
      *state_, name, Type::kHistogram, label_names,
      [&] {
        return std::make_unique<HistogramFamily>(name, std::move(help), label_names, b, max_series);
      },
      &b);
}

Registration Registry::AddCallback(std::string name, std::string help, Type type,
                                   std::vector<std::string> label_names,
                                   std::function<std::vector<Sample>()> collect) {
  if (!ValidMetricName(name)) Die("invalid metric name", name);
  if (type == Type::kHistogram) Die("callbacks report counters or gauges, not histograms", name);
  for (const std::string& l : label_names) {
    if (!ValidLabelName(l)) Die("invalid label name " + l + " in metric", name);
  }
  auto cb = std::make_shared<Registration::State::Callback>();
  cb->name = std::move(name);
  cb->help = std::move(help);
  cb->type = type;
  cb->label_names = std::move(label_names);
  cb->collect = std::move(collect);
  std::lock_guard lock(state_->mu);
  if (state_->families.contains(cb->name)) Die("metric registered twice", cb->name);
  state_->CheckFreeOfCallbacks(cb->name);
  uint64_t id = state_->next_id++;
  state_->callbacks.emplace(id, std::move(cb));
  return Registration(state_, id);
}

Registration Registry::AddCallback(std::string name, std::string help, Type type,
                                   std::function<double()> value) {
  return AddCallback(std::move(name), std::move(help), type, {}, [value = std::move(value)] {
    return std::vector<Sample>{{{}, value()}};
  });
}

std::string Registry::Expose() const {
  // Families are never removed, so their pointers outlive the lock; callbacks are kept alive by
  // their shared_ptr and disabled under their own mutex.
  std::vector<std::pair<std::string_view, const FamilyBase*>> families;
  std::vector<std::shared_ptr<Registration::State::Callback>> callbacks;
  {
    std::lock_guard lock(state_->mu);
    for (const auto& [name, f] : state_->families) families.emplace_back(name, f.get());
    for (const auto& [id, cb] : state_->callbacks) callbacks.push_back(cb);
  }
  std::sort(callbacks.begin(), callbacks.end(),
            [](const auto& a, const auto& b) { return a->name < b->name; });
  std::string out;
  auto expose_callback = [&out](Registration::State::Callback& cb) {
    std::vector<Sample> samples;
    {
      std::lock_guard lock(cb.mu);
      if (!cb.collect) return;
      samples = cb.collect();
    }
    std::sort(samples.begin(), samples.end(),
              [](const Sample& a, const Sample& b) { return a.label_values < b.label_values; });
    AppendHeader(out, cb.name, cb.help, TypeName(cb.type));
    for (Sample& s : samples) {
      s.label_values.resize(cb.label_names.size());
      AppendSample(out, cb.name, cb.label_names, s.label_values, {}, {}, Formatted(s.value));
    }
  };
  // Merge the two sorted lists by name.
  size_t ci = 0;
  for (const auto& [name, f] : families) {
    while (ci < callbacks.size() && callbacks[ci]->name < name) expose_callback(*callbacks[ci++]);
    f->Expose(out);
  }
  while (ci < callbacks.size()) expose_callback(*callbacks[ci++]);
  return out;
}

}  // namespace berth::metrics
