#include "proxy/evictor.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <vector>

#include "storage/paths.h"

namespace berth::proxy {
namespace {

std::string_view BaseName(std::string_view path) {
  size_t slash = path.rfind('/');
  return slash == std::string_view::npos ? path : path.substr(slash + 1);
}

}  // namespace

Evictor::Evictor(storage::NamespacePtr local, storage::driver::StorageDriverPtr driver,
                 std::shared_ptr<Upstreams> upstreams, const Clock* clock, uint64_t max_bytes,
                 std::chrono::milliseconds ttl)
    : local_(std::move(local)),
      driver_(std::move(driver)),
      upstreams_(std::move(upstreams)),
      clock_(clock),
      max_bytes_(max_bytes),
      ttl_(ttl) {}

void Evictor::RecordPull(std::string_view repo, const Digest& d) {
  if (!enabled()) return;
  std::string key = std::string(repo) + "@" + d.str();
  SystemTime now = clock_->Now();
  std::lock_guard lk(mu_);
  pulls_[key] = now;
}

Result<EvictStats> Evictor::Run() {
  struct Link {
    std::string repo;
    Digest digest;
    SystemTime last;
  };
  std::vector<Link> links;
  // Every mirrored repository in storage (a walk, not the catalog: the cache writes manifests
  // below the listing index, which learns of them only when it reconciles).
  const std::string root = storage::paths::RepositoriesRoot();
  std::vector<std::string> repos;
  auto walked = driver_->Walk(root, [&](const storage::driver::FileInfo& fi) {
    if (!fi.is_dir) return false;
    std::string_view base = BaseName(fi.path);
    if (base.empty() || base.front() != '_') return true;  // a name component: go on down
    if (base == "_layers" && fi.path.size() > root.size() + 1 + base.size()) {
      std::string repo =
          fi.path.substr(root.size() + 1, fi.path.size() - root.size() - 2 - base.size());
      if (upstreams_->Find(repo)) repos.push_back(std::move(repo));
    }
    return false;  // _layers, _manifests, _uploads: nothing more to find below
  });
  if (!walked && !walked.error().Is(ErrorCode::kNotFound)) return std::unexpected(walked.error());
  for (const std::string& repo : repos) {
    auto algs = driver_->List(storage::paths::LayersDir(repo));
    if (!algs) continue;
    for (const std::string& alg_dir : *algs) {
      auto hexes = driver_->List(alg_dir);
      if (!hexes) continue;
      for (const std::string& hex_dir : *hexes) {
        auto d =
            Digest::Parse(std::string(BaseName(alg_dir)) + ":" + std::string(BaseName(hex_dir)));
        if (!d) continue;
        auto st = driver_->Stat(storage::paths::LayerLink(repo, *d));
        if (!st) continue;
        links.push_back({repo, *d, st->mod_time});
      }
    }
  }
  {
    std::lock_guard lk(mu_);
    for (Link& l : links) {
      auto it = pulls_.find(l.repo + "@" + l.digest.str());
      if (it != pulls_.end()) l.last = std::max(l.last, it->second);
    }
  }
  // Per blob: its size, its latest pull, and the links naming it.
  struct Blob {
    uint64_t size = 0;
    SystemTime last{};
    std::vector<const Link*> links;
  };
  std::map<Digest, Blob> blobs;
  for (const Link& l : links) {
    Blob& b = blobs[l.digest];
    b.last = std::max(b.last, l.last);
    b.links.push_back(&l);
  }
  EvictStats stats;
  for (auto it = blobs.begin(); it != blobs.end();) {
    auto info = local_->Blobs().StatGlobal(it->first);
    if (!info) {
      it = blobs.erase(it);  // data already gone (GC): nothing to count
      continue;
    }
    it->second.size = info->size;
    stats.cached_bytes += info->size;
    ++it;
  }
  stats.blobs = blobs.size();
  std::vector<std::pair<Digest, const Blob*>> order;
  for (const auto& [d, b] : blobs) order.emplace_back(d, &b);
  std::sort(order.begin(), order.end(),
            [](const auto& a, const auto& b) { return a.second->last < b.second->last; });
  const SystemTime now = clock_->Now();
  uint64_t total = stats.cached_bytes;
  for (const auto& [d, b] : order) {
    bool expired = ttl_.count() > 0 && now - b->last > ttl_;
    bool over = max_bytes_ > 0 && total > max_bytes_;
    if (!expired && !over) continue;
    bool all = true;
    for (const Link* l : b->links) {
      // The local (inner) store: the proxy's own BlobStore refuses deletes in mirrored names.
      if (auto st = local_->Blobs().Delete(l->repo, d); st) {
        ++stats.links_removed;
      } else if (!st.error().Is(ErrorCode::kBlobUnknown)) {
        all = false;
        spdlog::warn("proxy: evicting {} from {} failed: {}", d.str(), l->repo, st.error().message);
      }
      std::lock_guard lk(mu_);
      pulls_.erase(l->repo + "@" + d.str());
    }
    if (all) {
      total -= b->size;
      stats.bytes_released += b->size;
    }
  }
  if (stats.links_removed) {
    spdlog::info(
        "proxy: evicted {} cached blob links ({} bytes now unlinked by the cache; cache "
        "held {} bytes in {} blobs)",
        stats.links_removed, stats.bytes_released, stats.cached_bytes, stats.blobs);
  }
  return stats;
}

}  // namespace berth::proxy
