// Dispatch for the admin API: match a row, authenticate, read the (capped) JSON body, call the
// handler, write the reply or the one error envelope.
#include "admin/api.h"

#include <optional>

#include "admin/internal.h"
#include "api/errors.h"
#include "common/strings.h"

namespace berth::admin {
namespace {

using internal::Reply;
using internal::Row;

constexpr std::string_view kBase = "api/v1";

// Matches decoded segments against a row's pattern; fills `args`.
bool Match(std::string_view pattern, const std::vector<std::string_view>& segs,
           std::vector<std::string>& args) {
  std::vector<std::string_view> pat = Split(pattern, '/');
  // {repo} takes what the other segments leave (at least one).
  if (segs.size() < pat.size()) return false;
  size_t extra = segs.size() - pat.size();
  bool greedy = false;
  for (auto p : pat) greedy |= p == "{repo}";
  if (extra && !greedy) return false;
  args.clear();
  size_t i = 0;
  for (auto p : pat) {
    if (p.size() > 2 && p.front() == '{' && p.back() == '}') {
      size_t take = p == "{repo}" ? 1 + extra : 1;
      std::string arg;
      for (size_t k = 0; k < take; ++k) {
        if (segs[i + k].empty()) return false;
        arg += (k ? "/" : "") + std::string(segs[i + k]);
      }
      args.push_back(std::move(arg));
      i += take;
    } else if (segs[i++] != p) {
      return false;
    }
  }
  return true;
}

// The store's and the operations' errors as the API answers them.
Error ToWire(Error e) {
  switch (e.code) {
    case ErrorCode::kInvalidArgument:
      return Error{ErrorCode::kUnsupported, std::move(e.message), std::move(e.detail), 400};
    case ErrorCode::kNotFound:
      return Error{ErrorCode::kNameUnknown, std::move(e.message), std::move(e.detail), 0};
    case ErrorCode::kAlreadyExists:
      return Error{ErrorCode::kUnsupported, std::move(e.message), std::move(e.detail), 409};
    default:
      return e;
  }
}

http::Response Json(int status, const nlohmann::json& body) {
  http::Response res;
  res.status = status;
  if (body.is_null()) {
    res.content_length = 0;
    return res;
  }
  res.headers.Add("Content-Type", "application/json");
  res.body = body.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
  return res;
}

}  // namespace

struct AdminApi::Impl {
  meta::TenancyPtr tenancy;
  AdminOptions opt;
  Operations ops;
  std::string realm_challenge = "Basic realm=\"berth admin\"";

  Impl(meta::TenancyPtr t, AdminOptions o)
      : tenancy(std::move(t)),
        opt(std::move(o)),
        ops(tenancy->store(), [t = tenancy.get()] { return t->Current(); }) {}

  http::Response Fail(const Error& raw) const {
    Error e = ToWire(raw);
    http::Response res = api::ErrorResponse(e, false);
    if (e.code == ErrorCode::kUnauthorized) res.headers.Add("WWW-Authenticate", realm_challenge);
    return res;
  }

  http::Response Run(const Row& row, internal::Call& call, const std::string* body) {
    if (row.reads_body) {
      call.body = nlohmann::json::parse(body ? *body : std::string(), nullptr, false);
      if (call.body.is_discarded() || !call.body.is_object()) {
        return Fail(
            Error{ErrorCode::kUnsupported, "the request body must be a JSON object", {}, 400});
      }
    }
    Result<Reply> r = row.handler(call);
    if (!r) return Fail(r.error());
    return Json(r->status, r->body);
  }

