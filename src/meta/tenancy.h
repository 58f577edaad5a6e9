#pragma once
// Authentication and authorization from the metadata store (berth.meta): users log in with their
// password, robots with their token, users also with a personal access token; access follows the
// store's grants, team memberships, personal namespaces, token scopes and repository visibility
// (model.h). Plugs into auth/ through its hooks: as AccessRules for the built-in token service,
// and as the registry's Authorizer, either Basic (BasicAuthorizer) or Bearer (TokenAuthorizer,
// which re-checks every verified token against the store, so a revoked robot or a removed grant
// stops working on the next request rather than when the token expires).
//
// Cache: the store's whole directory (users, teams, grants, tokens, public repositories) is kept in
// memory and reloaded when the store's generation changes. The generation is read (a point query)
// only when something may have changed: a change this process made (Store::LocalChanges), a
// change another process committed to the SQLite file (Store::ChangeStamp: two stat calls, no
// SQL), or when it was last read more than a second ago (PostgreSQL, whose other replicas this
// cannot see otherwise; and SQLite's coarse file times). So a request costs no SQL; a change made
// here or with the CLI on the same SQLite file is seen on the next request, one made by another
// PostgreSQL replica within a second. Passwords go
// through auth::CredentialVerifier (bcrypt success cache keyed on the generation, per-address
// failure throttle, bcrypt budget). Tokens are 256-bit random secrets compared by SHA-256, so no
// bcrypt is needed for them. If the store cannot be read the last directory serves for 5 s, then
// every request is refused (fail closed).
//
// Anonymous callers may pull public repositories (Basic: requests without credentials are allowed
// when everything they need is public; token: the token service issues them pull on public
// repositories). `registry:catalog:*` is granted to every caller: the catalog and search show only
// what the caller may pull (ScopedAuthorizer::PullFilter).
//
// Known limit: a Bearer token issued for a personal access token carries the owner's name as
// subject, so revoking the personal token stops new logins at once and the tokens already issued
// when they expire (auth.token.builtin.expiration, 5 minutes by default); robots are checked on
// every request.
//
// Thread-safety: thread-safe.

#include <chrono>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include "auth/basic.h"
#include "auth/tenant.h"
#include "auth/token_authorizer.h"
#include "common/time.h"
#include "meta/store.h"

namespace berth::meta {

class Tenancy : public auth::AccessRules, public std::enable_shared_from_this<Tenancy> {
 public:
  static std::shared_ptr<Tenancy> Create(StorePtr store, const Clock& clock = SystemClock(),
                                         auth::VerifierOptions options = {});
  Tenancy(const Tenancy&) = delete;
  Tenancy& operator=(const Tenancy&) = delete;

  // The directory as of the store's current generation (never null).
  std::shared_ptr<const Directory> Current();
  // The directory Current last returned, without checking the store (never null): for the steps
  // of one request after it called Current.
  std::shared_ptr<const Directory> Cached();

  Result<auth::Principal> Authenticate(std::string_view user, std::string_view password,
                                       std::string_view remote) override;
  bool Allows(const auth::Principal& who, const auth::Access& access) override;
  // The same against a given directory (many decisions, one snapshot).
  bool AllowsIn(const Directory& dir, const auth::Principal& who, const auth::Access& access) const;
  // The principal a verified Bearer token's subject stands for.
  static auth::Principal FromSubject(const Directory& dir, const std::string& subject);

  // Who presents `authorization` (the request's Authorization header; "" = anonymous, an empty
  // subject): Basic with a password or a robot/personal token, or Bearer when TokenAuthorizer was
  // given a verifier. `by_token` is true when a token, not a password, authenticated (Bearer
  // tokens included: one may have been issued for a personal access token). For the admin API.
  // Errors: kUnauthorized (malformed, wrong, revoked, expired, Bearer without a token service),
  // kTooManyRequests (throttled).
  struct Login {
    auth::Principal principal;
    bool by_token = false;
  };
  Result<Login> Identify(std::string_view authorization, std::string_view remote);

  // The registry's authorizer: Basic credentials (`realm` in the challenge).
  auth::AuthorizerPtr BasicAuthorizer(std::string realm);
  // The registry's authorizer for `auth: token`: `inner` verifies the JWT, the store decides.
  // Also makes Identify accept the Bearer tokens `inner` verifies.
  auth::AuthorizerPtr TokenAuthorizer(std::shared_ptr<auth::TokenAuthorizer> inner);

  Store& store() { return *store_; }
  const StorePtr& store_ptr() const { return store_; }
  // Directory reloads so far (tests and metrics).
  uint64_t reloads() const;

 private:
  Tenancy(StorePtr store, const Clock& clock) : store_(std::move(store)), clock_(clock) {}
  int64_t Now() const;

  StorePtr store_;
  const Clock& clock_;
  auth::CredentialVerifierPtr verifier_;
  mutable std::mutex mu_;
  std::shared_ptr<const Directory> dir_;  // Guarded by mu_.
  SystemTime last_good_;                  // Guarded by mu_. When the store last answered.
  // What the directory was checked against (Guarded by mu_): the store's local change count and
  // change stamp, and when the generation was last read.
  uint64_t seen_local_ = 0;
  std::optional<uint64_t> seen_stamp_;
  std::chrono::steady_clock::time_point checked_;
  uint64_t reloads_ = 0;                  // Guarded by mu_.
  std::shared_ptr<auth::TokenAuthorizer> bearer_;  // Guarded by mu_. Set by TokenAuthorizer.
};
using TenancyPtr = std::shared_ptr<Tenancy>;

}  // namespace berth::meta
