// Dispatch: match the route (routes.cc), parse the query once, authorize what the route needs,
// refuse writes in read-only mode, answer CORS preflights, run the handler, add the common headers.
#include "api/api.h"

#include <regex>

#include "api/internal.h"
#include "common/strings.h"

namespace berth::api {
namespace {

using http::Dispatch;
using http::Response;
using internal::Ctx;
using internal::Fail;
using internal::FailNow;

// Asks the authorizer for what this request needs; on refusal fills `d` with 401/403/429.
bool Authorized(Ctx& c, const NeededAccess& needed, Dispatch* d) {
  if (!c.opt.authorizer) {
    c.granted = needed.optional;  // no authentication: everything is granted
    return true;
  }
  if (!needed.authenticate) return true;
  std::string_view authorization = c.req.headers.Get("Authorization");
  auth::Decision decision =
      c.opt.authorizer->Authorize(authorization, c.req.remote_addr, needed.required);
  if (decision.allowed) {
    c.subject = decision.subject;
    for (const auth::Access& a : needed.optional) {
      if (c.opt.authorizer->Authorize(authorization, c.req.remote_addr, {a}).allowed) {
        c.granted.push_back(a);
      }
    }
    return true;
  }
  ErrorCode code = decision.status == 403   ? ErrorCode::kDenied
                   : decision.status == 429 ? ErrorCode::kTooManyRequests
                                            : ErrorCode::kUnauthorized;
  if (c.opt.on_auth_failure) {
    c.opt.on_auth_failure(code == ErrorCode::kDenied            ? "denied"
                          : code == ErrorCode::kTooManyRequests ? "throttled"
                          : authorization.empty()               ? "missing_credentials"
                                                                : "invalid_credentials");
  }
  nlohmann::json detail = nlohmann::json::array();
  for (const auto& a : needed.required) {
    detail.push_back({{"Type", a.type}, {"Name", a.name}, {"Action", a.action}});
  }
  Response res =
      Fail(c, Error{code, decision.message, needed.required.empty() ? "" : detail.dump(), 0});
  if (!decision.challenge.empty()) {
    std::string challenge = decision.challenge;
    // A relative realm ("/auth/token") names this server's own token service: make it absolute
    // for the client, from the (validated) address the client used.
    if (auto pos = challenge.find("realm=\"/"); pos != std::string::npos) {
      std::string base = c.opt.host.empty() ? internal::ClientBase(c) : c.opt.host;
      while (!base.empty() && base.back() == '/') base.pop_back();
      challenge.insert(pos + 7, QuoteEscape(base));
    }
    res.headers.Add("WWW-Authenticate", challenge);
  }
  // A 401 to a request without credentials is the authentication handshake, not a denial.
  c.subject = decision.subject;
  if (!authorization.empty() || res.status != 401) {
    internal::EmitAuth(c, EventAction::kDenied, c.route.name, res.status, decision.message);
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

std::string JoinMethods(const std::vector<std::string_view>& methods) {
  std::string out;
  for (auto m : methods) {
    if (out.find(m) != std::string::npos) continue;
    if (!out.empty()) out += ", ";
    out += m;
  }
  return out;
}

// A CORS preflight: browsers send it without credentials, so it is answered before authorization;
// the configured http.headers (Access-Control-Allow-*) are what the browser reads.
Response Preflight(const std::vector<std::string_view>& allowed) {
  Response res = internal::Empty(200);
  res.headers.Add("Allow", JoinMethods(allowed) + ", OPTIONS");
  return res;
}

Dispatch RouteRequest(http::Request& req, storage::Namespace& registry, const ApiOptions& opt) {
  Ctx c(req, {}, {}, registry, opt);
  auto matched = MatchRoute(req.method, req.path, opt.prefix);
  if (!matched) return FailNow(c, matched.error());
  c.route = matched->route;
  req.route = RouteLabel(c.route.kind);
  if (c.route.kind == RouteKind::kBase && opt.unhealthy) {
    if (std::string failing = opt.unhealthy(); !failing.empty()) {
      return FailNow(c, Error{ErrorCode::kUnavailable, "service unavailable", failing, 0});
    }
  }
  auto query = Query::Parse(req.query);
  if (!query) return FailNow(c, query.error());
  c.query = std::move(*query);
  if (req.method == "OPTIONS" && c.route.kind != RouteKind::kNotFound) {
    return Dispatch::Respond(Preflight(matched->allowed));
  }
  const RouteSpec* spec = matched->spec;
  NeededAccess needed = spec ? spec->access(c.route, c.query) : NeededAccess{};
  Dispatch d;
  if (!Authorized(c, needed, &d)) return d;
  if (c.route.kind == RouteKind::kNotFound) {
    return FailNow(
        c, Error{ErrorCode::kUnsupported, "no such endpoint: " + req.path.substr(0, 200), {}, 404});
  }
  if (spec == nullptr) {
    Response res = Fail(c, internal::MethodNotAllowed(req.method));
    res.headers.Add("Allow", JoinMethods(matched->allowed));
    return Dispatch::Respond(std::move(res));
  }
  if (spec->writes && opt.readonly) return FailNow(c, internal::ReadOnly());
  if (opt.pull_limiter && c.route.kind == RouteKind::kManifest && req.method == "GET") {
    return internal::LimitPulls(c, *opt.pull_limiter, spec->handler);
  }
  return spec->handler(c);
}

}  // namespace

Api::Api(std::shared_ptr<storage::Namespace> registry, ApiOptions options)
    : registry_(std::move(registry)), options_(std::move(options)) {
  if (options_.prefix.empty() || options_.prefix.front() != '/') options_.prefix.insert(0, "/");
  if (options_.prefix.back() != '/') options_.prefix += '/';
}
Api::~Api() = default;

Status Api::ValidateOptions(const ApiOptions& options) {
  auto check = [](const std::vector<std::string>& patterns, const char* key) -> Status {
    for (size_t i = 0; i < patterns.size(); ++i) {
      try {
        std::regex re(patterns[i], std::regex::ECMAScript);
      } catch (const std::regex_error& e) {
        return MakeError(ErrorCode::kInvalidArgument,
                         std::string(key) + "[" + std::to_string(i) +
                             "]: not a regular expression: " + e.what());
      }
    }
    return Ok();
  };
  BERTH_RETURN_IF_ERROR(check(options.manifest_urls_allow, "validation.manifests.urls.allow"));
  return check(options.manifest_urls_deny, "validation.manifests.urls.deny");
}

http::Dispatch Api::Handle(http::Request& req) {
  req.route = RouteLabel(RouteKind::kNotFound);  // until a route matches
  http::Dispatch d = RouteRequest(req, *registry_, options_);
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
