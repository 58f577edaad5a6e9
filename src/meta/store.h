#pragma once
// The metadata store: what the storage layout does not hold (users, organisations, teams, grants,
// repository visibility, robot accounts and personal access tokens, quotas and their usage, and the
// audit trail of every change). Content (blobs, manifests, tags) stays in the storage layout.
//
// One Store over a Database (database.h): SQLite, the embedded default, or PostgreSQL for several
// replicas; both pass the same conformance suite (test/meta/store_conformance_test.cc).
//
// Schema: versioned migrations (store.cc, kMigrations) applied by Open inside one transaction each;
// a database whose schema is newer than this binary is refused (kUnavailable, "... schema version
// 7 is newer than this berth understands (2); upgrade berth") rather than misread.
//
// Every change bumps the store's generation and writes an audit entry in the same transaction, so a
// cache keyed on Generation() (the authorizer's) sees a change, made by this process or by the CLI
// in another, on its next request. Quota charges do not bump it (they change no access).
//
// Change hook (OnChange): told of each change after its transaction commits, with the fields of its
// audit entry, so the changes can also go to another audit trail (berth.audit, notify/changes.h)
// without the store depending on it. Never told of a change that rolled back.
//
// Thread-safety: thread-safe (one connection behind a mutex). Calls block on the database.
// Errors: kInvalidArgument (bad name, unknown role, ...), kNotFound (no such user/org/team/token),
// kAlreadyExists (the name is taken), kDenied (a quota would be exceeded; the message gives usage
// and limit), kUnavailable / kIo (the database).

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/error.h"
#include "common/time.h"
#include "meta/database.h"
#include "meta/model.h"

namespace berth::meta {

// The schema version this binary writes and understands.
int CurrentSchemaVersion();

// A new token's secret, shown once ("berth_" + 64 hex digits); the store keeps only its SHA-256.
struct NewToken {
  TokenInfo info;
  std::string secret;
};

// What ChargeBlob did.
struct Charge {
  bool counted = false;    // the blob was new to the namespace and its size was added
  bool new_hold = false;   // the repository did not hold the blob before (release undoes it)
  QuotaInfo quota;       // after the charge
};

// Same shape as notify::ChangeHook, so that one converts to the other.
using ChangeHook = std::function<void(std::string_view actor, std::string_view action,
                                      std::string_view target, std::string_view detail)>;

class Store {
 public:
  // Applies the migrations. Errors: kUnavailable (newer schema, cannot open), kIo.
  static Result<std::shared_ptr<Store>> Open(DatabasePtr db, const Clock& clock = SystemClock());
  Store(const Store&) = delete;
  Store& operator=(const Store&) = delete;

  // Replaces the change hook (null: none). Called with the store's lock held: it must not call
  // back into the store, and must not block on more than a local write.
  void OnChange(ChangeHook hook);

  std::string Describe() const;
  Result<int> SchemaVersion();
  // Changes whenever anything an access decision reads changes.
  Result<uint64_t> Generation();
  // Without a query, for readers that cache what the store holds (the tenancy's directory): a
  // count of the changes this Store object committed, and the database's change stamp
  // (Database::ChangeStamp; changes when another process commits; nullopt for PostgreSQL).
  uint64_t LocalChanges() const { return local_changes_.load(std::memory_order_acquire); }
  std::optional<uint64_t> ChangeStamp() const { return db_->ChangeStamp(); }
  // The users, organisations, teams, grants, public repositories and tokens, in one read.
  Result<Directory> LoadDirectory();

  // --- users (`actor` names who made the change, for the audit trail)
  Status AddUser(const std::string& name, const std::string& password_hash, bool admin,
                 const std::string& actor);
  Status SetPassword(const std::string& name, const std::string& password_hash,
                     const std::string& actor);
  Status SetAdmin(const std::string& name, bool admin, const std::string& actor);
  Status DeleteUser(const std::string& name, const std::string& actor);
  Result<std::vector<User>> ListUsers();
  // The bcrypt hash, or nullopt for an unknown user.
  Result<std::optional<std::string>> PasswordHash(const std::string& name);

