#pragma once
// Registry semantics over a storage driver: the global blob store, per-repository links, upload
// sessions, manifests, tags, the catalog and the referrers index, in Distribution's on-disk layout
// (storage/paths.h).
//
// Guarantees:
//  - Nothing half-written is visible: blob bytes go to _uploads/<id>/data, are verified (digest, size),
//    then moved into blobs/ in one rename and only then linked into the repository. Manifests are written
//    with the driver's atomic PutContent before any link names them.
//  - Concurrent pushes of the same blob each succeed and leave one correct blob (identical content;
//    publishing an existing blob keeps the existing file).
//  - Upload sessions survive restarts: the bytes are on disk; hash state is kept in memory and rebuilt
//    by re-reading `data` when absent (after a restart) or stale.
//
// Thread-safety: all methods are safe to call concurrently. One upload session must not be written by
// two requests at once: OpenUpload waits briefly for a session still held by a request that is ending
// (a client that dropped a PATCH and retries at once), then refuses it (BLOB_UPLOAD_INVALID).
//
// Errors are wire codes (BLOB_UNKNOWN, MANIFEST_UNKNOWN, NAME_UNKNOWN, BLOB_UPLOAD_UNKNOWN,
// DIGEST_INVALID, SIZE_INVALID, MANIFEST_INVALID, MANIFEST_BLOB_UNKNOWN, TAG_INVALID, ...) except
// genuine storage failures, which stay kIo (500).

#include <cstdint>
#include <memory>
#include <condition_variable>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "common/digest.h"
#include "common/error.h"
#include "common/names.h"
#include "common/time.h"
#include "storage/driver/driver.h"
#include "storage/manifest.h"

namespace berth::storage {

struct BlobInfo {
  Digest digest;
  uint64_t size = 0;
};

struct UploadInfo {
  std::string id;
  uint64_t size = 0;  // bytes received so far
  SystemTime started;
};

struct StoredManifest {
  Digest digest;
  std::string media_type;
  std::string bytes;
};

struct PutManifestResult {
  Digest digest;
  std::optional<Digest> subject;
};

struct Referrer {
  Descriptor descriptor;  // media type, digest, size, artifactType, annotations
};

class Registry;

// A writable upload session, open for one request. Write appends to the session's data and its running
// hash. Destroy (or Close) to release the session for the next request.
class UploadWriter {
 public:
  ~UploadWriter();
  UploadWriter(const UploadWriter&) = delete;
  UploadWriter& operator=(const UploadWriter&) = delete;

  Status Write(const char* data, size_t n);
  // A hint that about `bytes` more are coming (a request's Content-Length); see FileWriter::Reserve.
  void Reserve(uint64_t bytes);
  uint64_t size() const { return size_; }
  const std::string& id() const { return id_; }
  // Verifies the data against `expected`, moves it into the blob store and links it into the
  // repository; the session is gone afterwards. On a digest mismatch the session is cancelled
  // (DIGEST_INVALID) and nothing is published. (Size checks against Content-Range belong to the API.)
  Result<BlobInfo> Commit(const Digest& expected);
  // Flushes and releases the session (it stays resumable).
  void Close();

 private:
  friend class Registry;
  UploadWriter(Registry* reg, std::string repo, std::string id, driver::FileWriterPtr writer,
               Hasher hasher);
  Registry* reg_;
  std::string repo_;
  std::string id_;
  driver::FileWriterPtr writer_;
  Hasher hasher_;
  uint64_t size_ = 0;
  bool released_ = false;
};
using UploadWriterPtr = std::unique_ptr<UploadWriter>;

struct RegistryOptions {
  const Clock* clock = &SystemClock();
  size_t manifest_cache_bytes = 32 << 20;  // 0 disables the cache
  // How long a listing (catalog, a repository's tags) may be served from memory. Writes through this
  // Registry invalidate at once; the TTL bounds staleness for writes by other processes sharing the
  // storage. Zero disables listing caches.
  std::chrono::milliseconds listing_ttl{5000};
};

class Registry {
 public:
  Registry(driver::StorageDriverPtr driver, RegistryOptions options = {});
  ~Registry();
  Registry(const Registry&) = delete;
  Registry& operator=(const Registry&) = delete;

  driver::StorageDriver& driver() { return *driver_; }

