#pragma once
// The registry's storage services, as interfaces (Distribution's Namespace / BlobStore /
// ManifestService / TagService split). The filesystem-layout implementations live in storage/fs/,
// caching decorators in storage/cache/, forwarding bases for decorators in storage/wrappers.h, and
// storage/factory.h assembles the default stack. Features (notifications, pull-through proxy,
// quotas, GC) plug in as decorators or other implementations of these interfaces.
//
// Repository-scoped services take the repository name as their first argument instead of handing
// out a Repository object per name: a request then builds nothing per repository (manifest GET and
// blob HEAD are hot paths). `Namespace` is the root: it answers for the set of repositories and
// gives the services every repository shares. Names, tags and digests given to any method are
// already validated (common/names.h, common/digest.h); implementations must still never let an
// upload id escape its area.
//
// Guarantees every implementation keeps:
//  - Nothing half-written is visible: blob bytes go to the upload area, are verified (digest,
//  size),
//    then published in one atomic step and only then linked into the repository. Manifest content
//    is stored before any link names it; a tag is written only after its manifest is linked.
//  - Concurrent pushes of the same blob each succeed and leave one correct blob.
//  - Upload sessions survive restarts (the bytes are stored; hash state is rebuilt when absent).
//  - One upload session has at most one writer: UploadService::Open waits briefly (about 2 s) for a
//    session still held by a request that is ending (a client that dropped a PATCH and retries at
//    once), then refuses it with BLOB_UPLOAD_INVALID.
//
// Thread-safety: every method of every interface here is safe to call concurrently. An UploadWriter
// is used by one thread at a time.
//
// Errors are wire codes (common/error.h) except genuine storage failures, which stay kIo (500) and
// leave no partial state behind (see each method).

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
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

// Content-addressed blobs: one global store shared by all repositories, and each repository's links
// into it (a repository "has" a blob when it is linked).
class BlobStore {
 public:
  virtual ~BlobStore() = default;

  // --- a repository's blobs (linked)
  // BLOB_UNKNOWN when `repo` has no link to `d`, or the link's data is gone.
  virtual Result<BlobInfo> Stat(std::string_view repo, const Digest& d) = 0;
  // A reader from `offset` (kInvalidOffset past the end). BLOB_UNKNOWN as for Stat.
  virtual Result<driver::ReaderPtr> Open(std::string_view repo, const Digest& d,
                                         uint64_t offset) = 0;
  // Removes the link only (the global blob is GC's to delete). BLOB_UNKNOWN when not linked.
  virtual Status Delete(std::string_view repo, const Digest& d) = 0;
  // Links a blob already in the global store into `repo`. BLOB_UNKNOWN when it is not there.
  virtual Result<BlobInfo> Link(std::string_view repo, const Digest& d) = 0;
  // Links a blob `from` has into `repo`. BLOB_UNKNOWN when `from` does not have it.
  virtual Result<BlobInfo> Mount(std::string_view repo, std::string_view from, const Digest& d) = 0;

  // --- the global store
  // BLOB_UNKNOWN when absent.
  virtual Result<BlobInfo> StatGlobal(const Digest& d) = 0;
  // Deletes the content itself (garbage collection). Links naming it then answer BLOB_UNKNOWN.
  // BLOB_UNKNOWN when absent.
  virtual Status DeleteGlobal(const Digest& d) = 0;
};

// A writable upload session, open for one request. Write appends to the session's data and its
// running hash. Destroy (or Close) to release the session for the next request.
class UploadWriter {
 public:
  virtual ~UploadWriter() = default;
  // kIo on a storage failure (the bytes before it stay; the session stays resumable);
  // BLOB_UPLOAD_UNKNOWN after Commit or Close.
  virtual Status Write(const char* data, size_t n) = 0;
  // A hint that about `bytes` more are coming (a request's Content-Length); see
  // FileWriter::Reserve.
  virtual void Reserve(uint64_t bytes) = 0;
  virtual uint64_t size() const = 0;
  virtual const std::string& id() const = 0;
  // Verifies the data against `expected`, publishes it and links it into the repository; the
  // session is gone afterwards. DIGEST_INVALID (session cancelled, nothing published) on a
  // mismatch; kIo on a storage failure (nothing linked). Size checks against Content-Range belong
  // to the API.
  virtual Result<BlobInfo> Commit(const Digest& expected) = 0;
  // Flushes and releases the session (it stays resumable).
  virtual void Close() = 0;
};
using UploadWriterPtr = std::unique_ptr<UploadWriter>;

