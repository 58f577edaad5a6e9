#pragma once
// Forwarding bases for decorators of the storage interfaces (storage/registry.h), in the manner of
// LevelDB's EnvWrapper: every method forwards to the wrapped object, so a decorator overrides only
// what it changes. Service wrappers hold a reference to the wrapped service, which must outlive
// them (the wrapped Namespace owns its services; a NamespaceWrapper keeps that Namespace alive).
//
// A decorator of some services inside a stack is a namespace whose accessors return its own
// wrappers; Decorate (at the end) builds one:
//
//   class CountingBlobs : public BlobStoreWrapper {  // overrides Stat
//    public:
//     CountingBlobs(Namespace& inner, Counts& c) : BlobStoreWrapper(inner.Blobs()), c_(c) {}
//     ...
//   };
//   NamespacePtr counted = Decorate<CountingBlobs>(inner, std::make_shared<Counts>());
//
// Thread-safety: as the wrapped object's.

#include <utility>

#include "storage/registry.h"

namespace berth::storage {

// What the service wrappers below share: the wrapped service, by reference.
template <typename Service>
class ForwardingTo : public Service {
 public:
  explicit ForwardingTo(Service& target) : target_(target) {}
  Service& target() const { return target_; }

 private:
  Service& target_;
};

class BlobStoreWrapper : public ForwardingTo<BlobStore> {
 public:
  using ForwardingTo::ForwardingTo;

  Result<BlobInfo> Stat(std::string_view repo, const Digest& d) override {
    return target().Stat(repo, d);
  }
  Result<driver::ReaderPtr> Open(std::string_view repo, const Digest& d, uint64_t offset) override {
    return target().Open(repo, d, offset);
  }
  Status Delete(std::string_view repo, const Digest& d) override {
    return target().Delete(repo, d);
  }
  Result<BlobInfo> Link(std::string_view repo, const Digest& d) override {
    return target().Link(repo, d);
  }
  Result<BlobInfo> Mount(std::string_view repo, std::string_view from, const Digest& d) override {
    return target().Mount(repo, from, d);
  }
  Result<BlobInfo> StatGlobal(const Digest& d) override { return target().StatGlobal(d); }
  Status DeleteGlobal(const Digest& d) override { return target().DeleteGlobal(d); }
};

class UploadServiceWrapper : public ForwardingTo<UploadService> {
 public:
  using ForwardingTo::ForwardingTo;

  Result<UploadInfo> Start(std::string_view repo) override { return target().Start(repo); }
  Result<UploadInfo> Get(std::string_view repo, std::string_view id) override {
    return target().Get(repo, id);
  }
  Result<UploadWriterPtr> Open(std::string_view repo, std::string_view id) override {
    return target().Open(repo, id);
  }
  Status Cancel(std::string_view repo, std::string_view id) override {
    return target().Cancel(repo, id);
  }
  Result<size_t> Purge(SystemTime cutoff, bool dry_run) override {
    return target().Purge(cutoff, dry_run);
  }
};

// Unlike the service wrappers, owns what it wraps (a writer is one request's).
class UploadWriterWrapper : public UploadWriter {
 public:
  explicit UploadWriterWrapper(UploadWriterPtr target) : target_(std::move(target)) {}
  UploadWriter& target() const { return *target_; }

  Status Write(const char* data, size_t n) override { return target_->Write(data, n); }
  void Reserve(uint64_t bytes) override { target_->Reserve(bytes); }
  uint64_t size() const override { return target_->size(); }
  const std::string& id() const override { return target_->id(); }
  Result<BlobInfo> Commit(const Digest& expected) override { return target_->Commit(expected); }
  void Close() override { target_->Close(); }

 private:
  UploadWriterPtr target_;
};

class TagServiceWrapper : public ForwardingTo<TagService> {
 public:
  using ForwardingTo::ForwardingTo;

  Result<Digest> Resolve(std::string_view repo, std::string_view tag) override {
    return target().Resolve(repo, tag);
  }
  Status Tag(std::string_view repo, std::string_view tag, const Digest& d) override {
    return target().Tag(repo, tag, d);
  }
  Status Untag(std::string_view repo, std::string_view tag) override {
    return target().Untag(repo, tag);
  }
  Result<std::vector<std::string>> List(std::string_view repo) override {
    return target().List(repo);
  }
  Result<std::vector<std::string>> Lookup(std::string_view repo, const Digest& d) override {
    return target().Lookup(repo, d);
  }
};

class ManifestServiceWrapper : public ForwardingTo<ManifestService> {
 public:
  using ForwardingTo::ForwardingTo;

