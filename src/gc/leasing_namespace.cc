#include "gc/leasing_namespace.h"

#include "common/log.h"
#include "storage/manifest.h"
#include "storage/wrappers.h"

namespace berth::gc {
namespace {

using storage::BlobInfo;

// A read's lease: failure is logged, not returned (see the header).
void TakeForRead(Leases& leases, const Digest& d) {
  if (auto st = leases.Take(d); !st) {
    spdlog::warn("gc lease for {} not written: {}", d.str(), st.error().ToString());
  }
}

class LeasingBlobs : public storage::BlobStoreWrapper {
 public:
  LeasingBlobs(storage::Namespace& inner, Leases& leases)
      : BlobStoreWrapper(inner.Blobs()), leases_(leases) {}

  Result<BlobInfo> Stat(std::string_view repo, const Digest& d) override {
    TakeForRead(leases_, d);
    return target().Stat(repo, d);
  }
  Result<storage::driver::ReaderPtr> Open(std::string_view repo, const Digest& d,
                                          uint64_t offset) override {
    TakeForRead(leases_, d);
    return target().Open(repo, d, offset);
  }
  Result<BlobInfo> Link(std::string_view repo, const Digest& d) override {
    BERTH_RETURN_IF_ERROR(leases_.Take(d));
    return target().Link(repo, d);
  }
  Result<BlobInfo> Mount(std::string_view repo, std::string_view from, const Digest& d) override {
    BERTH_RETURN_IF_ERROR(leases_.Take(d));
    return target().Mount(repo, from, d);
  }

 private:
  Leases& leases_;
};

class LeasingWriter : public storage::UploadWriter {
 public:
  LeasingWriter(storage::UploadWriterPtr inner, Leases& leases)
      : inner_(std::move(inner)), leases_(leases) {}
  Status Write(const char* data, size_t n) override { return inner_->Write(data, n); }
  void Reserve(uint64_t bytes) override { inner_->Reserve(bytes); }
  uint64_t size() const override { return inner_->size(); }
  const std::string& id() const override { return inner_->id(); }
  Result<BlobInfo> Commit(const Digest& expected) override {
    BERTH_RETURN_IF_ERROR(leases_.Take(expected));
    return inner_->Commit(expected);
  }
  void Close() override { inner_->Close(); }

 private:
  storage::UploadWriterPtr inner_;
  Leases& leases_;
};

class LeasingUploads : public storage::UploadServiceWrapper {
 public:
  LeasingUploads(storage::Namespace& inner, Leases& leases)
      : UploadServiceWrapper(inner.Uploads()), leases_(leases) {}
  Result<storage::UploadWriterPtr> Open(std::string_view repo, std::string_view id) override {
    BERTH_ASSIGN_OR_RETURN(storage::UploadWriterPtr w, target().Open(repo, id));
    return storage::UploadWriterPtr(std::make_unique<LeasingWriter>(std::move(w), leases_));
  }

 private:
  Leases& leases_;
};

class LeasingManifests : public storage::ManifestServiceWrapper {
 public:
  LeasingManifests(storage::Namespace& inner, Leases& leases)
      : ManifestServiceWrapper(inner.Manifests()), blobs_(inner.Blobs()), leases_(leases) {}

  Result<storage::PutManifestResult> Put(std::string_view repo, const Reference& reference,
                                         std::string_view content_type,
                                         std::string bytes) override {
    auto parsed = storage::ParseManifest(bytes, content_type);
    if (!parsed) return target().Put(repo, reference, content_type, std::move(bytes));
    BERTH_RETURN_IF_ERROR(leases_.Take(Digest::Of(
        bytes, reference.is_digest() ? reference.digest.algorithm() : DigestAlgorithm::kSha256)));
    for (const auto& c : parsed->manifests) BERTH_RETURN_IF_ERROR(leases_.Take(c.digest));
    std::vector<const storage::Descriptor*> blobs;
    if (parsed->config) blobs.push_back(&*parsed->config);
    for (const auto& l : parsed->layers) {
      if (!l.has_urls) blobs.push_back(&l);
    }
    for (const auto* b : blobs) BERTH_RETURN_IF_ERROR(leases_.Take(b->digest));
    // After the leases: a collector that deleted a blob before they were written is seen here.
    for (const auto* b : blobs) {
      auto st = blobs_.StatGlobal(b->digest);
      if (!st && st.error().code == ErrorCode::kBlobUnknown) {
        return MakeError(
            ErrorCode::kManifestBlobUnknown,
            "manifest references blob " + b->digest.str() + " which is not stored in the registry");
      }
      if (!st) return std::unexpected(st.error());
    }
    return target().Put(repo, reference, content_type, std::move(bytes));
  }

  Result<Digest> Resolve(std::string_view repo, const Reference& reference) override {
    if (reference.is_digest()) TakeForRead(leases_, reference.digest);
    return target().Resolve(repo, reference);
  }

 private:
  storage::BlobStore& blobs_;
  Leases& leases_;
};

}  // namespace

storage::NamespacePtr WithLeases(storage::NamespacePtr inner, LeasesPtr leases) {
  return storage::Decorate<LeasingBlobs, LeasingUploads, LeasingManifests>(std::move(inner),
                                                                           std::move(leases));
}

}  // namespace berth::gc
