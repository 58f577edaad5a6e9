// GET /v2/ (the API version check) and GET /v1/_ping (docker probes it before searching).
#include "api/internal.h"

namespace berth::api::internal {

http::Dispatch HandleBase(Ctx& c) {
  return http::Dispatch::Respond(JsonResponse(c, nlohmann::json::object()));
}

http::Dispatch HandlePing(Ctx& c) {
  return http::Dispatch::Respond(JsonResponse(c, nlohmann::json{{"standalone", true}}));
}

}  // namespace berth::api::internal
