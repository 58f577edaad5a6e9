#include "transfer/export.h"

#include <sys/utsname.h>

#include <map>
#include <nlohmann/json.hpp>
#include <set>

#include "storage/manifest.h"
#include "transfer/oci_layout.h"

namespace berth::transfer {
namespace {

using json = nlohmann::json;

constexpr int kMaxDepth = 16;  // index -> manifest -> referrer -> referrer ...

// Counts bytes into the progress display as they stream.
class CountingReader : public storage::driver::Reader {
 public:
  CountingReader(storage::driver::ReaderPtr r, Progress* p) : r_(std::move(r)), p_(p) {}
  Result<size_t> Read(char* buf, size_t cap) override {
    auto n = r_->Read(buf, cap);
    if (n && p_) p_->Bytes(*n);
    return n;
  }

 private:
  storage::driver::ReaderPtr r_;
  Progress* p_;
};

std::string Short(const Digest& d) {
  return std::string(d.algorithm_name()) + ":" + d.hex().substr(0, 12);
}

// Copies images out of a Namespace into a LayoutWriter, each blob and manifest once.
class Copier {
 public:
  Copier(storage::Namespace& ns, LayoutWriter& out, Progress* progress, ExportStats& stats)
      : ns_(ns), out_(out), progress_(progress), stats_(stats) {}

  // The manifest `d` of `repo` with everything it reaches; its descriptor for the index.
  Result<json> Manifest(const std::string& repo, const Digest& d, bool with_referrers,
                        int depth = 0) {
    if (depth > kMaxDepth) {
      return MakeError(ErrorCode::kManifestInvalid, "manifests nest deeper than " +
                                                        std::to_string(kMaxDepth) + " levels at " +
                                                        d.str() + " in " + repo);
    }
    BERTH_ASSIGN_OR_RETURN(auto m, ReadVerified(repo, d));
    json desc = {{"mediaType", m.media_type}, {"digest", d.str()}, {"size", m.bytes.size()}};
    if (!visited_.insert({repo, d}).second) return desc;
    BERTH_ASSIGN_OR_RETURN(auto parsed, storage::ParseManifest(m.bytes, m.media_type));
    for (const auto& child : parsed.manifests) {
      BERTH_RETURN_IF_ERROR(Manifest(repo, child.digest, with_referrers, depth + 1));
    }
    if (parsed.config) BERTH_RETURN_IF_ERROR(Blob(repo, *parsed.config));
    for (const auto& layer : parsed.layers) BERTH_RETURN_IF_ERROR(Blob(repo, layer));
    const std::string path = BlobPath(d);
    if (written_.insert(d).second && !out_.Has(path)) {
      BERTH_RETURN_IF_ERROR(out_.PutFile(path, m.bytes));
    }
    ++stats_.manifests;
    if (with_referrers) {
      BERTH_ASSIGN_OR_RETURN(auto refs, ns_.Referrers().List(repo, d));
      for (const auto& r : refs) {
        auto rd = Manifest(repo, r.descriptor.digest, true, depth + 1);
        if (!rd) {
          if (rd.error().Is(ErrorCode::kManifestUnknown)) continue;  // deleted meanwhile
          return std::unexpected(rd.error());
        }
        referrers_.push_back({repo, std::move(*rd)});
      }
    }
    return desc;
  }

  Result<storage::StoredManifest> ReadVerified(const std::string& repo, const Digest& d) {
    BERTH_ASSIGN_OR_RETURN(auto m, ns_.Manifests().Read(repo, d));
    if (Digest::Of(m.bytes, d.algorithm()) != d) {
      return MakeError(ErrorCode::kDigestInvalid, "manifest " + d.str() + " in " + repo +
                                                      " is corrupt in storage: its bytes hash to " +
                                                      Digest::Of(m.bytes, d.algorithm()).str());
    }
    if (m.media_type.empty()) m.media_type = storage::DetectMediaType(m.bytes);
    return m;
  }

