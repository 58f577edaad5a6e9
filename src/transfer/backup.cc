#include "transfer/backup.h"

#include <nlohmann/json.hpp>
#include <set>

#include "common/time.h"
#include "storage/manifest.h"
#include "storage/paths.h"
#include "transfer/oci_layout.h"

namespace berth::transfer {
namespace {

using json = nlohmann::json;

std::string LastComponent(const std::string& path) {
  size_t s = path.rfind('/');
  return s == std::string::npos ? path : path.substr(s + 1);
}

// Checks that `d` (a manifest) and everything it references are in the layout.
Status CheckReachable(LayoutReader& in, const Digest& d, const std::set<std::string>& files,
                      std::set<Digest>& seen, VerifyStats& stats, int depth = 0) {
  if (depth > 16)
    return MakeError(ErrorCode::kManifestInvalid, "manifests nest too deeply at " + d.str());
  if (!seen.insert(d).second) return Ok();
  BERTH_ASSIGN_OR_RETURN(std::string bytes, in.ReadFile(BlobPath(d), storage::kMaxManifestBytes));
  BERTH_ASSIGN_OR_RETURN(auto parsed, storage::ParseManifest(bytes, ""));
  ++stats.manifests;
  for (const auto& c : parsed.manifests)
    BERTH_RETURN_IF_ERROR(CheckReachable(in, c.digest, files, seen, stats, depth + 1));
  auto need = [&](const storage::Descriptor& desc) -> Status {
    if (files.count(BlobPath(desc.digest)) || desc.has_urls) return Ok();
    return MakeError(ErrorCode::kBlobUnknown,
                     "blob " + desc.digest.str() + " (referenced by " + d.str() + ") is missing");
  };
  if (parsed.config) BERTH_RETURN_IF_ERROR(need(*parsed.config));
  for (const auto& l : parsed.layers) BERTH_RETURN_IF_ERROR(need(l));
  return Ok();
}

}  // namespace

Result<std::vector<Digest>> ListRevisions(storage::driver::StorageDriver& driver,
                                          const std::string& repo) {
  std::vector<Digest> out;
  for (DigestAlgorithm alg : {DigestAlgorithm::kSha256, DigestAlgorithm::kSha512}) {
    const std::string dir =
        storage::paths::ManifestsDir(repo) + "/revisions/" + std::string(AlgorithmName(alg));
    auto children = driver.List(dir);
    if (!children) {
      if (children.error().Is(ErrorCode::kNotFound)) continue;
      return std::unexpected(children.error());
    }
    for (const auto& child : *children) {
      auto d = Digest::Parse(std::string(AlgorithmName(alg)) + ":" + LastComponent(child));
      if (!d) continue;  // not a revision directory
      auto link = driver.GetContent(storage::paths::RevisionLink(repo, *d));
      if (!link) continue;  // a directory without its link (deleted, or half-written by a crash)
      out.push_back(*d);
    }
  }
  std::sort(out.begin(), out.end());
  return out;
}

Result<ExportStats> Backup(storage::Namespace& ns, storage::driver::StorageDriver& driver,
                           const std::string& dest, Progress* progress) {
  const std::string started = FormatRfc3339(SystemClock().Now());
  BERTH_ASSIGN_OR_RETURN(Snapshot snap, TakeSnapshot(ns, Selection{}));
  BERTH_ASSIGN_OR_RETURN(auto out, OpenLayoutWriter(dest));
  ExportOptions opts;
  opts.progress = progress;
  opts.list_revisions = [&driver](const std::string& repo) { return ListRevisions(driver, repo); };
  json info = {{"snapshot", started},
               {"repositories", snap.repos.size()},
               {"tags", snap.tags.size()},
               {"format", "OCI image layout; see docs/backup.md"}};
  opts.extra_files.push_back({std::string(kBackupInfoFile), info.dump(2)});
  return ExportOciLayout(ns, snap, *out, opts);
}

Result<VerifyStats> VerifyLayout(LayoutReader& in, Progress* progress) {
  VerifyStats stats;
  BERTH_ASSIGN_OR_RETURN(auto files, in.ListFiles());
  std::set<std::string> blob_files;
  for (const auto& f : files) {
    if (!f.starts_with("blobs/")) continue;
    std::string rest = f.substr(6);
    size_t slash = rest.find('/');
    if (slash == std::string::npos) continue;
    auto d = Digest::Parse(rest.substr(0, slash) + ":" + rest.substr(slash + 1));
    if (!d) {
      if (rest.find("/.tmp-") != std::string::npos || rest.find(".tmp-") != std::string::npos)
        continue;
      return MakeError(ErrorCode::kDigestInvalid, f + " is not named by a digest");
    }
    BERTH_ASSIGN_OR_RETURN(uint64_t size, in.Size(f));
    BERTH_ASSIGN_OR_RETURN(auto r, in.Open(f));
    BERTH_RETURN_IF_ERROR(VerifyStream(*r, *d, size, f));
    blob_files.insert(f);
    ++stats.blobs;
    stats.bytes += size;
    if (progress) progress->Item(f, size);
  }
  BERTH_ASSIGN_OR_RETURN(std::string index_bytes, in.ReadFile(kIndexFile, 16 << 20));
  json index = json::parse(index_bytes, nullptr, false);
  if (!index.is_object() || !index.contains("manifests") || !index["manifests"].is_array()) {
    return MakeError(ErrorCode::kInvalidArgument, "index.json is not an image index");
  }
  std::set<Digest> seen;
  for (const auto& e : index["manifests"]) {
    if (!e.is_object() || !e.contains("digest") || !e["digest"].is_string()) {
      return MakeError(ErrorCode::kInvalidArgument, "index.json: an entry has no digest");
    }
    BERTH_ASSIGN_OR_RETURN(Digest d, Digest::Parse(e["digest"].get<std::string>()));
    if (!blob_files.count(BlobPath(d))) {
      return MakeError(ErrorCode::kManifestUnknown,
                       "index.json names " + d.str() + ", which is missing");
    }
    BERTH_RETURN_IF_ERROR(CheckReachable(in, d, blob_files, seen, stats));
    ++stats.entries;
  }
  return stats;
}

Result<ImportStats> Restore(LayoutReader& in, storage::Namespace& ns,
                            storage::driver::StorageDriver& driver, Progress* progress) {
  for (const std::string& dir : {storage::paths::RepositoriesRoot(), storage::paths::BlobsRoot()}) {
    auto children = driver.List(dir);
    if (children && !children->empty()) {
      return MakeError(ErrorCode::kInvalidArgument,
                       "restore needs an empty storage root, and " + dir + " is not empty");
    }
    if (!children && !children.error().Is(ErrorCode::kNotFound))
      return std::unexpected(children.error());
  }
  ImportOptions opts;
  opts.progress = progress;
  return ImportLayout(in, ns, opts);
}

}  // namespace berth::transfer
