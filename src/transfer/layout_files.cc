#include "transfer/layout_files.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <functional>
#include <random>
#include <vector>

#include "archive/tar_reader.h"
#include "archive/tar_writer.h"
#include "common/file_io.h"

namespace berth::transfer {
namespace fs = std::filesystem;
namespace {

constexpr size_t kCopyBuffer = 1 << 20;


Status CheckName(std::string_view name) {
  if (name.empty() || name.front() == '/' || name.back() == '/') {
    return MakeError(ErrorCode::kInvalidArgument,
                     "bad layout file name \"" + std::string(name) + "\"");
  }
  size_t i = 0;
  while (i <= name.size()) {
    size_t j = name.find('/', i);
    if (j == std::string_view::npos) j = name.size();
    std::string_view comp = name.substr(i, j - i);
    if (comp.empty() || comp == "." || comp == ".." || comp.find('\0') != std::string_view::npos) {
      return MakeError(ErrorCode::kInvalidArgument,
                       "bad layout file name \"" + std::string(name) + "\"");
    }
    i = j + 1;
  }
  return Ok();
}

std::string TempSuffix() {
  static thread_local std::mt19937_64 rng{std::random_device{}()};
  char buf[24];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(rng()));
  return ".tmp-" + std::to_string(::getpid()) + "-" + buf;
}

Status Mismatch(const Digest& want, uint64_t want_size, const Digest& got, uint64_t got_size,
                std::string_view what) {
  if (got_size != want_size) {
    return MakeError(ErrorCode::kSizeInvalid, std::string(what) + " " + want.str() + ": expected " +
                                                  std::to_string(want_size) + " bytes, got " +
                                                  std::to_string(got_size));
  }
  return MakeError(ErrorCode::kDigestInvalid,
                   std::string(what) + " " + want.str() + ": content hashes to " + got.str());
}

// Pulls at most size + 1 bytes from `r` through `sink`, hashing them, and checks digest and size.
Status CopyVerified(storage::driver::Reader& r, const Digest& d, uint64_t size,
                    std::string_view what, const std::function<Status(const char*, size_t)>& sink) {
  Hasher h(d.algorithm());
  std::vector<char> buf(kCopyBuffer);
  uint64_t total = 0;
  for (;;) {
    size_t want =
        static_cast<size_t>(std::min<uint64_t>(buf.size(), size + 1 - std::min(total, size)));
    BERTH_ASSIGN_OR_RETURN(size_t n, r.Read(buf.data(), want));
    if (n == 0) break;
    total += n;
    if (total > size) break;
    h.Update(buf.data(), n);
    BERTH_RETURN_IF_ERROR(sink(buf.data(), n));
  }
  Digest got = h.Current();
  if (total != size || got != d) return Mismatch(d, size, got, total, what);
  return Ok();
}

class DirWriter : public LayoutWriter {
 public:
  explicit DirWriter(std::string root) : root_(std::move(root)) {}

  bool Has(std::string_view name) override {
    if (!CheckName(name)) return false;
    struct stat st {};
    return ::stat(Path(name).c_str(), &st) == 0 && S_ISREG(st.st_mode);
  }

  Status PutFile(std::string_view name, std::string_view bytes) override {
    BERTH_RETURN_IF_ERROR(CheckName(name));
    return Write(name, [&](int fd, const std::string& tmp) -> Status {
      return WriteAll(fd, bytes, tmp);
    });
  }

  Status PutBlob(std::string_view name, const Digest& d, uint64_t size,
                 storage::driver::Reader& r) override {
    BERTH_RETURN_IF_ERROR(CheckName(name));
    return Write(name, [&](int fd, const std::string& tmp) -> Status {
      return CopyVerified(r, d, size, "blob",
                          [&](const char* p, size_t n) { return WriteAll(fd, std::string_view(p, n), tmp); });
    });
  }

