// Open upload sessions (behaviour in upload_gauge.h).
#include "observe/upload_gauge.h"

#include <algorithm>
#include <string_view>
#include <utility>

#include "common/log.h"
#include "storage/paths.h"
#include "storage/wrappers.h"

namespace berth::observe {
namespace {

std::string_view BaseName(std::string_view path) {
  size_t slash = path.rfind('/');
  return slash == std::string_view::npos ? path : path.substr(slash + 1);
}

bool IsGone(const Error& e) {
  return e.code == ErrorCode::kBlobUploadUnknown || e.code == ErrorCode::kNotFound;
}

// Reports the end of its session once, however Commit turns out.
class CountingWriter : public storage::UploadWriterWrapper {
 public:
  CountingWriter(storage::UploadWriterPtr inner, storage::UploadService& uploads,
                 UploadCount& count, std::string repo)
      : UploadWriterWrapper(std::move(inner)),
        uploads_(uploads),
        count_(count),
        repo_(std::move(repo)) {}

  Result<storage::BlobInfo> Commit(const Digest& expected) override {
    if (ended_) return target().Commit(expected);
    UploadCount::Ticket t = count_.Begin();
    auto committed = target().Commit(expected);
    // A failed commit may have ended the session too (a digest mismatch cancels it): ask.
    bool gone = committed.has_value();
    if (!gone) {
      auto info = uploads_.Get(repo_, id());
      gone = !info && IsGone(info.error());
    }
    if (gone) {
      ended_ = true;
      count_.Ended(storage::paths::UploadDir(repo_, id()), t);
    } else {
      count_.Unchanged(t);
    }
    return committed;
  }

 private:
  storage::UploadService& uploads_;
  UploadCount& count_;
  std::string repo_;
  bool ended_ = false;
};

class CountingUploads : public storage::UploadServiceWrapper {
 public:
  CountingUploads(storage::UploadService& target, std::shared_ptr<UploadCount> count,
                  storage::driver::StorageDriverPtr driver)
      : UploadServiceWrapper(target), count_(std::move(count)), driver_(std::move(driver)) {}

  Result<storage::UploadInfo> Start(std::string_view repo) override {
    UploadCount::Ticket t = count_->Begin();
    auto info = target().Start(repo);
    if (info) {
      count_->Started(storage::paths::UploadDir(repo, info->id), t);
    } else {
      count_->Unchanged(t);
    }
    return info;
  }
  Result<storage::UploadWriterPtr> Open(std::string_view repo, std::string_view id) override {
    BERTH_ASSIGN_OR_RETURN(storage::UploadWriterPtr w, target().Open(repo, id));
    return std::make_unique<CountingWriter>(std::move(w), target(), *count_, std::string(repo));
  }
  Status Cancel(std::string_view repo, std::string_view id) override {
    UploadCount::Ticket t = count_->Begin();
    auto st = target().Cancel(repo, id);
    if (st) {
      count_->Ended(storage::paths::UploadDir(repo, id), t);
    } else {
      count_->Unchanged(t);
    }
    return st;
  }
  Result<size_t> Purge(SystemTime cutoff, bool dry_run) override {
    auto purged = target().Purge(cutoff, dry_run);
    if (!dry_run) {
      if (auto st = count_->Recount(*driver_); !st) {
        spdlog::warn("counting upload sessions after the purge failed: {}", st.error().ToString());
      }
    }
    return purged;
  }

 private:
  std::shared_ptr<UploadCount> count_;
  storage::driver::StorageDriverPtr driver_;
};

class UploadCountNamespace : public storage::NamespaceWrapper {
 public:
  UploadCountNamespace(storage::NamespacePtr inner, std::shared_ptr<UploadCount> count,
                       storage::driver::StorageDriverPtr driver)
      : NamespaceWrapper(inner), uploads_(inner->Uploads(), std::move(count), std::move(driver)) {}
  storage::UploadService& Uploads() override { return uploads_; }

 private:
  CountingUploads uploads_;
};

}  // namespace

UploadCount::Ticket UploadCount::Begin() {
  std::lock_guard lock(mu_);
  ++in_flight_;
  return {epoch_};
}

void UploadCount::Finish(const std::string* dir, Ticket t, int delta) {
  std::lock_guard lock(mu_);
  --in_flight_;
  if (journalling_ && delta != 0) (delta > 0 ? started_ : ended_).insert(*dir);
  const bool counted_meanwhile = t.epoch != epoch_;
  if (delta != 0) {
    // A count that finished while this call ran may already hold its effect: a session it saw
    // is in open_ (a start adds nothing more; an end takes it away), one it missed is not.
    bool seen = counted_meanwhile && snapshot_ && snapshot_->contains(*dir);
    if (!counted_meanwhile || (delta > 0) != seen) open_ = std::max<int64_t>(0, open_ + delta);
  }
  if (counted_meanwhile && snapshot_users_ > 0 && --snapshot_users_ == 0) snapshot_.reset();
}

Status UploadCount::Recount(storage::driver::StorageDriver& driver,
                            const std::function<bool()>& stop) {
  std::lock_guard serial(recount_mu_);
  {
    std::lock_guard lock(mu_);
    journalling_ = true;
    started_.clear();
    ended_.clear();
  }
  auto seen = std::make_shared<std::unordered_set<std::string>>();
  Status listed = Ok();
  bool stopped = false;
  Status walked = driver.Walk(storage::paths::RepositoriesRoot(), [&](const auto& fi) {
    if (stopped || (stop && (stopped = stop()))) return false;
    if (!fi.is_dir) return false;
    std::string_view base = BaseName(fi.path);
    if (base != "_uploads") return !base.starts_with('_');  // repository names never start so
    auto sessions = driver.List(fi.path);
    if (sessions) {
      seen->insert(sessions->begin(), sessions->end());
    } else if (listed && !IsGone(sessions.error())) {
      listed = std::unexpected(sessions.error());
    }
    return false;
  });
  if (!walked && IsGone(walked.error())) walked = Ok();  // no repository yet
  if (walked && !listed) walked = listed;
  std::lock_guard lock(mu_);
  journalling_ = false;
  if (!stopped && walked) {
    seen->merge(started_);
    for (const std::string& dir : ended_) seen->erase(dir);
    open_ = static_cast<int64_t>(seen->size());
    counted_ = true;
    ++epoch_;
    snapshot_users_ = in_flight_;
    if (in_flight_ > 0) {
      snapshot_ = std::move(seen);
    } else {
      snapshot_.reset();
    }
  }
  started_.clear();
  ended_.clear();
  return walked;
}

std::optional<int64_t> UploadCount::Value() const {
  std::lock_guard lock(mu_);
  if (!counted_) return std::nullopt;
  return open_;
}

metrics::Registration RegisterUploadGauge(metrics::Registry& registry,
                                          std::shared_ptr<UploadCount> count) {
  return registry.AddCallback(
      "berth_uploads_open", "Upload sessions open in storage (started, not yet committed).",
      metrics::Type::kGauge, {}, [count = std::move(count)] {
        auto v = count->Value();
        return v ? std::vector<metrics::Sample>{{{}, static_cast<double>(*v)}}
                 : std::vector<metrics::Sample>{};
      });
}

storage::NamespacePtr WithUploadCount(storage::NamespacePtr inner,
                                      std::shared_ptr<UploadCount> count,
                                      storage::driver::StorageDriverPtr driver) {
  return std::make_shared<UploadCountNamespace>(std::move(inner), std::move(count),
                                                std::move(driver));
}

}  // namespace berth::observe
