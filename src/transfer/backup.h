#pragma once
// Backup, verification and restore of a whole registry, as an OCI image layout directory
// (oci_layout.h) plus berth-backup.json:
//
//   Backup   snapshot every tag's current digest first (one instant), then copy manifests (with
//            their children, referrers and every untagged revision), then blobs; blobs are
//            content-addressed files, so one already in DEST is not copied again and a second
//            backup copies only the new ones (counted in ExportStats::blobs_written). index.json
//            is replaced last, atomically: an interrupted backup leaves the previous one intact.
//            Safe while the registry serves (reads only; pushes during it are in the next one).
//   Verify   re-hashes every blob file, then checks that everything index.json reaches is there.
//   Restore  imports the layout into a registry whose storage holds no repositories and no blobs
//            (anything else is refused, kInvalidArgument, so a restore never mixes with live data).
//
// Errors as export.h and import.h; Verify returns DIGEST_INVALID/SIZE_INVALID/BLOB_UNKNOWN naming
// the first bad file. Not thread-safe per call; calls share nothing.

#include <cstdint>
#include <string>

#include "common/error.h"
#include "storage/driver/driver.h"
#include "storage/registry.h"
#include "transfer/export.h"
#include "transfer/import.h"
#include "transfer/progress.h"

namespace berth::transfer {

inline constexpr std::string_view kBackupInfoFile = "berth-backup.json";

Result<ExportStats> Backup(storage::Namespace& ns, storage::driver::StorageDriver& driver,
                           const std::string& dest, Progress* progress);

struct VerifyStats {
  size_t blobs = 0;  // files re-hashed
  uint64_t bytes = 0;
  size_t entries = 0;    // index.json entries checked
  size_t manifests = 0;  // manifests reached from them
};
Result<VerifyStats> VerifyLayout(LayoutReader& in, Progress* progress);

Result<ImportStats> Restore(LayoutReader& in, storage::Namespace& ns,
                            storage::driver::StorageDriver& driver, Progress* progress);

// Every manifest revision `repo` has (linked under _manifests/revisions), through the driver and
// the layout's one path mapper.
Result<std::vector<Digest>> ListRevisions(storage::driver::StorageDriver& driver,
                                          const std::string& repo);

}  // namespace berth::transfer
