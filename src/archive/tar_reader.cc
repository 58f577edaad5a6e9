#include "archive/tar_reader.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>
#include <optional>
#include <vector>

#include "common/file_io.h"

namespace berth::archive {
namespace {

constexpr size_t kBlock = 512;
constexpr uint64_t kMaxExtendedHeader = 1 << 20;

Status PreadAll(int fd, char* buf, size_t n, uint64_t off, const std::string& path) {
  while (n > 0) {
    ssize_t r = ::pread(fd, buf, n, static_cast<off_t>(off));
    if (r < 0) {
      if (errno == EINTR) continue;
      return std::unexpected(ErrnoError("read", path));
    }
    if (r == 0)
      return MakeError(ErrorCode::kInvalidArgument, "not a tar archive: " + path + " is truncated");
    buf += r;
    n -= static_cast<size_t>(r);
    off += static_cast<uint64_t>(r);
  }
  return Ok();
}

// A numeric field: octal (space/NUL padded) or GNU base-256.
std::optional<uint64_t> ParseNumber(const char* f, size_t width) {
  if (static_cast<unsigned char>(f[0]) & 0x80) {
    uint64_t v = 0;
    if ((static_cast<unsigned char>(f[0]) & 0x7f) != 0) return std::nullopt;
    for (size_t i = 1; i < width; ++i) {
      if (v >> 56) return std::nullopt;
      v = (v << 8) | static_cast<unsigned char>(f[i]);
    }
    return v;
  }
  size_t i = 0;
  while (i < width && f[i] == ' ') ++i;
  uint64_t v = 0;
  bool any = false;
  for (; i < width && f[i] >= '0' && f[i] <= '7'; ++i) {
    if (v >> 60) return std::nullopt;
    v = v * 8 + static_cast<uint64_t>(f[i] - '0');
    any = true;
  }
  for (; i < width; ++i) {
    if (f[i] != ' ' && f[i] != '\0') return std::nullopt;
  }
  if (!any) return uint64_t{0};
  return v;
}

std::string Field(const char* f, size_t width) { return std::string(f, strnlen(f, width)); }

class FileRangeReader : public MemberReader {
 public:
  FileRangeReader(int fd, uint64_t off, uint64_t size, const std::string& path)
      : fd_(fd), off_(off), left_(size), path_(path) {}
  Result<size_t> Read(char* buf, size_t cap) override {
    if (left_ == 0) return size_t{0};
    size_t want = static_cast<size_t>(std::min<uint64_t>(cap, left_));
    ssize_t r;
    do {
      r = ::pread(fd_, buf, want, static_cast<off_t>(off_));
    } while (r < 0 && errno == EINTR);
    if (r < 0) return std::unexpected(ErrnoError("read", path_));
    if (r == 0) return MakeError(ErrorCode::kInvalidArgument, "tar " + path_ + " is truncated");
    off_ += static_cast<uint64_t>(r);
    left_ -= static_cast<uint64_t>(r);
    return static_cast<size_t>(r);
  }

