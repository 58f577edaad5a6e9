#pragma once
// Quotas: a storage decorator (storage/wrappers.h) that charges each blob a repository gains to
// its namespace in the metadata store (Store::ChargeBlob: counted once per unique blob per
// namespace, atomically, so parallel pushes cannot overshoot) and refuses what would exceed the
// namespace's limit with 403 DENIED, the message giving usage and limit:
//   quota exceeded for namespace "acme": 9.5 MiB used of 10.0 MiB; this blob needs 2.0 MiB
//
// Where: UploadWriter::Commit (a push), BlobStore::Link and BlobStore::Mount (a blob that comes
// from elsewhere); UploadService::Start is refused early when the namespace is already full.
// BlobStore::Delete releases the repository's hold (the namespace's usage drops when no
// repository of it holds the blob). Manifests are not counted (they are small and a push cannot
// finish without them). Blobs pushed before the store was configured are not counted.
//
// The charge happens before the blob is linked, and is undone if linking fails. If the store
// cannot be reached the push is refused (503), never let through uncounted.
//
// Thread-safety: as the wrapped services.

#include "meta/store.h"
#include "storage/registry.h"

namespace berth::meta {

storage::NamespacePtr WithQuotas(storage::NamespacePtr inner, StorePtr store);

}  // namespace berth::meta
