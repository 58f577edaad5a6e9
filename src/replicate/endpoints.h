#pragma once
// The two sides of a copy (replicate::Copier): a Source images are read from and a Destination they
// are written to. Each has a remote implementation over client/ (any OCI distribution registry)
// and a local one over this registry's storage stack (storage::Namespace), so a replication rule
// pushes from here to there (local source, remote destination) or pulls from there into here
// (remote source, local destination), and `berth sync` copies between two remotes.
//
// Errors: as client/registry.h for the remote sides (UNAVAILABLE / TOOMANYREQUESTS mean "down",
// see client::IsUpstreamDown, and are what the copier retries); storage errors as the Namespace
// returns them for the local sides. Absent things are not errors where the method says so.
// Thread-safety: every method is thread-safe (the client and the Namespace are); a BlobStream is
// used by one thread. Remote calls block: call them off event loops.

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "client/http.h"
#include "client/registry.h"
#include "common/digest.h"
#include "common/error.h"
#include "storage/registry.h"

namespace berth::replicate {

struct Manifest {
  Digest digest;  // as the side names it (checked against the bytes by the copier)
  std::string media_type;
  std::string bytes;
};

// A blob's bytes, in order; the owner keeps whatever the reader reads from alive.
struct BlobStream {
  std::shared_ptr<void> owner;
  client::BodyReader read;
};

class Source {
 public:
  virtual ~Source() = default;
  virtual std::string Name() const = 0;  // for messages: the URL, or "this registry"
  // MANIFEST_UNKNOWN / NAME_UNKNOWN when absent.
  virtual Result<Manifest> GetManifest(const std::string& repo, const std::string& ref) = 0;
  // BLOB_UNKNOWN when absent.
  virtual Result<BlobStream> OpenBlob(const std::string& repo, const Digest& d) = 0;
  // The manifests whose subject is `d`; empty when none or when the side has no referrers API.
  virtual Result<std::vector<Digest>> Referrers(const std::string& repo, const Digest& d) = 0;
  // Every repository (paged through), and every tag of one (NAME_UNKNOWN when it has none).
  virtual Result<std::vector<std::string>> Repositories() = 0;
  virtual Result<std::vector<std::string>> Tags(const std::string& repo) = 0;
};

class Destination {
 public:
  virtual ~Destination() = default;
  virtual std::string Name() const = 0;
  // The digest `ref` (tag or digest) names, or nullopt when absent.
  virtual Result<std::optional<Digest>> ManifestDigest(const std::string& repo,
                                                       const std::string& ref) = 0;
  virtual Result<bool> HasBlob(const std::string& repo, const Digest& d) = 0;
  // True when `repo` now has `d` without an upload (a cross-repository mount, or a link to a blob
  // the registry holds already); false when an upload is needed. `from` is a repository of this
  // destination known to have `d`, or "" when none is (a remote side then answers false unasked).
  virtual Result<bool> Mount(const std::string& repo, const std::string& from, const Digest& d) = 0;
  // Stores exactly `size` bytes read from `body` as `d` (verified by the receiving side).
  virtual Status PutBlob(const std::string& repo, const Digest& d, uint64_t size,
                         const client::BodyReader& body) = 0;
  // `ref` is a tag or `d` itself.
  virtual Status PutManifest(const std::string& repo, const std::string& ref,
                             const std::string& media_type, const std::string& bytes,
                             const Digest& d) = 0;
  // MANIFEST_UNKNOWN when absent.
  virtual Status DeleteManifest(const std::string& repo, const Digest& d) = 0;
  // Removes a tag only. MANIFEST_UNKNOWN when absent; UNSUPPORTED when the side cannot (a
  // Distribution 2.8 registry deletes manifests, not tags).
  virtual Status DeleteTag(const std::string& repo, const std::string& tag) = 0;
};

using SourcePtr = std::unique_ptr<Source>;
using DestinationPtr = std::unique_ptr<Destination>;

// `chunk_bytes`: blobs larger than this go up in PATCH chunks of this size.
SourcePtr RemoteSource(client::RegistryClient& reg);
DestinationPtr RemoteDestination(client::RegistryClient& reg, uint64_t chunk_bytes);
// Over a storage stack (the app's, with its decorators: quotas, immutability, leases apply).
SourcePtr LocalSource(storage::NamespacePtr ns);
DestinationPtr LocalDestination(storage::NamespacePtr ns);

}  // namespace berth::replicate
