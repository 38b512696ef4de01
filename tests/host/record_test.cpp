// A record that stays true, through the real binary on real SQLite files: every run records row
// counts and checksums, `status` says what drifted since, `verify` compares a source with the
// live database, and read-only commands (and finished runs) leave no file behind.
#include <gtest/gtest.h>

#include <boost/json.hpp>

#include <signal.h>

#include <chrono>
#include <thread>

#include "run_dbtool.hpp"
#include "sqlite_file.hpp"
#include "temp_dir_test.hpp"

namespace dbtool::testing {
namespace {
namespace json = boost::json;

// Every file below `dir` with its bytes and modification time.
std::map<std::string, std::string> snapshot(const fs::path& dir) {
  std::map<std::string, std::string> out;
  for (const auto& e : fs::recursive_directory_iterator(dir)) {
    std::string key = fs::relative(e.path(), dir).string();
    if (e.is_regular_file())
      out[key] = testing::read_bytes(e.path()) + "@" +
                 std::to_string(fs::last_write_time(e.path()).time_since_epoch().count());
    else
      out[key] = "dir";
  }
  return out;
}

class Record : public testing::TempDirTest {
 protected:
  testing::RunResult dbtool(std::vector<std::string> args) {
    args.insert(args.begin() + 1, {"--db", db_.string()});
    return run_dbtool(args, {{"DBTOOL_DEFAULT_PASSWORD", "test-only-pw"}}, dir_);
  }
  json::object status() {
    auto r = dbtool({"status", "--json"});
    EXPECT_EQ(r.exit_code, 0) << r.err;
    return json::parse(r.out).as_object();
  }
  std::set<std::string> drift_kinds() {
    std::set<std::string> kinds;
    const json::object s = status();
    for (const auto& d : s.at("drift").at("differences").as_array())
      kinds.insert(std::string(d.at("kind").as_string()) + ":" +
                   (d.as_object().contains("table") ? std::string(d.at("table").as_string()) : ""));
    return kinds;
  }
  // init, a backup (its path returned; "" when a step failed), then a migration of the sample
  // export: a database whose history holds a run the backup does not.
  std::string init_backup_migrate() {
    if (dbtool({"init", "--yes"}).exit_code != 0) return "";
    auto b = dbtool({"backup", "--json"});
    EXPECT_EQ(b.exit_code, 0) << b.err;
    if (b.exit_code != 0) return "";
    auto m = dbtool({"migrate", "--yes", "--json-file", export_.string()});
    EXPECT_EQ(m.exit_code, 0) << m.err;
    return m.exit_code == 0 ? std::string(json::parse(b.out).at("path").as_string()) : "";
  }
  const fs::path export_ = testing::fixtures_dir() / "sample-export.json";
};

TEST_F(Record, ReadOnlyCommandsOnAMissingDatabaseCreateNothing) {
  for (std::vector<std::string> args : {std::vector<std::string>{"status"}, {"status", "--json"}}) {
    auto r = dbtool(args);
    EXPECT_EQ(r.exit_code, 0) << r.err;
  }
  EXPECT_NE(dbtool({"verify", "--source", export_.string()}).exit_code, 0);
  EXPECT_TRUE(snapshot(dir_).empty()) << "files appeared in " << dir_;
}

TEST_F(Record, RunsLeaveNoLockFileAndReadOnlyCommandsChangeNoByte) {
  ASSERT_EQ(dbtool({"migrate", "--json-file", export_.string()}).exit_code, 0);
  ASSERT_EQ(dbtool({"init", "--yes"}).exit_code, 0);
  for (const auto& [name, what] : snapshot(dir_))
    EXPECT_EQ(name.find(".lock"), std::string::npos) << name << " left behind";
  const auto before = snapshot(dir_);
  ASSERT_EQ(dbtool({"status"}).exit_code, 0);
  ASSERT_EQ(dbtool({"status", "--json"}).exit_code, 0);
  dbtool({"verify", "--source", export_.string()});
  EXPECT_EQ(snapshot(dir_), before);
}

TEST_F(Record, EveryRunRecordsRowCountsAndChecksums) {
  ASSERT_EQ(dbtool({"migrate", "--json-file", export_.string()}).exit_code, 0);
  json::array history = status().at("history").as_array();
  ASSERT_EQ(history.size(), 1u);
  const json::object& run = history[0].as_object();
  EXPECT_EQ(run.at("schema_checksum").as_string().size(), 64u);
  std::map<std::string, int64_t> rows;
  for (const auto& t : run.at("report").at("tables").as_array()) {
    rows[std::string(t.at("name").as_string())] = t.at("rows").as_int64();
    EXPECT_EQ(t.at("checksum").as_string().size(), 16u) << t;
  }
  EXPECT_EQ(rows["users"], 200);
  EXPECT_EQ(rows["sections"], 6);
  EXPECT_EQ(rows["user_sections"], 306);
}

TEST_F(Record, StatusSaysWhatDriftedSinceTheLastRun) {
  ASSERT_EQ(dbtool({"migrate", "--json-file", export_.string()}).exit_code, 0);
  EXPECT_EQ(drift_kinds(), std::set<std::string>{}) << "a fresh run must show no drift";

  sqlite_exec(db_, "ALTER TABLE users ADD COLUMN nickname TEXT");
  EXPECT_EQ(drift_kinds(), std::set<std::string>{"column_added:users"});

  sqlite_exec(db_, "INSERT INTO sections (_name, _abbreviation) VALUES ('Added by hand', 'HAND')");
  EXPECT_EQ(drift_kinds(), (std::set<std::string>{"column_added:users", "rows_changed:sections"}));
  auto r = dbtool({"status"});
  EXPECT_NE(r.out.find("sections: 7 rows, 6 recorded by the last run"), std::string::npos) << r.out;

  sqlite_exec(db_, "UPDATE user_sections SET section_id = section_id WHERE 0");  // a no-op changes nothing
  sqlite_exec(db_, "UPDATE users SET _name = 'Changed by hand' WHERE id = 7");
  EXPECT_EQ(drift_kinds(),
            (std::set<std::string>{"column_added:users", "rows_changed:sections", "content_changed:users"}));

  sqlite_exec(db_, "CREATE TABLE notes (id INTEGER PRIMARY KEY)");
  EXPECT_TRUE(drift_kinds().count("table_added:notes"));
}

// restore --dry-run checks the backup and says what would be replaced, and writes nothing: not
// the database, not a backup, not a lock file, not a stage.
TEST_F(Record, RestoreDryRunChangesNoByteAndSaysRowsBeforeAndAfter) {
  const std::string file = init_backup_migrate();
  ASSERT_FALSE(file.empty());
  const auto before = snapshot(dir_);

  auto r = dbtool({"restore", "--dry-run", "--json", file});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const json::object plan = json::parse(r.out).as_object();
  EXPECT_EQ(plan.at("command"), "restore");
  std::map<std::string, std::pair<json::value, json::value>> rows;
  for (const auto& t : plan.at("tables").as_array())
    rows[std::string(t.at("name").as_string())] = {t.at("rows_before"), t.at("rows_after")};
  EXPECT_EQ(rows["users"], (std::pair<json::value, json::value>{200, 5})) << r.out;
  EXPECT_EQ(rows["user_sections"], (std::pair<json::value, json::value>{306, 8})) << r.out;
  EXPECT_EQ(rows["dbtool_history"], (std::pair<json::value, json::value>{2, 3})) << r.out;
  EXPECT_EQ(plan.at("history"), (json::object{{"from_backup", 1}, {"since_backup", 1}}));
  EXPECT_EQ(plan.at("backup"), "a verified backup would be made first");
  EXPECT_TRUE(plan.at("would_refuse").as_bool()) << "without --yes and a terminal the restore asks";

  r = dbtool({"restore", "--dry-run", "--yes", file});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("plan: restore of " + db_.string()), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("users"), std::string::npos) << r.out;
  EXPECT_EQ(r.out.find("would stop or ask"), std::string::npos) << r.out;

