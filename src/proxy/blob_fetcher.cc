#include "proxy/blob_fetcher.h"

#include <spdlog/spdlog.h>

#include <cstring>
#include <deque>
#include <optional>
#include <thread>
#include <vector>

#include "storage/paths.h"

namespace berth::proxy {

struct BlobFetcher::Fetch {
  // Upstream bytes held in memory between their arrival and their write to the session's file.
  struct Chunk {
    uint64_t offset = 0;
    size_t len = 0;
    std::unique_ptr<char[]> data;
  };

  Digest digest;
  std::string repo;
  std::mutex mu;
  std::condition_variable cv;  // any change below
  enum class State { kStarting, kRunning, kDone, kFailed } state = State::kStarting;  // Guarded.
  uint64_t size = 0;      // announced by the upstream. Guarded by mu.
  uint64_t received = 0;  // bytes from the upstream (in `pending` or in the file). Guarded by mu.
  uint64_t written = 0;   // bytes in the session's data. Guarded by mu.
  bool received_all = false;  // the receiver has pushed its last chunk. Guarded by mu.
  // Received and not yet written, in order; the front one starts at `written`. Only the file
  // writer pops, readers copy under mu. Guarded by mu.
  std::deque<std::unique_ptr<Chunk>> pending;
  std::vector<std::unique_ptr<Chunk>> spare;  // written chunks for reuse. Guarded by mu.
  size_t chunks = 0;                          // chunks allocated. Guarded by mu.
  std::string data_path;  // the session's data file. Guarded by mu (set before kRunning).
  Error error;            // when kFailed. Guarded by mu.

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

// Bytes read from the upstream per call (the client reads straight into a chunk from the
// socket), and how many chunks a fetch may hold in memory ahead of its file writer.
constexpr size_t kChunkBytes = 1 << 20;
constexpr size_t kMaxChunks = 16;

// Reads a blob while its fetch writes it: from the session's data up to what has been written,
// then from the published blob.
class TailReader : public storage::driver::Reader {
 public:
  TailReader(std::shared_ptr<BlobFetcher::Fetch> f, storage::Namespace& local,
             storage::driver::StorageDriverPtr driver, uint64_t offset,
             std::chrono::milliseconds stall)
      : f_(std::move(f)), local_(local), driver_(std::move(driver)), pos_(offset), stall_(stall) {}

  Result<size_t> Read(char* buf, size_t cap) override {
    if (blob_) return ReadBlob(buf, cap);
    uint64_t avail = 0;
    std::string data_path;
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
      if (f_->state == State::kDone) {
        lk.unlock();
        return ReadBlob(buf, cap);
      }
      if (pos_ >= f_->written) return CopyPending(buf, cap);
      avail = f_->written - pos_;
      data_path = f_->data_path;
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
    auto n = tail_->Read(buf, static_cast<size_t>(std::min<uint64_t>(cap, avail)));
    if (!n || *n == 0) {
      tail_.reset();
      return WaitForEnd(buf, cap);
    }
    pos_ += *n;
    return *n;
  }

 private:
  // Bytes from pos_ (which lies in [written, received)) out of the chunks not yet written: the
  // clients following a fetch get them as they arrive, without waiting for the disk. mu held.
  size_t CopyPending(char* buf, size_t cap) {
    size_t copied = 0;
    for (const auto& c : f_->pending) {
      if (copied == cap) break;
      if (pos_ >= c->offset + c->len) continue;
      const size_t from = static_cast<size_t>(pos_ - c->offset);
      const size_t n = std::min(cap - copied, c->len - from);
      std::memcpy(buf + copied, c->data.get() + from, n);
      copied += n;
      pos_ += n;
    }
    tail_.reset();  // its file position is behind pos_ now
    return copied;
  }

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
      BERTH_ASSIGN_OR_RETURN(blob_, local_.Blobs().Open(f_->repo, f_->digest, pos_));
    }
    BERTH_ASSIGN_OR_RETURN(size_t n, blob_->Read(buf, cap));
    pos_ += n;
    return n;
  }

  std::shared_ptr<BlobFetcher::Fetch> f_;
  storage::Namespace& local_;
  storage::driver::StorageDriverPtr driver_;
  uint64_t pos_;
  std::chrono::milliseconds stall_;
  storage::driver::ReaderPtr tail_;
  storage::driver::ReaderPtr blob_;
};

}  // namespace

BlobFetcher::BlobFetcher(storage::Namespace& local, storage::driver::StorageDriverPtr driver,
                         std::chrono::milliseconds stall_timeout, size_t max_fetches)
    : local_(local),
      driver_(std::move(driver)),
      stall_timeout_(stall_timeout),
      max_fetches_(std::max<size_t>(max_fetches, 1)) {}

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
  auto it = running_.find(f->repo + "@" + f->digest.str());
  if (it != running_.end() && it->second == f) running_.erase(it);
}

