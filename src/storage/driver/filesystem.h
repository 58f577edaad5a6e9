#pragma once
// The filesystem driver: driver path "/a/b" is the file <root>/a/b, byte for byte, so a directory
// written by Distribution's registry:2 (rootdirectory) is readable here and vice versa. See
// driver.h for the contract; the filesystem-specific points are:
//
//   - PutContent writes "<dir>/.berth-tmp-<random>" and rename(2)s it over the target: the only
//     temporaries (driver.h). List and Walk never report them; PurgeTemporaries removes those a
//     crash left behind. List also skips entries whose names are not valid path components (e.g.
//     "lost+found"), since no driver call could address them.
//   - Reading a directory as an object (GetContent, NewReader) is kNotFound: there is no object at
//     that path. Listing a file is kNotFound likewise. Writing where a directory is (PutContent,
//     NewWriter, Move over a non-empty directory) or below a file is kIo.
//   - GetContent refuses objects larger than kMaxGetContentSize with kIo; it is for links and
//     manifests.
//   - Directories are created 0755 and files 0644 (before umask), as Distribution does. Parents are
//     created as needed and left in place by Delete and Move.
//   - Delete("/") empties the root but keeps it; Move to or from "/" is kInvalidPath.
//   - kIo messages carry the operation, the OS path and strerror, e.g.
//     "open /var/lib/registry/docker/...: Permission denied"; a full disk or quota (ENOSPC,
//     EDQUOT) reads "no space left on storage writing <OS path> (No space left on device)".
//   - FileWriter::Reserve allocates (fallocate KEEP_SIZE) at most FilesystemOptions::reserve_window
//     past the end, and no further ahead than the bytes this writer has received so far (with a
//     1 MiB floor); what lies past the data is given back (truncate to the size, punch the tail)
//     on Commit and on destruction, and on NewWriter(append) for a writer killed with the process.
//
// Thread-safe, like every driver. Concurrent mkdir -p of the same parents is tolerated.

#include <cstdint>
#include <string>

#include "storage/driver/driver.h"

namespace berth::storage::driver {

inline constexpr uint64_t kMaxGetContentSize = uint64_t{64} << 20;

struct FilesystemOptions {
  // fdatasync(2) a FileWriter's data on Commit. Off by default, as in Distribution (no fsync at
  // all): uploads are published by rename and a crash loses at most the tail of an unfinished
  // upload.
  bool sync_on_commit = false;
  // The most a FileWriter allocates past the bytes written when told more are coming (Reserve).
  // 0 turns preallocation off.
  uint64_t reserve_window = uint64_t{64} << 20;
};

// As NewFilesystemDriver(root) in driver.h, with options.
Result<StorageDriverPtr> NewFilesystemDriver(const std::string& root_directory,
                                             const FilesystemOptions& options);

}  // namespace berth::storage::driver
