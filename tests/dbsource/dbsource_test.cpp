// A database as the migration source, through the real binary, on databases of the old app
// written by tests/fixtures/gen-old-db: every table, every row and id, every password hash (and
// real logins), the section nobody joined, case twins, foreign keys, the dropped column refused
// or allowed, the source untouched, one snapshot under a concurrent writer; SQLite -> SQLite,
// SQLite -> MariaDB -> SQLite; and `schema import` / `schema diff` on both backends.
// MariaDB tests need DBTOOL_TEST_MYSQL_URI (scripts/test); they fail without it under CI=true.
#include <gtest/gtest.h>

#include <boost/json.hpp>

#include <map>
#include <set>
#include <thread>

#include "run_dbtool.hpp"
#include "test_servers.hpp"

namespace dbtool::testing {
namespace {
namespace json = boost::json;

// Twins (uids differing only in case) appear every 500 users.
constexpr int kUsers = 600;

struct OldDb {
  fs::path dir, db, passwords;
};

OldDb make_old_db(const std::string& shape, int users = kUsers) {
  OldDb o;
  o.dir = testing::make_temp_dir("dbsource");
  o.db = o.dir / "old.db";
  o.passwords = o.dir / "passwords.tsv";
  auto r = run_program("python3", {(testing::fixtures_dir() / "gen-old-db").string(), std::to_string(users),
                                   o.db.string(), "--shape", shape, "--passwords", o.passwords.string()});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  return o;
}

// Runs check_migrated.py; returns its findings ("" when all is well).
std::string check_migrated(const OldDb& o, const fs::path& migrated, bool old_shape) {
  std::vector<std::string> args = {(testing::source_dir() / "tests" / "dbsource" / "check_migrated.py").string(),
                                   o.db.string(), migrated.string(), "--passwords", o.passwords.string()};
  if (old_shape) args.insert(args.end(), {"--expect-dropped", "users._dob"});
  auto r = run_program("python3", args);
  return r.exit_code == 0 ? "" : r.out + r.err + " (exit " + std::to_string(r.exit_code) + ")";
}

std::string sqlite_uri(const fs::path& p) { return "sqlite:///" + p.string(); }  // absolute: four slashes

json::object parse_report(const std::string& out) { return json::parse(out).as_object(); }

const json::object& source_table(const json::object& report, const std::string& table) {
  for (const auto& t : report.at("database_source").at("tables").as_array())
    if (t.at("table").as_string() == table) return t.as_object();
  throw std::runtime_error("no table " + table + " in the report");
}

TEST(DatabaseSource, OldShapeSqliteToSqliteKeepsEveryTableRowIdAndPassword) {
  OldDb o = make_old_db("old");
  const std::string before = testing::read_bytes(o.db);
  fs::path target = o.dir / "new.db";
  auto r = run_dbtool({"migrate", "--yes", "--json", "--source", sqlite_uri(o.db), "--db", target.string()});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(check_migrated(o, target, true), "");
  EXPECT_EQ(testing::read_bytes(o.db), before) << "the source database changed";
  json::object report = parse_report(r.out);
  EXPECT_EQ(report.at("source").as_string(), sqlite_uri(o.db));
  // dbtool did not build these rows, so it vouches for none of their keys.
  EXPECT_EQ(report.at("foreign_keys_guaranteed"), json::array{});
  // The reconciliation adds up per table, and the dropped column is named with its reason.
  for (const auto& t : report.at("database_source").at("tables").as_array()) {
    const auto& o2 = t.as_object();
    EXPECT_EQ(o2.at("read").as_int64(),
              o2.at("loaded").as_int64() + o2.at("dropped").as_int64() + o2.at("rejected").as_int64());
  }
  const auto& users = source_table(report, "users");
  EXPECT_EQ(users.at("read").as_int64(), kUsers);
  ASSERT_EQ(users.at("dropped_columns").as_array().size(), 1u);
  EXPECT_EQ(users.at("dropped_columns").as_array()[0].at("column").as_string(), "_dob");
  // New columns take their default.
  bool kasm_defaulted = false;
  for (const auto& c : users.at("defaulted_columns").as_array())
    kasm_defaulted |= c.as_string() == "kasm_server_needed";
  EXPECT_TRUE(kasm_defaulted);
}

// Every file of a folder with its bytes and modification time.
std::map<std::string, std::string> snapshot(const fs::path& dir) {
  std::map<std::string, std::string> out;
  for (const auto& e : fs::recursive_directory_iterator(dir))
    out[fs::relative(e.path(), dir).string()] =
        e.is_regular_file() ? testing::read_bytes(e.path()) + "@" +
                                  std::to_string(fs::last_write_time(e.path()).time_since_epoch().count())
                            : "dir";
  return out;
}

// The issue's proof for a database source: `plan` (and migrate --dry-run) changes no byte on
// disk, source or target, and reports the row counts the real run then loads, the dropped
// column included.
TEST(DatabaseSource, PlanChangesNoByteAndReportsTheCountsTheRunLoads) {
  OldDb o = make_old_db("old");
  const fs::path target = o.dir / "new.db";
  ASSERT_EQ(run_dbtool({"init", "--db", target.string()}, {}, o.dir).exit_code, 0);
  const auto before = snapshot(o.dir);
  const std::vector<std::string> options = {"--source", sqlite_uri(o.db), "--db", target.string(), "--allow-drop"};
  auto with = [&](std::vector<std::string> args) {
    args.insert(args.end(), options.begin(), options.end());
    return args;
  };
  auto p = run_dbtool(with({"plan", "--json"}), {}, o.dir);
  ASSERT_EQ(p.exit_code, 0) << p.err;
  auto d = run_dbtool(with({"migrate", "--dry-run"}), {}, o.dir);
  ASSERT_EQ(d.exit_code, 0) << d.err;
  EXPECT_NE(d.out.find("users            -> users            read 600 = loaded 600"), std::string::npos) << d.out;
  EXPECT_NE(d.out.find("column _dob dropped"), std::string::npos) << d.out;
  EXPECT_EQ(snapshot(o.dir), before) << "a plan wrote something";

  const json::object plan = parse_report(p.out);
  EXPECT_EQ(plan.at("source"), json::value(sqlite_uri(o.db)));
  std::map<std::string, json::value> planned;
  for (const auto& t : plan.at("tables").as_array())
    planned[std::string(t.at("name").as_string())] = t.at("rows_after");
  EXPECT_EQ(planned.at("users"), kUsers);
  ASSERT_EQ(source_table(plan, "users").at("dropped_columns").as_array().size(), 1u);

  auto r = run_dbtool(with({"migrate", "--yes", "--json"}), {}, o.dir);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const json::object report = parse_report(r.out);
  std::map<std::string, json::value> loaded;
  for (const auto& t : report.at("tables").as_array()) loaded[std::string(t.at("name").as_string())] = t.at("rows");
  EXPECT_EQ(planned, loaded);
  EXPECT_EQ(plan.at("database_source").at("tables"), report.at("database_source").at("tables"));
}

TEST(DatabaseSource, CurrentShapeIsAnIdentityMigration) {
  OldDb o = make_old_db("current");
  fs::path target = o.dir / "new.db";
  auto r = run_dbtool({"migrate", "--yes", "--source", sqlite_uri(o.db), "--db", target.string()});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(check_migrated(o, target, false), "");
  EXPECT_NE(r.out.find("read 600 = loaded 600 + dropped 0 + rejected 0"), std::string::npos) << r.out;
}

TEST(DatabaseSource, DroppedColumnIsRefusedWithoutTheMappingsDropAndAllowedWithAllowDrop) {
  OldDb o = make_old_db("old", 20);
  fs::path schemas = o.dir / "schemas";
  fs::create_directories(schemas);
  fs::copy_file(testing::source_dir() / "schemas" / "schema.json", schemas / "schema.json");
  testing::write_bytes(schemas / "database-mapping.json", "{\"tables\": {}}");
  fs::path target = o.dir / "new.db";
  auto refused = run_dbtool(
      {"migrate", "--yes", "--source", sqlite_uri(o.db), "--db", target.string(), "--schema-dir", schemas.string()});
  EXPECT_EQ(refused.exit_code, 4) << refused.err;
  EXPECT_NE(refused.err.find("column users._dob"), std::string::npos) << refused.err;
  EXPECT_NE(refused.err.find("--allow-drop"), std::string::npos) << refused.err;
  EXPECT_FALSE(fs::exists(target)) << "a refused run created the target";

  auto allowed = run_dbtool({"migrate", "--yes", "--json", "--allow-drop", "--source", sqlite_uri(o.db), "--db",
                             target.string(), "--schema-dir", schemas.string()});
  ASSERT_EQ(allowed.exit_code, 0) << allowed.err;
  json::object report = parse_report(allowed.out);
  const auto& users = source_table(report, "users");
  ASSERT_EQ(users.at("dropped_columns").as_array().size(), 1u);
  EXPECT_NE(std::string(users.at("dropped_columns").as_array()[0].at("why").as_string()).find("--allow-drop"),
            std::string::npos);
}

TEST(DatabaseSource, ExtraTableIsRefusedOrDroppedOnPurposeAndHistoryIsSkipped) {
  OldDb o = make_old_db("current", 20);
  auto r = run_program("sqlite3", {o.db.string(),
                                   "CREATE TABLE audit_log (id INTEGER PRIMARY KEY, what TEXT); "
                                   "INSERT INTO audit_log (what) VALUES ('a'), ('b');"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  fs::path target = o.dir / "new.db";
  auto refused = run_dbtool({"migrate", "--yes", "--source", sqlite_uri(o.db), "--db", target.string()});
  EXPECT_EQ(refused.exit_code, 4);
  EXPECT_NE(refused.err.find("table audit_log"), std::string::npos) << refused.err;

  fs::path schemas = o.dir / "schemas";
  fs::create_directories(schemas);
  fs::copy_file(testing::source_dir() / "schemas" / "schema.json", schemas / "schema.json");
  testing::write_bytes(schemas / "database-mapping.json",
                       R"({"tables": {"audit_log": {"drop": "the new app keeps no audit log"}}})");
  auto dropped = run_dbtool({"migrate", "--yes", "--json", "--source", sqlite_uri(o.db), "--db", target.string(),
                             "--schema-dir", schemas.string()});
  ASSERT_EQ(dropped.exit_code, 0) << dropped.err;
  json::object report = parse_report(dropped.out);
  const auto& audit = source_table(report, "audit_log");
  EXPECT_EQ(audit.at("read").as_int64(), 2);
  EXPECT_EQ(audit.at("dropped").as_int64(), 2);
  EXPECT_EQ(audit.at("why").as_string(), "the new app keeps no audit log");

  // The migrated database now holds dbtool_history; migrating from it skips that and says so.
  fs::path again = o.dir / "again.db";
  auto second = run_dbtool({"migrate", "--yes", "--source", sqlite_uri(target), "--db", again.string()});
  ASSERT_EQ(second.exit_code, 0) << second.err;
  EXPECT_NE(second.out.find("dbtool_history of the source skipped"), std::string::npos) << second.out;
}

TEST(DatabaseSource, NotNullColumnWithoutDefaultNeedsAValueAndTypesConvertOnlyLosslessly) {
  OldDb o = make_old_db("current", 20);
  fs::path schemas = o.dir / "schemas";
  fs::create_directories(schemas);
  json::value schema = json::parse(testing::read_bytes(testing::source_dir() / "schemas" / "schema.json"));
  for (auto& t : schema.at("tables").as_array())
    if (t.at("name") == "sections")
      t.at("columns").as_array().push_back(json::object{{"name", "_room"}, {"type", "text"}, {"nullable", false}});
  testing::write_bytes(schemas / "schema.json", json::serialize(schema));
  fs::path target = o.dir / "new.db";
  auto refused = run_dbtool(
      {"migrate", "--yes", "--source", sqlite_uri(o.db), "--db", target.string(), "--schema-dir", schemas.string()});
  EXPECT_EQ(refused.exit_code, 4);
  EXPECT_NE(refused.err.find("sections._room is NOT NULL without a default"), std::string::npos) << refused.err;

  testing::write_bytes(schemas / "database-mapping.json", R"({"tables": {"sections": {"values": {"_room": "B12"}}}})");
  auto ok = run_dbtool(
      {"migrate", "--yes", "--source", sqlite_uri(o.db), "--db", target.string(), "--schema-dir", schemas.string()});
  ASSERT_EQ(ok.exit_code, 0) << ok.err;
  auto rooms = run_program("sqlite3", {target.string(), "SELECT COUNT(*) FROM sections WHERE _room = 'B12'"});
  EXPECT_EQ(rooms.out, "7\n");

  // A text column cannot become an integer: named with both types before anything loads.
  for (auto& t : schema.at("tables").as_array())
    if (t.at("name") == "users")
      for (auto& c : t.at("columns").as_array())
        if (c.at("name") == "_email") {
          c.as_object()["type"] = "int64";
          c.as_object().erase("max_length");
        }
  testing::write_bytes(schemas / "schema.json", json::serialize(schema));
  auto typed = run_dbtool(
      {"migrate", "--yes", "--source", sqlite_uri(o.db), "--db", target.string(), "--schema-dir", schemas.string()});
  EXPECT_EQ(typed.exit_code, 4);
  EXPECT_NE(typed.err.find("users._email is text but users._email is int64"), std::string::npos) << typed.err;
}

TEST(DatabaseSource, OneSnapshotWhileAWriterCommitsDuringTheRead) {
  OldDb o = make_old_db("current", 200);
  auto wal = run_program("sqlite3", {o.db.string(), "PRAGMA journal_mode=WAL;"});
  ASSERT_EQ(wal.exit_code, 0) << wal.err;
  fs::path target = o.dir / "new.db";
  testing::RunResult migrated;
  // The reader pauses after its first table (users), before it reads the next (it reads ahead
  // of the load, so the pause must be its own); the writer then adds a user and a membership,
  // which a read of user_sections outside the snapshot would see.
  const fs::path pause = o.dir / "pause";
  std::thread run([&] {
    migrated = run_dbtool({"migrate", "--yes", "--source", sqlite_uri(o.db), "--db", target.string()},
                          {{"DBTOOL_TEST_FAULT", "mid-read:pause"}, {"DBTOOL_TEST_PAUSE_FILE", pause.string()}});
  });
  for (int i = 0; i < 3000 && !fs::exists(pause); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  EXPECT_TRUE(fs::exists(pause)) << "the run never paused mid-read";
  auto w = run_program("sqlite3", {o.db.string(), ".timeout 5000",
                                   "INSERT INTO users (id, _name, _uid, _email, _password, _role) VALUES "
                                   "(900001, 'Late', 'late', 'l@x', 'h', 'User'); "
                                   "INSERT INTO user_sections (user_id, section_id, year) VALUES (900001, 1, 2026);"});
  fs::remove(pause);
  run.join();
  ASSERT_EQ(w.exit_code, 0) << w.err;
  ASSERT_EQ(migrated.exit_code, 0) << migrated.err;
  auto late = run_program("sqlite3", {target.string(),
                                      "SELECT COUNT(*) FROM user_sections WHERE user_id = 900001; "
                                      "PRAGMA foreign_key_check;"});
  EXPECT_EQ(late.out, "0\n") << "rows committed during the read leaked into the migration";
  auto still = run_program("sqlite3", {o.db.string(), "SELECT COUNT(*) FROM users WHERE id = 900001"});
  EXPECT_EQ(still.out, "1\n") << "the writer's commit did not happen during the run";
}

// Rows that break a foreign key in the source database (SQLite enforces none unless asked): the
// host vouches for no key of a database source, so the backend checks them all and the run is
// refused at the cut-over with the table named; the target is not created.
TEST(DatabaseSource, ABrokenForeignKeyInTheSourceFailsTheMigration) {
  OldDb o = make_old_db("current", 20);
  auto orphan = run_program(
      "sqlite3", {o.db.string(), "INSERT INTO user_sections (user_id, section_id, year) VALUES (999999, 1, 2026);"});
  ASSERT_EQ(orphan.exit_code, 0) << orphan.err;
  fs::path target = o.dir / "new.db";
  auto r = run_dbtool({"migrate", "--yes", "--source", sqlite_uri(o.db), "--db", target.string()});
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.err.find("a row of user_sections"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("refers to a missing row of users"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("nothing was changed"), std::string::npos) << r.err;
  EXPECT_FALSE(fs::exists(target));
}

// The files of a folder (a stage left behind would show here).
std::set<std::string> files_in(const fs::path& dir) {
  std::set<std::string> names;
  for (const auto& e : fs::directory_iterator(dir)) names.insert(e.path().filename().string());
  return names;
}

// A target migrated once from an old database, with what a failed run must leave as it was:
// the target's bytes and the files beside it.
struct MigratedOnce {
  fs::path target;
  std::string before;
  std::set<std::string> files;
};

MigratedOnce migrate_once(const OldDb& o) {
  MigratedOnce m;
  m.target = o.dir / "new.db";
  auto first = run_dbtool({"migrate", "--yes", "--source", sqlite_uri(o.db), "--db", m.target.string()});
  EXPECT_EQ(first.exit_code, 0) << first.err;
  m.before = read_bytes(m.target);
  m.files = files_in(o.dir);
  return m;
}

// Migrates `o` into m.target again with DBTOOL_TEST_FAULT=`fault`: the run must say nothing was
// changed and leave the target's bytes and the files of o.dir as they were.
RunResult rerun_with_fault(const OldDb& o, const MigratedOnce& m, const std::string& fault) {
  auto r = run_dbtool({"migrate", "--yes", "--source", sqlite_uri(o.db), "--db", m.target.string(), "--backup-dir",
                       (o.dir / "backups").string()},
                      {{"DBTOOL_TEST_FAULT", fault}});
  EXPECT_NE(r.err.find("nothing was changed"), std::string::npos) << r.err;
  EXPECT_EQ(read_bytes(m.target), m.before) << "the target changed";
  std::set<std::string> after = files_in(o.dir);
  after.erase("backups");
  EXPECT_EQ(after, m.files) << "a stage was left behind";
  return r;
}

// Reading fails after the first table, while the loader (on the other thread) is loading it:
// the run fails with the reader's error, and the target that held data is as it was.
TEST(DatabaseSource, SourceReadFailingMidwayLeavesTheTargetUntouched) {
  OldDb o = make_old_db("current", 3000);
  const MigratedOnce m = migrate_once(o);
  ASSERT_FALSE(HasFailure());
  auto r = rerun_with_fault(o, m, "mid-read");
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.err.find("injected fault at mid-read"), std::string::npos) << r.err;
}

// Ctrl-C on either thread (the reader's after its first table, the loader's after loading it):
// exit 130, the target as it was, no stage left.
TEST(DatabaseSource, InterruptedReadOrLoadChangesNothing) {
  OldDb o = make_old_db("current", 3000);
  const MigratedOnce m = migrate_once(o);
  ASSERT_FALSE(HasFailure());
  for (std::string point : {"mid-read:interrupt", "mid-load:interrupt"}) {
    SCOPED_TRACE(point);
    auto r = rerun_with_fault(o, m, point);
    EXPECT_EQ(r.exit_code, 130) << r.err;
    EXPECT_NE(r.err.find("cancelled"), std::string::npos) << r.err;
  }
}

TEST(DatabaseSource, UnreachableDatabaseDidNotServeAndTheChainMovesOn) {
  fs::path dir = testing::make_temp_dir("dbsource");
  fs::path target = dir / "new.db";
  auto r = run_dbtool({"migrate", "--yes", "--source", sqlite_uri(dir / "missing.db") + ",json-file", "--json-file",
                       (testing::fixtures_dir() / "sample-export.json").string(), "--db", target.string()},
                      {{"DBTOOL_DEFAULT_PASSWORD", "x"}});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("source " + sqlite_uri(dir / "missing.db") + " did not serve"), std::string::npos) << r.out;
  EXPECT_FALSE(fs::exists(dir / "missing.db")) << "a read-only source was created";
}

TEST(DatabaseSource, PasswordInTheSourceUriIsRefused) {
  auto r = run_dbtool({"migrate", "--yes", "--source", "mysql://app:secret@old/app"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("DBTOOL_SOURCE_DB_PASSWORD"), std::string::npos) << r.err;
  EXPECT_EQ(r.err.find("secret"), std::string::npos) << "the password was printed";
}

// schema import of a database built from schemas/schema.json gives that schema back.
TEST(SchemaCommands, ImportRoundTripsOnSqliteAndDiffFindsEachChange) {
  fs::path dir = testing::make_temp_dir("dbsource");
  fs::path db = dir / "app.db";
  auto init = run_dbtool({"init", "--yes", "--db", db.string()}, {{"DBTOOL_DEFAULT_PASSWORD", "x"}});
  ASSERT_EQ(init.exit_code, 0) << init.err;
  fs::path out = dir / "imported.json";
  auto imp = run_dbtool({"schema", "import", "--db", db.string(), "--out", out.string(), "--name", "user_management"});
  ASSERT_EQ(imp.exit_code, 0) << imp.err;
  fs::path schemas = dir / "schemas";
  fs::create_directories(schemas);
  fs::copy_file(out, schemas / "schema.json");
  // The imported file, used as schemas/, matches the database, and so does the shipped one.
  auto same = run_dbtool({"schema", "diff", "--db", db.string(), "--schema-dir", schemas.string()});
  EXPECT_EQ(same.exit_code, 0) << same.out << same.err;
  auto shipped =
      run_dbtool({"schema", "diff", "--db", db.string(), "--schema-dir", (testing::source_dir() / "schemas").string()});
  EXPECT_EQ(shipped.exit_code, 0) << shipped.out << shipped.err;

  auto change =
      run_program("sqlite3", {db.string(),
                              "CREATE TABLE extra_t (id INTEGER PRIMARY KEY); DROP INDEX IF EXISTS ix_users_role; "
                              "PRAGMA writable_schema=OFF;"});
  ASSERT_EQ(change.exit_code, 0) << change.err;
  json::value schema = json::parse(testing::read_bytes(schemas / "schema.json"));
  for (auto& t : schema.at("tables").as_array())
    for (auto& c : t.at("columns").as_array()) {
      if (t.at("name") == "table_stocks" && c.at("name") == "_quantity") c.as_object()["type"] = "text";
      if (t.at("name") == "users" && c.at("name") == "_pfp") c.as_object()["nullable"] = false;
    }
  for (auto& t : schema.at("tables").as_array())
    if (t.at("name") == "users")
      t.as_object()["indexes"] =
          json::array{json::object{{"name", "ix_users_role"}, {"columns", json::array{"_role"}}}};
  testing::write_bytes(schemas / "schema.json", json::serialize(schema));
  auto diff = run_dbtool({"schema", "diff", "--db", db.string(), "--schema-dir", schemas.string(), "--json"});
  EXPECT_EQ(diff.exit_code, 1) << diff.err;
  json::object d = json::parse(diff.out).as_object();
  EXPECT_FALSE(d.at("equal").as_bool());
  std::set<std::string> kinds;
  for (const auto& x : d.at("differences").as_array())
    kinds.insert(std::string(x.at("kind").as_string()) + ":" + std::string(x.at("table").as_string()) +
                 (x.as_object().contains("column") ? "." + std::string(x.at("column").as_string()) : ""));
  EXPECT_TRUE(kinds.count("type:table_stocks._quantity")) << diff.out;
  EXPECT_TRUE(kinds.count("nullable:users._pfp")) << diff.out;
  EXPECT_TRUE(kinds.count("table:extra_t")) << diff.out;
  EXPECT_TRUE(kinds.count("index:users")) << diff.out;
  auto text = run_dbtool({"schema", "diff", "--db", db.string(), "--schema-dir", schemas.string()});
  EXPECT_EQ(text.exit_code, 1);
  EXPECT_NE(text.out.find("table extra_t: in the database, not in schema.json"), std::string::npos) << text.out;
}

// SQLite -> MariaDB with dbtool itself, then MariaDB -> SQLite: the result equals the original.
TEST(DatabaseSourceMysql, SqliteToMariadbAndBackKeepsEverything) {
  REQUIRE_MYSQL(server);
  for (const std::string shape : {"old", "current"}) {
    OldDb o = make_old_db(shape);
    std::string uri = testing::fresh_database_uri(server->uri, "dbsrc");
    std::map<std::string, std::string> env{{"DBTOOL_DB_PASSWORD", server->password},
                                           {"DBTOOL_SOURCE_DB_PASSWORD", server->password}};
    auto in = run_dbtool({"migrate", "--yes", "--source", sqlite_uri(o.db), "--db", uri}, env);
    ASSERT_EQ(in.exit_code, 0) << in.err;
    fs::path back = o.dir / "back.db";
    auto out = run_dbtool({"migrate", "--yes", "--json", "--source", uri, "--db", back.string()}, env);
    ASSERT_EQ(out.exit_code, 0) << out.err;
    EXPECT_EQ(check_migrated(o, back, shape == "old"), "") << shape;
    EXPECT_TRUE(parse_report(out.out).at("database_source").at("skipped_history").as_bool());
  }
}

// The same broken key into MariaDB, whose stage checks keys with its own query at the commit.
TEST(DatabaseSourceMysql, ABrokenForeignKeyInTheSourceFailsTheMigration) {
  REQUIRE_MYSQL(server);
  OldDb o = make_old_db("current", 20);
  auto orphan = run_program(
      "sqlite3", {o.db.string(), "INSERT INTO user_sections (user_id, section_id, year) VALUES (7, 999999, 2026);"});
  ASSERT_EQ(orphan.exit_code, 0) << orphan.err;
  std::string uri = testing::fresh_database_uri(server->uri, "dbsrcfk");
  auto r = run_dbtool({"migrate", "--yes", "--json", "--source", sqlite_uri(o.db), "--db", uri},
                      {{"DBTOOL_DB_PASSWORD", server->password}});
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.err.find("1 rows of user_sections refer to missing rows of sections"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("nothing was changed"), std::string::npos) << r.err;
}

// The reader fails mid-way on either side of MariaDB: reading from it (the target SQLite file
// stays as it was) and loading into it (the target database keeps every row).
TEST(DatabaseSourceMysql, SourceReadFailingMidwayLeavesEitherTargetUntouched) {
  REQUIRE_MYSQL(server);
  OldDb o = make_old_db("current", 3000);
  std::string uri = testing::fresh_database_uri(server->uri, "dbsrcfail");
  std::map<std::string, std::string> env{{"DBTOOL_DB_PASSWORD", server->password},
                                         {"DBTOOL_SOURCE_DB_PASSWORD", server->password}};
  auto in = run_dbtool({"migrate", "--yes", "--source", sqlite_uri(o.db), "--db", uri}, env);
  ASSERT_EQ(in.exit_code, 0) << in.err;
  fs::path copy = o.dir / "copy.db";
  auto out = run_dbtool({"migrate", "--yes", "--source", uri, "--db", copy.string()}, env);
  ASSERT_EQ(out.exit_code, 0) << out.err;
  const std::string before = testing::read_bytes(copy);

  std::map<std::string, std::string> failing = env;
  failing["DBTOOL_TEST_FAULT"] = "mid-read";
  auto from = run_dbtool({"migrate", "--yes", "--source", uri, "--db", copy.string()}, failing);
  EXPECT_NE(from.exit_code, 0);
  EXPECT_NE(from.err.find("injected fault at mid-read"), std::string::npos) << from.err;
  EXPECT_EQ(testing::read_bytes(copy), before) << "the SQLite target changed";

  auto into = run_dbtool({"migrate", "--yes", "--source", sqlite_uri(o.db), "--db", uri}, failing);
  EXPECT_NE(into.exit_code, 0);
  EXPECT_NE(into.err.find("injected fault at mid-read"), std::string::npos) << into.err;
  fs::path back = o.dir / "back.db";
  auto check = run_dbtool({"migrate", "--yes", "--source", uri, "--db", back.string()}, env);
  ASSERT_EQ(check.exit_code, 0) << check.err;
  EXPECT_EQ(check_migrated(o, back, false), "") << "the MariaDB target lost data";
}

TEST(DatabaseSourceMysql, SchemaImportRoundTripsAndDiffIsEqualOnMariadb) {
  REQUIRE_MYSQL(server);
  std::string uri = testing::fresh_database_uri(server->uri, "dbschema");
  std::map<std::string, std::string> env{{"DBTOOL_DB_PASSWORD", server->password}, {"DBTOOL_DEFAULT_PASSWORD", "x"}};
  auto init = run_dbtool({"init", "--yes", "--db", uri}, env);
  ASSERT_EQ(init.exit_code, 0) << init.err;
  auto diff = run_dbtool({"schema", "diff", "--db", uri}, env);
  EXPECT_EQ(diff.exit_code, 0) << diff.out << diff.err;
  fs::path dir = testing::make_temp_dir("dbsource");
  auto imp = run_dbtool({"schema", "import", "--db", uri, "--out", (dir / "schema.json").string()}, env);
  ASSERT_EQ(imp.exit_code, 0) << imp.err;
  auto again = run_dbtool({"schema", "diff", "--db", uri, "--schema-dir", dir.string()}, env);
  EXPECT_EQ(again.exit_code, 0) << again.out << again.err;
}

}  // namespace
}  // namespace dbtool::testing