  Status Commit() override {
    for (const auto& dir : dirty_dirs_) BERTH_RETURN_IF_ERROR(SyncDir(dir));
    dirty_dirs_.clear();
    return Ok();
  }
  uint64_t bytes_written() const override { return bytes_; }

 private:
  std::string Path(std::string_view name) const { return root_ + "/" + std::string(name); }

  // Temporary beside the target, fsync, rename; the directory is fsynced on Commit.
  Status Write(std::string_view name, const std::function<Status(int, const std::string&)>& fill) {
    const std::string path = Path(name);
    const std::string dir = fs::path(path).parent_path().string();
    std::error_code ec;
    fs::create_directories(dir, ec);
    if (ec) return MakeError(ErrorCode::kIo, "create directory " + dir + ": " + ec.message());
    const std::string tmp = path + TempSuffix();
    int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    if (fd < 0) return std::unexpected(ErrnoError("create", tmp));
    struct stat before {};
    Status st = fill(fd, tmp);
    if (st && ::fsync(fd) != 0) st = std::unexpected(ErrnoError("fsync", tmp));
    if (st && ::fstat(fd, &before) == 0) bytes_ += static_cast<uint64_t>(before.st_size);
    if (::close(fd) != 0 && st) st = std::unexpected(ErrnoError("close", tmp));
    if (st && ::rename(tmp.c_str(), path.c_str()) != 0)
      st = std::unexpected(ErrnoError("rename", tmp));
    if (!st) {
      ::unlink(tmp.c_str());
      return st;
    }
    if (std::find(dirty_dirs_.begin(), dirty_dirs_.end(), dir) == dirty_dirs_.end()) {
      dirty_dirs_.push_back(dir);
    }
    return Ok();
  }

  std::string root_;
  std::vector<std::string> dirty_dirs_;
  uint64_t bytes_ = 0;
};

class TarLayoutWriter : public LayoutWriter {
 public:
  TarLayoutWriter(std::unique_ptr<archive::TarWriter> w, std::string tmp, std::string out)
      : w_(std::move(w)), tmp_(std::move(tmp)), out_(std::move(out)) {}
  ~TarLayoutWriter() override {
    if (!committed_) ::unlink(tmp_.c_str());
  }

  bool Has(std::string_view) override { return false; }

  Status PutFile(std::string_view name, std::string_view bytes) override {
    BERTH_RETURN_IF_ERROR(CheckName(name));
    BERTH_RETURN_IF_ERROR(Dirs(name));
    bytes_ += bytes.size();
    return w_->AddFile(name, bytes);
  }

  Status PutBlob(std::string_view name, const Digest& d, uint64_t size,
                 storage::driver::Reader& r) override {
    BERTH_RETURN_IF_ERROR(CheckName(name));
    BERTH_RETURN_IF_ERROR(Dirs(name));
    // The tar member is written as it streams; a mismatch found at the end poisons the archive
    // (TarWriter refuses to finish after a short member, and we refuse after a bad digest).
    Hasher h(d.algorithm());
    uint64_t total = 0;
    Status st = w_->AddStream(name, size, [&](char* buf, size_t cap) -> Result<size_t> {
      size_t want = static_cast<size_t>(std::min<uint64_t>(cap, size + 1 - std::min(total, size)));
      BERTH_ASSIGN_OR_RETURN(size_t n, r.Read(buf, want));
      total += n;
      h.Update(buf, n);
      return n;
    });
    Digest got = h.Current();
    if (!st || total != size || got != d) {
      poisoned_ = true;
      if (total != size || got != d) return Mismatch(d, size, got, total, "blob");
      return st;
    }
    bytes_ += size;
    return Ok();
  }

  Status Commit() override {
    if (poisoned_)
      return MakeError(ErrorCode::kIo, "archive " + out_ + " not finished after an error");
    BERTH_RETURN_IF_ERROR(w_->Finish());
    if (::rename(tmp_.c_str(), out_.c_str()) != 0) return std::unexpected(ErrnoError("rename", tmp_));
    committed_ = true;
    std::string dir = fs::path(out_).parent_path().string();
    return SyncDir(dir.empty() ? "." : dir);
  }
  uint64_t bytes_written() const override { return bytes_; }

