#pragma once
// The blob store over Distribution's layout: global content under blobs/, a repository's links
// under _layers/ (storage/paths.h). Contract: storage/registry.h (BlobStore). Thread-safe.

#include "storage/driver/driver.h"
#include "storage/registry.h"

namespace berth::storage::fs {

class FsBlobStore : public BlobStore {
 public:
  explicit FsBlobStore(driver::StorageDriverPtr driver) : driver_(std::move(driver)) {}

  Result<BlobInfo> Stat(std::string_view repo, const Digest& d) override;
  Result<driver::ReaderPtr> Open(std::string_view repo, const Digest& d, uint64_t offset) override;
  Status Delete(std::string_view repo, const Digest& d) override;
  Result<BlobInfo> Link(std::string_view repo, const Digest& d) override;
  Result<BlobInfo> Mount(std::string_view repo, std::string_view from, const Digest& d) override;
  Result<BlobInfo> StatGlobal(const Digest& d) override;
  Status DeleteGlobal(const Digest& d) override;

  // Writes the link without checking the content (the caller has just published it).
  Status WriteLink(std::string_view repo, const Digest& d);

 private:
  driver::StorageDriverPtr driver_;
};

}  // namespace berth::storage::fs
