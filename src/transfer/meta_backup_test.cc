// The metadata store's part of a backup (SQLite): an online consistent copy, restored only onto a
// new store.
#include <gtest/gtest.h>

#include <filesystem>

#include "meta/database.h"
#include "transfer/meta_backup.h"

namespace berth::transfer {
namespace {

namespace fs = std::filesystem;

struct Dir {
  Dir() {
    char tmpl[] = "/tmp/berth-meta-backup-XXXXXX";
    path = ::mkdtemp(tmpl);
  }
  ~Dir() { fs::remove_all(path); }
  std::string path;
};

config::Config SqliteConfig(const std::string& db) {
  config::Config cfg;
  cfg.berth.meta_driver = "sqlite";
  cfg.berth.meta_path = db;
  return cfg;
}

std::vector<std::string> Names(const std::string& db) {
  auto d = meta::OpenSqlite(db);
  EXPECT_TRUE(d);
  auto rows = (*d)->Query("SELECT name FROM users ORDER BY name");
  EXPECT_TRUE(rows) << rows.error().message;
  std::vector<std::string> out;
  for (const auto& r : *rows) out.push_back(r[0].value_or(""));
  return out;
}

TEST(MetaBackup, SqliteCopyIsConsistentWhileAWriterIsOpen) {
  Dir dir;
  const std::string live = dir.path + "/live/meta.db", dest = dir.path + "/backup";
  fs::create_directories(dest);
  auto db = meta::OpenSqlite(live);
  ASSERT_TRUE(db);
  ASSERT_TRUE((*db)->ExecScript("CREATE TABLE users(name TEXT); INSERT INTO users VALUES('alice')"));
  // A write in flight (the server mid-transaction) is not in the copy, and does not block it.
  ASSERT_TRUE((*db)->Begin());
  ASSERT_TRUE((*db)->Query("INSERT INTO users VALUES('bob')"));
  auto r = BackupMeta(SqliteConfig(live), dest);
  ASSERT_TRUE(r) << r.error().message;
  (*db)->Rollback();
  EXPECT_TRUE(fs::exists(dest + "/berth-meta.db"));
  EXPECT_FALSE(fs::exists(dest + "/berth-meta.db.tmp"));

  const std::string restored = dir.path + "/new/meta.db";
  auto rr = RestoreMeta(dest, SqliteConfig(restored));
  ASSERT_TRUE(rr) << rr.error().message;
  EXPECT_EQ(Names(restored), std::vector<std::string>{"alice"});

  // Never onto an existing store.
  auto again = RestoreMeta(dest, SqliteConfig(restored));
  ASSERT_FALSE(again);
  EXPECT_NE(again.error().message.find("exists"), std::string::npos);
  EXPECT_FALSE(CheckMetaRestore(dest, SqliteConfig(restored)));
}

TEST(MetaBackup, NothingWithoutAStoreAndANoteForPostgres) {
  Dir dir;
  auto none = BackupMeta(config::Config{}, dir.path);
  ASSERT_TRUE(none);
  EXPECT_EQ(*none, "");
  config::Config pg;
  pg.berth.meta_driver = "postgres";
  pg.berth.meta_dsn = "host=/nonexistent";
  auto note = BackupMeta(pg, dir.path);
  ASSERT_TRUE(note);
  EXPECT_NE(note->find("pg_dump"), std::string::npos);
  EXPECT_FALSE(fs::exists(dir.path + "/berth-meta.db"));
}

}  // namespace
}  // namespace berth::transfer
