// The remote sides of a copy over client/ (contract in endpoints.h).
#include <nlohmann/json.hpp>

#include "client/push.h"
#include "replicate/endpoints.h"

namespace berth::replicate {
namespace {

bool IsAbsent(const Error& e) {
  return e.Is(ErrorCode::kManifestUnknown) || e.Is(ErrorCode::kNameUnknown);
}

// Every page of a listing (catalog or tags), following the registry's Link header.
template <typename Fetch>
Result<std::vector<std::string>> AllPages(Fetch fetch) {
  std::vector<std::string> out;
  std::string last;
  for (;;) {
    BERTH_ASSIGN_OR_RETURN(client::Page page, fetch(last));
    for (auto& n : page.names) out.push_back(std::move(n));
    if (page.names.empty() || page.next.empty()) return out;
    last = out.back();
  }
}

class Remote final : public Source {
 public:
  explicit Remote(client::RegistryClient& reg) : reg_(reg) {}
  std::string Name() const override { return reg_.url(); }

  Result<Manifest> GetManifest(const std::string& repo, const std::string& ref) override {
    BERTH_ASSIGN_OR_RETURN(auto m, reg_.GetManifest(repo, ref));
    return Manifest{m.digest, std::move(m.media_type), std::move(m.bytes)};
  }

  Result<BlobStream> OpenBlob(const std::string& repo, const Digest& d) override {
    BERTH_ASSIGN_OR_RETURN(client::ResponsePtr res, reg_.GetBlob(repo, d));
    std::shared_ptr<client::Response> owner(std::move(res));
    client::BodyReader read = [r = owner.get()](char* buf, size_t cap) {
      return r->Read(buf, cap);
    };
    return BlobStream{owner, std::move(read)};
  }

  Result<std::vector<Digest>> Referrers(const std::string& repo, const Digest& d) override {
    client::Request req;
    req.url = "/v2/" + repo + "/referrers/" + d.str();
    BERTH_ASSIGN_OR_RETURN(auto res, reg_.Send(req, "repository:" + repo + ":pull"));
    if (res->status >= 500 || res->status == 429) {
      return std::unexpected(
          client::RegistryClient::ErrorFromResponse(*res, ErrorCode::kUnavailable));
    }
    std::vector<Digest> out;
    if (res->status != 200) return out;  // no referrers API (Distribution 2.8)
    BERTH_ASSIGN_OR_RETURN(std::string body, res->ReadAll(4 << 20));
    auto j = nlohmann::json::parse(body, nullptr, false);
    if (!j.is_object() || !j.contains("manifests") || !j["manifests"].is_array()) return out;
    for (const auto& e : j["manifests"]) {
      if (!e.is_object() || !e.contains("digest") || !e["digest"].is_string()) continue;
      if (auto rd = Digest::Parse(e["digest"].get<std::string>())) out.push_back(*rd);
    }
    return out;
  }

  Result<std::vector<std::string>> Repositories() override {
    return AllPages([&](const std::string& last) { return reg_.Catalog(1000, last); });
  }

  Result<std::vector<std::string>> Tags(const std::string& repo) override {
    return AllPages([&](const std::string& last) { return reg_.ListTags(repo, 1000, last); });
  }

 private:
  client::RegistryClient& reg_;
};

class RemoteDest final : public Destination {
 public:
  RemoteDest(client::RegistryClient& reg, uint64_t chunk_bytes)
      : reg_(reg), chunk_bytes_(chunk_bytes) {}
  std::string Name() const override { return reg_.url(); }

  Result<std::optional<Digest>> ManifestDigest(const std::string& repo,
                                               const std::string& ref) override {
    auto m = reg_.HeadManifest(repo, ref);
    if (m) return std::optional<Digest>(m->digest);
    if (IsAbsent(m.error())) return std::optional<Digest>();
    return std::unexpected(m.error());
  }

  Result<bool> HasBlob(const std::string& repo, const Digest& d) override {
    return client::BlobExists(reg_, repo, d);
  }

  Result<bool> Mount(const std::string& repo, const std::string& from, const Digest& d) override {
    if (from.empty()) return false;
    return client::MountBlob(reg_, repo, from, d);
  }

  Status PutBlob(const std::string& repo, const Digest& d, uint64_t size,
                 const client::BodyReader& body) override {
    return client::PushBlob(reg_, repo, d, size, body, chunk_bytes_);
  }

  Status PutManifest(const std::string& repo, const std::string& ref,
                     const std::string& media_type, const std::string& bytes,
                     const Digest& d) override {
    return client::PushManifest(reg_, repo, ref, media_type, bytes, d);
  }

  Status DeleteManifest(const std::string& repo, const Digest& d) override {
    return client::DeleteManifest(reg_, repo, d.str());
  }

  Status DeleteTag(const std::string& repo, const std::string& tag) override {
    return client::DeleteManifest(reg_, repo, tag);
  }

 private:
  client::RegistryClient& reg_;
  const uint64_t chunk_bytes_;
};

}  // namespace

SourcePtr RemoteSource(client::RegistryClient& reg) { return std::make_unique<Remote>(reg); }

DestinationPtr RemoteDestination(client::RegistryClient& reg, uint64_t chunk_bytes) {
  return std::make_unique<RemoteDest>(reg, chunk_bytes);
}

}  // namespace berth::replicate