  Status Blob(const std::string& repo, const storage::Descriptor& desc) {
    const std::string path = BlobPath(desc.digest);
    if (written_.count(desc.digest) || out_.Has(path)) {
      if (written_.insert(desc.digest).second) ++stats_.blobs_present;
      return Ok();
    }
    auto info = ns_.Blobs().Stat(repo, desc.digest);
    if (!info) {
      if (desc.has_urls && info.error().Is(ErrorCode::kBlobUnknown)) return Ok();  // foreign layer
      return MakeError(info.error().code,
                       "blob " + desc.digest.str() + " of " + repo + ": " + info.error().message);
    }
    BERTH_ASSIGN_OR_RETURN(auto reader, ns_.Blobs().Open(repo, desc.digest, 0));
    CountingReader counting(std::move(reader), progress_);
    BERTH_RETURN_IF_ERROR(out_.PutBlob(path, desc.digest, info->size, counting));
    written_.insert(desc.digest);
    ++stats_.blobs_written;
    stats_.bytes_written += info->size;
    if (progress_) progress_->Item("blob " + Short(desc.digest) + " of " + repo, info->size);
    return Ok();
  }

  std::vector<std::pair<std::string, json>>& referrers() { return referrers_; }
  bool Visited(const std::string& repo, const Digest& d) const {
    return visited_.count({repo, d}) > 0;
  }

