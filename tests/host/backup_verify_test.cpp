// What a SQLite backup proves and how restore uses it: the manifest the backup records (rows and
// the run's content digest per table), restore refusing a file whose content no longer matches
// it, and --verify=full finding what only integrity_check finds (an index that does not match
// its table). The real binary on real files.
#include <gtest/gtest.h>

#include <boost/json.hpp>

#include <chrono>
#include <map>
#include <thread>

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

// The run's report in the history of `db` (the init run): per table, "rows\tchecksum" with
// the digest `status` and `verify` use (sdk/digest.hpp version 1, FNV-1a).
std::map<std::string, std::string> run_digests(const fs::path& db) {
  std::map<std::string, std::string> out;
  const json::value report = json::parse(sqlite_query(db, "SELECT report FROM dbtool_history"));
  for (const auto& t : report.at("tables").as_array())
    out[std::string(t.at("name").as_string())] =
        std::to_string(t.at("rows").to_number<int64_t>()) + "\t" + std::string(t.at("checksum").as_string());
  return out;
}

// Replaces the manifest of the backup `file` with one as dbtool wrote it before digest version
// 2 (no digest_version column, FNV-1a checksums), describing the file as it is: the tables
// with the init run's digests, dbtool_history emptied (no rows: the same checksum in every
// version). With `version_column`, the same checksums are labelled with that version instead.
void write_old_manifest(const fs::path& file, const std::map<std::string, std::string>& digests,
                        const std::string& version_column = "") {
  std::string sql =
      "DELETE FROM dbtool_history; DROP TABLE dbtool_backup_manifest; "
      "CREATE TABLE dbtool_backup_manifest (table_name TEXT NOT NULL PRIMARY KEY, "
      "row_count INTEGER NOT NULL, checksum TEXT NOT NULL" +
      std::string(version_column.empty() ? "" : ", digest_version INTEGER NOT NULL") + ");";
  auto row = [&](const std::string& name, const std::string& rows, const std::string& sum) {
    sql += "INSERT INTO dbtool_backup_manifest VALUES ('" + name + "', " + rows + ", '" + sum + "'" +
           (version_column.empty() ? "" : ", " + version_column) + ");";
  };
  for (const auto& [name, d] : digests) row(name, d.substr(0, d.find('\t')), d.substr(d.find('\t') + 1));
  row("dbtool_history", "0", "0000000000000000");
  sqlite_exec(file, sql);
}

