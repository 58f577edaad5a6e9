#include "auth/token_service.h"

#include <algorithm>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "common/glob.h"
#include "common/names.h"
#include "common/strings.h"

namespace berth::auth {
namespace {

using Json = nlohmann::json;

constexpr std::string_view kActions[] = {"pull", "push", "delete"};

std::unexpected<Error> BadRequest(std::string message) {
  return std::unexpected(Error{ErrorCode::kDenied, std::move(message), {}, 400});
}
std::unexpected<Error> BadPolicy(std::string message) {
  return MakeError(ErrorCode::kInvalidArgument, "access policy: " + std::move(message));
}

Result<std::vector<std::string>> StringList(const Json& j, const std::string& where) {
  if (!j.is_array()) return BadPolicy(where + ": expected an array of strings");
  std::vector<std::string> out;
  for (const Json& e : j) {
    if (!e.is_string()) return BadPolicy(where + ": expected an array of strings");
    out.push_back(e.get<std::string>());
  }
  return out;
}

}  // namespace

bool GlobMatch(std::string_view pattern, std::string_view name) {
  return berth::GlobMatch(pattern, name);
}

Result<AccessPolicy> AccessPolicy::Parse(std::string_view json) {
  Json doc = Json::parse(json.begin(), json.end(), nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded() || !doc.is_object()) return BadPolicy("not a JSON object");
  AccessPolicy policy;
  for (auto it = doc.begin(); it != doc.end(); ++it) {
    const std::string& key = it.key();
    const Json& value = it.value();
    if (key == "roles") {
      if (!value.is_object()) return BadPolicy("roles: expected an object");
      for (auto r = value.begin(); r != value.end(); ++r) {
        std::string where = "roles." + r.key();
        if (!r.value().is_array()) return BadPolicy(where + ": expected an array of rules");
        std::vector<PolicyRule> rules;
        size_t i = 0;
        for (const Json& rule : r.value()) {
          std::string rw = where + "[" + std::to_string(i++) + "]";
          if (!rule.is_object()) return BadPolicy(rw + ": expected an object");
          PolicyRule pr;
          for (auto f = rule.begin(); f != rule.end(); ++f) {
            if (f.key() == "repositories") {
              if (!f.value().is_string() || f.value().get<std::string>().empty()) {
                return BadPolicy(rw + ".repositories: expected a non-empty glob string");
              }
              pr.repositories = f.value().get<std::string>();
            } else if (f.key() == "actions") {
              BERTH_ASSIGN_OR_RETURN(auto actions, StringList(f.value(), rw + ".actions"));
              for (const std::string& a : actions) {
                if (a == "*") {
                  pr.actions.assign(std::begin(kActions), std::end(kActions));
                } else if (std::find(std::begin(kActions), std::end(kActions), a) !=
                           std::end(kActions)) {
                  if (std::find(pr.actions.begin(), pr.actions.end(), a) == pr.actions.end())
                    pr.actions.push_back(a);
                } else {
                  return BadPolicy(rw + ".actions: unknown action \"" + a +
                                   "\" (pull, push, delete or *)");
                }
              }
            } else {
              return BadPolicy(rw + ": unknown key \"" + f.key() + "\"");
            }
          }
          if (pr.repositories.empty()) return BadPolicy(rw + ": repositories is required");
          rules.push_back(std::move(pr));
        }
        policy.roles.emplace(r.key(), std::move(rules));
      }
    } else if (key == "users") {
      if (!value.is_object()) return BadPolicy("users: expected an object");
      for (auto u = value.begin(); u != value.end(); ++u) {
        BERTH_ASSIGN_OR_RETURN(auto roles, StringList(u.value(), "users." + u.key()));
        policy.users.emplace(u.key(), std::move(roles));
      }
    } else if (key == "public") {
      BERTH_ASSIGN_OR_RETURN(policy.public_repositories, StringList(value, "public"));
    } else if (key == "catalog") {
      BERTH_ASSIGN_OR_RETURN(policy.catalog_roles, StringList(value, "catalog"));
    } else {
      return BadPolicy("unknown key \"" + key + "\"");
    }
  }
  // A typo in a role name would silently grant nothing; refuse it at start-up instead.
  for (const auto& [user, roles] : policy.users) {
    for (const std::string& role : roles) {
      if (!policy.roles.contains(role)) {
        return BadPolicy("users." + user + ": unknown role \"" + role + "\"");
      }
    }
  }
  for (const std::string& role : policy.catalog_roles) {
    if (!policy.roles.contains(role)) return BadPolicy("catalog: unknown role \"" + role + "\"");
  }
  return policy;
}

Result<AccessPolicy> AccessPolicy::LoadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return MakeError(ErrorCode::kIo, "cannot read access policy " + path);
  std::ostringstream ss;
  ss << in.rdbuf();
  auto policy = Parse(ss.str());
  if (!policy) return MakeError(policy.error().code, path + ": " + policy.error().message);
  return policy;
}