  // A file that is not a backup is refused by the plan as by the restore.
  testing::write_bytes(dir_ / "not-a-backup.db", "SQLite format 3");
  r = dbtool({"restore", "--dry-run", (dir_ / "not-a-backup.db").string()});
  EXPECT_NE(r.exit_code, 0);
  fs::remove(dir_ / "not-a-backup.db");
  EXPECT_EQ(snapshot(dir_), before);

  // The plan's numbers are what the restore then leaves.
  ASSERT_EQ(dbtool({"restore", "--yes", file}).exit_code, 0);
  const json::object after = status();
  for (const auto& t : after.at("tables").as_array())
    EXPECT_EQ(t.at("rows"), rows[std::string(t.at("name").as_string())].second) << t;
}

TEST_F(Record, StatusNoticesADroppedAndAnAddedIndex) {
  ASSERT_EQ(dbtool({"migrate", "--json-file", export_.string()}).exit_code, 0);
  ASSERT_EQ(drift_kinds(), std::set<std::string>{});
  sqlite_exec(db_, "DROP INDEX uq_users_uid");
  EXPECT_EQ(drift_kinds(), std::set<std::string>{"index_missing:users"});
  sqlite_exec(db_, "CREATE INDEX by_name ON sections (_name)");
  EXPECT_EQ(drift_kinds(), (std::set<std::string>{"index_missing:users", "index_added:sections"}));
  const json::object s = status();
  for (const auto& d : s.at("drift").at("differences").as_array())
    if (d.at("kind") == "index_missing") {
      EXPECT_EQ(d.at("columns"), (json::array{"_uid"})) << d;
      EXPECT_EQ(d.at("unique"), true) << d;
    }
  auto r = dbtool({"status"});
  EXPECT_NE(r.out.find("sections: index on [\"_name\"] is not in schemas/"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("users: unique index on [\"_uid\"] is in schemas/ but not in the database"), std::string::npos)
      << r.out;
}

TEST_F(Record, VerifyComparesTheSourceWithTheLiveDatabase) {
  ASSERT_EQ(dbtool({"migrate", "--json-file", export_.string()}).exit_code, 0);
  auto r = dbtool({"verify", "--source", export_.string(), "--json"});
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  json::object ok = json::parse(r.out).as_object();
  EXPECT_TRUE(ok.at("ok").as_bool());
  EXPECT_TRUE(ok.at("match").as_bool());

  sqlite_exec(db_, "UPDATE users SET _email = 'someone@else.example' WHERE id = 3");
  r = dbtool({"verify", "--source", export_.string(), "--json"});
  EXPECT_EQ(r.exit_code, 1);
  json::object changed = json::parse(r.out).as_object();
  EXPECT_FALSE(changed.at("ok").as_bool());
  EXPECT_NE(changed.at("error").at("message").as_string().find("users: same row count, different content"),
            std::string::npos)
      << r.out;

  sqlite_exec(db_, "DELETE FROM user_sections WHERE rowid IN (SELECT rowid FROM user_sections LIMIT 1)");
  r = dbtool({"verify", "--source", export_.string()});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("user_sections: 305 rows in the database, 306 in the source"), std::string::npos) << r.err;
}

// Every column of a history row but its id: the same run, wherever it is kept.
json::object without_id(const json::value& row) {
  json::object o = row.as_object();
  o.erase("id");
  return o;
}

TEST_F(Record, RestoreKeepsTheBackupsRunsTheRunsSinceAndRecordsItself) {
  ASSERT_EQ(dbtool({"init", "--yes"}).exit_code, 0);
  ASSERT_EQ(dbtool({"migrate", "--yes", "--json-file", export_.string()}).exit_code, 0);
  const std::string file = init_backup_migrate();
  ASSERT_FALSE(file.empty());
  ASSERT_EQ(dbtool({"init", "--yes"}).exit_code, 0);
  const json::array live = status().at("history").as_array();
  ASSERT_EQ(live.size(), 5u);

  auto r = dbtool({"restore", "--yes", "--json", file});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const json::object out = json::parse(r.out).as_object();
  EXPECT_EQ(out.at("history"), (json::object{{"from_backup", 3}, {"since_backup", 2}, {"recorded", true}})) << r.out;

  const json::object s = status();
  const json::array history = s.at("history").as_array();
  ASSERT_EQ(history.size(), 6u) << s;
  for (size_t i = 0; i < 3; ++i) EXPECT_EQ(history[i], live[i]) << "the backup's run " << i << " as it was";
  for (size_t i = 3; i < 5; ++i) EXPECT_EQ(without_id(history[i]), without_id(live[i])) << "run " << i << " since";
  std::set<int64_t> ids;
  for (const auto& h : history) ids.insert(h.at("id").as_int64());
  EXPECT_EQ(ids.size(), history.size()) << "ids collide";
  EXPECT_LT(history[2].at("id").as_int64(), history[3].at("id").as_int64());
  const json::object& restore = history[5].as_object();
  EXPECT_EQ(restore.at("operation"), "restore");
  EXPECT_EQ(restore.at("source"), json::value(file));
  EXPECT_EQ(restore.at("schema_checksum"), history[2].at("schema_checksum"));
  std::map<std::string, int64_t> rows;
  for (const auto& t : restore.at("report").at("tables").as_array())
    rows[std::string(t.at("name").as_string())] = t.at("rows").as_int64();
  for (const auto& t : s.at("tables").as_array())
    if (t.at("name") != "dbtool_history") {
      EXPECT_EQ(rows[std::string(t.at("name").as_string())], t.at("rows").as_int64()) << t;
    }
  EXPECT_EQ(rows["users"], 5) << "init's defaults, as backed up";
  EXPECT_TRUE(s.at("drift").at("differences").as_array().empty()) << s;
  // The data and structure are the backup's, table by table.
  for (const char* table : {"users", "sections", "user_sections", "table_stocks"}) {
    auto dump = [&](const fs::path& db) {  // lines sorted: the copy may hold rows in key order
      std::string out = run_program("sqlite3", {db.string(), std::string(".dump ") + table}).out;
      std::multiset<std::string> lines;
      for (size_t at = 0, nl; at < out.size(); at = nl + 1) {
        nl = out.find('\n', at);
        if (nl == std::string::npos) nl = out.size();
        lines.insert(out.substr(at, nl - at));
      }
      return lines;
    };
    EXPECT_EQ(dump(db_), dump(file)) << table;
  }
}

// The one-swap restore (ABI 1.3, restore_stage): the history joins the restored copy before its
// only swap, so a failure right before that swap leaves the target exactly as it was: the
// previous content and history, not the backup's, and no stage beside it.
TEST_F(Record, ARestoreIntoAStageSwapsOnceAndAFailureBeforeItChangesNothing) {
  const std::string file = init_backup_migrate();
  ASSERT_FALSE(file.empty());
  const json::array live = status().at("history").as_array();
  ASSERT_EQ(live.size(), 2u);
  const std::string users_before = sqlite_query(db_, "SELECT count(*), max(_uid) FROM users");

  auto r = run_dbtool({"-v", "restore", "--db", db_.string(), "--yes", file},
                      {{"DBTOOL_TEST_FAULT", "before-history-commit"}}, dir_);
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("restore: into a stage, one swap"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("nothing was changed"), std::string::npos) << r.err;
  EXPECT_EQ(r.err.find("restored " + db_.string()), std::string::npos) << "no swap happened: " << r.err;
  EXPECT_EQ(sqlite_query(db_, "SELECT count(*), max(_uid) FROM users"), users_before)
      << "the migrated data, not the backup's";
  EXPECT_EQ(status().at("history").as_array(), live) << "the history as it was";
  for (const auto& e : fs::directory_iterator(db_.parent_path()))
    EXPECT_EQ(e.path().filename().string().find(".dbtool-stage-"), std::string::npos) << e.path() << " left behind";

  // Without the fault: the backup's data, its run, the run since and the restore, one swap.
  r = run_dbtool({"-v", "restore", "--db", db_.string(), "--yes", "--json", file}, {}, dir_);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.err.find("restore: into a stage, one swap"), std::string::npos) << r.err;
  EXPECT_EQ(r.err.find("merged through a rebuild"), std::string::npos) << r.err;
  const json::object out = json::parse(r.out).as_object();
  EXPECT_EQ(out.at("history"), (json::object{{"from_backup", 1}, {"since_backup", 1}, {"recorded", true}})) << r.out;
  const json::array history = status().at("history").as_array();
  ASSERT_EQ(history.size(), 3u);
  EXPECT_EQ(history[0], live[0]);
  EXPECT_EQ(without_id(history[1]), without_id(live[1])) << "the migrate since the backup";
  EXPECT_GT(history[1].at("id").as_int64(), history[0].at("id").as_int64());
  EXPECT_GT(history[2].at("id").as_int64(), history[1].at("id").as_int64());
  EXPECT_EQ(history[2].at("operation"), "restore");
  EXPECT_EQ(sqlite_count(db_, "users"), 5) << "init's defaults, as backed up";
  EXPECT_EQ(sqlite_query(db_, "PRAGMA application_id"), "0\n") << "the backup's marker is not restored";
  EXPECT_EQ(sqlite_query(db_, "SELECT count(*) FROM sqlite_master WHERE name = 'dbtool_backup_manifest'"), "0\n");
}

