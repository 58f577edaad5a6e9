#pragma once
// Import: loads an OCI image layout (directory or tar; see oci_layout.h) into a storage Namespace
// through its interfaces: blobs through upload sessions (UploadWriter::Commit verifies the digest
// of what streamed in; sizes are checked before it), manifests through ManifestService::Put after
// everything they reference. Every manifest's bytes are hashed against the digest that names them
// before they are stored. Blobs the repository already has are not uploaded again; blobs the
// registry has in another repository are linked.
//
// The repository of each index.json entry: ImportOptions::repo when given, else the
// dev.berth.repository annotation, else the name part of io.containerd.image.name (a registry host
// in front, such as "127.0.0.1:5000/", is dropped). The tag: org.opencontainers.image.ref.name when
// it is a valid tag, else the tag part of io.containerd.image.name; entries with neither are stored
// by digest (referrers, untagged manifests).
//
// Errors: kInvalidArgument for a layout that is not one (missing oci-layout, bad index.json, an
// entry without a repository), DIGEST_INVALID / SIZE_INVALID for content that does not match its
// descriptor (naming it), storage errors as the Namespace returns them. What was stored before the
// error stays (each blob and manifest is complete or absent).

#include <cstdint>
#include <functional>
#include <string>

#include "common/error.h"
#include "storage/registry.h"
#include "transfer/layout_files.h"
#include "transfer/progress.h"

namespace berth::transfer {

struct ImportOptions {
  std::string repo;  // overrides the repository of every entry
  Progress* progress = nullptr;
};

struct ImportStats {
  size_t tags = 0;
  size_t manifests = 0;
  size_t blobs_uploaded = 0;
  size_t blobs_linked = 0;   // in the registry already, linked into the repository
  size_t blobs_present = 0;  // the repository had them
  uint64_t bytes_uploaded = 0;
};

// Streams exactly `size` bytes from `read` into `repo` as blob `d` through an upload session
// (cancelled on failure; Commit verifies the digest). kSizeInvalid when `read` gives another length.
using BlobReadFn = std::function<Result<size_t>(char* buf, size_t cap)>;
Status StoreBlob(storage::Namespace& ns, const std::string& repo, const Digest& d, uint64_t size,
                 const BlobReadFn& read, Progress* progress);

Result<ImportStats> ImportLayout(LayoutReader& in, storage::Namespace& ns,
                                 const ImportOptions& options);

}  // namespace berth::transfer
