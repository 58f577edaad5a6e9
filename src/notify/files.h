#pragma once
// Small durable-file helpers the queue, the dead-letter file and the audit log share. POSIX only.
// Thread-safe (no shared state). Errors: kIo naming the path and errno's text.

#include <string>
#include <string_view>

#include "common/error.h"
#include "common/file_io.h"  // WriteAll, SyncDir

namespace berth::notify {

// mkdir -p.
Status MakeDirs(const std::string& dir);
// Replaces `path` with `content` atomically: write path.tmp, fsync, rename, fsync the directory.
Status WriteFileAtomic(const std::string& path, std::string_view content);
// The whole file; kNotFound-like kIo when missing is reported as an empty optional by callers.
Result<std::string> ReadWholeFile(const std::string& path);
// CRC-32 (IEEE) of `data`, continuing from `crc`.
uint32_t Crc32(std::string_view data, uint32_t crc = 0);

}  // namespace berth::notify
