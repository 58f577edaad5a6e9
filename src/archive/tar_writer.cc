#include "archive/tar_writer.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>
#include <vector>

#include "common/file_io.h"
#include "common/pump.h"

namespace berth::archive {
namespace {

constexpr size_t kBlock = 512;
// 2020-01-01T00:00:00Z: fixed, so the same content gives the same archive.
constexpr uint64_t kMtime = 1577836800;

// Octal, zero-padded, NUL-terminated, in a field of `width` bytes.
void PutOctal(char* field, size_t width, uint64_t v) {
  for (size_t i = width - 1; i-- > 0;) {
    field[i] = static_cast<char>('0' + (v & 7));
    v >>= 3;
  }
  field[width - 1] = '\0';
}

}  // namespace

Result<std::unique_ptr<TarWriter>> TarWriter::Create(const std::string& path) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return std::unexpected(ErrnoError("create", path));
  return std::unique_ptr<TarWriter>(new TarWriter(fd, path));
}

TarWriter::~TarWriter() {
  if (fd_ >= 0) ::close(fd_);
}

Status TarWriter::WriteAll(const char* data, size_t n) {
  return berth::WriteAll(fd_, std::string_view(data, n), path_);
}

Status TarWriter::WriteHeader(std::string_view name, char type, uint64_t size) {
  if (fd_ < 0) return MakeError(ErrorCode::kInvalidArgument, "tar " + path_ + " is finished");
  std::array<char, kBlock> h{};
  // ustar splits long names at a '/' into prefix (155) and name (100).
  std::string_view prefix, base = name;
  if (name.empty() || name.find('\0') != std::string_view::npos) {
    return MakeError(ErrorCode::kInvalidArgument, "bad tar member name");
  }
  if (name.size() > 100) {
    size_t cut = name.rfind('/', 155);
    if (cut == std::string_view::npos || name.size() - cut - 1 > 100 || cut == 0) {
      return MakeError(ErrorCode::kInvalidArgument,
                       "tar member name too long: " + std::string(name));
    }
    prefix = name.substr(0, cut);
    base = name.substr(cut + 1);
  }
  std::memcpy(h.data(), base.data(), base.size());
  PutOctal(h.data() + 100, 8, type == '5' ? 0755 : 0644);
  PutOctal(h.data() + 108, 8, 0);
  PutOctal(h.data() + 116, 8, 0);
  if (size < (uint64_t{1} << 33)) {
    PutOctal(h.data() + 124, 12, size);
  } else {  // base-256: high bit set, big-endian in the remaining bytes
    h[124] = static_cast<char>(0x80);
    for (int i = 11; i >= 1; --i) {
      h[124 + i] = static_cast<char>(size & 0xff);
      size >>= 8;
    }
  }
  PutOctal(h.data() + 136, 12, kMtime);
  h[156] = type;
  std::memcpy(h.data() + 257, "ustar", 6);
  h[263] = '0';
  h[264] = '0';
  std::memcpy(h.data() + 265, "root", 4);
  std::memcpy(h.data() + 297, "root", 4);
  std::memcpy(h.data() + 345, prefix.data(), prefix.size());
  std::memset(h.data() + 148, ' ', 8);
  unsigned sum = 0;
  for (char c : h) sum += static_cast<unsigned char>(c);
  PutOctal(h.data() + 148, 7, sum);
  h[155] = ' ';
  return WriteAll(h.data(), h.size());
}

Status TarWriter::AddDirectory(std::string_view name) {
  std::string n(name);
  if (n.empty() || n.back() != '/') n += '/';
  return WriteHeader(n, '5', 0);
}

Status TarWriter::AddFile(std::string_view name, std::string_view content) {
  size_t off = 0;
  return AddStream(name, content.size(), [&](char* buf, size_t cap) -> Result<size_t> {
    size_t n = std::min(cap, content.size() - off);
    std::memcpy(buf, content.data() + off, n);
    off += n;
    return n;
  });
}

Status TarWriter::AddStream(std::string_view name, uint64_t size, const ReadFn& read) {
  BERTH_RETURN_IF_ERROR(WriteHeader(name, '0', size));
  BERTH_ASSIGN_OR_RETURN(
      uint64_t done, Pump(read, size, [this](const char* p, size_t n) { return WriteAll(p, n); }));
  if (done != size) {
    // The archive is now unusable: make sure nobody finishes it.
    ::close(fd_);
    fd_ = -1;
    return MakeError(ErrorCode::kInvalidArgument,
                     "tar member " + std::string(name) + " announced " + std::to_string(size) +
                         " bytes but its source gave " +
                         (done > size ? "more" : std::to_string(done)));
  }
  static const std::array<char, kBlock> zeros{};
  if (size_t pad = (kBlock - size % kBlock) % kBlock; pad) return WriteAll(zeros.data(), pad);
  return Ok();
}

Status TarWriter::Finish() {
  if (fd_ < 0) return MakeError(ErrorCode::kInvalidArgument, "tar " + path_ + " is finished");
  static const std::array<char, 2 * kBlock> zeros{};
  BERTH_RETURN_IF_ERROR(WriteAll(zeros.data(), zeros.size()));
  if (::fsync(fd_) != 0) return std::unexpected(ErrnoError("fsync", path_));
  int fd = fd_;
  fd_ = -1;
  if (::close(fd) != 0) return std::unexpected(ErrnoError("close", path_));
  return Ok();
}

}  // namespace berth::archive
