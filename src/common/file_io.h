#pragma once
// Small POSIX file helpers shared by the modules that write their own files (queues, archives,
// layouts). Thread-safe (no shared state). Errors are kIo and name the operation, the path and
// errno's text.
#include <string>
#include <string_view>

#include "common/error.h"

namespace berth {

// kIo "<what> <path>: <strerror(errno)>", read at the call.
Error ErrnoError(std::string_view what, std::string_view path);
// Writes all of `data` to `fd`, retrying short writes and EINTR. `path` names the file in errors.
Status WriteAll(int fd, std::string_view data, std::string_view path);
// fsync of a directory, so that a rename or create in it survives a crash.
Status SyncDir(const std::string& dir);

}  // namespace berth