// A backup of a database no dbtool run made holds no history: the restore stage gets the table
// created, and the restore row names the structure the backup holds.
TEST_F(Record, ARestoreOfABackupWithoutHistoryRecordsItselfWithTheBackupsStructure) {
  sqlite_exec(db_,
              "CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT NOT NULL);"
              "INSERT INTO notes (body) VALUES ('a'), ('b');");
  auto b = dbtool({"backup", "--json"});
  ASSERT_EQ(b.exit_code, 0) << b.err;
  const std::string file(json::parse(b.out).at("path").as_string());
  sqlite_exec(db_, "INSERT INTO notes (body) VALUES ('after the backup')");
  auto r = dbtool({"restore", "--yes", "--json", file});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const json::object out = json::parse(r.out).as_object();
  EXPECT_EQ(out.at("history"), (json::object{{"from_backup", 0}, {"since_backup", 0}, {"recorded", true}})) << r.out;
  EXPECT_EQ(out.at("tables"), (json::array{json::object{{"name", "notes"}, {"rows", 2}}})) << r.out;
  EXPECT_EQ(out.at("rows"), 2) << r.out;
  const json::array history = status().at("history").as_array();
  ASSERT_EQ(history.size(), 1u);
  EXPECT_EQ(history[0].at("operation"), "restore");
  EXPECT_EQ(history[0].at("schema_name"), "restored");
  EXPECT_EQ(history[0].at("schema_checksum").as_string().size(), 64u) << history[0];
  EXPECT_EQ(sqlite_count(db_, "notes"), 2);
}

