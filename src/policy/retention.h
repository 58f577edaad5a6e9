#pragma once
// Retention: which tags of a repository stay and which go, by the first rule (policy/config.h)
// whose repository glob matches, and the run that applies the decisions through the storage
// interfaces (so caches and listings stay consistent).
//
// A tag's decision, first match wins:
//   1. covered by an immutable rule        -> kept   (immutability wins over retention)
//   2. listed in `protected`               -> kept
//   3. matches a `keeptags` pattern        -> kept
//   4. matches a `droptags` pattern        -> deleted
//   5. the rule sets neither keepnewest nor keepdays -> kept
//   6. among the `keepnewest` most recently pushed of the tags still undecided -> kept
//   7. pushed within `keepdays` days       -> kept
//   8. otherwise                           -> deleted
// A tag's push time is when its current link was last written (registry:2 trees have it too);
// ties go to the tag name, in order.
//
// Manifests (RunRetention): a deleted tag's manifest goes only when nothing keeps it
// (policy/keep.h: a kept tag, a kept index listing it, a kept referrer of it); with `untaggeddays`,
// so do untagged manifests linked longer ago than that. What such a manifest lists, and its
// referrers, go with it when nothing else keeps them and they were linked more than kDependentGrace
// ago (younger ones may be part of a push in progress). A manifest is deleted only if no tag points
// at it just before the delete. Blobs are left to garbage collection.
//
// Thread-safety: DecideTags is pure; RunRetention may run beside serving (its writes go through the
// storage interfaces) but not beside another RunRetention on the same storage.

#include <chrono>
#include <functional>
#include <string>
#include <vector>

#include "common/digest.h"
#include "common/error.h"
#include "common/time.h"
#include "policy/config.h"
#include "policy/immutable.h"
#include "storage/driver/driver.h"
#include "storage/registry.h"

namespace berth::policy {

inline constexpr auto kDependentGrace = std::chrono::hours(1);

struct TagFacts {
  std::string tag;
  Digest digest;
  SystemTime pushed;
};

struct TagDecision {
  TagFacts facts;
  bool keep = true;
  std::string reason;  // e.g. "newest 3 (#2)", "droptags \"^pr-\"", "protected"
};

// The decisions for `tags` of `repo` under `rule` at time `now`, in the order of `tags`.
// `immutable` may be null.
std::vector<TagDecision> DecideTags(const RetentionRule& rule, std::string_view repo,
                                    const std::vector<TagFacts>& tags, SystemTime now,
                                    const ImmutableTags* immutable);

// The first rule whose repository glob matches `repo`, or nullptr.
const RetentionRule* RuleFor(const std::vector<RetentionRule>& rules, std::string_view repo);

struct RetentionOptions {
  bool dry_run = false;
  // Each decision as a line: "team/app:v1 kept: newest 3 (#1) [rule \"...\"]", "team/app@sha256:..
  // deleted: ...". May be empty.
  std::function<void(const std::string&)> out;
  // Polled between repositories; true stops the run early (the scheduler's stop).
  std::function<bool()> stop;
};

struct RetentionSummary {
  size_t repositories = 0;  // that a rule matched
  size_t tags_kept = 0;
  size_t tags_deleted = 0;  // or that would be, in a dry run
  size_t manifests_deleted = 0;
  size_t errors = 0;  // failures of single repositories/tags/manifests (reported through `out`)
};

// Applies `settings.rules` to every repository in `ns` (Catalog). `driver` is the one under `ns`
// (push times: Stat of the tag's current link; manifest lists and link times). Errors: only a
// failure to list the catalog; anything else is counted in `errors`, reported, and the run goes on.
Result<RetentionSummary> RunRetention(storage::Namespace& ns,
                                      storage::driver::StorageDriver& driver,
                                      const RetentionSettings& settings,
                                      const ImmutableTags* immutable, const Clock& clock,
                                      const RetentionOptions& options);

}  // namespace berth::policy
