#include "meta/quota.h"

#include "common/log.h"
#include "storage/wrappers.h"

namespace berth::meta {
namespace {

// A store that cannot be reached refuses the push (503) instead of letting it through uncounted.
Error Unavailable(const Error& e) {
  return Error{ErrorCode::kUnavailable, "quota check failed: " + e.message, {}, 0};
}
Error Translate(const Error& e) { return e.Is(ErrorCode::kDenied) ? e : Unavailable(e); }

// Charges `d` to `repo`'s namespace, runs `link`, and undoes the charge if linking fails.
template <typename Fn>
Result<storage::BlobInfo> Charged(Store& store, std::string_view repo, const Digest& d,
                                  uint64_t size, Fn&& link) {
  auto charge = store.ChargeBlob(std::string(repo), d.str(), size);
  if (!charge) return std::unexpected(Translate(charge.error()));
  auto linked = link();
  if (!linked && charge->new_hold) {
    if (auto st = store.ReleaseBlob(std::string(repo), d.str()); !st) {
      spdlog::warn("quota: cannot undo the charge of {} to {}: {}", d.str(), repo,
                   st.error().message);
    }
  }
  return linked;
}

class QuotaWriter : public storage::UploadWriter {
 public:
  QuotaWriter(storage::UploadWriterPtr inner, Store& store, std::string repo)
      : inner_(std::move(inner)), store_(store), repo_(std::move(repo)) {}
  Status Write(const char* data, size_t n) override { return inner_->Write(data, n); }
  void Reserve(uint64_t bytes) override { inner_->Reserve(bytes); }
  uint64_t size() const override { return inner_->size(); }
  const std::string& id() const override { return inner_->id(); }
  void Close() override { inner_->Close(); }
  Result<storage::BlobInfo> Commit(const Digest& expected) override {
    return Charged(store_, repo_, expected, inner_->size(),
                   [&] { return inner_->Commit(expected); });
  }

 private:
  storage::UploadWriterPtr inner_;
  Store& store_;
  const std::string repo_;
};

class QuotaUploads : public storage::UploadServiceWrapper {
 public:
  QuotaUploads(storage::Namespace& inner, Store& store)
      : UploadServiceWrapper(inner.Uploads()), store_(store) {}
  Result<storage::UploadInfo> Start(std::string_view repo) override {
    auto q = store_.GetQuota(std::string(NamespaceOf(repo)));
    if (!q) return std::unexpected(Unavailable(q.error()));
    if (q->limit_bytes != 0 && q->used_bytes >= q->limit_bytes) {
      return std::unexpected(
          Error{ErrorCode::kDenied,
                "quota exceeded for namespace \"" + q->ns + "\": " + FormatBytes(q->used_bytes) +
                    " used of " + FormatBytes(q->limit_bytes),
                "{\"namespace\":\"" + q->ns + "\",\"used\":" + std::to_string(q->used_bytes) +
                    ",\"limit\":" + std::to_string(q->limit_bytes) + "}",
                0});
    }
    return target().Start(repo);
  }
  Result<storage::UploadWriterPtr> Open(std::string_view repo, std::string_view id) override {
    auto w = target().Open(repo, id);
    if (!w) return w;
    return storage::UploadWriterPtr(
        std::make_unique<QuotaWriter>(std::move(*w), store_, std::string(repo)));
  }

 private:
  Store& store_;
};

class QuotaBlobs : public storage::BlobStoreWrapper {
 public:
  QuotaBlobs(storage::Namespace& inner, Store& store)
      : BlobStoreWrapper(inner.Blobs()), store_(store) {}
  Result<storage::BlobInfo> Link(std::string_view repo, const Digest& d) override {
    auto info = target().StatGlobal(d);
    if (!info) return info;
    return Charged(store_, repo, d, info->size, [&] { return target().Link(repo, d); });
  }
  Result<storage::BlobInfo> Mount(std::string_view repo, std::string_view from,
                                  const Digest& d) override {
    auto info = target().Stat(from, d);
    if (!info) return info;
    return Charged(store_, repo, d, info->size, [&] { return target().Mount(repo, from, d); });
  }
  Status Delete(std::string_view repo, const Digest& d) override {
    BERTH_RETURN_IF_ERROR(target().Delete(repo, d));
    if (auto st = store_.ReleaseBlob(std::string(repo), d.str()); !st) {
      spdlog::warn("quota: cannot release {} of {}: {}", d.str(), repo, st.error().message);
    }
    return Ok();
  }

 private:
  Store& store_;
};

}  // namespace

storage::NamespacePtr WithQuotas(storage::NamespacePtr inner, StorePtr store) {
  return storage::Decorate<QuotaUploads, QuotaBlobs>(std::move(inner), std::move(store));
}

}  // namespace berth::meta
