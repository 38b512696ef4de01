// The PostgreSQL backend through the real binary: init -> migrate -> migrate -> backup ->
// restore, and `init` through the postgres:// alias. Needs the server scripts/test starts
// (DBTOOL_TEST_PG_URI, DBTOOL_TEST_PG_PASSWORD); fails without it under CI=true.
#include <gtest/gtest.h>

#include <boost/json.hpp>

#include <map>

#include "run_dbtool.hpp"
#include "test_servers.hpp"

namespace dbtool {
namespace {
namespace json = boost::json;

// Rows per table as `dbtool status --json` reports them.
std::map<std::string, int64_t> table_rows(const std::string& out) {
  std::map<std::string, int64_t> rows;
  const json::value report = json::parse(out);
  for (const auto& t : report.at("tables").as_array())
    rows[std::string(t.at("name").as_string())] = t.at("rows").to_number<int64_t>();
  return rows;
}

TEST(Postgres, InitMigrateMigrateBackupRestore) {
  REQUIRE_POSTGRES(pg);
  const std::string db = testing::fresh_database_uri(pg->uri, "cycle");
  const std::map<std::string, std::string> env = {{"DBTOOL_DB_PASSWORD", pg->password},
                                                  {"DBTOOL_DEFAULT_PASSWORD", "test-only-pw"}};
  const auto dir = testing::make_temp_dir("dbtool-pg-cycle");
  const std::string export_file = (testing::fixtures_dir() / "sample-export.json").string();
  const auto users = static_cast<int64_t>(json::parse(testing::read_bytes(export_file)).as_array().size());
  auto run = [&](std::vector<std::string> args) { return testing::run_dbtool(args, env, dir); };

  auto r = run({"init", "--yes", "--db", db});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  r = run({"migrate", "--yes", "--db", db, "--source", "json-file", "--json-file", export_file});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  // The second run backs up, carries the history over with its ids and appends a row.
  r = run({"migrate", "--yes", "--db", db, "--source", "json-file", "--json-file", export_file});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  r = run({"status", "--json", "--db", db});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto migrated = table_rows(r.out);
  EXPECT_EQ(migrated["users"], users);
  EXPECT_EQ(migrated["dbtool_history"], 3);

  auto b = run({"backup", "--json", "--db", db});
  ASSERT_EQ(b.exit_code, 0) << b.err;
  const std::string file(json::parse(b.out).at("path").as_string());
  EXPECT_NE(testing::read_bytes(file).find("-- dbtool-backup-end rows "), std::string::npos);

  r = run({"init", "--yes", "--db", db});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  r = run({"status", "--json", "--db", db});
  ASSERT_NE(table_rows(r.out), migrated);
  r = run({"restore", "--yes", "--db", db, file});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  r = run({"status", "--json", "--db", db});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(table_rows(r.out), migrated);
}

TEST(Postgres, InitThroughThePostgresAliasThenStatusListsTheTables) {
  REQUIRE_POSTGRES(pg);
  const std::string fresh = testing::fresh_database_uri(pg->uri, "init");
  const std::string db = "postgres" + fresh.substr(fresh.find("://"));
  const std::map<std::string, std::string> env = {{"DBTOOL_DB_PASSWORD", pg->password},
                                                  {"DBTOOL_DEFAULT_PASSWORD", "test-only-pw"}};
  auto r = testing::run_dbtool({"init", "--yes", "--db", db}, env);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.err.find(pg->password.empty() ? std::string("\x01") : pg->password), std::string::npos)
      << "the password never shows";
  r = testing::run_dbtool({"status", "--json", "--db", db}, env);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("\"users\""), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("\"dbtool_history\""), std::string::npos) << r.out;
}

}  // namespace
}  // namespace dbtool
