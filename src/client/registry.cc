#include "client/registry.h"

#include <openssl/evp.h>

#include <algorithm>
#include <atomic>
#include <map>
#include <nlohmann/json.hpp>

#include "client/challenge.h"
#include "common/log.h"
#include "common/strings.h"

namespace berth::client {

const char* const kManifestAccept =
    "application/vnd.oci.image.manifest.v1+json, application/vnd.oci.image.index.v1+json, "
    "application/vnd.docker.distribution.manifest.v2+json, "
    "application/vnd.docker.distribution.manifest.list.v2+json";

namespace {

using json = nlohmann::json;

std::string Base64(std::string_view in) {
  std::string out(4 * ((in.size() + 2) / 3) + 1, '\0');
  int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                          reinterpret_cast<const unsigned char*>(in.data()),
                          static_cast<int>(in.size()));
  out.resize(static_cast<size_t>(n));
  return out;
}

std::optional<ErrorCode> CodeFromWire(std::string_view wire) {
  for (int i = 0; i <= static_cast<int>(ErrorCode::kUnknown); ++i) {
    auto c = static_cast<ErrorCode>(i);
    if (ErrorInfo(c).wire == wire) return c;
  }
  return std::nullopt;
}

// The target of a Link header's rel="next" ("</v2/_catalog?last=x&n=2>; rel="next"").
std::string NextLink(std::string_view link) {
  size_t open = link.find('<');
  size_t close = link.find('>');
  if (open == std::string_view::npos || close == std::string_view::npos || close < open) return {};
  if (link.find("next", close) == std::string_view::npos) return {};
  return std::string(link.substr(open + 1, close - open - 1));
}

std::string PageQuery(size_t n, std::string_view last) {
  std::string q;
  if (n) q += "n=" + std::to_string(n);
  if (!last.empty()) q += std::string(q.empty() ? "" : "&") + "last=" + UrlEncode(last);
  return q.empty() ? q : "?" + q;
}

}  // namespace

bool IsUpstreamDown(const Error& e) {
  return e.code == ErrorCode::kUnavailable || e.code == ErrorCode::kTooManyRequests;
}

enum class Scheme { kUnknown, kNone, kBasic, kBearer };

struct RegistryClient::TokenCache {
  struct Entry {
    std::string token;
    SystemTime expires;
  };
  std::mutex mu;
  Scheme scheme = Scheme::kUnknown;  // Guarded by mu (and the rest).
  std::string realm;
  std::string service;
  std::map<std::string, Entry, std::less<>> tokens;
  std::atomic<uint64_t> requests{0};
};

RegistryClient::RegistryClient(RegistryOptions options)
    : options_(std::move(options)), http_(options_.http), tokens_(std::make_unique<TokenCache>()) {}
RegistryClient::~RegistryClient() = default;

uint64_t RegistryClient::requests() const { return tokens_->requests.load(); }

Result<std::unique_ptr<RegistryClient>> RegistryClient::Create(RegistryOptions options) {
  BERTH_ASSIGN_OR_RETURN(Url u, Url::Parse(options.url));
  if (u.target != "/") {
    return MakeError(ErrorCode::kInvalidArgument,
                     "registry URL " + options.url + " must not have a path");
  }
  if (!options.clock) options.clock = &SystemClock();
  std::unique_ptr<RegistryClient> c(new RegistryClient(std::move(options)));
  c->base_ = u.scheme + "://" + u.HostHeader();
  return c;
}

Error RegistryClient::ErrorFromResponse(Response& res, ErrorCode not_found) {
  std::string body = res.ReadAll(64 * 1024).value_or("");
  std::string prefix = "upstream " + res.url + " answered " + std::to_string(res.status);
  ErrorCode code = ErrorCode::kUnavailable;
  std::string message;
  auto j = json::parse(body, nullptr, false);
  if (!j.is_discarded() && j.is_object() && j.contains("errors") && j["errors"].is_array() &&
      !j["errors"].empty() && j["errors"][0].is_object()) {
    const json& e = j["errors"][0];
    if (e.contains("code") && e["code"].is_string()) {
      std::string wire = e["code"].get<std::string>();
      message = wire;
      if (auto c = CodeFromWire(wire)) code = *c;
    }
    if (e.contains("message") && e["message"].is_string()) {
      message += ": " + e["message"].get<std::string>();
    }
  }
  if (res.status >= 500) {
    code = ErrorCode::kUnavailable;
  } else if (res.status == 429) {
    code = ErrorCode::kTooManyRequests;
  } else if (message.empty() || code == ErrorCode::kUnavailable || code == ErrorCode::kUnknown) {
    switch (res.status) {
      case 401:
        code = ErrorCode::kUnauthorized;
        break;
      case 403:
        code = ErrorCode::kDenied;
        break;
      case 404:
        code = not_found;
        break;
      default:
        code = ErrorCode::kUnavailable;
    }
  }
  if (message.size() > 512) message.resize(512);
  return Error{code, prefix + (message.empty() ? "" : ": " + message), {}, 0};
}

