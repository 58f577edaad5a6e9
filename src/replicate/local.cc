// The local sides of a copy over this registry's storage stack (contract in endpoints.h).
#include "replicate/endpoints.h"
#include "transfer/import.h"

namespace berth::replicate {
namespace {

const char kLocalName[] = "this registry";

bool IsAbsent(const Error& e) {
  return e.Is(ErrorCode::kManifestUnknown) || e.Is(ErrorCode::kNameUnknown);
}

class Local final : public Source, public Destination {
 public:
  explicit Local(storage::NamespacePtr ns) : ns_(std::move(ns)) {}
  std::string Name() const override { return kLocalName; }

  // --- Source
  Result<Manifest> GetManifest(const std::string& repo, const std::string& ref) override {
    BERTH_ASSIGN_OR_RETURN(Reference r, ParseReference(ref));
    BERTH_ASSIGN_OR_RETURN(auto m, ns_->Manifests().Get(repo, r));
    return Manifest{m.digest, std::move(m.media_type), std::move(m.bytes)};
  }

  Result<BlobStream> OpenBlob(const std::string& repo, const Digest& d) override {
    BERTH_ASSIGN_OR_RETURN(storage::driver::ReaderPtr r, ns_->Blobs().Open(repo, d, 0));
    std::shared_ptr<storage::driver::Reader> owner(std::move(r));
    client::BodyReader read = [r = owner.get()](char* buf, size_t cap) {
      return r->Read(buf, cap);
    };
    return BlobStream{owner, std::move(read)};
  }

  Result<std::vector<Digest>> Referrers(const std::string& repo, const Digest& d) override {
    BERTH_ASSIGN_OR_RETURN(auto list, ns_->Referrers().List(repo, d));
    std::vector<Digest> out;
    for (const auto& r : list) out.push_back(r.descriptor.digest);
    return out;
  }

  Result<std::vector<std::string>> Repositories() override {
    std::vector<std::string> out;
    std::string last;
    for (bool more = true; more;) {
      BERTH_ASSIGN_OR_RETURN(auto page, ns_->Catalog(last, 1000, &more));
      if (page.empty()) break;
      last = page.back();
      for (auto& r : page) out.push_back(std::move(r));
    }
    return out;
  }

  Result<std::vector<std::string>> Tags(const std::string& repo) override {
    return ns_->Tags().List(repo);
  }

  // --- Destination
  Result<std::optional<Digest>> ManifestDigest(const std::string& repo,
                                               const std::string& ref) override {
    BERTH_ASSIGN_OR_RETURN(Reference r, ParseReference(ref));
    auto d = ns_->Manifests().Resolve(repo, r);
    if (d) return std::optional<Digest>(*d);
    if (IsAbsent(d.error())) return std::optional<Digest>();
    return std::unexpected(d.error());
  }

  Result<bool> HasBlob(const std::string& repo, const Digest& d) override {
    auto st = ns_->Blobs().Stat(repo, d);
    if (st) return true;
    if (st.error().Is(ErrorCode::kBlobUnknown) || st.error().Is(ErrorCode::kNameUnknown))
      return false;
    return std::unexpected(st.error());
  }

  // Any blob the registry holds is linked without copying (as an upload of it would end).
  Result<bool> Mount(const std::string& repo, const std::string&, const Digest& d) override {
    if (!ns_->Blobs().StatGlobal(d)) return false;
    auto linked = ns_->Blobs().Link(repo, d);
    if (linked) return true;
    if (linked.error().Is(ErrorCode::kBlobUnknown)) return false;  // collected meanwhile
    return std::unexpected(linked.error());
  }

  Status PutBlob(const std::string& repo, const Digest& d, uint64_t size,
                 const client::BodyReader& body) override {
    return transfer::StoreBlob(*ns_, repo, d, size, body, nullptr);
  }

  Status PutManifest(const std::string& repo, const std::string& ref,
                     const std::string& media_type, const std::string& bytes,
                     const Digest& d) override {
    BERTH_ASSIGN_OR_RETURN(Reference r, ParseReference(ref));
    BERTH_ASSIGN_OR_RETURN(auto put, ns_->Manifests().Put(repo, r, media_type, bytes));
    if (put.digest != d) {
      return MakeError(ErrorCode::kDigestInvalid,
                       "manifest " + d.str() + " stored as " + put.digest.str());
    }
    return Ok();
  }

  Status DeleteManifest(const std::string& repo, const Digest& d) override {
    return ns_->Manifests().Delete(repo, d);
  }

  Status DeleteTag(const std::string& repo, const std::string& tag) override {
    return ns_->Tags().Untag(repo, tag);
  }

 private:
  storage::NamespacePtr ns_;
};

}  // namespace

SourcePtr LocalSource(storage::NamespacePtr ns) { return std::make_unique<Local>(std::move(ns)); }

DestinationPtr LocalDestination(storage::NamespacePtr ns) {
  return std::make_unique<Local>(std::move(ns));
}

}  // namespace berth::replicate