// The manifest holds every table's rows and content digest, with the digest version it used
// (2: sdk/digest.hpp's WideHash over the same canonical rows the run history's FNV-1a digests
// hash), and belongs to the backup only: the report does not list it and the database a restore
// brings back does not hold it.
TEST_F(BackupVerifyTest, ABackupRecordsEveryTablesRowsAndItsDigestVersion) {
  const fs::path file = backup();
  ASSERT_FALSE(file.empty());
  std::map<std::string, std::string> manifest;
  std::string rows = sqlite_query(file, "SELECT table_name, row_count, checksum FROM dbtool_backup_manifest");
  for (size_t at = 0, nl; (nl = rows.find('\n', at)) != std::string::npos; at = nl + 1) {
    std::string line = rows.substr(at, nl - at);
    manifest[line.substr(0, line.find('\t'))] = line.substr(line.find('\t') + 1);
  }
  EXPECT_EQ(sqlite_query(file, "SELECT DISTINCT digest_version FROM dbtool_backup_manifest"), "2\n");
  size_t compared = 0, differ = 0;
  for (const auto& [name, want] : run_digests(db_)) {
    const std::string& got = manifest[name];
    EXPECT_EQ(got.substr(0, got.find('\t')), want.substr(0, want.find('\t'))) << name << ": the same rows";
    EXPECT_EQ(got.size() - got.find('\t') - 1, 16u) << name << ": 16 hex digits";
    const bool empty = want.substr(0, want.find('\t')) == "0";
    if (!empty) differ += got != want;  // another hash of the same rows
    compared += !empty;
  }
  EXPECT_GT(compared, 0u);
  EXPECT_EQ(differ, compared) << "version 2 checksums are not the run's version 1 checksums";
  EXPECT_EQ(manifest.size(), 8u);
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

// A backup whose manifest was written before digest version 2 (FNV-1a checksums, no version
// column) still verifies and restores: it is checked with the digest it recorded. Changed rows
// in it are still refused, and so are its checksums read as another version, and a version
// this dbtool does not know.
TEST_F(BackupVerifyTest, AnOldVersionManifestStillVerifiesWithItsOwnDigest) {
  const fs::path made = backup();
  ASSERT_FALSE(made.empty());
  const std::map<std::string, std::string> digests = run_digests(db_);
  const fs::path old = dir_ / "old-manifest.db";
  fs::copy_file(made, old);
  write_old_manifest(old, digests);
  EXPECT_EQ(sqlite_query(old, "SELECT count(*) FROM pragma_table_info('dbtool_backup_manifest')"), "3\n");

  const fs::path tampered = dir_ / "old-tampered.db", relabelled = dir_ / "old-relabelled.db",
                 future = dir_ / "future.db";
  fs::copy_file(old, tampered);
  sqlite_exec(tampered, "UPDATE users SET _name = 'tampered' WHERE id = 2");
  fs::copy_file(made, relabelled);
  write_old_manifest(relabelled, digests, "2");
  fs::copy_file(made, future);
  sqlite_exec(future, "UPDATE dbtool_backup_manifest SET digest_version = 3");
  const std::string target = read_bytes(db_);
  for (const auto& [file, message] :
       std::map<fs::path, std::string>{{tampered, "users: 5 rows, digest"},
                                       {relabelled, "does not hold what its manifest recorded"},
                                       {future, "with version 3, which this dbtool does not know"}}) {
    SCOPED_TRACE(file.filename().string());
    auto r = run_dbtool({"restore", "--db", db_.string(), "--yes", file.string()});
    EXPECT_EQ(r.exit_code, 1) << r.err;
    EXPECT_NE(r.err.find(message), std::string::npos) << r.err;
    EXPECT_EQ(read_bytes(db_), target);
  }

  auto r = run_dbtool({"restore", "--db", db_.string(), "--yes", old.string()});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(sqlite_query(db_, "SELECT count(*) FROM users"), "5\n");
  EXPECT_EQ(sqlite_query(db_, "SELECT count(*) FROM sqlite_master WHERE name = 'dbtool_backup_manifest'"), "0\n");
  EXPECT_EQ(sqlite_query(db_, "PRAGMA integrity_check"), "ok\n");
}

// Restore proves its copy byte-identical to the file verify_backup checked instead of checking
// the copy again; a backup changed after that check (here while the run is paused between the
// check and the restore) no longer hashes the same, so the copy is checked against the
// manifest itself and refused: nothing is swapped in.
TEST_F(BackupVerifyTest, ABackupChangedAfterItsCheckIsCheckedAgainAndRefused) {
  const fs::path file = backup();
  ASSERT_FALSE(file.empty());
  sqlite_exec(db_, "UPDATE users SET _name = 'after the backup' WHERE id = 1");
  const fs::path pause = dir_ / "pause";
  testing::RunResult r;
  std::thread run([&] {
    r = run_dbtool({"-v", "restore", "--db", db_.string(), "--yes", file.string()},
                   {{"DBTOOL_TEST_FAULT", "after-backup:pause"}, {"DBTOOL_TEST_PAUSE_FILE", pause.string()}});
  });
  for (int i = 0; i < 3000 && !fs::exists(pause); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  EXPECT_TRUE(fs::exists(pause)) << "the run never reached after-backup";
  sqlite_exec(file, "UPDATE users SET _name = 'tampered after the check' WHERE id = 2");
  fs::remove(pause);
  run.join();
  EXPECT_EQ(r.exit_code, 1) << r.err;
  EXPECT_NE(r.err.find("changed since it was checked: checking the copy"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("does not hold what its manifest recorded"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("users: 5 rows, digest"), std::string::npos) << r.err;
  EXPECT_EQ(sqlite_query(db_, "SELECT _name FROM users WHERE id = 1"), "after the backup\n");
  EXPECT_EQ(sqlite_query(db_, "SELECT count(*) FROM users WHERE _name = 'tampered after the check'"), "0\n");
}

}  // namespace
}  // namespace dbtool::testing