 private:
  storage::Namespace& ns_;
  LayoutWriter& out_;
  Progress* progress_;
  ExportStats& stats_;
  std::set<std::pair<std::string, Digest>> visited_;
  std::set<Digest> written_;
  std::vector<std::pair<std::string, json>> referrers_;
};

bool Gone(const Error& e) {
  return e.Is(ErrorCode::kManifestUnknown) || e.Is(ErrorCode::kNameUnknown);
}

}  // namespace

std::string HostArchitecture() {
  struct utsname u {};
  if (::uname(&u) != 0) return "amd64";
  std::string m = u.machine;
  if (m == "x86_64") return "amd64";
  if (m == "aarch64" || m == "arm64") return "arm64";
  if (m.starts_with("armv7")) return "arm";
  if (m == "i686" || m == "i386") return "386";
  return m;  // ppc64le, s390x, riscv64 have the same names
}

Result<ExportStats> ExportOciLayout(storage::Namespace& ns, const Snapshot& snapshot,
                                    LayoutWriter& out, const ExportOptions& options) {
  ExportStats stats;
  Copier copier(ns, out, options.progress, stats);
  if (options.progress) options.progress->Expect(snapshot.tags.size(), 0);
  BERTH_RETURN_IF_ERROR(out.PutFile(kLayoutFile, kLayoutContent));
  json entries = json::array();
  for (const auto& t : snapshot.tags) {
    auto desc = copier.Manifest(t.repo, t.digest, true);
    if (!desc) {
      if (!Gone(desc.error())) return std::unexpected(desc.error());
      stats.skipped.push_back(t.repo + ":" + t.tag + " (" + desc.error().message + ")");
      continue;
    }
    (*desc)["annotations"] = {{std::string(kRefNameAnnotation), t.tag},
                              {std::string(kContainerdNameAnnotation), t.repo + ":" + t.tag},
                              {std::string(kRepositoryAnnotation), t.repo}};
    entries.push_back(std::move(*desc));
    ++stats.tags;
    if (options.progress) options.progress->Item(t.repo + ":" + t.tag, 0);
  }
  if (options.list_revisions) {
    for (const auto& repo : snapshot.repos) {
      BERTH_ASSIGN_OR_RETURN(auto revisions, options.list_revisions(repo));
      for (const auto& d : revisions) {
        if (copier.Visited(repo, d)) continue;
        auto desc = copier.Manifest(repo, d, true);
        if (!desc) {
          if (Gone(desc.error())) continue;
          return std::unexpected(desc.error());
        }
        // A child of an index seen later is still listed: harmless (import puts it by digest).
        (*desc)["annotations"] = {{std::string(kRepositoryAnnotation), repo}};
        entries.push_back(std::move(*desc));
      }
    }
  }
  for (auto& [repo, desc] : copier.referrers()) {
    desc["annotations"] = {{std::string(kRepositoryAnnotation), repo}};
    entries.push_back(std::move(desc));
  }
  for (const auto& [name, content] : options.extra_files)
    BERTH_RETURN_IF_ERROR(out.PutFile(name, content));
  json index = {
      {"schemaVersion", 2}, {"mediaType", std::string(storage::kOciIndex)}, {"manifests", entries}};
  BERTH_RETURN_IF_ERROR(out.PutFile(kIndexFile, index.dump()));
  BERTH_RETURN_IF_ERROR(out.Commit());
  return stats;
}

Result<ExportStats> ExportDockerArchive(storage::Namespace& ns, const Snapshot& snapshot,
                                        LayoutWriter& out, const DockerArchiveOptions& options) {
  ExportStats stats;
  Copier copier(ns, out, options.progress, stats);
  const std::string arch = options.arch.empty() ? HostArchitecture() : options.arch;
  if (options.progress) options.progress->Expect(snapshot.tags.size(), 0);
  // One manifest.json entry per image manifest; its tags gathered in RepoTags.
  std::map<Digest, size_t> by_digest;
  json images = json::array();
  for (const auto& t : snapshot.tags) {
    auto top = copier.ReadVerified(t.repo, t.digest);
    if (!top) {
      if (!Gone(top.error())) return std::unexpected(top.error());
      stats.skipped.push_back(t.repo + ":" + t.tag + " (" + top.error().message + ")");
      continue;
    }
    BERTH_ASSIGN_OR_RETURN(auto parsed, storage::ParseManifest(top->bytes, top->media_type));
    Digest image = t.digest;
    if (parsed.is_index) {
      // The index's raw JSON, for the platform fields the parsed descriptors do not keep.
      json idx = json::parse(top->bytes, nullptr, false);
      std::optional<Digest> pick;
      if (idx.is_object() && idx.contains("manifests") && idx["manifests"].is_array()) {
        for (const auto& m : idx["manifests"]) {
          if (!m.is_object() || !m.contains("platform") || !m["platform"].is_object()) continue;
          const auto& p = m["platform"];
          if (p.value("os", "") == options.os && p.value("architecture", "") == arch &&
              m.contains("digest") && m["digest"].is_string()) {
            auto d = Digest::Parse(m["digest"].get<std::string>());
            if (d) {
              pick = *d;
              break;
            }
          }
        }
      }
      if (!pick) {
        stats.skipped.push_back(t.repo + ":" + t.tag + " (the index has no " + options.os + "/" +
                                arch + " manifest)");
        continue;
      }
      if (options.progress) {
        options.progress->Note(t.repo + ":" + t.tag + " is an index: picked " + options.os + "/" +
                               arch + " (" + pick->str() + ")");
      }
      image = *pick;
      auto m = copier.ReadVerified(t.repo, image);
      if (!m) return std::unexpected(m.error());
      BERTH_ASSIGN_OR_RETURN(parsed, storage::ParseManifest(m->bytes, m->media_type));
      if (parsed.is_index) {
        return MakeError(ErrorCode::kManifestInvalid,
                         t.repo + ":" + t.tag + ": nested index is not an image");
      }
    }
    const std::string repo_tag = t.repo + ":" + t.tag;
    if (auto it = by_digest.find(image); it != by_digest.end()) {
      images[it->second]["RepoTags"].push_back(repo_tag);
      ++stats.tags;
      continue;
    }
    if (!parsed.config) return MakeError(ErrorCode::kManifestInvalid, repo_tag + " has no config");
    BERTH_RETURN_IF_ERROR(copier.Blob(t.repo, *parsed.config));
    json layers = json::array();
    for (const auto& l : parsed.layers) {
      if (l.has_urls) {
        return MakeError(ErrorCode::kUnsupported,
                         repo_tag + " has a foreign layer, which docker-archive cannot carry");
      }
      BERTH_RETURN_IF_ERROR(copier.Blob(t.repo, l));
      layers.push_back(BlobPath(l.digest));
    }
    by_digest[image] = images.size();
    images.push_back({{"Config", BlobPath(parsed.config->digest)},
                      {"RepoTags", json::array({repo_tag})},
                      {"Layers", std::move(layers)}});
    ++stats.tags;
    ++stats.manifests;
    if (options.progress) options.progress->Item(repo_tag, 0);
  }
  BERTH_RETURN_IF_ERROR(out.PutFile("manifest.json", images.dump()));
  BERTH_RETURN_IF_ERROR(out.Commit());
  return stats;
}

}  // namespace berth::transfer
