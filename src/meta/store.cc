#include "meta/store.h"

#include <chrono>

#include "common/digest.h"
#include "common/names.h"
#include "common/strings.h"

namespace berth::meta {
namespace {

// Versioned migrations: append, never edit a released one. Portable SQL (database.h).
struct Migration {
  int version;
  const char* sql;
};
constexpr Migration kMigrations[] = {
    {1, R"sql(
CREATE TABLE users (
  name TEXT PRIMARY KEY,
  password_hash TEXT NOT NULL,
  admin BIGINT NOT NULL DEFAULT 0,
  created_at BIGINT NOT NULL);
CREATE TABLE orgs (
  name TEXT PRIMARY KEY,
  created_at BIGINT NOT NULL);
CREATE TABLE teams (
  org TEXT NOT NULL,
  name TEXT NOT NULL,
  PRIMARY KEY (org, name));
CREATE TABLE team_members (
  org TEXT NOT NULL,
  team TEXT NOT NULL,
  username TEXT NOT NULL,
  PRIMARY KEY (org, team, username));
CREATE TABLE grants (
  subject TEXT NOT NULL,
  target TEXT NOT NULL,
  role TEXT NOT NULL,
  PRIMARY KEY (subject, target));
CREATE TABLE repositories (
  name TEXT PRIMARY KEY,
  visibility TEXT NOT NULL);
CREATE TABLE tokens (
  name TEXT PRIMARY KEY,
  owner TEXT NOT NULL,
  secret_sha256 TEXT NOT NULL UNIQUE,
  scopes TEXT NOT NULL,
  expires_at BIGINT NOT NULL,
  revoked BIGINT NOT NULL DEFAULT 0,
  created_at BIGINT NOT NULL);
CREATE TABLE quotas (
  namespace TEXT PRIMARY KEY,
  limit_bytes BIGINT NOT NULL,
  used_bytes BIGINT NOT NULL);
CREATE TABLE quota_blobs (
  namespace TEXT NOT NULL,
  digest TEXT NOT NULL,
  repository TEXT NOT NULL,
  size BIGINT NOT NULL,
  PRIMARY KEY (namespace, digest, repository));
CREATE TABLE audit (
  seq BIGINT PRIMARY KEY,
  at BIGINT NOT NULL,
  actor TEXT NOT NULL,
  action TEXT NOT NULL,
  target TEXT NOT NULL,
  detail TEXT NOT NULL);
)sql"},
};

const std::string& Str(const SqlRow& row, size_t i) {
  static const std::string kEmpty;
  return i < row.size() && row[i] ? *row[i] : kEmpty;
}
int64_t Int(const SqlRow& row, size_t i) {
  const std::string& s = Str(row, i);
  if (s.empty()) return 0;
  if (s[0] == '-') return -static_cast<int64_t>(ParseUint64(s.substr(1)).value_or(0));
  return static_cast<int64_t>(ParseUint64(s).value_or(0));
}

std::unexpected<Error> NotFound(std::string what) {
  return MakeError(ErrorCode::kNotFound, std::move(what));
}
std::unexpected<Error> Invalid(std::string what) {
  return MakeError(ErrorCode::kInvalidArgument, std::move(what));
}
std::string Q(std::string_view s) { return "\"" + std::string(s) + "\""; }

std::string JoinScopes(const std::vector<Scope>& scopes) {
  std::string out;
  for (const Scope& s : scopes) out += (out.empty() ? "" : " ") + FormatScope(s);
  return out;
}
std::vector<Scope> SplitScopes(std::string_view text) {
  std::vector<Scope> out;
  for (std::string_view part : Split(text, ' ')) {
    if (part.empty()) continue;
    if (auto s = ParseScopeSpec(part)) out.push_back(std::move(*s));
  }
  return out;
}

TokenInfo TokenFromRow(const SqlRow& r) {
  // name, owner, scopes, expires_at, revoked, created_at
  TokenInfo t;
  t.name = Str(r, 0);
  t.owner = Str(r, 1);
  t.scopes = SplitScopes(Str(r, 2));
  t.expires_at = Int(r, 3);
  t.revoked = Int(r, 4) != 0;
  t.created_at = Int(r, 5);
  return t;
}

}  // namespace

int CurrentSchemaVersion() { return kMigrations[std::size(kMigrations) - 1].version; }

template <typename Fn>
Status Store::Transact(Fn&& fn) {
  pending_.clear();
  BERTH_RETURN_IF_ERROR(db_->Begin());
  Status st = fn();
  if (!st) {
    db_->Rollback();
    return st;
  }
  Status c = db_->Commit();
  if (!c) {
    db_->Rollback();
    return c;
  }
  if (!pending_.empty()) local_changes_.fetch_add(1, std::memory_order_acq_rel);
  if (hook_) {
    for (const AuditEntry& e : pending_) hook_(e.actor, e.action, e.target, e.detail);
  }
  pending_.clear();
  return c;
}

void Store::OnChange(ChangeHook hook) {
  std::lock_guard lock(mu_);
  hook_ = std::move(hook);
}

int64_t Store::Now() const {
  return std::chrono::duration_cast<std::chrono::seconds>(clock_.Now().time_since_epoch()).count();
}

Result<std::shared_ptr<Store>> Store::Open(DatabasePtr db, const Clock& clock) {
  std::shared_ptr<Store> store(new Store(std::move(db), clock));
  std::lock_guard lock(store->mu_);
  BERTH_RETURN_IF_ERROR(store->Migrate());
  return store;
}

Status Store::Migrate() {
  BERTH_RETURN_IF_ERROR(db_->ExecScript(
      "CREATE TABLE IF NOT EXISTS berth_meta_state (key TEXT PRIMARY KEY, value BIGINT NOT NULL)"));
  return Transact([&]() -> Status {
    if (db_->Dialect() == "postgres") {
      // Replicas starting together migrate one at a time.
      BERTH_RETURN_IF_ERROR(db_->Query("SELECT pg_advisory_xact_lock(4930724521)"));
    }
    BERTH_ASSIGN_OR_RETURN(
        auto rows, db_->Query("SELECT value FROM berth_meta_state WHERE key = 'schema_version'"));
    int64_t version = rows.empty() ? 0 : Int(rows[0], 0);
    if (version > CurrentSchemaVersion()) {
      return MakeError(ErrorCode::kUnavailable,
                       "metadata store " + db_->Describe() + ": schema version " +
                           std::to_string(version) + " is newer than this berth understands (" +
                           std::to_string(CurrentSchemaVersion()) +
                           "); upgrade berth (a newer one wrote it)");
    }
    for (const Migration& m : kMigrations) {
      if (m.version <= version) continue;
      auto st = db_->ExecScript(m.sql);
      if (!st) {
        return MakeError(st.error().code, "metadata store migration to version " +
                                              std::to_string(m.version) + ": " +
                                              st.error().message);
      }
      BERTH_RETURN_IF_ERROR(db_->Query(
          "INSERT INTO berth_meta_state (key, value) VALUES ('schema_version', $1) "
          "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
          {int64_t{m.version}}));
    }
    BERTH_RETURN_IF_ERROR(db_->Query(
        "INSERT INTO berth_meta_state (key, value) VALUES ('generation', 1) "
        "ON CONFLICT (key) DO NOTHING"));
    return Ok();
  });
}

std::string Store::Describe() const { return db_->Describe(); }

Result<int> Store::SchemaVersion() {
  std::lock_guard lock(mu_);
  BERTH_ASSIGN_OR_RETURN(
      auto rows, db_->Query("SELECT value FROM berth_meta_state WHERE key = 'schema_version'"));
  return rows.empty() ? 0 : static_cast<int>(Int(rows[0], 0));
}

Result<uint64_t> Store::Generation() {
  std::lock_guard lock(mu_);
  BERTH_ASSIGN_OR_RETURN(
      auto rows, db_->Query("SELECT value FROM berth_meta_state WHERE key = 'generation'"));
  return rows.empty() ? 0 : static_cast<uint64_t>(Int(rows[0], 0));
}

Status Store::Changed(const std::string& actor, const std::string& action,
                      const std::string& target, const std::string& detail) {
  BERTH_ASSIGN_OR_RETURN(
      auto rows, db_->Query("UPDATE berth_meta_state SET value = value + 1 "
                            "WHERE key = 'generation' RETURNING value"));
  if (rows.empty()) return MakeError(ErrorCode::kIo, "metadata store: generation row missing");
  AuditEntry e{Now(), actor, action, target, detail};
  BERTH_RETURN_IF_ERROR(db_->Query(
      "INSERT INTO audit (seq, at, actor, action, target, detail) VALUES ($1, $2, $3, $4, $5, $6)",
      {Int(rows[0], 0), e.at, actor, action, target, detail}));
  pending_.push_back(std::move(e));
  return Ok();
}

Result<Directory> Store::LoadDirectory() {
  std::lock_guard lock(mu_);
  Directory d;
  BERTH_ASSIGN_OR_RETURN(
      auto gen, db_->Query("SELECT value FROM berth_meta_state WHERE key = 'generation'"));
  d.generation = gen.empty() ? 0 : static_cast<uint64_t>(Int(gen[0], 0));
  BERTH_ASSIGN_OR_RETURN(auto users, db_->Query("SELECT name, password_hash, admin FROM users"));
  for (const auto& r : users) d.users[Str(r, 0)] = {Str(r, 1), Int(r, 2) != 0};
  BERTH_ASSIGN_OR_RETURN(auto orgs, db_->Query("SELECT name FROM orgs"));
  for (const auto& r : orgs) d.orgs.insert(Str(r, 0));
  BERTH_ASSIGN_OR_RETURN(auto members, db_->Query("SELECT org, team, username FROM team_members"));
  for (const auto& r : members) d.teams_of[Str(r, 2)].push_back(Str(r, 0) + "/" + Str(r, 1));
  BERTH_ASSIGN_OR_RETURN(auto grants, db_->Query("SELECT subject, target, role FROM grants"));
  for (const auto& r : grants) {
    if (auto role = ParseRole(Str(r, 2))) d.grants[Str(r, 0)][Str(r, 1)] = *role;
  }
  BERTH_ASSIGN_OR_RETURN(auto pub,
                         db_->Query("SELECT name FROM repositories WHERE visibility = 'public'"));
  for (const auto& r : pub) d.public_repos.insert(Str(r, 0));
  BERTH_ASSIGN_OR_RETURN(
      auto tokens, db_->Query("SELECT name, owner, scopes, expires_at, revoked, created_at, "
                              "secret_sha256 FROM tokens"));
  for (const auto& r : tokens) {
    TokenInfo t = TokenFromRow(r);
    if (t.owner.empty()) d.robot_secret[t.name] = Str(r, 6);
    d.tokens_by_secret[Str(r, 6)] = std::move(t);
  }
  return d;
}

// --- users

namespace {
// A login name is a user or a robot; a namespace name is a user or an organisation. Keeping the
// three apart means a name always means one thing.
Status NameIsFree(Database& db, const std::string& name) {
  BERTH_ASSIGN_OR_RETURN(auto rows,
                         db.Query("SELECT 'user' FROM users WHERE name = $1 UNION ALL "
                                  "SELECT 'organisation' FROM orgs WHERE name = $1 UNION ALL "
                                  "SELECT 'robot' FROM tokens WHERE name = $1 AND owner = ''",
                                  {name}));
  if (!rows.empty()) {
    return MakeError(ErrorCode::kAlreadyExists,
                     "the name " + Q(name) + " is already taken by a " + Str(rows[0], 0));
  }
  return Ok();
}
// Runs a statement that must touch a row (UPDATE/DELETE ... RETURNING); kNotFound with `missing`
// when it touched none.
Result<std::vector<SqlRow>> Touch(Database& db, std::string_view sql,
                                  const std::vector<SqlValue>& params, std::string missing) {
  BERTH_ASSIGN_OR_RETURN(auto rows, db.Query(sql, params));
  if (rows.empty()) return NotFound(std::move(missing));
  return rows;
}
Status UserExists(Database& db, const std::string& name) {
  BERTH_ASSIGN_OR_RETURN(auto rows, db.Query("SELECT 1 FROM users WHERE name = $1", {name}));
  if (rows.empty()) return NotFound("no user " + Q(name));
  return Ok();
}
Status OrgExists(Database& db, const std::string& name) {
  BERTH_ASSIGN_OR_RETURN(auto rows, db.Query("SELECT 1 FROM orgs WHERE name = $1", {name}));
  if (rows.empty()) return NotFound("no organisation " + Q(name));
  return Ok();
}
Status TeamExists(Database& db, const std::string& org, const std::string& team) {
  BERTH_ASSIGN_OR_RETURN(
      auto rows, db.Query("SELECT 1 FROM teams WHERE org = $1 AND name = $2", {org, team}));
  if (rows.empty()) return NotFound("no team " + Q(org + "/" + team));
  return Ok();
}
}  // namespace

Status Store::AddUser(const std::string& name, const std::string& password_hash, bool admin,
                      const std::string& actor) {
  BERTH_RETURN_IF_ERROR(ValidateName(name, "user"));
  if (password_hash.empty()) return Invalid("a password hash is required");
  std::lock_guard lock(mu_);
  return Transact([&]() -> Status {
    BERTH_RETURN_IF_ERROR(NameIsFree(*db_, name));
    BERTH_RETURN_IF_ERROR(db_->Query(
        "INSERT INTO users (name, password_hash, admin, created_at) VALUES ($1, $2, $3, $4)",
        {name, password_hash, int64_t{admin ? 1 : 0}, Now()}));
    return Changed(actor, "user.add", name, admin ? "admin" : "");
  });
}

Status Store::SetPassword(const std::string& name, const std::string& password_hash,
                          const std::string& actor) {
  if (password_hash.empty()) return Invalid("a password hash is required");
  std::lock_guard lock(mu_);
  return Transact([&]() -> Status {
    BERTH_RETURN_IF_ERROR(Touch(*db_,
                                "UPDATE users SET password_hash = $2 WHERE name = $1 "
                                "RETURNING name",
                                {name, password_hash}, "no user " + Q(name)));
    return Changed(actor, "user.passwd", name);
  });
}

Status Store::SetAdmin(const std::string& name, bool admin, const std::string& actor) {
  std::lock_guard lock(mu_);
  return Transact([&]() -> Status {
    BERTH_RETURN_IF_ERROR(Touch(*db_, "UPDATE users SET admin = $2 WHERE name = $1 RETURNING name",
                                {name, int64_t{admin ? 1 : 0}}, "no user " + Q(name)));
    return Changed(actor, admin ? "user.admin" : "user.unadmin", name);
  });
}

Status Store::DeleteUser(const std::string& name, const std::string& actor) {
  std::lock_guard lock(mu_);
  return Transact([&]() -> Status {
    BERTH_RETURN_IF_ERROR(Touch(*db_, "DELETE FROM users WHERE name = $1 RETURNING name", {name},
                                "no user " + Q(name)));
    BERTH_RETURN_IF_ERROR(db_->Query("DELETE FROM team_members WHERE username = $1", {name}));
    BERTH_RETURN_IF_ERROR(db_->Query("DELETE FROM grants WHERE subject = $1", {name}));
    BERTH_RETURN_IF_ERROR(db_->Query("DELETE FROM tokens WHERE owner = $1", {name}));
    return Changed(actor, "user.delete", name);
  });
}

Result<std::vector<User>> Store::ListUsers() {
  std::lock_guard lock(mu_);
  BERTH_ASSIGN_OR_RETURN(auto rows,
                         db_->Query("SELECT name, admin, created_at FROM users ORDER BY name"));
  std::vector<User> out;
  for (const auto& r : rows) out.push_back(User{Str(r, 0), Int(r, 1) != 0, Int(r, 2)});
  return out;
}

Result<std::optional<std::string>> Store::PasswordHash(const std::string& name) {
  std::lock_guard lock(mu_);
  BERTH_ASSIGN_OR_RETURN(auto rows,
                         db_->Query("SELECT password_hash FROM users WHERE name = $1", {name}));
  if (rows.empty()) return std::optional<std::string>();
  return std::optional<std::string>(Str(rows[0], 0));
}

// --- organisations and teams

Status Store::AddOrg(const std::string& name, const std::string& actor) {
  BERTH_RETURN_IF_ERROR(ValidateName(name, "organisation"));
  std::lock_guard lock(mu_);
  return Transact([&]() -> Status {
    BERTH_RETURN_IF_ERROR(NameIsFree(*db_, name));
    BERTH_RETURN_IF_ERROR(
        db_->Query("INSERT INTO orgs (name, created_at) VALUES ($1, $2)", {name, Now()}));
    return Changed(actor, "org.add", name);
  });
}

Status Store::DeleteOrg(const std::string& name, const std::string& actor) {
  std::lock_guard lock(mu_);
  return Transact([&]() -> Status {
    BERTH_RETURN_IF_ERROR(Touch(*db_, "DELETE FROM orgs WHERE name = $1 RETURNING name", {name},
                                "no organisation " + Q(name)));
    std::string prefix = name + "/";
    int64_t len = static_cast<int64_t>(prefix.size());
    BERTH_RETURN_IF_ERROR(db_->Query("DELETE FROM teams WHERE org = $1", {name}));
    BERTH_RETURN_IF_ERROR(db_->Query("DELETE FROM team_members WHERE org = $1", {name}));
    BERTH_RETURN_IF_ERROR(db_->Query(
        "DELETE FROM grants WHERE target = $1 OR substr(target, 1, $2) = $3 "
        "OR substr(subject, 1, $2) = $3",
        {name, len, prefix}));
    return Changed(actor, "org.delete", name);
  });
}

Result<std::vector<std::string>> Store::ListOrgs() {
  std::lock_guard lock(mu_);
  BERTH_ASSIGN_OR_RETURN(auto rows, db_->Query("SELECT name FROM orgs ORDER BY name"));
  std::vector<std::string> out;
  for (const auto& r : rows) out.push_back(Str(r, 0));
  return out;
}

Status Store::AddTeam(const std::string& org, const std::string& team, const std::string& actor) {
  BERTH_RETURN_IF_ERROR(ValidateName(team, "team"));
  std::lock_guard lock(mu_);
  return Transact([&]() -> Status {
    BERTH_RETURN_IF_ERROR(OrgExists(*db_, org));
    auto st = db_->Query("INSERT INTO teams (org, name) VALUES ($1, $2)", {org, team});
    if (!st && st.error().Is(ErrorCode::kAlreadyExists)) {
      return MakeError(ErrorCode::kAlreadyExists, "team " + Q(org + "/" + team) + " exists");
    }
    BERTH_RETURN_IF_ERROR(st);
    return Changed(actor, "team.add", org + "/" + team);
  });
}

Status Store::DeleteTeam(const std::string& org, const std::string& team,
                         const std::string& actor) {
  std::lock_guard lock(mu_);
  return Transact([&]() -> Status {
    BERTH_RETURN_IF_ERROR(Touch(*db_,
                                "DELETE FROM teams WHERE org = $1 AND name = $2 RETURNING name",
                                {org, team}, "no team " + Q(org + "/" + team)));
    BERTH_RETURN_IF_ERROR(
        db_->Query("DELETE FROM team_members WHERE org = $1 AND team = $2", {org, team}));
    BERTH_RETURN_IF_ERROR(db_->Query("DELETE FROM grants WHERE subject = $1", {org + "/" + team}));
    return Changed(actor, "team.delete", org + "/" + team);
  });
}

Status Store::AddTeamMember(const std::string& org, const std::string& team,
                            const std::string& user, const std::string& actor) {
  std::lock_guard lock(mu_);
  return Transact([&]() -> Status {
    BERTH_RETURN_IF_ERROR(TeamExists(*db_, org, team));
    BERTH_RETURN_IF_ERROR(UserExists(*db_, user));
    BERTH_RETURN_IF_ERROR(db_->Query(
        "INSERT INTO team_members (org, team, username) VALUES ($1, $2, $3) "
        "ON CONFLICT (org, team, username) DO NOTHING",
        {org, team, user}));
    return Changed(actor, "team.member.add", org + "/" + team, user);
  });
}

Status Store::RemoveTeamMember(const std::string& org, const std::string& team,
                               const std::string& user, const std::string& actor) {
  std::lock_guard lock(mu_);
  return Transact([&]() -> Status {
    BERTH_RETURN_IF_ERROR(Touch(*db_,
                                "DELETE FROM team_members WHERE org = $1 AND "
                                "team = $2 AND username = $3 RETURNING username",
                                {org, team, user},
                                Q(user) + " is not a member of " + Q(org + "/" + team)));
    return Changed(actor, "team.member.remove", org + "/" + team, user);
  });
}

Result<std::vector<Team>> Store::ListTeams(const std::string& org) {
  std::lock_guard lock(mu_);
  BERTH_RETURN_IF_ERROR(OrgExists(*db_, org));
  BERTH_ASSIGN_OR_RETURN(auto teams,
                         db_->Query("SELECT name FROM teams WHERE org = $1 ORDER BY name", {org}));
  BERTH_ASSIGN_OR_RETURN(
      auto members,
      db_->Query("SELECT team, username FROM team_members WHERE org = $1 ORDER BY username",
                 {org}));
  std::vector<Team> out;
  for (const auto& r : teams) {
    Team t{org, Str(r, 0), {}};
    for (const auto& m : members) {
      if (Str(m, 0) == t.name) t.members.push_back(Str(m, 1));
    }
    out.push_back(std::move(t));
  }
  return out;
}

// --- grants

Status Store::Grant(const std::string& subject, Role role, const std::string& target,
                    const std::string& actor) {
  if (role == Role::kNone) return Invalid("no role given");
  std::lock_guard lock(mu_);
  return Transact([&]() -> Status {
    if (size_t slash = subject.find('/'); slash != std::string::npos) {
      BERTH_RETURN_IF_ERROR(TeamExists(*db_, subject.substr(0, slash), subject.substr(slash + 1)));
    } else {
      BERTH_RETURN_IF_ERROR(UserExists(*db_, subject));
    }
    if (target.find('/') == std::string::npos) {
      // A namespace: an organisation (or a user's, to share a personal namespace).
      BERTH_ASSIGN_OR_RETURN(auto rows, db_->Query("SELECT 1 FROM orgs WHERE name = $1 UNION ALL "
                                                   "SELECT 1 FROM users WHERE name = $1",
                                                   {target}));
      if (rows.empty()) {
        return NotFound("no organisation or user " + Q(target) +
                        " (a repository target has a '/' in its name)");
      }
    } else if (auto st = ValidateRepositoryName(target); !st) {
      return Invalid("target " + Q(target) + ": " + st.error().message);
    }
    BERTH_RETURN_IF_ERROR(db_->Query(
        "INSERT INTO grants (subject, target, role) VALUES ($1, $2, $3) "
        "ON CONFLICT (subject, target) DO UPDATE SET role = excluded.role",
        {subject, target, std::string(RoleName(role))}));
    return Changed(actor, "grant.set", target, subject + " " + std::string(RoleName(role)));
  });
}

Status Store::Revoke(const std::string& subject, const std::string& target,
                     const std::string& actor) {
  std::lock_guard lock(mu_);
  return Transact([&]() -> Status {
    BERTH_RETURN_IF_ERROR(Touch(*db_,
                                "DELETE FROM grants WHERE subject = $1 AND "
                                "target = $2 RETURNING role",
                                {subject, target}, Q(subject) + " holds no role on " + Q(target)));
    return Changed(actor, "grant.revoke", target, subject);
  });
}

Result<std::vector<GrantRecord>> Store::ListGrants() {
  std::lock_guard lock(mu_);
  BERTH_ASSIGN_OR_RETURN(
      auto rows, db_->Query("SELECT subject, role, target FROM grants ORDER BY target, subject"));
  std::vector<GrantRecord> out;
  for (const auto& r : rows) {
    out.push_back(GrantRecord{Str(r, 0), ParseRole(Str(r, 1)).value_or(Role::kNone), Str(r, 2)});
  }
  return out;
}

// --- repository settings

Status Store::SetVisibility(const std::string& repo, bool is_public, const std::string& actor) {
  if (auto st = ValidateRepositoryName(repo); !st) return Invalid(st.error().message);
  std::lock_guard lock(mu_);
  return Transact([&]() -> Status {
    const std::string visibility = is_public ? "public" : "private";
    BERTH_RETURN_IF_ERROR(db_->Query(
        "INSERT INTO repositories (name, visibility) VALUES ($1, $2) "
        "ON CONFLICT (name) DO UPDATE SET visibility = excluded.visibility",
        {repo, visibility}));
    return Changed(actor, "repo.visibility", repo, visibility);
  });
}

Result<std::vector<std::string>> Store::PublicRepositories() {
  std::lock_guard lock(mu_);
  BERTH_ASSIGN_OR_RETURN(
      auto rows,
      db_->Query("SELECT name FROM repositories WHERE visibility = 'public' ORDER BY name"));
  std::vector<std::string> out;
  for (const auto& r : rows) out.push_back(Str(r, 0));
  return out;
}

// --- tokens

Result<NewToken> Store::AddToken(const std::string& name, const std::string& owner,
                                 std::vector<Scope> scopes, int64_t expires_at,
                                 const std::string& actor) {
  BERTH_RETURN_IF_ERROR(ValidateName(name, owner.empty() ? "robot" : "token"));
  if (scopes.empty()) return Invalid("a token needs at least one scope (GLOB:ACTIONS)");
  NewToken out;
  out.secret = "berth_" + RandomHex(32);
  out.info = TokenInfo{name, owner, std::move(scopes), expires_at, false, Now()};
  std::string secret_digest = Digest::Of(out.secret).hex();
  std::lock_guard lock(mu_);
  BERTH_RETURN_IF_ERROR(Transact([&]() -> Status {
    if (owner.empty()) {
      BERTH_RETURN_IF_ERROR(NameIsFree(*db_, name));
    } else {
      BERTH_RETURN_IF_ERROR(UserExists(*db_, owner));
    }
    auto st = db_->Query(
        "INSERT INTO tokens (name, owner, secret_sha256, scopes, expires_at, revoked, "
        "created_at) VALUES ($1, $2, $3, $4, $5, 0, $6)",
        {name, owner, secret_digest, JoinScopes(out.info.scopes), expires_at,
         out.info.created_at});
    if (!st && st.error().Is(ErrorCode::kAlreadyExists)) {
      return MakeError(ErrorCode::kAlreadyExists, "a token named " + Q(name) + " exists");
    }
    BERTH_RETURN_IF_ERROR(st);
    return Changed(actor, owner.empty() ? "robot.add" : "token.add", name,
                   JoinScopes(out.info.scopes));
  }));
  return out;
}

Status Store::RevokeToken(const std::string& name, const std::string& actor) {
  std::lock_guard lock(mu_);
  return Transact([&]() -> Status {
    BERTH_ASSIGN_OR_RETURN(
        auto rows, Touch(*db_, "UPDATE tokens SET revoked = 1 WHERE name = $1 RETURNING owner",
                         {name}, "no robot or token " + Q(name)));
    return Changed(actor, Str(rows[0], 0).empty() ? "robot.revoke" : "token.revoke", name);
  });
}

Result<std::vector<TokenInfo>> Store::ListTokens() {
  std::lock_guard lock(mu_);
  BERTH_ASSIGN_OR_RETURN(auto rows,
                         db_->Query("SELECT name, owner, scopes, expires_at, revoked, created_at "
                                    "FROM tokens ORDER BY owner, name"));
  std::vector<TokenInfo> out;
  for (const auto& r : rows) out.push_back(TokenFromRow(r));
  return out;
}

// --- quotas

Status Store::SetQuota(const std::string& ns, uint64_t limit_bytes, const std::string& actor) {
  BERTH_RETURN_IF_ERROR(ValidateName(ns, "namespace"));
  if (limit_bytes > static_cast<uint64_t>(INT64_MAX)) return Invalid("quota too large");
  std::lock_guard lock(mu_);
  return Transact([&]() -> Status {
    BERTH_RETURN_IF_ERROR(Touch(*db_,
                                "SELECT 1 FROM orgs WHERE name = $1 UNION ALL "
                                "SELECT 1 FROM users WHERE name = $1",
                                {ns}, "no organisation or user " + Q(ns)));
    BERTH_RETURN_IF_ERROR(db_->Query(
        "INSERT INTO quotas (namespace, limit_bytes, used_bytes) VALUES ($1, $2, 0) "
        "ON CONFLICT (namespace) DO UPDATE SET limit_bytes = excluded.limit_bytes",
        {ns, static_cast<int64_t>(limit_bytes)}));
    return Changed(actor, "quota.set", ns, std::to_string(limit_bytes));
  });
}

Result<QuotaInfo> Store::GetQuota(const std::string& ns) {
  std::lock_guard lock(mu_);
  BERTH_ASSIGN_OR_RETURN(
      auto rows,
      db_->Query("SELECT limit_bytes, used_bytes FROM quotas WHERE namespace = $1", {ns}));
  QuotaInfo q{ns, 0, 0};
  if (!rows.empty()) {
    q.limit_bytes = static_cast<uint64_t>(Int(rows[0], 0));
    q.used_bytes = static_cast<uint64_t>(Int(rows[0], 1));
  }
  return q;
}

Result<std::vector<QuotaInfo>> Store::ListQuotas() {
  std::lock_guard lock(mu_);
  BERTH_ASSIGN_OR_RETURN(
      auto rows,
      db_->Query("SELECT namespace, limit_bytes, used_bytes FROM quotas ORDER BY namespace"));
  std::vector<QuotaInfo> out;
  for (const auto& r : rows) {
    out.push_back(QuotaInfo{Str(r, 0), static_cast<uint64_t>(Int(r, 1)),
                            static_cast<uint64_t>(Int(r, 2))});
  }
  return out;
}

Result<Charge> Store::ChargeBlob(const std::string& repo, const std::string& digest,
                                 uint64_t size) {
  std::string ns(NamespaceOf(repo));
  Charge out;
  std::lock_guard lock(mu_);
  BERTH_RETURN_IF_ERROR(Transact([&]() -> Status {
    BERTH_RETURN_IF_ERROR(db_->Query(
        "INSERT INTO quotas (namespace, limit_bytes, used_bytes) VALUES ($1, 0, 0) "
        "ON CONFLICT (namespace) DO NOTHING",
        {ns}));
    // PostgreSQL: lock the namespace's row so concurrent charges queue; SQLite's BEGIN IMMEDIATE
    // already holds the database's write lock.
    BERTH_ASSIGN_OR_RETURN(
        auto q, db_->Query(db_->Dialect() == "postgres"
                               ? "SELECT limit_bytes, used_bytes FROM quotas WHERE namespace = $1 "
                                 "FOR UPDATE"
                               : "SELECT limit_bytes, used_bytes FROM quotas WHERE namespace = $1",
                           {ns}));
    out.quota = QuotaInfo{ns, static_cast<uint64_t>(Int(q.at(0), 0)),
                          static_cast<uint64_t>(Int(q.at(0), 1))};
    BERTH_ASSIGN_OR_RETURN(
        auto held,
        db_->Query("SELECT 1 FROM quota_blobs WHERE namespace = $1 AND digest = $2 LIMIT 1",
                   {ns, digest}));
    if (held.empty()) {
      const QuotaInfo& qi = out.quota;
      if (qi.limit_bytes != 0 && qi.used_bytes + size > qi.limit_bytes) {
        Error e{ErrorCode::kDenied,
                "quota exceeded for namespace " + Q(ns) + ": " + FormatBytes(qi.used_bytes) +
                    " used of " + FormatBytes(qi.limit_bytes) + "; this blob needs " +
                    FormatBytes(size),
                "{\"namespace\":" + Q(ns) + ",\"used\":" + std::to_string(qi.used_bytes) +
                    ",\"limit\":" + std::to_string(qi.limit_bytes) +
                    ",\"size\":" + std::to_string(size) + "}",
                0};
        return std::unexpected(std::move(e));
      }
      BERTH_RETURN_IF_ERROR(db_->Query(
          "UPDATE quotas SET used_bytes = used_bytes + $2 WHERE namespace = $1",
          {ns, static_cast<int64_t>(size)}));
      out.counted = true;
      out.quota.used_bytes += size;
    }
    BERTH_ASSIGN_OR_RETURN(
        auto inserted,
        db_->Query("INSERT INTO quota_blobs (namespace, digest, repository, size) "
                   "VALUES ($1, $2, $3, $4) ON CONFLICT (namespace, digest, repository) DO NOTHING "
                   "RETURNING size",
                   {ns, digest, repo, static_cast<int64_t>(size)}));
    out.new_hold = !inserted.empty();
    return Ok();
  }));
  return out;
}

Status Store::ReleaseBlob(const std::string& repo, const std::string& digest) {
  std::string ns(NamespaceOf(repo));
  std::lock_guard lock(mu_);
  return Transact([&]() -> Status {
    BERTH_ASSIGN_OR_RETURN(
        auto gone, db_->Query("DELETE FROM quota_blobs WHERE namespace = $1 AND digest = $2 AND "
                              "repository = $3 RETURNING size",
                              {ns, digest, repo}));
    if (gone.empty()) return Ok();
    BERTH_ASSIGN_OR_RETURN(
        auto still,
        db_->Query("SELECT 1 FROM quota_blobs WHERE namespace = $1 AND digest = $2 LIMIT 1",
                   {ns, digest}));
    if (!still.empty()) return Ok();
    int64_t size = Int(gone[0], 0);
    BERTH_RETURN_IF_ERROR(db_->Query(
        "UPDATE quotas SET used_bytes = CASE WHEN used_bytes >= $2 THEN used_bytes - $2 ELSE 0 "
        "END WHERE namespace = $1",
        {ns, size}));
    return Ok();
  });
}

Result<std::vector<AuditEntry>> Store::Audit(size_t limit) {
  std::lock_guard lock(mu_);
  BERTH_ASSIGN_OR_RETURN(
      auto rows,
      db_->Query("SELECT at, actor, action, target, detail FROM audit ORDER BY seq DESC LIMIT $1",
                 {static_cast<int64_t>(std::min<size_t>(limit, 100000))}));
  std::vector<AuditEntry> out;
  for (const auto& r : rows) {
    out.push_back(AuditEntry{Int(r, 0), Str(r, 1), Str(r, 2), Str(r, 3), Str(r, 4)});
  }
  return out;
}

Result<StorePtr> OpenStore(const std::string& driver, const std::string& path,
                           const std::string& dsn, const Clock& clock) {
  Result<DatabasePtr> db = driver == "postgres" ? OpenPostgres(dsn) : OpenSqlite(path);
  if (!db) return std::unexpected(db.error());
  return Store::Open(std::move(*db), clock);
}

}  // namespace berth::meta
