#pragma once
// Manifests over Distribution's layout: content in the global blob store, the repository's revision
// links under _manifests/revisions/, Berth's referrers index under _manifests/referrers/, tags
// through a TagService (storage/paths.h). Contract: storage/registry.h (ManifestService).
// Thread-safe.

#include "storage/driver/driver.h"
#include "storage/registry.h"

namespace berth::storage::fs {

class FsManifestService : public ManifestService {
 public:
  // `tags` must outlive this.
  FsManifestService(driver::StorageDriverPtr driver, TagService& tags)
      : driver_(std::move(driver)), tags_(tags) {}

  Result<PutManifestResult> Put(std::string_view repo, const Reference& reference,
                                std::string_view content_type, std::string bytes) override;
  Result<Digest> Resolve(std::string_view repo, const Reference& reference) override;
  Result<StoredManifest> Read(std::string_view repo, const Digest& d) override;
  Status Delete(std::string_view repo, const Digest& d) override;

 private:
  Status CheckReferences(std::string_view repo, const ParsedManifest& m);

  driver::StorageDriverPtr driver_;
  TagService& tags_;
};

}  // namespace berth::storage::fs
