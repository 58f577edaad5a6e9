#pragma once
// Shared by the handler files of api/; not part of the api library's interface. Each endpoint group
// has its own file (base.cc, catalog.cc, tags.cc, manifests.cc, referrers.cc, search.cc, token.cc,
// blobs.cc, uploads.cc); the table tying them to patterns and accesses is routes.cc.

#include <algorithm>
#include <cstdint>
#include <functional>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "api/api.h"
#include "api/errors.h"
#include "api/events.h"
#include "api/router.h"
#include "auth/jwt.h"
#include "auth/token_service.h"
#include "common/names.h"

namespace berth::api::internal {

// One request in flight. Handlers that answer after the body arrives copy it with the new request
// (the first Request reference is only valid while the head is being dispatched).
struct Ctx {
  http::Request& req;
  Route route;
  Query query;
  storage::Namespace& reg;
  const ApiOptions& opt;
  std::string subject = {};                // the authenticated caller ("" = anonymous or no auth)
  std::vector<auth::Access> granted = {};  // the NeededAccess::optional ones that were granted

  Ctx(http::Request& r, Route ro, Query q, storage::Namespace& g, const ApiOptions& o)
      : req(r), route(std::move(ro)), query(std::move(q)), reg(g), opt(o) {}
  Ctx(const Ctx& other, http::Request& r)
      : req(r),
        route(other.route),
        query(other.query),
        reg(other.reg),
        opt(other.opt),
        subject(other.subject),
        granted(other.granted) {}
  bool head() const { return req.method == "HEAD"; }
  bool Granted(const auth::Access& a) const {
    return std::find(granted.begin(), granted.end(), a) != granted.end();
  }
};

http::Response Fail(const Ctx& c, const Error& e);
// The refusals several endpoints share.
Error MethodNotAllowed(const std::string& method);  // 405
Error ReadOnly();                                   // storage.maintenance.readonly
Error DeleteDisabled();                             // storage.delete.enabled is false
inline http::Dispatch FailNow(const Ctx& c, const Error& e) {
  return http::Dispatch::Respond(Fail(c, e));
}
// A response with no body (Content-Length: 0) and the given status.
http::Response Empty(int status);
// `body` as JSON (only the length for HEAD).
http::Response JsonResponse(const Ctx& c, const nlohmann::json& body,
                            std::string_view content_type = "application/json");
// "scheme://host" the client used, from validated Host / X-Forwarded-Host / X-Forwarded-Proto
// (invalid values are ignored); "" when there is no usable host.
std::string ClientBase(const Ctx& c);
// `path` (starting with "v2/...") as the client should see it: prefixed, absolute unless relative
// URLs.
std::string Url(const Ctx& c, std::string_view path);
std::string Path(const Ctx& c, std::string_view path);  // prefixed, never absolute
// "0-<last>" as Distribution writes an upload's Range (also "0-0" when empty).
std::string UploadRange(uint64_t size);
// True when the request's If-None-Match names this digest's ETag (or "*"): answer 304.
bool NotModified(const Ctx& c, const Digest& d);
http::Response NotModifiedResponse(const Digest& d);
// Parses `n` (absent -> `fallback`, capped at `max`) for the paginated lists.
Result<size_t> PageSize(const Query& q, size_t fallback, size_t max);
// Adds `Link: <path?last=..&n=..>; rel="next"`.
void AddNextLink(http::Response& res, const Ctx& c, std::string_view path, const std::string& last,
                 size_t n);
// What the caller may pull, worked out once per request (search, mount without `from`) so that
// deciding many repositories does not re-check credentials each time (pull_scope.cc).
//  - no authentication, or htpasswd (Distribution's rule: every user may do everything): all;
//  - token auth: the repositories the token's `access` claim grants pull on; every repository's
//    name when it grants registry:catalog:* (the catalog already lists them all); and, when the
//    built-in token service runs here, what its policy lets the token's subject pull, so search
//    shows what a later pull would be granted;
//  - an authorizer that can answer for many repositories at once (auth::ScopedAuthorizer, the
//    metadata store's): its filter, for pulling and listing alike;
//  - any other authorizer: asked per repository.
class PullScope {
 public:
  explicit PullScope(const Ctx& c);
  // Every repository may be pulled.
  bool all() const { return all_; }
  // Whether `repo` may be pulled (or, with `for_listing`, shown by name).
  bool Allows(const std::string& repo, bool for_listing = false) const;
  // Repositories the credentials name explicitly (a token's pull claims); empty otherwise.
  const std::vector<std::string>& named() const { return named_; }

 private:
  const Ctx& c_;
  bool all_ = false;
  bool lists_all_ = false;
  bool ask_authorizer_ = false;
  std::optional<auth::JwtClaims> claims_;
  const auth::AccessPolicy* policy_ = nullptr;
  std::function<bool(std::string_view)> filter_;
  std::vector<std::string> named_;
};

// Runs `handler` (a manifest GET) if the caller's pull bucket has a pull left, adding the
// ratelimit-* headers; otherwise 429 TOOMANYREQUESTS (rate_limit.cc).
http::Dispatch LimitPulls(Ctx& c, auth::PullRateLimiter& limiter,
                          http::Dispatch (*handler)(Ctx&));
// Events (events.cc, contract in api/events.h). Each builds an Event only when a sink is configured,
// fills the request and actor from `c`, and passes it to every sink.
// A manifest event: `digest` null takes the reference's (a tag delete has none); an empty
// `media_type` is detected from `bytes`.
void EmitManifest(const Ctx& c, EventAction action, const Reference& ref, const Digest* digest,
                  std::string_view media_type, std::string_view bytes, int status);
// A blob event (push, pull, delete, mount with the source `from`).
void EmitBlob(const Ctx& c, EventAction action, const Digest& d, uint64_t size, int status,
              std::string_view from = {});
// A refused request (`repository` may be empty), or a login (status 200, reason empty).
void EmitAuth(const Ctx& c, EventAction action, std::string_view repository, int status,
              std::string_view reason);

// Handlers, one per row of the route table.
http::Dispatch HandleBase(Ctx& c);
http::Dispatch HandlePing(Ctx& c);
http::Dispatch HandleCatalog(Ctx& c);
http::Dispatch HandleTags(Ctx& c);
http::Dispatch HandleGetManifest(Ctx& c);
http::Dispatch HandlePutManifest(Ctx& c);
http::Dispatch HandleDeleteManifest(Ctx& c);
http::Dispatch HandleReferrers(Ctx& c);
http::Dispatch HandleSearch(Ctx& c);
http::Dispatch HandleToken(Ctx& c);
http::Dispatch HandleGetBlob(Ctx& c);
http::Dispatch HandleDeleteBlob(Ctx& c);
http::Dispatch HandleUploadStart(Ctx& c);
http::Dispatch HandleUploadStatus(Ctx& c);
http::Dispatch HandleUploadWrite(Ctx& c);  // PATCH and PUT
http::Dispatch HandleUploadCancel(Ctx& c);

}  // namespace berth::api::internal
