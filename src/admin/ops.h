#pragma once
// The tenancy operations, one function each, shared by the command line (cli/tenancy_cmd.cc) and
// the JSON admin API (admin/api.h): both parse their arguments the same way, the API and the CLI
// cannot drift apart, and who may do what is decided here, in one place.
//
// Who may do what (the Caller):
//  - the local operator (the CLI, which opened the store itself): everything;
//  - a server admin (a user with the admin flag: `berth user add --admin`, or
//    PUT /api/v1/users/{name}/admin): everything;
//  - an organisation admin (the admin role on the organisation, directly or through a team; a user
//    for their own personal namespace): that organisation's teams, members, grants on it and its
//    repositories, robots whose every scope stays inside it, its quota's usage and its
//    repositories' visibility;
//  - any user who logged in with a password: their own password, personal access tokens and
//    namespace's usage;
//  - a caller authenticated by a token (robot, personal access token, or a Bearer JWT, which may
//    have been issued for a personal token): only GET /me. Tokens never administer, so a token
//    scoped to `acme/app:pull` cannot grow into more.
// Refusals are kDenied (403) for a known caller and kUnauthorized (401) for an anonymous one.
// Quotas are set only by server admins (an organisation may not raise its own limit).
//
// Every change goes through meta::Store, which writes its audit entry in the same transaction.
// Errors: those of meta::Store, plus kInvalidArgument for unparsable arguments (role, scope,
// size, duration, visibility) and kDenied / kUnauthorized as above.
//
// Thread-safety: thread-safe (the Store is; nothing else is shared).

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/error.h"
#include "meta/model.h"
#include "meta/store.h"

namespace berth::admin {

struct Caller {
  enum class Kind { kLocal, kUser, kToken, kAnonymous };
  Kind kind = Kind::kAnonymous;
  std::string name;  // the user or robot; "" when anonymous
  // Who made the change, for the audit trail ("cli:root", or the caller's name).
  std::string actor() const;

  static Caller Local(std::string who) { return Caller{Kind::kLocal, std::move(who)}; }
  static Caller User(std::string name) { return Caller{Kind::kUser, std::move(name)}; }
  static Caller Token(std::string name) { return Caller{Kind::kToken, std::move(name)}; }
};

// What GET /me answers.
struct Me {
  std::string name;
  std::string kind;  // "user", "token" or "anonymous"
  bool admin = false;
  std::vector<std::string> teams;        // ORG/TEAM
  std::vector<std::string> administers;  // organisations and namespaces the caller may manage
  std::vector<meta::QuotaInfo> quotas;   // usage of those namespaces
};

// "30d", "12h", "90m" (Go durations plus days) -> seconds; "" -> 0 (never).
// Errors: kInvalidArgument.
Result<int64_t> ParseLifetime(std::string_view s);

class Operations {
 public:
  // `directory` gives the access snapshot decisions are made against (Tenancy::Current on the
  // server); null: loaded from the store on each call (the CLI, where it is only read by
  // non-local callers).
  using DirectoryFn = std::function<std::shared_ptr<const meta::Directory>()>;
  explicit Operations(meta::Store& store, DirectoryFn directory = nullptr);

  // --- users (server admins; a user may change their own password)
  Result<std::vector<meta::User>> ListUsers(const Caller& c);
  Status AddUser(const Caller& c, const std::string& name, std::string_view password, bool admin);
  // Keeps an existing bcrypt hash (import from an htpasswd file).
  Status AddUserWithHash(const Caller& c, const std::string& name, const std::string& hash);
  Status SetPassword(const Caller& c, const std::string& name, std::string_view password);
  Status SetAdmin(const Caller& c, const std::string& name, bool admin);
  Status DeleteUser(const Caller& c, const std::string& name);

  // --- organisations (server admins add and delete; listing shows what the caller manages)
  Result<std::vector<std::string>> ListOrgs(const Caller& c);
  Status AddOrg(const Caller& c, const std::string& name);
  Status DeleteOrg(const Caller& c, const std::string& name);

  // --- teams (organisation admins)
  Result<std::vector<meta::Team>> ListTeams(const Caller& c, const std::string& org);
  Status AddTeam(const Caller& c, const std::string& org, const std::string& team);
  Status DeleteTeam(const Caller& c, const std::string& org, const std::string& team);
  Status AddMember(const Caller& c, const std::string& org, const std::string& team,
                   const std::string& user);
  Status RemoveMember(const Caller& c, const std::string& org, const std::string& team,
                      const std::string& user);

  // --- grants (admins of the target's namespace); `role` "none" revokes
  Result<std::vector<meta::GrantRecord>> ListGrants(const Caller& c);
  Status Grant(const Caller& c, const std::string& subject, std::string_view role,
               const std::string& target);
  Status Revoke(const Caller& c, const std::string& subject, const std::string& target);

  // --- robots (owner "") and personal access tokens (owner = a user)
  // Robots: server admins, or admins of every namespace the scopes reach. Personal tokens: the
  // owner (or a server admin). `lifetime` as ParseLifetime.
  Result<meta::NewToken> AddToken(const Caller& c, const std::string& name,
                                  const std::string& owner, const std::vector<std::string>& scopes,
                                  std::string_view lifetime);
  // The robots (`robots`) or personal tokens the caller may see.
  Result<std::vector<meta::TokenInfo>> ListTokens(const Caller& c, bool robots);
  // `robots` says which kind `name` must be (a robot's name is not a personal token's).
  Status RevokeToken(const Caller& c, const std::string& name, bool robots);

  // --- quotas: server admins set; the namespace's admins (a user: their own) read
  Result<uint64_t> SetQuota(const Caller& c, const std::string& ns, std::string_view size);
  // One namespace's, or (ns "") every one the caller may see.
  Result<std::vector<meta::QuotaInfo>> Quotas(const Caller& c, const std::string& ns);

  // --- repository visibility: admins of the repository's namespace
  Status SetVisibility(const Caller& c, const std::string& repo, std::string_view visibility);
  // "public" or "private" (readable by whoever may pull it or administer its namespace).
  Result<std::string> Visibility(const Caller& c, const std::string& repo);
  Result<std::vector<std::string>> PublicRepositories(const Caller& c);

  // --- the audit trail (server admins), newest first
  Result<std::vector<meta::AuditEntry>> Audit(const Caller& c, size_t limit);

  // --- who the caller is (any caller)
  Result<Me> WhoAmI(const Caller& c);

 private:
  Result<std::shared_ptr<const meta::Directory>> Dir();
  // The checks; each returns kDenied / kUnauthorized naming what was refused.
  Status RequireServerAdmin(const Caller& c, std::string_view what);
  Status RequireAdminOf(const Caller& c, std::string_view ns, std::string_view what);
  // Whether the caller may manage namespace `ns` (never for tokens).
  bool Administers(const Caller& c, const meta::Directory& dir, std::string_view ns) const;
  bool IsServerAdmin(const Caller& c, const meta::Directory& dir) const;
  // Whether every scope of `t` stays inside namespaces the caller administers.
  bool MayManageRobot(const Caller& c, const meta::Directory& dir,
                      const std::vector<meta::Scope>& scopes) const;

  meta::Store& store_;
  DirectoryFn directory_;
};

}  // namespace berth::admin
