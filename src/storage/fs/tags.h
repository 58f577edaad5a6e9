#pragma once
// Tags over Distribution's layout (_manifests/tags/<tag>/{current,index}, storage/paths.h).
// Contract: storage/registry.h (TagService). Lists straight from storage on every call; the listing
// index (storage/cache/listing_index.h) is the cache. Thread-safe.

#include "storage/driver/driver.h"
#include "storage/registry.h"

namespace berth::storage::fs {

class FsTagService : public TagService {
 public:
  explicit FsTagService(driver::StorageDriverPtr driver) : driver_(std::move(driver)) {}

  Result<Digest> Resolve(std::string_view repo, std::string_view tag) override;
  Status Tag(std::string_view repo, std::string_view tag, const Digest& d) override;
  Status Untag(std::string_view repo, std::string_view tag) override;
  Result<std::vector<std::string>> List(std::string_view repo) override;
  Result<std::vector<std::string>> Lookup(std::string_view repo, const Digest& d) override;

 private:
  driver::StorageDriverPtr driver_;
};

}  // namespace berth::storage::fs
