#pragma once
// The API's routes as data: one table (routes.cc) of rows {route, methods, pattern, needed access,
// read-only flag, handler}. Adding an endpoint is adding a row and its handler.
//
// Matching: the path (after the prefix) is percent-decoded first, so encoded slashes cannot smuggle
// a different repository name past validation ("a%2F..%2Fb" becomes "a/../b": NAME_INVALID). The
// first row whose pattern matches names the route; among the rows with that same pattern, the one
// listing the request's method is chosen (none: 405, with the pattern's methods in `allowed`).
// Patterns are '/'-separated segments: literals, `<name>` (one or more segments: a repository
// name, validated) and any other `<arg>` (exactly one non-empty segment, not validated here). A
// pattern ending in '/' matches with or without the trailing slash.
//
// Queries: parsed once (Query::Parse), names and values percent-decoded, and that one parse feeds
// both the access check (NeededAccess) and the handler, so the two can never read different
// parameters (`fro%6D=secret/x` is `from` for both). A parameter the API reads must not repeat:
// `from=a&from=b` is refused with 400 rather than guessing which one the caller meant (only the
// token endpoint's `scope` may repeat, as Docker's token spec allows).
//
// Thread-safety: everything here is pure or immutable.

#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "auth/auth.h"
#include "common/error.h"
#include "http/message.h"

namespace berth::api {

namespace internal {
struct Ctx;
}  // namespace internal

// Decoded query parameters, in order.
class Query {
 public:
  Query() = default;
  // '&'-separated `name=value` pairs; both halves percent-decoded ('+' is a space, as in forms).
  // Errors: kUnsupported (400) for a bad percent-escape, or when a parameter other than `scope`
  // appears twice.
  static Result<Query> Parse(std::string_view raw);
  // The value of `key`; nullopt when absent.
  std::optional<std::string> Get(std::string_view key) const;
  // Every value of `key`, in order.
  std::vector<std::string> GetAll(std::string_view key) const;

 private:
  std::vector<std::pair<std::string, std::string>> items_;
};

enum class RouteKind {
  kBase,         // /v2/
  kCatalog,      // /v2/_catalog
  kTags,         // /v2/<name>/tags/list
  kManifest,     // /v2/<name>/manifests/<reference>
  kBlob,         // /v2/<name>/blobs/<digest>
  kUploadStart,  // /v2/<name>/blobs/uploads/
  kUpload,       // /v2/<name>/blobs/uploads/<id>
  kReferrers,    // /v2/<name>/referrers/<digest>
  kSearch,       // /v1/search (Docker Hub's search API)
  kPing,         // /v1/_ping (docker probes it before searching)
  kToken,        // /auth/token (the built-in token service, when configured)
  kNotFound,
};

// A short static name for metrics labels ("base", "manifest", "blob_upload", ...).
std::string_view RouteLabel(RouteKind kind);

// What a matched path holds.
struct Route {
  RouteKind kind = RouteKind::kNotFound;
  std::string name;  // repository (validated), "" for routes without one
  std::string arg;   // reference, digest or upload id (not yet validated)
};

// The accesses a request needs before its handler runs (Docker's token spec). `required` must all
// be granted, else 401/403. Reads need pull, writes pull and push (as Distribution asks), deletes
// delete, the catalog registry:catalog:*.
struct NeededAccess {
  std::vector<auth::Access> required;
  // Asked of the authorizer too, but a refusal does not refuse the request: the handler sees only
  // the ones granted (Ctx::Granted). A cross-repository mount's source is one: a source the caller
  // may not pull is treated as if it lacked the blob, so the answer reveals nothing about it.
  std::vector<auth::Access> optional;
  // Whether the route authenticates at all (false only for the token endpoint, which checks
  // credentials itself: asking it for a token first would be circular).
  bool authenticate = true;
};

using AccessFn = NeededAccess (*)(const Route&, const Query&);
using HandlerFn = http::Dispatch (*)(internal::Ctx&);

struct RouteSpec {
  RouteKind kind;
  std::string_view methods;  // space-separated: "GET HEAD"
  std::string_view pattern;  // after the prefix: "v2/<name>/manifests/<reference>"
  AccessFn access;
  bool writes;  // refused in read-only mode (storage.maintenance.readonly)
  HandlerFn handler;
};

// The table (routes.cc).
std::span<const RouteSpec> Routes();

struct RouteMatch {
  Route route;                            // kind kNotFound when no pattern matched
  const RouteSpec* spec = nullptr;        // null when no row has the method (or nothing matched)
  std::vector<std::string_view> allowed;  // the methods of the matched pattern, for Allow / 405
};

// `path` is the raw request path; `prefix` starts and ends with '/'.
// Errors: NAME_INVALID for a bad repository name or a bad percent-escape.
Result<RouteMatch> MatchRoute(std::string_view method, std::string_view path,
                              std::string_view prefix);

// The accesses for `method` on `path?query`, as the dispatcher derives them (for tests and tools).
// Errors: those of MatchRoute and Query::Parse.
Result<NeededAccess> AccessFor(std::string_view method, std::string_view path,
                               std::string_view query, std::string_view prefix = "/");

}  // namespace berth::api
