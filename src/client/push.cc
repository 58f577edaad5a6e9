#include "client/push.h"

#include <algorithm>

namespace berth::client {
namespace {

std::string PushScope(std::string_view repo) {
  return "repository:" + std::string(repo) + ":pull,push";
}

// The registry-relative target of an upload Location (absolute URL on the same origin, or a path).
Result<std::string> UploadTarget(RegistryClient& reg, std::string_view location) {
  if (location.empty())
    return MakeError(ErrorCode::kUnavailable, reg.url() + ": upload without a Location");
  if (location.front() == '/') return std::string(location);
  BERTH_ASSIGN_OR_RETURN(Url base, Url::Parse(reg.url()));
  BERTH_ASSIGN_OR_RETURN(Url loc, base.Resolve(location));
  if (loc.Origin() != base.Origin()) {
    return MakeError(ErrorCode::kUnsupported,
                     reg.url() + ": upload location on another origin: " + std::string(location));
  }
  return loc.target;
}

std::string WithQuery(const std::string& target, std::string_view kv) {
  return target + (target.find('?') == std::string::npos ? "?" : "&") + std::string(kv);
}

void CancelUpload(RegistryClient& reg, std::string_view repo, const std::string& target) {
  Request req;
  req.method = "DELETE";
  req.url = target;
  if (auto res = reg.Send(std::move(req), PushScope(repo)); res) (void)(*res)->ReadAll(64 * 1024);
}

Result<std::string> StartUpload(RegistryClient& reg, std::string_view repo) {
  Request req;
  req.method = "POST";
  req.url = "/v2/" + std::string(repo) + "/blobs/uploads/";
  req.headers.Set("Content-Length", "0");
  BERTH_ASSIGN_OR_RETURN(ResponsePtr res, reg.Send(std::move(req), PushScope(repo)));
  if (res->status != 202) {
    return std::unexpected(RegistryClient::ErrorFromResponse(*res, ErrorCode::kNameUnknown));
  }
  (void)res->ReadAll(64 * 1024);
  return UploadTarget(reg, res->headers.Get("Location"));
}

}  // namespace

Result<bool> BlobExists(RegistryClient& reg, std::string_view repo, const Digest& d) {
  auto head = reg.HeadBlob(repo, d);
  if (head) return true;
  if (head.error().Is(ErrorCode::kBlobUnknown) || head.error().Is(ErrorCode::kNameUnknown))
    return false;
  return std::unexpected(head.error());
}

Result<bool> MountBlob(RegistryClient& reg, std::string_view repo, std::string_view from,
                       const Digest& d) {
  Request req;
  req.method = "POST";
  req.url = "/v2/" + std::string(repo) + "/blobs/uploads/?mount=" + d.str() +
            "&from=" + std::string(from);
  req.headers.Set("Content-Length", "0");
  BERTH_ASSIGN_OR_RETURN(ResponsePtr res, reg.Send(std::move(req), PushScope(repo)));
  (void)res->ReadAll(64 * 1024);
  if (res->status == 201) return true;
  if (res->status == 202) {  // an upload was started instead: give it back
    if (auto t = UploadTarget(reg, res->headers.Get("Location")); t) CancelUpload(reg, repo, *t);
    return false;
  }
  if (res->status >= 500 || res->status == 429) {
    return std::unexpected(RegistryClient::ErrorFromResponse(*res, ErrorCode::kBlobUnknown));
  }
  return false;  // refused (401/403/404): upload instead
}

Status PushBlob(RegistryClient& reg, std::string_view repo, const Digest& d, uint64_t size,
                const BodyReader& body, uint64_t chunk_bytes) {
  BERTH_ASSIGN_OR_RETURN(std::string target, StartUpload(reg, repo));
  auto fail = [&](Error e) -> Status {
    CancelUpload(reg, repo, target);
    return std::unexpected(std::move(e));
  };
  uint64_t sent = 0;
  // A reader handing out at most `n` bytes of `body` (one request's worth).
  auto limited = [&body](uint64_t n) {
    auto left = std::make_shared<uint64_t>(n);
    return BodyReader([&body, left](char* buf, size_t cap) -> Result<size_t> {
      if (*left == 0) return size_t{0};
      BERTH_ASSIGN_OR_RETURN(size_t got,
                             body(buf, static_cast<size_t>(std::min<uint64_t>(cap, *left))));
      if (got == 0) return MakeError(ErrorCode::kSizeInvalid, "blob source ended early");
      *left -= got;
      return got;
    });
  };
  if (chunk_bytes > 0 && size > chunk_bytes) {
    while (size - sent > 0) {
      const uint64_t n = std::min(chunk_bytes, size - sent);
      Request req;
      req.method = "PATCH";
      req.url = target;
      req.headers.Set("Content-Type", "application/octet-stream");
      req.headers.Set("Content-Range", std::to_string(sent) + "-" + std::to_string(sent + n - 1));
      req.body_source = limited(n);
      req.body_length = n;
      auto res = reg.Send(std::move(req), PushScope(repo));
      if (!res) return fail(res.error());
      if ((*res)->status != 202)
        return fail(RegistryClient::ErrorFromResponse(**res, ErrorCode::kBlobUploadUnknown));
      (void)(*res)->ReadAll(64 * 1024);
      auto next = UploadTarget(reg, (*res)->headers.Get("Location"));
      if (!next) return fail(next.error());
      target = *next;
      sent += n;
    }
  }
  Request put;
  put.method = "PUT";
  put.url = WithQuery(target, "digest=" + d.str());
  put.headers.Set("Content-Type", "application/octet-stream");
  put.body_source = limited(size - sent);
  put.body_length = size - sent;
  auto res = reg.Send(std::move(put), PushScope(repo));
  if (!res) return fail(res.error());
  if ((*res)->status != 201)
    return fail(RegistryClient::ErrorFromResponse(**res, ErrorCode::kBlobUploadUnknown));
  (void)(*res)->ReadAll(64 * 1024);
  return Ok();
}

Status PushManifest(RegistryClient& reg, std::string_view repo, std::string_view reference,
                    std::string_view media_type, const std::string& bytes, const Digest& d) {
  Request req;
  req.method = "PUT";
  req.url = "/v2/" + std::string(repo) + "/manifests/" + std::string(reference);
  req.headers.Set("Content-Type", std::string(media_type));
  req.body = bytes;
  BERTH_ASSIGN_OR_RETURN(ResponsePtr res, reg.Send(std::move(req), PushScope(repo)));
  if (res->status != 201 && res->status != 200) {
    return std::unexpected(RegistryClient::ErrorFromResponse(*res, ErrorCode::kManifestUnknown));
  }
  (void)res->ReadAll(64 * 1024);
  if (auto got = Digest::Parse(res->headers.Get("Docker-Content-Digest")); got && *got != d) {
    return MakeError(ErrorCode::kDigestInvalid, reg.url() + " stored manifest " + d.str() + " of " +
                                                    std::string(repo) + " as " + got->str());
  }
  return Ok();
}

Status DeleteManifest(RegistryClient& reg, std::string_view repo, std::string_view reference) {
  Request req;
  req.method = "DELETE";
  req.url = "/v2/" + std::string(repo) + "/manifests/" + std::string(reference);
  BERTH_ASSIGN_OR_RETURN(ResponsePtr res, reg.Send(std::move(req), PushScope(repo)));
  if (res->status != 202 && res->status != 200) {
    return std::unexpected(RegistryClient::ErrorFromResponse(*res, ErrorCode::kManifestUnknown));
  }
  (void)res->ReadAll(64 * 1024);
  return Ok();
}

}  // namespace berth::client
