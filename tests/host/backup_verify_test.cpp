// What a SQLite backup proves and how restore uses it: the manifest the backup records (rows and
// the run's content digest per table), restore refusing a file whose content no longer matches
// it, and --verify=full finding what only integrity_check finds (an index that does not match
// its table). The real binary on real files.
#include <gtest/gtest.h>

#include <boost/json.hpp>

#include <map>

#include "run_dbtool.hpp"
#include "sqlite_file.hpp"
#include "temp_dir_test.hpp"

namespace dbtool::testing {
namespace {
namespace json = boost::json;

size_t files_in(const fs::path& dir) {
  size_t n = 0;
  if (fs::exists(dir))
    for ([[maybe_unused]] const auto& e : fs::directory_iterator(dir)) ++n;
  return n;
}

// Makes the unique index on sections._abbreviation describe another column: its entries no
// longer match the table. quick_check does not look inside indexes; integrity_check does.
void break_an_index(const fs::path& db) {
  sqlite_exec(db,
              "PRAGMA writable_schema = ON; UPDATE sqlite_master SET sql = "
              "'CREATE UNIQUE INDEX \"uq_sections_abbreviation\" ON \"sections\" (\"_name\")' "
              "WHERE name = 'uq_sections_abbreviation'");
  ASSERT_EQ(sqlite_query(db, "PRAGMA quick_check"), "ok\n");
  ASSERT_NE(sqlite_query(db, "PRAGMA integrity_check"), "ok\n");
}

class BackupVerifyTest : public testing::TempDirTest {
 protected:
  void SetUp() override {
    TempDirTest::SetUp();
    auto r = run_dbtool({"init", "--db", db_.string()}, {{"DBTOOL_DEFAULT_PASSWORD", "test-only-pw"}});
    ASSERT_EQ(r.exit_code, 0) << r.err;
  }
  fs::path backup(std::vector<std::string> extra = {}) {
    std::vector<std::string> args = {"backup", "--db", db_.string(), "--json"};
    args.insert(args.end(), extra.begin(), extra.end());
    auto b = run_dbtool(args);
    EXPECT_EQ(b.exit_code, 0) << b.err;
    return b.exit_code == 0 ? fs::path(std::string(json::parse(b.out).at("path").as_string())) : fs::path();
  }
};

// The manifest holds every table's rows and the digest the run recorded in its history (the
// one digest `status` and `verify` use), and belongs to the backup only: the report does not
// list it and the database a restore brings back does not hold it.
TEST_F(BackupVerifyTest, ABackupRecordsEveryTablesRowsAndTheRunsDigest) {
  const fs::path file = backup();
  ASSERT_FALSE(file.empty());
  std::map<std::string, std::string> manifest;
  std::string rows = sqlite_query(file, "SELECT table_name, row_count, checksum FROM dbtool_backup_manifest");
  for (size_t at = 0, nl; (nl = rows.find('\n', at)) != std::string::npos; at = nl + 1) {
    std::string line = rows.substr(at, nl - at);
    manifest[line.substr(0, line.find('\t'))] = line.substr(line.find('\t') + 1);
  }
  const json::value report = json::parse(sqlite_query(db_, "SELECT report FROM dbtool_history"));
  size_t compared = 0;
  for (const auto& t : report.at("tables").as_array()) {
    const std::string name(t.at("name").as_string());
    const std::string want =
        std::to_string(t.at("rows").to_number<int64_t>()) + "\t" + std::string(t.at("checksum").as_string());
    EXPECT_EQ(manifest[name], want) << name;
    ++compared;
  }
  EXPECT_EQ(compared, 7u);
  EXPECT_EQ(manifest.count("dbtool_history"), 1u) << "every table of the database is in the manifest";
  EXPECT_EQ(manifest.count("dbtool_backup_manifest"), 0u);

  auto r = run_dbtool({"restore", "--db", db_.string(), "--yes", file.string(), "--json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out.find("dbtool_backup_manifest"), std::string::npos) << r.out;
  EXPECT_EQ(sqlite_query(db_, "SELECT count(*) FROM sqlite_master WHERE name = 'dbtool_backup_manifest'"), "0\n");
  EXPECT_EQ(sqlite_query(db_, "PRAGMA application_id"), "0\n");
  EXPECT_EQ(sqlite_query(db_, "PRAGMA integrity_check"), "ok\n");
}

// A backup whose rows were changed (or lost) after it was written no longer matches its
// manifest: restore refuses it before asking or backing anything up, the target byte-identical.
TEST_F(BackupVerifyTest, RestoreRefusesABackupWhoseContentDiffersFromItsManifest) {
  const fs::path file = backup();
  ASSERT_FALSE(file.empty());
  sqlite_exec(db_, "UPDATE users SET _name = 'after the backup' WHERE id = 1");
  const std::string target = read_bytes(db_);
  const std::map<std::string, std::pair<std::string, std::string>> cases = {
      {"altered.db", {"UPDATE users SET _name = 'tampered' WHERE id = 2", "users: 5 rows, digest"}},
      {"lost.db",
       {"DELETE FROM user_sections WHERE rowid = (SELECT min(rowid) FROM user_sections)", "user_sections: 8 rows"}},
      {"added.db",
       {"INSERT INTO sections (id, _name, _abbreviation) VALUES (99, 'Extra', 'EXTRA')", "sections: 5 rows"}},
  };
  for (const auto& [name, c] : cases) {
    SCOPED_TRACE(name);
    fs::copy_file(file, dir_ / name);
    sqlite_exec(dir_ / name, c.first);
    auto r = run_dbtool({"restore", "--db", db_.string(), "--yes", (dir_ / name).string()});
    EXPECT_EQ(r.exit_code, 1) << r.err;
    EXPECT_NE(r.err.find("does not hold what its manifest recorded"), std::string::npos) << r.err;
    EXPECT_NE(r.err.find(c.second), std::string::npos) << r.err;
    EXPECT_EQ(read_bytes(db_), target);
    EXPECT_EQ(files_in(dir_ / "backups"), 1u) << "no backup of the current state for a bad file";
  }
  // The untouched backup still restores.
  auto r = run_dbtool({"restore", "--db", db_.string(), "--yes", file.string()});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(sqlite_query(db_, "SELECT count(*) FROM users WHERE _name = 'after the backup'"), "0\n");
}

// An index that no longer matches its table passes the quick check (the rows and the digest
// are right) and is caught by --verify=full, on backup and on restore.
TEST_F(BackupVerifyTest, FullVerificationFindsAnIndexQuickDoesNotLookInto) {
  const fs::path good = backup();
  ASSERT_FALSE(good.empty());
  fs::path broken = dir_ / "broken.db";
  fs::copy_file(good, broken);
  break_an_index(broken);

  const std::string target = read_bytes(db_);
  auto r = run_dbtool({"restore", "--db", db_.string(), "--yes", "--verify=full", broken.string()});
  EXPECT_EQ(r.exit_code, 1) << r.err;
  EXPECT_NE(r.err.find("missing from index uq_sections_abbreviation"), std::string::npos) << r.err;
  EXPECT_EQ(read_bytes(db_), target);
  EXPECT_EQ(files_in(dir_ / "backups"), 1u) << "refused before the backup of the current state";
  r = run_dbtool({"restore", "--db", db_.string(), "--yes", broken.string()});
  EXPECT_EQ(r.exit_code, 0) << "the quick check does not look inside indexes: " << r.err;

  // The restore rebuilt the database from the broken file's own description (its index on
  // _name); the good backup brings the index on _abbreviation back, to be broken in place.
  r = run_dbtool({"restore", "--db", db_.string(), "--yes", good.string()});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  break_an_index(db_);
  EXPECT_FALSE(backup().empty()) << "quick";
  const size_t before = files_in(dir_ / "backups");
  r = run_dbtool({"backup", "--db", db_.string(), "--verify=full"});
  EXPECT_EQ(r.exit_code, 1) << r.err;
  EXPECT_NE(r.err.find("missing from index uq_sections_abbreviation"), std::string::npos) << r.err;
  EXPECT_EQ(files_in(dir_ / "backups"), before) << "no file left by a backup that failed its check";

  r = run_dbtool({"backup", "--db", db_.string(), "--verify=none"});
  EXPECT_NE(r.exit_code, 0) << "there is no unverified backup";
}

// A backup copied into place by hand (it is a plain SQLite file) is a database like any other:
// its next backup replaces the manifest the copy brought along and restores cleanly.
TEST_F(BackupVerifyTest, ADatabaseThatWasABackupBacksUpAndRestores) {
  const fs::path first = backup();
  ASSERT_FALSE(first.empty());
  fs::copy_file(first, db_, fs::copy_options::overwrite_existing);
  sqlite_exec(db_, "INSERT INTO sections (id, _name, _abbreviation) VALUES (99, 'Extra', 'EXTRA')");
  const fs::path second = backup();
  ASSERT_FALSE(second.empty());
  EXPECT_EQ(sqlite_query(second, "SELECT row_count FROM dbtool_backup_manifest WHERE table_name = 'sections'"), "6\n");
  auto r = run_dbtool({"restore", "--db", db_.string(), "--yes", second.string()});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(sqlite_query(db_, "SELECT count(*) FROM sections"), "6\n");
  EXPECT_EQ(sqlite_query(db_, "SELECT count(*) FROM sqlite_master WHERE name = 'dbtool_backup_manifest'"), "0\n");
}

// A backup made before manifests existed (no manifest table) still restores, checked in full.
TEST_F(BackupVerifyTest, ABackupWithoutManifestIsCheckedInFull) {
  const fs::path file = backup();
  ASSERT_FALSE(file.empty());
  sqlite_exec(file, "DROP TABLE dbtool_backup_manifest");
  fs::path broken = dir_ / "old-broken.db";
  fs::copy_file(file, broken);
  break_an_index(broken);
  auto r = run_dbtool({"restore", "--db", db_.string(), "--yes", broken.string()});
  EXPECT_EQ(r.exit_code, 1) << r.err;
  EXPECT_NE(r.err.find("missing from index"), std::string::npos) << r.err;
  r = run_dbtool({"restore", "--db", db_.string(), "--yes", file.string()});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(sqlite_query(db_, "PRAGMA integrity_check"), "ok\n");
}

}  // namespace
}  // namespace dbtool::testing
