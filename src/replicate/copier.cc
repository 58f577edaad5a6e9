#include "replicate/copier.h"

#include <thread>

#include "storage/manifest.h"

namespace berth::replicate {
namespace {

constexpr int kMaxDepth = 16;

std::string Short(const Digest& d) { return d.str().substr(0, 19); }

std::unexpected<Error> CancelledError() { return MakeError(ErrorCode::kCancelled, "replication stopped"); }

}  // namespace

void CopyStats::Add(const CopyStats& o) {
  tags += o.tags;
  tags_up_to_date += o.tags_up_to_date;
  manifests += o.manifests;
  blobs_copied += o.blobs_copied;
  blobs_mounted += o.blobs_mounted;
  blobs_present += o.blobs_present;
  bytes += o.bytes;
  failures.insert(failures.end(), o.failures.begin(), o.failures.end());
}

Result<Manifest> Copier::FetchVerified(const std::string& repo, const std::string& ref) {
  BERTH_ASSIGN_OR_RETURN(auto m, WithRetries(options_.attempts, options_.backoff,
                                             [&] { return src_.GetManifest(repo, ref); }));
  Digest got =
      Digest::Of(m.bytes, m.digest.empty() ? DigestAlgorithm::kSha256 : m.digest.algorithm());
  if (!m.digest.empty() && got != m.digest) {
    return MakeError(ErrorCode::kDigestInvalid, src_.Name() + "/" + repo + ":" + ref +
                                                    " sent bytes hashing to " + got.str() +
                                                    ", not " + m.digest.str());
  }
  m.digest = got;
  if (m.media_type.empty() || storage::BareMediaType(m.media_type) == "application/json") {
    m.media_type = storage::DetectMediaType(m.bytes);
  }
  return m;
}

Result<std::optional<Digest>> Copier::DestinationHas(const std::string& repo,
                                                     const std::string& ref) {
  return WithRetries(options_.attempts, options_.backoff,
                     [&] { return dst_.ManifestDigest(repo, ref); });
}

Status Copier::CopyImage(const std::string& src_repo, const std::string& src_ref,
                         const std::string& dst_repo, const std::string& dst_ref) {
  if (Cancelled()) return CancelledError();
  BERTH_ASSIGN_OR_RETURN(auto m, FetchVerified(src_repo, src_ref));
  const std::string name = dst_repo + ":" + (dst_ref.empty() ? m.digest.str() : dst_ref);
  BERTH_ASSIGN_OR_RETURN(auto there, DestinationHas(dst_repo, dst_ref.empty() ? m.digest.str() : dst_ref));
  if (there && *there == m.digest) {
    ++stats_.tags_up_to_date;
    if (options_.dry_run) return Ok();
    return CopyReferrers(src_repo, m.digest, dst_repo, 0);
  }
  ++stats_.tags;
  if (options_.dry_run) {
    if (options_.progress)
      options_.progress->Item("would copy " + src_repo + ":" + src_ref + " -> " + name, 0);
    return Ok();
  }
  BERTH_RETURN_IF_ERROR(
      CopyManifest(src_repo, m.digest, dst_repo, dst_ref, m.media_type, m.bytes, 0));
  if (options_.progress) options_.progress->Item(src_repo + ":" + src_ref + " -> " + name, 0);
  return Ok();
}

Status Copier::CopyManifest(const std::string& src_repo, const Digest& d,
                            const std::string& dst_repo, const std::string& tag,
                            const std::string& media_type, const std::string& bytes, int depth) {
  if (depth > kMaxDepth)
    return MakeError(ErrorCode::kManifestInvalid, "manifests nest too deeply at " + d.str());
  BERTH_ASSIGN_OR_RETURN(auto parsed, storage::ParseManifest(bytes, media_type));
  for (const auto& child : parsed.manifests) {
    BERTH_RETURN_IF_ERROR(CopyByDigest(src_repo, child.digest, dst_repo, depth + 1));
  }
  if (parsed.config)
    BERTH_RETURN_IF_ERROR(CopyBlob(src_repo, parsed.config->digest, parsed.config->size, dst_repo));
  for (const auto& l : parsed.layers) {
    if (l.has_urls) continue;  // foreign layers stay where their URLs point
    BERTH_RETURN_IF_ERROR(CopyBlob(src_repo, l.digest, l.size, dst_repo));
  }
  BERTH_RETURN_IF_ERROR(WithRetries(options_.attempts, options_.backoff, [&] {
    return dst_.PutManifest(dst_repo, tag.empty() ? d.str() : tag, media_type, bytes, d);
  }));
  ++stats_.manifests;
  return CopyReferrers(src_repo, d, dst_repo, depth);
}

Status Copier::CopyByDigest(const std::string& src_repo, const Digest& d,
                            const std::string& dst_repo, int depth) {
  BERTH_ASSIGN_OR_RETURN(auto there, DestinationHas(dst_repo, d.str()));
  if (there) return CopyReferrers(src_repo, d, dst_repo, depth);
  BERTH_ASSIGN_OR_RETURN(auto m, FetchVerified(src_repo, d.str()));
  return CopyManifest(src_repo, d, dst_repo, "", m.media_type, m.bytes, depth);
}

Status Copier::CopyReferrers(const std::string& src_repo, const Digest& d,
                             const std::string& dst_repo, int depth) {
  if (depth > kMaxDepth) return Ok();
  BERTH_ASSIGN_OR_RETURN(auto referrers, WithRetries(options_.attempts, options_.backoff, [&] {
                           return src_.Referrers(src_repo, d);
                         }));
  for (const Digest& r : referrers) {
    BERTH_RETURN_IF_ERROR(CopyByDigest(src_repo, r, dst_repo, depth + 1));
  }
  return Ok();
}

Status Copier::CopyBlob(const std::string& src_repo, const Digest& d, uint64_t size,
                        const std::string& dst_repo) {
  BERTH_ASSIGN_OR_RETURN(bool present, WithRetries(options_.attempts, options_.backoff, [&] {
                           return dst_.HasBlob(dst_repo, d);
                         }));
  if (present) {
    ++stats_.blobs_present;
    copied_to_.emplace(d, dst_repo);
    return Ok();
  }
  auto it = copied_to_.find(d);
  const std::string from = it != copied_to_.end() ? it->second : "";
  if (from != dst_repo) {
    auto mounted = dst_.Mount(dst_repo, from, d);
    if (mounted && *mounted) {
      ++stats_.blobs_mounted;
      copied_to_[d] = dst_repo;
      return Ok();
    }
  }
  BERTH_RETURN_IF_ERROR(WithRetries(options_.attempts, options_.backoff, [&]() -> Status {
    if (Cancelled()) return CancelledError();
    BERTH_ASSIGN_OR_RETURN(BlobStream in, src_.OpenBlob(src_repo, d));
    Hasher h(d.algorithm());
    uint64_t got = 0;
    client::BodyReader body = [&](char* buf, size_t cap) -> Result<size_t> {
      if (Cancelled()) return CancelledError();
      BERTH_ASSIGN_OR_RETURN(size_t n, in.read(buf, cap));
      if (options_.bandwidth) options_.bandwidth->Take(n);
      h.Update(buf, n);
      got += n;
      if (options_.progress) options_.progress->Bytes(n);
      return n;
    };
    BERTH_RETURN_IF_ERROR(dst_.PutBlob(dst_repo, d, size, body));
    // The destination checked the digest; this names the culprit when the source is the one lying.
    if (got != size || h.Current() != d) {
      return MakeError(ErrorCode::kDigestInvalid,
                       src_.Name() + " sent blob " + d.str() + " with other content");
    }
    return Ok();
  }));
  copied_to_[d] = dst_repo;
  ++stats_.blobs_copied;
  stats_.bytes += size;
  if (options_.progress) options_.progress->Item("blob " + Short(d) + " -> " + dst_repo, size);
  return Ok();
}

Status Copier::Sync(const transfer::Selection& selection) {
  BERTH_ASSIGN_OR_RETURN(auto match, transfer::SelectionMatcher::Compile(selection));
  BERTH_ASSIGN_OR_RETURN(auto all, WithRetries(options_.attempts, options_.backoff,
                                               [&] { return src_.Repositories(); }));
  std::vector<std::pair<std::string, std::string>> images;  // repo, tag
  for (const auto& repo : all) {
    if (!match.Repository(repo)) continue;
    if (Cancelled()) return CancelledError();
    auto tags = WithRetries(options_.attempts, options_.backoff, [&] { return src_.Tags(repo); });
    if (!tags) {
      if (tags.error().Is(ErrorCode::kNameUnknown)) continue;  // deleted since the catalog
      stats_.failures.push_back(repo + ": " + tags.error().message);
      continue;
    }
    for (const auto& t : *tags) {
      if (match.Tag(t)) images.emplace_back(repo, t);
    }
  }
  if (options_.progress) options_.progress->Expect(images.size(), 0);
  // Workers take images in order; each has its own Copier (stats, mount sources).
  std::atomic<size_t> next{0};
  const int n = std::clamp<int>(options_.concurrency, 1, static_cast<int>(std::max<size_t>(images.size(), 1)));
  std::vector<CopyStats> results(n);
  auto work = [&](int w) {
    CopyOptions o = options_;
    o.concurrency = 1;
    Copier c(src_, dst_, o);
    for (size_t i; (i = next.fetch_add(1)) < images.size();) {
      const auto& [repo, tag] = images[i];
      if (auto st = c.CopyImage(repo, tag, options_.dest_prefix + repo, tag); !st) {
        c.stats_.failures.push_back(repo + ":" + tag + ": " + st.error().message);
        if (options_.progress)
          options_.progress->Note("failed " + repo + ":" + tag + ": " + st.error().message);
      }
    }
    results[w] = std::move(c.stats_);
  };
  std::vector<std::thread> threads;
  for (int w = 1; w < n; ++w) threads.emplace_back(work, w);
  work(0);
  for (auto& t : threads) t.join();
  for (const auto& r : results) stats_.Add(r);
  if (Cancelled()) return CancelledError();
  return Ok();
}

}  // namespace berth::replicate