  // --- repositories
  // True when the repository directory exists at all (any of _layers, _manifests, _uploads).
  Result<bool> RepositoryExists(std::string_view repo);
  // Repositories with a _manifests directory, sorted; at most `n` after `last` (exclusive).
  Result<std::vector<std::string>> Catalog(std::string_view last, size_t n, bool* more);

  // --- blobs
  Result<BlobInfo> StatBlob(std::string_view repo, const Digest& d);
  Result<driver::ReaderPtr> OpenBlob(std::string_view repo, const Digest& d, uint64_t offset);
  Status DeleteBlob(std::string_view repo, const Digest& d);
  // Links a blob `from` has into `repo`. BLOB_UNKNOWN when `from` does not have it.
  Result<BlobInfo> MountBlob(std::string_view repo, std::string_view from, const Digest& d);

  // --- uploads
  Result<UploadInfo> StartUpload(std::string_view repo);
  Result<UploadInfo> GetUpload(std::string_view repo, std::string_view id);
  Result<UploadWriterPtr> OpenUpload(std::string_view repo, std::string_view id);
  Status CancelUpload(std::string_view repo, std::string_view id);
  // Deletes sessions started before `cutoff` in every repository; returns how many.
  Result<size_t> PurgeUploads(SystemTime cutoff, bool dry_run);

  // --- manifests and tags
  // `reference` is a tag or a digest; `content_type` the request's. Validates, stores, links, tags.
  Result<PutManifestResult> PutManifest(std::string_view repo, const Reference& reference,
                                        std::string_view content_type, std::string bytes);
  Result<StoredManifest> GetManifest(std::string_view repo, const Reference& reference);
  // Deletes the revision and every tag that points at it.
  Status DeleteManifest(std::string_view repo, const Digest& d);
  Status DeleteTag(std::string_view repo, std::string_view tag);
  // Sorted tags; NAME_UNKNOWN when the repository does not exist.
  Result<std::vector<std::string>> ListTags(std::string_view repo);
  Result<std::vector<Referrer>> ListReferrers(std::string_view repo, const Digest& subject);

 private:
  friend class UploadWriter;
  struct HashState {
    uint64_t offset;
    Hasher hasher;
  };
  Result<Digest> ReadLink(const std::string& path);
  Result<UploadInfo> StatUpload(std::string_view repo, std::string_view id);
  Result<bool> Exists(const std::string& path);
  Result<Hasher> RehashUpload(std::string_view repo, std::string_view id, DigestAlgorithm alg,
                              uint64_t* size);
  Result<BlobInfo> Publish(std::string_view repo, std::string_view id, const Digest& d,
                           uint64_t size);
  Result<Digest> ResolveTag(std::string_view repo, std::string_view tag);
  Status CheckReferences(std::string_view repo, const ParsedManifest& m);
  void ReleaseUpload(const std::string& key, std::optional<HashState> state);
  static std::string UploadKey(std::string_view repo, std::string_view id);

  // Manifest content is immutable per digest, so bytes and media type can be cached without
  // invalidation; only links (tags, revisions) are re-read on every request.
  std::shared_ptr<const StoredManifest> CachedManifest(const Digest& d);
  void CacheManifest(std::shared_ptr<const StoredManifest> m);

  driver::StorageDriverPtr driver_;
  RegistryOptions options_;
  // Listing cache: "" -> all repositories; "t:<repo>" -> that repository's sorted tags.
  using Listing = std::shared_ptr<const std::vector<std::string>>;
  Listing CachedListing(const std::string& key);
  void CacheListing(const std::string& key, Listing value);
  void InvalidateListing(const std::string& key);
  struct ListingEntry {
    SystemTime at;
    Listing value;
  };
  std::unordered_map<std::string, ListingEntry> listings_;  // Guarded by cache_mu_.

  std::mutex cache_mu_;
  std::unordered_map<std::string, std::shared_ptr<const StoredManifest>> manifest_cache_;  // Guarded.
  size_t manifest_cache_bytes_ = 0;  // Guarded by cache_mu_.
  std::mutex mu_;
  std::condition_variable released_cv_;  // signalled when an upload session is released
  std::unordered_map<std::string, HashState> hash_states_;  // Guarded by mu_.
  std::unordered_map<std::string, bool> open_uploads_;      // Guarded by mu_.
};

}  // namespace berth::storage
