#pragma once
// Which images a transfer covers, fixed at one instant: the repositories matching a glob and the
// current digest of each of their tags matching a regular expression, all read before any content
// is copied. Manifests and blobs are immutable per digest, so copying them afterwards yields the
// registry as it was at the snapshot even while pushes continue (a tag moved later is copied as it
// was; a manifest deleted in between is reported and skipped by the copier).
//
// Errors: kInvalidArgument for a bad regular expression; storage errors as the Namespace returns
// them. Thread-safe (no state).

#include <optional>
#include <regex>
#include <string>
#include <vector>

#include "common/digest.h"
#include "common/error.h"
#include "storage/registry.h"

namespace berth::transfer {

struct Selection {
  std::string repo_glob = "*";  // fnmatch(3) without FNM_PATHNAME: "team/*" matches "team/a/b"
  std::string tag_regex;        // ECMAScript, matching the whole tag; empty: every tag
};

// A Selection compiled once (the regular expression), for matching many names.
class SelectionMatcher {
 public:
  // kInvalidArgument naming the expression when it does not compile.
  static Result<SelectionMatcher> Compile(const Selection& selection);
  bool Repository(const std::string& name) const;
  bool Tag(const std::string& tag) const;

 private:
  std::string glob_;
  std::optional<std::regex> tag_re_;
};

struct TaggedImage {
  std::string repo;
  std::string tag;
  Digest digest;
};

struct Snapshot {
  std::vector<std::string> repos;  // every selected repository, sorted (also those without tags)
  std::vector<TaggedImage> tags;   // sorted by repository, then tag
};

Result<Snapshot> TakeSnapshot(storage::Namespace& ns, const Selection& selection);

bool GlobMatch(const std::string& glob, const std::string& name);

}  // namespace berth::transfer
