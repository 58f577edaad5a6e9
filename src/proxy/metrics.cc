#include "proxy/metrics.h"

#include <atomic>

namespace berth::proxy {
namespace {

struct Family {
  const char* name;
  const char* help;
  uint64_t (*value)(const Upstream&);
};

uint64_t Load(const std::atomic<uint64_t>& v) { return v.load(std::memory_order_relaxed); }

constexpr Family kFamilies[] = {
    {"berth_proxy_hits_total", "Pull-through cache hits, per upstream.",
     [](const Upstream& u) { return Load(u.hits); }},
    {"berth_proxy_misses_total", "Pull-through cache misses (fetched upstream), per upstream.",
     [](const Upstream& u) { return Load(u.misses); }},
    {"berth_proxy_upstream_requests_total", "HTTP requests sent to each upstream.",
     [](const Upstream& u) { return u.client->requests(); }},
    {"berth_proxy_blob_fetches_total", "Single-flight blob fetches started, per upstream.",
     [](const Upstream& u) { return Load(u.blob_fetches); }},
    {"berth_proxy_fetched_bytes_total", "Body bytes received from each upstream.",
     [](const Upstream& u) { return Load(u.bytes_fetched); }},
    {"berth_proxy_errors_total",
     "Upstream failures (down, 5xx, 429, broken or invalid bodies, failed fetches).",
     [](const Upstream& u) { return Load(u.errors); }},
    {"berth_proxy_stale_serves_total",
     "Cached tags served without revalidation because the upstream was down.",
     [](const Upstream& u) { return Load(u.stale_served); }},
};

}  // namespace

void RegisterMetrics(metrics::Registry& registry, Proxy& proxy) {
  std::shared_ptr<Upstreams> ups = proxy.upstreams_ptr();
  for (const Family& f : kFamilies) {
    proxy.KeepRegistration(registry.AddCallback(
        f.name, f.help, metrics::Type::kCounter, {"upstream"}, [ups, value = f.value] {
          std::vector<metrics::Sample> out;
          for (const auto& u : ups->all()) {
            out.push_back({{u->name()}, static_cast<double>(value(*u))});
          }
          return out;
        }));
  }
}

}  // namespace berth::proxy