bool AccessPolicy::Allows(std::string_view user, const Access& access) const {
  auto user_it = user.empty() ? users.end() : users.find(user);
  const std::vector<std::string>* roles = user_it == users.end() ? nullptr : &user_it->second;

  if (access.type == "registry") {
    if (access.name != "catalog" || access.action != "*" || roles == nullptr) return false;
    return std::any_of(roles->begin(), roles->end(), [&](const std::string& r) {
      return std::find(catalog_roles.begin(), catalog_roles.end(), r) != catalog_roles.end();
    });
  }
  if (access.type != "repository") return false;
  if (!ValidateRepositoryName(access.name)) return false;
  if (access.action == "pull") {
    for (const std::string& glob : public_repositories) {
      if (GlobMatch(glob, access.name)) return true;
    }
  }
  if (roles == nullptr) return false;
  for (const std::string& role : *roles) {
    auto r = this->roles.find(role);
    if (r == this->roles.end()) continue;
    for (const PolicyRule& rule : r->second) {
      if (!GlobMatch(rule.repositories, access.name)) continue;
      if (std::find(rule.actions.begin(), rule.actions.end(), access.action) != rule.actions.end())
        return true;
    }
  }
  return false;
}

TokenService::TokenService(TokenServiceOptions options) : options_(std::move(options)) {}

bool TokenService::Allows(const Principal& who, const Access& access) const {
  return options_.rules ? options_.rules->Allows(who, access)
                        : options_.policy.Allows(who.subject, access);
}

Result<Principal> TokenService::Login(std::string_view user, std::string_view password,
                                      std::string_view remote) {
  if (options_.rules) return options_.rules->Authenticate(user, password, remote);
  if (!options_.verifier) return MakeError(ErrorCode::kUnauthorized, "no users are configured");
  switch (options_.verifier->Verify(user, password, remote)) {
    case CredentialVerifier::Verdict::kOk:
      return Principal{std::string(user), ""};
    case CredentialVerifier::Verdict::kBadCredentials:
      return MakeError(ErrorCode::kUnauthorized, "invalid user name or password");
    case CredentialVerifier::Verdict::kThrottled:
      return MakeError(ErrorCode::kTooManyRequests,
                       "too many failed logins for user \"" + std::string(user) +
                           "\"; try again later");
    case CredentialVerifier::Verdict::kBusy:
      return MakeError(ErrorCode::kTooManyRequests, kBusyMessage);
  }
  return MakeError(ErrorCode::kUnauthorized, "invalid user name or password");
}

