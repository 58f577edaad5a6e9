#include "proxy/proxy.h"

#include <spdlog/spdlog.h>

#include <array>
#include <functional>
#include <mutex>
#include <unordered_map>

#include "common/strings.h"
#include "jobs/scheduler.h"
#include "proxy/blob_fetcher.h"
#include "proxy/evictor.h"
#include "storage/manifest.h"
#include "storage/paths.h"
#include "storage/wrappers.h"

namespace berth::proxy {
namespace {

using storage::BlobInfo;

std::unexpected<Error> Refused(std::string_view repo, const Match& m, std::string_view what) {
  return MakeError(ErrorCode::kUnsupported,
                   std::string(what) + " refused: repository \"" + std::string(repo) +
                       "\" is a pull-through cache of " + m.upstream->cfg.url +
                       " (push to a repository outside the mirrored prefixes)");
}

// Everything the decorators share.
struct Shared {
  storage::NamespacePtr local;
  storage::driver::StorageDriverPtr driver;
  std::shared_ptr<Upstreams> upstreams;
  const Clock* clock;
  std::unique_ptr<BlobFetcher> fetcher;
  std::shared_ptr<Evictor> evictor;
  // Serialises manifest and tag fills per name, so concurrent pulls of one cold tag make one
  // upstream exchange instead of one each.
  std::array<std::mutex, 64> fill_locks;

  // When each cached tag was last confirmed by the upstream, if later than its current link's
  // modification time (the persistent record, which survives restarts). Rewriting the link
  // (a new file and a rename over the old one) on every revalidation was most of what a warm pull
  // of the registry:2 form cost more than a normal pull (about 1.5 ms of 27 on ext4): the link is
  // now rewritten only when its time is older than kPersistChecks. A restart, or another instance
  // on the same storage, sees a check time at most that much older: it revalidates sooner and
  // stops serving stale sooner, both on the safe side. Cleared when it outgrows kMaxChecks
  // (the links' times remain).
  static constexpr std::chrono::minutes kPersistChecks{1};
  static constexpr size_t kMaxChecks = 100'000;
  std::mutex checks_mu;
  std::unordered_map<std::string, SystemTime> checks;

  std::mutex& FillLock(std::string_view key) {
    return fill_locks[std::hash<std::string_view>{}(key) % fill_locks.size()];
  }

  SystemTime LastCheck(const std::string& key, SystemTime on_disk) {
    std::lock_guard l(checks_mu);
    auto it = checks.find(key);
    return it == checks.end() ? on_disk : std::max(on_disk, it->second);
  }
  void NoteCheck(const std::string& key, SystemTime at) {
    std::lock_guard l(checks_mu);
    if (checks.size() >= kMaxChecks) checks.clear();
    checks[key] = at;
  }

  // Links a blob the local store already holds into `repo` once the upstream confirms that the
  // mirrored repository has it. nullopt when it cannot (not held, not upstream, upstream down).
  std::optional<BlobInfo> LinkIfUpstreamHas(const Match& m, std::string_view repo,
                                            const Digest& d) {
    if (!local->Blobs().StatGlobal(d)) return std::nullopt;
    auto head = m.upstream->client->HeadBlob(m.remote, d);
    if (!head) {
      m.upstream->NoteFailure(head.error());
      return std::nullopt;
    }
    auto linked = local->Blobs().Link(repo, d);
    if (!linked) return std::nullopt;
    return *linked;
  }

  // Fetches and stores manifest `d` of `repo` unless it is cached. Content is stored without the
  // local store's reference check on purpose: the blobs it names are fetched when pulled.
  Status EnsureManifest(const Match& m, std::string_view repo, const Digest& d) {
    if (local->Manifests().Resolve(repo, Reference{"", d})) return Ok();
    BERTH_ASSIGN_OR_RETURN(client::RemoteManifest got, FetchManifest(m, d.str()));
    return StoreManifest(m, repo, got);
  }

  // GET of a manifest by digest or tag (the client checks the bytes against a digest).
  Result<client::RemoteManifest> FetchManifest(const Match& m, std::string_view reference) {
    auto fetched = m.upstream->client->GetManifest(m.remote, reference);
    if (!fetched) {
      m.upstream->NoteFailure(fetched.error());
      return std::unexpected(fetched.error());
    }
    m.upstream->bytes_fetched.fetch_add(fetched->bytes.size());
    return fetched;
  }

