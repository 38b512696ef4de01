// The PostgreSQL backend through the real binary: `init` on a fresh database named with the
// postgres:// alias, then `status` showing what it made. Needs the server scripts/test starts
// (DBTOOL_TEST_PG_URI, DBTOOL_TEST_PG_PASSWORD); fails without it under CI=true.
#include <gtest/gtest.h>

#include <boost/json.hpp>

#include <random>

#include "run_dbtool.hpp"

namespace dbtool {
namespace {
namespace json = boost::json;

TEST(Postgres, InitThroughThePostgresAliasThenStatusListsTheTables) {
  const char* uri = std::getenv("DBTOOL_TEST_PG_URI");
  const char* password = std::getenv("DBTOOL_TEST_PG_PASSWORD");
  if (uri == nullptr || *uri == '\0') {
    const char* ci = std::getenv("CI");
    if (ci != nullptr && std::string(ci) == "true")
      FAIL() << "DBTOOL_TEST_PG_URI is not set: CI must run a PostgreSQL server (scripts/test)";
    GTEST_SKIP() << "no PostgreSQL server (DBTOOL_TEST_PG_URI unset); run scripts/test";
  }
  std::string base = uri;
  base = "postgres" + base.substr(base.find("://"), base.rfind('/') - base.find("://") + 1);
  std::random_device rd;
  const std::string db = base + "dbtool_init_" + std::to_string(rd() % 1000000);
  const std::map<std::string, std::string> env = {{"DBTOOL_DB_PASSWORD", password ? password : ""},
                                                  {"DBTOOL_DEFAULT_PASSWORD", "test-only-pw"}};
  auto r = testing::run_dbtool({"init", "--yes", "--db", db}, env);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.err.find(password ? password : "\x01"), std::string::npos) << "the password never shows";
  r = testing::run_dbtool({"status", "--json", "--db", db}, env);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("\"users\""), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("\"dbtool_history\""), std::string::npos) << r.out;
}

}  // namespace
}  // namespace dbtool
