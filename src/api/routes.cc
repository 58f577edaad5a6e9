// The route table: one row per (methods, pattern), with the accesses it needs and its handler.
#include <array>

#include "api/internal.h"
#include "common/names.h"

namespace berth::api {
namespace {

using internal::Ctx;

auth::Access Repo(const std::string& name, const char* action) {
  return auth::Access{"repository", name, action};
}

NeededAccess Requires(std::vector<auth::Access> required) {
  NeededAccess n;
  n.required = std::move(required);
  return n;
}

NeededAccess AuthenticateOnly(const Route&, const Query&) { return {}; }
NeededAccess NoAuthentication(const Route&, const Query&) {
  NeededAccess n;
  n.authenticate = false;
  return n;
}
NeededAccess Catalog(const Route&, const Query&) {
  return Requires({auth::Access{"registry", "catalog", "*"}});
}
NeededAccess Pull(const Route& r, const Query&) { return Requires({Repo(r.name, "pull")}); }
NeededAccess PullPush(const Route& r, const Query&) {
  return Requires({Repo(r.name, "pull"), Repo(r.name, "push")});
}
NeededAccess Delete(const Route& r, const Query&) { return Requires({Repo(r.name, "delete")}); }
// POST .../blobs/uploads/?mount=<digest>&from=<repo>: pull on the source is asked for, but a
// refusal only turns the mount into an ordinary upload (uploads.cc).
NeededAccess UploadStart(const Route& r, const Query& q) {
  NeededAccess n = PullPush(r, q);
  auto from = q.Get("from");
  if (q.Get("mount") && from && ValidateRepositoryName(*from))
    n.optional.push_back(Repo(*from, "pull"));
  return n;
}

constexpr std::string_view kManifest = "v2/<name>/manifests/<reference>";
constexpr std::string_view kBlob = "v2/<name>/blobs/<digest>";
constexpr std::string_view kUpload = "v2/<name>/blobs/uploads/<id>";

// Order matters where patterns overlap: the first pattern that matches wins
// (`v2/a/blobs/uploads/` is an upload start, not blob "uploads" of repository "a").
const std::array kRoutes = {
    RouteSpec{RouteKind::kBase, "GET HEAD", "v2/", AuthenticateOnly, false, internal::HandleBase},
    RouteSpec{RouteKind::kPing, "GET HEAD", "v1/_ping", AuthenticateOnly, false,
              internal::HandlePing},
    RouteSpec{RouteKind::kSearch, "GET HEAD", "v1/search", AuthenticateOnly, false,
              internal::HandleSearch},
    RouteSpec{RouteKind::kToken, "GET POST", "auth/token", NoAuthentication, false,
              internal::HandleToken},
    RouteSpec{RouteKind::kCatalog, "GET HEAD", "v2/_catalog", Catalog, false,
              internal::HandleCatalog},
    RouteSpec{RouteKind::kTags, "GET HEAD", "v2/<name>/tags/list", Pull, false,
              internal::HandleTags},
    RouteSpec{RouteKind::kManifest, "GET HEAD", kManifest, Pull, false,
              internal::HandleGetManifest},
    RouteSpec{RouteKind::kManifest, "PUT", kManifest, PullPush, true, internal::HandlePutManifest},
    RouteSpec{RouteKind::kManifest, "DELETE", kManifest, Delete, true,
              internal::HandleDeleteManifest},
    RouteSpec{RouteKind::kReferrers, "GET HEAD", "v2/<name>/referrers/<digest>", Pull, false,
              internal::HandleReferrers},
    RouteSpec{RouteKind::kUploadStart, "POST", "v2/<name>/blobs/uploads/", UploadStart, true,
              internal::HandleUploadStart},
    RouteSpec{RouteKind::kUpload, "GET HEAD", kUpload, PullPush, false,
              internal::HandleUploadStatus},
    RouteSpec{RouteKind::kUpload, "PATCH PUT", kUpload, PullPush, true,
              internal::HandleUploadWrite},
    RouteSpec{RouteKind::kUpload, "DELETE", kUpload, PullPush, true, internal::HandleUploadCancel},
    RouteSpec{RouteKind::kBlob, "GET HEAD", kBlob, Pull, false, internal::HandleGetBlob},
    RouteSpec{RouteKind::kBlob, "DELETE", kBlob, Delete, true, internal::HandleDeleteBlob},
};

}  // namespace

std::span<const RouteSpec> Routes() { return kRoutes; }

std::string_view RouteLabel(RouteKind kind) {
  switch (kind) {
    case RouteKind::kBase:
      return "base";
    case RouteKind::kCatalog:
      return "catalog";
    case RouteKind::kTags:
      return "tags";
    case RouteKind::kManifest:
      return "manifest";
    case RouteKind::kBlob:
      return "blob";
    case RouteKind::kUploadStart:
      return "blob_upload";
    case RouteKind::kUpload:
      return "blob_upload_chunk";
    case RouteKind::kReferrers:
      return "referrers";
    case RouteKind::kSearch:
      return "search";
    case RouteKind::kPing:
      return "ping";
    case RouteKind::kToken:
      return "token";
    case RouteKind::kNotFound:
      break;
  }
  return "not_found";
}

}  // namespace berth::api
