#pragma once
// The metadata store's part of a backup (berth.meta; meta/open.h), beside the content in the
// backup directory:
//
//   SQLite      BackupMeta writes `berth-meta.db`, an online consistent copy (`VACUUM INTO` reads
//               one snapshot of the database while the server keeps using it) written to a
//               temporary, fsynced and renamed, so an interrupted backup keeps the previous copy.
//               RestoreMeta installs it at the configured path, which must not exist yet (a
//               restore never overwrites live data), checking it opens and passes
//               `PRAGMA integrity_check` first.
//   PostgreSQL  not copied (the result says so): back it up with pg_dump (docs/backup.md).
//
// Errors: kIo naming the file; kInvalidArgument for a restore onto an existing store; database
// errors as meta/database.h returns them. Not thread-safe per call; calls share nothing.

#include <string>

#include "common/error.h"
#include "config/config.h"

namespace berth::transfer {

inline constexpr std::string_view kMetaBackupFile = "berth-meta.db";

// What happened, for the command's output: "" when no store is configured.
Result<std::string> BackupMeta(const config::Config& cfg, const std::string& dest);
Result<std::string> RestoreMeta(const std::string& backup, const config::Config& cfg);
// RestoreMeta's precondition, to check before restoring the content.
Status CheckMetaRestore(const std::string& backup, const config::Config& cfg);

}  // namespace berth::transfer
