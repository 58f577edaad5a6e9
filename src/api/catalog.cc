// GET /v2/_catalog: repository names, paged by `n` (at most catalog.maxentries) and `last`.
#include "api/internal.h"

namespace berth::api::internal {

http::Dispatch HandleCatalog(Ctx& c) {
  auto n = PageSize(c.query, c.opt.catalog_max_entries, c.opt.catalog_max_entries);
  if (!n) return FailNow(c, n.error());
  std::string last = c.query.Get("last").value_or("");
  bool more = false;
  auto repos = c.reg.Catalog(last, *n, &more);
  if (!repos) return FailNow(c, repos.error());
  PullScope scope(c);
  if (!scope.all()) {
    // Only what the caller may pull; keep reading pages until this one is full or none are left.
    std::vector<std::string> shown;
    for (;;) {
      for (auto& r : *repos) {
        if (shown.size() < *n && scope.Allows(r, /*for_listing=*/true)) shown.push_back(r);
      }
      if (shown.size() >= *n || !more || repos->empty()) break;
      std::string next = repos->back();
      repos = c.reg.Catalog(next, *n, &more);
      if (!repos) return FailNow(c, repos.error());
    }
    more = more || shown.size() >= *n;
    *repos = std::move(shown);
  }
  http::Response res = JsonResponse(c, nlohmann::json{{"repositories", *repos}});
  if (more && !repos->empty()) AddNextLink(res, c, "v2/_catalog", repos->back(), *n);
  return http::Dispatch::Respond(std::move(res));
}

}  // namespace berth::api::internal
