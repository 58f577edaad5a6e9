#include "transfer/snapshot.h"

#include <fnmatch.h>

#include <regex>

namespace berth::transfer {

bool GlobMatch(const std::string& glob, const std::string& name) {
  return ::fnmatch(glob.c_str(), name.c_str(), 0) == 0;
}

Result<SelectionMatcher> SelectionMatcher::Compile(const Selection& selection) {
  SelectionMatcher m;
  m.glob_ = selection.repo_glob;
  if (!selection.tag_regex.empty()) {
    try {
      m.tag_re_.emplace(selection.tag_regex, std::regex::ECMAScript);
    } catch (const std::regex_error& e) {
      return MakeError(ErrorCode::kInvalidArgument,
                       "bad tag regular expression \"" + selection.tag_regex + "\": " + e.what());
    }
  }
  return m;
}

bool SelectionMatcher::Repository(const std::string& name) const { return GlobMatch(glob_, name); }

bool SelectionMatcher::Tag(const std::string& tag) const {
  return !tag_re_ || std::regex_match(tag, *tag_re_);
}

Result<Snapshot> TakeSnapshot(storage::Namespace& ns, const Selection& selection) {
  BERTH_ASSIGN_OR_RETURN(SelectionMatcher match, SelectionMatcher::Compile(selection));
  Snapshot snap;
  std::string last;
  for (bool more = true; more;) {
    BERTH_ASSIGN_OR_RETURN(auto page, ns.Catalog(last, 1000, &more));
    if (page.empty()) break;
    last = page.back();
    for (auto& repo : page) {
      if (match.Repository(repo)) snap.repos.push_back(std::move(repo));
    }
  }
  for (const auto& repo : snap.repos) {
    auto tags = ns.Tags().List(repo);
    if (!tags) {
      if (tags.error().Is(ErrorCode::kNameUnknown)) continue;  // deleted since the catalog
      return std::unexpected(tags.error());
    }
    for (const auto& tag : *tags) {
      if (!match.Tag(tag)) continue;
      auto d = ns.Tags().Resolve(repo, tag);
      if (!d) {
        if (d.error().Is(ErrorCode::kManifestUnknown)) continue;  // untagged since the listing
        return std::unexpected(d.error());
      }
      snap.tags.push_back({repo, tag, *d});
    }
  }
  return snap;
}

}  // namespace berth::transfer
