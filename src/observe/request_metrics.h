#pragma once
// HTTP request metrics, recorded from the server's access-log hook. The HTTP layer knows nothing of
// routes: the API names the route of each request in http::Request::route (a static string such as
// "manifest"), and these series use it as the `handler` label, as Distribution's do:
//   registry_http_requests_total{handler,method,code}
//   registry_http_request_duration_seconds{handler,method}   (histogram)
//   registry_http_in_flight_requests{handler}
//   berth_http_received_bytes_total{handler}, berth_http_sent_bytes_total{handler}
// Requests the API never saw (refused heads, a full pool) have handler "none". Methods outside the
// standard set count as "other" and codes outside 100-599 as "other", so a client cannot grow the
// label sets.
//
// Cost: the series of a (handler, method, code) are looked up in the registry once and then found
// through a small per-thread cache, so a request records with a few atomic adds and no lock.
//
// Thread-safe.

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <tuple>

#include "http/message.h"
#include "metrics/registry.h"

namespace berth::observe {

class RequestMetrics {
 public:
  explicit RequestMetrics(metrics::Registry& registry);
  // After the API's handler returned for `req` (its route is known): one more in flight.
  void Started(const http::Request& req);
  // The access-log entry of a finished request.
  void Finished(const http::AccessLogEntry& e);

  // What one (handler, method, code) records into; code 0: only the per-handler series.
  struct Series {
    std::string_view handler;  // the key's own copy
    int method = 0, code = 0;
    metrics::Counter* requests = nullptr;
    metrics::Histogram* duration = nullptr;
    metrics::Gauge* in_flight = nullptr;
    metrics::Counter* received = nullptr;
    metrics::Counter* sent = nullptr;
  };

 private:
  const Series& Find(std::string_view handler, int method, int code);
  const Series& Resolve(std::string_view handler, int method, int code);

  const uint64_t id_;  // tells this object's entries in the per-thread caches from others'
  metrics::CounterFamily& requests_;
  metrics::HistogramFamily& duration_;
  metrics::GaugeFamily& in_flight_;
  metrics::CounterFamily& received_;
  metrics::CounterFamily& sent_;
  std::mutex mu_;
  // Every Series handed out, never removed (bounded: routes x methods x the codes the API sends).
  std::map<std::tuple<std::string, int, int>, std::unique_ptr<Series>, std::less<>>
      series_;  // Guarded by mu_.
};

}  // namespace berth::observe