  // Stores fetched manifest bytes under their digest in `repo`.
  Status StoreManifest(const Match& m, std::string_view repo, const client::RemoteManifest& got) {
    const Digest& d = got.digest;
    auto parsed = storage::ParseManifest(got.bytes, got.media_type);
    if (!parsed) {
      m.upstream->errors.fetch_add(1);
      return MakeError(ErrorCode::kUnavailable, "upstream " + m.upstream->cfg.url +
                                                    " sent an "
                                                    "invalid manifest " +
                                                    d.str() + ": " + parsed.error().message);
    }
    const std::string data = storage::paths::BlobData(d);
    auto existing = driver->Stat(data);
    if (!existing || existing->size != got.bytes.size()) {
      BERTH_RETURN_IF_ERROR(driver->PutContent(data, got.bytes));
    }
    return driver->PutContent(storage::paths::RevisionLink(repo, d), d.str());
  }

  Result<Digest> ResolveTag(const Match& m, std::string_view repo, std::string_view tag) {
    const std::string key = std::string(repo) + ":" + std::string(tag);
    std::lock_guard fill(FillLock(key));
    auto cached = local->Tags().Resolve(repo, tag);
    SystemTime on_disk{};
    SystemTime checked{};
    if (cached) {
      if (auto st = driver->Stat(storage::paths::TagCurrentLink(repo, tag))) on_disk = st->mod_time;
      checked = LastCheck(key, on_disk);
    }
    const UpstreamConfig& cfg = m.upstream->cfg;
    const SystemTime now = clock->Now();
    if (cached && now - checked < cfg.tag_ttl) {
      m.upstream->hits.fetch_add(1);
      return *cached;
    }
    if (!cached) {
      // Never cached: one GET by tag brings the digest and the bytes (a HEAD first would only
      // add a round trip).
      m.upstream->misses.fetch_add(1);
      BERTH_ASSIGN_OR_RETURN(client::RemoteManifest got, FetchManifest(m, tag));
      BERTH_RETURN_IF_ERROR(StoreManifest(m, repo, got));
      BERTH_RETURN_IF_ERROR(local->Tags().Tag(repo, tag, got.digest));
      NoteCheck(key, now);
      return got.digest;
    }
    auto head = m.upstream->client->HeadManifest(m.remote, tag);
    if (!head) {
      m.upstream->NoteFailure(head.error());
      if (cached && client::IsUpstreamDown(head.error()) &&
          now - checked < cfg.tag_ttl + cfg.staleness) {
        m.upstream->stale_served.fetch_add(1);
        spdlog::warn("proxy: serving cached {}:{} ({}) unchecked: {}", repo, tag, cached->str(),
                     head.error().message);
        return *cached;
      }
      return std::unexpected(head.error());
    }
    if (cached && head->digest == *cached) {
      // Unchanged: renew the check time (in memory; on disk, the current link's modification
      // time, when that is older than kPersistChecks).
      if (now - on_disk >= kPersistChecks) {
        BERTH_RETURN_IF_ERROR(
            driver->PutContent(storage::paths::TagCurrentLink(repo, tag), cached->str()));
      }
      NoteCheck(key, now);
      m.upstream->hits.fetch_add(1);
      return *cached;
    }
    m.upstream->misses.fetch_add(1);
    BERTH_RETURN_IF_ERROR(EnsureManifest(m, repo, head->digest));
    BERTH_RETURN_IF_ERROR(local->Tags().Tag(repo, tag, head->digest));
    NoteCheck(key, now);
    return head->digest;
  }
};

class Blobs : public storage::BlobStoreWrapper {
 public:
  explicit Blobs(Shared& s) : BlobStoreWrapper(s.local->Blobs()), s_(s) {}

  Result<BlobInfo> Stat(std::string_view repo, const Digest& d) override {
    Match m = s_.upstreams->Find(repo);
    auto local = target().Stat(repo, d);
    if (!m || local || !local.error().Is(ErrorCode::kBlobUnknown)) {
      if (m && local) m.upstream->hits.fetch_add(1);
      return local;
    }
    if (auto linked = s_.LinkIfUpstreamHas(m, repo, d)) {
      m.upstream->hits.fetch_add(1);
      return *linked;
    }
    m.upstream->misses.fetch_add(1);
    return s_.fetcher->Stat(m, repo, d);
  }

  Result<storage::driver::ReaderPtr> Open(std::string_view repo, const Digest& d,
                                          uint64_t offset) override {
    Match m = s_.upstreams->Find(repo);
    if (m) s_.evictor->RecordPull(repo, d);
    auto local = target().Open(repo, d, offset);
    if (!m || local || !local.error().Is(ErrorCode::kBlobUnknown)) return local;
    if (s_.LinkIfUpstreamHas(m, repo, d)) return target().Open(repo, d, offset);
    return s_.fetcher->Open(m, repo, d, offset);
  }

