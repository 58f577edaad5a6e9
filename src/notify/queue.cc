// The durable per-endpoint queue (format and guarantees in queue.h).
#include "notify/queue.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>

#include "common/file_io.h"
#include "common/log.h"
#include "notify/files.h"

namespace berth::notify {
namespace {

constexpr uint32_t kMagic = 0x31525142;  // "BQR1" little-endian
constexpr size_t kHeader = 4 + 8 + 8 + 4 + 4;
constexpr uint32_t kMaxRecord = 16 << 20;  // far above any event; a larger length is corruption
constexpr uint64_t kCompactFrom = 1 << 20;

template <typename T>
void Put(std::string& out, T v) {
  for (size_t i = 0; i < sizeof(T); ++i) out += static_cast<char>((static_cast<uint64_t>(v) >> (8 * i)) & 0xFF);
}
template <typename T>
T Get(const char* p) {
  uint64_t v = 0;
  for (size_t i = 0; i < sizeof(T); ++i) v |= static_cast<uint64_t>(static_cast<unsigned char>(p[i])) << (8 * i);
  return static_cast<T>(v);
}

std::string Encode(uint64_t seq, int64_t enqueued_ns, std::string_view payload) {
  std::string body;
  Put<uint64_t>(body, seq);
  Put<int64_t>(body, enqueued_ns);
  Put<uint32_t>(body, static_cast<uint32_t>(payload.size()));
  uint32_t crc = Crc32(payload, Crc32(body));
  std::string out;
  out.reserve(kHeader + payload.size());
  Put<uint32_t>(out, kMagic);
  out += body;
  Put<uint32_t>(out, crc);
  out += payload;
  return out;
}


Status PReadAll(int fd, char* buf, size_t n, uint64_t offset, const std::string& path) {
  while (n > 0) {
    ssize_t r = ::pread(fd, buf, n, static_cast<off_t>(offset));
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) return std::unexpected(ErrnoError("cannot read", path));
    buf += r;
    n -= static_cast<size_t>(r);
    offset += static_cast<uint64_t>(r);
  }
  return Ok();
}

}  // namespace

Result<std::unique_ptr<Queue>> Queue::Open(const std::string& dir, uint64_t max_bytes) {
  BERTH_RETURN_IF_ERROR(MakeDirs(dir));
  std::unique_ptr<Queue> q(new Queue(dir, max_bytes));
  BERTH_RETURN_IF_ERROR(q->Recover());
  return q;
}

Queue::~Queue() {
  if (fd_ >= 0) ::close(fd_);
}

namespace {

uint64_t ReadAcked(const std::string& dir) {
  auto a = ReadWholeFile(dir + "/acked");
  if (!a) return 0;
  if (a->size() == 12 && Crc32(a->substr(0, 8)) == Get<uint32_t>(a->data() + 8)) {
    return Get<uint64_t>(a->data());
  }
  // Written atomically, so this is damage from outside: redeliver rather than lose.
  spdlog::warn("notification queue {}: cursor file is corrupt; pending events may repeat", dir);
  return 0;
}

// Walks the records of `data`; calls `pending` for each one after `acked`. Returns the offset of
// the end of the last good record and sets `max_seq`.
template <typename F>
uint64_t Scan(const std::string& data, uint64_t acked, uint64_t& max_seq, F pending) {
  uint64_t off = 0;
  max_seq = acked;
  while (off + kHeader <= data.size()) {
    const char* h = data.data() + off;
    uint32_t len = Get<uint32_t>(h + 20);
    if (Get<uint32_t>(h) != kMagic || len > kMaxRecord || off + kHeader + len > data.size()) break;
    std::string_view fields(h + 4, 20), payload(h + kHeader, len);
    if (Crc32(payload, Crc32(fields)) != Get<uint32_t>(h + 24)) break;
    uint64_t seq = Get<uint64_t>(h + 4);
    if (seq <= max_seq && seq > acked) break;  // sequence went backwards: corruption
    max_seq = std::max(max_seq, seq);
    if (seq > acked) pending(seq, Get<int64_t>(h + 12), off, len);
    off += kHeader + len;
  }
  return off;
}

}  // namespace

Result<QueueStats> Queue::Inspect(const std::string& dir) {
  QueueStats s;
  std::error_code ec;
  if (!std::filesystem::exists(dir + "/queue.log", ec)) return s;
  uint64_t acked = ReadAcked(dir), max_seq = 0;
  BERTH_ASSIGN_OR_RETURN(std::string data, ReadWholeFile(dir + "/queue.log"));
  Scan(data, acked, max_seq, [&](uint64_t, int64_t ns, uint64_t, uint32_t len) {
    if (!s.oldest) {
      s.oldest = SystemTime(std::chrono::duration_cast<SystemTime::duration>(
          std::chrono::nanoseconds(ns)));
    }
    ++s.pending;
    s.pending_bytes += len;
  });
  s.log_bytes = data.size();
  return s;
}