 private:
  // Directory members for each parent, once, so extracting tools create them with sane modes.
  Status Dirs(std::string_view name) {
    for (size_t p = name.find('/'); p != std::string_view::npos; p = name.find('/', p + 1)) {
      std::string d(name.substr(0, p));
      if (std::find(dirs_.begin(), dirs_.end(), d) != dirs_.end()) continue;
      dirs_.push_back(d);
      BERTH_RETURN_IF_ERROR(w_->AddDirectory(d));
    }
    return Ok();
  }

  std::unique_ptr<archive::TarWriter> w_;
  std::string tmp_, out_;
  std::vector<std::string> dirs_;
  bool committed_ = false, poisoned_ = false;
  uint64_t bytes_ = 0;
};

class FdReader : public storage::driver::Reader {
 public:
  FdReader(int fd, std::string path) : fd_(fd), path_(std::move(path)) {}
  ~FdReader() override { ::close(fd_); }
  Result<size_t> Read(char* buf, size_t cap) override {
    ssize_t r;
    do {
      r = ::read(fd_, buf, cap);
    } while (r < 0 && errno == EINTR);
    if (r < 0) return std::unexpected(ErrnoError("read", path_));
    return static_cast<size_t>(r);
  }

 private:
  int fd_;
  std::string path_;
};

class MemberAdapter : public storage::driver::Reader {
 public:
  explicit MemberAdapter(archive::MemberReaderPtr r) : r_(std::move(r)) {}
  Result<size_t> Read(char* buf, size_t cap) override { return r_->Read(buf, cap); }

 private:
  archive::MemberReaderPtr r_;
};

Result<std::string> ReadWhole(storage::driver::Reader& r, uint64_t size, size_t max_bytes,
                              std::string_view name) {
  if (size > max_bytes) {
    return MakeError(ErrorCode::kInvalidArgument,
                     std::string(name) + " is " + std::to_string(size) + " bytes, more than the " +
                         std::to_string(max_bytes) + " allowed");
  }
  std::string out(static_cast<size_t>(size), '\0');
  size_t got = 0;
  while (got < out.size()) {
    BERTH_ASSIGN_OR_RETURN(size_t n, r.Read(out.data() + got, out.size() - got));
    if (n == 0) break;
    got += n;
  }
  if (got != out.size())
    return MakeError(ErrorCode::kIo, std::string(name) + " is shorter than its size");
  return out;
}

class DirReader : public LayoutReader {
 public:
  explicit DirReader(std::string root) : root_(std::move(root)) {}
  Result<uint64_t> Size(std::string_view name) override {
    BERTH_RETURN_IF_ERROR(CheckName(name));
    struct stat st {};
    std::string p = root_ + "/" + std::string(name);
    if (::stat(p.c_str(), &st) != 0 || !S_ISREG(st.st_mode)) {
      return MakeError(ErrorCode::kNotFound, std::string(name) + " is not in " + root_);
    }
    return static_cast<uint64_t>(st.st_size);
  }
  Result<std::string> ReadFile(std::string_view name, size_t max_bytes) override {
    BERTH_ASSIGN_OR_RETURN(uint64_t size, Size(name));
    BERTH_ASSIGN_OR_RETURN(auto r, Open(name));
    return ReadWhole(*r, size, max_bytes, name);
  }
  Result<storage::driver::ReaderPtr> Open(std::string_view name) override {
    BERTH_RETURN_IF_ERROR(CheckName(name));
    std::string p = root_ + "/" + std::string(name);
    int fd = ::open(p.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
      if (errno == ENOENT)
        return MakeError(ErrorCode::kNotFound, std::string(name) + " is not in " + root_);
      return std::unexpected(ErrnoError("open", p));
    }
    struct stat st {};
    if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
      ::close(fd);
      return MakeError(ErrorCode::kNotFound, std::string(name) + " is not a file in " + root_);
    }
    return storage::driver::ReaderPtr(std::make_unique<FdReader>(fd, p));
  }
  Result<std::vector<std::string>> ListFiles() override {
    std::vector<std::string> out;
    std::error_code ec;
    for (auto it = fs::recursive_directory_iterator(root_, ec); !ec && it != fs::end(it);
         it.increment(ec)) {
      if (it->is_regular_file(ec)) out.push_back(fs::relative(it->path(), root_, ec).string());
    }
    if (ec) return MakeError(ErrorCode::kIo, "list " + root_ + ": " + ec.message());
    std::sort(out.begin(), out.end());
    return out;
  }

