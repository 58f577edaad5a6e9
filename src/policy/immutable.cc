#include "policy/immutable.h"

#include <array>
#include <functional>
#include <mutex>

#include "common/glob.h"
#include "storage/wrappers.h"

namespace berth::policy {

const ImmutableRule* ImmutableTags::Covering(std::string_view repo, std::string_view tag) const {
  for (const ImmutableRule& r : rules_) {
    if (!GlobMatch(r.repository, repo)) continue;
    bool included = r.tags.empty();
    // An engine failure on a pattern errs towards protecting the tag.
    for (const auto& p : r.tags) included = included || p.MatchesOr(tag, true);
    if (!included) continue;
    bool excluded = false;
    for (const auto& p : r.exclude) excluded = excluded || p.MatchesOr(tag, false);
    if (!excluded) return &r;
  }
  return nullptr;
}

bool ImmutableTags::CoversRepository(std::string_view repo) const {
  for (const ImmutableRule& r : rules_) {
    if (GlobMatch(r.repository, repo)) return true;
  }
  return false;
}

namespace {

std::string Quote(std::string_view s) { return "\"" + std::string(s) + "\""; }

Error Denied(std::string what, const ImmutableRule& rule) {
  return Error{ErrorCode::kDenied, std::move(what) + ": refused by " + rule.Describe(), {}, 0};
}

// Serialises, per repository, the writes that can affect a covered tag.
class RepoLocks {
 public:
  std::unique_lock<std::mutex> Lock(std::string_view repo) {
    return std::unique_lock<std::mutex>(mu_[std::hash<std::string_view>{}(repo) % mu_.size()]);
  }

 private:
  std::array<std::mutex, 64> mu_;
};

// What the two decorators share: the rules and one lock per repository.
struct Shared {
  std::shared_ptr<const ImmutableTags> rules;
  RepoLocks locks;
};

// Refuses moving covered tag `tag` of `repo` to `to`; MANIFEST_UNKNOWN from Resolve means the tag
// is new. Call with the repository locked.
Status CheckMove(storage::TagService& tags, std::string_view repo, std::string_view tag,
                 const Digest& to, const ImmutableRule& rule) {
  auto current = tags.Resolve(repo, tag);
  if (!current) {
    if (current.error().code == ErrorCode::kManifestUnknown) return Ok();
    return std::unexpected(current.error());
  }
  if (*current == to) return Ok();
  return std::unexpected(Denied("tag " + Quote(tag) + " of repository " + Quote(repo) +
                                    " is immutable: it points at " + current->str() +
                                    " and cannot be moved to " + to.str(),
                                rule));
}

class GuardedTags : public storage::TagServiceWrapper {
 public:
  GuardedTags(storage::Namespace& inner, Shared& shared)
      : TagServiceWrapper(inner.Tags()), s_(shared) {}

  Status Tag(std::string_view repo, std::string_view tag, const Digest& d) override {
    const ImmutableRule* rule = s_.rules->Covering(repo, tag);
    if (rule == nullptr) return target().Tag(repo, tag, d);
    auto lock = s_.locks.Lock(repo);
    BERTH_RETURN_IF_ERROR(CheckMove(target(), repo, tag, d, *rule));
    return target().Tag(repo, tag, d);
  }

  Status Untag(std::string_view repo, std::string_view tag) override {
    const ImmutableRule* rule = s_.rules->Covering(repo, tag);
    if (rule == nullptr) return target().Untag(repo, tag);
    auto lock = s_.locks.Lock(repo);
    // An absent tag answers MANIFEST_UNKNOWN as without the rule.
    BERTH_RETURN_IF_ERROR(target().Resolve(repo, tag));
    return std::unexpected(
        Denied("tag " + Quote(tag) + " of repository " + Quote(repo) + " is immutable", *rule));
  }

 private:
  Shared& s_;
};

class GuardedManifests final : public storage::ManifestServiceWrapper {
 public:
  GuardedManifests(storage::Namespace& inner, Shared& shared)
      : ManifestServiceWrapper(inner.Manifests()), tags_(inner.Tags()), s_(shared) {}

  Status Delete(std::string_view repo, const Digest& d) override {
    if (!s_.rules->CoversRepository(repo)) return target().Delete(repo, d);
    auto lock = s_.locks.Lock(repo);
    BERTH_ASSIGN_OR_RETURN(auto tags, tags_.Lookup(repo, d));
    for (const std::string& tag : tags) {
      if (const ImmutableRule* rule = s_.rules->Covering(repo, tag)) {
        return std::unexpected(Denied("manifest " + d.str() + " of repository " + Quote(repo) +
                                          " is what immutable tag " + Quote(tag) + " points at",
                                      *rule));
      }
    }
    return target().Delete(repo, d);
  }

  Result<storage::PutManifestResult> Put(std::string_view repo, const Reference& reference,
                                         std::string_view content_type,
                                         std::string bytes) override {
    const ImmutableRule* rule =
        reference.is_digest() ? nullptr : s_.rules->Covering(repo, reference.tag);
    if (rule == nullptr) return target().Put(repo, reference, content_type, std::move(bytes));
    auto lock = s_.locks.Lock(repo);
    // The digest the store will give content put by tag (storage/fs: sha256 of the bytes).
    BERTH_RETURN_IF_ERROR(CheckMove(tags_, repo, reference.tag, Digest::Of(bytes), *rule));
    return target().Put(repo, reference, content_type, std::move(bytes));
  }

 private:
  storage::TagService& tags_;  // the undecorated tags
  Shared& s_;
};

}  // namespace

storage::NamespacePtr WithImmutableTags(storage::NamespacePtr inner,
                                        std::shared_ptr<const ImmutableTags> rules) {
  if (!rules || rules->empty()) return inner;
  return storage::Decorate<GuardedTags, GuardedManifests>(
      std::move(inner), std::make_shared<Shared>(std::move(rules)));
}

}  // namespace berth::policy
