// GET /v2/<name>/referrers/<digest>: the OCI 1.1 referrers index, filtered by `artifactType`.
#include "api/internal.h"

namespace berth::api::internal {

http::Dispatch HandleReferrers(Ctx& c) {
  auto subject = Digest::Parse(c.route.arg);
  if (!subject) return FailNow(c, subject.error());
  auto refs = c.reg.Referrers().List(c.route.name, *subject);
  if (!refs) return FailNow(c, refs.error());
  auto filter = c.query.Get("artifactType");
  nlohmann::json manifests = nlohmann::json::array();
  for (const auto& r : *refs) {
    const auto& d = r.descriptor;
    if (filter && d.artifact_type != *filter) continue;
    nlohmann::json item{{"mediaType", d.media_type}, {"digest", d.digest.str()}, {"size", d.size}};
    if (!d.artifact_type.empty()) item["artifactType"] = d.artifact_type;
    if (!d.annotations_json.empty()) {
      item["annotations"] = nlohmann::json::parse(d.annotations_json, nullptr, false);
    }
    manifests.push_back(std::move(item));
  }
  nlohmann::json index{{"schemaVersion", 2},
                       {"mediaType", std::string(storage::kOciIndex)},
                       {"manifests", std::move(manifests)}};
  http::Response res = JsonResponse(c, index, storage::kOciIndex);
  if (filter) res.headers.Add("OCI-Filters-Applied", "artifactType");
  return http::Dispatch::Respond(std::move(res));
}

}  // namespace berth::api::internal
