#pragma once
// Tags over Distribution's layout (_manifests/tags/<tag>/{current,index}, storage/paths.h).
// Contract: storage/registry.h (TagService). Lists straight from storage on every call; the listing
// index (storage/cache/listing_index.h) is the cache. Thread-safe: writes to one tag (Tag, Untag,
// UntagIfCurrent) hold that tag's lock, so a tag rewritten while it is removed ends up either
// rewritten or removed, never half of each.

#include "storage/driver/driver.h"
#include "storage/fs/key_locks.h"
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

  // Removes `tag` only if it still points at `d` (a manifest's deletion untags this way, so a tag
  // another client just moved elsewhere stays). Returns whether it removed the tag.
  Result<bool> UntagIfCurrent(std::string_view repo, std::string_view tag, const Digest& d);

 private:
  driver::StorageDriverPtr driver_;
  KeyLocks locks_;  // one slot per (repository, tag)
};

}  // namespace berth::storage::fs
