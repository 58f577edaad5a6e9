#include "replicate/copier.h"

#include <nlohmann/json.hpp>
#include <regex>

#include "client/push.h"
#include "storage/manifest.h"

namespace berth::replicate {
namespace {

using json = nlohmann::json;
constexpr int kMaxDepth = 16;

std::string PullScope(const std::string& repo) { return "repository:" + repo + ":pull"; }

std::string Short(const Digest& d) { return d.str().substr(0, 19); }

}  // namespace

Result<client::RemoteManifest> Copier::FetchVerified(const std::string& repo,
                                                     const std::string& ref) {
  BERTH_ASSIGN_OR_RETURN(auto m, WithRetries(options_.attempts, options_.backoff,
                                             [&] { return src_.GetManifest(repo, ref); }));
  Digest got =
      Digest::Of(m.bytes, m.digest.empty() ? DigestAlgorithm::kSha256 : m.digest.algorithm());
  if (!m.digest.empty() && got != m.digest) {
    return MakeError(ErrorCode::kDigestInvalid, src_.url() + "/" + repo + ":" + ref +
                                                    " sent bytes hashing to " + got.str() +
                                                    ", not " + m.digest.str());
  }
  m.digest = got;
  if (m.media_type.empty() || storage::BareMediaType(m.media_type) == "application/json") {
    m.media_type = storage::DetectMediaType(m.bytes);
  }
  return m;
}

Status Copier::CopyImage(const std::string& src_repo, const std::string& src_ref,
                         const std::string& dst_repo, const std::string& dst_ref) {
  BERTH_ASSIGN_OR_RETURN(auto m, FetchVerified(src_repo, src_ref));
  auto there = WithRetries(options_.attempts, options_.backoff, [&] {
    return dst_.HeadManifest(dst_repo, dst_ref.empty() ? m.digest.str() : dst_ref);
  });
  const std::string name = dst_repo + ":" + (dst_ref.empty() ? m.digest.str() : dst_ref);
  if (there && there->digest == m.digest) {
    ++stats_.tags_up_to_date;
    if (options_.dry_run) return Ok();
    return CopyReferrers(src_repo, m.digest, dst_repo, 0);
  }
  if (!there && !there.error().Is(ErrorCode::kManifestUnknown) &&
      !there.error().Is(ErrorCode::kNameUnknown)) {
    return std::unexpected(there.error());
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
    return client::PushManifest(dst_, dst_repo, tag.empty() ? d.str() : tag, media_type, bytes, d);
  }));
  ++stats_.manifests;
  return CopyReferrers(src_repo, d, dst_repo, depth);
}

Status Copier::CopyByDigest(const std::string& src_repo, const Digest& d,
                            const std::string& dst_repo, int depth) {
  auto there = WithRetries(options_.attempts, options_.backoff,
                           [&] { return dst_.HeadManifest(dst_repo, d.str()); });
  if (there) return CopyReferrers(src_repo, d, dst_repo, depth);
  if (!there.error().Is(ErrorCode::kManifestUnknown) &&
      !there.error().Is(ErrorCode::kNameUnknown)) {
    return std::unexpected(there.error());
  }
  BERTH_ASSIGN_OR_RETURN(auto m, FetchVerified(src_repo, d.str()));
  return CopyManifest(src_repo, d, dst_repo, "", m.media_type, m.bytes, depth);
}

Status Copier::CopyReferrers(const std::string& src_repo, const Digest& d,
                             const std::string& dst_repo, int depth) {
  if (depth > kMaxDepth) return Ok();
  client::Request req;
  req.url = "/v2/" + src_repo + "/referrers/" + d.str();
  auto res = WithRetries(options_.attempts, options_.backoff, [&]() -> Result<client::ResponsePtr> {
    BERTH_ASSIGN_OR_RETURN(auto r, src_.Send(req, PullScope(src_repo)));
    if (r->status >= 500 || r->status == 429) {
      return std::unexpected(
          client::RegistryClient::ErrorFromResponse(*r, ErrorCode::kUnavailable));
    }
    return r;
  });
  if (!res) return std::unexpected(res.error());
  if ((*res)->status != 200) return Ok();  // no referrers API (Distribution 2.8): nothing to copy
  BERTH_ASSIGN_OR_RETURN(std::string body, (*res)->ReadAll(4 << 20));
  json j = json::parse(body, nullptr, false);
  if (!j.is_object() || !j.contains("manifests") || !j["manifests"].is_array()) return Ok();
  for (const auto& e : j["manifests"]) {
    if (!e.is_object() || !e.contains("digest") || !e["digest"].is_string()) continue;
    auto rd = Digest::Parse(e["digest"].get<std::string>());
    if (!rd) continue;
    BERTH_RETURN_IF_ERROR(CopyByDigest(src_repo, *rd, dst_repo, depth + 1));
  }
  return Ok();
}

