#include "storage/fs/tags.h"

#include <algorithm>

#include "storage/fs/links.h"
#include "storage/paths.h"

namespace berth::storage::fs {
namespace {

Error TagUnknown(std::string_view repo, std::string_view tag) {
  return Error{ErrorCode::kManifestUnknown,
               "tag " + Quoted(tag) + " is not in repository " + Quoted(repo),
               {},
               0};
}

}  // namespace

Result<Digest> FsTagService::Resolve(std::string_view repo, std::string_view tag) {
  auto d = ReadLink(*driver_, paths::TagCurrentLink(repo, tag));
  if (!d && IsNotFound(d.error())) return std::unexpected(TagUnknown(repo, tag));
  return d;
}

Status FsTagService::Tag(std::string_view repo, std::string_view tag, const Digest& d) {
  auto lock = locks_.Lock(repo, tag);
  // History first, then the pointer: `current` never names a manifest the index does not know.
  BERTH_RETURN_IF_ERROR(driver_->PutContent(paths::TagIndexLink(repo, tag, d), d.str()));
  auto st = driver_->PutContent(paths::TagCurrentLink(repo, tag), d.str());
  if (!st) {
    // A new tag must not be listed without resolving: take its directory back out. (An existing
    // tag keeps pointing where it did.)
    auto cur = Exists(*driver_, paths::TagCurrentLink(repo, tag));
    if (cur && !*cur) (void)driver_->Delete(paths::TagDir(repo, tag));
  }
  return st;
}

Status FsTagService::Untag(std::string_view repo, std::string_view tag) {
  auto lock = locks_.Lock(repo, tag);
  auto st = driver_->Delete(paths::TagDir(repo, tag));
  if (!st && IsNotFound(st.error())) return std::unexpected(TagUnknown(repo, tag));
  return st;
}

Result<bool> FsTagService::UntagIfCurrent(std::string_view repo, std::string_view tag,
                                          const Digest& d) {
  auto lock = locks_.Lock(repo, tag);
  auto cur = ReadLink(*driver_, paths::TagCurrentLink(repo, tag));
  if (!cur) {
    if (IsNotFound(cur.error())) return false;
    return std::unexpected(cur.error());
  }
  if (*cur != d) return false;  // moved by a PUT that won: it stays
  // The pointer first, so the tag stops resolving at once; then the rest of its directory (its
  // history, as Distribution's untag removes it), so the tag is no longer listed. No PUT of this
  // tag in this process can be writing into the directory meanwhile: it waits for the lock.
  auto st = driver_->Delete(paths::TagCurrentLink(repo, tag));
  if (st || IsNotFound(st.error())) st = driver_->Delete(paths::TagDir(repo, tag));
  if (!st && !IsNotFound(st.error())) return std::unexpected(st.error());
  return true;
}

Result<std::vector<std::string>> FsTagService::List(std::string_view repo) {
  auto entries = driver_->List(paths::TagsDir(repo));
  std::vector<std::string> tags;
  if (!entries) {
    if (!IsNotFound(entries.error())) return std::unexpected(entries.error());
    BERTH_ASSIGN_OR_RETURN(bool exists, Exists(*driver_, paths::ManifestsDir(repo)));
    if (!exists) {
      return MakeError(ErrorCode::kNameUnknown, "repository " + Quoted(repo) + " is not known");
    }
    return tags;
  }
  tags.reserve(entries->size());
  for (const auto& e : *entries) tags.emplace_back(BaseName(e));
  std::sort(tags.begin(), tags.end());
  return tags;
}

Result<std::vector<std::string>> FsTagService::Lookup(std::string_view repo, const Digest& d) {
  std::vector<std::string> out;
  auto entries = driver_->List(paths::TagsDir(repo));
  if (!entries) {
    if (IsNotFound(entries.error())) return out;
    return std::unexpected(entries.error());
  }
  for (const auto& tag_dir : *entries) {
    auto cur = ReadLink(*driver_, tag_dir + "/current/link");
    if (cur && *cur == d) out.emplace_back(BaseName(tag_dir));
  }
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace berth::storage::fs
