#include "storage/fs/manifests.h"

#include "storage/fs/links.h"
#include "storage/paths.h"

namespace berth::storage::fs {
namespace {

Error NotInRepository(std::string_view repo, const Digest& d) {
  return Error{ErrorCode::kManifestUnknown,
               "manifest " + d.str() + " is not in repository " + Quoted(repo),
               {},
               0};
}

}  // namespace

Status FsManifestService::CheckReferences(std::string_view repo, const ParsedManifest& m) {
  auto blob_in_repo = [&](const Descriptor& d, const char* what) -> Status {
    BERTH_ASSIGN_OR_RETURN(bool ok, Exists(*driver_, paths::LayerLink(repo, d.digest)));
    if (!ok) {
      return MakeError(ErrorCode::kManifestBlobUnknown,
                       std::string("manifest references ") + what + " " + d.digest.str() +
                           " which is not in repository " + Quoted(repo));
    }
    return Ok();
  };
  if (m.config) BERTH_RETURN_IF_ERROR(blob_in_repo(*m.config, "config blob"));
  for (const auto& l : m.layers) {
    if (l.has_urls) continue;  // foreign layers live elsewhere by design
    BERTH_RETURN_IF_ERROR(blob_in_repo(l, "blob"));
  }
  for (const auto& c : m.manifests) {
    BERTH_ASSIGN_OR_RETURN(bool ok, Exists(*driver_, paths::RevisionLink(repo, c.digest)));
    if (!ok) {
      return MakeError(ErrorCode::kManifestBlobUnknown,
                       "index references manifest " + c.digest.str() +
                           " which is not in repository " + Quoted(repo));
    }
  }
  return Ok();
}

Result<PutManifestResult> FsManifestService::Put(std::string_view repo, const Reference& reference,
                                                 std::string_view content_type, std::string bytes) {
  Digest digest = Digest::Of(
      bytes, reference.is_digest() ? reference.digest.algorithm() : DigestAlgorithm::kSha256);
  if (reference.is_digest() && digest != reference.digest) {
    return MakeError(ErrorCode::kDigestInvalid, "manifest content has digest " + digest.str() +
                                                    ", not " + reference.digest.str());
  }
  BERTH_ASSIGN_OR_RETURN(ParsedManifest m, ParseManifest(bytes, content_type));
  BERTH_RETURN_IF_ERROR(CheckReferences(repo, m));

  // Content first, then links: a crash in between leaves an unreferenced blob, never a dangling
  // link.
  const std::string data = paths::BlobData(digest);
  auto existing = driver_->Stat(data);
  if (!existing || existing->size != bytes.size()) {
    BERTH_RETURN_IF_ERROR(driver_->PutContent(data, bytes));
  }
  auto lock = locks_.Lock(repo, digest.str());
  BERTH_RETURN_IF_ERROR(driver_->PutContent(paths::RevisionLink(repo, digest), digest.str()));
  if (m.subject) {
    BERTH_RETURN_IF_ERROR(
        driver_->PutContent(paths::ReferrerLink(repo, m.subject->digest, digest), digest.str()));
  }
  if (!reference.is_digest()) BERTH_RETURN_IF_ERROR(tags_.Tag(repo, reference.tag, digest));
  PutManifestResult out{digest, std::nullopt};
  if (m.subject) out.subject = m.subject->digest;
  return out;
}

Result<Digest> FsManifestService::Resolve(std::string_view repo, const Reference& reference) {
  Digest digest;
  if (reference.is_digest()) {
    digest = reference.digest;
  } else {
    BERTH_ASSIGN_OR_RETURN(digest, tags_.Resolve(repo, reference.tag));
  }
  BERTH_ASSIGN_OR_RETURN(bool linked, Exists(*driver_, paths::RevisionLink(repo, digest)));
  if (!linked) return std::unexpected(NotInRepository(repo, digest));
  return digest;
}

Result<StoredManifest> FsManifestService::Read(std::string_view repo, const Digest& d) {
  auto bytes = driver_->GetContent(paths::BlobData(d));
  if (!bytes) {
    if (IsNotFound(bytes.error())) {
      return MakeError(ErrorCode::kManifestUnknown,
                       "manifest " + d.str() + " of repository " + Quoted(repo) + ": data is gone");
    }
    return std::unexpected(bytes.error());
  }
  StoredManifest out;
  out.digest = d;
  out.media_type = DetectMediaType(*bytes);
  out.bytes = std::move(*bytes);
  return out;
}

Status FsManifestService::Delete(std::string_view repo, const Digest& d) {
  auto lock = locks_.Lock(repo, d.str());
  BERTH_ASSIGN_OR_RETURN(bool linked, Exists(*driver_, paths::RevisionLink(repo, d)));
  if (!linked) return std::unexpected(NotInRepository(repo, d));
  // Untag first, so no tag ever points at a deleted revision: a tag that cannot be removed stops
  // the delete. A tag moved to another manifest since the lookup is left alone.
  BERTH_ASSIGN_OR_RETURN(auto tags, tags_.Lookup(repo, d));
  for (const auto& tag : tags) BERTH_RETURN_IF_ERROR(tags_.UntagIfCurrent(repo, tag, d));
  if (auto bytes = driver_->GetContent(paths::BlobData(d))) {
    if (auto m = ParseManifest(*bytes, ""); m && m->subject) {
      (void)driver_->Delete(paths::ReferrerLinkDir(repo, m->subject->digest, d));
    }
  }
  auto st = driver_->Delete(paths::RevisionLinkDir(repo, d));
  if (!st && !IsNotFound(st.error())) return st;
  return Ok();
}

}  // namespace berth::storage::fs
