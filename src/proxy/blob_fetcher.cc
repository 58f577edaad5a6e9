#include "proxy/blob_fetcher.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <cstring>
#include <deque>
#include <optional>
#include <thread>
#include <vector>

#include "storage/paths.h"

namespace berth::proxy {
namespace {

// Bytes per chunk of a fetch's memory (the receiver reads from the socket straight into it, up to
// its end). A fetch holds at most its window's worth of chunks.
constexpr size_t kChunkBytes = 1 << 20;
// The longest a request arriving after the last upstream byte waits for the fetch to commit.
constexpr std::chrono::milliseconds kCommitWait{250};

}  // namespace

struct BlobFetcher::Fetch {
  // Upstream bytes in memory: filled by the receiver up to kChunkBytes (readers may copy the
  // filled part at once), then written and hashed into the session by the file writer, then kept
  // for readers until the receiver needs the room. A reader holds a reference while it copies
  // outside the lock, so a chunk the receiver drops meanwhile stays alive for that copy.
  struct Chunk {
    uint64_t offset = 0;
    size_t len = 0;  // bytes filled; readers copy [0, len). Guarded by Fetch::mu.
    std::unique_ptr<char[]> data;
  };

  Digest digest;
  std::string repo;  // the repository it fetches for (its upload session, its link)
  std::string key;   // in BlobFetcher::running_
  std::mutex mu;
  std::condition_variable cv;  // any change below
  enum class State { kStarting, kRunning, kDone, kFailed } state = State::kStarting;  // Guarded.
  uint64_t size = 0;      // announced by the upstream. Guarded by mu.
  uint64_t received = 0;  // bytes from the upstream (in `chunks` or in the file). Guarded by mu.
  uint64_t written = 0;   // bytes written (and hashed) into the session. Guarded by mu.
  bool received_all = false;  // the receiver has filled its last chunk. Guarded by mu.
  // The newest bytes, contiguous and in order: chunks already written (kept for readers), then
  // chunks the writer has still to take, the last one possibly filling. At most the memory
  // window's count; every one but the last is full. Guarded by mu.
  std::deque<std::shared_ptr<Chunk>> chunks;
  std::string data_path;  // the session's data file. Guarded by mu (set before kRunning).
  Error error;            // when kFailed. Guarded by mu.
  // Other repositories of the same upstream that joined (each confirmed upstream): linked too
  // when the fetch commits; once `linked_all`, a joiner links itself. Guarded by mu.
  std::vector<std::string> also_for;
  bool linked_all = false;

  // The chunk holding byte `pos`, which lies in [chunks.front()->offset, received). mu held.
  const std::shared_ptr<Chunk>& ChunkAt(uint64_t pos) const {
    return chunks[static_cast<size_t>((pos - chunks.front()->offset) / kChunkBytes)];
  }
  // First byte still in memory (bytes before it are only in the file). mu held.
  uint64_t MemoryStart() const { return chunks.empty() ? received : chunks.front()->offset; }

  void Set(State s) {
    {
      std::lock_guard lk(mu);
      state = s;
    }
    cv.notify_all();
  }
  void Fail(Error e) {
    {
      std::lock_guard lk(mu);
      if (state == State::kFailed) return;
      error = std::move(e);
      state = State::kFailed;
    }
    cv.notify_all();
  }
};

namespace {

using State = BlobFetcher::Fetch::State;

// Reads a blob while its fetch runs: bytes still in the fetch's memory from there, older ones
// from the session's data, and once the fetch has committed, from the published blob.
class TailReader : public storage::driver::Reader {
 public:
  TailReader(std::shared_ptr<BlobFetcher::Fetch> f, std::string repo, storage::Namespace& local,
             storage::driver::StorageDriverPtr driver, uint64_t offset,
             std::chrono::milliseconds stall)
      : f_(std::move(f)),
        repo_(std::move(repo)),
        local_(local),
        driver_(std::move(driver)),
        pos_(offset),
        stall_(stall) {}