Status Queue::Recover() {
  acked_ = ReadAcked(dir_);
  std::string log_path = dir_ + "/queue.log";
  fd_ = ::open(log_path.c_str(), O_RDWR | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
  if (fd_ < 0) return std::unexpected(ErrnoError("cannot open", log_path));
  BERTH_ASSIGN_OR_RETURN(std::string data, ReadWholeFile(log_path));
  uint64_t max_seq = 0;
  uint64_t off = Scan(data, acked_, max_seq, [&](uint64_t seq, int64_t ns, uint64_t o, uint32_t len) {
    pending_.push_back({seq, ns, o, len});
    pending_bytes_ += len;
  });
  if (off != data.size()) {
    spdlog::warn("notification queue {}: cutting a torn or corrupt tail of {} bytes at offset {}",
                 dir_, data.size() - off, off);
    if (::ftruncate(fd_, static_cast<off_t>(off)) != 0 || ::fdatasync(fd_) != 0) {
      return std::unexpected(ErrnoError("cannot truncate", log_path));
    }
  }
  end_ = off;
  next_seq_ = max_seq + 1;
  return Ok();
}

Result<uint64_t> Queue::Append(const std::vector<std::string>& payloads, SystemTime now) {
  if (payloads.empty()) return uint64_t{0};
  std::lock_guard lock(mu_);
  int64_t ns = std::chrono::duration_cast<std::chrono::nanoseconds>(now.time_since_epoch()).count();
  std::string buf;
  std::vector<Entry> added;
  uint64_t added_bytes = 0;
  for (const auto& p : payloads) {
    uint32_t len = static_cast<uint32_t>(std::min<size_t>(p.size(), kMaxRecord));
    added.push_back({next_seq_, ns, end_ + buf.size(), len});
    buf += Encode(next_seq_++, ns, std::string_view(p).substr(0, len));
    added_bytes += len;
  }
  std::string path = dir_ + "/queue.log";
  if (auto st = WriteAll(fd_, buf, path); !st) {
    // Cut what a partial write left so the next append starts on a record boundary.
    if (::ftruncate(fd_, static_cast<off_t>(end_)) != 0) {
      spdlog::error("notification queue {}: cannot cut a failed append", dir_);
    }
    next_seq_ -= payloads.size();
    return std::unexpected(st.error());
  }
  if (::fdatasync(fd_) != 0) return std::unexpected(ErrnoError("cannot fsync", path));
  end_ += buf.size();
  for (const Entry& e : added) pending_.push_back(e);
  pending_bytes_ += added_bytes;
  // Oldest first, including records of this batch when the batch alone is over the bound; the
  // newest record always stays.
  uint64_t dropped = 0;
  while (pending_.size() > 1 && pending_bytes_ > max_bytes_) {
    pending_bytes_ -= pending_.front().length;
    acked_ = pending_.front().seq;
    pending_.pop_front();
    ++dropped;
  }
  if (dropped > 0) {
    dropped_total_ += dropped;
    BERTH_RETURN_IF_ERROR(WriteAckedLocked(acked_));
  }
  BERTH_RETURN_IF_ERROR(MaybeCompactLocked());
  return dropped;
}

Result<std::optional<QueueRecord>> Queue::Front() {
  std::lock_guard lock(mu_);
  if (pending_.empty()) return std::optional<QueueRecord>();
  const Entry& e = pending_.front();
  QueueRecord r;
  r.seq = e.seq;
  r.enqueued = SystemTime(std::chrono::duration_cast<SystemTime::duration>(
      std::chrono::nanoseconds(e.enqueued_ns)));
  r.payload.resize(e.length);
  BERTH_RETURN_IF_ERROR(
      PReadAll(fd_, r.payload.data(), e.length, e.offset + kHeader, dir_ + "/queue.log"));
  return std::optional<QueueRecord>(std::move(r));
}

Status Queue::Ack(uint64_t seq) {
  std::lock_guard lock(mu_);
  if (seq <= acked_) return Ok();
  while (!pending_.empty() && pending_.front().seq <= seq) {
    pending_bytes_ -= pending_.front().length;
    pending_.pop_front();
  }
  acked_ = seq;
  BERTH_RETURN_IF_ERROR(WriteAckedLocked(seq));
  return MaybeCompactLocked();
}

Status Queue::WriteAckedLocked(uint64_t seq) {
  std::string content;
  Put<uint64_t>(content, seq);
  Put<uint32_t>(content, Crc32(content));
  return WriteFileAtomic(dir_ + "/acked", content);
}

Status Queue::MaybeCompactLocked() {
  uint64_t live_from = pending_.empty() ? end_ : pending_.front().offset;
  if (live_from < kCompactFrom || live_from < end_ / 2) return Ok();
  std::string path = dir_ + "/queue.log";
  std::string live(end_ - live_from, '\0');
  if (!live.empty()) BERTH_RETURN_IF_ERROR(PReadAll(fd_, live.data(), live.size(), live_from, path));
  BERTH_RETURN_IF_ERROR(WriteFileAtomic(path, live));
  int fd = ::open(path.c_str(), O_RDWR | O_APPEND | O_CLOEXEC);
  if (fd < 0) return std::unexpected(ErrnoError("cannot reopen", path));
  ::close(fd_);
  fd_ = fd;
  for (Entry& e : pending_) e.offset -= live_from;
  end_ -= live_from;
  return Ok();
}

QueueStats Queue::Stats() const {
  std::lock_guard lock(mu_);
  QueueStats s;
  s.pending = pending_.size();
  s.pending_bytes = pending_bytes_;
  s.dropped_total = dropped_total_;
  if (!pending_.empty()) {
    s.oldest = SystemTime(std::chrono::duration_cast<SystemTime::duration>(
        std::chrono::nanoseconds(pending_.front().enqueued_ns)));
  }
  s.log_bytes = end_;
  return s;
}

}  // namespace berth::notify
