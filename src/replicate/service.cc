// Replication inside serve (behaviour in service.h).
#include "replicate/service.h"

#include <nlohmann/json.hpp>

#include "client/push.h"
#include "client/registry.h"
#include "common/log.h"
#include "notify/queue.h"
#include "replicate/copier.h"

namespace berth::replicate {
namespace {

using json = nlohmann::json;

constexpr size_t kMemoryLimit = 10000;                  // items waiting for the writer
constexpr uint64_t kMaxQueueBytes = 64ull << 20;        // per rule; items are ~200 bytes
constexpr auto kFirstRetry = std::chrono::seconds(1);

bool Retryable(const Error& e) {
  return client::IsUpstreamDown(e) || e.Is(ErrorCode::kIo) || e.Is(ErrorCode::kCancelled);
}

bool IsAbsent(const Error& e) {
  return e.Is(ErrorCode::kManifestUnknown) || e.Is(ErrorCode::kNameUnknown);
}

}  // namespace

struct Service::RuleRt {
  Rule rule;
  transfer::SelectionMatcher match;
  client::RegistryClientPtr remote;
  SourcePtr src;
  DestinationPtr dst;
  DestinationPtr here;  // this registry, for checks before a delete or a copy
  std::unique_ptr<Bandwidth> bandwidth;
  std::unique_ptr<notify::Queue> queue;  // onpush rules
  std::unique_ptr<RuleStatusFile> status;
  std::mutex sync_mu;  // one scheduled sync at a time
  std::mutex mu;
  std::condition_variable cv;
  bool woken = false;  // guarded by mu
  std::thread worker;

