#pragma once
// Upload sessions over Distribution's layout (_uploads/<id>/{data,startedat}, storage/paths.h),
// with the running hash kept in memory per session and rebuilt from `data` when absent (after a
// restart) or stale (another process appended). Contract: storage/registry.h (UploadService,
// UploadWriter). Thread-safe.

#include <condition_variable>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <unordered_set>

#include "common/time.h"
#include "storage/driver/driver.h"
#include "storage/fs/blobs.h"
#include "storage/registry.h"

namespace berth::storage::fs {

class FsUploadService : public UploadService {
 public:
  // `blobs` (publishing links) and `clock` must outlive this.
  FsUploadService(driver::StorageDriverPtr driver, const Clock& clock, FsBlobStore& blobs)
      : driver_(std::move(driver)), clock_(clock), blobs_(blobs) {}

  Result<UploadInfo> Start(std::string_view repo) override;
  Result<UploadInfo> Get(std::string_view repo, std::string_view id) override;
  Result<UploadWriterPtr> Open(std::string_view repo, std::string_view id) override;
  Status Cancel(std::string_view repo, std::string_view id) override;
  Result<size_t> Purge(SystemTime cutoff, bool dry_run) override;

 private:
  class Writer;
  struct HashState {
    uint64_t offset;
    Hasher hasher;
  };
  static std::string Key(std::string_view repo, std::string_view id);
  // Get without reading startedat.
  Result<UploadInfo> StatUpload(std::string_view repo, std::string_view id);
  Result<Hasher> Rehash(std::string_view repo, std::string_view id, DigestAlgorithm alg);
  // Moves verified data into the blob store and links it.
  Result<BlobInfo> Publish(std::string_view repo, std::string_view id, const Digest& d,
                           uint64_t size);
  // Ends a request's hold on a session, keeping `state` for its next request when given.
  void Release(const std::string& key, std::optional<HashState> state);

  driver::StorageDriverPtr driver_;
  const Clock& clock_;
  FsBlobStore& blobs_;
  std::mutex mu_;
  std::condition_variable released_cv_;                     // signalled when a session is released
  std::unordered_map<std::string, HashState> hash_states_;  // Guarded by mu_.
  std::unordered_set<std::string> open_;                    // Guarded by mu_.
};

}  // namespace berth::storage::fs
