#pragma once
// The storage driver contract: a narrow key/value store over slash-separated paths, in the spirit of
// Distribution's StorageDriver. Registry semantics (blobs, manifests, tags) live above it in storage/.
//
// Paths are absolute, '/'-separated, made of components matching [A-Za-z0-9._-]+ (no "." or ".."
// components, no empty components, no trailing slash except for the root "/"). A driver rejects any
// other path with kInvalidPath before touching storage.
//
// Thread-safety: every driver is safe to call from many threads at once. A Reader or FileWriter object
// is used by one thread at a time.
//
// Errors (internal codes from common/error.h; stores translate them):
//   kNotFound       the path (or, for List, the directory) does not exist
//   kInvalidPath    the path fails the rules above
//   kInvalidOffset  Reader offset beyond the end of the object
//   kIo             anything else (disk full, permissions, ...), with the OS message
//
// Atomicity: PutContent and Move are atomic (readers see the old or the new content, never a mix).
// A FileWriter's bytes become visible at the path as they are written (the upload area relies on this
// to resume); publish-by-Move is how content becomes visible atomically elsewhere.

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "common/error.h"
#include "common/time.h"

namespace berth::storage::driver {

struct FileInfo {
  std::string path;
  uint64_t size = 0;  // 0 for directories
  SystemTime mod_time;
  bool is_dir = false;
};

// Sequential reader from an offset. Read returns 0 at the end.
class Reader {
 public:
  virtual ~Reader() = default;
  virtual Result<size_t> Read(char* buf, size_t cap) = 0;
  // The OS file descriptor and the current offset, when the driver has one (filesystem); -1 otherwise.
  // Lets the HTTP layer choose sendfile where it measures faster.
  virtual int NativeFd() const { return -1; }
};
using ReaderPtr = std::unique_ptr<Reader>;

// Appending writer. Bytes written are durable in the driver's sense once Write returns (filesystem: in
// the page cache). Commit marks the end (drivers with multipart semantics finish the object); Cancel
// deletes what was written. Destroying an uncommitted writer keeps the bytes (an interrupted upload stays
// resumable).
class FileWriter {
 public:
  virtual ~FileWriter() = default;
  virtual Status Write(const char* data, size_t n) = 0;
  // A hint that about `bytes` more are coming. Drivers that can allocate ahead do so (filesystem:
  // fallocate past the end, the size unchanged); the object's bytes and size do not change. Never
  // fails: Write reports a real shortage of space.
  virtual void Reserve(uint64_t bytes) { (void)bytes; }
  // Bytes in the object, including those present before an append.
  virtual uint64_t Size() const = 0;
  virtual Status Commit() = 0;
  virtual Status Cancel() = 0;
};
using FileWriterPtr = std::unique_ptr<FileWriter>;

class StorageDriver {
 public:
  virtual ~StorageDriver() = default;
  virtual std::string_view Name() const = 0;

  // Whole small objects (links, manifests). kNotFound if absent.
  virtual Result<std::string> GetContent(std::string_view path) = 0;
  // Creates parents as needed; atomic replace.
  virtual Status PutContent(std::string_view path, std::string_view content) = 0;

  virtual Result<ReaderPtr> NewReader(std::string_view path, uint64_t offset) = 0;
  // append=false truncates (or creates); append=true continues an existing object (creating it if absent).
  virtual Result<FileWriterPtr> NewWriter(std::string_view path, bool append) = 0;

  virtual Result<FileInfo> Stat(std::string_view path) = 0;
  // Full paths of the direct children of a directory, in no particular order. kNotFound if absent.
  virtual Result<std::vector<std::string>> List(std::string_view path) = 0;
  // Atomic rename; replaces dst; creates dst's parents. kNotFound if src is absent.
  virtual Status Move(std::string_view src, std::string_view dst) = 0;
  // Deletes a file or a whole directory tree. kNotFound if absent.
  virtual Status Delete(std::string_view path) = 0;
  // A URL the client may fetch the object from directly, or "" when the driver has none.
  virtual Result<std::string> RedirectURL(std::string_view path, std::string_view method) {
    return std::string();
  }
  // Depth-first over every file and directory under `path` (not including it), parents before children,
  // children in lexical order. The callback returns false to skip a directory's children.
  virtual Status Walk(std::string_view path, const std::function<bool(const FileInfo&)>& fn);
};
using StorageDriverPtr = std::shared_ptr<StorageDriver>;

// Validates a driver path by the rules at the top of this file.
Status ValidatePath(std::string_view path);

// Drivers, registered here explicitly (no static-init magic).
StorageDriverPtr NewInMemoryDriver();
// Root directory is created if absent. Errors: kIo when it cannot be created or is not a directory.
Result<StorageDriverPtr> NewFilesystemDriver(const std::string& root_directory);

}  // namespace berth::storage::driver
