// The database servers the suites need, from the environment (scripts/test starts them), and
// a fresh database name per test:
//   DBTOOL_TEST_MYSQL_URI       mysql://user@host:port/dbtool_test
//   DBTOOL_TEST_MYSQL_PASSWORD  that user's password
//   DBTOOL_TEST_MYSQL_SOCKET    the server's socket, where root logs in without a password
//   DBTOOL_TEST_PG_URI          postgresql://user@host:port/dbtool_test
//   DBTOOL_TEST_PG_PASSWORD     that user's password
// REQUIRE_MYSQL / REQUIRE_POSTGRES: without the server a test fails in CI (CI=true) and skips
// elsewhere.
#pragma once

#include <gtest/gtest.h>

#include <cstdlib>
#include <optional>
#include <random>
#include <string>

namespace dbtool::testing {

struct MysqlServer {
  std::string uri;  // mysql://user@host:port/dbtool_test
  std::string password;
  std::string socket;  // "" when unknown
};

inline std::optional<MysqlServer> mysql_server() {
  const char* uri = std::getenv("DBTOOL_TEST_MYSQL_URI");
  const char* pw = std::getenv("DBTOOL_TEST_MYSQL_PASSWORD");
  const char* sock = std::getenv("DBTOOL_TEST_MYSQL_SOCKET");
  if (uri == nullptr || *uri == '\0') return std::nullopt;
  return MysqlServer{uri, pw ? pw : "", sock ? sock : ""};
}

struct PostgresServer {
  std::string uri;  // postgresql://user@host:port/dbtool_test
  std::string password;
};

inline std::optional<PostgresServer> postgres_server() {
  const char* uri = std::getenv("DBTOOL_TEST_PG_URI");
  const char* pw = std::getenv("DBTOOL_TEST_PG_PASSWORD");
  if (uri == nullptr || *uri == '\0') return std::nullopt;
  return PostgresServer{uri, pw ? pw : ""};
}

// CI=true: what the tests need must be there, and a test fails instead of skipping.
inline bool in_ci() {
  const char* ci = std::getenv("CI");
  return ci != nullptr && std::string(ci) == "true";
}

// `server` = getter(), or the test fails (CI=true) or skips, naming the variable `env`.
#define DBTOOL_REQUIRE_SERVER(server, getter, env, what)                                                       \
  auto server = getter();                                                                                      \
  if (!server) {                                                                                               \
    if (::dbtool::testing::in_ci()) FAIL() << env " is not set: CI must run a " what " server (scripts/test)"; \
    GTEST_SKIP() << "no " what " server (" env " unset); run scripts/test";                                    \
  }
#define REQUIRE_MYSQL(server) \
  DBTOOL_REQUIRE_SERVER(server, ::dbtool::testing::mysql_server, "DBTOOL_TEST_MYSQL_URI", "MariaDB")
#define REQUIRE_POSTGRES(server) \
  DBTOOL_REQUIRE_SERVER(server, ::dbtool::testing::postgres_server, "DBTOOL_TEST_PG_URI", "PostgreSQL")

// The database a URI names (mysql://user@host:port/DB?options -> DB; likewise postgresql://).
inline std::string database_of(const std::string& uri) {
  size_t slash = uri.find('/', uri.find("://") + 3);
  std::string db = uri.substr(slash + 1);
  return db.substr(0, db.find('?'));
}

// The same server, another database name, so each test starts clean.
inline std::string fresh_database_uri(const std::string& uri, const std::string& tag) {
  size_t slash = uri.find('/', uri.find("://") + 3);
  std::random_device rd;
  return uri.substr(0, slash + 1) + "dbtool_" + tag + "_" + std::to_string(rd() % 1000000);
}

}  // namespace dbtool::testing