  Result<size_t> Read(char* buf, size_t cap) override {
    if (blob_) return ReadBlob(buf, cap);
    uint64_t avail = 0;
    std::string data_path;
    std::shared_ptr<BlobFetcher::Fetch::Chunk> chunk;
    size_t from = 0, n = 0;
    {
      std::unique_lock lk(f_->mu);
      bool woke = f_->cv.wait_for(lk, stall_, [&] {
        return f_->state == State::kDone || f_->state == State::kFailed ||
               (f_->state == State::kRunning && (f_->received > pos_ || pos_ >= f_->size));
      });
      if (!woke) {
        return MakeError(ErrorCode::kUnavailable, "blob " + f_->digest.str() +
                                                      ": no bytes from the upstream for " +
                                                      std::to_string(stall_.count()) + " ms");
      }
      if (f_->state == State::kFailed) return std::unexpected(f_->error);
      if (pos_ >= f_->size) return size_t{0};
      if (pos_ >= f_->MemoryStart() && pos_ < f_->received) {
        // From memory: as the bytes arrive, without waiting for the disk (and still after the
        // commit, for a client behind it by less than the window). The copy runs outside the
        // lock (the reference keeps the chunk); its bytes below `len` no longer change.
        chunk = f_->ChunkAt(pos_);
        from = static_cast<size_t>(pos_ - chunk->offset);
        n = std::min(cap, chunk->len - from);
      } else if (f_->state == State::kDone) {
        lk.unlock();
        return ReadBlob(buf, cap);
      } else {
        avail = f_->MemoryStart() - pos_;  // in the file: before memory, so written
        data_path = f_->data_path;
      }
    }
    if (chunk) {
      std::memcpy(buf, chunk->data.get() + from, n);
      pos_ += n;
      tail_.reset();  // its file position is behind pos_ now
      return n;
    }
    if (!tail_) {
      auto r = driver_->NewReader(data_path, pos_);
      if (!r) {
        // Committed (moved) between the check and the open: the blob is published now, or the
        // fetch failed; either way the state says which.
        return WaitForEnd(buf, cap);
      }
      tail_ = std::move(*r);
    }
    auto got = tail_->Read(buf, static_cast<size_t>(std::min<uint64_t>(cap, avail)));
    if (!got || *got == 0) {
      tail_.reset();
      return WaitForEnd(buf, cap);
    }
    pos_ += *got;
    return *got;
  }

 private:
  Result<size_t> WaitForEnd(char* buf, size_t cap) {
    std::unique_lock lk(f_->mu);
    if (!f_->cv.wait_for(
            lk, stall_, [&] { return f_->state == State::kDone || f_->state == State::kFailed; })) {
      return MakeError(ErrorCode::kUnavailable, "blob " + f_->digest.str() + ": fetch stalled");
    }
    if (f_->state == State::kFailed) return std::unexpected(f_->error);
    lk.unlock();
    return ReadBlob(buf, cap);
  }

  Result<size_t> ReadBlob(char* buf, size_t cap) {
    if (!blob_) {
      tail_.reset();
      BERTH_ASSIGN_OR_RETURN(blob_, local_.Blobs().Open(repo_, f_->digest, pos_));
    }
    BERTH_ASSIGN_OR_RETURN(size_t n, blob_->Read(buf, cap));
    pos_ += n;
    return n;
  }

