#include "proxy/blob_fetcher.h"

#include <spdlog/spdlog.h>

#include <thread>

#include "storage/paths.h"

namespace berth::proxy {

struct BlobFetcher::Fetch {
  Digest digest;
  std::string repo;
  std::mutex mu;
  std::condition_variable cv;
  enum class State { kStarting, kRunning, kDone, kFailed } state = State::kStarting;  // Guarded.
  uint64_t size = 0;      // announced by the upstream. Guarded by mu.
  uint64_t written = 0;   // bytes in the session's data. Guarded by mu.
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
      error = std::move(e);
      state = State::kFailed;
    }
    cv.notify_all();
  }
};

namespace {

using State = BlobFetcher::Fetch::State;

// Bytes read from the upstream per call (the client reads straight into it from the socket).
constexpr size_t kFetchBuffer = 1 << 20;

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
               (f_->state == State::kRunning && f_->written > pos_) ||
               (f_->state == State::kRunning && pos_ >= f_->size);
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
                         std::chrono::milliseconds stall_timeout)
    : local_(local), driver_(std::move(driver)), stall_timeout_(stall_timeout) {}

BlobFetcher::~BlobFetcher() {
  std::unique_lock lk(mu_);
  stopping_ = true;
  idle_.wait(lk, [&] { return threads_ == 0; });
}

size_t BlobFetcher::running() const {
  std::lock_guard lk(mu_);
  return running_.size();
}

std::shared_ptr<BlobFetcher::Fetch> BlobFetcher::Join(const Match& m, std::string_view repo,
                                                      const Digest& d) {
  std::string key = std::string(repo) + "@" + d.str();
  std::lock_guard lk(mu_);
  if (auto it = running_.find(key); it != running_.end()) return it->second;
  auto f = std::make_shared<Fetch>();
  f->digest = d;
  f->repo = std::string(repo);
  if (stopping_) {
    f->Fail(Error{ErrorCode::kUnavailable, "the registry is shutting down", {}, 0});
    return f;
  }
  running_[key] = f;
  ++threads_;
  m.upstream->blob_fetches.fetch_add(1);
  std::thread([this, f, m] {
    Run(f, m);
    std::lock_guard lk(mu_);
    running_.erase(f->repo + "@" + f->digest.str());
    if (--threads_ == 0) idle_.notify_all();
  }).detach();
  return f;
}

void BlobFetcher::Run(std::shared_ptr<Fetch> f, Match m) {
  const std::string what =
      "blob " + f->digest.str() + " of " + m.upstream->cfg.url + "/" + m.remote;
  auto res = m.upstream->client->GetBlob(m.remote, f->digest);
  if (!res) {
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
  // The bytes go straight into the session's data file, unhashed, so that waiting clients get
  // them as soon as they land; the session is hashed (from the page cache) and verified when it
  // is committed at the end, off the clients' path. Only this fetch knows the session's id.
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
  auto fail = [&](Error e) {
    file->reset();
    (void)uploads.Cancel(f->repo, session->id);
    spdlog::warn("proxy: fetching {} failed: {}", what, e.message);
    f->Fail(std::move(e));
  };
  std::vector<char> buf(kFetchBuffer);
  uint64_t total = 0;
  while (true) {
    {
      std::lock_guard lk(mu_);
      if (stopping_) return fail(Error{ErrorCode::kUnavailable, "shutting down", {}, 0});
    }
    auto n = body.Read(buf.data(), buf.size());
    if (!n) return fail(n.error());
    if (*n == 0) break;
    if (total + *n > *body.content_length) {
      return fail(Error{ErrorCode::kUnavailable, what + ": more bytes than announced", {}, 0});
    }
    if (auto st = (*file)->Write(buf.data(), *n); !st) return fail(st.error());
    total += *n;
    {
      std::lock_guard lk(f->mu);
      f->written = total;
    }
    f->cv.notify_all();
  }
  if (total != *body.content_length) {
    return fail(Error{ErrorCode::kUnavailable, what + ": body ended early", {}, 0});
  }
  if (auto st = (*file)->Commit(); !st) return fail(st.error());
  file->reset();
  auto writer = uploads.Open(f->repo, session->id);
  if (!writer) return fail(writer.error());
  auto committed = (*writer)->Commit(f->digest);
  if (!committed) {
    spdlog::warn("proxy: {} failed verification: {}", what, committed.error().message);
    (void)uploads.Cancel(f->repo, session->id);
    f->Fail(Error{ErrorCode::kUnavailable, what + ": " + committed.error().message, {}, 0});
    return;
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
