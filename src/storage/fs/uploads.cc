#include "storage/fs/uploads.h"

#include "common/log.h"
#include "common/strings.h"
#include "storage/fs/links.h"
#include "storage/paths.h"

namespace berth::storage::fs {
namespace {

constexpr size_t kMaxHashStates = 10000;
constexpr size_t kRehashBuffer = 1 << 20;
constexpr auto kBusyUploadWait = std::chrono::seconds(2);

}  // namespace

// One request's hold on a session.
class FsUploadService::Writer : public UploadWriter {
 public:
  Writer(FsUploadService& svc, std::string repo, std::string id, driver::FileWriterPtr writer,
         Hasher hasher)
      : svc_(svc),
        repo_(std::move(repo)),
        id_(std::move(id)),
        writer_(std::move(writer)),
        hasher_(std::move(hasher)),
        size_(writer_->Size()) {}
  ~Writer() override { Close(); }

  Status Write(const char* data, size_t n) override {
    if (released_) return std::unexpected(Closed());
    BERTH_RETURN_IF_ERROR(writer_->Write(data, n));
    hasher_.Update(data, n);
    size_ += n;
    return Ok();
  }
  void Reserve(uint64_t bytes) override {
    if (!released_) writer_->Reserve(bytes);
  }
  uint64_t size() const override { return size_; }
  const std::string& id() const override { return id_; }

  void Close() override {
    if (released_) return;
    released_ = true;
    writer_.reset();  // keeps the bytes; the session stays resumable
    svc_.Release(Key(repo_, id_), HashState{size_, std::move(hasher_)});
  }

  Result<BlobInfo> Commit(const Digest& expected) override {
    if (released_) return std::unexpected(Closed());
    auto commit = writer_->Commit();
    writer_.reset();
    released_ = true;
    const std::string key = Key(repo_, id_);
    if (!commit) {
      svc_.Release(key, std::nullopt);
      return std::unexpected(commit.error());
    }
    Digest actual;
    if (expected.algorithm() == hasher_.algorithm()) {
      actual = hasher_.Current();
    } else {
      auto h = svc_.Rehash(repo_, id_, expected.algorithm());
      if (!h) {
        svc_.Release(key, std::nullopt);
        return std::unexpected(h.error());
      }
      actual = h->Current();
    }
    svc_.Release(key, std::nullopt);
    if (actual != expected) {
      (void)svc_.Cancel(repo_, id_);
      return MakeError(ErrorCode::kDigestInvalid,
                       "uploaded content has digest " + actual.str() + ", not " + expected.str());
    }
    return svc_.Publish(repo_, id_, actual, size_);
  }

 private:
  Error Closed() const {
    return Error{ErrorCode::kBlobUploadUnknown, "upload " + id_ + " is closed", {}, 0};
  }

