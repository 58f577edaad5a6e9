#include "auth/token_authorizer.h"

#include <algorithm>

#include "auth/scope.h"
#include "common/strings.h"

namespace berth::auth {

bool Grants(const std::vector<ResourceActions>& claims, const Access& access) {
  return std::any_of(claims.begin(), claims.end(), [&](const ResourceActions& r) {
    return r.type == access.type && r.name == access.name &&
           std::any_of(r.actions.begin(), r.actions.end(),
                       [&](const std::string& a) { return a == access.action || a == "*"; });
  });
}

TokenAuthorizer::TokenAuthorizer(TokenAuthorizerOptions options) : options_(std::move(options)) {
  verify_.issuer = options_.issuer;
  verify_.audience = options_.service;
  verify_.clock = options_.clock;
  verify_.leeway = options_.leeway;
}

Result<std::shared_ptr<TokenAuthorizer>> TokenAuthorizer::FromFiles(
    std::string realm, std::string service, std::string issuer, const std::string& rootcertbundle,
    const std::string& jwks, const Clock& clock) {
  if (realm.empty()) return MakeError(ErrorCode::kInvalidArgument, "auth.token.realm is required");
  if (service.empty())
    return MakeError(ErrorCode::kInvalidArgument, "auth.token.service is required");
  if (issuer.empty())
    return MakeError(ErrorCode::kInvalidArgument, "auth.token.issuer is required");
  if (rootcertbundle.empty() && jwks.empty()) {
    return MakeError(ErrorCode::kInvalidArgument,
                     "auth.token: rootcertbundle or jwks is required (token signing keys)");
  }
  TokenAuthorizerOptions o;
  o.realm = std::move(realm);
  o.service = std::move(service);
  o.issuer = std::move(issuer);
  o.clock = &clock;
  if (!rootcertbundle.empty()) {
    BERTH_ASSIGN_OR_RETURN(auto set, PublicKeySet::LoadPemBundleFile(rootcertbundle));
    o.keys.Merge(set);
  }
  if (!jwks.empty()) {
    BERTH_ASSIGN_OR_RETURN(auto set, PublicKeySet::LoadJwksFile(jwks));
    o.keys.Merge(set);
  }
  return std::make_shared<TokenAuthorizer>(std::move(o));
}

std::string TokenAuthorizer::Challenge(const std::vector<Access>& needed,
                                       std::string_view error) const {
  std::string out =
      "Bearer realm=\"" + QuoteEscape(options_.realm) + "\",service=\"" +
      QuoteEscape(options_.service) + "\"";
  std::string scope = FormatScopes(needed);
  if (!scope.empty()) out += ",scope=\"" + QuoteEscape(scope) + "\"";
  if (!error.empty()) out += ",error=\"" + std::string(error) + "\"";
  return out;
}

Result<JwtClaims> TokenAuthorizer::Verify(std::string_view authorization) const {
  std::string_view header = Trim(authorization);
  size_t sp = std::min(header.find(' '), header.size());
  if (!IEquals(header.substr(0, sp), "bearer")) {
    return MakeError(ErrorCode::kUnauthorized, "no Bearer token");
  }
  auto claims = VerifyJwt(Trim(header.substr(sp)), options_.keys, verify_);
  if (!claims) return MakeError(ErrorCode::kUnauthorized, "invalid token: " + claims.error().message);
  return claims;
}

Decision TokenAuthorizer::Authorize(std::string_view authorization, std::string_view remote,
                                    const std::vector<Access>& needed) {
  Decision d;
  d.status = 401;
  std::string_view header = Trim(authorization);
  size_t sp = std::min(header.find(' '), header.size());
  if (!IEquals(header.substr(0, sp), "bearer")) {
    d.challenge = Challenge(needed, "");
    d.message = "authentication required";
    return d;
  }
  // "Bearer" with nothing after it is a presented-but-invalid token, as in Distribution.
  std::string_view token = Trim(header.substr(sp));
  auto claims = VerifyJwt(token, options_.keys, verify_);
  if (!claims) {
    d.challenge = Challenge(needed, "invalid_token");
    d.message = "invalid token: " + claims.error().message;
    return d;
  }
  d.subject = claims->subject;
  for (const Access& a : needed) {
    if (!Grants(claims->access, a)) {
      d.challenge = Challenge(needed, "insufficient_scope");
      d.message = "token does not grant " + a.action + " on " + a.type + " \"" + a.name + "\"";
      return d;
    }
  }
  d.allowed = true;
  d.status = 200;
  return d;
}

}  // namespace berth::auth