Status RegistryClient::LearnScheme(Response& res) {
  std::lock_guard lk(tokens_->mu);
  if (res.status != 401) {
    if (tokens_->scheme == Scheme::kUnknown) tokens_->scheme = Scheme::kNone;
    return Ok();
  }
  for (const auto& value : res.headers.GetAll("WWW-Authenticate")) {
    for (const Challenge& ch : ParseChallenges(value)) {
      if (ch.scheme == "bearer") {
        std::string realm = ch.Param("realm");
        auto u = Url::Parse(realm);
        if (!u) {
          return MakeError(ErrorCode::kUnavailable,
                           "upstream " + url() + " names an invalid token realm: " + realm);
        }
        tokens_->scheme = Scheme::kBearer;
        tokens_->realm = realm;
        tokens_->service = ch.Param("service");
        return Ok();
      }
      if (ch.scheme == "basic") {
        tokens_->scheme = Scheme::kBasic;
        return Ok();
      }
    }
  }
  return MakeError(ErrorCode::kUnauthorized,
                   "upstream " + url() + " answered 401 without a challenge Berth understands");
}

Status RegistryClient::Ping() {
  Request req;
  req.url = base_ + "/v2/";
  tokens_->requests.fetch_add(1);
  BERTH_ASSIGN_OR_RETURN(ResponsePtr res, http_.Send(std::move(req)));
  if (res->status != 200 && res->status != 401) {
    return std::unexpected(ErrorFromResponse(*res, ErrorCode::kUnavailable));
  }
  (void)res->ReadAll(64 * 1024);
  return LearnScheme(*res);
}

Result<std::string> RegistryClient::FetchToken(std::string_view scope) {
  std::string realm, service;
  {
    std::lock_guard lk(tokens_->mu);
    realm = tokens_->realm;
    service = tokens_->service;
  }
  std::string target = realm + (realm.find('?') == std::string::npos ? "?" : "&");
  target += "service=" + UrlEncode(service);
  if (!scope.empty()) target += "&scope=" + UrlEncode(scope);
  Request req;
  req.url = target;
  if (!options_.username.empty()) {
    req.headers.Add("Authorization",
                    "Basic " + Base64(options_.username + ":" + options_.password));
  }
  tokens_->requests.fetch_add(1);
  BERTH_ASSIGN_OR_RETURN(ResponsePtr res, http_.Send(std::move(req)));
  if (res->status != 200) {
    Error e = ErrorFromResponse(*res, ErrorCode::kUnauthorized);
    if (res->status == 401 || res->status == 403) e.code = ErrorCode::kUnauthorized;
    e.message = "token request to " + realm + " failed: " + e.message;
    return std::unexpected(e);
  }
  BERTH_ASSIGN_OR_RETURN(std::string body, res->ReadAll(1 << 20));
  auto j = json::parse(body, nullptr, false);
  std::string token;
  if (j.is_object()) {
    for (const char* key : {"token", "access_token"}) {
      if (j.contains(key) && j[key].is_string() && !j[key].get<std::string>().empty()) {
        token = j[key].get<std::string>();
        break;
      }
    }
  }
  if (token.empty()) {
    return MakeError(ErrorCode::kUnavailable, "token service " + realm + " sent no token");
  }
  int64_t expires_in = 60;  // the token spec's default
  if (j.contains("expires_in") && j["expires_in"].is_number_integer()) {
    expires_in = std::max<int64_t>(j["expires_in"].get<int64_t>(), 1);
  }
  // Renew a little early so a token does not expire between the check and the request.
  auto life = std::chrono::seconds(expires_in - std::min<int64_t>(expires_in / 10, 30));
  std::lock_guard lk(tokens_->mu);
  tokens_->tokens[std::string(scope)] = {token, options_.clock->Now() + life};
  return token;
}

