#include "observe/request_metrics.h"

#include <array>
#include <atomic>
#include <charconv>
#include <functional>

namespace berth::observe {
namespace {

constexpr std::array<std::string_view, 8> kMethods = {"GET",   "HEAD",   "PUT",     "POST",
                                                      "PATCH", "DELETE", "OPTIONS", "other"};
constexpr int kOtherMethod = 7;
constexpr int kOtherCode = 600;  // any status outside 100-599

int MethodIndex(std::string_view m) {
  for (int i = 0; i < kOtherMethod; ++i) {
    if (kMethods[i] == m) return i;
  }
  return kOtherMethod;
}

std::string_view Handler(const http::Request& req) {
  return req.route.empty() ? std::string_view("none") : req.route;
}

// A direct-mapped cache per thread; `owner` keeps a RequestMetrics from finding another's (or a
// destroyed one's) entries.
struct Slot {
  uint64_t owner = 0;
  const RequestMetrics::Series* series = nullptr;
};
constexpr size_t kSlots = 256;
thread_local std::array<Slot, kSlots> t_slots;

std::atomic<uint64_t> next_id{1};

}  // namespace

RequestMetrics::RequestMetrics(metrics::Registry& r)
    : id_(next_id.fetch_add(1, std::memory_order_relaxed)),
      requests_(r.AddCounter("registry_http_requests_total",
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

const RequestMetrics::Series& RequestMetrics::Find(std::string_view handler, int method, int code) {
  size_t h = std::hash<std::string_view>{}(handler) ^
             (static_cast<size_t>(method) * 0x9e3779b97f4a7c15ull) ^
             (static_cast<size_t>(code) * 0xbf58476d1ce4e5b9ull);
  Slot& slot = t_slots[(h ^ (h >> 17)) % kSlots];
  if (slot.owner == id_ && slot.series->method == method && slot.series->code == code &&
      slot.series->handler == handler) {
    return *slot.series;
  }
  const Series& s = Resolve(handler, method, code);
  slot = Slot{id_, &s};
  return s;
}

const RequestMetrics::Series& RequestMetrics::Resolve(std::string_view handler, int method,
                                                      int code) {
  std::lock_guard lock(mu_);
  auto [it, inserted] =
      series_.try_emplace(std::make_tuple(std::string(handler), method, code), nullptr);
  if (!inserted) return *it->second;
  auto s = std::make_unique<Series>();
  s->handler = std::get<0>(it->first);  // map nodes do not move
  s->method = method;
  s->code = code;
  s->in_flight = &in_flight_.With({handler});
  if (code != 0) {
    char buf[8];
    std::string_view code_label = "other";
    if (code != kOtherCode) {
      auto [end, ec] = std::to_chars(buf, buf + sizeof(buf), code);
      code_label = std::string_view(buf, end - buf);
    }
    s->requests = &requests_.With({handler, kMethods[method], code_label});
    s->duration = &duration_.With({handler, kMethods[method]});
    s->received = &received_.With({handler});
    s->sent = &sent_.With({handler});
  }
  it->second = std::move(s);
  return *it->second;
}

void RequestMetrics::Started(const http::Request& req) {
  if (!req.route.empty()) Find(req.route, 0, 0).in_flight->Add(1);
}

void RequestMetrics::Finished(const http::AccessLogEntry& e) {
  const http::Request& req = *e.request;
  int code = e.status >= 100 && e.status <= 599 ? e.status : kOtherCode;
  const Series& s = Find(Handler(req), MethodIndex(req.method), code);
  s.requests->Inc();
  s.duration->Observe(std::chrono::duration<double>(e.duration).count());
  if (e.bytes_received) s.received->Inc(e.bytes_received);
  if (e.bytes_sent) s.sent->Inc(e.bytes_sent);
  if (!req.route.empty()) s.in_flight->Sub(1);
}

}  // namespace berth::observe
