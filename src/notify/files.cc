#include "notify/files.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <boost/crc.hpp>
#include <cerrno>
#include <cstring>
#include <filesystem>

#include "common/file_io.h"

namespace berth::notify {
namespace {

}  // namespace

Status MakeDirs(const std::string& dir) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) return MakeError(ErrorCode::kIo, "cannot create directory " + dir + ": " + ec.message());
  return Ok();
}

Status WriteFileAtomic(const std::string& path, std::string_view content) {
  std::string tmp = path + ".tmp";
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) return std::unexpected(ErrnoError("cannot create", tmp));
  Status st = WriteAll(fd, content, tmp);
  if (st && ::fdatasync(fd) != 0) st = std::unexpected(ErrnoError("cannot fsync", tmp));
  ::close(fd);
  if (!st) return st;
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    return std::unexpected(ErrnoError("cannot rename " + tmp + " to", path));
  }
  return SyncDir(std::filesystem::path(path).parent_path().string());
}

Result<std::string> ReadWholeFile(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return std::unexpected(ErrnoError("cannot open", path));
  std::string out;
  char buf[65536];
  while (true) {
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      Error e = ErrnoError("cannot read", path);
      ::close(fd);
      return std::unexpected(e);
    }
    if (n == 0) break;
    out.append(buf, static_cast<size_t>(n));
  }
  ::close(fd);
  return out;
}

uint32_t Crc32(std::string_view data, uint32_t crc) {
  boost::crc_32_type c;
  // boost's running state is the complemented CRC; continue from `crc`.
  c.reset(crc ^ 0xFFFFFFFFu);
  c.process_bytes(data.data(), data.size());
  return c.checksum();
}

}  // namespace berth::notify