Result<std::string> RegistryClient::AuthorizationFor(std::string_view scope, bool refresh) {
  Scheme scheme;
  {
    std::lock_guard lk(tokens_->mu);
    scheme = tokens_->scheme;
  }
  if (scheme == Scheme::kUnknown) {
    BERTH_RETURN_IF_ERROR(Ping());
    std::lock_guard lk(tokens_->mu);
    scheme = tokens_->scheme;
  }
  switch (scheme) {
    case Scheme::kUnknown:
    case Scheme::kNone:
      return std::string();
    case Scheme::kBasic:
      if (options_.username.empty()) return std::string();
      return "Basic " + Base64(options_.username + ":" + options_.password);
    case Scheme::kBearer:
      break;
  }
  if (!refresh) {
    std::lock_guard lk(tokens_->mu);
    auto it = tokens_->tokens.find(scope);
    if (it != tokens_->tokens.end() && options_.clock->Now() < it->second.expires) {
      return "Bearer " + it->second.token;
    }
  }
  BERTH_ASSIGN_OR_RETURN(std::string token, FetchToken(scope));
  return "Bearer " + token;
}

Result<ResponsePtr> RegistryClient::Send(Request req, std::string_view scope) {
  req.url = base_ + req.url;
  const bool replayable = !req.body_source;
  std::optional<Request> again;
  if (replayable) again = req;
  BERTH_ASSIGN_OR_RETURN(std::string auth, AuthorizationFor(scope, false));
  if (!auth.empty()) req.headers.Set("Authorization", auth);
  tokens_->requests.fetch_add(1);
  BERTH_ASSIGN_OR_RETURN(ResponsePtr res, http_.Send(std::move(req)));
  if (res->status != 401 || !again) return res;
  // A new challenge: the token expired early, the scheme changed, or the scope needs more.
  (void)res->ReadAll(64 * 1024);
  BERTH_RETURN_IF_ERROR(LearnScheme(*res));
  BERTH_ASSIGN_OR_RETURN(auth, AuthorizationFor(scope, true));
  if (!auth.empty()) again->headers.Set("Authorization", auth);
  tokens_->requests.fetch_add(1);
  return http_.Send(std::move(*again));
}

namespace {

std::string Scope(std::string_view repo) { return "repository:" + std::string(repo) + ":pull"; }

}  // namespace

Result<RemoteManifest> RegistryClient::HeadManifest(std::string_view repo,
                                                    std::string_view reference) {
  Request req;
  req.method = "HEAD";
  req.url = "/v2/" + std::string(repo) + "/manifests/" + std::string(reference);
  req.headers.Add("Accept", kManifestAccept);
  BERTH_ASSIGN_OR_RETURN(ResponsePtr res, Send(std::move(req), Scope(repo)));
  if (res->status != 200) {
    return std::unexpected(ErrorFromResponse(*res, ErrorCode::kManifestUnknown));
  }
  RemoteManifest m;
  m.media_type = std::string(res->headers.Get("Content-Type"));
  m.size = res->content_length.value_or(0);
  auto header = Digest::Parse(res->headers.Get("Docker-Content-Digest"));
  auto by_digest = Digest::Parse(reference);
  if (by_digest) {
    m.digest = *by_digest;
  } else if (header) {
    m.digest = *header;
  } else {
    // Without the header a HEAD cannot tell the digest: fetch the content instead.
    return GetManifest(repo, reference);
  }
  return m;
}

