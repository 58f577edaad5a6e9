#include "transfer/meta_backup.h"

#include <fcntl.h>
#include <unistd.h>

#include <filesystem>

#include "common/file_io.h"
#include "meta/database.h"
#include "meta/open.h"

namespace berth::transfer {
namespace {

namespace fs = std::filesystem;

// fsyncs `tmp`, renames it over `path` and fsyncs the directory.
Status Publish(const std::string& tmp, const std::string& path) {
  int fd = ::open(tmp.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return std::unexpected(ErrnoError("cannot open", tmp));
  int rc = ::fsync(fd);
  ::close(fd);
  if (rc != 0) return std::unexpected(ErrnoError("cannot fsync", tmp));
  if (::rename(tmp.c_str(), path.c_str()) != 0)
    return std::unexpected(ErrnoError("cannot rename into", path));
  return SyncDir(fs::path(path).parent_path().string());
}

// The configured SQLite file, or a note for the other cases.
Result<std::string> SqliteOrNote(const config::Config& cfg, std::string& note) {
  if (!meta::Configured(cfg)) return std::string();
  if (cfg.berth.meta_driver != "sqlite") {
    note = "metadata store (postgres) not included: back it up with pg_dump (docs/backup.md)";
    return std::string();
  }
  std::string path = meta::SqlitePath(cfg);
  if (path.empty())
    return MakeError(ErrorCode::kInvalidArgument, "berth.meta.path: required without a filesystem root");
  return path;
}

}  // namespace

Result<std::string> BackupMeta(const config::Config& cfg, const std::string& dest) {
  std::string note;
  BERTH_ASSIGN_OR_RETURN(std::string path, SqliteOrNote(cfg, note));
  if (path.empty()) return note;
  BERTH_ASSIGN_OR_RETURN(auto db, meta::OpenSqlite(path));
  const std::string out = dest + "/" + std::string(kMetaBackupFile);
  const std::string tmp = out + ".tmp";
  std::error_code ec;
  fs::remove(tmp, ec);  // VACUUM INTO wants a new file; a crash may have left one
  if (auto r = db->Query("VACUUM INTO $1", {tmp}); !r) {
    return MakeError(r.error().code, "copying the metadata store " + path + ": " + r.error().message);
  }
  BERTH_RETURN_IF_ERROR(Publish(tmp, out));
  return "metadata store " + path + " copied to " + out;
}

Status CheckMetaRestore(const std::string& backup, const config::Config& cfg) {
  std::error_code ec;
  if (!fs::exists(backup + "/" + std::string(kMetaBackupFile), ec)) return Ok();
  std::string note;
  BERTH_ASSIGN_OR_RETURN(std::string path, SqliteOrNote(cfg, note));
  if (!path.empty() && fs::exists(path, ec)) {
    return MakeError(ErrorCode::kInvalidArgument,
                     "restore needs a new metadata store, and " + path + " exists (berth.meta.path)");
  }
  return Ok();
}

Result<std::string> RestoreMeta(const std::string& backup, const config::Config& cfg) {
  BERTH_RETURN_IF_ERROR(CheckMetaRestore(backup, cfg));
  const std::string in = backup + "/" + std::string(kMetaBackupFile);
  std::error_code ec;
  const bool have = fs::exists(in, ec);
  std::string note;
  BERTH_ASSIGN_OR_RETURN(std::string path, SqliteOrNote(cfg, note));
  if (!have) return path.empty() ? note : "no metadata store in the backup";
  if (path.empty()) {
    return "the backup has a metadata store (" + in +
           ") but the config names no SQLite store: not restored";
  }
  fs::create_directories(fs::path(path).parent_path(), ec);
  const std::string tmp = path + ".restore-tmp";
  fs::remove(tmp, ec);
  if (!fs::copy_file(in, tmp, ec)) return MakeError(ErrorCode::kIo, "cannot copy " + in + ": " + ec.message());
  {
    BERTH_ASSIGN_OR_RETURN(auto db, meta::OpenSqlite(tmp));
    BERTH_ASSIGN_OR_RETURN(auto rows, db->Query("PRAGMA integrity_check"));
    if (rows.empty() || !rows[0].size() || rows[0][0].value_or("") != "ok") {
      fs::remove(tmp, ec);
      return MakeError(ErrorCode::kIo, in + " fails the integrity check");
    }
    // Folds the WAL the open created back into the file before it moves.
    BERTH_RETURN_IF_ERROR(db->ExecScript("PRAGMA wal_checkpoint(TRUNCATE)"));
  }
  for (const char* suffix : {"-wal", "-shm"}) fs::remove(tmp + suffix, ec);
  BERTH_RETURN_IF_ERROR(Publish(tmp, path));
  return "metadata store restored to " + path;
}

}  // namespace berth::transfer