  // --- organisations and teams
  Status AddOrg(const std::string& name, const std::string& actor);
  // Also removes its teams and every grant on it, its repositories or held by its teams.
  Status DeleteOrg(const std::string& name, const std::string& actor);
  Result<std::vector<std::string>> ListOrgs();
  Status AddTeam(const std::string& org, const std::string& team, const std::string& actor);
  Status DeleteTeam(const std::string& org, const std::string& team, const std::string& actor);
  Status AddTeamMember(const std::string& org, const std::string& team, const std::string& user,
                       const std::string& actor);
  Status RemoveTeamMember(const std::string& org, const std::string& team,
                          const std::string& user, const std::string& actor);
  Result<std::vector<Team>> ListTeams(const std::string& org);

  // --- grants: `subject` is a user or ORG/TEAM; `target` an organisation, a user's namespace or a
  // repository. A subject holds one role per target (granting again replaces it).
  Status Grant(const std::string& subject, Role role, const std::string& target,
               const std::string& actor);
  Status Revoke(const std::string& subject, const std::string& target, const std::string& actor);
  Result<std::vector<GrantRecord>> ListGrants();

  // --- repository settings
  Status SetVisibility(const std::string& repo, bool is_public, const std::string& actor);
  Result<std::vector<std::string>> PublicRepositories();

  // --- robot accounts (owner "") and personal access tokens (owner = a user)
  Result<NewToken> AddToken(const std::string& name, const std::string& owner,
                            std::vector<Scope> scopes, int64_t expires_at,
                            const std::string& actor);
  Status RevokeToken(const std::string& name, const std::string& actor);
  Result<std::vector<TokenInfo>> ListTokens();

  // --- quotas, per namespace
  Status SetQuota(const std::string& ns, uint64_t limit_bytes, const std::string& actor);
  Result<QuotaInfo> GetQuota(const std::string& ns);
  Result<std::vector<QuotaInfo>> ListQuotas();
  // Counts blob `digest` of `size` bytes, now linked into `repo`, against `repo`'s namespace: the
  // first repository of the namespace to hold it adds its size; later ones add nothing. Refused
  // with kDenied (usage and limit in the message) when it would take usage over the limit. Atomic
  // against concurrent charges from any process, so parallel pushes never overshoot.
  Result<Charge> ChargeBlob(const std::string& repo, const std::string& digest, uint64_t size);
  // Undoes one repository's hold on a blob (unlinked, or a failed commit); the namespace's usage
  // drops when no repository of it holds the blob any more.
  Status ReleaseBlob(const std::string& repo, const std::string& digest);

  // --- the audit trail, newest first
  Result<std::vector<AuditEntry>> Audit(size_t limit);

 private:
  Store(DatabasePtr db, const Clock& clock) : db_(std::move(db)), clock_(clock) {}
  Status Migrate();
  // Runs `fn` in a write transaction (rolled back when it fails).
  template <typename Fn>
  Status Transact(Fn&& fn);
  // Inside a transaction: bump the generation and write the audit entry.
  Status Changed(const std::string& actor, const std::string& action, const std::string& target,
                 const std::string& detail = "");
  int64_t Now() const;

  std::mutex mu_;
  DatabasePtr db_;  // Guarded by mu_.
  ChangeHook hook_;                  // Guarded by mu_.
  std::vector<AuditEntry> pending_;  // Guarded by mu_. Changes of the open transaction.
  std::atomic<uint64_t> local_changes_{0};
  const Clock& clock_;
};
using StorePtr = std::shared_ptr<Store>;

// Opens the store `berth.meta` names: driver "sqlite" with `path`, or "postgres" with `dsn`.
Result<StorePtr> OpenStore(const std::string& driver, const std::string& path,
                           const std::string& dsn, const Clock& clock = SystemClock());

}  // namespace berth::meta