Result<RemoteManifest> RegistryClient::GetManifest(std::string_view repo,
                                                   std::string_view reference) {
  Request req;
  req.url = "/v2/" + std::string(repo) + "/manifests/" + std::string(reference);
  req.headers.Add("Accept", kManifestAccept);
  BERTH_ASSIGN_OR_RETURN(ResponsePtr res, Send(std::move(req), Scope(repo)));
  if (res->status != 200) {
    return std::unexpected(ErrorFromResponse(*res, ErrorCode::kManifestUnknown));
  }
  if (res->content_length && *res->content_length > options_.max_manifest_bytes) {
    return MakeError(ErrorCode::kManifestInvalid, "upstream manifest " + std::string(repo) + ":" +
                                                      std::string(reference) + " is larger than " +
                                                      std::to_string(options_.max_manifest_bytes) +
                                                      " bytes");
  }
  RemoteManifest m;
  m.media_type = std::string(res->headers.Get("Content-Type"));
  BERTH_ASSIGN_OR_RETURN(m.bytes, res->ReadAll(options_.max_manifest_bytes));
  m.size = m.bytes.size();
  if (auto by_digest = Digest::Parse(reference)) {
    m.digest = Digest::Of(m.bytes, by_digest->algorithm());
    if (m.digest != *by_digest) {
      return MakeError(ErrorCode::kDigestInvalid, "upstream " + url() +
                                                      " sent manifest content with digest " +
                                                      m.digest.str() + " for " + by_digest->str());
    }
  } else {
    m.digest = Digest::Of(m.bytes);
  }
  return m;
}

Result<RemoteBlob> RegistryClient::HeadBlob(std::string_view repo, const Digest& d) {
  Request req;
  req.method = "HEAD";
  req.url = "/v2/" + std::string(repo) + "/blobs/" + d.str();
  BERTH_ASSIGN_OR_RETURN(ResponsePtr res, Send(std::move(req), Scope(repo)));
  if (res->status != 200) return std::unexpected(ErrorFromResponse(*res, ErrorCode::kBlobUnknown));
  if (!res->content_length) {
    return MakeError(ErrorCode::kUnavailable,
                     "upstream " + url() + " sent no Content-Length for blob " + d.str());
  }
  return RemoteBlob{*res->content_length};
}

Result<ResponsePtr> RegistryClient::GetBlob(std::string_view repo, const Digest& d,
                                            uint64_t offset) {
  Request req;
  req.url = "/v2/" + std::string(repo) + "/blobs/" + d.str();
  if (offset > 0) req.headers.Add("Range", "bytes=" + std::to_string(offset) + "-");
  BERTH_ASSIGN_OR_RETURN(ResponsePtr res, Send(std::move(req), Scope(repo)));
  int want = offset > 0 ? 206 : 200;
  if (res->status != want) {
    if (res->status == 200 || res->status == 206) {
      return MakeError(ErrorCode::kUnavailable, "upstream " + url() + " answered " +
                                                    std::to_string(res->status) + " to a range");
    }
    return std::unexpected(ErrorFromResponse(*res, ErrorCode::kBlobUnknown));
  }
  return res;
}

namespace {

// A page of names: the JSON body's string array `key` ("tags", "repositories") and the Link
// header's next page. `what` names the list in errors.
Result<Page> ReadPage(Response& res, std::string_view key, std::string_view what) {
  Page p;
  p.next = NextLink(res.headers.Get("Link"));
  BERTH_ASSIGN_OR_RETURN(std::string body, res.ReadAll(16 << 20));
  auto j = json::parse(body, nullptr, false);
  if (!j.is_object()) {
    return MakeError(ErrorCode::kUnavailable, "upstream " + std::string(what) + " is not JSON");
  }
  auto it = j.find(key);
  if (it != j.end() && it->is_array()) {
    for (const auto& t : *it) {
      if (t.is_string()) p.names.push_back(t.get<std::string>());
    }
  }
  return p;
}

}  // namespace

Result<Page> RegistryClient::ListTags(std::string_view repo, size_t n, std::string_view last) {
  Request req;
  req.url = "/v2/" + std::string(repo) + "/tags/list" + PageQuery(n, last);
  BERTH_ASSIGN_OR_RETURN(ResponsePtr res, Send(std::move(req), Scope(repo)));
  if (res->status != 200) return std::unexpected(ErrorFromResponse(*res, ErrorCode::kNameUnknown));
  return ReadPage(*res, "tags", "tag list");
}

Result<Page> RegistryClient::Catalog(size_t n, std::string_view last) {
  Request req;
  req.url = "/v2/_catalog" + PageQuery(n, last);
  BERTH_ASSIGN_OR_RETURN(ResponsePtr res, Send(std::move(req), "registry:catalog:*"));
  if (res->status != 200) return std::unexpected(ErrorFromResponse(*res, ErrorCode::kNameUnknown));
  return ReadPage(*res, "repositories", "catalog");
}

}  // namespace berth::client
