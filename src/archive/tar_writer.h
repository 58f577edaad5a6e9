#pragma once
// Writes a POSIX ustar archive to a file, member by member, streaming each member's bytes (a member
// is never held in memory). Sizes of 8 GiB and more use the base-256 size field GNU tar and every
// tar reader in use understand; names longer than ustar's 100 + 155 bytes are refused (the layouts
// written here name members "blobs/sha256/<64 hex>" and shorter).
//
// Write to a temporary name and rename when Finish succeeds: a tar cut short is not an archive.
// Errors: kIo naming the file (with strerror), kInvalidArgument for a bad member name or a member
// whose bytes do not add up to its announced size. Not thread-safe (one writer, one thread).

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "common/error.h"
#include "common/noncopyable.h"

namespace berth::archive {

class TarWriter : NonCopyable {
 public:
  // Creates (truncates) `path`.
  static Result<std::unique_ptr<TarWriter>> Create(const std::string& path);
  ~TarWriter();

  Status AddDirectory(std::string_view name);
  Status AddFile(std::string_view name, std::string_view content);
  // A member of exactly `size` bytes; `read(buf, cap)` returns how many bytes it put in `buf` (0 at
  // the end, which must come exactly after `size` bytes).
  using ReadFn = std::function<Result<size_t>(char* buf, size_t cap)>;
  Status AddStream(std::string_view name, uint64_t size, const ReadFn& read);
  // Writes the end-of-archive blocks, fsyncs and closes.
  Status Finish();

 private:
  explicit TarWriter(int fd, std::string path) : fd_(fd), path_(std::move(path)) {}
  Status WriteHeader(std::string_view name, char type, uint64_t size);
  Status WriteAll(const char* data, size_t n);
  int fd_;
  std::string path_;
};

}  // namespace berth::archive
