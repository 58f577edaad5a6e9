#pragma once
// Berth's built-in token server (Docker's token-auth spec): `GET /token?service=..&scope=..` with
// Basic credentials or none, and the OAuth2 form POST docker/podman also use. It answers with a JWT
// the registry's TokenAuthorizer verifies (configure it with the certificate of the signing key as
// `rootcertbundle`; the token header's `kid` is that certificate's libtrust key ID).
//
// Access policy file (JSON):
//   {
//     "roles": {                      // role -> rules
//       "admin":     [{"repositories": "*",     "actions": ["pull", "push", "delete"]}],
//       "developer": [{"repositories": "app/*", "actions": ["pull", "push"]}],
//       "readonly":  [{"repositories": "*",     "actions": ["pull"]}]
//     },
//     "users":   {"alice": ["admin"], "bob": ["developer"]},   // user -> roles (users live in
//     htpasswd) "public":  ["library/*"],       // repository globs anyone, even anonymous, may
//     pull "catalog": ["admin"]            // roles that may list /v2/_catalog (registry:catalog:*)
//   }
// Actions are "pull", "push", "delete" or "*" (all three). Unknown keys, unknown roles and unknown
// actions are load errors.
//
// Globs match a whole repository name: `*` matches any run of characters, '/' included; `?` matches
// one character; everything else matches itself. So `app/*` matches `app/x` and `app/x/y` but not
// `app`;
// `*` matches every repository. Names are validated (common/names.h) before matching, so a name
// like `app/../system/core` or `app//x` matches nothing.
//
// Issuing: the token's `access` claim is the intersection of what was asked for and what the policy
// grants; asked-for actions that are not granted are dropped silently (the spec's rule: the
// registry then answers 401 insufficient_scope). Anonymous callers get pull on public repositories
// only.
//
// Errors: kUnauthorized (bad credentials, unsupported Authorization scheme), kTooManyRequests
// (throttled, see basic.h), kNameInvalid / kDenied with status 400 (malformed scope, unknown
// service, malformed form, unsupported grant_type), kUnknown (signing failed). Thread-safety:
// thread-safe.

#include <chrono>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "auth/auth.h"
#include "auth/basic.h"
#include "auth/jwt.h"
#include "auth/scope.h"
#include "auth/tenant.h"
#include "common/error.h"
#include "common/time.h"

namespace berth::auth {

// `pattern` against a repository name (see above). Does not validate `name`.
bool GlobMatch(std::string_view pattern, std::string_view name);

struct PolicyRule {
  std::string repositories;          // glob
  std::vector<std::string> actions;  // "*" already expanded to pull, push, delete
};

struct AccessPolicy {
  std::map<std::string, std::vector<PolicyRule>, std::less<>> roles;
  std::map<std::string, std::vector<std::string>, std::less<>> users;
  std::vector<std::string> public_repositories;
  std::vector<std::string> catalog_roles;

  // Errors: kInvalidArgument naming the offending key ("roles.dev[0].actions: ...").
  static Result<AccessPolicy> Parse(std::string_view json);
  static Result<AccessPolicy> LoadFile(const std::string& path);  // + kIo

  // Whether `user` ("" = anonymous) may do `access`. Invalid repository names never match.
  bool Allows(std::string_view user, const Access& access) const;
};

struct IssuedToken {
  std::string token;
  int64_t expires_in = 0;  // seconds
  SystemTime issued_at;
  std::string subject;                  // "" for anonymous
  std::vector<ResourceActions> access;  // what the token grants
};

struct TokenServiceOptions {
  std::string issuer;
  std::string service;  // the registry's service name (`aud`)
  SigningKey key;
  std::chrono::seconds lifetime{300};
  CredentialVerifierPtr verifier;  // null: anonymous only
  AccessPolicy policy;
  // When set (a metadata store, berth.meta), logins and grants come from it instead of `verifier`
  // and `policy`.
  std::shared_ptr<AccessRules> rules;
  const Clock* clock = &SystemClock();
};

class TokenService {
 public:
  explicit TokenService(TokenServiceOptions options);
  TokenService(const TokenService&) = delete;
  TokenService& operator=(const TokenService&) = delete;

  // GET /token. `authorization` is the request's header ("" = anonymous), `service` and `scopes`
  // the query's `service` and (possibly repeated) `scope` values, each possibly several
  // space-separated scopes. `remote` is "ip:port", for throttling.
  Result<IssuedToken> Issue(std::string_view authorization, std::string_view service,
                            const std::vector<std::string>& scopes, std::string_view remote);
  // POST /token, application/x-www-form-urlencoded: grant_type=password with username, password,
  // service, scope (space-separated), client_id. grant_type=refresh_token is refused (kDenied,
  // 400): Berth issues no refresh tokens, so clients fall back to sending their password.
  Result<IssuedToken> IssueOAuth(std::string_view form_body, std::string_view remote);

  // {"token":..,"access_token":..,"expires_in":..,"issued_at":"<RFC 3339>"}: both token names, as
  // Docker's CLI reads `token` and OAuth clients `access_token`.
  static std::string ResponseJson(const IssuedToken& token);

  const SigningKey& key() const { return options_.key; }
  const AccessPolicy& policy() const { return options_.policy; }

 private:
  Result<IssuedToken> IssueFor(const Principal& who, std::string_view service,
                               const std::vector<Access>& requested);
  Result<Principal> Login(std::string_view user, std::string_view password,
                          std::string_view remote);
  bool Allows(const Principal& who, const Access& access) const;

  TokenServiceOptions options_;
};

}  // namespace berth::auth
