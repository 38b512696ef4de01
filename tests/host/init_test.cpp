// `dbtool init`, `backup`, `restore`, `status` end to end: the real binary on real SQLite files,
// with the no-data-loss promises checked byte for byte, including injected failures and kills.
#include <gtest/gtest.h>
#include <sqlite3.h>
#include <sys/stat.h>

#include <boost/json.hpp>

#include <atomic>
#include <chrono>
#include <map>
#include <thread>

#include "run_dbtool.hpp"
#include "sqlite_file.hpp"
#include "temp_dir_test.hpp"
#include "util/password_hash.hpp"

namespace dbtool {
namespace {
namespace fs = std::filesystem;
using testing::read_bytes;
using testing::run_dbtool;
using testing::sqlite_exec;
using testing::sqlite_query;

// The app's data, ordered, as text.
std::string app_data(const fs::path& db) {
  return sqlite_query(db, "SELECT * FROM users ORDER BY id") + sqlite_query(db, "SELECT * FROM sections ORDER BY id") +
         sqlite_query(db, "SELECT * FROM user_sections ORDER BY user_id, section_id") +
         sqlite_query(db, "SELECT * FROM table_stocks ORDER BY id") +
         sqlite_query(db, "SELECT * FROM stock_users ORDER BY id") +
         sqlite_query(db, "SELECT * FROM stock_transactions ORDER BY id") +
         sqlite_query(db, "SELECT * FROM user_transaction_stocks ORDER BY 1, 2, 3");
}

// A database's structure as SQLite itself reports it, whatever SQL text built it: per table
// (dbtool's history aside) each column's name, declared type, NOT NULL and place in the primary
// key, each foreign key with its ON DELETE, and each unique key's columns.
std::string structure(const fs::path& db) {
  std::string out;
  std::string names = sqlite_query(db,
                                   "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' "
                                   "AND name != 'dbtool_history' ORDER BY name");
  for (size_t at = 0, nl; (nl = names.find('\n', at)) != std::string::npos; at = nl + 1) {
    const std::string t = names.substr(at, nl - at);
    out += "table " + t + "\n";
    out += sqlite_query(db, "SELECT name, type, \"notnull\", pk FROM pragma_table_info('" + t + "') ORDER BY cid");
    out += sqlite_query(db, "SELECT \"from\", \"table\", \"to\", on_delete FROM pragma_foreign_key_list('" + t +
                                "') ORDER BY \"from\"");
    out += sqlite_query(db, "SELECT 'unique', group_concat(ii.name) FROM pragma_index_list('" + t +
                                "') il, pragma_index_info(il.name) ii WHERE il.\"unique\" AND il.origin != 'pk' "
                                "GROUP BY il.name ORDER BY 2");
  }
  return out;
}

std::vector<fs::path> files_in(const fs::path& dir) {
  std::vector<fs::path> out;
  if (fs::exists(dir))
    for (const auto& e : fs::directory_iterator(dir)) out.push_back(e.path());
  return out;
}

class InitTest : public testing::TempDirTest {
 protected:
  testing::RunResult init(std::vector<std::string> extra = {}, std::map<std::string, std::string> env = {}) {
    std::vector<std::string> args = {"init", "--db", db_.string()};
    args.insert(args.end(), extra.begin(), extra.end());
    if (!env.count("DBTOOL_DEFAULT_PASSWORD")) env["DBTOOL_DEFAULT_PASSWORD"] = "test-only-pw";
    return run_dbtool(args, env);
  }
  // A populated database whose content we know.
  void populate() {
    auto r = init();
    ASSERT_EQ(r.exit_code, 0) << r.err;
    sqlite_exec(db_, "UPDATE users SET _name = 'Marker ''before''' WHERE id = 1");
  }
};

TEST_F(InitTest, EmptyTargetGetsSchemaDefaultsAndHistory) {
  auto r = init({"--json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  boost::json::value report = boost::json::parse(r.out);
  EXPECT_EQ(report.at("operation").as_string(), "init");
  EXPECT_TRUE(report.at("backup").is_null());
  EXPECT_GE(std::stoi(sqlite_query(db_, "SELECT count(*) FROM users")), 4);
  EXPECT_GE(std::stoi(sqlite_query(db_, "SELECT count(*) FROM sections")), 3);
  EXPECT_GE(std::stoi(sqlite_query(db_, "SELECT count(*) FROM user_sections")), 3);
  EXPECT_EQ(sqlite_query(db_, "SELECT count(*) FROM users WHERE _role = 'Admin'"), "1\n");
  EXPECT_EQ(sqlite_query(db_, "SELECT operation, schema_name, schema_version, source FROM dbtool_history"),
            "init\tuser_management\t2\tdefaults\n");
  EXPECT_EQ(sqlite_query(db_, "SELECT length(schema_checksum) FROM dbtool_history"), "64\n");
  // Passwords are stored only as hashes of the default password.
  std::string hash = sqlite_query(db_, "SELECT _password FROM users WHERE _role = 'Admin'");
  hash.pop_back();
  EXPECT_EQ(hash.rfind("pbkdf2:sha256:", 0), 0u);
  EXPECT_TRUE(check_password(hash, "test-only-pw"));
  EXPECT_EQ(sqlite_query(db_, "PRAGMA integrity_check"), "ok\n");
  EXPECT_EQ(sqlite_query(db_, "PRAGMA foreign_key_check"), "");
}

// schemas/schema.json is the app's schema: what init builds has the same tables, columns, types,
// NOT NULLs, keys and ON DELETE actions as the app's own db.create_all() (its SQLite DDL is
// tests/fixtures/app-schema-current.sql), and the tables the test data does not feed are empty.
TEST_F(InitTest, BuildsExactlyTheAppsSchema) {
  auto r = init();
  ASSERT_EQ(r.exit_code, 0) << r.err;
  fs::path app = dir_ / "app-created.db";
  sqlite_exec(app, read_bytes(testing::fixtures_dir() / "app-schema-current.sql"));
  const std::string expected = structure(app);
  ASSERT_NE(expected.find("table user_transaction_stocks"), std::string::npos) << expected;
  EXPECT_EQ(structure(db_), expected);
  for (const char* t : {"table_stocks", "stock_users", "stock_transactions", "user_transaction_stocks"})
    EXPECT_EQ(sqlite_query(db_, std::string("SELECT count(*) FROM ") + t), "0\n") << t;
}

TEST_F(InitTest, DefaultPathWorksInAFreshFolder) {
  auto r = run_dbtool({"init"}, {{"DBTOOL_DEFAULT_PASSWORD", "x"}}, dir_);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(fs::exists(dir_ / "instance" / "volumes" / "user_management.db"));
}

TEST_F(InitTest, SecondRunBacksUpOwnerOnlyAndReplaces) {
  populate();
  const std::string before = app_data(db_);
  auto r = init({"--yes"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto backups = files_in(dir_ / "backups");
  ASSERT_EQ(backups.size(), 1u);
  EXPECT_NE(r.err.find(backups[0].string()), std::string::npos) << "the backup path is printed";
  EXPECT_NE(backups[0].filename().string().find("app-"), std::string::npos);
  struct stat st {};
  ASSERT_EQ(stat(backups[0].c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  ASSERT_EQ(stat((dir_ / "backups").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0700u);
  EXPECT_EQ(app_data(backups[0]), before) << "the backup holds the data of before";
  EXPECT_EQ(sqlite_query(db_, "SELECT count(*) FROM users WHERE _name LIKE 'Marker%'"), "0\n");
  EXPECT_EQ(sqlite_query(db_, "SELECT count(*) FROM dbtool_history"), "2\n") << "history carried over";
}

TEST_F(InitTest, RefusesWithoutYesAndTerminal) {
  populate();
  const std::string bytes = read_bytes(db_);
  auto r = init();
  EXPECT_EQ(r.exit_code, 3) << r.err;
  EXPECT_NE(r.err.find("--yes"), std::string::npos);
  EXPECT_NE(r.err.find("users ("), std::string::npos) << "lists the tables it would replace: " << r.err;
  EXPECT_EQ(read_bytes(db_), bytes);
  EXPECT_FALSE(fs::exists(dir_ / "backups"));
}

TEST_F(InitTest, InjectedFailureAtEveryStepLeavesTheOriginalIntact) {
  populate();
  const std::string bytes = read_bytes(db_);
  for (std::string point : {"after-backup", "after-stage", "after-load", "before-commit", "after-stage:kill",
                            "after-load:kill", "before-commit:kill"}) {
    SCOPED_TRACE(point);
    auto r = init({"--yes"}, {{"DBTOOL_TEST_FAULT", point}});
    EXPECT_NE(r.exit_code, 0);
    if (point.find(":kill") != std::string::npos) {
      EXPECT_EQ(r.exit_code, 128 + 9);
    }
    EXPECT_EQ(read_bytes(db_), bytes) << "original changed after a fault at " << point;
  }
  // The next run cleans what the killed runs left beside the database, and works.
  auto r = init({"--yes"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  for (const auto& f : files_in(dir_))
    EXPECT_EQ(f.filename().string().find(".app.db.dbtool-stage"), std::string::npos) << "stale stage " << f;
}

TEST_F(InitTest, BackupFailureStopsBeforeAnyChange) {
  populate();
  const std::string bytes = read_bytes(db_);
  testing::write_bytes(dir_ / "not-a-folder", "x");
  auto r = init({"--yes", "--backup-dir", (dir_ / "not-a-folder").string()});
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.err.find("backup"), std::string::npos) << r.err;
  // A backup only reads the target, so its failure says the target is as it was.
  EXPECT_NE(r.err.find("nothing was changed"), std::string::npos) << r.err;
  EXPECT_EQ(read_bytes(db_), bytes);
}

TEST_F(InitTest, BadSchemaIsNamedAndChangesNothing) {
  populate();
  const std::string bytes = read_bytes(db_);
  fs::path schemas = dir_ / "schemas";
  fs::copy(testing::source_dir() / "schemas", schemas);
  std::string text = read_bytes(schemas / "schema.json");
  text.replace(text.find("\"type\": \"int64\""), 15, "\"type\": \"integer\"");
  testing::write_bytes(schemas / "schema.json", text);
  auto r = init({"--yes", "--schema-dir", schemas.string()});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("schema.json: tables[0] (users).columns[0].type: unknown type \"integer\""), std::string::npos)
      << r.err;
  EXPECT_EQ(read_bytes(db_), bytes);
}

TEST_F(InitTest, BackupThenRestoreReturnsTheExactData) {
  populate();
  const std::string before = app_data(db_);
  auto b = run_dbtool({"backup", "--db", db_.string(), "--json"});
  ASSERT_EQ(b.exit_code, 0) << b.err;
  fs::path file = std::string(boost::json::parse(b.out).at("path").as_string());
  sqlite_exec(db_, "DELETE FROM user_sections; UPDATE users SET _name = 'changed'");
  ASSERT_NE(app_data(db_), before);
  auto r = run_dbtool({"restore", "--db", db_.string(), "--yes", file.string()});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(app_data(db_), before);
  EXPECT_EQ(files_in(dir_ / "backups").size(), 2u) << "restore backed up the current state first";
}

TEST_F(InitTest, RestoreRefusesWithoutYesAndAGarbageBackupChangesNothing) {
  populate();
  const std::string bytes = read_bytes(db_);
  auto b = run_dbtool({"backup", "--db", db_.string(), "--json"});
  ASSERT_EQ(b.exit_code, 0) << b.err;
  fs::path file = std::string(boost::json::parse(b.out).at("path").as_string());
  auto r = run_dbtool({"restore", "--db", db_.string(), file.string()});
  EXPECT_EQ(r.exit_code, 3) << r.err;
  // A file that is not a backup is refused before the question and before any backup.
  testing::write_bytes(dir_ / "garbage.db", "this is not a database");
  r = run_dbtool({"restore", "--db", db_.string(), (dir_ / "garbage.db").string()});
  EXPECT_EQ(r.exit_code, 1) << r.err;
  EXPECT_NE(r.err.find("not a SQLite database"), std::string::npos) << r.err;
  EXPECT_EQ(read_bytes(db_), bytes);
  EXPECT_EQ(files_in(dir_ / "backups").size(), 1u);
}

// restore checks the file before it touches anything or backs up the current state: empty,
// truncated, another format, or a database dbtool did not make are refused, clearly.
TEST_F(InitTest, RestoreRefusesFilesThatAreNotCompleteDbtoolBackups) {
  populate();
  sqlite_exec(
      db_,
      "CREATE TABLE padding (b BLOB); WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 200) "
      "INSERT INTO padding SELECT randomblob(2000) FROM n");
  auto b = run_dbtool({"backup", "--db", db_.string(), "--json"});
  ASSERT_EQ(b.exit_code, 0) << b.err;
  const fs::path good = std::string(boost::json::parse(b.out).at("path").as_string());
  const std::string good_bytes = read_bytes(good);
  sqlite_exec(db_, "UPDATE users SET _name = 'after the backup'");
  const std::string bytes = read_bytes(db_);
  const std::map<std::string, std::pair<std::string, std::string>> cases = {
      {"empty.db", {"", "is empty (0 bytes)"}},
      {"truncated.db", {good_bytes.substr(0, good_bytes.size() / 2), "is truncated"}},
      {"text.db", {"-- not a database at all\n", "not a SQLite database"}},
      {"foreign.db", {bytes, "was not made by dbtool backup"}},
  };
  for (const auto& [name, c] : cases) {
    SCOPED_TRACE(name);
    testing::write_bytes(dir_ / name, c.first);
    auto r = run_dbtool({"restore", "--db", db_.string(), "--yes", (dir_ / name).string()});
    EXPECT_EQ(r.exit_code, 1) << r.err;
    EXPECT_NE(r.err.find(c.second), std::string::npos) << r.err;
    EXPECT_EQ(read_bytes(db_), bytes);
    EXPECT_EQ(files_in(dir_ / "backups").size(), 1u) << "no backup of the current state for a bad file";
  }
  auto r = run_dbtool({"restore", "--db", db_.string(), "--yes", good.string()});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(sqlite_query(db_, "SELECT count(*) FROM users WHERE _name = 'after the backup'"), "0\n");
  EXPECT_EQ(sqlite_query(db_, "PRAGMA application_id"), "0\n") << "the backup's marker stays in the backup";
}

// A backup killed before it is complete leaves no file that looks like a backup; the next one
// removes the leftover.
TEST_F(InitTest, AKilledBackupLeavesNoFileThatLooksReal) {
  populate();
  auto r = run_dbtool({"backup", "--db", db_.string()}, {{"DBTOOL_TEST_FAULT", "backup-written:kill"}});
  ASSERT_EQ(r.exit_code, 128 + 9) << r.err;
  auto left = files_in(dir_ / "backups");
  ASSERT_EQ(left.size(), 1u);
  EXPECT_EQ(left[0].filename().string()[0], '.') << "a partial backup must not look real: " << left[0];
  EXPECT_NE(left[0].filename().string().find(".partial-"), std::string::npos) << left[0];
  r = run_dbtool({"backup", "--db", db_.string()});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto now = files_in(dir_ / "backups");
  ASSERT_EQ(now.size(), 1u) << "the leftover is removed";
  EXPECT_NE(now[0].filename().string()[0], '.');
}

// The online backup restarts whenever another connection writes; under an application
// committing 20 times a second it must still finish, in seconds.
TEST_F(InitTest, BackupFinishesUnderABusyWriter) {
  populate();
  sqlite_exec(db_,
              "CREATE TABLE padding (b BLOB); CREATE TABLE app_log (at TEXT); "
              "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 40000) "
              "INSERT INTO padding SELECT randomblob(2000) FROM n");
  std::atomic<bool> stop{false};
  std::atomic<int> commits{0};
  std::thread writer([&] {
    sqlite3* h = nullptr;
    sqlite3_open(db_.c_str(), &h);
    sqlite3_busy_timeout(h, 10000);
    while (!stop) {
      if (sqlite3_exec(h, "INSERT INTO app_log VALUES (datetime('now'))", nullptr, nullptr, nullptr) == SQLITE_OK)
        ++commits;
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    sqlite3_close(h);
  });
  const auto t0 = std::chrono::steady_clock::now();
  auto r = testing::run_program("timeout", {"30", testing::dbtool_binary().string(), "backup", "--db", db_.string()});
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  stop = true;
  writer.join();
  EXPECT_EQ(r.exit_code, 0) << "after " << seconds << " s: " << r.err;
  EXPECT_LT(seconds, 15.0);
  EXPECT_GT(commits.load(), 0) << "the writer made progress too";
  auto backups = files_in(dir_ / "backups");
  ASSERT_EQ(backups.size(), 1u);
  EXPECT_EQ(sqlite_query(backups[0], "PRAGMA integrity_check"), "ok\n");
  EXPECT_EQ(sqlite_query(backups[0], "SELECT count(*) FROM padding"), "40000\n");
}

// A backend that can back up but not restore: restore refuses before it writes anything, not
// after a backup of the current state that could only mislead.
TEST_F(InitTest, RestoreRefusesABackendWithoutRestoreBeforeAnyBackup) {
  populate();
  auto b = run_dbtool({"backup", "--db", db_.string(), "--json"});
  ASSERT_EQ(b.exit_code, 0) << b.err;
  fs::path file = std::string(boost::json::parse(b.out).at("path").as_string());
  const std::string bytes = read_bytes(db_);
  const size_t backups = files_in(dir_ / "backups").size();
  auto r = run_dbtool({"--plugin-dir", DBTOOL_TEST_NORESTORE_PLUGIN_DIR, "restore", "--db",
                       "sqlite-norestore:///" + db_.string(), "--yes", file.string()},
                      {}, dir_);
  EXPECT_EQ(r.exit_code, 3) << r.err;
  EXPECT_NE(r.err.find("sqlite-norestore backend cannot restore"), std::string::npos) << r.err;
  EXPECT_EQ(files_in(dir_ / "backups").size(), backups) << "no backup was written for a restore that cannot happen";
  EXPECT_EQ(read_bytes(db_), bytes);
}

// A plugin built before describe_uri (ABI 1.1) still works: its URI is passed through as given,
// displayed as given, named after its last path segment, and its backups go to ./backups (the
// host knows of no file behind it).
TEST_F(InitTest, APluginWithoutDescribeUriHasItsUriReadAsOpaque) {
  populate();
  const fs::path work = dir_ / "work";
  fs::create_directories(work);
  const std::string uri = "sqlite-norestore:///" + db_.string();
  auto r = run_dbtool({"--plugin-dir", DBTOOL_TEST_NORESTORE_PLUGIN_DIR, "backup", "--db", uri, "--json"}, {}, work);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const boost::json::value v = boost::json::parse(r.out);
  EXPECT_EQ(v.at("database").as_string(), uri);
  const fs::path file = std::string(v.at("path").as_string());
  EXPECT_EQ(file.parent_path(), work / "backups");
  EXPECT_EQ(file.filename().string().rfind(db_.stem().string() + "-", 0), 0u) << file;
  EXPECT_EQ(sqlite_query(file, "SELECT count(*) FROM users"), sqlite_query(db_, "SELECT count(*) FROM users"));

  r = run_dbtool({"--plugin-dir", DBTOOL_TEST_NORESTORE_PLUGIN_DIR, "backup", "--db", "sqlite-norestore://host/"}, {},
                 work);
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_NE(r.err.find("names no database"), std::string::npos) << r.err;
}

TEST_F(InitTest, BackupOfMissingDatabaseIsAClearError) {
  auto r = run_dbtool({"backup", "--db", (dir_ / "nope.db").string()});
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.err.find("does not exist"), std::string::npos) << r.err;
}

TEST_F(InitTest, StatusShowsTablesAndRuns) {
  populate();
  auto r = run_dbtool({"status", "--db", db_.string(), "--json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  boost::json::value v = boost::json::parse(r.out);
  EXPECT_EQ(v.at("history").as_array().size(), 1u);
  EXPECT_EQ(v.at("history").as_array()[0].at("operation").as_string(), "init");
}

}  // namespace
}  // namespace dbtool