// A backend plugin built against ABI 1.2 (its table ends before restore_stage) restores the old
// way: the backend's restore, then the history merged through a rebuild, to the same history.
TEST_F(Record, APluginBuiltAgainstAbi12RestoresThroughTheRebuildToTheSameHistory) {
  const std::string file = init_backup_migrate();
  ASSERT_FALSE(file.empty());
  const json::array live = status().at("history").as_array();
  auto r = run_dbtool({"-v", "--plugin-dir", DBTOOL_TEST_V12_PLUGIN_DIR, "restore", "--backend", "sqlite-v12", "--db",
                       db_.string(), "--yes", "--json", file},
                      {}, dir_);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.err.find("merged through a rebuild"), std::string::npos) << r.err;
  EXPECT_EQ(r.err.find("one swap"), std::string::npos) << r.err;
  const json::object out = json::parse(r.out).as_object();
  EXPECT_EQ(out.at("history"), (json::object{{"from_backup", 1}, {"since_backup", 1}, {"recorded", true}})) << r.out;
  const json::array history = status().at("history").as_array();
  ASSERT_EQ(history.size(), 3u);
  EXPECT_EQ(without_id(history[1]), without_id(live[1]));
  EXPECT_EQ(history[2].at("operation"), "restore");
  EXPECT_EQ(sqlite_count(db_, "users"), 5);
}

