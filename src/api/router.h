#pragma once
// Maps a request path to an API route. The path is percent-decoded first, so encoded slashes cannot
// smuggle a different repository name past validation ("a%2F..%2Fb" becomes "a/../b": NAME_INVALID).
// Thread-safe (pure).

#include <string>
#include <string_view>

#include <vector>

#include "auth/auth.h"
#include "common/error.h"

namespace berth::api {

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

struct Route {
  RouteKind kind = RouteKind::kNotFound;
  std::string name;  // repository (validated)
  std::string arg;   // reference, digest or upload id (not yet validated)
};

// The accesses a request needs, derived here and nowhere else (Docker's token spec): reads need pull,
// writes push (uploads also pull, as Distribution asks), deletes delete, the catalog
// registry:catalog:*, and a cross-repository mount also pull on the source. `query` is the raw query.
std::vector<auth::Access> NeededAccess(const Route& route, std::string_view method,
                                       std::string_view query);

// `path` is the raw request path; `prefix` starts and ends with '/'.
// Errors: NAME_INVALID for a bad repository name or a bad percent-escape.
Result<Route> MatchRoute(std::string_view path, std::string_view prefix);

}  // namespace berth::api
