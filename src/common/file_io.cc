#include "common/file_io.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace berth {

Error ErrnoError(std::string_view what, std::string_view path) {
  std::string m(what);
  m += ' ';
  m += path;
  m += ": ";
  m += std::strerror(errno);
  return Error{ErrorCode::kIo, std::move(m), {}, 0};
}

Status WriteAll(int fd, std::string_view data, std::string_view path) {
  while (!data.empty()) {
    ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return std::unexpected(ErrnoError("cannot write", path));
    if (n == 0) return MakeError(ErrorCode::kIo, "cannot write " + std::string(path) + ": no progress");
    data.remove_prefix(static_cast<size_t>(n));
  }
  return Ok();
}

Status SyncDir(const std::string& dir) {
  int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return std::unexpected(ErrnoError("cannot open directory", dir));
  int rc = ::fsync(fd);
  int saved = errno;
  ::close(fd);
  errno = saved;
  if (rc != 0) return std::unexpected(ErrnoError("cannot fsync directory", dir));
  return Ok();
}

}  // namespace berth