// Upload sessions of a repository. Session ids are opaque; anything not shaped like one is
// BLOB_UPLOAD_UNKNOWN before it reaches storage.
class UploadService {
 public:
  virtual ~UploadService() = default;
  virtual Result<UploadInfo> Start(std::string_view repo) = 0;
  // BLOB_UPLOAD_UNKNOWN when there is no such session.
  virtual Result<UploadInfo> Get(std::string_view repo, std::string_view id) = 0;
  // BLOB_UPLOAD_UNKNOWN; BLOB_UPLOAD_INVALID when another request holds the session (see the top).
  virtual Result<UploadWriterPtr> Open(std::string_view repo, std::string_view id) = 0;
  // BLOB_UPLOAD_UNKNOWN when there is no such session.
  virtual Status Cancel(std::string_view repo, std::string_view id) = 0;
  // Deletes sessions started before `cutoff` in every repository; returns how many (would be)
  // deleted.
  virtual Result<size_t> Purge(SystemTime cutoff, bool dry_run) = 0;
};

// Tags of a repository: names pointing at manifests.
class TagService {
 public:
  virtual ~TagService() = default;
  // MANIFEST_UNKNOWN when the tag does not exist.
  virtual Result<Digest> Resolve(std::string_view repo, std::string_view tag) = 0;
  // Points `tag` at `d` (which the caller has linked into `repo`), keeping the tag's history.
  virtual Status Tag(std::string_view repo, std::string_view tag, const Digest& d) = 0;
  // MANIFEST_UNKNOWN when the tag does not exist.
  virtual Status Untag(std::string_view repo, std::string_view tag) = 0;
  // Sorted. NAME_UNKNOWN when the repository has no manifests directory.
  virtual Result<std::vector<std::string>> List(std::string_view repo) = 0;
  // Tags currently pointing at `d` (sorted; empty when none).
  virtual Result<std::vector<std::string>> Lookup(std::string_view repo, const Digest& d) = 0;
};

// Manifests of a repository (OCI manifest/index, Docker schema 2 and manifest list).
class ManifestService {
 public:
  virtual ~ManifestService() = default;
  // `reference` is a tag or a digest; `content_type` the request's. Validates (MANIFEST_INVALID,
  // DIGEST_INVALID, MANIFEST_BLOB_UNKNOWN), stores the content, links it, maintains the referrers
  // index, and tags it last. A storage failure (kIo) never leaves a tag naming a missing manifest.
  virtual Result<PutManifestResult> Put(std::string_view repo, const Reference& reference,
                                        std::string_view content_type, std::string bytes) = 0;
  // The digest `reference` names in `repo`, checked to be linked there. MANIFEST_UNKNOWN.
  virtual Result<Digest> Resolve(std::string_view repo, const Reference& reference) = 0;
  // The content of a manifest the caller has resolved in `repo` (no link check: content is
  // immutable per digest). MANIFEST_UNKNOWN when its data is gone.
  virtual Result<StoredManifest> Read(std::string_view repo, const Digest& d) = 0;
  // Deletes the revision, every tag pointing at it first, and its referrers-index entry.
  // MANIFEST_UNKNOWN when not linked.
  virtual Status Delete(std::string_view repo, const Digest& d) = 0;

  // Resolve, then Read.
  Result<StoredManifest> Get(std::string_view repo, const Reference& reference) {
    BERTH_ASSIGN_OR_RETURN(Digest d, Resolve(repo, reference));
    return Read(repo, d);
  }
};

// The referrers index (manifests whose `subject` is a given digest).
class ReferrerService {
 public:
  virtual ~ReferrerService() = default;
  // In digest order; empty when none (also for an unknown repository).
  virtual Result<std::vector<Referrer>> List(std::string_view repo, const Digest& subject) = 0;
};

// The root: the set of repositories and the services they share.
class Namespace {
 public:
  virtual ~Namespace() = default;
  // True when the repository directory exists at all (blobs, manifests or uploads).
  virtual Result<bool> RepositoryExists(std::string_view repo) = 0;
  // Repositories that have manifests, sorted; at most `n` after `last` (exclusive); `*more` tells
  // whether any follow. Implementations keep this off the storage walk where they can (see
  // cache/listing_index.h): the answer may lag writes by other processes until the next Reconcile.
  virtual Result<std::vector<std::string>> Catalog(std::string_view last, size_t n, bool* more) = 0;
  // Brings derived listings (catalog, tag lists) in line with storage, for writes made by other
  // processes. Runs in the background (a scheduler job); may take time proportional to the
  // registry. Never loses a write made through this Namespace while it runs. Ok() when nothing is
  // derived.
  virtual Status Reconcile() = 0;

  virtual BlobStore& Blobs() = 0;
  virtual UploadService& Uploads() = 0;
  virtual ManifestService& Manifests() = 0;
  virtual TagService& Tags() = 0;
  virtual ReferrerService& Referrers() = 0;
};
using NamespacePtr = std::shared_ptr<Namespace>;

}  // namespace berth::storage
