#include "storage/paths.h"

namespace berth::storage::paths {
namespace {

std::string Join(std::initializer_list<std::string_view> parts) {
  std::string out;
  size_t n = 0;
  for (auto p : parts) n += p.size() + 1;
  out.reserve(n);
  for (auto p : parts) {
    if (!out.empty() && out.back() != '/' && !p.empty() && p.front() != '/') out += '/';
    out += p;
  }
  return out;
}

}  // namespace

std::string BlobsRoot() { return Join({kRoot, "blobs"}); }
std::string BlobDir(const Digest& d) {
  return Join({kRoot, "blobs", d.algorithm_name(), std::string_view(d.hex()).substr(0, 2), d.hex()});
}
std::string BlobData(const Digest& d) { return Join({BlobDir(d), "data"}); }

std::string RepositoriesRoot() { return Join({kRoot, "repositories"}); }
std::string Repository(std::string_view name) { return Join({kRoot, "repositories", name}); }
std::string LayersDir(std::string_view name) { return Join({Repository(name), "_layers"}); }
std::string LayerLinkDir(std::string_view name, const Digest& d) {
  return Join({LayersDir(name), d.algorithm_name(), d.hex()});
}
std::string LayerLink(std::string_view name, const Digest& d) {
  return Join({LayerLinkDir(name, d), "link"});
}
std::string ManifestsDir(std::string_view name) { return Join({Repository(name), "_manifests"}); }
std::string RevisionsDir(std::string_view name, DigestAlgorithm alg) {
  return Join({ManifestsDir(name), "revisions", AlgorithmName(alg)});
}
std::string RevisionLinkDir(std::string_view name, const Digest& d) {
  return Join({RevisionsDir(name, d.algorithm()), d.hex()});
}
std::string RevisionLink(std::string_view name, const Digest& d) {
  return Join({RevisionLinkDir(name, d), "link"});
}
std::string TagsDir(std::string_view name) { return Join({ManifestsDir(name), "tags"}); }
std::string TagDir(std::string_view name, std::string_view tag) { return Join({TagsDir(name), tag}); }
std::string TagCurrentLink(std::string_view name, std::string_view tag) {
  return Join({TagDir(name, tag), "current", "link"});
}
std::string TagIndexLink(std::string_view name, std::string_view tag, const Digest& d) {
  return Join({TagDir(name, tag), "index", d.algorithm_name(), d.hex(), "link"});
}
std::string ReferrersDir(std::string_view name, const Digest& subject) {
  return Join({ManifestsDir(name), "referrers", subject.algorithm_name(), subject.hex()});
}
std::string ReferrerLinkDir(std::string_view name, const Digest& subject, const Digest& referrer) {
  return Join({ReferrersDir(name, subject), referrer.algorithm_name(), referrer.hex()});
}
std::string ReferrerLink(std::string_view name, const Digest& subject, const Digest& referrer) {
  return Join({ReferrerLinkDir(name, subject, referrer), "link"});
}
std::string UploadsDir(std::string_view name) { return Join({Repository(name), "_uploads"}); }
std::string UploadDir(std::string_view name, std::string_view id) {
  return Join({UploadsDir(name), id});
}
std::string UploadData(std::string_view name, std::string_view id) {
  return Join({UploadDir(name, id), "data"});
}
std::string UploadStartedAt(std::string_view name, std::string_view id) {
  return Join({UploadDir(name, id), "startedat"});
}

Result<Digest> ParseLink(std::string_view content) {
  while (!content.empty() && (content.back() == '\n' || content.back() == '\r' || content.back() == ' '))
    content.remove_suffix(1);
  return Digest::Parse(content);
}

}  // namespace berth::storage::paths
