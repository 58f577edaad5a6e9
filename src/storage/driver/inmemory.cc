// The in-memory driver: a sorted map from file path to object, for tests and the in-process test
// server. Directories are implied: a path is a directory when some file lives below it, so a
// directory disappears with its last file (the filesystem driver keeps emptied directories; callers
// must not depend on either).
//
// Objects are shared with open readers and writers, which gives POSIX-like behaviour: a writer
// keeps writing to the object it opened even if the path is moved, replaced or deleted meanwhile,
// and a PutContent installs a new object (like rename(2)) rather than editing the old one in place.
//
// Thread-safe: one mutex guards the map and every object's bytes.

#include <algorithm>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "storage/driver/driver.h"

namespace berth::storage::driver {
namespace {

struct Object {
  std::string data;  // Guarded by State::mu.
  SystemTime mtime;  // Guarded by State::mu.
};
using ObjectPtr = std::shared_ptr<Object>;

struct State {
  std::mutex mu;
  std::map<std::string, ObjectPtr, std::less<>> files;  // Guarded by mu.
};
using StatePtr = std::shared_ptr<State>;

std::string Quoted(std::string_view path) { return "\"" + std::string(path) + "\""; }

// Prefix that every descendant of `dir` starts with.
std::string ChildPrefix(std::string_view dir) {
  return dir == "/" ? std::string("/") : std::string(dir) + "/";
}

// Requires mu held.
bool IsDirLocked(const State& s, std::string_view path) {
  if (path == "/") return true;
  std::string prefix = ChildPrefix(path);
  auto it = s.files.lower_bound(prefix);
  return it != s.files.end() && it->first.starts_with(prefix);
}

// The filesystem cannot create a file where a directory is, or below a file; report both as kIo the
// way the filesystem driver does (EISDIR / ENOTDIR). Requires mu held.
Status CheckCanCreateFileLocked(const State& s, std::string_view path) {
  if (IsDirLocked(s, path)) return MakeError(ErrorCode::kIo, Quoted(path) + ": is a directory");
  for (size_t slash = path.find('/', 1); slash != std::string_view::npos;
       slash = path.find('/', slash + 1)) {
    std::string_view ancestor = path.substr(0, slash);
    if (s.files.contains(ancestor)) {
      return MakeError(ErrorCode::kIo,
                       Quoted(path) + ": not a directory: " + Quoted(ancestor) + " is a file");
    }
  }
  return Ok();
}

class InMemoryReader : public Reader {
 public:
  InMemoryReader(StatePtr state, ObjectPtr object, uint64_t offset)
      : state_(std::move(state)), object_(std::move(object)), offset_(offset) {}

  Result<size_t> Read(char* buf, size_t cap) override {
    std::lock_guard lock(state_->mu);
    const std::string& data = object_->data;
    // The object may have been truncated by a writer since we opened it; that reads as EOF.
    if (offset_ >= data.size()) return size_t{0};
    size_t n = std::min<uint64_t>(cap, data.size() - offset_);
    std::copy_n(data.data() + offset_, n, buf);
    offset_ += n;
    return n;
  }

 private:
  StatePtr state_;
  ObjectPtr object_;
  uint64_t offset_;
};

class InMemoryWriter : public FileWriter {
 public:
  InMemoryWriter(StatePtr state, ObjectPtr object, std::string path, uint64_t size)
      : state_(std::move(state)), object_(std::move(object)), path_(std::move(path)), size_(size) {}

  Status Write(const char* data, size_t n) override {
    BERTH_RETURN_IF_ERROR(CheckOpen());
    std::lock_guard lock(state_->mu);
    object_->data.append(data, n);
    object_->mtime = SystemClock().Now();
    size_ += n;
    return Ok();
  }

  uint64_t Size() const override { return size_; }

  Status Commit() override {
    BERTH_RETURN_IF_ERROR(CheckOpen());
    closed_ = true;
    return Ok();
  }

  Status Cancel() override {
    BERTH_RETURN_IF_ERROR(CheckOpen());
    closed_ = true;
    // Mirrors unlink(2) of the path in the filesystem driver: whatever file is there now goes.
    std::lock_guard lock(state_->mu);
    state_->files.erase(path_);
    return Ok();
  }

 private:
  Status CheckOpen() const {
    if (closed_) {
      return MakeError(ErrorCode::kInvalidArgument,
                       "writer for " + Quoted(path_) + " already committed or cancelled");
    }
    return Ok();
  }

  StatePtr state_;
  ObjectPtr object_;
  std::string path_;
  uint64_t size_;
  bool closed_ = false;
};

class InMemoryDriver : public StorageDriver {
 public:
  std::string_view Name() const override { return "inmemory"; }

 protected:
  Result<std::string> DoGetContent(std::string_view path) override {
    std::lock_guard lock(state_->mu);
    auto it = state_->files.find(path);
    if (it == state_->files.end()) return NotFound(path);
    return it->second->data;
  }

  Status DoPutContent(std::string_view path, std::string_view content) override {
    auto object = std::make_shared<Object>(Object{std::string(content), SystemClock().Now()});
    std::lock_guard lock(state_->mu);
    BERTH_RETURN_IF_ERROR(CheckCanCreateFileLocked(*state_, path));
    state_->files.insert_or_assign(std::string(path), std::move(object));
    return Ok();
  }