Status Copier::CopyBlob(const std::string& src_repo, const Digest& d, uint64_t size,
                        const std::string& dst_repo) {
  BERTH_ASSIGN_OR_RETURN(bool present, WithRetries(options_.attempts, options_.backoff, [&] {
                           return client::BlobExists(dst_, dst_repo, d);
                         }));
  if (present) {
    ++stats_.blobs_present;
    copied_to_.emplace(d, dst_repo);
    return Ok();
  }
  if (auto it = copied_to_.find(d); it != copied_to_.end() && it->second != dst_repo) {
    auto mounted = client::MountBlob(dst_, dst_repo, it->second, d);
    if (mounted && *mounted) {
      ++stats_.blobs_mounted;
      return Ok();
    }
  }
  BERTH_RETURN_IF_ERROR(WithRetries(options_.attempts, options_.backoff, [&]() -> Status {
    BERTH_ASSIGN_OR_RETURN(auto res, src_.GetBlob(src_repo, d));
    Hasher h(d.algorithm());
    uint64_t got = 0;
    client::BodyReader body = [&](char* buf, size_t cap) -> Result<size_t> {
      BERTH_ASSIGN_OR_RETURN(size_t n, res->Read(buf, cap));
      h.Update(buf, n);
      got += n;
      if (options_.progress) options_.progress->Bytes(n);
      return n;
    };
    BERTH_RETURN_IF_ERROR(client::PushBlob(dst_, dst_repo, d, size, body, options_.chunk_bytes));
    // The destination checked the digest; this names the culprit when the source is the one lying.
    if (got != size || h.Current() != d) {
      return MakeError(ErrorCode::kDigestInvalid,
                       src_.url() + " sent blob " + d.str() + " with other content");
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
  std::optional<std::regex> re;
  if (!selection.tag_regex.empty()) {
    try {
      re.emplace(selection.tag_regex, std::regex::ECMAScript);
    } catch (const std::regex_error& e) {
      return MakeError(ErrorCode::kInvalidArgument,
                       "bad tag regular expression: " + std::string(e.what()));
    }
  }
  std::vector<std::string> repos;
  std::string last;
  for (;;) {
    BERTH_ASSIGN_OR_RETURN(auto page, WithRetries(options_.attempts, options_.backoff,
                                                  [&] { return src_.Catalog(1000, last); }));
    for (auto& r : page.names) {
      if (transfer::GlobMatch(selection.repo_glob, r)) repos.push_back(r);
    }
    if (page.names.empty() || page.next.empty()) break;
    last = page.names.back();
  }
  for (const auto& repo : repos) {
    std::vector<std::string> tags;
    std::string tlast;
    Status listed = Ok();
    for (;;) {
      auto page = WithRetries(options_.attempts, options_.backoff,
                              [&] { return src_.ListTags(repo, 1000, tlast); });
      if (!page) {
        listed = std::unexpected(page.error());
        break;
      }
      for (auto& t : page->names) {
        if (!re || std::regex_match(t, *re)) tags.push_back(t);
      }
      if (page->names.empty() || page->next.empty()) break;
      tlast = page->names.back();
    }
    if (!listed) {
      stats_.failures.push_back(repo + ": " + listed.error().message);
      continue;
    }
    if (options_.progress)
      options_.progress->Expect(stats_.tags + stats_.tags_up_to_date + tags.size(), 0);
    for (const auto& tag : tags) {
      if (auto st = CopyImage(repo, tag, repo, tag); !st) {
        stats_.failures.push_back(repo + ":" + tag + ": " + st.error().message);
        if (options_.progress)
          options_.progress->Note("failed " + repo + ":" + tag + ": " + st.error().message);
      }
    }
  }
  return Ok();
}

}  // namespace berth::replicate
