#pragma once
// The storage driver contract: a narrow key/value store over slash-separated paths, in the spirit
// of Distribution's StorageDriver. Registry semantics (blobs, manifests, tags) live above it in
// storage/.
//
// Paths are absolute, '/'-separated, made of components matching [A-Za-z0-9._-]+ (no "." or ".."
// components, no empty components, no trailing slash except for the root "/"). Components starting
// with ".berth-tmp-" are reserved for drivers' temporaries (see below). Any other path is rejected
// with kInvalidPath before it reaches a driver.
//
// Path validation has one choke point: the public methods of StorageDriver are non-virtual; each
// validates its path(s) with ValidatePath and only then calls the protected virtual Do* method a
// driver implements. A concrete driver (or a decorator) therefore never sees an invalid path and
// never validates one itself. Decorators derive from DriverWrapper (LevelDB's EnvWrapper idea):
// every Do* forwards to the wrapped driver's public method, so a decorator overrides only what it
// changes. ReaderWrapper and FileWriterWrapper do the same for readers and writers.
//
// Thread-safety: every driver is safe to call from many threads at once. A Reader or FileWriter
// object is used by one thread at a time, and a path has at most one open FileWriter at a time (the
// stores guarantee it: an upload is leased to one request).
//
// Errors (internal codes from common/error.h; stores translate them):
//   kNotFound       the path (or, for List, the directory) does not exist
//   kInvalidPath    the path fails the rules above
//   kInvalidOffset  Reader offset beyond the end of the object
//   kIo             anything else (permissions, ...), with the OS message. When the storage is full
//                   (ENOSPC, EDQUOT) the message starts "no space left on storage writing <path>";
//                   the driver counts it (Counters().storage_full) and logs it at error level once
//                   per episode (again only after a write has succeeded since).
//
// Atomicity: PutContent and Move are atomic (readers see the old or the new content, never a mix).
// A FileWriter's bytes become visible at the path as they are written (the upload area relies on
// this to resume); publish-by-Move is how content becomes visible atomically elsewhere.
//
// Temporaries: a driver may keep temporary objects only as "<dir>/.berth-tmp-<hex>" beside the
// target of a PutContent, in any directory (filesystem: the file later renamed over the target).
// They are never addressable (the reserved prefix above), never returned by List or Walk, and a
// crash can leave one behind; PurgeTemporaries removes those older than a cutoff, which callers
// choose far enough in the past that no write in flight is touched.

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
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
  // The OS file descriptor and the current offset, when the driver has one (filesystem); -1
  // otherwise. Lets the HTTP layer choose sendfile where it measures faster.
  virtual int NativeFd() const { return -1; }
};
using ReaderPtr = std::unique_ptr<Reader>;

// Appending writer. Bytes written are durable in the driver's sense once Write returns (filesystem:
// in the page cache). Commit marks the end (drivers with multipart semantics finish the object);
// Cancel deletes what was written. Destroying an uncommitted writer keeps the bytes (an interrupted
// upload stays resumable).
class FileWriter {
 public:
  virtual ~FileWriter() = default;
  virtual Status Write(const char* data, size_t n) = 0;
  // A hint that about `bytes` more are coming. Drivers that can allocate ahead do so, but never
  // more than a bounded window past the bytes actually written (filesystem: fallocate up to 64 MiB
  // past the end, growing as bytes arrive, the size unchanged), and give back what lies beyond the
  // data when the writer is committed, cancelled or destroyed: an announced length that never
  // arrives cannot hold storage. The object's bytes and size do not change. Never fails: Write
  // reports a real shortage of space.
  virtual void Reserve(uint64_t bytes) { (void)bytes; }
  // Bytes in the object, including those present before an append.
  virtual uint64_t Size() const = 0;
  virtual Status Commit() = 0;
  virtual Status Cancel() = 0;
};
using FileWriterPtr = std::unique_ptr<FileWriter>;

// What a driver has counted since it was made. Thread-safe to read.
struct DriverCounters {
  uint64_t storage_full = 0;  // writes that failed because the storage was full (ENOSPC, EDQUOT)
};

class StorageDriver {
 public:
  virtual ~StorageDriver() = default;
  virtual std::string_view Name() const = 0;

  // Whole small objects (links, manifests). kNotFound if absent.
  Result<std::string> GetContent(std::string_view path);
  // Creates parents as needed; atomic replace.
  Status PutContent(std::string_view path, std::string_view content);

  Result<ReaderPtr> NewReader(std::string_view path, uint64_t offset);
  // append=false truncates (or creates); append=true continues an existing object (creating it if
  // absent).
  Result<FileWriterPtr> NewWriter(std::string_view path, bool append);

  Result<FileInfo> Stat(std::string_view path);
  // Full paths of the direct children of a directory, in no particular order. kNotFound if absent.
  Result<std::vector<std::string>> List(std::string_view path);
  // Atomic rename; replaces dst; creates dst's parents. kNotFound if src is absent.
  Status Move(std::string_view src, std::string_view dst);
  // Deletes a file or a whole directory tree. kNotFound if absent.
  Status Delete(std::string_view path);
  // A URL the client may fetch the object from directly, or "" when the driver has none.
  Result<std::string> RedirectURL(std::string_view path, std::string_view method);
  // Depth-first over every file and directory under `path` (not including it), parents before
  // children, children in lexical order. The callback returns false to skip a directory's children.
  Status Walk(std::string_view path, const std::function<bool(const FileInfo&)>& fn);