// On the old path (a plugin without restore_stage), a failure after the backend's restore leaves
// the restored data in place and says where the runs since the backup are.
TEST_F(Record, ARestoreWhoseHistoryCannotBeMergedSaysSoAndKeepsTheData) {
  const std::string file = init_backup_migrate();
  ASSERT_FALSE(file.empty());
  auto r = run_dbtool({"--plugin-dir", DBTOOL_TEST_V12_PLUGIN_DIR, "restore", "--backend", "sqlite-v12", "--db",
                       db_.string(), "--yes", file},
                      {{"DBTOOL_TEST_FAULT", "before-history-commit"}}, dir_);
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("restored " + db_.string() + " from " + file), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("the runs recorded since that backup are kept in the backup of the previous state"),
            std::string::npos)
      << r.err;
  const json::object s = status();
  EXPECT_EQ(s.at("history").as_array().size(), 1u) << "the backup's history, as the backend restored it";
  for (const auto& t : s.at("tables").as_array())
    if (t.at("name") == "users") {
      EXPECT_EQ(t.at("rows").as_int64(), 5);
    }
}

// A rebuild holds no views or triggers; a restore into a stage rebuilds nothing. A backup that
// has them is restored with its views and triggers kept: into a stage with the history merged
// and the restore recorded; through the old path (a 1.2 plugin) as it is, the history left as
// the backup's, with a warning that says why.
TEST_F(Record, ARestoreOfABackupWithViewsAndTriggersKeepsThem) {
  ASSERT_EQ(dbtool({"init", "--yes"}).exit_code, 0);
  sqlite_exec(db_,
              "CREATE VIEW active_users AS SELECT _uid FROM users;"
              "CREATE TRIGGER users_touch AFTER UPDATE ON users BEGIN SELECT 1; END;");
  auto b = dbtool({"backup", "--json"});
  ASSERT_EQ(b.exit_code, 0) << b.err;
  const std::string file(json::parse(b.out).at("path").as_string());
  auto r = dbtool({"restore", "--yes", file});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.err.find("cannot be rebuilt"), std::string::npos) << r.err;
  EXPECT_EQ(status().at("history").as_array().size(), 2u) << "the backup's run and the restore";
  EXPECT_EQ(sqlite_query(db_, "SELECT count(*) FROM sqlite_master WHERE name IN ('active_users', 'users_touch')"),
            "2\n")
      << "the view and the trigger are restored";

  r = run_dbtool({"--plugin-dir", DBTOOL_TEST_V12_PLUGIN_DIR, "restore", "--backend", "sqlite-v12", "--db",
                  db_.string(), "--yes", file},
                 {}, dir_);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.err.find("it holds view active_users, trigger users_touch"), std::string::npos) << r.err;
  EXPECT_EQ(status().at("history").as_array().size(), 1u) << "the backup's history";
  EXPECT_EQ(sqlite_query(db_, "SELECT count(*) FROM sqlite_master WHERE name IN ('active_users', 'users_touch')"),
            "2\n")
      << "the view and the trigger are restored";
}

