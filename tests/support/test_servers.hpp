// Shared by the MariaDB suites: the test server from the environment (scripts/test starts
// one), REQUIRE_MYSQL, and a fresh database name per test.
//   DBTOOL_TEST_MYSQL_URI       mysql://user@host:port/dbtool_test
//   DBTOOL_TEST_MYSQL_PASSWORD  that user's password
//   DBTOOL_TEST_MYSQL_SOCKET    the server's socket, where root logs in without a password
// Without a server the tests fail in CI (CI=true) and skip elsewhere.
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

#define REQUIRE_MYSQL(server)                                                                    \
  auto server = ::dbtool::testing::mysql_server();                                               \
  if (!server) {                                                                                 \
    const char* ci = std::getenv("CI");                                                          \
    if (ci != nullptr && std::string(ci) == "true")                                              \
      FAIL() << "DBTOOL_TEST_MYSQL_URI is not set: CI must run a MariaDB server (scripts/test)"; \
    GTEST_SKIP() << "no MariaDB server (DBTOOL_TEST_MYSQL_URI unset); run scripts/test";         \
  }

// The database a URI names (mysql://user@host:port/DB?options -> DB).
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