 private:
  int fd_;
  uint64_t off_, left_;
  const std::string& path_;
};

}  // namespace

std::string NormaliseMemberName(std::string_view name) {
  std::string out;
  size_t i = 0;
  while (i < name.size()) {
    size_t j = name.find('/', i);
    if (j == std::string_view::npos) j = name.size();
    std::string_view comp = name.substr(i, j - i);
    if (!comp.empty() && comp != ".") {
      if (!out.empty()) out += '/';
      out += comp;
    }
    i = j + 1;
  }
  return out;
}

Result<std::unique_ptr<TarReader>> TarReader::Open(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return std::unexpected(ErrnoError("open", path));
  std::unique_ptr<TarReader> r(new TarReader(fd, path));
  BERTH_RETURN_IF_ERROR(r->Index());
  return r;
}

TarReader::~TarReader() { ::close(fd_); }

Status TarReader::Index() {
  struct stat st {};
  if (::fstat(fd_, &st) != 0) return std::unexpected(ErrnoError("stat", path_));
  const uint64_t file_size = static_cast<uint64_t>(st.st_size);
  auto bad = [&](uint64_t at, std::string_view why) {
    return MakeError(ErrorCode::kInvalidArgument, "not a tar archive: " + path_ + " at offset " +
                                                      std::to_string(at) + ": " + std::string(why));
  };
  uint64_t off = 0;
  std::array<char, kBlock> h{};
  std::string long_name;  // from a GNU 'L' or PAX 'path' record, for the next member
  std::optional<uint64_t> pax_size;
  size_t zero_blocks = 0;
  while (true) {
    if (off + kBlock > file_size) {
      if (zero_blocks > 0 || (off == file_size && !members_.empty())) return Ok();
      return bad(off, "truncated header");
    }
    BERTH_RETURN_IF_ERROR(PreadAll(fd_, h.data(), kBlock, off, path_));
    if (std::all_of(h.begin(), h.end(), [](char c) { return c == 0; })) {
      if (++zero_blocks == 2) return Ok();
      off += kBlock;
      continue;
    }
    zero_blocks = 0;
    auto sum = ParseNumber(h.data() + 148, 8);
    unsigned computed = 0;
    for (size_t i = 0; i < kBlock; ++i) {
      computed += (i >= 148 && i < 156) ? ' ' : static_cast<unsigned char>(h[i]);
    }
    if (!sum || *sum != computed) return bad(off, "header checksum mismatch");
    auto size = ParseNumber(h.data() + 124, 12);
    if (!size) return bad(off, "bad size field");
    const char type = h[156];
    uint64_t data_off = off + kBlock;
    uint64_t data_size = *size;
    if (type == 'x' || type == 'L' || type == 'g') {
      if (data_size > kMaxExtendedHeader) return bad(off, "extended header too large");
    } else if (pax_size) {
      data_size = *pax_size;
    }
    if (data_off + data_size > file_size) return bad(off, "member data runs past the end");
    const uint64_t next = data_off + (data_size + kBlock - 1) / kBlock * kBlock;
    if (type == 'L' || type == 'x') {
      std::string ext(static_cast<size_t>(data_size), '\0');
      BERTH_RETURN_IF_ERROR(PreadAll(fd_, ext.data(), ext.size(), data_off, path_));
      if (type == 'L') {
        long_name = ext.substr(0, strnlen(ext.data(), ext.size()));
      } else {
        // PAX records: "<len> <key>=<value>\n"
        size_t p = 0;
        while (p < ext.size()) {
          size_t sp = ext.find(' ', p);
          if (sp == std::string::npos) return bad(off, "bad PAX record");
          uint64_t len = 0;
          for (size_t i = p; i < sp; ++i) {
            if (ext[i] < '0' || ext[i] > '9' || len > kMaxExtendedHeader)
              return bad(off, "bad PAX record");
            len = len * 10 + static_cast<uint64_t>(ext[i] - '0');
          }
          if (len <= sp - p + 1 || p + len > ext.size() || ext[p + len - 1] != '\n') {
            return bad(off, "bad PAX record");
          }
          std::string_view rec(ext.data() + sp + 1, p + len - sp - 2);
          size_t eq = rec.find('=');
          if (eq != std::string_view::npos) {
            std::string_view key = rec.substr(0, eq), val = rec.substr(eq + 1);
            if (key == "path") long_name = std::string(val);
            if (key == "size") {
              uint64_t v = 0;
              for (char c : val) {
                if (c < '0' || c > '9' || v > (uint64_t{1} << 60)) return bad(off, "bad PAX size");
                v = v * 10 + static_cast<uint64_t>(c - '0');
              }
              pax_size = v;
            }
          }
          p += len;
        }
      }
      off = next;
      continue;
    }
    if (type != 'g') {
      std::string name;
      if (!long_name.empty()) {
        name = long_name;
      } else {
        std::string prefix = Field(h.data() + 345, 155);
        name = Field(h.data(), 100);
        if (std::memcmp(h.data() + 257, "ustar", 5) == 0 && !prefix.empty())
          name = prefix + "/" + name;
      }
      const bool regular = type == '0' || type == '\0' || type == '7';
      if (regular || type == '5') {
        if (members_.size() >= kMaxMembers) return bad(off, "too many members");
        members_[NormaliseMemberName(name)] =
            Member{data_off, regular ? data_size : 0, type == '5'};
      }
      // Links, devices and the like are not part of an image layout: skipped.
      long_name.clear();
      pax_size.reset();
    }
    off = next;
  }
}

Result<TarReader::Member> TarReader::Stat(std::string_view name) const {
  auto it = members_.find(NormaliseMemberName(name));
  if (it == members_.end()) {
    return MakeError(ErrorCode::kNotFound, std::string(name) + " is not in " + path_);
  }
  return it->second;
}

Result<MemberReaderPtr> TarReader::OpenMember(std::string_view name) const {
  BERTH_ASSIGN_OR_RETURN(Member m, Stat(name));
  if (m.is_dir)
    return MakeError(ErrorCode::kNotFound, std::string(name) + " is a directory in " + path_);
  return MemberReaderPtr(std::make_unique<FileRangeReader>(fd_, m.offset, m.size, path_));
}

}  // namespace berth::archive
