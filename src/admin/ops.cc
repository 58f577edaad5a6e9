#include "admin/ops.h"

#include <algorithm>
#include <chrono>

#include "auth/htpasswd.h"
#include "common/names.h"
#include "common/strings.h"
#include "common/time.h"

namespace berth::admin {
namespace {

std::string Q(std::string_view s) { return "\"" + std::string(s.substr(0, 200)) + "\""; }

std::unexpected<Error> Refuse(const Caller& c, std::string_view what) {
  if (c.kind == Caller::Kind::kAnonymous) {
    return MakeError(ErrorCode::kUnauthorized, "authentication required to " + std::string(what));
  }
  if (c.kind == Caller::Kind::kToken) {
    return MakeError(ErrorCode::kDenied,
                     "a token may not " + std::string(what) + " (log in with the user's password)");
  }
  return MakeError(ErrorCode::kDenied, Q(c.name) + " may not " + std::string(what));
}

// The operator or a user who logged in with a password (not a token, not anonymous).
bool Person(const Caller& c) {
  return c.kind == Caller::Kind::kLocal || c.kind == Caller::Kind::kUser;
}

// The namespace a grant target or a repository belongs to: a name without '/' is one.
std::string_view TargetNamespace(std::string_view target) {
  std::string_view ns = meta::NamespaceOf(target);
  return ns.empty() ? target : ns;
}

Result<std::string> HashPassword(std::string_view password) {
  if (password.empty()) return MakeError(ErrorCode::kInvalidArgument, "the password is empty");
  if (password.size() > 1024) {
    return MakeError(ErrorCode::kInvalidArgument, "the password is longer than 1024 bytes");
  }
  return auth::BcryptHash(password);
}

int64_t NowSeconds() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace

std::string Caller::actor() const { return name.empty() ? "anonymous" : name; }

Result<int64_t> ParseLifetime(std::string_view s) {
  if (s.empty()) return int64_t{0};
  if (s.back() == 'd') {
    if (auto days = ParseUint64(s.substr(0, s.size() - 1)); days && *days > 0 && *days < 36500) {
      return static_cast<int64_t>(*days) * 86400;
    }
  } else if (auto d = ParseGoDuration(s); d && d->count() > 0) {
    return std::max<int64_t>(1, std::chrono::duration_cast<std::chrono::seconds>(*d).count());
  }
  return MakeError(ErrorCode::kInvalidArgument,
                   "expiry " + Q(s) + ": want a duration such as 30d, 12h or 90m");
}

Operations::Operations(meta::Store& store, DirectoryFn directory)
    : store_(store), directory_(std::move(directory)) {}

Result<std::shared_ptr<const meta::Directory>> Operations::Dir() {
  if (directory_) return directory_();
  BERTH_ASSIGN_OR_RETURN(auto d, store_.LoadDirectory());
  return std::make_shared<const meta::Directory>(std::move(d));
}

bool Operations::IsServerAdmin(const Caller& c, const meta::Directory& dir) const {
  if (c.kind == Caller::Kind::kLocal) return true;
  if (c.kind != Caller::Kind::kUser) return false;
  auto u = dir.users.find(c.name);
  return u != dir.users.end() && u->second.admin;
}

bool Operations::Administers(const Caller& c, const meta::Directory& dir,
                             std::string_view ns) const {
  if (c.kind == Caller::Kind::kLocal) return true;
  if (c.kind != Caller::Kind::kUser || ns.empty()) return false;
  return meta::MayAdminister(dir, meta::Identity{c.name, nullptr}, ns);
}

Status Operations::RequireServerAdmin(const Caller& c, std::string_view what) {
  if (c.kind == Caller::Kind::kLocal) return Ok();
  BERTH_ASSIGN_OR_RETURN(auto dir, Dir());
  if (IsServerAdmin(c, *dir)) return Ok();
  return Refuse(c, what);
}

Status Operations::RequireAdminOf(const Caller& c, std::string_view ns, std::string_view what) {
  if (c.kind == Caller::Kind::kLocal) return Ok();
  BERTH_ASSIGN_OR_RETURN(auto dir, Dir());
  if (Administers(c, *dir, ns)) return Ok();
  return Refuse(c, what);
}

bool Operations::MayManageRobot(const Caller& c, const meta::Directory& dir,
                                const std::vector<meta::Scope>& scopes) const {
  if (IsServerAdmin(c, dir)) return true;
  if (scopes.empty()) return false;
  for (const meta::Scope& s : scopes) {
    // The namespace must be spelled out: `acme/*` stays inside acme (a '*' may match '/', so
    // `acme*` or `*/app` would reach other namespaces).
    size_t slash = s.glob.find('/');
    if (slash == std::string::npos || slash == 0) return false;
    std::string_view ns = std::string_view(s.glob).substr(0, slash);
    if (ns.find_first_of("*?") != std::string_view::npos) return false;
    if (!Administers(c, dir, ns)) return false;
  }
  return true;
}

// --- users

Result<std::vector<meta::User>> Operations::ListUsers(const Caller& c) {
  BERTH_RETURN_IF_ERROR(RequireServerAdmin(c, "list users"));
  return store_.ListUsers();
}

Status Operations::AddUser(const Caller& c, const std::string& name, std::string_view password,
                           bool admin) {
  BERTH_RETURN_IF_ERROR(RequireServerAdmin(c, "add users"));
  BERTH_RETURN_IF_ERROR(meta::ValidateName(name, "user"));
  BERTH_ASSIGN_OR_RETURN(auto hash, HashPassword(password));
  return store_.AddUser(name, hash, admin, c.actor());
}

Status Operations::AddUserWithHash(const Caller& c, const std::string& name,
                                   const std::string& hash) {
  BERTH_RETURN_IF_ERROR(RequireServerAdmin(c, "add users"));
  return store_.AddUser(name, hash, false, c.actor());
}

Status Operations::SetPassword(const Caller& c, const std::string& name,
                               std::string_view password) {
  if (!(c.kind == Caller::Kind::kUser && c.name == name)) {
    BERTH_RETURN_IF_ERROR(RequireServerAdmin(c, "change " + Q(name) + "'s password"));
  }
  BERTH_ASSIGN_OR_RETURN(auto hash, HashPassword(password));
  return store_.SetPassword(name, hash, c.actor());
}

Status Operations::SetAdmin(const Caller& c, const std::string& name, bool admin) {
  BERTH_RETURN_IF_ERROR(RequireServerAdmin(c, "make or unmake server admins"));
  return store_.SetAdmin(name, admin, c.actor());
}

Status Operations::DeleteUser(const Caller& c, const std::string& name) {
  BERTH_RETURN_IF_ERROR(RequireServerAdmin(c, "delete users"));
  return store_.DeleteUser(name, c.actor());
}

// --- organisations and teams

Result<std::vector<std::string>> Operations::ListOrgs(const Caller& c) {
  if (!Person(c)) return Refuse(c, "list organisations");
  BERTH_ASSIGN_OR_RETURN(auto orgs, store_.ListOrgs());
  if (c.kind == Caller::Kind::kLocal) return orgs;
  BERTH_ASSIGN_OR_RETURN(auto dir, Dir());
  std::erase_if(orgs, [&](const std::string& o) { return !Administers(c, *dir, o); });
  return orgs;
}

Status Operations::AddOrg(const Caller& c, const std::string& name) {
  BERTH_RETURN_IF_ERROR(RequireServerAdmin(c, "add organisations"));
  return store_.AddOrg(name, c.actor());
}

Status Operations::DeleteOrg(const Caller& c, const std::string& name) {
  BERTH_RETURN_IF_ERROR(RequireServerAdmin(c, "delete organisations"));
  return store_.DeleteOrg(name, c.actor());
}

Result<std::vector<meta::Team>> Operations::ListTeams(const Caller& c, const std::string& org) {
  BERTH_RETURN_IF_ERROR(RequireAdminOf(c, org, "see the teams of " + Q(org)));
  return store_.ListTeams(org);
}

Status Operations::AddTeam(const Caller& c, const std::string& org, const std::string& team) {
  BERTH_RETURN_IF_ERROR(RequireAdminOf(c, org, "manage the teams of " + Q(org)));
  return store_.AddTeam(org, team, c.actor());
}

Status Operations::DeleteTeam(const Caller& c, const std::string& org, const std::string& team) {
  BERTH_RETURN_IF_ERROR(RequireAdminOf(c, org, "manage the teams of " + Q(org)));
  return store_.DeleteTeam(org, team, c.actor());
}

Status Operations::AddMember(const Caller& c, const std::string& org, const std::string& team,
                             const std::string& user) {
  BERTH_RETURN_IF_ERROR(RequireAdminOf(c, org, "manage the teams of " + Q(org)));
  return store_.AddTeamMember(org, team, user, c.actor());
}

Status Operations::RemoveMember(const Caller& c, const std::string& org, const std::string& team,
                                const std::string& user) {
  BERTH_RETURN_IF_ERROR(RequireAdminOf(c, org, "manage the teams of " + Q(org)));
  return store_.RemoveTeamMember(org, team, user, c.actor());
}

// --- grants

Result<std::vector<meta::GrantRecord>> Operations::ListGrants(const Caller& c) {
  if (!Person(c)) return Refuse(c, "list grants");
  BERTH_ASSIGN_OR_RETURN(auto grants, store_.ListGrants());
  if (c.kind == Caller::Kind::kLocal) return grants;
  BERTH_ASSIGN_OR_RETURN(auto dir, Dir());
  std::erase_if(grants, [&](const meta::GrantRecord& g) {
    return !Administers(c, *dir, TargetNamespace(g.target));
  });
  return grants;
}

Status Operations::Grant(const Caller& c, const std::string& subject, std::string_view role,
                         const std::string& target) {
  if (role == "none") return Revoke(c, subject, target);
  BERTH_ASSIGN_OR_RETURN(meta::Role r, meta::ParseRole(role));
  BERTH_RETURN_IF_ERROR(RequireAdminOf(c, TargetNamespace(target), "grant roles on " + Q(target)));
  return store_.Grant(subject, r, target, c.actor());
}

Status Operations::Revoke(const Caller& c, const std::string& subject, const std::string& target) {
  BERTH_RETURN_IF_ERROR(RequireAdminOf(c, TargetNamespace(target), "revoke roles on " + Q(target)));
  return store_.Revoke(subject, target, c.actor());
}

// --- tokens

Result<meta::NewToken> Operations::AddToken(const Caller& c, const std::string& name,
                                            const std::string& owner,
                                            const std::vector<std::string>& scope_specs,
                                            std::string_view lifetime) {
  std::vector<meta::Scope> scopes;
  for (const auto& spec : scope_specs) {
    BERTH_ASSIGN_OR_RETURN(auto s, meta::ParseScopeSpec(spec));
    scopes.push_back(std::move(s));
  }
  BERTH_ASSIGN_OR_RETURN(int64_t seconds, ParseLifetime(lifetime));
  if (c.kind != Caller::Kind::kLocal) {
    BERTH_ASSIGN_OR_RETURN(auto dir, Dir());
    bool ok = owner.empty()
                  ? MayManageRobot(c, *dir, scopes)
                  : (c.kind == Caller::Kind::kUser && c.name == owner) || IsServerAdmin(c, *dir);
    if (!ok) {
      return Refuse(c, owner.empty() ? "create a robot with these scopes (each must name a "
                                       "namespace the caller administers, e.g. acme/*)"
                                     : "create tokens for " + Q(owner));
    }
  }
  return store_.AddToken(name, owner, std::move(scopes), seconds ? NowSeconds() + seconds : 0,
                         c.actor());
}

Result<std::vector<meta::TokenInfo>> Operations::ListTokens(const Caller& c, bool robots) {
  if (!Person(c)) return Refuse(c, robots ? "list robots" : "list tokens");
  BERTH_ASSIGN_OR_RETURN(auto tokens, store_.ListTokens());
  std::erase_if(tokens, [&](const meta::TokenInfo& t) { return t.owner.empty() != robots; });
  if (c.kind == Caller::Kind::kLocal) return tokens;
  BERTH_ASSIGN_OR_RETURN(auto dir, Dir());
  std::erase_if(tokens, [&](const meta::TokenInfo& t) {
    return robots ? !MayManageRobot(c, *dir, t.scopes)
                  : !(t.owner == c.name || IsServerAdmin(c, *dir));
  });
  return tokens;
}

Status Operations::RevokeToken(const Caller& c, const std::string& name, bool robots) {
  BERTH_ASSIGN_OR_RETURN(auto tokens, ListTokens(c, robots));
  auto t = std::find_if(tokens.begin(), tokens.end(),
                        [&](const meta::TokenInfo& t) { return t.name == name; });
  if (t == tokens.end()) {
    // Unknown, or not the caller's to see: the same answer, so names do not leak.
    return MakeError(ErrorCode::kNotFound,
                     std::string(robots ? "no robot " : "no personal token ") + Q(name));
  }
  return store_.RevokeToken(name, c.actor());
}

// --- quotas

Result<uint64_t> Operations::SetQuota(const Caller& c, const std::string& ns,
                                      std::string_view size) {
  BERTH_ASSIGN_OR_RETURN(uint64_t bytes, meta::ParseBytes(size));
  BERTH_RETURN_IF_ERROR(RequireServerAdmin(c, "set quotas"));
  BERTH_RETURN_IF_ERROR(store_.SetQuota(ns, bytes, c.actor()));
  return bytes;
}

Result<std::vector<meta::QuotaInfo>> Operations::Quotas(const Caller& c, const std::string& ns) {
  std::vector<meta::QuotaInfo> out;
  if (!ns.empty()) {
    BERTH_RETURN_IF_ERROR(RequireAdminOf(c, ns, "see the usage of " + Q(ns)));
    BERTH_ASSIGN_OR_RETURN(auto q, store_.GetQuota(ns));
    out.push_back(std::move(q));
    return out;
  }
  if (!Person(c)) return Refuse(c, "see quotas");
  BERTH_ASSIGN_OR_RETURN(out, store_.ListQuotas());
  if (c.kind == Caller::Kind::kLocal) return out;
  BERTH_ASSIGN_OR_RETURN(auto dir, Dir());
  std::erase_if(out, [&](const meta::QuotaInfo& q) { return !Administers(c, *dir, q.ns); });
  return out;
}

// --- repositories

Status Operations::SetVisibility(const Caller& c, const std::string& repo,
                                 std::string_view visibility) {
  if (visibility != "public" && visibility != "private") {
    return MakeError(ErrorCode::kInvalidArgument,
                     "visibility " + Q(visibility) + ": want public or private");
  }
  if (auto st = ValidateRepositoryName(repo); !st) {
    return MakeError(ErrorCode::kInvalidArgument, st.error().message);
  }
  // A repository outside every namespace ("ubuntu") belongs to the server's admins.
  if (meta::NamespaceOf(repo).empty()) {
    BERTH_RETURN_IF_ERROR(RequireServerAdmin(c, "change the visibility of " + Q(repo)));
  } else {
    BERTH_RETURN_IF_ERROR(
        RequireAdminOf(c, meta::NamespaceOf(repo), "change the visibility of " + Q(repo)));
  }
  return store_.SetVisibility(repo, visibility == "public", c.actor());
}

Result<std::string> Operations::Visibility(const Caller& c, const std::string& repo) {
  BERTH_ASSIGN_OR_RETURN(auto dir, Dir());
  bool is_public = dir->public_repos.contains(repo);
  if (!is_public && !Administers(c, *dir, meta::NamespaceOf(repo)) && !IsServerAdmin(c, *dir) &&
      !(c.kind == Caller::Kind::kUser &&
        meta::Allows(*dir, meta::Identity{c.name, nullptr}, repo, "pull", NowSeconds()))) {
    // As for a pull: a private repository the caller may not see is not named.
    return MakeError(ErrorCode::kNameUnknown, "repository " + Q(repo) + " is not known");
  }
  return std::string(is_public ? "public" : "private");
}

Result<std::vector<std::string>> Operations::PublicRepositories(const Caller&) {
  return store_.PublicRepositories();
}

// --- audit and identity

Result<std::vector<meta::AuditEntry>> Operations::Audit(const Caller& c, size_t limit) {
  BERTH_RETURN_IF_ERROR(RequireServerAdmin(c, "read the audit trail"));
  return store_.Audit(limit);
}

Result<Me> Operations::WhoAmI(const Caller& c) {
  Me me;
  me.name = c.name;
  me.kind = c.kind == Caller::Kind::kAnonymous ? "anonymous"
            : c.kind == Caller::Kind::kToken   ? "token"
                                               : "user";
  if (c.kind != Caller::Kind::kUser && c.kind != Caller::Kind::kLocal) return me;
  BERTH_ASSIGN_OR_RETURN(auto dir, Dir());
  me.admin = IsServerAdmin(c, *dir);
  if (auto t = dir->teams_of.find(c.name); t != dir->teams_of.end()) me.teams = t->second;
  std::sort(me.teams.begin(), me.teams.end());
  std::vector<std::string> namespaces(dir->orgs.begin(), dir->orgs.end());
  if (dir->users.contains(c.name)) namespaces.push_back(c.name);
  for (const std::string& ns : namespaces) {
    if (!Administers(c, *dir, ns)) continue;
    me.administers.push_back(ns);
    BERTH_ASSIGN_OR_RETURN(auto q, store_.GetQuota(ns));
    me.quotas.push_back(std::move(q));
  }
  return me;
}

}  // namespace berth::admin
