#include "observe/observability.h"

#include "common/log.h"
#include "health/config.h"
#include "jobs/scheduler.h"
#include "metrics/process.h"
#include "observe/debug_server.h"
#include "observe/driver_metrics.h"
#include "observe/request_metrics.h"
#include "observe/upload_gauge.h"

namespace berth::observe {

Result<std::unique_ptr<Observability>> Observability::Create(const config::Config& cfg) {
  std::unique_ptr<Observability> o(new Observability());
  auto it = cfg.raw_sections.find("health");
  BERTH_ASSIGN_OR_RETURN(o->health_,
                         health::ParseHealthConfig(it == cfg.raw_sections.end() ? "" : it->second));
  if (cfg.http.debug_enabled) {
    BERTH_RETURN_IF_ERROR(config::SplitHostPort(cfg.http.debug_addr));
  }
  const std::string& path = cfg.http.debug_prometheus_path;
  if (path.empty() || path.front() != '/') {
    return MakeError(ErrorCode::kInvalidArgument,
                     "http.debug.prometheus.path: must start with '/': \"" + path + "\"");
  }
  o->http_ = cfg.http;
  o->recording_ = cfg.http.debug_enabled && cfg.http.debug_prometheus_enabled;
  o->started_at_ = std::chrono::system_clock::now();
  o->metrics_ = std::make_unique<metrics::Registry>();
  if (o->recording_) {
    o->process_ = metrics::AddProcessMetrics(*o->metrics_);
    o->requests_ = std::make_shared<RequestMetrics>(*o->metrics_);
  }
  return o;
}

Observability::~Observability() { Shutdown(); }

storage::driver::StorageDriverPtr Observability::DecorateDriver(
    storage::driver::StorageDriverPtr driver) {
  return recording_ ? WithDriverMetrics(std::move(driver), *metrics_) : driver;
}

void Observability::ConfigureStorage(storage::StackOptions& options) {
  if (!recording_) return;
  options.metrics = metrics_.get();
  auto& f =
      metrics_->AddCounter("berth_cache_requests_total",
                           "Cache lookups by cache and result (hit or miss).", {"cache", "result"});
  // The index names only these two listings: look the four series up once.
  struct Series {
    metrics::Counter *catalog_hit, *catalog_miss, *tags_hit, *tags_miss;
  } c{&f.With({"catalog", "hit"}), &f.With({"catalog", "miss"}), &f.With({"tags", "hit"}),
      &f.With({"tags", "miss"})};
  options.on_listing_lookup = [c](std::string_view listing, bool hit) {
    if (listing == "catalog") {
      (hit ? c.catalog_hit : c.catalog_miss)->Inc();
    } else {
      (hit ? c.tags_hit : c.tags_miss)->Inc();
    }
  };
}

storage::NamespacePtr Observability::DecorateStorage(storage::NamespacePtr registry,
                                                     storage::driver::StorageDriverPtr driver) {
  if (!recording_) return registry;
  uploads_ = std::make_shared<UploadCount>();
  uploads_gauge_ = RegisterUploadGauge(*metrics_, uploads_);
  return WithUploadCount(std::move(registry), uploads_, std::move(driver));
}

std::function<std::string()> Observability::Unhealthy() {
  return [this] { return checker_.Healthy() ? std::string() : checker_.FailuresJson(); };
}

std::function<void(std::string_view)> Observability::AuthFailureHook() {
  if (!recording_) return nullptr;
  auto& failures =
      metrics_->AddCounter("berth_auth_failures_total",
                           "Requests refused by authentication or authorization.", {"reason"});
  // The reasons are the API's fixed words: the series are few.
  return [&failures](std::string_view reason) { failures.With({reason}).Inc(); };
}

http::Handler Observability::WrapHandler(http::Handler handler) {
  if (!requests_) return handler;
  return [handler = std::move(handler), m = requests_](http::Request& req) {
    http::Dispatch d = handler(req);
    m->Started(req);
    return d;
  };
}

std::function<void(const http::AccessLogEntry&)> Observability::WrapAccessLog(
    std::function<void(const http::AccessLogEntry&)> log) {
  if (!requests_) return log;
  return [log = std::move(log), m = requests_](const http::AccessLogEntry& e) {
    m->Finished(e);
    if (log) log(e);
  };
}

Status Observability::Attach(jobs::Scheduler& scheduler, storage::driver::StorageDriverPtr driver,
                             const std::string& root, bool read_only) {
  driver_name_ = std::string(driver->Name());
  root_ = root;
  if (uploads_) {
    // Sessions left from before a restart; in the background, since it walks every repository.
    BERTH_RETURN_IF_ERROR(scheduler.Add(
        {.name = "upload-count"}, [count = uploads_, driver](const jobs::JobContext& ctx) {
          if (auto st = count->Recount(*driver, [&] { return ctx.StopRequested(); }); !st) {
            spdlog::warn("counting upload sessions failed: {}", st.error().ToString());
          }
        }));
  }
  health::AddConfiguredChecks(checker_, health_, std::move(driver), root, read_only);
  return checker_.AddJobs(scheduler);
}

Status Observability::Start() {
  if (!http_.debug_enabled) return Ok();
  BERTH_ASSIGN_OR_RETURN(auto hp, config::SplitHostPort(http_.debug_addr));
  DebugServerOptions o;
  o.host = hp.first;
  o.port = hp.second;
  o.prometheus = http_.debug_prometheus_enabled;
  o.prometheus_path = http_.debug_prometheus_path;
  o.metrics = metrics_.get();
  o.checker = &checker_;
  o.driver = driver_name_;
  o.root = root_;
  o.started_at = started_at_;
  debug_ = std::make_unique<DebugServer>(std::move(o));
  if (auto st = debug_->Start(); !st) {
    return MakeError(st.error().code, "http.debug.addr: " + st.error().message);
  }
  spdlog::info("debug server at {}:{}{}", hp.first, debug_->port(),
               http_.debug_prometheus_enabled ? " (metrics at " + http_.debug_prometheus_path + ")"
                                              : std::string());
  return Ok();
}

uint16_t Observability::debug_port() const { return debug_ ? debug_->port() : 0; }

void Observability::Shutdown() {
  if (debug_) debug_->Shutdown(std::chrono::milliseconds(500));
  debug_.reset();
}

}  // namespace berth::observe