Result<IssuedToken> TokenService::IssueFor(const Principal& who, std::string_view service,
                                           const std::vector<Access>& requested) {
  const std::string& subject = who.subject;
  if (service != options_.service) {
    return BadRequest("unknown service \"" + std::string(service) + "\"");
  }
  std::vector<Access> granted;
  for (const Access& a : requested) {
    if (a.action == "*" && a.type == "repository") {
      // A wildcard request means "everything I may do here".
      for (std::string_view action : kActions) {
        Access each{a.type, a.name, std::string(action)};
        if (Allows(who, each)) granted.push_back(std::move(each));
      }
    } else if (Allows(who, a)) {
      granted.push_back(a);
    }
  }
  SystemTime now = options_.clock->Now();
  int64_t iat = std::chrono::duration_cast<std::chrono::seconds>(now.time_since_epoch()).count();
  int64_t lifetime = options_.lifetime.count();

  IssuedToken out;
  out.access = GroupAccesses(granted);
  Json access = Json::array();
  for (const ResourceActions& r : out.access) {
    access.push_back({{"type", r.type}, {"name", r.name}, {"actions", r.actions}});
  }
  Json claims = {{"iss", options_.issuer},
                 {"sub", subject},
                 {"aud", options_.service},
                 {"exp", iat + lifetime},
                 {"nbf", iat},
                 {"iat", iat},
                 {"jti", RandomHex(16)},
                 {"access", std::move(access)}};
  // dump() throws only on invalid UTF-8; user names from htpasswd could hold any bytes, so replace.
  std::string payload = claims.dump(-1, ' ', false, Json::error_handler_t::replace);
  BERTH_ASSIGN_OR_RETURN(out.token, options_.key.Sign(payload));
  out.expires_in = lifetime;
  out.issued_at = SystemTime(std::chrono::seconds(iat));
  out.subject = subject;
  return out;
}

namespace {

Result<std::vector<Access>> ParseScopeList(const std::vector<std::string>& scopes) {
  std::vector<Access> out;
  for (const std::string& s : scopes) {
    BERTH_ASSIGN_OR_RETURN(auto accesses, ParseScopes(s));
    for (auto& a : accesses) {
      if (std::find(out.begin(), out.end(), a) == out.end()) out.push_back(std::move(a));
    }
  }
  return out;
}

}  // namespace

Result<IssuedToken> TokenService::Issue(std::string_view authorization, std::string_view service,
                                        const std::vector<std::string>& scopes,
                                        std::string_view remote) {
  BERTH_ASSIGN_OR_RETURN(auto requested, ParseScopeList(scopes));
  Principal who;
  if (!Trim(authorization).empty()) {
    auto creds = ParseBasicAuthorization(authorization);
    if (!creds) return MakeError(ErrorCode::kUnauthorized, "expected Basic credentials");
    BERTH_ASSIGN_OR_RETURN(who, Login(creds->user, creds->password, remote));
  }
  return IssueFor(who, service, requested);
}

Result<IssuedToken> TokenService::IssueOAuth(std::string_view form_body, std::string_view remote) {
  if (form_body.size() > 64 * 1024) return BadRequest("token request form is too large");
  std::map<std::string, std::string> form;
  std::vector<std::string> scopes;
  for (std::string_view pair : Split(form_body, '&')) {
    if (pair.empty()) continue;
    size_t eq = pair.find('=');
    auto key = UrlDecode(pair.substr(0, eq));
    auto value = UrlDecode(eq == std::string_view::npos ? "" : pair.substr(eq + 1));
    if (!key || !value) return BadRequest("malformed form encoding");
    if (*key == "scope") {
      scopes.push_back(std::move(*value));
    } else {
      form[*key] = std::move(*value);
    }
  }
  const std::string& grant = form["grant_type"];
  if (grant == "refresh_token") {
    return BadRequest(
        "grant_type refresh_token is not supported: Berth issues no refresh tokens; "
        "log in again with a password");
  }
  if (grant != "password") {
    return BadRequest("unsupported grant_type \"" + grant + "\" (password is supported)");
  }
  if (form["username"].empty()) return BadRequest("username is required");
  BERTH_ASSIGN_OR_RETURN(auto requested, ParseScopeList(scopes));
  BERTH_ASSIGN_OR_RETURN(auto who, Login(form["username"], form["password"], remote));
  return IssueFor(who, form["service"], requested);
}

std::string TokenService::ResponseJson(const IssuedToken& token) {
  Json j = {{"token", token.token},
            {"access_token", token.token},
            {"expires_in", token.expires_in},
            {"issued_at", FormatRfc3339(token.issued_at)}};
  return j.dump();
}

}  // namespace berth::auth
