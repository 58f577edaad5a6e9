#pragma once
// The hooks through which a source of identities and access rules (Berth's metadata store,
// meta/tenancy.h) plugs into authentication without auth knowing about it:
//  - AccessRules: who a login is and what it may do, for the built-in token service
//    (token_service.h) in place of its htpasswd file and policy;
//  - ScopedAuthorizer: an Authorizer that can also answer "may this caller pull repository R?" for
//    many R at once without authenticating again (search, catalog, mount without `from`).
//
// Thread-safety: implementations are thread-safe.

#include <functional>
#include <string>
#include <string_view>

#include "auth/auth.h"
#include "common/error.h"

namespace berth::auth {

// An authenticated login: `subject` goes into the token's `sub`; `credential` names what
// authenticated it when that bounds the subject's rights (a personal access token), else "".
struct Principal {
  std::string subject;  // "" = anonymous
  std::string credential;
};

class AccessRules {
 public:
  virtual ~AccessRules() = default;
  // Checks a login (a password, or a robot or personal token given as the password).
  // Errors: kUnauthorized (unknown, wrong, revoked, expired), kTooManyRequests (throttled).
  virtual Result<Principal> Authenticate(std::string_view user, std::string_view password,
                                         std::string_view remote) = 0;
  // Whether `who` may do `access` ("registry:catalog:*" lists only what the caller may pull).
  virtual bool Allows(const Principal& who, const Access& access) = 0;
};

class ScopedAuthorizer {
 public:
  virtual ~ScopedAuthorizer() = default;
  // The repositories the caller presenting `authorization` may pull, as a predicate; one that
  // refuses everything when the credentials do not authenticate.
  virtual std::function<bool(std::string_view repo)> PullFilter(std::string_view authorization,
                                                                std::string_view remote) = 0;
};

}  // namespace berth::auth
