#pragma once
// Manifests over Distribution's layout: content in the global blob store, the repository's revision
// links under _manifests/revisions/, Berth's referrers index under _manifests/referrers/, tags
// through the tag store (storage/paths.h). Contract: storage/registry.h (ManifestService).
// Thread-safe: Put's links and tag and Delete's untag and unlink of one (repository, digest) hold
// its lock, so a PUT racing a DELETE of the same manifest leaves it either stored and tagged or
// gone, never a tag naming a deleted revision.

#include "storage/driver/driver.h"
#include "storage/fs/key_locks.h"
#include "storage/fs/tags.h"
#include "storage/registry.h"

namespace berth::storage::fs {

class FsManifestService : public ManifestService {
 public:
  // `tags` must outlive this.
  FsManifestService(driver::StorageDriverPtr driver, FsTagService& tags)
      : driver_(std::move(driver)), tags_(tags) {}

  Result<PutManifestResult> Put(std::string_view repo, const Reference& reference,
                                std::string_view content_type, std::string bytes) override;
  Result<Digest> Resolve(std::string_view repo, const Reference& reference) override;
  Result<StoredManifest> Read(std::string_view repo, const Digest& d) override;
  Status Delete(std::string_view repo, const Digest& d) override;

 private:
  Status CheckReferences(std::string_view repo, const ParsedManifest& m);

  driver::StorageDriverPtr driver_;
  FsTagService& tags_;
  KeyLocks locks_;  // one slot per (repository, digest)
};

}  // namespace berth::storage::fs
