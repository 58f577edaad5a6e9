#include "policy/retention.h"

#include <algorithm>
#include <map>
#include <set>

#include "common/glob.h"
#include "common/names.h"
#include "policy/keep.h"
#include "storage/manifest.h"
#include "storage/paths.h"

namespace berth::policy {
namespace {

std::string Quote(std::string_view s) { return "\"" + std::string(s) + "\""; }

const TagPattern* FirstMatch(const std::vector<TagPattern>& patterns, std::string_view tag,
                             bool on_error) {
  for (const auto& p : patterns) {
    if (p.MatchesOr(tag, on_error)) return &p;
  }
  return nullptr;
}

std::string Days(uint32_t n) { return std::to_string(n) + (n == 1 ? " day" : " days"); }

}  // namespace

const RetentionRule* RuleFor(const std::vector<RetentionRule>& rules, std::string_view repo) {
  for (const RetentionRule& r : rules) {
    if (GlobMatch(r.repository, repo)) return &r;
  }
  return nullptr;
}

std::vector<TagDecision> DecideTags(const RetentionRule& rule, std::string_view repo,
                                    const std::vector<TagFacts>& tags, SystemTime now,
                                    const ImmutableTags* immutable) {
  std::vector<TagDecision> out(tags.size());
  std::vector<size_t> undecided;
  for (size_t i = 0; i < tags.size(); ++i) {
    TagDecision& d = out[i];
    d.facts = tags[i];
    const std::string& tag = tags[i].tag;
    if (const ImmutableRule* r = immutable ? immutable->Covering(repo, tag) : nullptr) {
      d.reason = "immutable (" + r->Describe() + ")";
    } else if (std::find(rule.protected_tags.begin(), rule.protected_tags.end(), tag) !=
               rule.protected_tags.end()) {
      d.reason = "protected";
    } else if (const TagPattern* p = FirstMatch(rule.keep_tags, tag, /*on_error=*/true)) {
      d.reason = "keeptags " + Quote(p->text());
    } else if (const TagPattern* p = FirstMatch(rule.drop_tags, tag, /*on_error=*/false)) {
      d.keep = false;
      d.reason = "droptags " + Quote(p->text());
    } else if (!rule.keep_newest && !rule.keep_days) {
      d.reason = "no keepnewest or keepdays limit";
    } else {
      undecided.push_back(i);
    }
  }
  // Newest first; equal times in tag order, so a run decides the same way every time.
  std::sort(undecided.begin(), undecided.end(), [&](size_t a, size_t b) {
    if (tags[a].pushed != tags[b].pushed) return tags[a].pushed > tags[b].pushed;
    return tags[a].tag < tags[b].tag;
  });
  for (size_t rank = 0; rank < undecided.size(); ++rank) {
    TagDecision& d = out[undecided[rank]];
    if (rule.keep_newest && rank < *rule.keep_newest) {
      d.reason =
          "newest " + std::to_string(*rule.keep_newest) + " (#" + std::to_string(rank + 1) + ")";
      continue;
    }
    if (rule.keep_days && now - d.facts.pushed < std::chrono::hours(24) * *rule.keep_days) {
      d.reason = "pushed within " + Days(*rule.keep_days);
      continue;
    }
    d.keep = false;
    std::string why;
    if (rule.keep_newest) why = "not among the newest " + std::to_string(*rule.keep_newest);
    if (rule.keep_days) {
      why += std::string(why.empty() ? "" : " and ") + "pushed more than " + Days(*rule.keep_days) +
             " ago";
    }
    d.reason = why;
  }
  return out;
}

namespace {

// One repository's run.
class RepoRun {
 public:
  RepoRun(storage::Namespace& ns, storage::driver::StorageDriver& driver, const RetentionRule& rule,
          std::string repo, const ImmutableTags* immutable, SystemTime now,
          const RetentionOptions& opt, RetentionSummary& sum)
      : ns_(ns),
        driver_(driver),
        rule_(rule),
        repo_(std::move(repo)),
        immutable_(immutable),
        now_(now),
        opt_(opt),
        sum_(sum) {}

