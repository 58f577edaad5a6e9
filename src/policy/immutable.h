#pragma once
// Immutable tags: a storage decorator (storage/wrappers.h) that refuses, with DENIED (403) and a
// message naming the rule, every change to a tag an immutable rule covers (policy/config.h):
//  - pointing the tag at another digest (ManifestService::Put by tag, TagService::Tag);
//  - deleting the tag (TagService::Untag);
//  - deleting a manifest such a tag points at (ManifestService::Delete, which would take the tag
//    with it).
// Putting the same digest again is accepted (clients retry), as is creating the tag the first time.
// A tag is covered when a rule's repository glob matches the repository, one of its `tags`
// patterns matches (no patterns: every tag) and none of its `exclude` patterns does; any covering
// rule is enough.
//
// The check and the change are one step for writes through the same decorator: writes that can
// affect a covered tag (covered puts and deletes, every manifest delete) are serialised per
// repository, so two racing first pushes of a covered tag cannot both succeed with different
// digests. Another process writing the same storage is not serialised with this one.
//
// Errors: DENIED as above; otherwise the wrapped service's (a failure to read the current tag is
// returned as is: the decorator never lets a change through because it could not check it).
// Thread-safe.

#include <memory>
#include <string_view>
#include <vector>

#include "policy/config.h"
#include "storage/registry.h"

namespace berth::policy {

class ImmutableTags {
 public:
  explicit ImmutableTags(std::vector<ImmutableRule> rules) : rules_(std::move(rules)) {}
  // The first rule covering `tag` in `repo`, or nullptr.
  const ImmutableRule* Covering(std::string_view repo, std::string_view tag) const;
  // True when some rule's repository glob matches `repo`.
  bool CoversRepository(std::string_view repo) const;
  bool empty() const { return rules_.empty(); }

 private:
  std::vector<ImmutableRule> rules_;
};

// `inner` wrapped by the decorator; `inner` itself when there are no rules.
storage::NamespacePtr WithImmutableTags(storage::NamespacePtr inner,
                                        std::shared_ptr<const ImmutableTags> rules);

}  // namespace berth::policy
