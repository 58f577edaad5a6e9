#pragma once
// The storage decorator that makes every use of a blob or manifest take a lease (gc/lease.h) before
// it reads the stored object, so collection (online, or `berth garbage-collect` in another process)
// never deletes what a client has just been told exists. Installed by the app around the whole
// stack whether or not online collection is enabled.
//
// What counts as a use, and what it leases:
//   BlobStore::Stat / Open (HEAD, GET)       the blob
//   BlobStore::Link / Mount                  the blob
//   UploadWriter::Commit(expected)           `expected` (a commit of bytes already stored only
//                                            links them)
//   ManifestService::Put                     the manifest itself, its config and layers, its
//                                            children; then checks the config and layers are
//                                            still stored (MANIFEST_BLOB_UNKNOWN otherwise), since
//                                            the fs store only checks links
//   ManifestService::Resolve by digest       the manifest
// Leases that cannot be written fail the writes (Link, Mount, Commit, Put: kIo) and are ignored
// for reads (logged): a later write that depends on the read takes its own lease.
//
// Thread-safe.

#include "gc/lease.h"
#include "storage/registry.h"

namespace berth::gc {

storage::NamespacePtr WithLeases(storage::NamespacePtr inner, LeasesPtr leases);

}  // namespace berth::gc
