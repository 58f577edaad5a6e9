#include "storage/fs/blobs.h"

#include "storage/fs/links.h"
#include "storage/paths.h"

namespace berth::storage::fs {
namespace {

Error NotInRepository(std::string_view repo, const Digest& d) {
  return Error{
      ErrorCode::kBlobUnknown, "blob " + d.str() + " is not in repository " + Quoted(repo), {}, 0};
}

}  // namespace

Result<BlobInfo> FsBlobStore::Stat(std::string_view repo, const Digest& d) {
  auto link = ReadLink(*driver_, paths::LayerLink(repo, d));
  if (!link) {
    if (IsNotFound(link.error())) return std::unexpected(NotInRepository(repo, d));
    return std::unexpected(link.error());
  }
  auto fi = driver_->Stat(paths::BlobData(d));
  if (!fi) {
    if (IsNotFound(fi.error())) {
      return MakeError(ErrorCode::kBlobUnknown, "blob " + d.str() + " is linked in repository " +
                                                    Quoted(repo) + " but its data is gone");
    }
    return std::unexpected(fi.error());
  }
  return BlobInfo{d, fi->size};
}

Result<driver::ReaderPtr> FsBlobStore::Open(std::string_view repo, const Digest& d,
                                            uint64_t offset) {
  BERTH_RETURN_IF_ERROR(Stat(repo, d));
  auto r = driver_->NewReader(paths::BlobData(d), offset);
  if (!r && IsNotFound(r.error())) {
    return MakeError(ErrorCode::kBlobUnknown, "blob " + d.str() + " is gone");
  }
  return r;
}

Status FsBlobStore::Delete(std::string_view repo, const Digest& d) {
  auto st = driver_->Delete(paths::LayerLinkDir(repo, d));
  if (!st && IsNotFound(st.error())) return std::unexpected(NotInRepository(repo, d));
  return st;
}

Status FsBlobStore::WriteLink(std::string_view repo, const Digest& d) {
  return driver_->PutContent(paths::LayerLink(repo, d), d.str());
}

Result<BlobInfo> FsBlobStore::Link(std::string_view repo, const Digest& d) {
  BERTH_ASSIGN_OR_RETURN(BlobInfo info, StatGlobal(d));
  BERTH_RETURN_IF_ERROR(WriteLink(repo, d));
  return info;
}

Result<BlobInfo> FsBlobStore::Mount(std::string_view repo, std::string_view from, const Digest& d) {
  BERTH_ASSIGN_OR_RETURN(BlobInfo info, Stat(from, d));
  BERTH_RETURN_IF_ERROR(WriteLink(repo, d));
  return info;
}

Result<BlobInfo> FsBlobStore::StatGlobal(const Digest& d) {
  auto fi = driver_->Stat(paths::BlobData(d));
  if (!fi) {
    if (IsNotFound(fi.error())) {
      return MakeError(ErrorCode::kBlobUnknown, "blob " + d.str() + " is not in the registry");
    }
    return std::unexpected(fi.error());
  }
  return BlobInfo{d, fi->size};
}

Status FsBlobStore::DeleteGlobal(const Digest& d) {
  auto st = driver_->Delete(paths::BlobDir(d));
  if (!st && IsNotFound(st.error())) {
    return MakeError(ErrorCode::kBlobUnknown, "blob " + d.str() + " is not in the registry");
  }
  return st;
}

}  // namespace berth::storage::fs
