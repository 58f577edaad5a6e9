// /v2/<name>/manifests/<reference>: GET/HEAD, PUT (with registry:2's foreign-layer URL checks),
// DELETE.
#include <regex>

#include "api/internal.h"
#include "common/strings.h"

namespace berth::api::internal {
namespace {

using http::Dispatch;
using http::Response;

constexpr std::string_view kDockerForeignLayer =
    "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip";
// The OCI layer types whose descriptors may carry `urls` (the image spec's layer and
// non-distributable layer types), as registry:2 accepts them.
constexpr std::string_view kOciUrlLayers[] = {
    "application/vnd.oci.image.layer.v1.tar",
    "application/vnd.oci.image.layer.v1.tar+gzip",
    "application/vnd.oci.image.layer.v1.tar+zstd",
    "application/vnd.oci.image.layer.nondistributable.v1.tar",
    "application/vnd.oci.image.layer.nondistributable.v1.tar+gzip",
    "application/vnd.oci.image.layer.nondistributable.v1.tar+zstd",
};
constexpr size_t kMaxUrlBytes = 2048;

Error InvalidUrl(std::string_view url, std::string_view why) {
  return Error{ErrorCode::kManifestInvalid,
               "layer URL \"" + std::string(url.substr(0, 200)) + "\" " + std::string(why),
               {},
               0};
}

// One alternation of `patterns` (as registry:2 joins them with '|'), searched in `url`. An invalid
// pattern or a regex engine failure counts as `on_error`.
bool Matches(const std::vector<std::string>& patterns, const std::string& url, bool on_error) {
  if (patterns.empty()) return false;
  std::string joined;
  for (const auto& p : patterns) joined += (joined.empty() ? "" : "|") + p;
  try {
    return std::regex_search(url, std::regex(joined, std::regex::ECMAScript));
  } catch (const std::regex_error&) {
    return on_error;
  }
}

// registry:2's check of the layers of an image manifest that carry `urls`: a Docker foreign layer
// must have URLs; an OCI layer may; with validation on, each URL must be http(s) without a
// fragment, match `validation.manifests.urls.allow` and not `deny`. A layer of any other type that
// carries URLs must still be in the repository, since registry:2 ignores URLs there.
Status CheckLayerUrls(const Ctx& c, const std::string& name, std::string_view body) {
  auto m = nlohmann::json::parse(body, nullptr, false);
  if (!m.is_object()) return Ok();  // the store reports malformed manifests
  auto layers = m.find("layers");
  if (layers == m.end() || !layers->is_array()) return Ok();
  for (const auto& layer : *layers) {
    if (!layer.is_object()) continue;
    std::string type = layer.value("mediaType", "");
    auto urls = layer.find("urls");
    bool has_urls = urls != layer.end() && urls->is_array() && !urls->empty();
    bool foreign = type == kDockerForeignLayer;
    bool may_have_urls = foreign;
    for (auto t : kOciUrlLayers) may_have_urls = may_have_urls || type == t;
    if (foreign && !has_urls) {
      return MakeError(ErrorCode::kManifestInvalid, "foreign layer has no urls");
    }
    if (!has_urls) continue;
    if (!may_have_urls) {
      auto d = Digest::Parse(layer.value("digest", ""));
      if (!d) return std::unexpected(d.error());
      auto st = c.reg.Blobs().Stat(name, *d);
      if (!st && st.error().code != ErrorCode::kBlobUnknown) return std::unexpected(st.error());
      if (!st) {
        return MakeError(ErrorCode::kManifestBlobUnknown,
                         "layer " + d->str() + " of type " + type.substr(0, 100) +
                             " carries urls but is not in repository \"" + name + "\"");
      }
      continue;
    }
    for (const auto& u : *urls) {
      if (!u.is_string())
        return MakeError(ErrorCode::kManifestInvalid, "layer URL is not a string");
      const std::string& url = u.get_ref<const std::string&>();
      if (url.size() > kMaxUrlBytes) return std::unexpected(InvalidUrl(url, "is too long"));
      std::string lower = ToLower(url.substr(0, 8));
      if (!lower.starts_with("http://") && !lower.starts_with("https://")) {
        return std::unexpected(InvalidUrl(url, "is not http or https"));
      }
      if (url.find('#') != std::string::npos) {
        return std::unexpected(InvalidUrl(url, "has a fragment"));
      }
      if (c.opt.validation_disabled) continue;
      if (!Matches(c.opt.manifest_urls_allow, url, false)) {
        return std::unexpected(
            InvalidUrl(url, "is not allowed by validation.manifests.urls.allow"));
      }
      if (Matches(c.opt.manifest_urls_deny, url, true)) {
        return std::unexpected(InvalidUrl(url, "is denied by validation.manifests.urls.deny"));
      }
    }
  }
  return Ok();
}

}  // namespace

Dispatch HandleGetManifest(Ctx& c) {
  auto ref = ParseReference(c.route.arg);
  if (!ref) {
    // As registry:2: a reference that can name nothing is simply not there.
    return FailNow(c, Error{ErrorCode::kManifestUnknown,
                            "manifest \"" + c.route.arg.substr(0, 200) +
                                "\" is not known: " + ref.error().message,
                            {},
                            0});
  }
  auto stored = c.reg.Manifests().Get(c.route.name, *ref);
  if (!stored) {
    if (stored.error().code == ErrorCode::kManifestUnknown) {
      auto exists = c.reg.RepositoryExists(c.route.name);
      if (exists && !*exists) {
        return FailNow(c, Error{ErrorCode::kNameUnknown,
                                "repository \"" + c.route.name + "\" is not known",
                                {},
                                0});
      }
    }
    return FailNow(c, stored.error());
  }
  if (NotModified(c, stored->digest)) return Dispatch::Respond(NotModifiedResponse(stored->digest));
  Response res;
  res.headers.Add("Content-Type", stored->media_type);
  res.headers.Add("Docker-Content-Digest", stored->digest.str());
  res.headers.Add("ETag", "\"" + stored->digest.str() + "\"");
  res.log_note = stored->digest.str();
  EmitManifest(c, EventAction::kPull, *ref, &stored->digest, stored->media_type, stored->bytes, 200);
  if (c.head()) {
    res.content_length = stored->bytes.size();
  } else {
    res.body = std::move(stored->bytes);
  }
  return Dispatch::Respond(std::move(res));
}

Dispatch HandlePutManifest(Ctx& c) {
  auto ref = ParseReference(c.route.arg);
  if (!ref) return FailNow(c, ref.error());
  Error too_big{
      ErrorCode::kSizeInvalid,
      "manifest is larger than the " + std::to_string(storage::kMaxManifestBytes) + "-byte limit",
      {},
      413};
  return Dispatch::BufferBody(
      storage::kMaxManifestBytes,
      [c, reference = *ref](http::Request& req) -> Response {
        Ctx now(c, req);
        const std::string& name = now.route.name;
        if (auto st = CheckLayerUrls(now, name, req.body); !st) return Fail(now, st.error());
        // With event sinks the bytes outlive Put (a copy of at most 4 MiB) for the event.
        std::string body = now.opt.event_sinks.empty() ? std::move(req.body) : req.body;
        auto put = now.reg.Manifests().Put(name, reference, req.headers.Get("Content-Type"),
                                           std::move(body));
        if (!put) return Fail(now, put.error());
        EmitManifest(now, EventAction::kPush, reference, &put->digest, "", req.body, 201);
        Response res = Empty(201);
        res.headers.Add("Location", Url(now, "v2/" + name + "/manifests/" + put->digest.str()));
        res.headers.Add("Docker-Content-Digest", put->digest.str());
        if (put->subject) res.headers.Add("OCI-Subject", put->subject->str());
        res.log_note = put->digest.str();
        return res;
      },
      Fail(c, too_big));
}

Dispatch HandleDeleteManifest(Ctx& c) {
  auto ref = ParseReference(c.route.arg);
  if (!ref) return FailNow(c, ref.error());
  if (!c.opt.delete_enabled) return FailNow(c, DeleteDisabled());
  auto st = ref->is_digest() ? c.reg.Manifests().Delete(c.route.name, ref->digest)
                             : c.reg.Tags().Untag(c.route.name, ref->tag);
  if (!st) return FailNow(c, st.error());
  EmitManifest(c, EventAction::kDelete, *ref, nullptr, "", "", 202);
  return Dispatch::Respond(Empty(202));
}

}  // namespace berth::api::internal
