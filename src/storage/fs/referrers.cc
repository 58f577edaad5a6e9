#include "storage/fs/referrers.h"

#include <algorithm>

#include "storage/fs/links.h"
#include "storage/paths.h"

namespace berth::storage::fs {

FsReferrerService::FsReferrerService(driver::StorageDriverPtr driver, ManifestService& manifests)
    : driver_(std::move(driver)), manifests_(manifests) {}

Result<std::vector<Referrer>> FsReferrerService::List(std::string_view repo,
                                                      const Digest& subject) {
  std::vector<Referrer> out;
  auto algs = driver_->List(paths::ReferrersDir(repo, subject));
  if (!algs) {
    if (IsNotFound(algs.error())) return out;
    return std::unexpected(algs.error());
  }
  std::vector<std::string> links;
  for (const auto& alg_dir : *algs) {
    auto hexes = driver_->List(alg_dir);
    if (!hexes) continue;
    for (auto& h : *hexes) links.push_back(h + "/link");
  }
  std::sort(links.begin(), links.end());
  for (const auto& link : links) {
    auto d = ReadLink(*driver_, link);
    if (!d) continue;
    auto stored = manifests_.Get(repo, Reference{"", *d});
    if (!stored) continue;  // deleted meanwhile
    auto m = ParseManifest(stored->bytes, stored->media_type);
    if (!m) continue;
    Referrer r;
    r.descriptor.media_type = m->media_type;
    r.descriptor.digest = *d;
    r.descriptor.size = stored->bytes.size();
    r.descriptor.artifact_type = m->artifact_type;
    r.descriptor.annotations_json = m->annotations_json;
    out.push_back(std::move(r));
  }
  return out;
}

}  // namespace berth::storage::fs
