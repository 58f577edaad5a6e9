#include "api/router.h"

#include <vector>

#include "common/names.h"
#include "common/strings.h"

namespace berth::api {

Result<Route> MatchRoute(std::string_view raw_path, std::string_view prefix) {
  Route r;
  if (!raw_path.starts_with(prefix)) return r;
  auto decoded = UrlDecode(raw_path.substr(prefix.size()), /*plus_is_space=*/false);
  if (!decoded) return MakeError(ErrorCode::kNameInvalid, "request path has a bad percent-escape");
  std::string_view p = *decoded;
  if (p == "v1/search") {
    r.kind = RouteKind::kSearch;
    return r;
  }
  if (p == "auth/token") {
    r.kind = RouteKind::kToken;
    return r;
  }
  if (p == "v1/_ping") {
    r.kind = RouteKind::kPing;
    return r;
  }
  if (p == "v2" || p == "v2/") {
    r.kind = RouteKind::kBase;
    return r;
  }
  if (!p.starts_with("v2/")) return r;
  p.remove_prefix(3);
  if (p == "_catalog") {
    r.kind = RouteKind::kCatalog;
    return r;
  }
  std::vector<std::string_view> parts = Split(p, '/');
  const size_t n = parts.size();
  size_t name_parts = 0;
  if (n >= 3 && parts[n - 1] == "list" && parts[n - 2] == "tags") {
    r.kind = RouteKind::kTags;
    name_parts = n - 2;
  } else if (n >= 3 && parts[n - 2] == "manifests") {
    r.kind = RouteKind::kManifest;
    name_parts = n - 2;
  } else if (n >= 3 && parts[n - 2] == "referrers") {
    r.kind = RouteKind::kReferrers;
    name_parts = n - 2;
  } else if (n >= 3 && parts[n - 2] == "blobs" && parts[n - 1] == "uploads") {
    r.kind = RouteKind::kUploadStart;
    name_parts = n - 2;
  } else if (n >= 4 && parts[n - 3] == "blobs" && parts[n - 2] == "uploads") {
    r.kind = parts[n - 1].empty() ? RouteKind::kUploadStart : RouteKind::kUpload;
    name_parts = n - 3;
  } else if (n >= 3 && parts[n - 2] == "blobs") {
    r.kind = RouteKind::kBlob;
    name_parts = n - 2;
  } else {
    return r;
  }
  if (r.kind != RouteKind::kUploadStart && r.kind != RouteKind::kTags) r.arg = std::string(parts[n - 1]);
  if (name_parts == 0) return MakeError(ErrorCode::kNameInvalid, "repository name is empty");
  size_t name_len = 0;
  for (size_t i = 0; i < name_parts; ++i) name_len += parts[i].size() + (i ? 1 : 0);
  r.name = std::string(p.substr(0, name_len));
  BERTH_RETURN_IF_ERROR(ValidateRepositoryName(r.name));
  return r;
}

std::vector<auth::Access> NeededAccess(const Route& route, std::string_view method,
                                       std::string_view query) {
  std::vector<auth::Access> out;
  auto repo = [&](const std::string& name, const char* action) {
    out.push_back(auth::Access{"repository", name, action});
  };
  const bool read = method == "GET" || method == "HEAD";
  switch (route.kind) {
    case RouteKind::kBase:
    case RouteKind::kPing:
    case RouteKind::kToken:  // the token service authenticates on its own
    case RouteKind::kNotFound:
    case RouteKind::kSearch:  // results are filtered per repository by the handler
      break;
    case RouteKind::kCatalog:
      out.push_back(auth::Access{"registry", "catalog", "*"});
      break;
    case RouteKind::kTags:
    case RouteKind::kReferrers:
      repo(route.name, "pull");
      break;
    case RouteKind::kManifest:
    case RouteKind::kBlob:
      if (read) {
        repo(route.name, "pull");
      } else if (method == "DELETE") {
        repo(route.name, "delete");
      } else {
        repo(route.name, "pull");
        repo(route.name, "push");
      }
      break;
    case RouteKind::kUploadStart:
    case RouteKind::kUpload:
      repo(route.name, "pull");
      repo(route.name, "push");
      if (route.kind == RouteKind::kUploadStart) {
        // ?mount=<digest>&from=<repo>: reading the source repository needs pull there too.
        for (auto part : Split(query, '&')) {
          if (!part.starts_with("from=")) continue;
          auto from = UrlDecode(part.substr(5));
          if (from && ValidateRepositoryName(*from)) repo(*from, "pull");
        }
      }
      break;
  }
  return out;
}

}  // namespace berth::api
