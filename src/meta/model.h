#pragma once
// The tenancy model the metadata store holds, as plain values (no database types).
//
//  - Users log in with a password (bcrypt hash) or a personal access token. Each user owns the
//    namespace named after them (`alice/...`). An admin user may do everything.
//  - Organisations own the repositories under their name (`acme/...`). User and organisation names
//    share one namespace (a name is either).
//  - Teams live inside an organisation (`acme/backend`) and have users as members.
//  - Grants give a subject (a user, or a team written ORG/TEAM) a role on a target (an organisation,
//    meaning all its repositories, or one repository). Roles are cumulative:
//      read   = pull;  write = pull, push;  delete = pull, push, delete;  admin = all of them, and
//      managing the organisation through the admin API.
//  - Repositories are private unless set public (anyone, even anonymous, may pull a public one).
//  - Tokens: robot accounts (owner "", log in with the robot's name) and personal access tokens
//    (owner = a user, log in with the owner's name). Both carry scopes `GLOB:ACTIONS` (glob over
//    repository names as in auth/token_service.h, actions pull,push,delete or *), an expiry and a
//    revoked flag. A personal token never grants more than its owner has.
//  - Quotas per namespace (user or organisation): a byte limit (0 = none) and the bytes used,
//    counting each unique blob once per namespace.
//
// Thread-safety: plain data; the functions are pure.

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "common/error.h"

namespace berth::meta {

enum class Role : int { kNone = 0, kRead = 1, kWrite = 2, kDelete = 3, kAdmin = 4 };
std::string_view RoleName(Role r);
// "read" | "write" | "delete" | "admin". Errors: kInvalidArgument.
Result<Role> ParseRole(std::string_view s);
// The role an action needs: pull -> read, push -> write, delete -> delete; kAdmin otherwise.
Role RoleFor(std::string_view action);

// A user, organisation, team or robot name: lowercase letters and digits, separated by single '.',
// '_' or '-', at most 64 characters (a repository path component, so a namespace can be named
// after it). Errors: kInvalidArgument naming `what`.
Status ValidateName(std::string_view name, std::string_view what);
// The namespace a repository belongs to: its first path component ("acme/app" -> "acme"); "" for a
// one-component name ("ubuntu"), which only admins and grants on the repository itself reach.
std::string_view NamespaceOf(std::string_view repo);

// "1.5 GiB", "300 B": for tables and quota messages.
std::string FormatBytes(uint64_t n);
// "10GiB", "500 MB", "1024": for quota limits. Errors: kInvalidArgument.
Result<uint64_t> ParseBytes(std::string_view s);

struct Scope {
  std::string glob;
  std::vector<std::string> actions;  // expanded: pull, push, delete
  friend bool operator==(const Scope&, const Scope&) = default;
};
// "acme/*:pull,push". Errors: kInvalidArgument.
Result<Scope> ParseScopeSpec(std::string_view spec);
std::string FormatScope(const Scope& s);

struct User {
  std::string name;
  bool admin = false;
  int64_t created_at = 0;  // unix seconds
};

struct Team {
  std::string org;
  std::string name;
  std::vector<std::string> members;
};

struct GrantRecord {
  std::string subject;  // user or ORG/TEAM
  Role role = Role::kNone;
  std::string target;  // organisation or repository
};

struct TokenInfo {
  std::string name;
  std::string owner;  // "" for a robot account
  std::vector<Scope> scopes;
  int64_t expires_at = 0;  // unix seconds; 0 = never
  bool revoked = false;
  int64_t created_at = 0;
};

struct QuotaInfo {
  std::string ns;
  uint64_t limit_bytes = 0;  // 0 = unlimited
  uint64_t used_bytes = 0;
};

struct AuditEntry {
  int64_t at = 0;  // unix seconds
  std::string actor;
  std::string action;  // "user.add", "grant.set", "token.revoke", ...
  std::string target;
  std::string detail;
};

// Everything the authorizer needs, read in one go and kept in memory until the store's generation
// changes (the store is small: users, teams, grants, tokens, settings).
struct Directory {
  uint64_t generation = 0;
  struct UserEntry {
    std::string password_hash;
    bool admin = false;
  };
  std::map<std::string, UserEntry, std::less<>> users;
  std::set<std::string, std::less<>> orgs;
  std::map<std::string, std::vector<std::string>, std::less<>> teams_of;  // user -> ORG/TEAMs
  // subject -> (target -> role)
  std::map<std::string, std::map<std::string, Role, std::less<>>, std::less<>> grants;
  std::set<std::string, std::less<>> public_repos;
  std::map<std::string, TokenInfo, std::less<>> tokens_by_secret;  // SHA-256 hex of the secret
  std::map<std::string, std::string, std::less<>> robot_secret;    // robot name -> secret digest
};

// Who is asking, once authenticated.
struct Identity {
  std::string name;              // user or robot name; "" anonymous
  const TokenInfo* token = nullptr;  // set when a token (robot or personal) authenticated
};

// Whether `who` may do `action` (pull, push, delete) on repository `repo` under `dir`. `now` is unix
// seconds (token expiry).
bool Allows(const Directory& dir, const Identity& who, std::string_view repo,
            std::string_view action, int64_t now);
// Whether `who` may administer `target` (an organisation or namespace): admins, the namespace's
// own user, and holders of the admin role on it.
bool MayAdminister(const Directory& dir, const Identity& who, std::string_view target);

}  // namespace berth::meta
