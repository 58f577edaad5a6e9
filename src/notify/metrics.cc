#include "notify/metrics.h"

#include <chrono>

#include "notify/audit.h"
#include "notify/service.h"

namespace berth::notify {
namespace {

using metrics::Sample;

// One callback per metric over a snapshot of every endpoint's stats.
template <typename F>
metrics::Registration PerEndpoint(metrics::Registry& r, const char* name, const char* help,
                                  metrics::Type type,
                                  std::shared_ptr<NotificationService> service, F value) {
  return r.AddCallback(name, help, type, {"endpoint"}, [service, value] {
    std::vector<Sample> out;
    for (const EndpointStats& e : service->Stats().endpoints) {
      out.push_back({{e.name}, static_cast<double>(value(e))});
    }
    return out;
  });
}

}  // namespace

std::vector<metrics::Registration> RegisterMetrics(metrics::Registry& r, const Runtime& rt) {
  std::vector<metrics::Registration> regs;
  using metrics::Type;
  if (auto s = rt.notifications) {
    regs.push_back(PerEndpoint(r, "berth_notifications_pending_events",
                               "Notification events queued on disk, per endpoint.", Type::kGauge, s,
                               [](const EndpointStats& e) { return e.queue.pending; }));
    regs.push_back(PerEndpoint(r, "berth_notifications_pending_bytes",
                               "Payload bytes of the queued notification events.", Type::kGauge, s,
                               [](const EndpointStats& e) { return e.queue.pending_bytes; }));
    regs.push_back(PerEndpoint(
        r, "berth_notifications_oldest_pending_age_seconds",
        "Age of the oldest undelivered notification event (0 when none).", Type::kGauge, s,
        [](const EndpointStats& e) {
          if (!e.queue.oldest) return 0.0;
          auto age = std::chrono::system_clock::now() - *e.queue.oldest;
          return std::max(0.0, std::chrono::duration<double>(age).count());
        }));
    regs.push_back(PerEndpoint(r, "berth_notifications_deliveries_total",
                               "Notification events acknowledged by the receiver.", Type::kCounter,
                               s, [](const EndpointStats& e) { return e.deliveries_total; }));
    regs.push_back(PerEndpoint(r, "berth_notifications_failures_total",
                               "Failed notification delivery attempts.", Type::kCounter, s,
                               [](const EndpointStats& e) { return e.failures_total; }));
    regs.push_back(PerEndpoint(r, "berth_notifications_dropped_total",
                               "Oldest notification events dropped because the queue was full.",
                               Type::kCounter, s,
                               [](const EndpointStats& e) { return e.queue.dropped_total; }));
    regs.push_back(PerEndpoint(r, "berth_notifications_dead_lettered_total",
                               "Notification events moved to the dead-letter file.", Type::kCounter,
                               s, [](const EndpointStats& e) { return e.dead_lettered_total; }));
    regs.push_back(r.AddCallback(
        "berth_notifications_memory_dropped_total",
        "Notification events lost because the in-memory list was full (disk too slow).",
        Type::kCounter, [s] { return static_cast<double>(s->Stats().memory_dropped); }));
  }
  if (auto a = rt.audit) {
    regs.push_back(r.AddCallback("berth_audit_dropped_total",
                                 "Audit lines lost because the writer was behind.", Type::kCounter,
                                 [a] { return static_cast<double>(a->dropped()); }));
  }
  return regs;
}

}  // namespace berth::notify