  void Run() {
    auto tags = CollectTags();
    if (!tags) return Failed(repo_, "listing tags", tags.error());
    auto decisions = DecideTags(rule_, repo_, *tags, now_, immutable_);
    std::set<Digest> kept_tag_digests, deleted_tag_digests;
    for (const TagDecision& d : decisions) {
      const std::string subject = repo_ + ":" + d.facts.tag;
      if (d.keep) {
        ++sum_.tags_kept;
        kept_tag_digests.insert(d.facts.digest);
        Say(subject + " kept: " + d.reason);
        continue;
      }
      if (!opt_.dry_run) {
        if (auto st = ns_.Tags().Untag(repo_, d.facts.tag);
            !st && st.error().code != ErrorCode::kManifestUnknown) {
          kept_tag_digests.insert(d.facts.digest);
          Failed(subject, "deleting the tag", st.error());
          continue;
        }
      }
      ++sum_.tags_deleted;
      deleted_tag_digests.insert(d.facts.digest);
      Say(subject + (opt_.dry_run ? " would be deleted: " : " deleted: ") + d.reason);
    }
    if (deleted_tag_digests.empty() && !rule_.untagged_days) return;
    FollowManifests(kept_tag_digests, deleted_tag_digests);
  }

 private:
  void Say(const std::string& line) {
    if (opt_.out) opt_.out(line + " [rule " + Quote(rule_.name) + "]");
  }
  void Failed(const std::string& what, const std::string& doing, const Error& e) {
    ++sum_.errors;
    if (opt_.out) opt_.out(what + " error " + doing + ": " + e.ToString());
  }

  Result<SystemTime> ModTime(const std::string& path) {
    BERTH_ASSIGN_OR_RETURN(auto info, driver_.Stat(path));
    return info.mod_time;
  }

  Result<std::vector<TagFacts>> CollectTags() {
    std::vector<TagFacts> out;
    auto names = ns_.Tags().List(repo_);
    if (!names) {
      // A repository with blobs or uploads only has no tags.
      if (names.error().code == ErrorCode::kNameUnknown) return out;
      return std::unexpected(names.error());
    }
    for (const std::string& tag : *names) {
      // A stray directory under tags/ is no tag (and no path to build from it).
      if (!ValidateTag(tag)) continue;
      auto d = ns_.Tags().Resolve(repo_, tag);
      if (!d && d.error().code == ErrorCode::kManifestUnknown) continue;  // deleted meanwhile
      if (!d) return std::unexpected(d.error());
      auto pushed = ModTime(storage::paths::TagCurrentLink(repo_, tag));
      if (!pushed && pushed.error().code == ErrorCode::kNotFound) continue;
      if (!pushed) return std::unexpected(pushed.error());
      out.push_back({tag, *d, *pushed});
    }
    return out;
  }

  // The repository's manifests with their edges. A manifest whose content cannot be parsed is
  // returned in `opaque` (kept, since what it keeps is unknown).
  Result<std::vector<ManifestNode>> CollectManifests(std::set<Digest>& opaque) {
    std::vector<ManifestNode> out;
    for (DigestAlgorithm alg : {DigestAlgorithm::kSha256, DigestAlgorithm::kSha512}) {
      auto dirs = driver_.List(storage::paths::RevisionsDir(repo_, alg));
      if (!dirs && dirs.error().code == ErrorCode::kNotFound) continue;
      if (!dirs) return std::unexpected(dirs.error());
      for (const std::string& dir : *dirs) {
        std::string hex = dir.substr(dir.rfind('/') + 1);
        auto d = Digest::Parse(std::string(AlgorithmName(alg)) + ":" + hex);
        if (!d) continue;  // not a revision (stray file)
        auto linked = ModTime(storage::paths::RevisionLink(repo_, *d));
        if (!linked && linked.error().code == ErrorCode::kNotFound) continue;
        if (!linked) return std::unexpected(linked.error());
        ManifestNode node{*d, *linked, {}, std::nullopt};
        auto stored = ns_.Manifests().Read(repo_, *d);
        if (!stored && stored.error().code == ErrorCode::kManifestUnknown) continue;
        if (!stored) return std::unexpected(stored.error());
        auto parsed = storage::ParseManifest(stored->bytes, stored->media_type);
        if (!parsed) {
          opaque.insert(*d);
        } else {
          for (const auto& c : parsed->manifests) node.children.push_back(c.digest);
          if (parsed->subject) node.subject = parsed->subject->digest;
        }
        out.push_back(std::move(node));
      }
    }
    return out;
  }

