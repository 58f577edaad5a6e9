// GET /v2/<name>/tags/list, paged by `n` and `last`.
#include <algorithm>

#include "api/internal.h"

namespace berth::api::internal {

http::Dispatch HandleTags(Ctx& c) {
  auto tags = c.reg.Tags().List(c.route.name);
  if (!tags) return FailNow(c, tags.error());
  auto n = PageSize(c.query, SIZE_MAX, SIZE_MAX);
  if (!n) return FailNow(c, n.error());
  std::string last = c.query.Get("last").value_or("");
  auto it = last.empty() ? tags->begin() : std::upper_bound(tags->begin(), tags->end(), last);
  nlohmann::json list = nlohmann::json::array();
  size_t taken = 0;
  for (; it != tags->end() && taken < *n; ++it, ++taken) list.push_back(*it);
  http::Response res =
      JsonResponse(c, nlohmann::json{{"name", c.route.name}, {"tags", std::move(list)}});
  if (it != tags->end() && taken > 0) {
    AddNextLink(res, c, "v2/" + c.route.name + "/tags/list", *(it - 1), *n);
  }
  return http::Dispatch::Respond(std::move(res));
}

}  // namespace berth::api::internal
