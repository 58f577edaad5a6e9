#pragma once
// Internal to http/: sending a streamed response body (Response::stream) after its head.
//
// Three ways, chosen per response by the connection (Connection::WriteResponse):
//   - sendfile(2) from the source's file (ServerOptions::sendfile, plain TCP only),
//   - read-only mappings of the source's file, one window at a time (ServerOptions::map_files,
//     plain TCP, bodies of kMapFrom bytes and more),
//   - copies through a buffer from BodySource::Read (TLS, sources without a file, small files).
//
// `Conn` is the connection (connection.cc) seen through the small surface these need: WriteAll,
// Raw, SetDeadline, head (the serialised response head, not yet sent), core, options, request.
// Each returns false when the response was cut short; the connection is then closed.
//
// Thread-safety: run on the connection's worker thread, as part of its coroutine.

#include <sys/mman.h>
#include <sys/sendfile.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstdint>
#include <functional>
#include <memory>
#include <system_error>

#include "common/log.h"
#include "http/blocking_pool.h"
#include "http/core.h"
#include "http/io.h"
#include "http/message.h"

namespace berth::http {

// Streamed file bodies from this size on are sent from mappings (ServerOptions::map_files).
inline constexpr uint64_t kMapFrom = 256 << 10;
// The most a response body from a source without a file waits to gather before it is sent.
inline constexpr uint64_t kStreamBuffer = 256 << 10;

template <class Conn>
Task<bool> CopyStream(Conn& c, BodySource& source, uint64_t length, uint64_t& sent) {
  if (length == 0) {
    std::array<asio::const_buffer, 1> b{asio::buffer(c.head())};
    co_return co_await c.WriteAll(b);
  }
  const bool file_backed = source.NativeFd() >= 0;
  // A source without a file may deliver bytes as they arrive (a pull-through fetch, an object
  // store's stream): a smaller buffer passes them on sooner, where a large one would hold each
  // byte until megabytes more came.
  const BufferLease lease(c.core(), file_backed ? length : std::min(length, kStreamBuffer));
  const size_t cap = lease.size();
  auto chunk = std::make_unique_for_overwrite<char[]>(cap);
  bool first = true;
  while (sent < length) {
    const size_t want = static_cast<size_t>(std::min<uint64_t>(cap, length - sent));
    // Fill the buffer so that each write is large; a short read is not the end. False when a
    // read failed (logged).
    size_t filled = 0;
    auto fill = [&]() -> bool {
      while (filled < want) {
        Result<size_t> got = source.Read(chunk.get() + filled, want - filled);
        if (!got) {
          spdlog::warn("http: response body for {} {} failed after {} bytes: {}",
                       c.request().method, c.request().target, sent + filled,
                       got.error().ToString());
          return false;
        }
        if (*got == 0) break;
        filled += std::min(*got, want - filled);
      }
      return true;
    };
    // A source with a file descriptor reads from the page cache (the kernel's copy, as sendfile
    // would do); any other source may block on storage, so its reads go to the blocking pool, one
    // hop per buffer.
    const bool read_ok =
        file_backed ? fill() : *co_await RunBlocking(*c.core().pool, std::ref(fill));
    if (!read_ok) co_return false;
    if (filled == 0) {
      spdlog::warn("http: response body for {} {} ended after {} of {} bytes", c.request().method,
                   c.request().target, sent, length);
      co_return false;
    }
    bool ok;
    if (first) {
      // Head and first chunk in one write: one segment for small responses.
      std::array<asio::const_buffer, 2> b{asio::buffer(c.head()),
                                          asio::buffer(chunk.get(), filled)};
      ok = co_await c.WriteAll(b);
      first = false;
    } else {
      std::array<asio::const_buffer, 1> b{asio::buffer(chunk.get(), filled)};
      ok = co_await c.WriteAll(b);
    }
    if (!ok) co_return false;
    sent += filled;
  }
  co_return true;
}

// Sends `length` bytes of the source's file from its current position, through read-only
// mappings of one window at a time: the kernel copies page cache straight into the socket, which
// saves the read() copy (8 concurrent 1 GiB GETs: 10-15 % less CPU than copying, faster than
// sendfile here). Only the kernel touches the mapping (sendmsg), so a page that cannot be read
// (I/O error, a file truncated under us) fails that write with EFAULT instead of raising SIGBUS;
// the response is cut short and the connection closed, as when read() fails. Plain TCP only: TLS
// would read the mapping in user space. Windows come from the large-buffer budget, so the mapped
// (resident) size stays bounded like the copy buffers.
template <class Conn>
Task<bool> SendMapped(Conn& c, BodySource& source, uint64_t length, uint64_t& sent) {
  const int fd = source.NativeFd();
  const off_t start = ::lseek(fd, 0, SEEK_CUR);
  if (start < 0) co_return co_await CopyStream(c, source, length, sent);
  std::array<asio::const_buffer, 1> head{asio::buffer(c.head())};
  if (!co_await c.WriteAll(head)) co_return false;
  static const uint64_t kPage = static_cast<uint64_t>(::sysconf(_SC_PAGESIZE));
  const BufferLease lease(c.core(), length);
  const uint64_t window = std::max<uint64_t>(lease.size(), kPage);
  while (sent < length) {
    const uint64_t at = static_cast<uint64_t>(start) + sent;
    const uint64_t base = at & ~(kPage - 1);
    const uint64_t n = std::min<uint64_t>(window, length - sent);
    const size_t span = static_cast<size_t>(at - base + n);
    void* m =
        ::mmap(nullptr, span, PROT_READ, MAP_SHARED | MAP_POPULATE, fd, static_cast<off_t>(base));
    if (m == MAP_FAILED) {
      spdlog::warn("http: mapping the body of {} {} failed after {} bytes: {}", c.request().method,
                   c.request().target, sent,
                   std::error_code(errno, std::system_category()).message());
      co_return false;
    }
    std::array<asio::const_buffer, 1> b{
        asio::buffer(static_cast<const char*>(m) + (at - base), static_cast<size_t>(n))};
    ErrorCodeT ec;
    size_t wrote = 0;
    const bool ok = co_await c.WriteAll(b, &ec, &wrote);
    ::munmap(m, span);
    sent += wrote;
    if (!ok) {
      if (ec.value() == EFAULT) {
        spdlog::warn("http: file for {} {} could not be read after {} of {} bytes",
                     c.request().method, c.request().target, sent, length);
      }
      co_return false;
    }
  }
  co_return true;
}

template <class Conn>
Task<bool> SendFile(Conn& c, BodySource& source, uint64_t length, uint64_t& sent) {
  std::array<asio::const_buffer, 1> b{asio::buffer(c.head())};
  bool ok = co_await c.WriteAll(b);
  if (!ok) co_return false;
  const int in_fd = source.NativeFd();
  const int out_fd = c.Raw().native_handle();
  // Large slices: sendfile stops at the socket buffer anyway, and this bounds one call's work.
  constexpr uint64_t kSlice = 16 << 20;
  while (sent < length) {
    c.SetDeadline(Clock::now() + c.options().write_timeout);
    ssize_t n = ::sendfile(out_fd, in_fd, nullptr,
                           static_cast<size_t>(std::min<uint64_t>(kSlice, length - sent)));
    if (n > 0) {
      sent += static_cast<uint64_t>(n);
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      auto [ec] = co_await c.Raw().async_wait(tcp::socket::wait_write, kUse);
      if (ec) co_return false;
      continue;
    }
    if (n == 0) {
      spdlog::warn("http: file for {} {} ended after {} of {} bytes", c.request().method,
                   c.request().target, sent, length);
    } else if (errno != EPIPE && errno != ECONNRESET) {
      spdlog::warn("http: sendfile for {} {} failed: {}", c.request().method, c.request().target,
                   std::error_code(errno, std::system_category()).message());
    }
    co_return false;
  }
  co_return true;
}

}  // namespace berth::http