  void FollowManifests(const std::set<Digest>& kept_tags, const std::set<Digest>& deleted_tags) {
    std::set<Digest> opaque;
    auto graph = CollectManifests(opaque);
    if (!graph) return Failed(repo_, "listing manifests", graph.error());
    std::map<Digest, const ManifestNode*> by_digest;
    for (const ManifestNode& m : *graph) by_digest[m.digest] = &m;
    auto age = [&](const Digest& d) {
      auto it = by_digest.find(d);
      return it == by_digest.end() ? std::chrono::nanoseconds(0)
                                   : std::chrono::nanoseconds(now_ - it->second->linked);
    };
    // Candidates: deleted tags' manifests, old untagged ones, and what goes with them.
    std::set<Digest> seeds;
    for (const Digest& d : deleted_tags) {
      if (!kept_tags.contains(d)) seeds.insert(d);
    }
    std::map<Digest, std::string> why;
    for (const Digest& d : seeds) why[d] = "its tags were deleted";
    if (rule_.untagged_days) {
      const auto limit = std::chrono::hours(24) * *rule_.untagged_days;
      for (const ManifestNode& m : *graph) {
        if (kept_tags.contains(m.digest) || deleted_tags.contains(m.digest)) continue;
        if (age(m.digest) <= limit) continue;
        seeds.insert(m.digest);
        why.emplace(m.digest, "untagged for more than " + Days(*rule_.untagged_days));
      }
    }
    std::set<Digest> candidates = seeds;
    for (const Digest& d : Dependents(*graph, seeds)) {
      if (seeds.contains(d) || age(d) <= kDependentGrace) continue;
      candidates.insert(d);
      why.emplace(d, "it went with a deleted manifest (listed by it or referring to it)");
    }
    // Roots: kept tags, manifests that are not candidates, and manifests not understood.
    std::set<Digest> roots = kept_tags;
    for (const ManifestNode& m : *graph) {
      if (!candidates.contains(m.digest) || opaque.contains(m.digest)) roots.insert(m.digest);
    }
    std::set<Digest> kept = KeptBy(*graph, roots);
    // Referrers first, then indexes, then the rest: nothing left points at a deleted manifest.
    std::vector<const ManifestNode*> doomed;
    for (const ManifestNode& m : *graph) {
      if (candidates.contains(m.digest) && !kept.contains(m.digest)) doomed.push_back(&m);
    }
    auto rank = [](const ManifestNode* m) { return m->subject ? 0 : m->children.empty() ? 2 : 1; };
    std::stable_sort(doomed.begin(), doomed.end(),
                     [&](auto* a, auto* b) { return rank(a) < rank(b); });
    for (const Digest& d : candidates) {
      if (kept.contains(d) && deleted_tags.contains(d)) {
        Say(repo_ + "@" + d.str() + " manifest kept: something else keeps it");
      }
    }
    for (const ManifestNode* m : doomed) DeleteManifest(m->digest, why[m->digest]);
  }

  void DeleteManifest(const Digest& d, const std::string& why) {
    const std::string subject = repo_ + "@" + d.str();
    if (opt_.dry_run) {
      ++sum_.manifests_deleted;
      return Say(subject + " manifest would be deleted: " + why);
    }
    // A tag written since the decision keeps it (Delete would take the tag with it).
    auto tags = ns_.Tags().Lookup(repo_, d);
    if (!tags) return Failed(subject, "looking up its tags", tags.error());
    if (!tags->empty()) return Say(subject + " manifest kept: tagged " + Quote(tags->front()));
    auto st = ns_.Manifests().Delete(repo_, d);
    if (!st && st.error().code != ErrorCode::kManifestUnknown) {
      return Failed(subject, "deleting the manifest", st.error());
    }
    ++sum_.manifests_deleted;
    Say(subject + " manifest deleted: " + why);
  }

  storage::Namespace& ns_;
  storage::driver::StorageDriver& driver_;
  const RetentionRule& rule_;
  const std::string repo_;
  const ImmutableTags* immutable_;
  const SystemTime now_;
  const RetentionOptions& opt_;
  RetentionSummary& sum_;
};

}  // namespace

Result<RetentionSummary> RunRetention(storage::Namespace& ns,
                                      storage::driver::StorageDriver& driver,
                                      const RetentionSettings& settings,
                                      const ImmutableTags* immutable, const Clock& clock,
                                      const RetentionOptions& options) {
  RetentionSummary sum;
  if (settings.rules.empty()) return sum;
  constexpr size_t kPage = 1000;
  std::string last;
  bool more = true;
  while (more) {
    BERTH_ASSIGN_OR_RETURN(auto page, ns.Catalog(last, kPage, &more));
    if (page.empty()) break;
    last = page.back();
    for (const std::string& repo : page) {
      if (options.stop && options.stop()) return sum;
      const RetentionRule* rule = RuleFor(settings.rules, repo);
      if (rule == nullptr) continue;
      ++sum.repositories;
      RepoRun(ns, driver, *rule, repo, immutable, clock.Now(), options, sum).Run();
    }
  }
  return sum;
}

}  // namespace berth::policy
