#include "storage/registry.h"

#include <algorithm>

#include "common/log.h"
#include "common/strings.h"
#include "storage/paths.h"

namespace berth::storage {
namespace {

constexpr size_t kMaxHashStates = 10000;
constexpr size_t kRehashBuffer = 1 << 20;
constexpr auto kBusyUploadWait = std::chrono::seconds(2);

std::string Quoted(std::string_view s) { return "\"" + std::string(s) + "\""; }

bool IsNotFound(const Error& e) { return e.code == ErrorCode::kNotFound; }

// Last path component.
std::string_view BaseName(std::string_view path) {
  auto slash = path.rfind('/');
  return slash == std::string_view::npos ? path : path.substr(slash + 1);
}

}  // namespace

// ---------------------------------------------------------------------------------------------------
// UploadWriter

UploadWriter::UploadWriter(Registry* reg, std::string repo, std::string id,
                           driver::FileWriterPtr writer, Hasher hasher)
    : reg_(reg),
      repo_(std::move(repo)),
      id_(std::move(id)),
      writer_(std::move(writer)),
      hasher_(std::move(hasher)),
      size_(writer_->Size()) {}

UploadWriter::~UploadWriter() { Close(); }

Status UploadWriter::Write(const char* data, size_t n) {
  if (released_) return MakeError(ErrorCode::kBlobUploadUnknown, "upload " + id_ + " is closed");
  BERTH_RETURN_IF_ERROR(writer_->Write(data, n));
  hasher_.Update(data, n);
  size_ += n;
  return Ok();
}

void UploadWriter::Reserve(uint64_t bytes) {
  if (!released_) writer_->Reserve(bytes);
}

void UploadWriter::Close() {
  if (released_) return;
  released_ = true;
  writer_.reset();  // keeps the bytes; the session stays resumable
  reg_->ReleaseUpload(Registry::UploadKey(repo_, id_),
                      Registry::HashState{size_, std::move(hasher_)});
}

Result<BlobInfo> UploadWriter::Commit(const Digest& expected) {
  if (released_) return MakeError(ErrorCode::kBlobUploadUnknown, "upload " + id_ + " is closed");
  auto commit = writer_->Commit();
  writer_.reset();
  released_ = true;
  std::string key = Registry::UploadKey(repo_, id_);
  if (!commit) {
    reg_->ReleaseUpload(key, std::nullopt);
    return std::unexpected(commit.error());
  }
  Digest actual;
  if (expected.algorithm() == hasher_.algorithm()) {
    actual = hasher_.Current();
  } else {
    uint64_t sz = 0;
    auto h = reg_->RehashUpload(repo_, id_, expected.algorithm(), &sz);
    if (!h) {
      reg_->ReleaseUpload(key, std::nullopt);
      return std::unexpected(h.error());
    }
    actual = h->Current();
  }
  reg_->ReleaseUpload(key, std::nullopt);
  if (actual != expected) {
    (void)reg_->CancelUpload(repo_, id_);
    return MakeError(ErrorCode::kDigestInvalid, "uploaded content has digest " + actual.str() +
                                                    ", not " + expected.str());
  }
  return reg_->Publish(repo_, id_, actual, size_);
}

// ---------------------------------------------------------------------------------------------------
// Registry

Registry::Registry(driver::StorageDriverPtr driver, RegistryOptions options)
    : driver_(std::move(driver)), options_(options) {}
Registry::~Registry() = default;

std::string Registry::UploadKey(std::string_view repo, std::string_view id) {
  std::string k(repo);
  k += '\n';
  k += id;
  return k;
}

Result<Digest> Registry::ReadLink(const std::string& path) {
  BERTH_ASSIGN_OR_RETURN(std::string content, driver_->GetContent(path));
  auto d = paths::ParseLink(content);
  if (!d) return MakeError(ErrorCode::kIo, "corrupt link file " + path + ": " + d.error().message);
  return *d;
}

Result<bool> Registry::Exists(const std::string& path) {
  auto st = driver_->Stat(path);
  if (st) return true;
  if (IsNotFound(st.error())) return false;
  return std::unexpected(st.error());
}

Result<bool> Registry::RepositoryExists(std::string_view repo) {
  return Exists(paths::Repository(repo));
}

Result<std::vector<std::string>> Registry::Catalog(std::string_view last, size_t n, bool* more) {
  Listing repos = CachedListing("");
  if (!repos) {
    auto all = std::make_shared<std::vector<std::string>>();
    const std::string root = paths::RepositoriesRoot();
    auto st = driver_->Walk(root, [&](const driver::FileInfo& fi) {
      if (!fi.is_dir) return false;
      std::string_view base = BaseName(fi.path);
      if (base.starts_with('_')) {
        if (base == "_manifests") {
          std::string_view parent =
              std::string_view(fi.path).substr(0, fi.path.size() - base.size() - 1);
          all->emplace_back(parent.substr(root.size() + 1));
        }
        return false;  // never descend into a repository's own data
      }
      return true;
    });
    if (!st && !IsNotFound(st.error())) return std::unexpected(st.error());
    std::sort(all->begin(), all->end());
    repos = all;
    CacheListing("", repos);
  }
  std::vector<std::string> page;
  auto it = last.empty() ? repos->begin()
                         : std::upper_bound(repos->begin(), repos->end(), std::string(last));
  for (; it != repos->end() && page.size() < n; ++it) page.push_back(*it);
  if (more) *more = it != repos->end();
  return page;
}

Registry::Listing Registry::CachedListing(const std::string& key) {
  if (options_.listing_ttl.count() <= 0) return nullptr;
  std::lock_guard lock(cache_mu_);
  auto it = listings_.find(key);
  if (it == listings_.end()) return nullptr;
  if (options_.clock->Now() - it->second.at > options_.listing_ttl) {
    listings_.erase(it);
    return nullptr;
  }
  return it->second.value;
}

void Registry::CacheListing(const std::string& key, Listing value) {
  if (options_.listing_ttl.count() <= 0) return;
  std::lock_guard lock(cache_mu_);
  if (listings_.size() >= 4096) listings_.clear();  // bounded; refills from storage
  listings_.insert_or_assign(key, ListingEntry{options_.clock->Now(), std::move(value)});
}

void Registry::InvalidateListing(const std::string& key) {
  std::lock_guard lock(cache_mu_);
  listings_.erase(key);
}

// --- blobs ------------------------------------------------------------------------------------------

Result<BlobInfo> Registry::StatBlob(std::string_view repo, const Digest& d) {
  auto link = ReadLink(paths::LayerLink(repo, d));
  if (!link) {
    if (IsNotFound(link.error())) {
      return MakeError(ErrorCode::kBlobUnknown,
                       "blob " + d.str() + " is not in repository " + Quoted(repo));
    }
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

Result<driver::ReaderPtr> Registry::OpenBlob(std::string_view repo, const Digest& d,
                                             uint64_t offset) {
  BERTH_RETURN_IF_ERROR(StatBlob(repo, d));
  auto r = driver_->NewReader(paths::BlobData(d), offset);
  if (!r && IsNotFound(r.error())) {
    return MakeError(ErrorCode::kBlobUnknown, "blob " + d.str() + " is gone");
  }
  return r;
}

Status Registry::DeleteBlob(std::string_view repo, const Digest& d) {
  auto st = driver_->Delete(paths::LayerLinkDir(repo, d));
  if (!st && IsNotFound(st.error())) {
    return MakeError(ErrorCode::kBlobUnknown,
                     "blob " + d.str() + " is not in repository " + Quoted(repo));
  }
  return st;
}

Result<BlobInfo> Registry::MountBlob(std::string_view repo, std::string_view from, const Digest& d) {
  BERTH_ASSIGN_OR_RETURN(BlobInfo info, StatBlob(from, d));
  BERTH_RETURN_IF_ERROR(driver_->PutContent(paths::LayerLink(repo, d), d.str()));
  return info;
}

// --- uploads ----------------------------------------------------------------------------------------

Result<UploadInfo> Registry::StartUpload(std::string_view repo) {
  UploadInfo info;
  info.id = NewUuid();
  info.started = options_.clock->Now();
  BERTH_RETURN_IF_ERROR(driver_->PutContent(paths::UploadStartedAt(repo, info.id),
                                            FormatRfc3339(info.started)));
  BERTH_ASSIGN_OR_RETURN(auto w, driver_->NewWriter(paths::UploadData(repo, info.id), false));
  w.reset();
  // The empty upload's hash state, so that its first PATCH or PUT need not read the file back.
  ReleaseUpload(UploadKey(repo, info.id), HashState{0, Hasher(DigestAlgorithm::kSha256)});
  return info;
}

Result<UploadInfo> Registry::GetUpload(std::string_view repo, std::string_view id) {
  BERTH_ASSIGN_OR_RETURN(UploadInfo info, StatUpload(repo, id));
  if (auto started = driver_->GetContent(paths::UploadStartedAt(repo, id))) {
    if (auto t = ParseRfc3339(*started)) info.started = *t;
  }
  return info;
}

// GetUpload without reading startedat.
Result<UploadInfo> Registry::StatUpload(std::string_view repo, std::string_view id) {
  // Upload ids are ours (UUIDs) or Distribution's (UUIDs too); refuse anything else before it reaches
  // a path.
  if (id.empty() || id.size() > 64 ||
      id.find_first_not_of("0123456789abcdefABCDEF-") != std::string_view::npos) {
    return MakeError(ErrorCode::kBlobUploadUnknown, "upload " + Quoted(id.substr(0, 80)) + " is unknown");
  }
  auto fi = driver_->Stat(paths::UploadData(repo, id));
  if (!fi) {
    if (IsNotFound(fi.error())) {
      return MakeError(ErrorCode::kBlobUploadUnknown,
                       "upload " + std::string(id) + " is unknown in repository " + Quoted(repo));
    }
    return std::unexpected(fi.error());
  }
  UploadInfo info;
  info.id = std::string(id);
  info.size = fi->size;
  return info;
}

Result<Hasher> Registry::RehashUpload(std::string_view repo, std::string_view id,
                                      DigestAlgorithm alg, uint64_t* size) {
  BERTH_ASSIGN_OR_RETURN(auto reader, driver_->NewReader(paths::UploadData(repo, id), 0));
  Hasher h(alg);
  std::unique_ptr<char[]> buf(new char[kRehashBuffer]);
  while (true) {
    BERTH_ASSIGN_OR_RETURN(size_t n, reader->Read(buf.get(), kRehashBuffer));
    if (n == 0) break;
    h.Update(buf.get(), n);
  }
  *size = h.bytes();
  return h;
}

Result<UploadWriterPtr> Registry::OpenUpload(std::string_view repo, std::string_view id) {
  BERTH_RETURN_IF_ERROR(StatUpload(repo, id));
  std::string key = UploadKey(repo, id);
  std::optional<HashState> state;
  {
    std::unique_lock lock(mu_);
    // A request whose client vanished mid-body releases its session as soon as the server notices;
    // give it a moment rather than failing the client's immediate retry.
    if (!released_cv_.wait_for(lock, kBusyUploadWait, [&] { return !open_uploads_.contains(key); })) {
      return MakeError(ErrorCode::kBlobUploadInvalid,
                       "upload " + std::string(id) + " is in use by another request");
    }
    open_uploads_[key] = true;
    if (auto it = hash_states_.find(key); it != hash_states_.end()) {
      state.emplace(std::move(it->second));
      hash_states_.erase(it);
    }
  }
  auto fail = [&](Error e) -> Result<UploadWriterPtr> {
    ReleaseUpload(key, std::nullopt);
    return std::unexpected(std::move(e));
  };
  auto writer = driver_->NewWriter(paths::UploadData(repo, id), true);
  if (!writer) return fail(writer.error());
  uint64_t on_disk = (*writer)->Size();
  if (!state || state->offset != on_disk) {
    // After a restart, or when another process appended: rebuild from the bytes on disk.
    uint64_t sz = 0;
    auto h = RehashUpload(repo, id, DigestAlgorithm::kSha256, &sz);
    if (!h) return fail(h.error());
    if (sz != on_disk) return fail(Error{ErrorCode::kIo, "upload data changed while rehashing", {}, 0});
    state.emplace(HashState{sz, std::move(*h)});
  }
  return UploadWriterPtr(new UploadWriter(this, std::string(repo), std::string(id),
                                          std::move(*writer), std::move(state->hasher)));
}

void Registry::ReleaseUpload(const std::string& key, std::optional<HashState> state) {
  {
    std::lock_guard lock(mu_);
    open_uploads_.erase(key);
    if (state) {
      if (hash_states_.size() >= kMaxHashStates) hash_states_.erase(hash_states_.begin());
      hash_states_.insert_or_assign(key, std::move(*state));
    } else {
      hash_states_.erase(key);
    }
  }
  released_cv_.notify_all();
}

Status Registry::CancelUpload(std::string_view repo, std::string_view id) {
  BERTH_RETURN_IF_ERROR(GetUpload(repo, id));
  {
    std::lock_guard lock(mu_);
    hash_states_.erase(UploadKey(repo, id));
  }
  auto st = driver_->Delete(paths::UploadDir(repo, id));
  if (!st && IsNotFound(st.error())) {
    return MakeError(ErrorCode::kBlobUploadUnknown, "upload " + std::string(id) + " is unknown");
  }
  return st;
}

Result<BlobInfo> Registry::Publish(std::string_view repo, std::string_view id, const Digest& d,
                                   uint64_t size) {
  const std::string data = paths::BlobData(d);
  auto existing = driver_->Stat(data);
  if (existing && existing->size == size) {
    // Same content already published (e.g. a concurrent push won): keep it.
    (void)driver_->Delete(paths::UploadDir(repo, id));
  } else {
    auto mv = driver_->Move(paths::UploadData(repo, id), data);
    if (!mv) {
      if (IsNotFound(mv.error())) {
        return MakeError(ErrorCode::kBlobUploadUnknown, "upload " + std::string(id) + " vanished");
      }
      return std::unexpected(mv.error());
    }
    // Then the directory is empty (unless Distribution left hashstates/) and goes without a walk.
    (void)driver_->Delete(paths::UploadStartedAt(repo, id));
    (void)driver_->Delete(paths::UploadDir(repo, id));
  }
  BERTH_RETURN_IF_ERROR(driver_->PutContent(paths::LayerLink(repo, d), d.str()));
  return BlobInfo{d, size};
}

Result<size_t> Registry::PurgeUploads(SystemTime cutoff, bool dry_run) {
  size_t purged = 0;
  const std::string root = paths::RepositoriesRoot();
  std::vector<std::string> victims;
  auto st = driver_->Walk(root, [&](const driver::FileInfo& fi) {
    if (!fi.is_dir) return false;
    std::string_view base = BaseName(fi.path);
    if (base == "_uploads") {
      auto children = driver_->List(fi.path);
      if (!children) return false;
      for (const auto& dir : *children) {
        SystemTime started = SystemTime::max();
        if (auto t = driver_->GetContent(dir + "/startedat")) {
          if (auto p = ParseRfc3339(*t)) started = *p;
        } else if (auto s = driver_->Stat(dir)) {
          started = s->mod_time;  // no startedat: judge by the directory's age
        }
        if (started < cutoff) victims.push_back(dir);
      }
      return false;
    }
    return !base.starts_with('_');
  });
  if (!st && !IsNotFound(st.error())) return std::unexpected(st.error());
  for (const auto& dir : victims) {
    if (dry_run) {
      spdlog::info("upload purge (dry run) would delete {}", dir);
      ++purged;
      continue;
    }
    if (driver_->Delete(dir)) ++purged;
  }
  return purged;
}

// --- manifests --------------------------------------------------------------------------------------

Result<Digest> Registry::ResolveTag(std::string_view repo, std::string_view tag) {
  auto d = ReadLink(paths::TagCurrentLink(repo, tag));
  if (!d && IsNotFound(d.error())) {
    return MakeError(ErrorCode::kManifestUnknown,
                     "tag " + Quoted(tag) + " is not in repository " + Quoted(repo));
  }
  return d;
}

Status Registry::CheckReferences(std::string_view repo, const ParsedManifest& m) {
  auto blob_in_repo = [&](const Descriptor& d, const char* what) -> Status {
    BERTH_ASSIGN_OR_RETURN(bool ok, Exists(paths::LayerLink(repo, d.digest)));
    if (!ok) {
      return MakeError(ErrorCode::kManifestBlobUnknown, std::string("manifest references ") + what +
                                                            " " + d.digest.str() +
                                                            " which is not in repository " +
                                                            Quoted(repo));
    }
    return Ok();
  };
  if (m.config) BERTH_RETURN_IF_ERROR(blob_in_repo(*m.config, "config blob"));
  for (const auto& l : m.layers) {
    if (l.has_urls) continue;  // foreign layers live elsewhere by design
    BERTH_RETURN_IF_ERROR(blob_in_repo(l, "blob"));
  }
  for (const auto& c : m.manifests) {
    BERTH_ASSIGN_OR_RETURN(bool ok, Exists(paths::RevisionLink(repo, c.digest)));
    if (!ok) {
      return MakeError(ErrorCode::kManifestBlobUnknown,
                       "index references manifest " + c.digest.str() +
                           " which is not in repository " + Quoted(repo));
    }
  }
  return Ok();
}

Result<PutManifestResult> Registry::PutManifest(std::string_view repo, const Reference& reference,
                                                std::string_view content_type, std::string bytes) {
  Digest digest = Digest::Of(bytes, reference.is_digest() ? reference.digest.algorithm()
                                                          : DigestAlgorithm::kSha256);
  if (reference.is_digest() && digest != reference.digest) {
    return MakeError(ErrorCode::kDigestInvalid, "manifest content has digest " + digest.str() +
                                                    ", not " + reference.digest.str());
  }
  BERTH_ASSIGN_OR_RETURN(ParsedManifest m, ParseManifest(bytes, content_type));
  BERTH_RETURN_IF_ERROR(CheckReferences(repo, m));

  // Content first, then links: a crash in between leaves an unreferenced blob, never a dangling link.
  const std::string data = paths::BlobData(digest);
  auto existing = driver_->Stat(data);
  if (!existing || existing->size != bytes.size()) {
    BERTH_RETURN_IF_ERROR(driver_->PutContent(data, bytes));
  }
  BERTH_RETURN_IF_ERROR(driver_->PutContent(paths::RevisionLink(repo, digest), digest.str()));
  if (m.subject) {
    BERTH_RETURN_IF_ERROR(
        driver_->PutContent(paths::ReferrerLink(repo, m.subject->digest, digest), digest.str()));
  }
  if (!reference.is_digest()) {
    BERTH_RETURN_IF_ERROR(
        driver_->PutContent(paths::TagIndexLink(repo, reference.tag, digest), digest.str()));
    BERTH_RETURN_IF_ERROR(
        driver_->PutContent(paths::TagCurrentLink(repo, reference.tag), digest.str()));
  }
  InvalidateListing("t:" + std::string(repo));
  InvalidateListing("");  // the repository may be new
  PutManifestResult out{digest, std::nullopt};
  if (m.subject) out.subject = m.subject->digest;
  return out;
}

Result<StoredManifest> Registry::GetManifest(std::string_view repo, const Reference& reference) {
  Digest digest;
  if (reference.is_digest()) {
    digest = reference.digest;
  } else {
    BERTH_ASSIGN_OR_RETURN(digest, ResolveTag(repo, reference.tag));
  }
  BERTH_ASSIGN_OR_RETURN(bool linked, Exists(paths::RevisionLink(repo, digest)));
  if (!linked) {
    return MakeError(ErrorCode::kManifestUnknown,
                     "manifest " + digest.str() + " is not in repository " + Quoted(repo));
  }
  if (auto cached = CachedManifest(digest)) return *cached;
  auto bytes = driver_->GetContent(paths::BlobData(digest));
  if (!bytes) {
    if (IsNotFound(bytes.error())) {
      return MakeError(ErrorCode::kManifestUnknown, "manifest " + digest.str() + " data is gone");
    }
    return std::unexpected(bytes.error());
  }
  auto out = std::make_shared<StoredManifest>();
  out->digest = digest;
  out->media_type = DetectMediaType(*bytes);
  out->bytes = std::move(*bytes);
  CacheManifest(out);
  return *out;
}

std::shared_ptr<const StoredManifest> Registry::CachedManifest(const Digest& d) {
  if (options_.manifest_cache_bytes == 0) return nullptr;
  std::lock_guard lock(cache_mu_);
  auto it = manifest_cache_.find(d.str());
  return it == manifest_cache_.end() ? nullptr : it->second;
}

void Registry::CacheManifest(std::shared_ptr<const StoredManifest> m) {
  if (options_.manifest_cache_bytes == 0 || m->bytes.size() > options_.manifest_cache_bytes / 16) return;
  std::lock_guard lock(cache_mu_);
  if (manifest_cache_bytes_ + m->bytes.size() > options_.manifest_cache_bytes) {
    manifest_cache_.clear();  // simple and bounded; refills from disk
    manifest_cache_bytes_ = 0;
  }
  manifest_cache_bytes_ += m->bytes.size();
  manifest_cache_.insert_or_assign(m->digest.str(), std::move(m));
}

Status Registry::DeleteManifest(std::string_view repo, const Digest& d) {
  BERTH_ASSIGN_OR_RETURN(bool linked, Exists(paths::RevisionLink(repo, d)));
  if (!linked) {
    return MakeError(ErrorCode::kManifestUnknown,
                     "manifest " + d.str() + " is not in repository " + Quoted(repo));
  }
  // Untag first, so no tag ever points at a deleted revision.
  auto tags = driver_->List(paths::TagsDir(repo));
  if (tags) {
    for (const auto& tag_dir : *tags) {
      auto cur = ReadLink(tag_dir + "/current/link");
      if (cur && *cur == d) (void)driver_->Delete(tag_dir);
    }
  }
  if (auto bytes = driver_->GetContent(paths::BlobData(d))) {
    if (auto m = ParseManifest(*bytes, ""); m && m->subject) {
      (void)driver_->Delete(paths::ReferrerLinkDir(repo, m->subject->digest, d));
    }
  }
  auto st = driver_->Delete(paths::RevisionLinkDir(repo, d));
  InvalidateListing("t:" + std::string(repo));  // again: a reader may have re-cached meanwhile
  if (!st && !IsNotFound(st.error())) return st;
  return Ok();
}

Status Registry::DeleteTag(std::string_view repo, std::string_view tag) {
  auto st = driver_->Delete(paths::TagDir(repo, tag));
  InvalidateListing("t:" + std::string(repo));
  if (!st && IsNotFound(st.error())) {
    return MakeError(ErrorCode::kManifestUnknown,
                     "tag " + Quoted(tag) + " is not in repository " + Quoted(repo));
  }
  return st;
}

Result<std::vector<std::string>> Registry::ListTags(std::string_view repo) {
  const std::string key = "t:" + std::string(repo);
  if (Listing cached = CachedListing(key)) return *cached;
  auto entries = driver_->List(paths::TagsDir(repo));
  auto tags = std::make_shared<std::vector<std::string>>();
  if (!entries) {
    if (!IsNotFound(entries.error())) return std::unexpected(entries.error());
    BERTH_ASSIGN_OR_RETURN(bool exists, Exists(paths::ManifestsDir(repo)));
    if (!exists) {
      return MakeError(ErrorCode::kNameUnknown, "repository " + Quoted(repo) + " is not known");
    }
  } else {
    tags->reserve(entries->size());
    for (const auto& e : *entries) tags->emplace_back(BaseName(e));
    std::sort(tags->begin(), tags->end());
  }
  CacheListing(key, tags);
  return *tags;
}

Result<std::vector<Referrer>> Registry::ListReferrers(std::string_view repo, const Digest& subject) {
  std::vector<Referrer> out;
  auto algs = driver_->List(paths::ReferrersDir(repo, subject));
  if (!algs) {
    if (IsNotFound(algs.error())) return out;
    return std::unexpected(algs.error());
  }
  std::vector<std::string> links;
  for (const auto& alg_dir : *algs) {
    auto hexes = driver_->List(alg_dir);
    if (!hexes) continue;
    for (auto& h : *hexes) links.push_back(h + "/link");
  }
  std::sort(links.begin(), links.end());
  for (const auto& link : links) {
    auto d = ReadLink(link);
    if (!d) continue;
    auto stored = GetManifest(repo, Reference{"", *d});
    if (!stored) continue;  // deleted meanwhile
    auto m = ParseManifest(stored->bytes, stored->media_type);
    if (!m) continue;
    Referrer r;
    r.descriptor.media_type = m->media_type;
    r.descriptor.digest = *d;
    r.descriptor.size = stored->bytes.size();
    r.descriptor.artifact_type = m->artifact_type;
    r.descriptor.annotations_json = m->annotations_json;
    out.push_back(std::move(r));
  }
  return out;
}

}  // namespace berth::storage