// Ctrl-C while a restore waits right before its one swap (the restore stage holds the backup and
// the merged history): exit 130, the target exactly as it was, no stage file left beside it.
TEST_F(Record, CtrlCBeforeTheRestoresOneSwapLeavesTheTargetUntouched) {
  const std::string file = init_backup_migrate();
  ASSERT_FALSE(file.empty());
  const std::string before = read_bytes(db_);
  const fs::path pause = dir_ / "pause";
  auto run = testing::start_dbtool(
      {"restore", "--db", db_.string(), "--yes", file},
      {{"DBTOOL_TEST_FAULT", "before-history-commit:pause"}, {"DBTOOL_TEST_PAUSE_FILE", pause.string()}}, dir_);
  for (int i = 0; i < 3000 && !fs::exists(pause); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  ASSERT_TRUE(fs::exists(pause)) << "the run never reached before-history-commit";
  ::kill(run.pid(), SIGINT);
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  fs::remove(pause);
  const testing::RunResult r = run.wait();
  EXPECT_EQ(r.exit_code, 130) << r.err;
  EXPECT_NE(r.err.find("nothing was changed"), std::string::npos) << r.err;
  EXPECT_EQ(read_bytes(db_), before);
  for (const auto& e : fs::directory_iterator(db_.parent_path()))
    EXPECT_EQ(e.path().filename().string().find("dbtool-stage"), std::string::npos) << e.path() << " left behind";
}

}  // namespace
}  // namespace dbtool::testing
