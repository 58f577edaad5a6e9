// The route table: one row per (methods, pattern), with the accesses it needs and its handler.
#include <array>

#include "api/internal.h"
#include "common/enum_names.h"
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
// clang-format off
const std::array<RouteSpec, 16> kRoutes = {{
    {RouteKind::kBase, "GET HEAD", "v2/", AuthenticateOnly, false, internal::HandleBase},
    {RouteKind::kPing, "GET HEAD", "v1/_ping", AuthenticateOnly, false, internal::HandlePing},
    {RouteKind::kSearch, "GET HEAD", "v1/search", AuthenticateOnly, false, internal::HandleSearch},
    {RouteKind::kToken, "GET POST", "auth/token", NoAuthentication, false, internal::HandleToken},
    {RouteKind::kCatalog, "GET HEAD", "v2/_catalog", Catalog, false, internal::HandleCatalog},
    {RouteKind::kTags, "GET HEAD", "v2/<name>/tags/list", Pull, false, internal::HandleTags},
    {RouteKind::kManifest, "GET HEAD", kManifest, Pull, false, internal::HandleGetManifest},
    {RouteKind::kManifest, "PUT", kManifest, PullPush, true, internal::HandlePutManifest},
    {RouteKind::kManifest, "DELETE", kManifest, Delete, true, internal::HandleDeleteManifest},
    {RouteKind::kReferrers, "GET HEAD", "v2/<name>/referrers/<digest>", Pull, false, internal::HandleReferrers},
    {RouteKind::kUploadStart, "POST", "v2/<name>/blobs/uploads/", UploadStart, true, internal::HandleUploadStart},
    {RouteKind::kUpload, "GET HEAD", kUpload, PullPush, false, internal::HandleUploadStatus},
    {RouteKind::kUpload, "PATCH PUT", kUpload, PullPush, true, internal::HandleUploadWrite},
    {RouteKind::kUpload, "DELETE", kUpload, PullPush, true, internal::HandleUploadCancel},
    {RouteKind::kBlob, "GET HEAD", kBlob, Pull, false, internal::HandleGetBlob},
    {RouteKind::kBlob, "DELETE", kBlob, Delete, true, internal::HandleDeleteBlob},
}};
// clang-format on

}  // namespace

std::span<const RouteSpec> Routes() { return kRoutes; }

// Metrics labels, in RouteKind's order.
constexpr std::array<std::string_view, 12> kRouteLabels = {
    "base",      "catalog", "tags", "manifest", "blob",     "blob_upload", "blob_upload_chunk",
    "referrers", "search",  "ping", "token",    "not_found"};
static_assert(kRouteLabels.size() == static_cast<size_t>(RouteKind::kNotFound) + 1);

std::string_view RouteLabel(RouteKind kind) { return EnumName(kind, kRouteLabels, "not_found"); }

}  // namespace berth::api
