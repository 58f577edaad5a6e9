#pragma once
// Distribution's `auth: token`: clients bring a Bearer JWT from a token server (or Berth's own
// TokenService) and get exactly the actions its `access` claim lists.
//
// Answers (Authorize):
//   - no Bearer token: 401, challenge `Bearer realm="<realm>",service="<service>",scope="<scopes>"`
//     where <scopes> lists the needed accesses grouped per resource, space-separated
//     (`repository:team/app:pull,push registry:catalog:*`); no scope param when nothing is needed;
//   - a token that fails verification (signature, alg, kid, iss, aud, exp, nbf, size, ...): 401,
//   the
//     same challenge plus `,error="invalid_token"`;
//   - a valid token lacking a needed action: 401 with `,error="insufficient_scope"` (what
//   Distribution
//     sends, so clients go and fetch a token with the wider scope), subject = the token's `sub`;
//   - otherwise allowed, subject = `sub`.
// A claim grants an action on a resource when type and name are equal byte for byte and its actions
// contain the action or "*".
//
// Thread-safety: thread-safe (immutable after construction).

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "auth/auth.h"
#include "auth/jwt.h"
#include "common/time.h"

namespace berth::auth {

struct TokenAuthorizerOptions {
  std::string realm;    // the token server's URL
  std::string service;  // expected `aud`
  std::string issuer;   // expected `iss`
  PublicKeySet keys;    // rootcertbundle and/or JWKS
  const Clock* clock = &SystemClock();
  std::chrono::seconds leeway{60};
};

class TokenAuthorizer : public Authorizer {
 public:
  explicit TokenAuthorizer(TokenAuthorizerOptions options);
  // From Distribution's config keys: `rootcertbundle` and/or `jwks` file paths (either may be
  // empty, not both). Errors: kInvalidArgument (no keys, bad file, empty realm/service/issuer),
  // kIo.
  static Result<std::shared_ptr<TokenAuthorizer>> FromFiles(std::string realm, std::string service,
                                                            std::string issuer,
                                                            const std::string& rootcertbundle,
                                                            const std::string& jwks,
                                                            const Clock& clock = SystemClock());

  Decision Authorize(std::string_view authorization, std::string_view remote,
                     const std::vector<Access>& needed) override;

  // The verified claims of the request's Bearer token (for callers that must decide many accesses
  // at once, e.g. search over many repositories, without verifying the signature each time).
  // Errors: kUnauthorized when there is no Bearer token or it fails verification.
  Result<JwtClaims> Verify(std::string_view authorization) const;

  // The WWW-Authenticate value for `needed`; `error` is "", "invalid_token" or
  // "insufficient_scope".
  std::string Challenge(const std::vector<Access>& needed, std::string_view error) const;

 private:
  TokenAuthorizerOptions options_;
  VerifyOptions verify_;
};

// True when `claims` grant `access` (exact type and name, action listed or "*").
bool Grants(const std::vector<ResourceActions>& claims, const Access& access);

}  // namespace berth::auth