std::shared_ptr<BlobFetcher::Fetch> BlobFetcher::Join(const Match& m, std::string_view repo,
                                                      const Digest& d) {
  std::string key = std::string(repo) + "@" + d.str();
  std::lock_guard lk(mu_);
  if (auto it = running_.find(key); it != running_.end()) {
    // A fetch that failed is only waiting for its thread to clean up: start afresh instead.
    std::lock_guard flk(it->second->mu);
    if (it->second->state != State::kFailed) return it->second;
  }
  auto f = std::make_shared<Fetch>();
  f->digest = d;
  f->repo = std::string(repo);
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

void BlobFetcher::WriteChunks(Fetch& f, storage::driver::FileWriter& file) {
  while (true) {
    const Fetch::Chunk* c = nullptr;
    {
      std::unique_lock lk(f.mu);
      f.cv.wait(lk,
                [&] { return !f.pending.empty() || f.received_all || f.state == State::kFailed; });
      if (f.state == State::kFailed || f.pending.empty()) return;
      c = f.pending.front().get();  // stays: only this thread pops
    }
    if (auto st = file.Write(c->data.get(), c->len); !st) {
      f.Fail(Error{ErrorCode::kUnavailable,
                   "blob " + f.digest.str() + ": writing the cache failed: " + st.error().message,
                   {},
                   0});
      return;
    }
    {
      std::lock_guard lk(f.mu);
      f.written += c->len;
      f.spare.push_back(std::move(f.pending.front()));
      f.pending.pop_front();
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
  auto session = uploads.Start(f->repo);
  if (!session) {
    f->Fail(session.error());
    return;
  }
  // The bytes go into the session's data file unhashed: the session is hashed (from the page
  // cache) and verified when it is committed at the end, off the clients' path. Only this fetch
  // knows the session's id.
  const std::string data_path = storage::paths::UploadData(f->repo, session->id);
  auto file = driver_->NewWriter(data_path, /*append=*/true);
  if (!file) {
    (void)uploads.Cancel(f->repo, session->id);
    f->Fail(file.error());
    return;
  }
  (*file)->Reserve(*body.content_length);
  {
    std::lock_guard lk(f->mu);
    f->size = *body.content_length;
    f->data_path = data_path;
    f->state = State::kRunning;
  }
  f->cv.notify_all();
  // This thread receives into chunks that readers copy from at once; a second one writes them to
  // the file, so the disk's pace (page-cache writeback throttling) holds back neither the upstream
  // nor the clients until kMaxChunks are waiting for it.
  std::thread writer([&f, &file] { WriteChunks(*f, **file); });
  auto fail = [&](Error e) {
    m.upstream->errors.fetch_add(1);
    f->Fail(e);
    writer.join();
    file->reset();
    (void)uploads.Cancel(f->repo, session->id);
    spdlog::warn("proxy: fetching {} failed: {}", what, e.message);
  };
  uint64_t total = 0;
  while (true) {
    {
      std::lock_guard lk(mu_);
      if (stopping_) return fail(Error{ErrorCode::kUnavailable, "shutting down", {}, 0});
    }
    std::unique_ptr<Fetch::Chunk> chunk;
    std::optional<Error> writer_failed;
    {
      std::unique_lock lk(f->mu);
      f->cv.wait(lk, [&] {
        return !f->spare.empty() || f->chunks < kMaxChunks || f->state == State::kFailed;
      });
      if (f->state == State::kFailed) {
        writer_failed = f->error;
      } else if (!f->spare.empty()) {
        chunk = std::move(f->spare.back());
        f->spare.pop_back();
      } else {
        chunk = std::make_unique<Fetch::Chunk>();
        chunk->data = std::make_unique_for_overwrite<char[]>(kChunkBytes);
        ++f->chunks;
      }
    }
    if (writer_failed) return fail(std::move(*writer_failed));
    auto n = body.Read(chunk->data.get(), kChunkBytes);
    if (!n) return fail(n.error());
    if (*n == 0) break;
    if (total + *n > *body.content_length) {
      return fail(Error{ErrorCode::kUnavailable, what + ": more bytes than announced", {}, 0});
    }
    chunk->offset = total;
    chunk->len = *n;
    total += *n;
    m.upstream->bytes_fetched.fetch_add(*n);
    {
      std::lock_guard lk(f->mu);
      f->pending.push_back(std::move(chunk));
      f->received = total;
    }
    f->cv.notify_all();
  }
  if (total != *body.content_length) {
    return fail(Error{ErrorCode::kUnavailable, what + ": body ended early", {}, 0});
  }
  {
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
  if (auto st = (*file)->Commit(); !st) return fail(st.error());
  file->reset();
  auto session_writer = uploads.Open(f->repo, session->id);
  if (!session_writer) return fail(session_writer.error());
  auto committed = (*session_writer)->Commit(f->digest);
  if (!committed) {
    return fail(Error{ErrorCode::kUnavailable, what + ": " + committed.error().message, {}, 0});
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

Result<storage::BlobInfo> BlobFetcher::Stat(const Match& m, std::string_view repo,
                                            const Digest& d) {
  auto f = Join(m, repo, d);
  std::unique_lock lk(f->mu);
  BERTH_RETURN_IF_ERROR(WaitStarted(*f, lk, stall_timeout_));
  return storage::BlobInfo{d, f->size};
}

Result<storage::driver::ReaderPtr> BlobFetcher::Open(const Match& m, std::string_view repo,
                                                     const Digest& d, uint64_t offset) {
  auto f = Join(m, repo, d);
  {
    std::unique_lock lk(f->mu);
    BERTH_RETURN_IF_ERROR(WaitStarted(*f, lk, stall_timeout_));
    if (offset > f->size) {
      return MakeError(ErrorCode::kInvalidOffset, "offset past the end of blob " + d.str());
    }
  }
  return storage::driver::ReaderPtr(
      std::make_unique<TailReader>(f, local_, driver_, offset, stall_timeout_));
}

}  // namespace berth::proxy