  CopyOptions Options(const std::atomic<bool>& cancel) const {
    CopyOptions o;
    o.bandwidth = bandwidth.get();
    o.concurrency = rule.concurrency;
    o.dest_prefix = rule.prefix;
    o.cancel = &cancel;
    return o;
  }
};

Service::Service(ReplicationConfig cfg, storage::NamespacePtr ns, const Clock& clock)
    : cfg_(std::move(cfg)), ns_(std::move(ns)), clock_(clock) {}

Result<std::shared_ptr<Service>> Service::Start(ReplicationConfig cfg, storage::NamespacePtr ns,
                                                const Clock& clock) {
  std::shared_ptr<Service> s(new Service(std::move(cfg), std::move(ns), clock));
  for (size_t i = 0; i < s->cfg_.rules.size(); ++i) {
    const Rule& rule = s->cfg_.rules[i];
    const std::string key = "berth.replication.rules." + std::to_string(i);
    auto r = std::make_unique<RuleRt>();
    r->rule = rule;
    BERTH_ASSIGN_OR_RETURN(r->match, transfer::SelectionMatcher::Compile(rule.selection));
    client::RegistryOptions o;
    o.url = rule.url;
    o.username = rule.username;
    o.password = rule.password;
    o.http.ca_file = rule.cafile;
    o.http.tls_verify = !rule.insecure;
    auto remote = client::RegistryClient::Create(o);
    if (!remote) return MakeError(ErrorCode::kInvalidArgument, key + ".url: " + remote.error().message);
    r->remote = std::move(*remote);
    if (rule.direction == Direction::kPush) {
      r->src = LocalSource(s->ns_);
      r->dst = RemoteDestination(*r->remote, client::kDefaultChunkBytes);
    } else {
      r->src = RemoteSource(*r->remote);
      r->dst = LocalDestination(s->ns_);
    }
    r->here = LocalDestination(s->ns_);
    r->bandwidth = std::make_unique<Bandwidth>(rule.bandwidth);
    BERTH_ASSIGN_OR_RETURN(r->status, RuleStatusFile::Open(s->cfg_.directory, rule.name));
    if (rule.on_push) {
      BERTH_ASSIGN_OR_RETURN(r->queue,
                             notify::Queue::Open(QueueDirectory(s->cfg_.directory, rule.name),
                                                 kMaxQueueBytes));
      if (auto p = r->queue->Stats().pending; p > 0)
        spdlog::info("replication {}: {} item(s) pending from before the restart", rule.name, p);
    }
    s->rules_.push_back(std::move(r));
  }
  for (auto& r : s->rules_) {
    if (r->queue) r->worker = std::thread([raw = s.get(), rr = r.get()] { raw->WorkerLoop(*rr); });
  }
  s->writer_ = std::thread([raw = s.get()] { raw->WriterLoop(); });
  return s;
}

Service::~Service() { Stop(); }

void Service::Emit(const api::Event& e) noexcept {
  const bool push = e.action == api::EventAction::kPush && !e.manifest.empty();
  const bool del = e.action == api::EventAction::kDelete && e.media_type.empty();
  if (!push && !del) return;
  try {
    // Manifests pushed by digest travel with what references them, except referrers.
    if (push && e.tag.empty() && e.manifest.find("\"subject\"") == std::string_view::npos) return;
    std::vector<Item> items;
    for (size_t i = 0; i < rules_.size(); ++i) {
      const RuleRt& r = *rules_[i];
      if (!r.queue || (del && !r.rule.deletes) || !r.match.Repository(e.repository)) continue;
      if (!e.tag.empty() && !r.match.Tag(e.tag)) continue;
      json j = {{"action", push ? "push" : "delete"},
                {"repository", e.repository},
                {"tag", e.tag},
                {"digest", e.digest}};
      items.push_back({i, j.dump()});
    }
    if (items.empty()) return;
    std::lock_guard lock(mu_);
    if (stop_) return;
    for (auto& it : items) {
      if (memory_.size() >= kMemoryLimit) {
        if (memory_dropped_++ % 1000 == 0)
          spdlog::error("replication: the in-memory list is full; dropping items (the next "
                        "scheduled sync copies what they named)");
        continue;
      }
      memory_.push_back(std::move(it));
      ++emitted_;
    }
    cv_.notify_all();
  } catch (...) {
    // Out of memory copying the event: the request already succeeded; nothing else to do.
  }
}

void Service::Flush() {
  std::unique_lock lock(mu_);
  flushed_cv_.wait(lock, [this, target = emitted_] {
    return written_ >= target || (stop_ && !writer_.joinable());
  });
}

void Service::Stop() {
  {
    std::lock_guard lock(mu_);
    if (stop_ && !writer_.joinable()) return;
    stop_ = true;
    cv_.notify_all();
  }
  if (writer_.joinable()) writer_.join();
  stopping_ = true;
  for (auto& r : rules_) {
    {
      std::lock_guard lock(r->mu);
      r->cv.notify_all();
    }
    if (r->worker.joinable()) r->worker.join();
  }
}

void Service::WriterLoop() {
  for (;;) {
    std::deque<Item> batch;
    bool stopping;
    {
      std::unique_lock lock(mu_);
      cv_.wait(lock, [&] { return stop_ || !memory_.empty(); });
      batch.swap(memory_);
      stopping = stop_;
    }
    std::vector<std::vector<std::string>> per_rule(rules_.size());
    for (auto& it : batch) per_rule[it.rule].push_back(std::move(it.payload));
    for (size_t i = 0; i < rules_.size(); ++i) {
      if (per_rule[i].empty()) continue;
      RuleRt& r = *rules_[i];
      auto dropped = r.queue->Append(per_rule[i], clock_.Now());
      if (!dropped) {
        spdlog::error("replication {}: cannot queue {} item(s): {}", r.rule.name,
                      per_rule[i].size(), dropped.error().ToString());
      } else if (*dropped > 0) {
        spdlog::warn("replication {}: queue full; dropped the {} oldest item(s)", r.rule.name,
                     *dropped);
      }
      std::lock_guard lock(r.mu);
      r.woken = true;
      r.cv.notify_all();
    }
    std::lock_guard lock(mu_);
    written_ += batch.size();
    flushed_cv_.notify_all();
    if (stopping && memory_.empty()) return;
  }
}

void Service::WorkerLoop(RuleRt& r) {
  uint32_t failures = 0;
  while (!stopping_) {
    {
      std::lock_guard lock(r.mu);
      r.woken = false;
    }
    std::chrono::milliseconds wait{0};
    auto front = r.queue->Front();
    if (!front) {
      spdlog::error("replication {}: cannot read the queue: {}", r.rule.name,
                    front.error().ToString());
      wait = cfg_.max_backoff;
    } else if (!*front) {
      wait = std::chrono::hours(1);  // until woken
    } else {
      uint64_t images = 0, bytes = 0, deletes = 0;
      auto st = Apply(r, (*front)->payload, images, bytes, deletes);
      if (!st && stopping_) return;  // cancelled: the item stays queued
      if (!st && Retryable(st.error())) {
        ++failures;
        r.status->Failure(st.error().message);
        if (failures == 1 || failures % 20 == 0)
          spdlog::warn("replication {}: {} (attempt {}; retrying)", r.rule.name,
                       st.error().message, failures);
        wait = std::min<std::chrono::milliseconds>(
            cfg_.max_backoff, kFirstRetry * (1ll << std::min<uint32_t>(failures - 1, 20)));
      } else {
        if (!st) spdlog::warn("replication {}: {} (dropped)", r.rule.name, st.error().message);
        if (auto ack = r.queue->Ack((*front)->seq); !ack) {
          spdlog::error("replication {}: {}", r.rule.name, ack.error().ToString());
          wait = cfg_.max_backoff;
        }
        r.status->Record(clock_.Now(), images, bytes, deletes, st ? "" : st.error().message);
        failures = 0;
      }
    }
    if (wait.count() == 0) continue;
    std::unique_lock lock(r.mu);
    r.cv.wait_for(lock, wait, [&] { return stopping_.load() || (r.woken && failures == 0); });
  }
}

Status Service::Apply(RuleRt& r, const std::string& payload, uint64_t& images, uint64_t& bytes,
                      uint64_t& deletes) {
  json j = json::parse(payload, nullptr, false);
  if (!j.is_object()) return MakeError(ErrorCode::kInvalidArgument, "unreadable queue item");
  const std::string action = j.value("action", ""), repo = j.value("repository", ""),
                    tag = j.value("tag", ""), digest = j.value("digest", "");
  const std::string ref = tag.empty() ? digest : tag;
  const std::string dst_repo = r.rule.prefix + repo;
  // What this registry holds now decides: a later push or delete of the same name wins.
  BERTH_ASSIGN_OR_RETURN(auto here, r.here->ManifestDigest(repo, ref));
  if (action == "push") {
    if (!here) return Ok();  // deleted since; the delete (if propagated) follows in the queue
    CopyOptions o = r.Options(stopping_);
    o.attempts = 2;
    o.backoff = std::chrono::milliseconds(200);
    Copier c(*r.src, *r.dst, o);
    auto st = c.CopyImage(repo, ref, dst_repo, tag);
    images = c.stats().tags;
    bytes = c.stats().bytes;
    if (!st) return MakeError(st.error().code, repo + ":" + ref + ": " + st.error().message);
    return Ok();
  }
  if (action != "delete") return MakeError(ErrorCode::kInvalidArgument, "unknown queue item");
  if (here) return Ok();  // pushed again since, or a blob delete of a manifest's digest
  Status st = Ok();
  if (!tag.empty()) {
    st = r.dst->DeleteTag(dst_repo, tag);
  } else {
    BERTH_ASSIGN_OR_RETURN(Digest d, Digest::Parse(digest));
    st = r.dst->DeleteManifest(dst_repo, d);
  }
  if (!st && !IsAbsent(st.error()))
    return MakeError(st.error().code, "deleting " + dst_repo + ":" + ref + ": " + st.error().message);
  if (st) deletes = 1;
  return Ok();
}

Status Service::SyncRule(size_t index) {
  if (index >= rules_.size()) return MakeError(ErrorCode::kInvalidArgument, "no such rule");
  RuleRt& r = *rules_[index];
  std::unique_lock busy(r.sync_mu, std::try_to_lock);
  if (!busy.owns_lock()) return Ok();  // the previous run is still going
  Copier c(*r.src, *r.dst, r.Options(stopping_));
  auto st = c.Sync(r.rule.selection);
  const CopyStats& s = c.stats();
  std::string error = st ? "" : st.error().message;
  if (st && !s.failures.empty()) {
    error = std::to_string(s.failures.size()) + " image(s) failed, first: " + s.failures.front();
  }
  if (!st && st.error().Is(ErrorCode::kCancelled)) return st;
  r.status->Record(clock_.Now(), s.tags, s.bytes, 0, error);
  spdlog::info("replication {}: sync {}: {} image(s) copied, {} up to date, {} bytes{}",
               r.rule.name, error.empty() ? "done" : "incomplete", s.tags, s.tags_up_to_date,
               s.bytes, error.empty() ? "" : ": " + error);
  if (!error.empty()) return MakeError(st ? ErrorCode::kUnavailable : st.error().code, error);
  return Ok();
}

std::vector<RuleStatus> Service::Statuses() const {
  std::vector<RuleStatus> out;
  for (const auto& r : rules_) {
    RuleStatus s = r->status->Get();
    if (r->queue) {
      auto q = r->queue->Stats();
      s.pending = q.pending;
      s.oldest_pending = q.oldest;
    }
    out.push_back(std::move(s));
  }
  return out;
}

}  // namespace berth::replicate
