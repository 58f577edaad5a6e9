// The notification service (behaviour in service.h).
#include "notify/service.h"

#include <algorithm>

#include "common/log.h"
#include "common/strings.h"
#include "notify/deadletter.h"
#include "notify/stop.h"

namespace berth::notify {
namespace {

bool Ignores(const EndpointConfig& e, const api::Event& ev) {
  std::string_view action = api::ActionName(ev.action);
  if (std::find(e.ignored_actions.begin(), e.ignored_actions.end(), action) !=
      e.ignored_actions.end()) {
    return true;
  }
  return std::find(e.ignored_media_types.begin(), e.ignored_media_types.end(), ev.media_type) !=
         e.ignored_media_types.end();
}

constexpr auto kInboxEvery = std::chrono::seconds(1);

}  // namespace

Result<std::shared_ptr<NotificationService>> NotificationService::Start(
    const NotificationsConfig& cfg, ServiceOptions options) {
  std::shared_ptr<NotificationService> s(new NotificationService(cfg, std::move(options)));
  for (const EndpointConfig& e : s->cfg_.endpoints) {
    if (e.disabled) continue;
    auto q = Queue::Open(e.directory, e.max_queue_bytes);
    if (!q) {
      return MakeError(q.error().code,
                       "notifications endpoint \"" + e.name + "\": " + q.error().message);
    }
    auto stats = (*q)->Stats();
    if (stats.pending > 0) {
      spdlog::info("notifications to {}: {} event(s) pending from before the restart", e.name,
                   stats.pending);
    }
    s->endpoints_.push_back(
        std::make_unique<Endpoint>(e, std::move(*q), s->opt_.make_poster(), *s->opt_.clock));
  }
  s->TakeInbox();
  for (auto& e : s->endpoints_) e->Start();
  s->writer_ = std::thread([raw = s.get()] { raw->WriterLoop(); });
  return s;
}

NotificationService::~NotificationService() { Stop(); }

void NotificationService::Emit(const api::Event& event) noexcept {
  if (endpoints_.empty() || !IsNotifiable(event.action)) return;
  try {
    Pending p{event, cfg_.include_references ? std::string(event.manifest) : std::string(),
              NewUuid()};
    p.event.manifest = {};
    std::lock_guard lock(mu_);
    if (stop_) return;
    if (memory_.size() >= opt_.memory_limit) {
      if (memory_dropped_++ % 1000 == 0) {
        spdlog::error("notifications: the in-memory queue is full ({} events); dropping events",
                      memory_.size());
      }
      return;
    }
    memory_.push_back(std::move(p));
    memory_.back().event.manifest = memory_.back().manifest;
    ++emitted_;
    cv_.notify_all();
  } catch (...) {
    // Out of memory copying the event: the request already succeeded; nothing else to do.
  }
}

void NotificationService::Flush() {
  std::unique_lock lock(mu_);
  uint64_t target = emitted_;
  flushed_cv_.wait(lock, [&] { return written_ >= target; });
}

void NotificationService::Stop() {
  StopAndJoin(mu_, cv_, stop_, writer_);
  for (auto& e : endpoints_) e->Stop();
}

ServiceStats NotificationService::Stats() const {
  ServiceStats s;
  for (const auto& e : endpoints_) s.endpoints.push_back(e->Stats());
  std::lock_guard lock(mu_);
  s.memory_dropped = memory_dropped_;
  s.persisted = written_;
  return s;
}

void NotificationService::WriterLoop() {
  auto next_inbox = std::chrono::steady_clock::now() + kInboxEvery;
  while (true) {
    std::deque<Pending> batch;
    bool stopping;
    {
      std::unique_lock lock(mu_);
      cv_.wait_until(lock, next_inbox, [&] { return stop_ || !memory_.empty(); });
      batch.swap(memory_);
      stopping = stop_;
    }
    if (!batch.empty()) Persist(batch);
    if (std::chrono::steady_clock::now() >= next_inbox) {
      TakeInbox();
      next_inbox = std::chrono::steady_clock::now() + kInboxEvery;
    }
    if (stopping) {
      std::lock_guard lock(mu_);
      if (memory_.empty()) {
        written_ = emitted_;
        flushed_cv_.notify_all();
        return;
      }
    }
  }
}

void NotificationService::Persist(std::deque<Pending>& batch) {
  std::vector<std::vector<std::string>> per_endpoint(endpoints_.size());
  for (const Pending& p : batch) {
    std::string json = EventJson(p.event, p.id, opt_.source, cfg_.include_references);
    for (size_t i = 0; i < endpoints_.size(); ++i) {
      if (!Ignores(endpoints_[i]->config(), p.event)) per_endpoint[i].push_back(json);
    }
  }
  SystemTime now = opt_.clock->Now();
  for (size_t i = 0; i < endpoints_.size(); ++i) {
    if (per_endpoint[i].empty()) continue;
    auto dropped = endpoints_[i]->queue().Append(per_endpoint[i], now);
    const std::string& name = endpoints_[i]->config().name;
    if (!dropped) {
      spdlog::error("notifications to {}: cannot persist {} event(s): {}", name,
                    per_endpoint[i].size(), dropped.error().ToString());
    } else if (*dropped > 0) {
      spdlog::warn("notifications to {}: queue full ({} bytes); dropped the {} oldest event(s)",
                   name, endpoints_[i]->config().max_queue_bytes, *dropped);
    }
    endpoints_[i]->Wake();
  }
  std::lock_guard lock(mu_);
  written_ += batch.size();
  flushed_cv_.notify_all();
}

void NotificationService::TakeInbox() {
  for (auto& e : endpoints_) {
    auto files = ReadInbox(e->queue().dir());
    if (!files) {
      spdlog::warn("notifications to {}: {}", e->config().name, files.error().ToString());
      continue;
    }
    for (const InboxFile& f : *files) {
      auto st = e->queue().Append(f.events, opt_.clock->Now());
      if (!st) {
        spdlog::error("notifications to {}: cannot requeue {}: {}", e->config().name, f.path,
                      st.error().ToString());
        break;
      }
      spdlog::info("notifications to {}: requeued {} replayed event(s)", e->config().name,
                   f.events.size());
      if (auto rm = RemoveInboxFile(f.path); !rm) spdlog::warn("{}", rm.error().ToString());
      e->Wake();
    }
  }
}

}  // namespace berth::notify
