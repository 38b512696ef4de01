// What a SQLite backup proves and how restore uses it: the manifest the backup records (rows per
// table) and its seal (a hash of the file's bytes once it passed its checks), restore refusing a
// file that is no longer those bytes, manifests of older versions (content digests per table)
// still checked with their digests, and --verify=full finding what only integrity_check finds
// (an index that does not match its table). The real binary on real files.
#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <dbtool/sdk/digest.hpp>

#include <sqlite3.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <fstream>
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

 public:
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

// The manifest holds every table's rows (version 3: no per-table digest) and the seal the hash
// of the file's bytes with the seal's own 16 digits read as "0" (sdk::WideHash); both belong to
// the backup only: the report does not list them and the database a restore brings back does
// not hold them.
TEST_F(BackupVerifyTest, ABackupRecordsEveryTablesRowsAndSealsItsBytes) {
  const fs::path file = backup();
  ASSERT_FALSE(file.empty());
  std::map<std::string, std::string> manifest;
  std::string rows = sqlite_query(file, "SELECT table_name, row_count FROM dbtool_backup_manifest");
  for (size_t at = 0, nl; (nl = rows.find('\n', at)) != std::string::npos; at = nl + 1) {
    std::string line = rows.substr(at, nl - at);
    manifest[line.substr(0, line.find('\t'))] = line.substr(line.find('\t') + 1);
  }
  EXPECT_EQ(sqlite_query(file, "SELECT DISTINCT digest_version, checksum FROM dbtool_backup_manifest"), "3\t\n");
  for (const auto& [name, want] : run_digests(db_))
    EXPECT_EQ(manifest[name], want.substr(0, want.find('\t'))) << name << ": the same rows";
  EXPECT_EQ(manifest.size(), 8u);
  EXPECT_EQ(manifest.count("dbtool_history"), 1u) << "every table of the database is in the manifest";
  EXPECT_EQ(manifest.count("dbtool_backup_manifest") + manifest.count("dbtool_backup_seal"), 0u);

  const std::string seal = sqlite_query(file, "SELECT seal FROM dbtool_backup_seal");
  ASSERT_EQ(seal.size(), 12u + 16u + 1u) << seal;
  ASSERT_EQ(seal.substr(0, 12), "dbtool-seal:");
  const std::string digits = seal.substr(12, 16);
  std::string bytes = read_bytes(file);
  const size_t at = bytes.find("dbtool-seal:" + digits);
  ASSERT_NE(at, std::string::npos);
  bytes.replace(at + 12, 16, std::string(16, '0'));
  char expected[17];
  std::snprintf(expected, sizeof expected, "%016llx",
                static_cast<unsigned long long>(dbtool::sdk::WideHash::of(bytes)));
  EXPECT_EQ(digits, expected) << "the seal is the hash of the file with its placeholder";

  auto r = run_dbtool({"restore", "--db", db_.string(), "--yes", file.string(), "--json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out.find("dbtool_backup_manifest"), std::string::npos) << r.out;
  EXPECT_EQ(r.out.find("dbtool_backup_seal"), std::string::npos) << r.out;
  EXPECT_EQ(sqlite_query(db_, "SELECT count(*) FROM sqlite_master WHERE name LIKE 'dbtool_backup_%'"), "0\n");
  EXPECT_EQ(sqlite_query(db_, "PRAGMA application_id"), "0\n");
  EXPECT_EQ(sqlite_query(db_, "PRAGMA integrity_check"), "ok\n");
}

// A backup whose rows were changed, lost or added after it was written, or with one byte
// changed anywhere, is no longer the file its seal recorded (lost and added rows: nor holds the
// rows its manifest recorded): restore refuses it before asking or backing anything up, the
// target byte-identical.
TEST_F(BackupVerifyTest, RestoreRefusesABackupThatIsNotTheFileItsSealRecorded) {
  const fs::path file = backup();
  ASSERT_FALSE(file.empty());
  sqlite_exec(db_, "UPDATE users SET _name = 'after the backup' WHERE id = 1");
  const std::string target = read_bytes(db_);
  const std::string not_sealed = "is not the file its seal recorded at backup time";
  const std::map<std::string, std::pair<std::string, std::string>> cases = {
      {"altered.db", {"UPDATE users SET _name = 'tampered' WHERE id = 2", not_sealed}},
      {"lost.db",
       {"DELETE FROM user_sections WHERE rowid = (SELECT min(rowid) FROM user_sections)",
        "user_sections: 8 rows recorded, 7 rows found"}},
      {"added.db",
       {"INSERT INTO sections (id, _name, _abbreviation) VALUES (99, 'Extra', 'EXTRA')",
        "sections: 5 rows recorded, 6 rows found"}},
      {"flipped.db", {"", not_sealed}},
      {"unsealed.db", {"DROP TABLE dbtool_backup_seal", "has a malformed seal (no dbtool_backup_seal table)"}},
      {"resealed.db", {"UPDATE dbtool_backup_seal SET seal = 'dbtool-seal:0123456789abcdef'", not_sealed}},
  };
  for (const auto& [name, c] : cases) {
    SCOPED_TRACE(name);
    fs::copy_file(file, dir_ / name);
    if (!c.first.empty()) {
      sqlite_exec(dir_ / name, c.first);
    } else {  // one byte in the middle of the file, which SQLite may never read
      std::string bytes = read_bytes(dir_ / name);
      bytes[bytes.size() / 2] ^= 0x01;
      std::ofstream(dir_ / name, std::ios::binary | std::ios::trunc) << bytes;
    }
    auto r = run_dbtool({"restore", "--db", db_.string(), "--yes", (dir_ / name).string()});
    EXPECT_EQ(r.exit_code, 1) << r.err;
    EXPECT_NE(r.err.find(c.second), std::string::npos) << r.err;
    EXPECT_EQ(read_bytes(db_), target);
    EXPECT_EQ(files_in(dir_ / "backups"), 1u) << "no backup of the current state for a bad file";
  }
  // The untouched backup still restores.
  auto r = run_dbtool({"restore", "--db", db_.string(), "--yes", file.string()});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(sqlite_query(db_, "SELECT count(*) FROM users WHERE _name = 'after the backup'"), "0\n");
}

// An index that no longer matches its table passes the quick check (a backup of such a
// database is made and sealed) and is caught by --verify=full, on backup and on restore. A copy
// of a backup broken after it was sealed is refused either way (its bytes changed).
TEST_F(BackupVerifyTest, FullVerificationFindsAnIndexQuickDoesNotLookInto) {
  const fs::path good = backup();
  ASSERT_FALSE(good.empty());
  fs::path broken = dir_ / "broken.db";
  fs::copy_file(good, broken);
  break_an_index(broken);
  const std::string target = read_bytes(db_);
  auto r = run_dbtool({"restore", "--db", db_.string(), "--yes", broken.string()});
  EXPECT_EQ(r.exit_code, 1) << r.err;
  EXPECT_NE(r.err.find("is not the file its seal recorded"), std::string::npos) << r.err;
  EXPECT_EQ(read_bytes(db_), target);

  break_an_index(db_);
  const fs::path sealed_broken = backup();
  ASSERT_FALSE(sealed_broken.empty()) << "quick: the index is not looked into";
  const size_t before = files_in(dir_ / "backups");
  r = run_dbtool({"backup", "--db", db_.string(), "--verify=full"});
  EXPECT_EQ(r.exit_code, 1) << r.err;
  EXPECT_NE(r.err.find("missing from index uq_sections_abbreviation"), std::string::npos) << r.err;
  EXPECT_EQ(files_in(dir_ / "backups"), before) << "no file left by a backup that failed its check";

  r = run_dbtool({"restore", "--db", db_.string(), "--yes", "--verify=full", sealed_broken.string()});
  EXPECT_EQ(r.exit_code, 1) << r.err;
  EXPECT_NE(r.err.find("missing from index uq_sections_abbreviation"), std::string::npos) << r.err;
  EXPECT_EQ(files_in(dir_ / "backups"), before) << "refused before the backup of the current state";
  r = run_dbtool({"restore", "--db", db_.string(), "--yes", sealed_broken.string()});
  EXPECT_EQ(r.exit_code, 0) << "quick: the seal proves it the file the quick check passed: " << r.err;

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
  sqlite_exec(future, "UPDATE dbtool_backup_manifest SET digest_version = 4");
  const std::string target = read_bytes(db_);
  for (const auto& [file, message] :
       std::map<fs::path, std::string>{{tampered, "users: 5 rows, digest"},
                                       {relabelled, "does not hold what its manifest recorded"},
                                       {future, "with version 4, which this dbtool does not know"}}) {
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

// A restore backs up the current state first and puts that backup on disk while it prepares
// the restore; nothing is replaced before it is there. When it cannot be (injected between its
// flush and its rename), the restore stops: the database as it was, no new backup, no partial
// file.
TEST_F(BackupVerifyTest, ARestoreReplacesNothingUntilTheBackupOfTheCurrentStateIsOnDisk) {
  const fs::path file = backup();
  ASSERT_FALSE(file.empty());
  sqlite_exec(db_, "UPDATE users SET _name = 'after the backup' WHERE id = 1");
  const std::string before = read_bytes(db_);
  auto r =
      run_dbtool({"restore", "--db", db_.string(), "--yes", file.string()}, {{"DBTOOL_TEST_FAULT", "backup-written"}});
  EXPECT_EQ(r.exit_code, 1) << r.err;
  EXPECT_NE(r.err.find("injected fault at backup-written"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("nothing was changed"), std::string::npos) << r.err;
  EXPECT_EQ(read_bytes(db_), before);
  EXPECT_EQ(files_in(file.parent_path()), 1u) << "only the backup restored from";
  r = run_dbtool({"restore", "--db", db_.string(), "--yes", file.string()});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(files_in(file.parent_path()), 2u) << "the backup restored from and that of the state it replaced";
  EXPECT_EQ(sqlite_query(db_, "SELECT count(*) FROM users WHERE _name = 'after the backup'"), "0\n");
}

// Restore proves its copy byte for byte the file the backup sealed as it copies it; a backup
// changed after verify_backup checked it (here while the run is paused between the check and the
// restore) no longer hashes to its seal, so the copy is refused: nothing is swapped in.
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
  EXPECT_NE(r.err.find("is not the file its seal recorded at backup time"), std::string::npos) << r.err;
  EXPECT_EQ(sqlite_query(db_, "SELECT _name FROM users WHERE id = 1"), "after the backup\n");
  EXPECT_EQ(sqlite_query(db_, "SELECT count(*) FROM users WHERE _name = 'tampered after the check'"), "0\n");
}

// Makes the database about 4 MB (a table of 1 KB blobs), so that copying it takes long enough
// for another program to try to write meanwhile.
void add_filler(const fs::path& db) {
  sqlite_exec(db,
              "CREATE TABLE filler (id INTEGER PRIMARY KEY, body BLOB NOT NULL);"
              "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 4000) "
              "INSERT INTO filler (body) SELECT randomblob(1000) FROM n");
}

// Three backups while another program writes as fast as it can: each verifies, holds exactly
// the rows its manifest recorded (one snapshot) and restores.
void backups_under_a_writer(BackupVerifyTest& t, const fs::path& db, const fs::path& dir) {
  add_filler(db);
  std::atomic<bool> stop = false;
  std::atomic<int> written = 0;
  std::thread writer([&] {
    sqlite3* h = nullptr;
    ASSERT_EQ(sqlite3_open(db.c_str(), &h), SQLITE_OK);
    sqlite3_busy_timeout(h, 10000);
    while (!stop) {
      if (sqlite3_exec(h, "INSERT INTO filler (body) SELECT randomblob(1000) FROM filler LIMIT 20", nullptr, nullptr,
                       nullptr) == SQLITE_OK)
        ++written;
      std::this_thread::sleep_for(std::chrono::milliseconds(1));  // a busy app, not one that locks readers out
    }
    sqlite3_close(h);
  });
  for (int i = 0; i < 500 && written == 0; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(2));
  std::vector<fs::path> files;
  for (int i = 0; i < 3; ++i) files.push_back(t.backup({"--backup-dir", (dir / "backups").string()}));
  stop = true;
  writer.join();
  EXPECT_GT(written.load(), 0) << "the writer never wrote";
  for (const auto& file : files) {
    ASSERT_FALSE(file.empty());
    EXPECT_EQ(sqlite_query(file, "PRAGMA integrity_check"), "ok\n");
    EXPECT_EQ(sqlite_query(file, "PRAGMA journal_mode"), "delete\n");
    EXPECT_EQ(sqlite_query(file, "SELECT row_count FROM dbtool_backup_manifest WHERE table_name = 'filler'"),
              sqlite_query(file, "SELECT count(*) FROM filler"));
    const fs::path restored = dir / ("restored-" + file.filename().string());
    auto r = run_dbtool({"restore", "--db", restored.string(), "--yes", file.string()});
    EXPECT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(sqlite_query(restored, "SELECT count(*) FROM filler"), sqlite_query(file, "SELECT count(*) FROM filler"));
  }
}

// With a rollback journal the backup is the file's bytes, read under SQLite's shared lock, which
// the writer waits for. Copying the file outside that read transaction gives torn copies here
// (quick_check or the counts fail).
TEST_F(BackupVerifyTest, ABackupIsOneSnapshotWhileAnotherProgramWrites) { backups_under_a_writer(*this, db_, dir_); }

// In WAL mode the writer goes on during the copy (the online backup API, inside one read
// transaction): each backup is still one snapshot.
TEST_F(BackupVerifyTest, AWalBackupIsOneSnapshotWhileAnotherProgramWrites) {
  sqlite_exec(db_, "PRAGMA journal_mode=WAL");
  backups_under_a_writer(*this, db_, dir_);
}

// A writer that died inside a transaction leaves the file half written and a hot journal beside
// it. SQLite rolls the journal back at dbtool's first read, before anything is copied (the copy
// is the file's bytes), so the backup holds the database as it was before that transaction,
// never the half-written file.
TEST_F(BackupVerifyTest, ABackupAfterAWriterDiedMidTransactionHoldsTheDatabaseBeforeIt) {
  add_filler(db_);
  const std::string filler_before = sqlite_query(db_, "SELECT count(*), sum(length(body)) FROM filler");
  const pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    // A cache of a few pages spills the transaction's changes into the database file.
    sqlite3* db = nullptr;
    if (sqlite3_open(db_.c_str(), &db) != SQLITE_OK) ::_exit(2);
    sqlite3_exec(db,
                 "PRAGMA cache_size = 8; BEGIN; DELETE FROM filler WHERE id % 2 = 0;"
                 "INSERT INTO filler (body) SELECT randomblob(1000) FROM filler",
                 nullptr, nullptr, nullptr);
    ::_exit(0);  // no COMMIT, no ROLLBACK, no close
  }
  int status = 0;
  ASSERT_EQ(::waitpid(child, &status, 0), child);
  ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  ASSERT_TRUE(fs::exists(db_.string() + "-journal")) << "the writer left no journal: nothing to prove";
  const fs::path file = backup();
  ASSERT_FALSE(file.empty());
  EXPECT_EQ(sqlite_query(file, "SELECT count(*), sum(length(body)) FROM filler"), filler_before);
  EXPECT_EQ(sqlite_query(file, "PRAGMA integrity_check"), "ok\n");
  EXPECT_EQ(sqlite_query(db_, "SELECT count(*), sum(length(body)) FROM filler"), filler_before);
}

// A database in WAL mode is not its file alone (committed pages may still be in the WAL): its
// backup is made through SQLite's backup API, holds what was committed, and is a self-contained
// file (no WAL of its own).
TEST_F(BackupVerifyTest, AWalDatabaseIsBackedUpWithWhatItsWalHolds) {
  sqlite3* app = nullptr;
  ASSERT_EQ(sqlite3_open(db_.c_str(), &app), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(app,
                         "PRAGMA journal_mode=WAL; PRAGMA wal_autocheckpoint=0;"
                         "UPDATE users SET _name = 'only in the WAL' WHERE id = 1",
                         nullptr, nullptr, nullptr),
            SQLITE_OK);
  const fs::path file = backup();  // the app still has the database open: its WAL stays
  sqlite3_close(app);
  ASSERT_FALSE(file.empty());
  EXPECT_FALSE(fs::exists(file.string() + "-wal"));
  EXPECT_EQ(sqlite_query(file, "PRAGMA journal_mode"), "delete\n");
  EXPECT_EQ(sqlite_query(file, "SELECT _name FROM users WHERE id = 1"), "only in the WAL\n");
  const fs::path restored = dir_ / "restored.db";
  auto r = run_dbtool({"restore", "--db", restored.string(), "--yes", file.string()});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(sqlite_query(restored, "SELECT _name FROM users WHERE id = 1"), "only in the WAL\n");
}

// A disk that fills up while the backup is copied (a file size limit, so no privileges are
// needed): a clear error, no backup file (not even the hidden partial one), the database as it
// was.
TEST_F(BackupVerifyTest, AFullDiskDuringTheCopyLeavesNoBackupBehind) {
  add_filler(db_);
  const std::string before = read_bytes(db_);
  const fs::path dir = dir_ / "backups";
  auto r = run_program("/bin/sh", {"-c", "trap '' XFSZ; ulimit -f 2048; exec \"$0\" \"$@\"", dbtool_binary().string(),
                                   "backup", "--db", db_.string(), "--backup-dir", dir.string()});
  EXPECT_EQ(r.exit_code, 1) << "an error, not a signal: " << r.err;
  EXPECT_NE(r.err.find("disk full"), std::string::npos) << r.err;
  EXPECT_EQ(files_in(dir), 0u);
  EXPECT_EQ(read_bytes(db_), before);
}

}  // namespace
}  // namespace dbtool::testing
