// The same export migrated into SQLite, into MariaDB and into PostgreSQL gives identical data,
// read back through each backend; and init/backup/restore work on MariaDB through the real
// binary. Needs DBTOOL_TEST_MYSQL_URI / DBTOOL_TEST_MYSQL_PASSWORD and DBTOOL_TEST_PG_URI /
// DBTOOL_TEST_PG_PASSWORD (scripts/test starts the servers); without them it fails in CI
// (CI=true) and skips elsewhere.
#include <gtest/gtest.h>

#include <boost/json.hpp>

#include <cstdlib>
#include <map>
#include <set>

#include <dbtool/sdk/arrow.hpp>

#include "plugins/backend.hpp"
#include "plugins/plugin_registry.hpp"
#include "run_dbtool.hpp"
#include "test_servers.hpp"

namespace dbtool::testing {
namespace {
namespace json = boost::json;

// The app's seven tables (legacy-api.md, "The new database").
constexpr const char* kAppTables[] = {"users",       "sections",           "user_sections",          "table_stocks",
                                      "stock_users", "stock_transactions", "user_transaction_stocks"};

// Every row of every app table, as JSON values, read back through the backend itself.
json::object read_all(const std::string& backend, const std::string& uri, const std::string& password) {
  static PluginRegistry reg = PluginRegistry::discover(
      {fs::path(testing::dbtool_binary()).parent_path() / ".." / "lib" / "dbtool" / "plugins"});
  json::object open{{"uri", uri}};
  if (!password.empty()) open["password"] = password;
  BackendSession s(reg.get(backend, DBTOOL_KIND_BACKEND), open);
  json::object out;
  for (const char* table : kAppTables) {
    ArrowArrayStream stream{};
    s.read_table(table, &stream);
    sdk::StreamReader reader(&stream);
    json::array rows;
    sdk::ArrayHolder batch;
    while (reader.next(batch)) {
      sdk::BatchView v(reader.columns(), batch.a);
      for (int64_t r = 0; r < v.rows(); ++r) {
        json::object row;
        for (size_t c = 0; c < v.columns(); ++c) {
          const std::string& name = v.spec(c).name;
          if (v.is_null(c, r)) {
            row[name] = nullptr;
            continue;
          }
          switch (v.spec(c).type) {
            case sdk::ColumnType::Int64:
              row[name] = v.get_int64(c, r);
              break;
            case sdk::ColumnType::Float64:
              row[name] = v.get_double(c, r);
              break;
            case sdk::ColumnType::Bool:
              row[name] = v.get_bool(c, r);
              break;
            default:
              row[name] = std::string(v.get_bytes(c, r));
              break;
          }
        }
        rows.push_back(std::move(row));
      }
    }
    out[table] = std::move(rows);
  }
  return out;
}

// Every row of every app table equal, in the same order.
void expect_same_rows(const json::object& want, const json::object& got) {
  for (const char* t : kAppTables) {
    SCOPED_TRACE(t);
    const auto& x = want.at(t).as_array();
    const auto& y = got.at(t).as_array();
    ASSERT_EQ(x.size(), y.size());
    for (size_t i = 0; i < x.size(); ++i) ASSERT_EQ(x[i], y[i]) << "row " << i;
  }
}

TEST(CrossDb, SameExportGivesIdenticalDataInSqliteAndMariaDb) {
  REQUIRE_MYSQL(server);
  fs::path dir = testing::make_temp_dir("dbtool-crossdb");
  fs::path export_file = testing::fixtures_dir() / "sample-export.json";
  fs::path db = dir / "app.db";
  std::string mysql_uri = fresh_database_uri(server->uri, "cross");
  auto a = run_dbtool({"migrate", "--yes", "--db", db.string(), "--json-file", export_file.string()});
  ASSERT_EQ(a.exit_code, 0) << a.err;
  auto b = run_dbtool({"migrate", "--yes", "--db", mysql_uri, "--json-file", export_file.string(), "--backup-dir",
                       (dir / "backups").string()},
                      {{"DBTOOL_DB_PASSWORD", server->password}});
  ASSERT_EQ(b.exit_code, 0) << b.err;
  EXPECT_EQ(b.err.find(server->password), std::string::npos);
  json::object from_sqlite = read_all("sqlite", "sqlite:///" + db.string(), "");
  json::object from_mysql = read_all("mysql", mysql_uri, server->password);
  expect_same_rows(from_sqlite, from_mysql);
  fs::remove_all(dir);
}

// The same for PostgreSQL (DBTOOL_TEST_PG_URI / DBTOOL_TEST_PG_PASSWORD, started by
// scripts/postgres-test-server), so all three backends hold the very same rows.
TEST(CrossDb, SameExportGivesIdenticalDataInSqliteAndPostgres) {
  REQUIRE_POSTGRES(pg);
  const std::string& pg_password = pg->password;
  fs::path dir = testing::make_temp_dir("dbtool-crossdb-pg");
  fs::path export_file = testing::fixtures_dir() / "sample-export.json";
  fs::path db = dir / "app.db";
  std::string pg_uri = fresh_database_uri(pg->uri, "cross");
  auto a = run_dbtool({"migrate", "--yes", "--db", db.string(), "--json-file", export_file.string()});
  ASSERT_EQ(a.exit_code, 0) << a.err;
  auto b = run_dbtool({"migrate", "--yes", "--db", pg_uri, "--json-file", export_file.string(), "--backup-dir",
                       (dir / "backups").string()},
                      {{"DBTOOL_DB_PASSWORD", pg_password}});
  ASSERT_EQ(b.exit_code, 0) << b.err;
  if (!pg_password.empty()) {
    EXPECT_EQ(b.err.find(pg_password), std::string::npos);
  }
  expect_same_rows(read_all("sqlite", "sqlite:///" + db.string(), ""), read_all("postgresql", pg_uri, pg_password));
  fs::remove_all(dir);
}

// Uids the app tells apart (SQLite compares text byte for byte) stay distinct users on MariaDB
// too: trailing space, accent, case. Both backends then hold the very same rows.
TEST(CrossDb, CaseAndSpaceTwinsAreDistinctUsersOnBothBackends) {
  REQUIRE_MYSQL(server);
  fs::path dir = testing::make_temp_dir("dbtool-twins");
  const std::vector<std::string> uids = {"pad", "pad ", "jose", "José", "u1", "U1"};
  json::array users;
  for (size_t i = 0; i < uids.size(); ++i)
    users.push_back(json::object{{"id", static_cast<int64_t>(i + 1)},
                                 {"uid", uids[i]},
                                 {"name", "Twin " + std::to_string(i)},
                                 {"email", uids[i] + "@example.edu"},
                                 {"password", "pbkdf2:sha256:1$s$" + std::to_string(i)},
                                 {"role", "User"},
                                 {"kasm_server_needed", false},
                                 {"sections", json::array{json::object{{"id", 7 - static_cast<int64_t>(i % 2)},
                                                                       {"abbreviation", i % 2 ? "csp" : "CSP"},
                                                                       {"name", "Section"}}}}});
  fs::path export_file = dir / "twins.json";
  testing::write_bytes(export_file, json::serialize(users));
  fs::path db = dir / "app.db";
  std::string mysql_uri = fresh_database_uri(server->uri, "twins");
  auto a = run_dbtool({"migrate", "--yes", "--db", db.string(), "--json-file", export_file.string()});
  ASSERT_EQ(a.exit_code, 0) << a.err;
  auto b = run_dbtool({"migrate", "--yes", "--db", mysql_uri, "--json-file", export_file.string()},
                      {{"DBTOOL_DB_PASSWORD", server->password}});
  ASSERT_EQ(b.exit_code, 0) << b.err;
  json::object from_sqlite = read_all("sqlite", "sqlite:///" + db.string(), "");
  json::object from_mysql = read_all("mysql", mysql_uri, server->password);
  EXPECT_EQ(from_sqlite, from_mysql);
  std::set<std::string> got;
  for (const auto& u : from_mysql.at("users").as_array()) got.insert(std::string(u.at("_uid").as_string()));
  EXPECT_EQ(got, std::set<std::string>(uids.begin(), uids.end()));
  EXPECT_EQ(from_mysql.at("sections").as_array().size(), 2u);
  fs::remove_all(dir);
}

// A uid that really is repeated is named, with its key and value, on MariaDB as on SQLite, and
// neither target changes.
TEST(CrossDb, DuplicateUidIsNamedOnBothBackends) {
  REQUIRE_MYSQL(server);
  fs::path dir = testing::make_temp_dir("dbtool-dup");
  json::array users = json::parse(testing::read_bytes(testing::fixtures_dir() / "sample-export.json")).as_array();
  users[7].as_object()["uid"] = "pad ";
  users[9].as_object()["uid"] = "pad ";
  fs::path export_file = dir / "dup.json";
  testing::write_bytes(export_file, json::serialize(users));
  const std::string expected = R"(duplicate key in table users: uq_users_uid (_uid) = "pad " appears more than once)";
  const std::string sample = (testing::fixtures_dir() / "sample-export.json").string();
  fs::path db = dir / "app.db";
  ASSERT_EQ(run_dbtool({"migrate", "--yes", "--db", db.string(), "--json-file", sample}).exit_code, 0);
  const std::string sqlite_before = testing::read_bytes(db);
  auto a = run_dbtool({"migrate", "--yes", "--db", db.string(), "--json-file", export_file.string(), "--backup-dir",
                       (dir / "backups").string()});
  EXPECT_NE(a.exit_code, 0);
  EXPECT_NE(a.err.find(expected), std::string::npos) << a.err;
  EXPECT_EQ(testing::read_bytes(db), sqlite_before);
  std::string mysql_uri = fresh_database_uri(server->uri, "dup");
  std::map<std::string, std::string> env{{"DBTOOL_DB_PASSWORD", server->password}};
  ASSERT_EQ(run_dbtool({"migrate", "--yes", "--db", mysql_uri, "--json-file", sample}, env).exit_code, 0);
  const json::object mysql_before = read_all("mysql", mysql_uri, server->password);
  // Every load path: array executions, multi-row INSERTs, and LOAD DATA, which reports the
  // duplicate without its row, as a warning.
  for (const char* load : {"bulk", "insert", "infile"}) {
    SCOPED_TRACE(load);
    const std::string uri = mysql_uri + (mysql_uri.find('?') == std::string::npos ? "?" : "&") + "load=" + load;
    auto b = run_dbtool({"migrate", "--yes", "--db", uri, "--json-file", export_file.string(), "--backup-dir",
                         (dir / "backups").string()},
                        env);
    EXPECT_NE(b.exit_code, 0);
    EXPECT_NE(b.err.find(expected), std::string::npos) << b.err;
    EXPECT_EQ(read_all("mysql", mysql_uri, server->password), mysql_before);
  }
  fs::remove_all(dir);
}

// mariadb:// belongs to the mysql backend because the plugin says so (uri_schemes, ABI 1.2);
// its backups are named after the database, as the plugin reads the URI.
TEST(CrossDb, TheMariadbSchemeIsTheMysqlBackends) {
  REQUIRE_MYSQL(server);
  fs::path dir = testing::make_temp_dir("dbtool-mysql-alias");
  const std::string uri = fresh_database_uri(server->uri, "alias");
  const std::string alias = "mariadb" + uri.substr(uri.find("://"));
  std::map<std::string, std::string> env{{"DBTOOL_DB_PASSWORD", server->password}, {"DBTOOL_DEFAULT_PASSWORD", "x"}};
  auto r = run_dbtool({"init", "--db", alias, "--backup-dir", (dir / "backups").string()}, env);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  r = run_dbtool({"status", "--json", "--db", alias}, env);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const json::value status = json::parse(r.out);
  EXPECT_EQ(status.at("backend").as_string(), "mysql");
  EXPECT_EQ(status.at("database").as_string(), alias);
  r = run_dbtool({"backup", "--json", "--db", alias, "--backup-dir", (dir / "backups").string()}, env);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const fs::path file = std::string(json::parse(r.out).at("path").as_string());
  EXPECT_EQ(file.filename().string().rfind(testing::database_of(uri) + "-", 0), 0u) << file;
  fs::remove_all(dir);
}

TEST(CrossDb, InitBackupRestoreOnMariaDb) {
  REQUIRE_MYSQL(server);
  fs::path dir = testing::make_temp_dir("dbtool-mysql-init");
  std::string uri = fresh_database_uri(server->uri, "init");
  std::map<std::string, std::string> env{{"DBTOOL_DB_PASSWORD", server->password}, {"DBTOOL_DEFAULT_PASSWORD", "x"}};
  std::string backups = (dir / "backups").string();
  auto r = run_dbtool({"init", "--db", uri, "--backup-dir", backups}, env);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  json::object first = read_all("mysql", uri, server->password);
  // A second init without --yes and without a terminal refuses.
  r = run_dbtool({"init", "--db", uri, "--backup-dir", backups}, env);
  EXPECT_EQ(r.exit_code, 3) << r.err;
  auto b = run_dbtool({"backup", "--db", uri, "--backup-dir", backups, "--json"}, env);
  ASSERT_EQ(b.exit_code, 0) << b.err;
  std::string file(json::parse(b.out).at("path").as_string());
  EXPECT_EQ(fs::status(file).permissions() & fs::perms::all, fs::perms::owner_read | fs::perms::owner_write);
  // Replace the data (migrate), then restore the backup: exactly the data of before.
  r = run_dbtool({"migrate", "--yes", "--db", uri, "--backup-dir", backups, "--json-file",
                  (testing::fixtures_dir() / "sample-export.json").string()},
                 env);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(read_all("mysql", uri, server->password), first);
  r = run_dbtool({"restore", "--yes", "--db", uri, "--backup-dir", backups, file}, env);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(read_all("mysql", uri, server->password), first);
  fs::remove_all(dir);
}

// Three runs, a backup, two more runs, a restore: the history holds the backup's three runs (ids
// kept), the two since (new ids) and the restore, and the data is the backup's.
TEST(CrossDb, RestoreOnMariaDbKeepsTheRunHistory) {
  REQUIRE_MYSQL(server);
  fs::path dir = testing::make_temp_dir("dbtool-mysql-history");
  const std::string uri = fresh_database_uri(server->uri, "history");
  std::map<std::string, std::string> env{{"DBTOOL_DB_PASSWORD", server->password}, {"DBTOOL_DEFAULT_PASSWORD", "x"}};
  const std::string backups = (dir / "backups").string();
  const std::string sample = (testing::fixtures_dir() / "sample-export.json").string();
  auto run = [&](std::vector<std::string> args) {
    args.insert(args.end(), {"--db", uri, "--backup-dir", backups});
    return run_dbtool(args, env, dir);
  };
  auto history = [&] {
    auto r = run_dbtool({"status", "--db", uri, "--json"}, env, dir);
    EXPECT_EQ(r.exit_code, 0) << r.err;
    return json::parse(r.out).at("history").as_array();
  };
  ASSERT_EQ(run({"init", "--yes"}).exit_code, 0);
  ASSERT_EQ(run({"migrate", "--yes", "--json-file", sample}).exit_code, 0);
  ASSERT_EQ(run({"init", "--yes"}).exit_code, 0);
  auto b = run({"backup", "--json"});
  ASSERT_EQ(b.exit_code, 0) << b.err;
  const std::string file(json::parse(b.out).at("path").as_string());
  const json::object backed_up = read_all("mysql", uri, server->password);
  ASSERT_EQ(run({"migrate", "--yes", "--json-file", sample}).exit_code, 0);
  ASSERT_EQ(run({"init", "--yes"}).exit_code, 0);
  const json::array live = history();
  ASSERT_EQ(live.size(), 5u);

  // The dry run counts the backup's rows from its trailer and changes nothing.
  const json::object replaced = read_all("mysql", uri, server->password);
  auto p = run_dbtool({"restore", "--dry-run", "--json", "--db", uri, file}, env, dir);
  ASSERT_EQ(p.exit_code, 0) << p.err;
  const json::value plan = json::parse(p.out);
  for (const auto& t : plan.at("tables").as_array())
    if (t.at("name") == "users") {
      EXPECT_EQ(t.at("rows_before"), 5);
      EXPECT_EQ(t.at("rows_after"), 5);
    }
  EXPECT_EQ(read_all("mysql", uri, server->password), replaced);
  EXPECT_EQ(history(), live);

  auto r = run({"restore", "--yes", "--json", file});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(json::parse(r.out).at("history"),
            (json::object{{"from_backup", 3}, {"since_backup", 2}, {"recorded", true}}))
      << r.out;
  EXPECT_EQ(read_all("mysql", uri, server->password), backed_up);
  const json::array after = history();
  ASSERT_EQ(after.size(), 6u);
  auto without_id = [](const json::value& row) {
    json::object o = row.as_object();
    o.erase("id");
    return o;
  };
  for (size_t i = 0; i < 3; ++i) EXPECT_EQ(after[i], live[i]) << i;
  for (size_t i = 3; i < 5; ++i) EXPECT_EQ(without_id(after[i]), without_id(live[i])) << i;
  std::set<int64_t> ids;
  for (const auto& h : after) ids.insert(h.at("id").as_int64());
  EXPECT_EQ(ids.size(), after.size()) << "ids collide";
  EXPECT_EQ(after[5].at("operation"), "restore");
  EXPECT_EQ(after[5].at("source"), json::value(file));
  fs::remove_all(dir);
}

// The content checksum is portable: the digest a run records from the batches it loads equals
// the one read back from MariaDB (no drift), verify agrees, and a change made in MariaDB shows.
TEST(CrossDb, ChecksumsRecordedOnMariaDbMatchWhatIsReadBackAndVerify) {
  REQUIRE_MYSQL(server);
  fs::path dir = testing::make_temp_dir("dbtool-mysql-digest");
  const std::string uri = fresh_database_uri(server->uri, "digest");
  const fs::path export_file = testing::fixtures_dir() / "sample-export.json";
  std::map<std::string, std::string> env{{"DBTOOL_DB_PASSWORD", server->password}};
  auto r = run_dbtool({"migrate", "--yes", "--db", uri, "--json-file", export_file.string(), "--json"}, env, dir);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const json::value mysql_report = json::parse(r.out);
  r = run_dbtool({"status", "--db", uri, "--json"}, env, dir);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(json::parse(r.out).at("drift").at("differences").as_array().empty()) << r.out;
  r = run_dbtool({"verify", "--db", uri, "--source", export_file.string()}, env, dir);
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;

  // The same export into SQLite records the same checksums.
  auto s = run_dbtool(
      {"migrate", "--yes", "--db", (dir / "app.db").string(), "--json-file", export_file.string(), "--json"}, {}, dir);
  ASSERT_EQ(s.exit_code, 0) << s.err;
  EXPECT_EQ(json::parse(s.out).at("tables"), mysql_report.at("tables"));
  fs::remove_all(dir);
}

}  // namespace
}  // namespace dbtool::testing