  FsUploadService& svc_;
  std::string repo_;
  std::string id_;
  driver::FileWriterPtr writer_;
  Hasher hasher_;
  uint64_t size_ = 0;
  bool released_ = false;
};

std::string FsUploadService::Key(std::string_view repo, std::string_view id) {
  std::string k(repo);
  k += '\n';
  k += id;
  return k;
}

Result<UploadInfo> FsUploadService::Start(std::string_view repo) {
  UploadInfo info;
  info.id = NewUuid();
  info.started = clock_.Now();
  BERTH_RETURN_IF_ERROR(
      driver_->PutContent(paths::UploadStartedAt(repo, info.id), FormatRfc3339(info.started)));
  BERTH_ASSIGN_OR_RETURN(auto w, driver_->NewWriter(paths::UploadData(repo, info.id), false));
  w.reset();
  // The empty upload's hash state, so that its first PATCH or PUT need not read the file back.
  Release(Key(repo, info.id), HashState{0, Hasher(DigestAlgorithm::kSha256)});
  return info;
}

Result<UploadInfo> FsUploadService::Get(std::string_view repo, std::string_view id) {
  BERTH_ASSIGN_OR_RETURN(UploadInfo info, StatUpload(repo, id));
  if (auto started = driver_->GetContent(paths::UploadStartedAt(repo, id))) {
    if (auto t = ParseRfc3339(*started)) info.started = *t;
  }
  return info;
}

Result<UploadInfo> FsUploadService::StatUpload(std::string_view repo, std::string_view id) {
  // Upload ids are ours (UUIDs) or Distribution's (UUIDs too); refuse anything else before it
  // reaches a path.
  if (id.empty() || id.size() > 64 ||
      id.find_first_not_of("0123456789abcdefABCDEF-") != std::string_view::npos) {
    return MakeError(ErrorCode::kBlobUploadUnknown,
                     "upload " + Quoted(id.substr(0, 80)) + " is unknown");
  }
  auto fi = driver_->Stat(paths::UploadData(repo, id));
  if (!fi) {
    if (IsNotFound(fi.error())) {
      return MakeError(ErrorCode::kBlobUploadUnknown,
                       "upload " + std::string(id) + " is unknown in repository " + Quoted(repo));
    }
    return std::unexpected(fi.error());
  }
  UploadInfo info;
  info.id = std::string(id);
  info.size = fi->size;
  return info;
}

Result<Hasher> FsUploadService::Rehash(std::string_view repo, std::string_view id,
                                       DigestAlgorithm alg) {
  BERTH_ASSIGN_OR_RETURN(auto reader, driver_->NewReader(paths::UploadData(repo, id), 0));
  Hasher h(alg);
  std::unique_ptr<char[]> buf(new char[kRehashBuffer]);
  while (true) {
    BERTH_ASSIGN_OR_RETURN(size_t n, reader->Read(buf.get(), kRehashBuffer));
    if (n == 0) break;
    h.Update(buf.get(), n);
  }
  return h;
}

Result<UploadWriterPtr> FsUploadService::Open(std::string_view repo, std::string_view id) {
  BERTH_RETURN_IF_ERROR(StatUpload(repo, id));
  std::string key = Key(repo, id);
  std::optional<HashState> state;
  {
    std::unique_lock lock(mu_);
    // A request whose client vanished mid-body releases its session as soon as the server notices;
    // give it a moment rather than failing the client's immediate retry.
    if (!released_cv_.wait_for(lock, kBusyUploadWait, [&] { return !open_.contains(key); })) {
      return MakeError(ErrorCode::kBlobUploadInvalid,
                       "upload " + std::string(id) + " is in use by another request");
    }
    open_.insert(key);
    if (auto it = hash_states_.find(key); it != hash_states_.end()) {
      state.emplace(std::move(it->second));
      hash_states_.erase(it);
    }
  }
  auto fail = [&](Error e) -> Result<UploadWriterPtr> {
    Release(key, std::nullopt);
    return std::unexpected(std::move(e));
  };
  auto writer = driver_->NewWriter(paths::UploadData(repo, id), true);
  if (!writer) return fail(writer.error());
  uint64_t on_disk = (*writer)->Size();
  if (!state || state->offset != on_disk) {
    // After a restart, or when another process appended: rebuild from the bytes on disk.
    auto h = Rehash(repo, id, DigestAlgorithm::kSha256);
    if (!h) return fail(h.error());
    if (h->bytes() != on_disk) {
      return fail(Error{ErrorCode::kIo, "upload data changed while rehashing", {}, 0});
    }
    state.emplace(HashState{on_disk, std::move(*h)});
  }
  return UploadWriterPtr(new Writer(*this, std::string(repo), std::string(id), std::move(*writer),
                                    std::move(state->hasher)));
}

void FsUploadService::Release(const std::string& key, std::optional<HashState> state) {
  {
    std::lock_guard lock(mu_);
    open_.erase(key);
    if (state) {
      if (hash_states_.size() >= kMaxHashStates) hash_states_.erase(hash_states_.begin());
      hash_states_.insert_or_assign(key, std::move(*state));
    } else {
      hash_states_.erase(key);
    }
  }
  released_cv_.notify_all();
}

Status FsUploadService::Cancel(std::string_view repo, std::string_view id) {
  BERTH_RETURN_IF_ERROR(StatUpload(repo, id));
  {
    std::lock_guard lock(mu_);
    hash_states_.erase(Key(repo, id));
  }
  auto st = driver_->Delete(paths::UploadDir(repo, id));
  if (!st && IsNotFound(st.error())) {
    return MakeError(ErrorCode::kBlobUploadUnknown, "upload " + std::string(id) + " is unknown");
  }
  return st;
}

Result<BlobInfo> FsUploadService::Publish(std::string_view repo, std::string_view id,
                                          const Digest& d, uint64_t size) {
  const std::string data = paths::BlobData(d);
  auto existing = driver_->Stat(data);
  if (existing && existing->size == size) {
    // Same content already published (e.g. a concurrent push won): keep it.
    (void)driver_->Delete(paths::UploadDir(repo, id));
  } else {
    auto mv = driver_->Move(paths::UploadData(repo, id), data);
    if (!mv) {
      if (IsNotFound(mv.error())) {
        return MakeError(ErrorCode::kBlobUploadUnknown, "upload " + std::string(id) + " vanished");
      }
      return std::unexpected(mv.error());
    }
    // Then the directory is empty (unless Distribution left hashstates/) and goes without a walk.
    (void)driver_->Delete(paths::UploadStartedAt(repo, id));
    (void)driver_->Delete(paths::UploadDir(repo, id));
  }
  BERTH_RETURN_IF_ERROR(blobs_.WriteLink(repo, d));
  return BlobInfo{d, size};
}

Result<size_t> FsUploadService::Purge(SystemTime cutoff, bool dry_run) {
  size_t purged = 0;
  const std::string root = paths::RepositoriesRoot();
  std::vector<std::string> victims;
  auto st = driver_->Walk(root, [&](const driver::FileInfo& fi) {
    if (!fi.is_dir) return false;
    std::string_view base = BaseName(fi.path);
    if (base == "_uploads") {
      auto children = driver_->List(fi.path);
      if (!children) return false;
      for (const auto& dir : *children) {
        SystemTime started = SystemTime::max();
        if (auto t = driver_->GetContent(dir + "/startedat")) {
          if (auto p = ParseRfc3339(*t)) started = *p;
        } else if (auto s = driver_->Stat(dir)) {
          started = s->mod_time;  // no startedat: judge by the directory's age
        }
        if (started < cutoff) victims.push_back(dir);
      }
      return false;
    }
    return !base.starts_with('_');
  });
  if (!st && !IsNotFound(st.error())) return std::unexpected(st.error());
  for (const auto& dir : victims) {
    if (dry_run) {
      spdlog::info("upload purge (dry run) would delete {}", dir);
      ++purged;
      continue;
    }
    if (driver_->Delete(dir)) ++purged;
  }
  return purged;
}

}  // namespace berth::storage::fs