  // Removes temporaries (see the top of this file) last modified before `cutoff`; returns how many.
  // Drivers without temporaries return 0. Safe to run while the driver serves.
  virtual Result<size_t> PurgeTemporaries(SystemTime cutoff) { return size_t{0}; }
  virtual DriverCounters Counters() const { return {}; }

 protected:
  // A decorator forwards to its target's Do* methods: the path was validated once, at the
  // outermost public call (validating again at every layer was a measurable share of a manifest
  // GET with metrics on).
  friend class DriverWrapper;
  // What a driver implements; called only with paths that passed ValidatePath.
  virtual Result<std::string> DoGetContent(std::string_view path) = 0;
  virtual Status DoPutContent(std::string_view path, std::string_view content) = 0;
  virtual Result<ReaderPtr> DoNewReader(std::string_view path, uint64_t offset) = 0;
  virtual Result<FileWriterPtr> DoNewWriter(std::string_view path, bool append) = 0;
  virtual Result<FileInfo> DoStat(std::string_view path) = 0;
  virtual Result<std::vector<std::string>> DoList(std::string_view path) = 0;
  virtual Status DoMove(std::string_view src, std::string_view dst) = 0;
  virtual Status DoDelete(std::string_view path) = 0;
  virtual Result<std::string> DoRedirectURL(std::string_view path, std::string_view method) {
    return std::string();
  }
  // Defaults to WalkByListing.
  virtual Status DoWalk(std::string_view path, const std::function<bool(const FileInfo&)>& fn) {
    return WalkByListing(path, fn);
  }

  // The generic walk: this driver's own List and Stat (so a decorator's List/Stat apply inside it).
  // Entries that vanish mid-walk are skipped.
  Status WalkByListing(std::string_view path, const std::function<bool(const FileInfo&)>& fn);
};
using StorageDriverPtr = std::shared_ptr<StorageDriver>;

// A decorator base: every method forwards to the wrapped driver (to its Do* methods: paths are
// validated once, by the outermost public call). Derive and override the Do* methods (and Name,
// PurgeTemporaries, Counters) that the decorator changes, forwarding with DriverWrapper::Do*; the
// rest stay the target's. Thread-safe if the target is.
class DriverWrapper : public StorageDriver {
 public:
  explicit DriverWrapper(StorageDriverPtr target) : target_(std::move(target)) {}
  StorageDriver& target() const { return *target_; }

  std::string_view Name() const override { return target_->Name(); }
  Result<size_t> PurgeTemporaries(SystemTime cutoff) override {
    return target_->PurgeTemporaries(cutoff);
  }
  DriverCounters Counters() const override { return target_->Counters(); }

 protected:
  Result<std::string> DoGetContent(std::string_view path) override {
    return target_->DoGetContent(path);
  }
  Status DoPutContent(std::string_view path, std::string_view content) override {
    return target_->DoPutContent(path, content);
  }
  Result<ReaderPtr> DoNewReader(std::string_view path, uint64_t offset) override {
    return target_->DoNewReader(path, offset);
  }
  Result<FileWriterPtr> DoNewWriter(std::string_view path, bool append) override {
    return target_->DoNewWriter(path, append);
  }
  Result<FileInfo> DoStat(std::string_view path) override { return target_->DoStat(path); }
  Result<std::vector<std::string>> DoList(std::string_view path) override {
    return target_->DoList(path);
  }
  Status DoMove(std::string_view src, std::string_view dst) override {
    return target_->DoMove(src, dst);
  }
  Status DoDelete(std::string_view path) override { return target_->DoDelete(path); }
  Result<std::string> DoRedirectURL(std::string_view path, std::string_view method) override {
    return target_->DoRedirectURL(path, method);
  }
  Status DoWalk(std::string_view path, const std::function<bool(const FileInfo&)>& fn) override {
    return target_->DoWalk(path, fn);
  }

 private:
  StorageDriverPtr target_;
};

// Forwarding bases for decorators of readers and writers, as DriverWrapper is for drivers.
class ReaderWrapper : public Reader {
 public:
  explicit ReaderWrapper(ReaderPtr target) : target_(std::move(target)) {}
  Result<size_t> Read(char* buf, size_t cap) override { return target_->Read(buf, cap); }
  int NativeFd() const override { return target_->NativeFd(); }

 private:
  ReaderPtr target_;
};

class FileWriterWrapper : public FileWriter {
 public:
  explicit FileWriterWrapper(FileWriterPtr target) : target_(std::move(target)) {}
  Status Write(const char* data, size_t n) override { return target_->Write(data, n); }
  void Reserve(uint64_t bytes) override { target_->Reserve(bytes); }
  uint64_t Size() const override { return target_->Size(); }
  Status Commit() override { return target_->Commit(); }
  Status Cancel() override { return target_->Cancel(); }

 private:
  FileWriterPtr target_;
};

// Validates a driver path by the rules at the top of this file.
Status ValidatePath(std::string_view path);

// The reserved prefix of temporaries' names (see the top of this file).
inline constexpr std::string_view kTemporaryPrefix = ".berth-tmp-";

// The concrete drivers; driver::Create (factory.h) picks one by name.
StorageDriverPtr NewInMemoryDriver();
// Root directory is created if absent. Errors: kIo when it cannot be created or is not a directory.
Result<StorageDriverPtr> NewFilesystemDriver(const std::string& root_directory);

}  // namespace berth::storage::driver
