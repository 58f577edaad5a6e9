#include "transfer/snapshot.h"

#include <fnmatch.h>

#include <regex>

namespace berth::transfer {

bool GlobMatch(const std::string& glob, const std::string& name) {
  return ::fnmatch(glob.c_str(), name.c_str(), 0) == 0;
}

Result<Snapshot> TakeSnapshot(storage::Namespace& ns, const Selection& selection) {
  std::optional<std::regex> re;
  if (!selection.tag_regex.empty()) {
    try {
      re.emplace(selection.tag_regex, std::regex::ECMAScript);
    } catch (const std::regex_error& e) {
      return MakeError(ErrorCode::kInvalidArgument,
                       "bad tag regular expression \"" + selection.tag_regex + "\": " + e.what());
    }
  }
  Snapshot snap;
  std::string last;
  for (bool more = true; more;) {
    BERTH_ASSIGN_OR_RETURN(auto page, ns.Catalog(last, 1000, &more));
    if (page.empty()) break;
    last = page.back();
    for (auto& repo : page) {
      if (GlobMatch(selection.repo_glob, repo)) snap.repos.push_back(std::move(repo));
    }
  }
  for (const auto& repo : snap.repos) {
    auto tags = ns.Tags().List(repo);
    if (!tags) {
      if (tags.error().Is(ErrorCode::kNameUnknown)) continue;  // deleted since the catalog
      return std::unexpected(tags.error());
    }
    for (const auto& tag : *tags) {
      if (re && !std::regex_match(tag, *re)) continue;
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
