#include "observe/request_metrics.h"

#include <array>
#include <charconv>

namespace berth::observe {
namespace {

std::string_view Method(std::string_view m) {
  static constexpr std::array<std::string_view, 7> kKnown = {"GET",   "HEAD",   "PUT",    "POST",
                                                             "PATCH", "DELETE", "OPTIONS"};
  for (std::string_view k : kKnown) {
    if (k == m) return k;
  }
  return "other";
}

std::string_view Handler(const http::Request& req) {
  return req.route.empty() ? std::string_view("none") : req.route;
}

}  // namespace

RequestMetrics::RequestMetrics(metrics::Registry& r)
    : requests_(r.AddCounter("registry_http_requests_total",
                             "HTTP requests by route (handler), method and status code.",
                             {"handler", "method", "code"})),
      duration_(r.AddHistogram("registry_http_request_duration_seconds",
                               "Time from a request's head to the end of its response.",
                               {"handler", "method"})),
      in_flight_(r.AddGauge("registry_http_in_flight_requests",
                            "Requests being handled (after the head was read).", {"handler"})),
      received_(r.AddCounter("berth_http_received_bytes_total", "Request body bytes received.",
                             {"handler"})),
      sent_(r.AddCounter("berth_http_sent_bytes_total", "Response body bytes sent.", {"handler"})) {
}

void RequestMetrics::Started(const http::Request& req) {
  if (!req.route.empty()) in_flight_.With({req.route}).Add(1);
}

void RequestMetrics::Finished(const http::AccessLogEntry& e) {
  const http::Request& req = *e.request;
  std::string_view handler = Handler(req);
  std::string_view method = Method(req.method);
  char buf[8];
  std::string_view code = "other";
  if (e.status >= 100 && e.status <= 599) {
    auto [end, ec] = std::to_chars(buf, buf + sizeof(buf), e.status);
    code = std::string_view(buf, end - buf);
  }
  requests_.With({handler, method, code}).Inc();
  duration_.With({handler, method}).Observe(std::chrono::duration<double>(e.duration).count());
  if (e.bytes_received) received_.With({handler}).Inc(e.bytes_received);
  if (e.bytes_sent) sent_.With({handler}).Inc(e.bytes_sent);
  if (!req.route.empty()) in_flight_.With({req.route}).Sub(1);
}

}  // namespace berth::observe
