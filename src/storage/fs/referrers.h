#pragma once
// The referrers index over Berth's _manifests/referrers/ links (storage/paths.h), written by the
// manifest store. Contract: storage/registry.h (ReferrerService). Thread-safe.

#include "storage/driver/driver.h"
#include "storage/registry.h"

namespace berth::storage::fs {

class FsReferrerService : public ReferrerService {
 public:
  // `manifests` (reads each referrer's content) must outlive this.
  FsReferrerService(driver::StorageDriverPtr driver, ManifestService& manifests);

  Result<std::vector<Referrer>> List(std::string_view repo, const Digest& subject) override;

 private:
  driver::StorageDriverPtr driver_;
  ManifestService& manifests_;
};

}  // namespace berth::storage::fs
