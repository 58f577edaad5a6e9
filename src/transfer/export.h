#pragma once
// Export: writes the images of a Snapshot (snapshot.h) from a storage Namespace into an OCI image
// layout (oci_layout.h) or a docker-archive (`docker load`'s format), through a LayoutWriter
// (directory or tar). Everything goes through the storage interfaces; every manifest and blob is
// re-hashed as it is read and a mismatch stops the export (DIGEST_INVALID naming it).
//
// What is included for each tag: the manifest, for an index every child manifest, every config and
// layer blob, and the referrers (signatures, SBOMs) of each of those manifests, recursively.
// Foreign layers (descriptors with "urls") that the registry does not hold are left out, as the
// OCI spec allows for non-distributable content.
//
// Blobs already present in a directory output are not copied again (counted as present): backups
// rely on this to be incremental.
//
// Errors: storage errors as returned; kInvalidArgument when nothing matches. A tag whose manifest
// was deleted after the snapshot is skipped and listed in ExportStats::skipped.

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "common/error.h"
#include "storage/registry.h"
#include "transfer/layout_files.h"
#include "transfer/progress.h"
#include "transfer/snapshot.h"

namespace berth::transfer {

struct ExportOptions {
  // Backups: every manifest revision a repository has, tagged or not; untagged ones (and those not
  // reached from a tag) are written as index entries without a tag.
  std::function<Result<std::vector<Digest>>(const std::string& repo)> list_revisions;
  // Extra small files written before index.json (backups: berth-backup.json).
  std::vector<std::pair<std::string, std::string>> extra_files;
  Progress* progress = nullptr;
};

struct ExportStats {
  size_t tags = 0;
  size_t manifests = 0;
  size_t blobs_written = 0;  // blobs (layers, configs) copied now
  size_t blobs_present = 0;  // blobs the output already held (or shared by several images)
  uint64_t bytes_written = 0;
  std::vector<std::string> skipped;  // "repo:tag (why)"
};

Result<ExportStats> ExportOciLayout(storage::Namespace& ns, const Snapshot& snapshot,
                                    LayoutWriter& out, const ExportOptions& options);

// docker-archive: manifest.json ([{Config, RepoTags, Layers}]), each config and layer as a file
// under blobs/sha256/. Image indexes are resolved to the manifest for `os`/`arch` (the host's by
// default); the choice is reported through the Progress note. Referrers are not part of the format.
struct DockerArchiveOptions {
  std::string os = "linux";
  std::string arch;  // empty: the host's (amd64, arm64, ...)
  Progress* progress = nullptr;
};
Result<ExportStats> ExportDockerArchive(storage::Namespace& ns, const Snapshot& snapshot,
                                        LayoutWriter& out, const DockerArchiveOptions& options);

// The host's architecture in OCI terms ("amd64", "arm64", ...).
std::string HostArchitecture();

}  // namespace berth::transfer