 private:
  std::string root_;
};

class TarLayoutReader : public LayoutReader {
 public:
  explicit TarLayoutReader(std::unique_ptr<archive::TarReader> t) : t_(std::move(t)) {}
  Result<uint64_t> Size(std::string_view name) override {
    BERTH_ASSIGN_OR_RETURN(auto m, t_->Stat(name));
    if (m.is_dir) return MakeError(ErrorCode::kNotFound, std::string(name) + " is a directory");
    return m.size;
  }
  Result<std::string> ReadFile(std::string_view name, size_t max_bytes) override {
    BERTH_ASSIGN_OR_RETURN(uint64_t size, Size(name));
    BERTH_ASSIGN_OR_RETURN(auto r, Open(name));
    return ReadWhole(*r, size, max_bytes, name);
  }
  Result<storage::driver::ReaderPtr> Open(std::string_view name) override {
    BERTH_ASSIGN_OR_RETURN(auto m, t_->OpenMember(name));
    return storage::driver::ReaderPtr(std::make_unique<MemberAdapter>(std::move(m)));
  }
  Result<std::vector<std::string>> ListFiles() override {
    std::vector<std::string> out;
    for (const auto& [name, m] : t_->members()) {
      if (!m.is_dir) out.push_back(name);
    }
    return out;
  }

 private:
  std::unique_ptr<archive::TarReader> t_;
};

}  // namespace

std::string BlobPath(const Digest& d) {
  return "blobs/" + std::string(d.algorithm_name()) + "/" + d.hex();
}

Status VerifyStream(storage::driver::Reader& r, const Digest& d, uint64_t size,
                    std::string_view what) {
  return CopyVerified(r, d, size, what, [](const char*, size_t) { return Ok(); });
}

Result<LayoutWriterPtr> OpenLayoutWriter(const std::string& out) {
  if (out.size() > 4 && out.ends_with(".tar")) {
    std::string tmp = out + TempSuffix();
    BERTH_ASSIGN_OR_RETURN(auto w, archive::TarWriter::Create(tmp));
    return LayoutWriterPtr(std::make_unique<TarLayoutWriter>(std::move(w), tmp, out));
  }
  std::error_code ec;
  fs::create_directories(out, ec);
  if (ec || !fs::is_directory(out)) {
    return MakeError(ErrorCode::kIo, "create directory " + out + ": " +
                                         (ec ? ec.message() : std::string("not a directory")));
  }
  return LayoutWriterPtr(std::make_unique<DirWriter>(out));
}

Result<LayoutReaderPtr> OpenLayoutReader(const std::string& in) {
  std::error_code ec;
  if (fs::is_directory(in, ec)) return LayoutReaderPtr(std::make_unique<DirReader>(in));
  if (!fs::exists(in, ec)) return MakeError(ErrorCode::kNotFound, in + " does not exist");
  BERTH_ASSIGN_OR_RETURN(auto t, archive::TarReader::Open(in));
  return LayoutReaderPtr(std::make_unique<TarLayoutReader>(std::move(t)));
}

}  // namespace berth::transfer
