// GET /v1/search: Docker Hub's v1 search API over the catalog, so `docker search HOST/term` and
// `podman search` work: a case-insensitive substring match on repository names the caller may pull
// (PullScope), paged by `n` (default 25, max 100) and `page` (from 1).
#include "api/internal.h"
#include "common/strings.h"

namespace berth::api::internal {

http::Dispatch HandleSearch(Ctx& c) {
  std::string term = ToLower(c.query.Get("q").value_or(""));
  auto n = PageSize(c.query, 25, 100);
  if (!n) return FailNow(c, n.error());
  size_t page_size = *n == 0 ? 25 : *n;
  size_t page = 1;
  if (auto p = c.query.Get("page")) {
    auto v = ParseUint64(*p);
    if (!v || *v == 0) {
      return FailNow(c, Error{ErrorCode::kPaginationNumberInvalid,
                              "page=" + p->substr(0, 40) + " is not a positive integer",
                              {},
                              0});
    }
    page = static_cast<size_t>(std::min<uint64_t>(*v, 1u << 30));
  }
  bool more = false;
  auto repos = c.reg.Catalog("", SIZE_MAX, &more);
  if (!repos) return FailNow(c, repos.error());
  PullScope scope(c);
  std::vector<std::string> hits;
  for (auto& r : *repos) {
    if (!term.empty() && r.find(term) == std::string::npos) continue;
    if (!scope.Allows(r, /*for_listing=*/true)) continue;
    hits.push_back(std::move(r));
  }
  nlohmann::json results = nlohmann::json::array();
  size_t start = (page - 1) * page_size;
  for (size_t i = start; i < hits.size() && i < start + page_size; ++i) {
    results.push_back({{"name", hits[i]},
                       {"description", ""},
                       {"star_count", 0},
                       {"is_official", false},
                       {"is_automated", false},
                       {"is_trusted", false}});
  }
  nlohmann::json body{{"num_results", hits.size()},
                      {"num_pages", (hits.size() + page_size - 1) / page_size},
                      {"page", page},
                      {"page_size", page_size},
                      {"query", c.query.Get("q").value_or("")},
                      {"results", std::move(results)}};
  return http::Dispatch::Respond(JsonResponse(c, body));
}

}  // namespace berth::api::internal