  http::Dispatch Handle(http::Request& req) {
    req.route = "admin";
    auto respond = [](http::Response r) { return http::Dispatch::Respond(std::move(r)); };
    std::string_view rest = std::string_view(req.path).substr(opt.prefix.size() + kBase.size());
    if (rest.starts_with('/')) rest.remove_prefix(1);
    auto decoded = UrlDecode(rest, /*plus_is_space=*/false);
    if (!decoded) {
      return respond(
          Fail(Error{ErrorCode::kUnsupported, "bad percent-escape in the path", {}, 400}));
    }
    while (!decoded->empty() && decoded->back() == '/') decoded->pop_back();
    std::vector<std::string_view> segs = Split(*decoded, '/');
    const Row* row = nullptr;
    std::vector<std::string> args;
    std::string allowed;
    for (const Row& r : internal::Rows()) {
      std::vector<std::string> a;
      if (!Match(r.pattern, segs, a)) continue;
      if (allowed.find(r.method) == std::string::npos) {
        allowed += (allowed.empty() ? "" : ", ") + std::string(r.method);
      }
      if (row == nullptr && r.method == req.method) {
        row = &r;
        args = std::move(a);
      }
    }
    if (allowed.empty()) {
      return respond(Fail(Error{
          ErrorCode::kNameUnknown, "no such admin endpoint: " + req.path.substr(0, 200), {}, 404}));
    }
    if (row == nullptr) {
      http::Response res = Fail(Error{ErrorCode::kUnsupported,
                                      "method " + req.method.substr(0, 20) + " is not allowed here",
                                      {},
                                      405});
      res.headers.Add("Allow", allowed);
      return respond(std::move(res));
    }
    auto query = api::Query::Parse(req.query);
    if (!query) return respond(Fail(query.error()));
    auto login = tenancy->Identify(req.headers.Get("Authorization"), req.remote_addr);
    if (!login) return respond(Fail(login.error()));
    Caller caller;
    caller.name = login->principal.subject;
    caller.kind = caller.name.empty() ? Caller::Kind::kAnonymous
                  : login->by_token   ? Caller::Kind::kToken
                                      : Caller::Kind::kUser;
    auto call = std::make_shared<internal::Call>(
        internal::Call{ops, std::move(caller), std::move(args), std::move(*query), nullptr});
    if (!row->reads_body) return respond(Run(*row, *call, nullptr));
    if (req.content_length && *req.content_length > opt.max_body_bytes) {
      return respond(Fail(TooLarge()));
    }
    return http::Dispatch::BufferBody(
        opt.max_body_bytes,
        [this, row, call](http::Request& r) { return Run(*row, *call, &r.body); },
        Fail(TooLarge()));
  }

  Error TooLarge() const {
    return Error{ErrorCode::kSizeInvalid,
                 "the request body is larger than " + std::to_string(opt.max_body_bytes) + " bytes",
                 {},
                 413};
  }
};

AdminApi::AdminApi(meta::TenancyPtr tenancy, AdminOptions options)
    : impl_(std::make_unique<Impl>(std::move(tenancy), std::move(options))) {
  std::string& p = impl_->opt.prefix;
  if (p.empty() || p.front() != '/') p.insert(0, "/");
  if (p.back() != '/') p += '/';
}
AdminApi::~AdminApi() = default;

bool AdminApi::Serves(std::string_view path) const {
  const std::string& prefix = impl_->opt.prefix;
  if (!path.starts_with(prefix)) return false;
  std::string_view rest = path.substr(prefix.size());
  return rest.starts_with(kBase) && (rest.size() == kBase.size() || rest[kBase.size()] == '/');
}

http::Dispatch AdminApi::Handle(http::Request& req) { return impl_->Handle(req); }

std::vector<std::string> AdminApi::Endpoints() {
  std::vector<std::string> out;
  for (const Row& r : internal::Rows()) {
    out.push_back(std::string(r.method) + " /" + std::string(kBase) + "/" + std::string(r.pattern));
  }
  return out;
}

http::Handler WithAdminApi(meta::TenancyPtr tenancy, AdminOptions options, http::Handler next) {
  if (!tenancy) return next;
  auto admin = std::make_shared<AdminApi>(std::move(tenancy), std::move(options));
  return [admin, next = std::move(next)](http::Request& req) {
    return admin->Serves(req.path) ? admin->Handle(req) : next(req);
  };
}

}  // namespace berth::admin
