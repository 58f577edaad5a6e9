// Delivery to one endpoint (behaviour in endpoint.h).
#include "notify/endpoint.h"

#include <nlohmann/json.hpp>

#include "common/log.h"
#include "notify/deadletter.h"
#include "notify/envelope.h"
#include "notify/stop.h"

namespace berth::notify {

Endpoint::Endpoint(EndpointConfig cfg, std::unique_ptr<Queue> queue, std::unique_ptr<Poster> poster,
                   const Clock& clock)
    : cfg_(std::move(cfg)), queue_(std::move(queue)), poster_(std::move(poster)), clock_(clock) {}

Endpoint::~Endpoint() { Stop(); }

void Endpoint::Start() {
  thread_ = std::thread([this] { Run(); });
}

void Endpoint::Wake() {
  std::lock_guard lock(mu_);
  woken_ = true;
  cv_.notify_all();
}

void Endpoint::Stop() { StopAndJoin(mu_, cv_, stop_, thread_); }

EndpointStats Endpoint::Stats() const {
  EndpointStats s;
  s.name = cfg_.name;
  s.queue = queue_->Stats();
  s.deliveries_total = deliveries_.load();
  s.failures_total = failures_.load();
  s.dead_lettered_total = dead_lettered_.load();
  std::lock_guard lock(mu_);
  s.last_error = last_error_;
  return s;
}

std::chrono::milliseconds Endpoint::Delay(uint32_t failures) const {
  if (failures <= cfg_.threshold) return cfg_.backoff;
  auto d = cfg_.backoff;
  for (uint32_t i = cfg_.threshold; i < failures && d < cfg_.max_backoff; ++i) d *= 2;
  return std::min(d, cfg_.max_backoff);
}

void Endpoint::Run() {
  uint32_t failures = 0;
  while (true) {
    {
      std::lock_guard lock(mu_);
      if (stop_) return;
      woken_ = false;
    }
    auto front = queue_->Front();
    std::chrono::milliseconds wait{0};
    if (!front) {
      spdlog::error("notifications to {}: cannot read the queue: {}", cfg_.name,
                    front.error().ToString());
      wait = cfg_.max_backoff;
    } else if (!*front) {
      wait = std::chrono::hours(1);  // until woken
    } else if (!Attempt(**front, failures)) {
      wait = Delay(failures);
    }
    if (wait.count() == 0) continue;
    std::unique_lock lock(mu_);
    cv_.wait_for(lock, wait, [&] { return stop_ || (woken_ && failures == 0); });
  }
}

bool Endpoint::Attempt(const QueueRecord& rec, uint32_t& failures) {
  auto body = cfg_.format == Format::kCloudEvents ? CloudEventBody(rec.payload)
                                                  : DistributionBody(rec.payload);
  if (!body) return DeadLetter(rec, failures, body.error().message);
  PostRequest req;
  req.url = cfg_.url;
  req.timeout = cfg_.timeout;
  req.content_type = std::string(cfg_.format == Format::kCloudEvents ? kCloudEventsMediaType
                                                                     : kDistributionMediaType);
  for (const auto& [name, values] : cfg_.headers) {
    for (const auto& v : values) req.headers.emplace_back(name, v);
  }
  auto event = nlohmann::json::parse(rec.payload, nullptr, false);
  req.headers.emplace_back(std::string(kEventIdHeader), event.value("id", ""));
  if (!cfg_.secret.empty()) {
    req.headers.emplace_back(std::string(kSignatureHeader), Signature(cfg_.secret, *body));
  }
  req.body = std::move(*body);
  auto status = poster_->Post(req);
  if (status && *status >= 200 && *status < 400) {
    if (auto st = queue_->Ack(rec.seq); !st) {
      spdlog::error("notifications to {}: cannot record a delivery: {}", cfg_.name,
                    st.error().ToString());
      ++failures;
      return false;
    }
    ++deliveries_;
    failures = 0;
    return true;
  }
  std::string why = status ? "status " + std::to_string(*status) : status.error().message;
  ++failures_;
  ++failures;
  {
    std::lock_guard lock(mu_);
    last_error_ = why;
  }
  if (failures == 1 || failures % 100 == 0) {
    spdlog::warn("notifications to {}: delivery failed ({} in a row): {}", cfg_.name, failures,
                 why);
  }
  if (clock_.Now() - rec.enqueued >= cfg_.dead_letter_after && DeadLetter(rec, failures, why)) {
    failures = 0;
    return true;
  }
  return false;
}

bool Endpoint::DeadLetter(const QueueRecord& rec, uint32_t attempts, const std::string& why) {
  auto event = nlohmann::json::parse(rec.payload, nullptr, false);
  nlohmann::json line = {{"endpoint", cfg_.name},
                         {"seq", rec.seq},
                         {"enqueued", FormatRfc3339(rec.enqueued)},
                         {"deadlettered", FormatRfc3339(clock_.Now())},
                         {"attempts", attempts},
                         {"lasterror", why},
                         {"event", event.is_discarded() ? nlohmann::json(rec.payload) : event}};
  if (auto st = AppendDeadLetter(
          queue_->dir(), line.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
      !st) {
    // Keep it queued rather than lose it.
    spdlog::error("notifications to {}: cannot write the dead-letter file: {}", cfg_.name,
                  st.error().ToString());
    return false;
  }
  spdlog::warn("notifications to {}: event {} moved to the dead-letter file after {} attempts: {}",
               cfg_.name, event.is_object() ? event.value("id", "") : "?", attempts, why);
  ++dead_lettered_;
  if (auto st = queue_->Ack(rec.seq); !st) {
    spdlog::error("notifications to {}: {}", cfg_.name, st.error().ToString());
  }
  return true;
}

}  // namespace berth::notify