  Status Delete(std::string_view repo, const Digest& d) override {
    if (Match m = s_.upstreams->Find(repo)) return Refused(repo, m, "blob delete");
    return target().Delete(repo, d);
  }
  Result<BlobInfo> Link(std::string_view repo, const Digest& d) override {
    if (Match m = s_.upstreams->Find(repo)) return Refused(repo, m, "blob mount");
    return target().Link(repo, d);
  }
  Result<BlobInfo> Mount(std::string_view repo, std::string_view from, const Digest& d) override {
    if (Match m = s_.upstreams->Find(repo)) return Refused(repo, m, "blob mount");
    return target().Mount(repo, from, d);
  }

 private:
  Shared& s_;
};

class Uploads : public storage::UploadServiceWrapper {
 public:
  explicit Uploads(Shared& s) : UploadServiceWrapper(s.local->Uploads()), s_(s) {}
  Result<storage::UploadInfo> Start(std::string_view repo) override {
    if (Match m = s_.upstreams->Find(repo)) return Refused(repo, m, "push");
    return target().Start(repo);
  }
  Result<storage::UploadInfo> Get(std::string_view repo, std::string_view id) override {
    if (Match m = s_.upstreams->Find(repo)) return Refused(repo, m, "push");
    return target().Get(repo, id);
  }
  Result<storage::UploadWriterPtr> Open(std::string_view repo, std::string_view id) override {
    if (Match m = s_.upstreams->Find(repo)) return Refused(repo, m, "push");
    return target().Open(repo, id);
  }
  Status Cancel(std::string_view repo, std::string_view id) override {
    if (Match m = s_.upstreams->Find(repo)) return Refused(repo, m, "push");
    return target().Cancel(repo, id);
  }

 private:
  Shared& s_;
};

class Manifests : public storage::ManifestServiceWrapper {
 public:
  explicit Manifests(Shared& s) : ManifestServiceWrapper(s.local->Manifests()), s_(s) {}

  Result<storage::PutManifestResult> Put(std::string_view repo, const Reference& reference,
                                         std::string_view content_type,
                                         std::string bytes) override {
    if (Match m = s_.upstreams->Find(repo)) return Refused(repo, m, "manifest push");
    return target().Put(repo, reference, content_type, std::move(bytes));
  }
  Status Delete(std::string_view repo, const Digest& d) override {
    if (Match m = s_.upstreams->Find(repo)) return Refused(repo, m, "manifest delete");
    return target().Delete(repo, d);
  }
  Result<Digest> Resolve(std::string_view repo, const Reference& reference) override {
    Match m = s_.upstreams->Find(repo);
    if (!m) return target().Resolve(repo, reference);
    if (!reference.is_digest()) return s_.ResolveTag(m, repo, reference.tag);
    if (auto local = target().Resolve(repo, reference)) {
      m.upstream->hits.fetch_add(1);
      return local;
    }
    std::lock_guard fill(s_.FillLock(std::string(repo) + "@" + reference.digest.str()));
    m.upstream->misses.fetch_add(1);
    BERTH_RETURN_IF_ERROR(s_.EnsureManifest(m, repo, reference.digest));
    return reference.digest;
  }

 private:
  Shared& s_;
};

class Tags : public storage::TagServiceWrapper {
 public:
  explicit Tags(Shared& s) : TagServiceWrapper(s.local->Tags()), s_(s) {}

  Result<Digest> Resolve(std::string_view repo, std::string_view tag) override {
    Match m = s_.upstreams->Find(repo);
    if (!m) return target().Resolve(repo, tag);
    return s_.ResolveTag(m, repo, tag);
  }
  Status Tag(std::string_view repo, std::string_view tag, const Digest& d) override {
    if (Match m = s_.upstreams->Find(repo)) return Refused(repo, m, "tagging");
    return target().Tag(repo, tag, d);
  }
  Status Untag(std::string_view repo, std::string_view tag) override {
    if (Match m = s_.upstreams->Find(repo)) return Refused(repo, m, "tag delete");
    return target().Untag(repo, tag);
  }
  Result<std::vector<std::string>> List(std::string_view repo) override {
    Match m = s_.upstreams->Find(repo);
    if (!m) return target().List(repo);
    std::vector<std::string> out;
    std::string last;
    for (int page = 0; page < 1000; ++page) {
      auto p = m.upstream->client->ListTags(m.remote, 0, last);
      if (!p) {
        m.upstream->NoteFailure(p.error());
        if (client::IsUpstreamDown(p.error())) {
          spdlog::warn("proxy: tag list of {} from the cache: {}", repo, p.error().message);
          return target().List(repo);
        }
        return std::unexpected(p.error());
      }
      out.insert(out.end(), p->names.begin(), p->names.end());
      if (p->next.empty() || p->names.empty()) break;
      last = p->names.back();
    }
    std::sort(out.begin(), out.end());
    out.erase(std::unique(out.begin(), out.end()), out.end());
    return out;
  }