  Result<PutManifestResult> Put(std::string_view repo, const Reference& reference,
                                std::string_view content_type, std::string bytes) override {
    return target().Put(repo, reference, content_type, std::move(bytes));
  }
  Result<Digest> Resolve(std::string_view repo, const Reference& reference) override {
    return target().Resolve(repo, reference);
  }
  Result<StoredManifest> Read(std::string_view repo, const Digest& d) override {
    return target().Read(repo, d);
  }
  Status Delete(std::string_view repo, const Digest& d) override {
    return target().Delete(repo, d);
  }
};

class ReferrerServiceWrapper : public ForwardingTo<ReferrerService> {
 public:
  using ForwardingTo::ForwardingTo;

  Result<std::vector<Referrer>> List(std::string_view repo, const Digest& subject) override {
    return target().List(repo, subject);
  }
};

class NamespaceWrapper : public Namespace {
 public:
  explicit NamespaceWrapper(NamespacePtr target) : target_(std::move(target)) {}
  Namespace& target() const { return *target_; }

  Result<bool> RepositoryExists(std::string_view repo) override {
    return target_->RepositoryExists(repo);
  }
  Result<std::vector<std::string>> Catalog(std::string_view last, size_t n, bool* more) override {
    return target_->Catalog(last, n, more);
  }
  Status Reconcile() override { return target_->Reconcile(); }
  BlobStore& Blobs() override { return target_->Blobs(); }
  UploadService& Uploads() override { return target_->Uploads(); }
  ManifestService& Manifests() override { return target_->Manifests(); }
  TagService& Tags() override { return target_->Tags(); }
  ReferrerService& Referrers() override { return target_->Referrers(); }

 private:
  NamespacePtr target_;
};

// A namespace whose services are decorators of another's: the ones set replace the inner
// namespace's, the null ones are the inner namespace's own. `state` is what the decorators share
// (a store, leases, rules); it outlives them. Built by Decorate, below.
struct ServiceDecorators {
  std::shared_ptr<void> state;
  std::unique_ptr<BlobStore> blobs;
  std::unique_ptr<UploadService> uploads;
  std::unique_ptr<ManifestService> manifests;
  std::unique_ptr<TagService> tags;
  std::unique_ptr<ReferrerService> referrers;
};

class DecoratedNamespace final : public NamespaceWrapper {
 public:
  DecoratedNamespace(NamespacePtr inner, ServiceDecorators d)
      : NamespaceWrapper(std::move(inner)), d_(std::move(d)) {}

  BlobStore& Blobs() override { return d_.blobs ? *d_.blobs : target().Blobs(); }
  UploadService& Uploads() override { return d_.uploads ? *d_.uploads : target().Uploads(); }
  ManifestService& Manifests() override {
    return d_.manifests ? *d_.manifests : target().Manifests();
  }
  TagService& Tags() override { return d_.tags ? *d_.tags : target().Tags(); }
  ReferrerService& Referrers() override {
    return d_.referrers ? *d_.referrers : target().Referrers();
  }

 private:
  ServiceDecorators d_;
};

namespace internal {
inline void Place(ServiceDecorators& d, std::unique_ptr<BlobStore> s) { d.blobs = std::move(s); }
inline void Place(ServiceDecorators& d, std::unique_ptr<UploadService> s) {
  d.uploads = std::move(s);
}
inline void Place(ServiceDecorators& d, std::unique_ptr<ManifestService> s) {
  d.manifests = std::move(s);
}
inline void Place(ServiceDecorators& d, std::unique_ptr<TagService> s) { d.tags = std::move(s); }
inline void Place(ServiceDecorators& d, std::unique_ptr<ReferrerService> s) {
  d.referrers = std::move(s);
}
}  // namespace internal

// `inner` with the services Ds replaced: each D is built as D(*inner, *state) and takes the place
// of the service it derives from. E.g. Decorate<QuotaBlobs, QuotaUploads>(inner, store).
template <typename... Ds, typename State>
NamespacePtr Decorate(NamespacePtr inner, std::shared_ptr<State> state) {
  ServiceDecorators d;
  (internal::Place(d, std::make_unique<Ds>(*inner, *state)), ...);
  d.state = std::move(state);
  return std::make_shared<DecoratedNamespace>(std::move(inner), std::move(d));
}

}  // namespace berth::storage
