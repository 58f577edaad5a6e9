// Database over SQLite (the embedded default). One connection; statements are prepared once and
// kept, since the authorizer reads the store's generation on every request.
#include <fcntl.h>
#include <sqlite3.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <map>

#include "meta/database.h"

namespace berth::meta {
namespace {

// `$12` -> `?12`: SQLite numbers `?NNN` parameters as written, which `$NNN` (a named parameter
// numbered by first appearance) would not guarantee.
std::string Rewrite(std::string_view sql) {
  std::string out(sql);
  for (size_t i = 0; i + 1 < out.size(); ++i) {
    if (out[i] == '$' && out[i + 1] >= '0' && out[i + 1] <= '9') out[i] = '?';
  }
  return out;
}

class SqliteDatabase : public Database {
 public:
  SqliteDatabase(sqlite3* db, std::string path)
      : db_(db), path_(std::move(path)), wal_path_(path_ + "-wal") {}
  ~SqliteDatabase() override {
    for (auto& [sql, stmt] : statements_) sqlite3_finalize(stmt);
    sqlite3_close(db_);
  }

  Result<std::vector<SqlRow>> Query(std::string_view sql,
                                    const std::vector<SqlValue>& params) override {
    BERTH_ASSIGN_OR_RETURN(sqlite3_stmt * stmt, Prepare(sql));
    sqlite3_reset(stmt);
    sqlite3_clear_bindings(stmt);
    for (size_t i = 0; i < params.size(); ++i) {
      int idx = static_cast<int>(i + 1);
      int rc = SQLITE_OK;
      if (auto* n = std::get_if<int64_t>(&params[i])) {
        rc = sqlite3_bind_int64(stmt, idx, *n);
      } else if (auto* s = std::get_if<std::string>(&params[i])) {
        rc = sqlite3_bind_text(stmt, idx, s->data(), static_cast<int>(s->size()), SQLITE_TRANSIENT);
      } else {
        rc = sqlite3_bind_null(stmt, idx);
      }
      if (rc != SQLITE_OK) return Fail("binding a parameter", rc);
    }
    std::vector<SqlRow> rows;
    for (;;) {
      int rc = sqlite3_step(stmt);
      if (rc == SQLITE_DONE) break;
      if (rc != SQLITE_ROW) {
        auto err = Fail("running a statement", rc);
        sqlite3_reset(stmt);
        return err;
      }
      int n = sqlite3_column_count(stmt);
      SqlRow row(n);
      for (int c = 0; c < n; ++c) {
        if (sqlite3_column_type(stmt, c) == SQLITE_NULL) continue;
        const unsigned char* text = sqlite3_column_text(stmt, c);
        row[c] = std::string(reinterpret_cast<const char*>(text), sqlite3_column_bytes(stmt, c));
      }
      rows.push_back(std::move(row));
    }
    sqlite3_reset(stmt);
    return rows;
  }

  Status ExecScript(std::string_view sql) override {
    char* msg = nullptr;
    int rc = sqlite3_exec(db_, std::string(sql).c_str(), nullptr, nullptr, &msg);
    if (rc != SQLITE_OK) {
      std::string text = msg ? msg : sqlite3_errstr(rc);
      sqlite3_free(msg);
      return MakeError(ErrorCode::kIo, "sqlite " + path_ + ": " + text);
    }
    return Ok();
  }
  Status Begin() override { return ExecScript("BEGIN IMMEDIATE"); }
  Status Commit() override { return ExecScript("COMMIT"); }
  void Rollback() override { (void)ExecScript("ROLLBACK"); }
  std::string_view Dialect() const override { return "sqlite"; }
  std::string Describe() const override { return "sqlite " + path_; }
  // WAL mode: a commit appends to the -wal file (or, after a checkpoint, rewrites it from the
  // start, changing its modification time), so the two files' sizes and times move with every
  // commit. Timestamps are coarse (a clock tick), so the store's readers still re-read the
  // generation now and then (meta/tenancy.cc).
  std::optional<uint64_t> ChangeStamp() const override {
    uint64_t h = 1469598103934665603ull;  // FNV-1a over the fields
    auto mix = [&h](uint64_t v) { h = (h ^ v) * 1099511628211ull; };
    for (const std::string* p : {&path_, &wal_path_}) {
      struct stat st {};
      if (::stat(p->c_str(), &st) != 0) {
        mix(0);
        continue;
      }
      mix(st.st_ino);
      mix(static_cast<uint64_t>(st.st_size));
      mix(static_cast<uint64_t>(st.st_mtim.tv_sec));
      mix(static_cast<uint64_t>(st.st_mtim.tv_nsec));
    }
    return h;
  }

 private:
  Result<sqlite3_stmt*> Prepare(std::string_view sql) {
    auto it = statements_.find(sql);
    if (it != statements_.end()) return it->second;
    std::string rewritten = Rewrite(sql);
    sqlite3_stmt* stmt = nullptr;
    int rc = sqlite3_prepare_v3(db_, rewritten.c_str(), -1, SQLITE_PREPARE_PERSISTENT, &stmt,
                                nullptr);
    if (rc != SQLITE_OK) return Fail("preparing a statement", rc);
    statements_.emplace(std::string(sql), stmt);
    return stmt;
  }
  std::unexpected<Error> Fail(const char* what, int rc) {
    int ext = sqlite3_extended_errcode(db_);
    ErrorCode code = (ext == SQLITE_CONSTRAINT_PRIMARYKEY || ext == SQLITE_CONSTRAINT_UNIQUE)
                         ? ErrorCode::kAlreadyExists
                         : ErrorCode::kIo;
    (void)rc;
    return MakeError(code, "sqlite " + path_ + ": " + what + ": " + sqlite3_errmsg(db_));
  }

  sqlite3* db_;
  const std::string path_;
  const std::string wal_path_;
  std::map<std::string, sqlite3_stmt*, std::less<>> statements_;
};

}  // namespace

Result<DatabasePtr> OpenSqlite(const std::string& path) {
  std::error_code ec;
  std::filesystem::path p(path);
  if (p.has_parent_path()) std::filesystem::create_directories(p.parent_path(), ec);
  // The store holds password hashes and token digests: owner-only from the first byte (SQLite
  // gives its -wal and -shm files the database file's mode).
  int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0) {
    return MakeError(ErrorCode::kUnavailable, "sqlite " + path + ": cannot open: " +
                                                  std::strerror(errno));
  }
  ::close(fd);
  sqlite3* db = nullptr;
  int rc = sqlite3_open_v2(path.c_str(), &db,
                           SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, nullptr);
  if (rc != SQLITE_OK) {
    std::string msg = db ? sqlite3_errmsg(db) : sqlite3_errstr(rc);
    sqlite3_close(db);
    return MakeError(ErrorCode::kUnavailable, "sqlite " + path + ": " + msg);
  }
  sqlite3_busy_timeout(db, 5000);
  auto out = std::make_unique<SqliteDatabase>(db, path);
  // WAL: readers (the server) never wait for a writer (the CLI); NORMAL sync is crash-safe in WAL
  // mode (a kill -9 loses nothing committed).
  BERTH_RETURN_IF_ERROR(
      out->ExecScript("PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON"));
  auto mode = out->Query("PRAGMA journal_mode", {});
  if (!mode || mode->empty() || (*mode)[0].empty() || (*mode)[0][0] != "wal") {
    return MakeError(ErrorCode::kUnavailable, "sqlite " + path + ": cannot switch to WAL mode");
  }
  return DatabasePtr(std::move(out));
}

}  // namespace berth::meta
