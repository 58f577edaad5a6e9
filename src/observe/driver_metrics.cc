#include "observe/driver_metrics.h"

#include <array>
#include <chrono>
#include <string>
#include <utility>

namespace berth::observe {
namespace {

namespace drv = storage::driver;

enum Action { kGet, kPut, kReader, kWriter, kStat, kList, kMove, kDelete, kWalk, kRedirect, kN };
constexpr std::array<std::string_view, kN> kActionNames = {
    "GetContent", "PutContent", "Reader", "Writer", "Stat",
    "List",       "Move",       "Delete", "Walk",   "RedirectURL"};

// Labels for the errors a driver reports; anything else counts as "other".
constexpr std::pair<ErrorCode, std::string_view> kCodeLabels[] = {
    {ErrorCode::kNotFound, "not_found"},
    {ErrorCode::kAlreadyExists, "already_exists"},
    {ErrorCode::kInvalidOffset, "invalid_offset"},
    {ErrorCode::kInvalidPath, "invalid_path"},
    {ErrorCode::kIo, "io"},
    {ErrorCode::kCancelled, "cancelled"}};

std::string_view CodeLabel(ErrorCode c) {
  for (const auto& [code, label] : kCodeLabels)
    if (code == c) return label;
  return "other";
}

class MetricsDriver final : public drv::DriverWrapper {
 public:
  MetricsDriver(drv::StorageDriverPtr inner, metrics::Registry& r)
      : DriverWrapper(std::move(inner)),
        driver_name_(target().Name()),
        errors_(r.AddCounter("berth_storage_errors_total",
                             "Storage driver calls that failed, by action and error.",
                             {"driver", "action", "code"})) {
    auto& seconds = r.AddHistogram("registry_storage_action_seconds",
                                   "Duration of storage driver calls.", {"driver", "action"});
    // The series are looked up once: a driver call records with two atomic adds.
    for (size_t a = 0; a < kN; ++a) latency_[a] = &seconds.With({driver_name_, kActionNames[a]});
  }

 protected:
  // Defined before the overrides that use it (its return type is deduced). The overrides forward
  // through DriverWrapper::Do*, so a path is not validated a second time.
  template <typename F>
  auto Timed(Action a, F&& f) {
    auto start = std::chrono::steady_clock::now();
    auto r = f();
    latency_[a]->Observe(
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
    if (!r) errors_.With({driver_name_, kActionNames[a], CodeLabel(r.error().code)}).Inc();
    return r;
  }

  Result<std::string> DoGetContent(std::string_view p) override {
    return Timed(kGet, [&] { return DriverWrapper::DoGetContent(p); });
  }
  Status DoPutContent(std::string_view p, std::string_view c) override {
    return Timed(kPut, [&] { return DriverWrapper::DoPutContent(p, c); });
  }
  Result<drv::ReaderPtr> DoNewReader(std::string_view p, uint64_t off) override {
    return Timed(kReader, [&] { return DriverWrapper::DoNewReader(p, off); });
  }
  Result<drv::FileWriterPtr> DoNewWriter(std::string_view p, bool append) override {
    return Timed(kWriter, [&] { return DriverWrapper::DoNewWriter(p, append); });
  }
  Result<drv::FileInfo> DoStat(std::string_view p) override {
    return Timed(kStat, [&] { return DriverWrapper::DoStat(p); });
  }
  Result<std::vector<std::string>> DoList(std::string_view p) override {
    return Timed(kList, [&] { return DriverWrapper::DoList(p); });
  }
  Status DoMove(std::string_view s, std::string_view d) override {
    return Timed(kMove, [&] { return DriverWrapper::DoMove(s, d); });
  }
  Status DoDelete(std::string_view p) override {
    return Timed(kDelete, [&] { return DriverWrapper::DoDelete(p); });
  }
  Result<std::string> DoRedirectURL(std::string_view p, std::string_view m) override {
    return Timed(kRedirect, [&] { return DriverWrapper::DoRedirectURL(p, m); });
  }
  Status DoWalk(std::string_view p, const std::function<bool(const drv::FileInfo&)>& fn) override {
    return Timed(kWalk, [&] { return DriverWrapper::DoWalk(p, fn); });
  }

 private:
  std::string driver_name_;
  metrics::CounterFamily& errors_;
  std::array<metrics::Histogram*, kN> latency_{};
};

}  // namespace

drv::StorageDriverPtr WithDriverMetrics(drv::StorageDriverPtr inner, metrics::Registry& registry) {
  return std::make_shared<MetricsDriver>(std::move(inner), registry);
}

}  // namespace berth::observe
