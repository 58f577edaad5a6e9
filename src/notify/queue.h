#pragma once
// A durable FIFO of event records for one notification endpoint, kept in one directory:
//
//   queue.log  append-only records, each
//                u32 magic "BQR1" | u64 seq | i64 enqueued (unix ns) | u32 length | u32 crc32 |
//                payload (length bytes; the event JSON)
//              little-endian; the CRC covers seq, enqueued, length and the payload.
//   acked      u64 seq of the last record that is done (delivered, dead-lettered or dropped),
//              followed by its u32 crc32; replaced atomically (write a temporary, fsync, rename,
//              fsync the directory).
//
// Records with seq <= acked are done; the rest are pending, oldest first. Because the records
// carry their sequence numbers, the cursor stays valid across compaction.
//
// Durability: Append returns after fdatasync, so an appended record survives kill -9 and power
// loss; Ack returns after the cursor is on disk, so at worst a record is delivered again after a
// crash (at least once). On Open a torn or corrupt tail (a crash mid-append) is cut off at the
// last good record and logged.
//
// Compaction: when the done prefix of the log exceeds max(1 MiB, half the file), the pending
// suffix is copied to queue.log.tmp, fsynced and renamed over queue.log.
//
// Bound: pending bytes never exceed max_bytes after an Append: the oldest pending records are
// dropped (acked without delivery) to make room, and counted (dropped_total).
//
// Thread-safety: all methods are thread-safe (one mutex); the intended use is one writer thread
// appending and one delivery thread calling Front/Ack. Errors: kIo naming the file.

#include <chrono>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "common/error.h"
#include "common/time.h"

namespace berth::notify {

struct QueueRecord {
  uint64_t seq = 0;
  SystemTime enqueued;
  std::string payload;
};

struct QueueStats {
  uint64_t pending = 0;        // records
  uint64_t pending_bytes = 0;  // payload bytes
  uint64_t dropped_total = 0;  // since Open
  std::optional<SystemTime> oldest;  // enqueue time of the oldest pending record
  uint64_t log_bytes = 0;      // size of queue.log
};

class Queue {
 public:
  // Creates the directory when missing and recovers the log.
  static Result<std::unique_ptr<Queue>> Open(const std::string& dir, uint64_t max_bytes);
  // The stats of a queue directory without changing it (for `berth notifications list` while
  // the registry may be appending).
  static Result<QueueStats> Inspect(const std::string& dir);
  ~Queue();
  Queue(const Queue&) = delete;
  Queue& operator=(const Queue&) = delete;

  // Appends the payloads as records enqueued at `now`, in order, then fdatasyncs. Returns how
  // many of the oldest pending records were dropped to stay within max_bytes.
  Result<uint64_t> Append(const std::vector<std::string>& payloads, SystemTime now);
  // The oldest pending record; nullopt when none.
  Result<std::optional<QueueRecord>> Front();
  // Marks every record up to `seq` done (idempotent; a seq already done changes nothing).
  Status Ack(uint64_t seq);
  QueueStats Stats() const;
  const std::string& dir() const { return dir_; }

 private:
  struct Entry {
    uint64_t seq;
    int64_t enqueued_ns;
    uint64_t offset;  // of the record header in queue.log
    uint32_t length;
  };
  Queue(std::string dir, uint64_t max_bytes) : dir_(std::move(dir)), max_bytes_(max_bytes) {}
  Status Recover();
  Status WriteAckedLocked(uint64_t seq);
  Status MaybeCompactLocked();

  const std::string dir_;
  const uint64_t max_bytes_;
  mutable std::mutex mu_;
  int fd_ = -1;                 // queue.log, guarded by mu_
  uint64_t end_ = 0;            // its size
  uint64_t next_seq_ = 1;
  uint64_t acked_ = 0;
  std::deque<Entry> pending_;   // guarded by mu_
  uint64_t pending_bytes_ = 0;
  uint64_t dropped_total_ = 0;
};

}  // namespace berth::notify