  std::shared_ptr<BlobFetcher::Fetch> f_;
  std::string repo_;  // the reader's repository (linked when the fetch commits)
  storage::Namespace& local_;
  storage::driver::StorageDriverPtr driver_;
  uint64_t pos_;
  std::chrono::milliseconds stall_;
  storage::driver::ReaderPtr tail_;
  storage::driver::ReaderPtr blob_;
};

}  // namespace

BlobFetcher::BlobFetcher(storage::Namespace& local, storage::driver::StorageDriverPtr driver,
                         std::chrono::milliseconds stall_timeout, size_t max_fetches,
                         uint64_t window_bytes)
    : local_(local),
      driver_(std::move(driver)),
      stall_timeout_(stall_timeout),
      max_fetches_(std::max<size_t>(max_fetches, 1)),
      window_chunks_(std::max<size_t>(static_cast<size_t>(window_bytes / kChunkBytes), 1)) {}

BlobFetcher::~BlobFetcher() {
  std::unique_lock lk(mu_);
  stopping_ = true;
  idle_.wait(lk, [&] { return threads_ == 0; });
}

size_t BlobFetcher::running() const {
  std::lock_guard lk(mu_);
  return running_.size();
}

size_t BlobFetcher::threads() const {
  std::lock_guard lk(mu_);
  return threads_;
}

void BlobFetcher::Forget(const std::shared_ptr<Fetch>& f) {
  auto it = running_.find(f->key);
  if (it != running_.end() && it->second == f) running_.erase(it);
}

std::shared_ptr<BlobFetcher::Fetch> BlobFetcher::Join(const Match& m, std::string_view repo,
                                                      const Digest& d, bool* other_repo) {
  // One fetch per upstream and digest (the upstream's identity: its entry in the config).
  std::string key = std::to_string(reinterpret_cast<uintptr_t>(m.upstream)) + "@" + d.str();
  *other_repo = false;
  std::lock_guard lk(mu_);
  if (auto it = running_.find(key); it != running_.end()) {
    // A fetch that failed is only waiting for its thread to clean up: start afresh instead.
    std::lock_guard flk(it->second->mu);
    if (it->second->state != State::kFailed) {
      const auto& also = it->second->also_for;
      *other_repo = it->second->repo != repo &&
                    std::find(also.begin(), also.end(), repo) == also.end();
      return it->second;
    }
  }
  auto f = std::make_shared<Fetch>();
  f->digest = d;
  f->repo = std::string(repo);
  f->key = key;
  if (stopping_) {
    f->Fail(Error{ErrorCode::kUnavailable, "the registry is shutting down", {}, 0});
    return f;
  }
  running_[key] = f;
  m.upstream->blob_fetches.fetch_add(1);
  if (threads_ >= max_fetches_) {
    // At the cap: the fetch waits its turn (its clients wait in WaitStarted, bounded by the stall
    // timeout) and starts on the first thread that finishes.
    queue_.emplace_back(f, m);
    return f;
  }
  ++threads_;
  std::thread([this, f, m] {
    std::shared_ptr<Fetch> next = f;
    Match next_m = m;
    while (next) {
      Run(next, next_m);
      std::lock_guard lk(mu_);
      Forget(next);
      next.reset();
      while (!queue_.empty() && !next) {
        auto [qf, qm] = std::move(queue_.front());
        queue_.pop_front();
        if (stopping_) {
          Forget(qf);
          qf->Fail(Error{ErrorCode::kUnavailable, "the registry is shutting down", {}, 0});
        } else {
          next = std::move(qf);
          next_m = std::move(qm);
        }
      }
      if (!next && --threads_ == 0) idle_.notify_all();
    }
  }).detach();
  return f;
}

void BlobFetcher::WriteChunks(Fetch& f, storage::UploadWriter& session) {
  while (true) {
    std::shared_ptr<Fetch::Chunk> c;
    {
      std::unique_lock lk(f.mu);
      // The next chunk once it is full (or the last): whole 1 MiB writes.
      f.cv.wait(lk, [&] {
        if (f.state == State::kFailed || f.written == f.received) {
          return f.state == State::kFailed || f.received_all;
        }
        const auto& next = f.ChunkAt(f.written);
        return next->len == kChunkBytes || f.received_all;
      });
      if (f.state == State::kFailed || f.written == f.received) return;
      c = f.ChunkAt(f.written);
    }
    // Hashed as it is written (the session keeps the hash state), so the commit verifies the
    // digest without reading the file back.
    if (auto st = session.Write(c->data.get(), c->len); !st) {
      f.Fail(Error{ErrorCode::kUnavailable,
                   "blob " + f.digest.str() + ": writing the cache failed: " + st.error().message,
                   {},
                   0});
      return;
    }
    {
      std::lock_guard lk(f.mu);
      f.written += c->len;
    }
    f.cv.notify_all();
  }
}

void BlobFetcher::Run(std::shared_ptr<Fetch> f, Match m) {
  const std::string what =
      "blob " + f->digest.str() + " of " + m.upstream->cfg.url + "/" + m.remote;
  auto res = m.upstream->client->GetBlob(m.remote, f->digest);
  if (!res) {
    m.upstream->NoteFailure(res.error());
    f->Fail(res.error());
    return;
  }
  client::Response& body = **res;
  if (!body.content_length) {
    f->Fail(Error{ErrorCode::kUnavailable, what + ": the upstream sent no Content-Length", {}, 0});
    return;
  }
  storage::UploadService& uploads = local_.Uploads();
  auto started = uploads.Start(f->repo);
  if (!started) {
    f->Fail(started.error());
    return;
  }
  // Only this fetch knows the session's id.
  const std::string id = started->id;
  auto session = uploads.Open(f->repo, id);
  if (!session) {
    (void)uploads.Cancel(f->repo, id);
    f->Fail(session.error());
    return;
  }
  (*session)->Reserve(*body.content_length);
  {
    std::lock_guard lk(f->mu);
    f->size = *body.content_length;
    f->data_path = storage::paths::UploadData(f->repo, id);
    f->state = State::kRunning;
  }
  f->cv.notify_all();
  // This thread receives into chunks that readers copy from at once; a second one writes and
  // hashes them into the session, so neither the disk's pace (page-cache writeback throttling)
  // nor the hash holds back the upstream or the clients until the window is full.
  std::thread writer([&f, &session] { WriteChunks(*f, **session); });
  auto fail = [&](Error e) {
    m.upstream->errors.fetch_add(1);
    f->Fail(e);
    if (writer.joinable()) writer.join();
    session->reset();
    (void)uploads.Cancel(f->repo, id);
    spdlog::warn("proxy: fetching {} failed: {}", what, e.message);
  };
  const uint64_t size = *body.content_length;
  uint64_t total = 0;
  std::shared_ptr<Fetch::Chunk> chunk;  // the one being filled
  while (total < size) {
    {
      std::lock_guard lk(mu_);
      if (stopping_) return fail(Error{ErrorCode::kUnavailable, "shutting down", {}, 0});
    }
    if (!chunk || chunk->len == kChunkBytes) {
      // A fresh chunk: new while the window has room, else the oldest written one (readers
      // behind it read the file), reused unless a reader is copying from it.
      std::optional<Error> writer_failed;
      std::unique_lock lk(f->mu);
      f->cv.wait(lk, [&] {
        return f->chunks.size() < window_chunks_ ||
               f->chunks.front()->offset + f->chunks.front()->len <= f->written ||
               f->state == State::kFailed;
      });
      if (f->state == State::kFailed) {
        writer_failed = f->error;
      } else {
        chunk.reset();
        if (f->chunks.size() >= window_chunks_) {
          if (f->chunks.front().use_count() == 1) chunk = std::move(f->chunks.front());
          f->chunks.pop_front();
        }
        if (!chunk) {
          chunk = std::make_shared<Fetch::Chunk>();
          chunk->data = std::make_unique_for_overwrite<char[]>(kChunkBytes);
        }
        chunk->offset = total;
        chunk->len = 0;
        f->chunks.push_back(chunk);
      }
      if (writer_failed) {
        lk.unlock();
        return fail(std::move(*writer_failed));
      }
    }
    const size_t want =
        static_cast<size_t>(std::min<uint64_t>(kChunkBytes - chunk->len, size - total));
    auto n = body.Read(chunk->data.get() + chunk->len, want);
    if (!n) return fail(n.error());
    if (*n == 0) return fail(Error{ErrorCode::kUnavailable, what + ": body ended early", {}, 0});
    total += *n;
    m.upstream->bytes_fetched.fetch_add(*n);
    {
      std::lock_guard lk(f->mu);
      chunk->len += *n;
      f->received = total;
      f->received_all = total == size;
    }
    f->cv.notify_all();
  }
  if (size == 0) {
    std::lock_guard lk(f->mu);
    f->received_all = true;
  }
  f->cv.notify_all();
  writer.join();
  std::optional<Error> writer_failed;
  {
    std::lock_guard lk(f->mu);
    if (f->state == State::kFailed) writer_failed = f->error;
  }
  if (writer_failed) return fail(std::move(*writer_failed));
  // Verified against the digest (hashed as written), then published and linked.
  auto committed = (*session)->Commit(f->digest);
  if (!committed) {
    return fail(Error{ErrorCode::kUnavailable, what + ": " + committed.error().message, {}, 0});
  }
  session->reset();
  std::vector<std::string> also_for;
  {
    std::lock_guard lk(f->mu);
    also_for = std::move(f->also_for);
    f->linked_all = true;
  }
  for (const auto& r : also_for) {
    if (auto linked = local_.Blobs().Link(r, f->digest); !linked) {
      spdlog::warn("proxy: linking fetched {} into {} failed: {}", f->digest.str(), r,
                   linked.error().message);
    }
  }
  f->Set(State::kDone);
}

namespace {

// Waits until the fetch has the upstream's answer (its size) or failed.
Status WaitStarted(BlobFetcher::Fetch& f, std::unique_lock<std::mutex>& lk,
                   std::chrono::milliseconds timeout) {
  if (!f.cv.wait_for(lk, timeout, [&] { return f.state != State::kStarting; })) {
    return MakeError(ErrorCode::kUnavailable,
                     "blob " + f.digest.str() + ": the upstream did not answer in time");
  }
  if (f.state == State::kFailed) return std::unexpected(f.error);
  return Ok();
}

}  // namespace

Result<std::shared_ptr<BlobFetcher::Fetch>> BlobFetcher::Acquire(const Match& m,
                                                                 std::string_view repo,
                                                                 const Digest& d) {
  bool other_repo = false;
  auto f = Join(m, repo, d, &other_repo);
  if (!other_repo) return f;
  // Another repository's fetch of the same blob: this one shares it once the upstream confirms
  // that `repo` has the blob too (so a mirrored name never gets content through another's).
  auto head = m.upstream->client->HeadBlob(m.remote, d);
  if (!head) {
    m.upstream->NoteFailure(head.error());
    return std::unexpected(head.error());
  }
  {
    std::lock_guard lk(f->mu);
    if (!f->linked_all) {
      f->also_for.emplace_back(repo);
      return f;
    }
  }
  // Committed meanwhile: link it here.
  BERTH_RETURN_IF_ERROR(local_.Blobs().Link(repo, d));
  return f;
}

Result<storage::BlobInfo> BlobFetcher::Stat(const Match& m, std::string_view repo,
                                            const Digest& d) {
  BERTH_ASSIGN_OR_RETURN(auto f, Acquire(m, repo, d));
  std::unique_lock lk(f->mu);
  BERTH_RETURN_IF_ERROR(WaitStarted(*f, lk, stall_timeout_));
  return storage::BlobInfo{d, f->size};
}

Result<storage::driver::ReaderPtr> BlobFetcher::Open(const Match& m, std::string_view repo,
                                                     const Digest& d, uint64_t offset) {
  BERTH_ASSIGN_OR_RETURN(auto f, Acquire(m, repo, d));
  {
    std::unique_lock lk(f->mu);
    BERTH_RETURN_IF_ERROR(WaitStarted(*f, lk, stall_timeout_));
    if (offset > f->size) {
      return MakeError(ErrorCode::kInvalidOffset, "offset past the end of blob " + d.str());
    }
    if (f->state == State::kRunning && f->received_all) {
      // Every byte is in: the commit is at most a window's writing and hashing away. Waiting for
      // it lets this client be served like any cached blob (from its file, without the copies a
      // follower makes) instead of competing with that hashing; a disk that stalls longer than
      // kCommitWait is not waited for (the client follows the fetch from memory).
      f->cv.wait_for(lk, std::min(stall_timeout_, kCommitWait),
                     [&] { return f->state == State::kDone || f->state == State::kFailed; });
    }
    if (f->state == State::kFailed) return std::unexpected(f->error);
    if (f->state == State::kDone) {
      lk.unlock();
      return local_.Blobs().Open(repo, d, offset);
    }
  }
  return storage::driver::ReaderPtr(
      std::make_unique<TailReader>(f, std::string(repo), local_, driver_, offset, stall_timeout_));
}

}  // namespace berth::proxy
