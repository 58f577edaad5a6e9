#pragma once
// Forwarding bases for decorators of the storage interfaces (storage/registry.h), in the manner of
// LevelDB's EnvWrapper: every method forwards to the wrapped object, so a decorator overrides only
// what it changes. Service wrappers hold a reference to the wrapped service, which must outlive
// them (the wrapped Namespace owns its services; a NamespaceWrapper keeps that Namespace alive).
//
// A decorator of one service inside a stack is a NamespaceWrapper that overrides the service's
// accessor to return its own wrapper:
//
//   class CountingNamespace : public NamespaceWrapper {
//     explicit CountingNamespace(NamespacePtr inner) : NamespaceWrapper(inner),
//     blobs_(inner->Blobs()) {} BlobStore& Blobs() override { return blobs_; } CountingBlobs
//     blobs_;  // a BlobStoreWrapper overriding Stat
//   };
//
// Thread-safety: as the wrapped object's.

#include <utility>

#include "storage/registry.h"

namespace berth::storage {

class BlobStoreWrapper : public BlobStore {
 public:
  explicit BlobStoreWrapper(BlobStore& target) : target_(target) {}
  BlobStore& target() const { return target_; }

  Result<BlobInfo> Stat(std::string_view repo, const Digest& d) override {
    return target_.Stat(repo, d);
  }
  Result<driver::ReaderPtr> Open(std::string_view repo, const Digest& d, uint64_t offset) override {
    return target_.Open(repo, d, offset);
  }
  Status Delete(std::string_view repo, const Digest& d) override { return target_.Delete(repo, d); }
  Result<BlobInfo> Link(std::string_view repo, const Digest& d) override {
    return target_.Link(repo, d);
  }
  Result<BlobInfo> Mount(std::string_view repo, std::string_view from, const Digest& d) override {
    return target_.Mount(repo, from, d);
  }
  Result<BlobInfo> StatGlobal(const Digest& d) override { return target_.StatGlobal(d); }
  Status DeleteGlobal(const Digest& d) override { return target_.DeleteGlobal(d); }

 private:
  BlobStore& target_;
};

class UploadServiceWrapper : public UploadService {
 public:
  explicit UploadServiceWrapper(UploadService& target) : target_(target) {}
  UploadService& target() const { return target_; }

  Result<UploadInfo> Start(std::string_view repo) override { return target_.Start(repo); }
  Result<UploadInfo> Get(std::string_view repo, std::string_view id) override {
    return target_.Get(repo, id);
  }
  Result<UploadWriterPtr> Open(std::string_view repo, std::string_view id) override {
    return target_.Open(repo, id);
  }
  Status Cancel(std::string_view repo, std::string_view id) override {
    return target_.Cancel(repo, id);
  }
  Result<size_t> Purge(SystemTime cutoff, bool dry_run) override {
    return target_.Purge(cutoff, dry_run);
  }

 private:
  UploadService& target_;
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

class TagServiceWrapper : public TagService {
 public:
  explicit TagServiceWrapper(TagService& target) : target_(target) {}
  TagService& target() const { return target_; }

  Result<Digest> Resolve(std::string_view repo, std::string_view tag) override {
    return target_.Resolve(repo, tag);
  }
  Status Tag(std::string_view repo, std::string_view tag, const Digest& d) override {
    return target_.Tag(repo, tag, d);
  }
  Status Untag(std::string_view repo, std::string_view tag) override {
    return target_.Untag(repo, tag);
  }
  Result<std::vector<std::string>> List(std::string_view repo) override {
    return target_.List(repo);
  }
  Result<std::vector<std::string>> Lookup(std::string_view repo, const Digest& d) override {
    return target_.Lookup(repo, d);
  }

 private:
  TagService& target_;
};

class ManifestServiceWrapper : public ManifestService {
 public:
  explicit ManifestServiceWrapper(ManifestService& target) : target_(target) {}
  ManifestService& target() const { return target_; }

  Result<PutManifestResult> Put(std::string_view repo, const Reference& reference,
                                std::string_view content_type, std::string bytes) override {
    return target_.Put(repo, reference, content_type, std::move(bytes));
  }
  Result<Digest> Resolve(std::string_view repo, const Reference& reference) override {
    return target_.Resolve(repo, reference);
  }
  Result<StoredManifest> Read(std::string_view repo, const Digest& d) override {
    return target_.Read(repo, d);
  }
  Status Delete(std::string_view repo, const Digest& d) override { return target_.Delete(repo, d); }

 private:
  ManifestService& target_;
};

class ReferrerServiceWrapper : public ReferrerService {
 public:
  explicit ReferrerServiceWrapper(ReferrerService& target) : target_(target) {}
  ReferrerService& target() const { return target_; }

  Result<std::vector<Referrer>> List(std::string_view repo, const Digest& subject) override {
    return target_.List(repo, subject);
  }

 private:
  ReferrerService& target_;
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

}  // namespace berth::storage
