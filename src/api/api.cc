// Dispatch, shared helpers, and the small endpoints: base, manifests, tags, catalog, referrers.
#include "api/api.h"

#include <nlohmann/json.hpp>

#include "api/internal.h"
#include "common/log.h"
#include "common/strings.h"

namespace berth::api {
namespace internal {

using http::Dispatch;
using http::Response;
using nlohmann::json;

Query::Query(std::string_view raw) {
  if (raw.empty()) return;
  for (auto part : Split(raw, '&')) {
    if (part.empty()) continue;
    auto eq = part.find('=');
    auto key = UrlDecode(part.substr(0, eq));
    auto value = eq == std::string_view::npos ? std::optional<std::string>("")
                                              : UrlDecode(part.substr(eq + 1));
    if (key && value) items_.emplace_back(std::move(*key), std::move(*value));
  }
}

std::optional<std::string> Query::Get(std::string_view key) const {
  for (const auto& [k, v] : items_) {
    if (k == key) return v;
  }
  return std::nullopt;
}

std::vector<std::string> Query::GetAll(std::string_view key) const {
  std::vector<std::string> out;
  for (const auto& [k, v] : items_) {
    if (k == key) out.push_back(v);
  }
  return out;
}

Response Fail(const Ctx& c, const Error& e) { return ErrorResponse(e, c.head()); }

Error MethodNotAllowed(const std::string& method) {
  return Error{ErrorCode::kUnsupported, "method " + method + " is not allowed here", {}, 405};
}
Error ReadOnly() { return Error{ErrorCode::kUnsupported, "the registry is in read-only mode", {}, 0}; }
Error DeleteDisabled() {
  return Error{ErrorCode::kUnsupported, "deletion is disabled on this registry", {}, 0};
}

Response Empty(int status) {
  Response r;
  r.status = status;
  r.content_length = 0;
  return r;
}

std::string Path(const Ctx& c, std::string_view path) {
  std::string out = c.opt.prefix;
  out += path;
  return out;
}

std::string Url(const Ctx& c, std::string_view path) {
  std::string p = Path(c, path);
  if (c.opt.relative_urls) return p;
  if (!c.opt.host.empty()) {
    std::string base = c.opt.host;
    while (!base.empty() && base.back() == '/') base.pop_back();
    return base + p;
  }
  std::string_view host = c.req.headers.Get("X-Forwarded-Host");
  if (host.empty()) host = c.req.headers.Get("Host");
  if (host.empty()) return p;
  if (auto comma = host.find(','); comma != std::string_view::npos) host = Trim(host.substr(0, comma));
  std::string_view proto = c.req.headers.Get("X-Forwarded-Proto");
  if (proto.empty()) proto = c.req.tls ? "https" : "http";
  return std::string(proto) + "://" + std::string(host) + p;
}

bool NotModified(const Ctx& c, const Digest& d) {
  std::string_view inm = c.req.headers.Get("If-None-Match");
  if (inm.empty()) return false;
  const std::string digest = d.str();
  for (auto tag : Split(inm, ',')) {
    tag = Trim(tag);
    if (tag.starts_with("W/")) tag.remove_prefix(2);
    if (tag.size() >= 2 && tag.front() == '"' && tag.back() == '"') tag = tag.substr(1, tag.size() - 2);
    if (tag == "*" || tag == digest) return true;
  }
  return false;
}

http::Response NotModifiedResponse(const Digest& d) {
  http::Response res;
  res.status = 304;
  res.headers.Add("ETag", "\"" + d.str() + "\"");
  res.headers.Add("Docker-Content-Digest", d.str());
  return res;
}

std::string UploadRange(uint64_t size) {
  return "0-" + std::to_string(size == 0 ? 0 : size - 1);
}

namespace {

Response JsonResponse(const Ctx& c, const json& body, std::string_view content_type = "application/json") {
  Response res;
  res.headers.Add("Content-Type", std::string(content_type));
  std::string text = body.dump();
  if (c.head()) {
    res.content_length = text.size();
  } else {
    res.body = std::move(text);
  }
  return res;
}

// Parses `n` (absent -> `fallback`) for the paginated lists.
Result<size_t> PageSize(const Query& q, size_t fallback, size_t max) {
  auto n = q.Get("n");
  if (!n) return fallback;
  auto v = ParseUint64(*n);
  if (!v) {
    return MakeError(ErrorCode::kPaginationNumberInvalid,
                     "n=" + n->substr(0, 40) + " is not a non-negative integer");
  }
  return static_cast<size_t>(std::min<uint64_t>(*v, max));
}

void AddNextLink(Response& res, const Ctx& c, std::string_view path, const std::string& last, size_t n) {
  res.headers.Add("Link", "<" + Path(c, path) + "?last=" + UrlEncode(last) +
                              "&n=" + std::to_string(n) + ">; rel=\"next\"");
}

Dispatch HandleBase(Ctx& c) {
  if (c.req.method != "GET" && c.req.method != "HEAD") {
    return FailNow(c, MethodNotAllowed(c.req.method));
  }
  return Dispatch::Respond(JsonResponse(c, json::object()));
}

Dispatch HandleTags(Ctx& c) {
  if (c.req.method != "GET" && c.req.method != "HEAD") return FailNow(c, MethodNotAllowed(c.req.method));
  Query q(c.req.query);
  auto tags = c.reg.Tags().List(c.route.name);
  if (!tags) return FailNow(c, tags.error());
  auto n = PageSize(q, SIZE_MAX, SIZE_MAX);
  if (!n) return FailNow(c, n.error());
  std::string last = q.Get("last").value_or("");
  auto it = last.empty() ? tags->begin() : std::upper_bound(tags->begin(), tags->end(), last);
  json list = json::array();
  size_t taken = 0;
  for (; it != tags->end() && taken < *n; ++it, ++taken) list.push_back(*it);
  Response res = JsonResponse(c, json{{"name", c.route.name}, {"tags", std::move(list)}});
  if (it != tags->end() && taken > 0) {
    AddNextLink(res, c, "v2/" + c.route.name + "/tags/list", *(it - 1), *n);
  }
  return Dispatch::Respond(std::move(res));
}

Dispatch HandleCatalog(Ctx& c) {
  if (c.req.method != "GET" && c.req.method != "HEAD") return FailNow(c, MethodNotAllowed(c.req.method));
  Query q(c.req.query);
  auto n = PageSize(q, c.opt.catalog_max_entries, c.opt.catalog_max_entries);
  if (!n) return FailNow(c, n.error());
  std::string last = q.Get("last").value_or("");
  bool more = false;
  auto repos = c.reg.Catalog(last, *n, &more);
  if (!repos) return FailNow(c, repos.error());
  Response res = JsonResponse(c, json{{"repositories", *repos}});
  if (more && !repos->empty()) AddNextLink(res, c, "v2/_catalog", repos->back(), *n);
  return Dispatch::Respond(std::move(res));
}

Dispatch HandleReferrers(Ctx& c) {
  if (c.req.method != "GET" && c.req.method != "HEAD") return FailNow(c, MethodNotAllowed(c.req.method));
  auto subject = Digest::Parse(c.route.arg);
  if (!subject) return FailNow(c, subject.error());
  auto refs = c.reg.Referrers().List(c.route.name, *subject);
  if (!refs) return FailNow(c, refs.error());
  Query q(c.req.query);
  auto filter = q.Get("artifactType");
  json manifests = json::array();
  for (const auto& r : *refs) {
    const auto& d = r.descriptor;
    if (filter && d.artifact_type != *filter) continue;
    json item{{"mediaType", d.media_type}, {"digest", d.digest.str()}, {"size", d.size}};
    if (!d.artifact_type.empty()) item["artifactType"] = d.artifact_type;
    if (!d.annotations_json.empty()) item["annotations"] = json::parse(d.annotations_json, nullptr, false);
    manifests.push_back(std::move(item));
  }
  json index{{"schemaVersion", 2},
             {"mediaType", std::string(storage::kOciIndex)},
             {"manifests", std::move(manifests)}};
  Response res = JsonResponse(c, index, storage::kOciIndex);
  if (filter) res.headers.Add("OCI-Filters-Applied", "artifactType");
  return Dispatch::Respond(std::move(res));
}

// Docker Hub's v1 search API over the catalog, so `docker search HOST/term` and `podman search` work:
// a case-insensitive substring match on repository names, paged by `n` (default 25, max 100) and
// `page` (from 1).
Dispatch HandleSearch(Ctx& c) {
  if (c.req.method != "GET" && c.req.method != "HEAD") return FailNow(c, MethodNotAllowed(c.req.method));
  Query q(c.req.query);
  std::string term = ToLower(q.Get("q").value_or(""));
  auto n = PageSize(q, 25, 100);
  if (!n) return FailNow(c, n.error());
  size_t page_size = *n == 0 ? 25 : *n;
  size_t page = 1;
  if (auto p = q.Get("page")) {
    auto v = ParseUint64(*p);
    if (!v || *v == 0) {
      return FailNow(c, Error{ErrorCode::kPaginationNumberInvalid,
                              "page=" + p->substr(0, 40) + " is not a positive integer", {}, 0});
    }
    page = static_cast<size_t>(std::min<uint64_t>(*v, 1u << 30));
  }
  bool more = false;
  auto repos = c.reg.Catalog("", SIZE_MAX, &more);
  if (!repos) return FailNow(c, repos.error());
  std::vector<std::string> hits;
  for (auto& r : *repos) {
    if (!term.empty() && r.find(term) == std::string::npos) continue;
    // With auth on, list only what this caller could pull (a token lists only its own scopes).
    if (c.opt.authorizer &&
        !c.opt.authorizer
             ->Authorize(c.req.headers.Get("Authorization"), c.req.remote_addr,
                         {auth::Access{"repository", r, "pull"}})
             .allowed) {
      continue;
    }
    hits.push_back(std::move(r));
  }
  json results = json::array();
  size_t start = (page - 1) * page_size;
  for (size_t i = start; i < hits.size() && i < start + page_size; ++i) {
    results.push_back({{"name", hits[i]},
                       {"description", ""},
                       {"star_count", 0},
                       {"is_official", false},
                       {"is_automated", false},
                       {"is_trusted", false}});
  }
  json body{{"num_results", hits.size()},
            {"num_pages", (hits.size() + page_size - 1) / page_size},
            {"page", page},
            {"page_size", page_size},
            {"query", q.Get("q").value_or("")},
            {"results", std::move(results)}};
  return Dispatch::Respond(JsonResponse(c, body));
}

// The token service's answer: the token JSON, or the error in the OCI envelope.
Response TokenReply(const Ctx& c, const Result<auth::IssuedToken>& issued) {
  if (!issued) {
    Response res = Fail(c, issued.error());
    if (issued.error().code == ErrorCode::kUnauthorized) {
      res.headers.Add("WWW-Authenticate", "Basic realm=\"berth token service\"");
    }
    return res;
  }
  Response res;
  res.headers.Add("Content-Type", "application/json");
  res.headers.Add("Cache-Control", "no-store");
  res.body = auth::TokenService::ResponseJson(*issued);
  res.log_note = issued->subject.empty() ? "anonymous token" : "token for " + issued->subject;
  return res;
}

// Docker's token endpoint: GET with Basic credentials (or none, for anonymous pulls of public
// repositories), and the OAuth2 password-grant POST form that podman and docker use.
Dispatch HandleToken(Ctx& c) {
  if (!c.opt.token_service) {
    return FailNow(c, Error{ErrorCode::kUnsupported, "no token service is configured", {}, 404});
  }
  if (c.req.method == "GET") {
    Query q(c.req.query);
    return Dispatch::Respond(TokenReply(
        c, c.opt.token_service->Issue(c.req.headers.Get("Authorization"),
                                      q.Get("service").value_or(""), q.GetAll("scope"),
                                      c.req.remote_addr)));
  }
  if (c.req.method == "POST") {
    const ApiOptions* opt = &c.opt;
    storage::Namespace* reg = &c.reg;
    return Dispatch::BufferBody(
        64 * 1024,
        [opt, reg](http::Request& req) {
          Route route{RouteKind::kToken, "", ""};
          Ctx c{req, route, *reg, *opt};
          return TokenReply(c, opt->token_service->IssueOAuth(req.body, req.remote_addr));
        },
        Fail(c, Error{ErrorCode::kSizeInvalid, "token request too large", {}, 413}));
  }
  return FailNow(c, MethodNotAllowed(c.req.method));
}

Dispatch HandleManifest(Ctx& c) {
  auto ref = ParseReference(c.route.arg);
  if (!ref) return FailNow(c, ref.error());
  const std::string& m = c.req.method;
  if (m == "GET" || m == "HEAD") {
    auto stored = c.reg.Manifests().Get(c.route.name, *ref);
    if (!stored) {
      if (stored.error().code == ErrorCode::kManifestUnknown) {
        auto exists = c.reg.RepositoryExists(c.route.name);
        if (exists && !*exists) {
          return FailNow(c, Error{ErrorCode::kNameUnknown,
                                  "repository \"" + c.route.name + "\" is not known", {}, 0});
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
    if (c.head()) {
      res.content_length = stored->bytes.size();
    } else {
      res.body = std::move(stored->bytes);
    }
    return Dispatch::Respond(std::move(res));
  }
  if (m == "PUT") {
    if (c.opt.readonly) {
      return FailNow(c, ReadOnly());
    }
    Error too_big{ErrorCode::kSizeInvalid,
                  "manifest is larger than the " + std::to_string(storage::kMaxManifestBytes) +
                      "-byte limit",
                  {}, 413};
    std::string name = c.route.name;
    Reference reference = *ref;
    storage::Namespace* reg = &c.reg;
    const ApiOptions* opt = &c.opt;
    return Dispatch::BufferBody(
        storage::kMaxManifestBytes,
        [name, reference, reg, opt](http::Request& req) -> Response {
          Route route{RouteKind::kManifest, name, reference.str()};
          Ctx c{req, route, *reg, *opt};
          auto put = reg->Manifests().Put(name, reference, req.headers.Get("Content-Type"),
                                      std::move(req.body));
          if (!put) return Fail(c, put.error());
          Response res = Empty(201);
          res.headers.Add("Location", Url(c, "v2/" + name + "/manifests/" + put->digest.str()));
          res.headers.Add("Docker-Content-Digest", put->digest.str());
          if (put->subject) res.headers.Add("OCI-Subject", put->subject->str());
          res.log_note = put->digest.str();
          return res;
        },
        Fail(c, too_big));
  }
  if (m == "DELETE") {
    if (!c.opt.delete_enabled) {
      return FailNow(c, DeleteDisabled());
    }
    if (c.opt.readonly) {
      return FailNow(c, ReadOnly());
    }
    auto st = ref->is_digest() ? c.reg.Manifests().Delete(c.route.name, ref->digest)
                               : c.reg.Tags().Untag(c.route.name, ref->tag);
    if (!st) return FailNow(c, st.error());
    return Dispatch::Respond(Empty(202));
  }
  return FailNow(c, MethodNotAllowed(m));
}

// Asks the authorizer for what this request needs; on refusal fills `d` with 401/403/429.
bool Authorized(Ctx& c, http::Dispatch* d) {
  // The token endpoint checks credentials itself; asking it for a token first would be circular.
  if (!c.opt.authorizer || c.route.kind == RouteKind::kToken) return true;
  auto needed = NeededAccess(c.route, c.req.method, c.req.query);
  auth::Decision decision =
      c.opt.authorizer->Authorize(c.req.headers.Get("Authorization"), c.req.remote_addr, needed);
  if (decision.allowed) {
    c.subject = decision.subject;
    return true;
  }
  ErrorCode code = decision.status == 403   ? ErrorCode::kDenied
                   : decision.status == 429 ? ErrorCode::kTooManyRequests
                                            : ErrorCode::kUnauthorized;
  nlohmann::json detail = nlohmann::json::array();
  for (const auto& a : needed) {
    detail.push_back({{"Type", a.type}, {"Name", a.name}, {"Action", a.action}});
  }
  Response res = Fail(c, Error{code, decision.message, needed.empty() ? "" : detail.dump(), 0});
  if (!decision.challenge.empty()) {
    std::string challenge = decision.challenge;
    // A relative realm ("/auth/token") names this server's own token service: make it absolute
    // for the client, from the address the client used.
    if (auto pos = challenge.find("realm=\"/"); pos != std::string::npos) {
      std::string base = Url(c, "");
      base.resize(base.size() - c.opt.prefix.size());  // scheme://host only
      challenge.insert(pos + 7, base);
    }
    res.headers.Add("WWW-Authenticate", challenge);
  }
  *d = Dispatch::Respond(std::move(res));
  return false;
}

// Adds the headers every response carries.
void Decorate(Response& res, const ApiOptions& opt) {
  res.headers.Set("Docker-Distribution-API-Version", "registry/2.0");
  for (const auto& [name, values] : opt.headers) {
    for (const auto& v : values) res.headers.Add(name, v);
  }
}

class DecoratingSink : public http::BodySink {
 public:
  DecoratingSink(std::unique_ptr<http::BodySink> inner, const ApiOptions& opt)
      : inner_(std::move(inner)), opt_(opt) {}
  Status Write(const char* data, size_t n) override { return inner_->Write(data, n); }
  Response Finish(const Status& body) override {
    Response res = inner_->Finish(body);
    Decorate(res, opt_);
    return res;
  }

 private:
  std::unique_ptr<http::BodySink> inner_;
  const ApiOptions& opt_;
};

}  // namespace
}  // namespace internal

Api::Api(std::shared_ptr<storage::Namespace> registry, ApiOptions options)
    : registry_(std::move(registry)), options_(std::move(options)) {
  if (options_.prefix.empty() || options_.prefix.front() != '/') options_.prefix.insert(0, "/");
  if (options_.prefix.back() != '/') options_.prefix += '/';
}
Api::~Api() = default;

http::Dispatch Api::Handle(http::Request& req) {
  using namespace internal;
  Route route;
  http::Dispatch d;
  auto matched = MatchRoute(req.path, options_.prefix);
  Ctx c{req, route, *registry_, options_};
  if (!matched) {
    d = FailNow(c, matched.error());
  } else if (route = std::move(*matched); !Authorized(c, &d)) {
    // d holds the refusal
  } else {
    switch (route.kind) {
      case RouteKind::kBase: d = HandleBase(c); break;
      case RouteKind::kCatalog: d = HandleCatalog(c); break;
      case RouteKind::kTags: d = HandleTags(c); break;
      case RouteKind::kManifest: d = HandleManifest(c); break;
      case RouteKind::kBlob: d = HandleBlob(c); break;
      case RouteKind::kUploadStart: d = HandleUploadStart(c); break;
      case RouteKind::kUpload: d = HandleUpload(c); break;
      case RouteKind::kReferrers: d = HandleReferrers(c); break;
      case RouteKind::kSearch: d = HandleSearch(c); break;
      case RouteKind::kToken: d = HandleToken(c); break;
      case RouteKind::kPing: d = Dispatch::Respond(JsonResponse(c, json{{"standalone", true}})); break;
      case RouteKind::kNotFound:
        d = FailNow(c, Error{ErrorCode::kUnsupported, "no such endpoint: " + req.path.substr(0, 200),
                             {}, 404});
        break;
    }
  }
  if (d.response) Decorate(*d.response, options_);
  if (d.sink) d.sink = std::make_unique<DecoratingSink>(std::move(d.sink), options_);
  if (d.on_body) {
    d.on_body = [inner = std::move(d.on_body), this](http::Request& r) {
      http::Response res = inner(r);
      Decorate(res, options_);
      return res;
    };
  }
  return d;
}

}  // namespace berth::api