 private:
  Shared& s_;
};

class ProxyNamespace : public storage::NamespaceWrapper {
 public:
  explicit ProxyNamespace(std::unique_ptr<Shared> s)
      : NamespaceWrapper(s->local),
        s_(std::move(s)),
        blobs_(*s_),
        uploads_(*s_),
        manifests_(*s_),
        tags_(*s_) {}

  storage::BlobStore& Blobs() override { return blobs_; }
  storage::UploadService& Uploads() override { return uploads_; }
  storage::ManifestService& Manifests() override { return manifests_; }
  storage::TagService& Tags() override { return tags_; }

 private:
  std::unique_ptr<Shared> s_;
  proxy::Blobs blobs_;
  proxy::Uploads uploads_;
  proxy::Manifests manifests_;
  proxy::Tags tags_;
};

}  // namespace

Proxy::~Proxy() = default;

Result<std::shared_ptr<Proxy>> Proxy::Create(const config::Config& cfg,
                                             storage::driver::StorageDriverPtr driver,
                                             const Clock* clock) {
  BERTH_ASSIGN_OR_RETURN(ProxyConfig pc, Decode(cfg));
  if (!pc.enabled()) return std::shared_ptr<Proxy>();
  std::shared_ptr<Proxy> p(new Proxy());
  BERTH_ASSIGN_OR_RETURN(p->upstreams_, Upstreams::Create(pc, clock));
  p->driver_ = std::move(driver);
  p->clock_ = clock;
  return p;
}

storage::NamespacePtr Proxy::Wrap(storage::NamespacePtr local) {
  auto s = std::make_unique<Shared>();
  s->local = local;
  s->driver = driver_;
  s->upstreams = upstreams_;
  s->clock = clock_;
  const ProxyConfig& pc = upstreams_->config();
  s->fetcher = std::make_unique<BlobFetcher>(*local, driver_, std::chrono::milliseconds(120'000),
                                             pc.max_fetches, pc.fetch_window_bytes);
  evictor_ = std::make_shared<Evictor>(local, driver_, upstreams_, clock_, pc.max_cache_bytes,
                                       pc.content_ttl);
  s->evictor = evictor_;
  return std::make_shared<ProxyNamespace>(std::move(s));
}

void Proxy::Rewrite(http::Request& req) const {
  if (req.query.empty() || !StartsWith(req.path, "/v2/")) return;
  std::string ns;
  for (std::string_view kv : Split(req.query, '&')) {
    if (StartsWith(kv, "ns=")) {
      auto v = UrlDecode(kv.substr(3));
      if (v) ns = *v;
    }
  }
  if (ns.empty()) return;
  const Upstream* u = upstreams_->FindNs(ns);
  if (!u || u->cfg.prefix.empty()) return;
  std::string_view rest = std::string_view(req.path).substr(4);
  if (rest.empty() || StartsWith(rest, "_catalog") || StartsWith(rest, u->cfg.prefix)) return;
  req.path = "/v2/" + u->cfg.prefix + std::string(rest);
  req.target = req.path + "?" + req.query;
}

Result<std::shared_ptr<Proxy>> Install(const config::Config& cfg,
                                       storage::driver::StorageDriverPtr driver,
                                       storage::NamespacePtr* registry, const Clock* clock,
                                       jobs::Scheduler* scheduler) {
  BERTH_ASSIGN_OR_RETURN(auto p, Proxy::Create(cfg, std::move(driver), clock));
  if (p) {
    *registry = p->Wrap(std::move(*registry));
    if (scheduler && p->evictor()->enabled()) {
      BERTH_RETURN_IF_ERROR(scheduler->Add({.name = "proxy-evict",
                                            .interval = std::chrono::minutes(1),
                                            .initial_delay = std::chrono::minutes(1)},
                                           [evictor = p->evictor()](const jobs::JobContext&) {
                                             if (auto st = evictor->Run(); !st) {
                                               spdlog::warn("proxy: eviction pass failed: {}",
                                                            st.error().ToString());
                                             }
                                           }));
    }
    std::string names;
    for (const auto& u : p->upstreams().all()) {
      names += (names.empty() ? "" : ", ") +
               (u->cfg.prefix.empty() ? std::string("every repository") : u->cfg.prefix + "*") +
               " -> " + u->cfg.url;
    }
    spdlog::info("proxy: pull-through cache for {}", names);
  }
  return p;
}

}  // namespace berth::proxy
