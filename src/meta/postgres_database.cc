// Database over PostgreSQL (libpq). One connection; statements are prepared once per connection
// (named s0, s1, ...); a dropped connection is re-established once per call.
#include <libpq-fe.h>

#include <map>

#include "meta/database.h"

namespace berth::meta {
namespace {

class PostgresDatabase : public Database {
 public:
  PostgresDatabase(PGconn* conn, std::string dsn) : conn_(conn), dsn_(std::move(dsn)) {}
  ~PostgresDatabase() override { PQfinish(conn_); }

  Result<std::vector<SqlRow>> Query(std::string_view sql,
                                    const std::vector<SqlValue>& params) override {
    auto rows = Run(sql, params);
    if (!rows && PQstatus(conn_) == CONNECTION_BAD && !in_transaction_) {
      PQreset(conn_);
      statements_.clear();
      if (PQstatus(conn_) != CONNECTION_OK) return Unavailable();
      rows = Run(sql, params);
    }
    return rows;
  }

  Status ExecScript(std::string_view sql) override {
    PGresult* res = PQexec(conn_, std::string(sql).c_str());
    Status st = Check(res, "running a script");
    PQclear(res);
    return st;
  }
  Status Begin() override {
    if (PQstatus(conn_) == CONNECTION_BAD) {
      PQreset(conn_);
      statements_.clear();
    }
    BERTH_RETURN_IF_ERROR(ExecScript("BEGIN"));
    in_transaction_ = true;
    return Ok();
  }
  Status Commit() override {
    in_transaction_ = false;
    return ExecScript("COMMIT");
  }
  void Rollback() override {
    in_transaction_ = false;
    (void)ExecScript("ROLLBACK");
  }
  std::string_view Dialect() const override { return "postgres"; }
  std::string Describe() const override {
    return std::string("postgres database \"") + PQdb(conn_) + "\" on " + PQhost(conn_);
  }

 private:
  Result<std::vector<SqlRow>> Run(std::string_view sql, const std::vector<SqlValue>& params) {
    auto it = statements_.find(sql);
    if (it == statements_.end()) {
      std::string name = "s" + std::to_string(next_statement_++);
      PGresult* res = PQprepare(conn_, name.c_str(), std::string(sql).c_str(), 0, nullptr);
      Status st = Check(res, "preparing a statement");
      PQclear(res);
      if (!st) return std::unexpected(st.error());
      it = statements_.emplace(std::string(sql), std::move(name)).first;
    }
    std::vector<std::string> text(params.size());
    std::vector<const char*> values(params.size(), nullptr);
    for (size_t i = 0; i < params.size(); ++i) {
      if (auto* n = std::get_if<int64_t>(&params[i])) {
        text[i] = std::to_string(*n);
        values[i] = text[i].c_str();
      } else if (auto* s = std::get_if<std::string>(&params[i])) {
        values[i] = s->c_str();
      }
    }
    PGresult* res = PQexecPrepared(conn_, it->second.c_str(), static_cast<int>(params.size()),
                                   values.data(), nullptr, nullptr, 0);
    Status st = Check(res, "running a statement");
    if (!st) {
      PQclear(res);
      return std::unexpected(st.error());
    }
    std::vector<SqlRow> rows;
    int n = PQntuples(res), cols = PQnfields(res);
    rows.reserve(n);
    for (int r = 0; r < n; ++r) {
      SqlRow row(cols);
      for (int c = 0; c < cols; ++c) {
        if (!PQgetisnull(res, r, c)) row[c] = std::string(PQgetvalue(res, r, c), PQgetlength(res, r, c));
      }
      rows.push_back(std::move(row));
    }
    PQclear(res);
    return rows;
  }

  Status Check(PGresult* res, const char* what) {
    ExecStatusType st = res ? PQresultStatus(res) : PGRES_FATAL_ERROR;
    if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK) return Ok();
    if (PQstatus(conn_) == CONNECTION_BAD) return Unavailable();
    const char* state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : nullptr;
    ErrorCode code = (state && std::string_view(state) == "23505") ? ErrorCode::kAlreadyExists
                                                                     : ErrorCode::kIo;
    std::string msg = res ? PQresultErrorMessage(res) : PQerrorMessage(conn_);
    while (!msg.empty() && (msg.back() == '\n' || msg.back() == ' ')) msg.pop_back();
    return MakeError(code, std::string("postgres: ") + what + ": " + msg);
  }
  std::unexpected<Error> Unavailable() {
    std::string msg = PQerrorMessage(conn_);
    while (!msg.empty() && (msg.back() == '\n' || msg.back() == ' ')) msg.pop_back();
    return MakeError(ErrorCode::kUnavailable, "postgres: connection lost: " + msg);
  }

  PGconn* conn_;
  const std::string dsn_;
  bool in_transaction_ = false;
  int next_statement_ = 0;
  std::map<std::string, std::string, std::less<>> statements_;  // sql -> prepared name
};

}  // namespace

Result<DatabasePtr> OpenPostgres(const std::string& dsn) {
  PGconn* conn = PQconnectdb(dsn.c_str());
  if (conn == nullptr || PQstatus(conn) != CONNECTION_OK) {
    std::string msg = conn ? PQerrorMessage(conn) : "out of memory";
    while (!msg.empty() && (msg.back() == '\n' || msg.back() == ' ')) msg.pop_back();
    PQfinish(conn);
    return MakeError(ErrorCode::kUnavailable, "postgres: cannot connect: " + msg);
  }
  auto db = std::make_unique<PostgresDatabase>(conn, dsn);
  // Notices (e.g. "relation already exists, skipping") would go to stderr by default.
  PQsetNoticeProcessor(conn, [](void*, const char*) {}, nullptr);
  return DatabasePtr(std::move(db));
}

}  // namespace berth::meta
