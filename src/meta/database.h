#pragma once
// The SQL connection the metadata store runs on, one implementation per database: SQLite
// (sqlite_database.cc, the embedded default, WAL mode) and PostgreSQL (postgres_database.cc, libpq,
// for several replicas). The store (store.h) speaks one portable dialect over it: parameters are
// written `$1`, `$2`, ... (the SQLite implementation rewrites them), integers are BIGINT, text is
// TEXT, upserts use `ON CONFLICT`, and nothing relies on auto-increment.
//
// Values travel as SqlValue (NULL, a 64-bit integer or text); rows come back as text (NULL as
// nullopt), which the store converts.
//
// Thread-safety: a Database is NOT thread-safe; the store serialises every use behind its mutex.
// Errors: kUnavailable (cannot connect/open), kAlreadyExists (a unique or primary key was violated),
// kIo (any other database error; the message carries the database's own text).

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "common/error.h"

namespace berth::meta {

using SqlValue = std::variant<std::monostate, int64_t, std::string>;
using SqlRow = std::vector<std::optional<std::string>>;

class Database {
 public:
  virtual ~Database() = default;
  // Runs one statement with `params` bound to $1..$n; returns its rows (empty for non-queries).
  virtual Result<std::vector<SqlRow>> Query(std::string_view sql,
                                            const std::vector<SqlValue>& params = {}) = 0;
  // Runs several statements without parameters (migrations).
  virtual Status ExecScript(std::string_view sql) = 0;
  // A write transaction. SQLite takes the write lock at Begin (BEGIN IMMEDIATE), so two processes
  // never both read then write; PostgreSQL relies on the row locks the statements take.
  virtual Status Begin() = 0;
  virtual Status Commit() = 0;
  virtual void Rollback() = 0;
  // "sqlite" or "postgres" (messages and the few statements that differ).
  virtual std::string_view Dialect() const = 0;
  // Where it is, for messages ("sqlite /var/lib/berth/meta.db", "postgres host=... dbname=...").
  virtual std::string Describe() const = 0;
  // A fingerprint of the database's files, taken without a query (a stat of each): it changes
  // when any connection, in this process or another, commits. nullopt where there is no such
  // thing (PostgreSQL), and callers poll instead. Safe to call without the store's lock.
  virtual std::optional<uint64_t> ChangeStamp() const { return std::nullopt; }
};
using DatabasePtr = std::unique_ptr<Database>;

// Opens (creating when absent, with its parent directory) the SQLite database at `path`, in WAL
// mode with a busy timeout so that the CLI and a running server share it.
Result<DatabasePtr> OpenSqlite(const std::string& path);
// Connects to PostgreSQL with a libpq connection string ("host=... dbname=..." or a URI).
Result<DatabasePtr> OpenPostgres(const std::string& dsn);

}  // namespace berth::meta
