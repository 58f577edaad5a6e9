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
// label sets. Thread-safe.

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

 private:
  metrics::CounterFamily& requests_;
  metrics::HistogramFamily& duration_;
  metrics::GaugeFamily& in_flight_;
  metrics::CounterFamily& received_;
  metrics::CounterFamily& sent_;
};

}  // namespace berth::observe
