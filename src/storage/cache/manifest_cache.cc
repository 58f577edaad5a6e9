#include "storage/cache/manifest_cache.h"

#include <mutex>
#include <string>
#include <unordered_map>

#include "metrics/registry.h"
#include "storage/wrappers.h"

namespace berth::storage::cache {
namespace {

class CachingManifests : public ManifestServiceWrapper {
 public:
  CachingManifests(ManifestService& target, size_t max_bytes, metrics::Registry* metrics)
      : ManifestServiceWrapper(target), max_bytes_(max_bytes) {
    if (metrics) {
      auto& f = metrics->AddCounter("berth_cache_requests_total",
                                    "Cache lookups by cache and result (hit or miss).",
                                    {"cache", "result"});
      hits_ = &f.With({"manifest", "hit"});
      misses_ = &f.With({"manifest", "miss"});
    }
  }

  Result<StoredManifest> Read(std::string_view repo, const Digest& d) override {
    {
      std::lock_guard lock(mu_);
      if (auto it = entries_.find(d.str()); it != entries_.end()) {
        if (hits_) hits_->Inc();
        return *it->second;
      }
    }
    if (misses_) misses_->Inc();
    BERTH_ASSIGN_OR_RETURN(StoredManifest m, target().Read(repo, d));
    if (m.bytes.size() <= max_bytes_ / 16) {
      auto entry = std::make_shared<const StoredManifest>(m);
      std::lock_guard lock(mu_);
      if (bytes_ + entry->bytes.size() > max_bytes_) {
        entries_.clear();
        bytes_ = 0;
      }
      if (entries_.insert_or_assign(d.str(), entry).second) bytes_ += entry->bytes.size();
    }
    return m;
  }

 private:
  const size_t max_bytes_;
  std::mutex mu_;
  std::unordered_map<std::string, std::shared_ptr<const StoredManifest>>
      entries_;       // Guarded by mu_.
  size_t bytes_ = 0;  // Guarded by mu_.
  metrics::Counter* hits_ = nullptr;
  metrics::Counter* misses_ = nullptr;
};

class ManifestCache : public NamespaceWrapper {
 public:
  ManifestCache(NamespacePtr inner, size_t max_bytes, metrics::Registry* metrics)
      : NamespaceWrapper(inner), manifests_(inner->Manifests(), max_bytes, metrics) {}
  ManifestService& Manifests() override { return manifests_; }

 private:
  CachingManifests manifests_;
};

}  // namespace

NamespacePtr WithManifestCache(NamespacePtr inner, size_t max_bytes, metrics::Registry* metrics) {
  if (max_bytes == 0) return inner;
  return std::make_shared<ManifestCache>(std::move(inner), max_bytes, metrics);
}

}  // namespace berth::storage::cache
