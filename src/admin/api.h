#pragma once
// The JSON admin API under <prefix>api/v1/ (documented in docs/openapi.yaml): users,
// organisations, teams and members, grants, robots, personal access tokens, quotas with usage,
// repository visibility, the audit trail and GET /me. Served when a metadata store is configured
// (berth.meta); the app sends every request under the prefix here instead of to the registry API.
//
// Routes as data: one row per endpoint in admin/routes.cc (method, pattern, handler, whether a
// JSON body is read); handlers one file per group (users.cc, orgs.cc, tokens.cc, settings.cc);
// every operation is a call into admin::Operations (ops.h), which the CLI calls too and which
// decides who may do what.
//
// Authentication: the same credentials as /v2/ (Tenancy::Identify): Basic with a password or a
// robot/personal token, Bearer JWTs when `auth: token`. Anonymous callers reach only GET /me.
// Errors: the OCI envelope {"errors":[{"code","message","detail"}]} from api/errors.h:
// UNAUTHORIZED 401 (with a Basic challenge), DENIED 403, NAME_UNKNOWN 404 (no such user, team,
// ...), UNSUPPORTED 400 (bad JSON, bad argument), 405 (method), 409 (name taken), SIZE_INVALID
// 413 (body over the cap), TOOMANYREQUESTS 429 (failed logins throttled).
//
// Thread-safety: thread-safe; handlers block on the store (they run on the server's blocking
// pool, never on an event loop).

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "http/message.h"
#include "meta/tenancy.h"

namespace berth::admin {

struct AdminOptions {
  std::string prefix = "/";          // http.prefix; the API lives under <prefix>api/v1/
  size_t max_body_bytes = 64 << 10;  // request bodies are small JSON objects
};

class AdminApi {
 public:
  AdminApi(meta::TenancyPtr tenancy, AdminOptions options);
  ~AdminApi();
  // Whether `path` (raw) is the admin API's: <prefix>api/v1 or below it.
  bool Serves(std::string_view path) const;
  http::Dispatch Handle(http::Request& req);

  // Every endpoint as "METHOD /api/v1/pattern" with {arg} placeholders, as in docs/openapi.yaml.
  static std::vector<std::string> Endpoints();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// With a store configured: returns a handler that sends the admin API's paths to it and every
// other request to `next`. Without one (`tenancy` null): `next` itself.
http::Handler WithAdminApi(meta::TenancyPtr tenancy, AdminOptions options, http::Handler next);

}  // namespace berth::admin
