#include "storage/fs/namespace.h"

#include <algorithm>

#include "storage/fs/blobs.h"
#include "storage/fs/links.h"
#include "storage/fs/manifests.h"
#include "storage/fs/referrers.h"
#include "storage/fs/tags.h"
#include "storage/fs/uploads.h"
#include "storage/paths.h"

namespace berth::storage::fs {
namespace {

class FsNamespace : public Namespace {
 public:
  FsNamespace(driver::StorageDriverPtr driver, const Clock& clock)
      : driver_(driver),
        blobs_(driver),
        uploads_(driver, clock, blobs_),
        tags_(driver),
        manifests_(driver, tags_),
        referrers_(driver, manifests_) {}

  Result<bool> RepositoryExists(std::string_view repo) override {
    return Exists(*driver_, paths::Repository(repo));
  }

  Result<std::vector<std::string>> Catalog(std::string_view last, size_t n, bool* more) override {
    std::vector<std::string> all;
    const std::string root = paths::RepositoriesRoot();
    auto st = driver_->Walk(root, [&](const driver::FileInfo& fi) {
      if (!fi.is_dir) return false;
      std::string_view base = BaseName(fi.path);
      if (base.starts_with('_')) {
        if (base == "_manifests") {
          std::string_view parent =
              std::string_view(fi.path).substr(0, fi.path.size() - base.size() - 1);
          all.emplace_back(parent.substr(root.size() + 1));
        }
        return false;  // never descend into a repository's own data
      }
      return true;
    });
    if (!st && !IsNotFound(st.error())) return std::unexpected(st.error());
    // The walk visits children in lexical order, but a name is a prefix of its sub-repositories'
    // names ("a" < "a-b" < "a/b" differs from the walk's order): sort.
    std::sort(all.begin(), all.end());
    auto first = last.empty() ? all.begin() : std::upper_bound(all.begin(), all.end(), last);
    size_t available = static_cast<size_t>(all.end() - first);
    size_t take = std::min(n, available);
    if (more) *more = take < available;
    std::vector<std::string> page(std::make_move_iterator(first),
                                  std::make_move_iterator(first + take));
    return page;
  }

  Status Reconcile() override { return Ok(); }

  BlobStore& Blobs() override { return blobs_; }
  UploadService& Uploads() override { return uploads_; }
  ManifestService& Manifests() override { return manifests_; }
  TagService& Tags() override { return tags_; }
  ReferrerService& Referrers() override { return referrers_; }

 private:
  driver::StorageDriverPtr driver_;
  FsBlobStore blobs_;
  FsUploadService uploads_;
  FsTagService tags_;
  FsManifestService manifests_;
  FsReferrerService referrers_;
};

}  // namespace

NamespacePtr NewNamespace(driver::StorageDriverPtr driver, const Clock& clock) {
  return std::make_shared<FsNamespace>(std::move(driver), clock);
}

}  // namespace berth::storage::fs
