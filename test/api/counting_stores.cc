#include "test/api/counting_stores.h"

#include <utility>

namespace berth::testing {
namespace {

using namespace storage;

class CountingBlobs : public BlobStoreWrapper {
 public:
  CountingBlobs(BlobStore& t, CallCounts& c) : BlobStoreWrapper(t), c_(c) {}
  Result<BlobInfo> Stat(std::string_view r, const Digest& d) override {
    c_.Add("Blobs.Stat");
    return BlobStoreWrapper::Stat(r, d);
  }
  Result<driver::ReaderPtr> Open(std::string_view r, const Digest& d, uint64_t off) override {
    c_.Add("Blobs.Open");
    return BlobStoreWrapper::Open(r, d, off);
  }
  Status Delete(std::string_view r, const Digest& d) override {
    c_.Add("Blobs.Delete");
    return BlobStoreWrapper::Delete(r, d);
  }
  Result<BlobInfo> Link(std::string_view r, const Digest& d) override {
    c_.Add("Blobs.Link");
    return BlobStoreWrapper::Link(r, d);
  }
  Result<BlobInfo> Mount(std::string_view r, std::string_view from, const Digest& d) override {
    c_.Add("Blobs.Mount");
    return BlobStoreWrapper::Mount(r, from, d);
  }
  Result<BlobInfo> StatGlobal(const Digest& d) override {
    c_.Add("Blobs.StatGlobal");
    return BlobStoreWrapper::StatGlobal(d);
  }
  Status DeleteGlobal(const Digest& d) override {
    c_.Add("Blobs.DeleteGlobal");
    return BlobStoreWrapper::DeleteGlobal(d);
  }

 private:
  CallCounts& c_;
};

class CountingUploads : public UploadServiceWrapper {
 public:
  CountingUploads(UploadService& t, CallCounts& c) : UploadServiceWrapper(t), c_(c) {}
  Result<UploadInfo> Start(std::string_view r) override {
    c_.Add("Uploads.Start");
    return UploadServiceWrapper::Start(r);
  }
  Result<UploadInfo> Get(std::string_view r, std::string_view id) override {
    c_.Add("Uploads.Get");
    return UploadServiceWrapper::Get(r, id);
  }
  Result<UploadWriterPtr> Open(std::string_view r, std::string_view id) override {
    c_.Add("Uploads.Open");
    return UploadServiceWrapper::Open(r, id);
  }
  Status Cancel(std::string_view r, std::string_view id) override {
    c_.Add("Uploads.Cancel");
    return UploadServiceWrapper::Cancel(r, id);
  }
  Result<size_t> Purge(SystemTime cutoff, bool dry_run) override {
    c_.Add("Uploads.Purge");
    return UploadServiceWrapper::Purge(cutoff, dry_run);
  }

 private:
  CallCounts& c_;
};

class CountingTags : public TagServiceWrapper {
 public:
  CountingTags(TagService& t, CallCounts& c) : TagServiceWrapper(t), c_(c) {}
  Result<Digest> Resolve(std::string_view r, std::string_view tag) override {
    c_.Add("Tags.Resolve");
    return TagServiceWrapper::Resolve(r, tag);
  }
  Status Tag(std::string_view r, std::string_view tag, const Digest& d) override {
    c_.Add("Tags.Tag");
    return TagServiceWrapper::Tag(r, tag, d);
  }
  Status Untag(std::string_view r, std::string_view tag) override {
    c_.Add("Tags.Untag");
    return TagServiceWrapper::Untag(r, tag);
  }
  Result<std::vector<std::string>> List(std::string_view r) override {
    c_.Add("Tags.List");
    return TagServiceWrapper::List(r);
  }
  Result<std::vector<std::string>> Lookup(std::string_view r, const Digest& d) override {
    c_.Add("Tags.Lookup");
    return TagServiceWrapper::Lookup(r, d);
  }

 private:
  CallCounts& c_;
};

class CountingManifests : public ManifestServiceWrapper {
 public:
  CountingManifests(ManifestService& t, CallCounts& c) : ManifestServiceWrapper(t), c_(c) {}
  Result<PutManifestResult> Put(std::string_view r, const Reference& ref, std::string_view ct,
                                std::string bytes) override {
    c_.Add("Manifests.Put");
    return ManifestServiceWrapper::Put(r, ref, ct, std::move(bytes));
  }
  Result<Digest> Resolve(std::string_view r, const Reference& ref) override {
    c_.Add("Manifests.Resolve");
    return ManifestServiceWrapper::Resolve(r, ref);
  }
  Result<StoredManifest> Read(std::string_view r, const Digest& d) override {
    c_.Add("Manifests.Read");
    return ManifestServiceWrapper::Read(r, d);
  }
  Status Delete(std::string_view r, const Digest& d) override {
    c_.Add("Manifests.Delete");
    return ManifestServiceWrapper::Delete(r, d);
  }

 private:
  CallCounts& c_;
};

class CountingReferrers : public ReferrerServiceWrapper {
 public:
  CountingReferrers(ReferrerService& t, CallCounts& c) : ReferrerServiceWrapper(t), c_(c) {}
  Result<std::vector<Referrer>> List(std::string_view r, const Digest& subject) override {
    c_.Add("Referrers.List");
    return ReferrerServiceWrapper::List(r, subject);
  }

 private:
  CallCounts& c_;
};

class CountingNamespace : public NamespaceWrapper {
 public:
  CountingNamespace(NamespacePtr inner, CallCounts& c)
      : NamespaceWrapper(inner),
        c_(c),
        blobs_(inner->Blobs(), c),
        uploads_(inner->Uploads(), c),
        tags_(inner->Tags(), c),
        manifests_(inner->Manifests(), c),
        referrers_(inner->Referrers(), c) {}

  Result<bool> RepositoryExists(std::string_view r) override {
    c_.Add("Namespace.RepositoryExists");
    return NamespaceWrapper::RepositoryExists(r);
  }
  Result<std::vector<std::string>> Catalog(std::string_view last, size_t n, bool* more) override {
    c_.Add("Namespace.Catalog");
    return NamespaceWrapper::Catalog(last, n, more);
  }
  Status Reconcile() override {
    c_.Add("Namespace.Reconcile");
    return NamespaceWrapper::Reconcile();
  }
  BlobStore& Blobs() override { return blobs_; }
  UploadService& Uploads() override { return uploads_; }
  ManifestService& Manifests() override { return manifests_; }
  TagService& Tags() override { return tags_; }
  ReferrerService& Referrers() override { return referrers_; }

 private:
  CallCounts& c_;
  CountingBlobs blobs_;
  CountingUploads uploads_;
  CountingTags tags_;
  CountingManifests manifests_;
  CountingReferrers referrers_;
};

}  // namespace

NamespacePtr NewCountingNamespace(NamespacePtr inner, CallCounts& counts) {
  return std::make_shared<CountingNamespace>(std::move(inner), counts);
}

}  // namespace berth::testing