  Result<ReaderPtr> DoNewReader(std::string_view path, uint64_t offset) override {
    std::lock_guard lock(state_->mu);
    auto it = state_->files.find(path);
    if (it == state_->files.end()) return NotFound(path);
    uint64_t size = it->second->data.size();
    if (offset > size) {
      return MakeError(ErrorCode::kInvalidOffset, "offset " + std::to_string(offset) +
                                                      " beyond the end of " + Quoted(path) +
                                                      " (size " + std::to_string(size) + ")");
    }
    return ReaderPtr(std::make_unique<InMemoryReader>(state_, it->second, offset));
  }

  Result<FileWriterPtr> DoNewWriter(std::string_view path, bool append) override {
    std::lock_guard lock(state_->mu);
    BERTH_RETURN_IF_ERROR(CheckCanCreateFileLocked(*state_, path));
    ObjectPtr& slot = state_->files[std::string(path)];
    // Truncation edits the existing object, as O_TRUNC does to the inode readers may hold.
    if (!slot) {
      slot = std::make_shared<Object>(Object{std::string(), SystemClock().Now()});
    } else if (!append) {
      slot->data.clear();
      slot->mtime = SystemClock().Now();
    }
    return FileWriterPtr(
        std::make_unique<InMemoryWriter>(state_, slot, std::string(path), slot->data.size()));
  }

  Result<FileInfo> DoStat(std::string_view path) override {
    std::lock_guard lock(state_->mu);
    if (auto it = state_->files.find(path); it != state_->files.end()) {
      return FileInfo{std::string(path), it->second->data.size(), it->second->mtime, false};
    }
    if (!IsDirLocked(*state_, path)) return NotFound(path);
    // A directory's time is that of its newest descendant: the closest thing to a directory mtime
    // when directories are implied. Linear, which is fine for a test driver.
    FileInfo info{std::string(path), 0, SystemTime{}, true};
    std::string prefix = ChildPrefix(path);
    for (auto it = state_->files.lower_bound(prefix);
         it != state_->files.end() && it->first.starts_with(prefix); ++it) {
      info.mod_time = std::max(info.mod_time, it->second->mtime);
    }
    return info;
  }

  Result<std::vector<std::string>> DoList(std::string_view path) override {
    std::lock_guard lock(state_->mu);
    if (!IsDirLocked(*state_, path)) return NotFound(path);
    std::string prefix = ChildPrefix(path);
    // A set because a child's descendants are not contiguous in the map ("b/x" sorts after "b-c").
    std::set<std::string> children;
    for (auto it = state_->files.lower_bound(prefix);
         it != state_->files.end() && it->first.starts_with(prefix); ++it) {
      size_t end = it->first.find('/', prefix.size());
      children.insert(it->first.substr(0, end));
    }
    return std::vector<std::string>(children.begin(), children.end());
  }

  Status DoMove(std::string_view src, std::string_view dst) override {
    if (src == "/" || dst == "/") {
      return MakeError(ErrorCode::kInvalidPath, "cannot move the root directory");
    }
    std::lock_guard lock(state_->mu);
    if (auto it = state_->files.find(src); it != state_->files.end()) {
      if (src == dst) return Ok();
      BERTH_RETURN_IF_ERROR(CheckCanCreateFileLocked(*state_, dst));
      ObjectPtr object = it->second;
      state_->files.erase(it);
      state_->files.insert_or_assign(std::string(dst), std::move(object));
      return Ok();
    }
    if (!IsDirLocked(*state_, src)) return NotFound(src);
    if (src == dst) return Ok();
    // The failures rename(2) would give: moving into itself (EINVAL), over a file (ENOTDIR), over a
    // directory (which here is never empty: ENOTEMPTY), below a file (ENOTDIR).
    std::string src_prefix = ChildPrefix(src);
    if (dst.starts_with(src_prefix)) {
      return MakeError(ErrorCode::kIo,
                       "cannot move " + Quoted(src) + " into its own subtree " + Quoted(dst));
    }
    if (state_->files.contains(dst) || IsDirLocked(*state_, dst)) {
      return MakeError(ErrorCode::kIo,
                       "cannot move directory " + Quoted(src) + " over existing " + Quoted(dst));
    }
    BERTH_RETURN_IF_ERROR(CheckCanCreateFileLocked(*state_, dst));
    std::vector<std::pair<std::string, ObjectPtr>> moved;
    auto first = state_->files.lower_bound(src_prefix);
    auto last = first;
    for (; last != state_->files.end() && last->first.starts_with(src_prefix); ++last) {
      moved.emplace_back(std::string(dst) + last->first.substr(src.size()), last->second);
    }
    state_->files.erase(first, last);
    for (auto& [path, object] : moved) state_->files.insert_or_assign(path, std::move(object));
    return Ok();
  }

  Status DoDelete(std::string_view path) override {
    std::lock_guard lock(state_->mu);
    if (path == "/") {
      // The root always exists and stays; deleting it empties the store.
      state_->files.clear();
      return Ok();
    }
    if (state_->files.erase(std::string(path)) > 0) return Ok();
    if (!IsDirLocked(*state_, path)) return NotFound(path);
    std::string prefix = ChildPrefix(path);
    auto first = state_->files.lower_bound(prefix);
    auto last = first;
    while (last != state_->files.end() && last->first.starts_with(prefix)) ++last;
    state_->files.erase(first, last);
    return Ok();
  }

 private:
  static std::unexpected<Error> NotFound(std::string_view path) {
    return MakeError(ErrorCode::kNotFound, "no such storage path " + Quoted(path));
  }

  StatePtr state_ = std::make_shared<State>();
};

}  // namespace

StorageDriverPtr NewInMemoryDriver() { return std::make_shared<InMemoryDriver>(); }

}  // namespace berth::storage::driver
