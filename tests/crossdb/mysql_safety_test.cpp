// MariaDB-specific safety, through the real binary: a wrong password is refused without
// echoing any password; the advisory lock keeps a second run away; stale staging databases of
// killed runs are cleaned up (and only this database's); the SQL backup loads into the plain
// `mariadb` client; a run killed before the cut-over leaves the live tables as they were.
// The test looks at the server through its own connection: root over DBTOOL_TEST_MYSQL_SOCKET
// when set, else the user of DBTOOL_TEST_MYSQL_URI.
#include <gtest/gtest.h>

#include <boost/json.hpp>

#include <mysql.h>

#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <csignal>
#include <filesystem>
#include <functional>
#include <map>
#include <optional>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include <dbtool/sdk/arrow.hpp>

#include "plugins/backend.hpp"
#include "plugins/plugin_registry.hpp"
#include "run_dbtool.hpp"
#include "temp_dir_test.hpp"
#include "test_servers.hpp"

namespace dbtool::testing {
namespace {
namespace json = boost::json;

// Where and how the test itself logs in (the server's user for dbtool comes from the URI).
struct Login {
  std::string host, user, password, socket;
  unsigned port = 3306;
};

Login admin_login(const MysqlServer& s) {
  Login l;
  if (!s.socket.empty()) {
    l.user = "root";
    l.socket = s.socket;
    return l;
  }
  std::string rest = s.uri.substr(s.uri.find("://") + 3);
  std::string authority = rest.substr(0, rest.find('/'));
  if (size_t at = authority.rfind('@'); at != std::string::npos) {
    l.user = authority.substr(0, at);
    authority = authority.substr(at + 1);
  }
  if (size_t colon = authority.rfind(':'); colon != std::string::npos) {
    l.port = static_cast<unsigned>(std::stoul(authority.substr(colon + 1)));
    authority = authority.substr(0, colon);
  }
  l.host = authority;
  l.password = s.password;
  return l;
}

// The test's own connection; every failure throws (GoogleTest reports it as a failure).
class Admin {
 public:
  explicit Admin(const MysqlServer& s) {
    Login l = admin_login(s);
    m_ = mysql_init(nullptr);
    if (m_ == nullptr) throw std::runtime_error("mysql_init failed");
    if (!mysql_real_connect(m_, l.socket.empty() ? l.host.c_str() : nullptr, l.user.c_str(),
                            l.password.empty() ? nullptr : l.password.c_str(), nullptr, l.port,
                            l.socket.empty() ? nullptr : l.socket.c_str(), 0)) {
      std::string e = mysql_error(m_);
      mysql_close(m_);
      throw std::runtime_error("test connection to the server failed: " + e);
    }
  }
  ~Admin() { mysql_close(m_); }
  Admin(const Admin&) = delete;
  Admin& operator=(const Admin&) = delete;

  // Every row, every value ("\\N" for NULL).
  std::vector<std::vector<std::string>> rows(const std::string& sql) {
    if (mysql_real_query(m_, sql.data(), sql.size()) != 0) throw std::runtime_error(sql + ": " + mysql_error(m_));
    std::vector<std::vector<std::string>> out;
    MYSQL_RES* r = mysql_store_result(m_);
    if (r == nullptr) {
      if (mysql_field_count(m_) != 0) throw std::runtime_error(sql + ": " + mysql_error(m_));
      return out;
    }
    unsigned n = mysql_num_fields(r);
    while (MYSQL_ROW row = mysql_fetch_row(r)) {
      unsigned long* len = mysql_fetch_lengths(r);
      std::vector<std::string> values;
      for (unsigned i = 0; i < n; ++i) values.push_back(row[i] ? std::string(row[i], len[i]) : "\\N");
      out.push_back(std::move(values));
    }
    mysql_free_result(r);
    return out;
  }
  void exec(const std::string& sql) { rows(sql); }
  std::string scalar(const std::string& sql) {
    auto r = rows(sql);
    if (r.empty() || r[0].empty()) throw std::runtime_error(sql + ": no value");
    return r[0][0];
  }
  std::vector<std::string> column(const std::string& sql) {
    std::vector<std::string> out;
    for (auto& r : rows(sql)) out.push_back(r.at(0));
    return out;
  }
  std::string quote(const std::string& s) {
    std::string out(s.size() * 2 + 1, '\0');
    out.resize(mysql_real_escape_string(m_, out.data(), s.data(), static_cast<unsigned long>(s.size())));
    return "'" + out + "'";
  }

  std::vector<std::string> databases() {
    return column("SELECT schema_name FROM information_schema.schemata ORDER BY 1");
  }
  bool database_exists(const std::string& db) {
    return scalar("SELECT COUNT(*) FROM information_schema.schemata WHERE schema_name = " + quote(db)) != "0";
  }
  std::vector<std::string> tables(const std::string& db) {
    return column("SELECT table_name FROM information_schema.tables WHERE table_schema = " + quote(db) +
                  " AND table_type = 'BASE TABLE' ORDER BY table_name");
  }
  int64_t count(const std::string& db, const std::string& table) {
    return std::stoll(scalar("SELECT COUNT(*) FROM `" + db + "`.`" + table + "`"));
  }
  // Every row of `table`, ordered by all its columns, one line per row.
  std::string ordered_rows(const std::string& db, const std::string& table) {
    int columns = std::stoi(scalar("SELECT COUNT(*) FROM information_schema.columns WHERE table_schema = " + quote(db) +
                                   " AND table_name = " + quote(table)));
    std::string order;
    for (int i = 1; i <= columns; ++i) order += (i > 1 ? "," : "") + std::to_string(i);
    std::string text;
    for (const auto& row : rows("SELECT * FROM `" + db + "`.`" + table + "` ORDER BY " + order)) {
      for (size_t i = 0; i < row.size(); ++i) text += (i ? "\x1f" : "") + row[i];
      text += '\n';
    }
    return text;
  }
  std::string checksum(const std::string& db, const std::string& table) {
    return rows("CHECKSUM TABLE `" + db + "`.`" + table + "` EXTENDED").at(0).at(1);
  }
  // table -> its ordered rows: the whole content of a database.
  std::map<std::string, std::string> snapshot(const std::string& db) {
    std::map<std::string, std::string> out;
    for (const auto& t : tables(db)) out[t] = ordered_rows(db, t);
    return out;
  }

 private:
  MYSQL* m_ = nullptr;
};

// The naming pattern of plugins/mysql for database names of up to 28 characters
// (mysql_util.cpp: stage_prefix, new_stage_database): <db>__dbtool_stage_<pid>_<time>.
std::string stage_prefix(const std::string& db) {
  EXPECT_LE(db.size(), 28u) << "longer names are shortened by the plugin";
  return db + "__dbtool_stage_";
}

std::vector<std::string> stages_of(Admin& admin, const std::string& db) {
  std::vector<std::string> out;
  for (const auto& name : admin.databases())
    if (name.rfind(stage_prefix(db), 0) == 0) out.push_back(name);
  return out;
}

// `db` and the databases dbtool made beside it (stages, retired), not those of other tests.
std::vector<std::string> family_of(Admin& admin, const std::string& db) {
  std::vector<std::string> out;
  for (const auto& name : admin.databases())
    if (name == db || name.rfind(db + "__", 0) == 0) out.push_back(name);
  return out;
}

size_t files_in(const fs::path& dir) {
  if (!fs::exists(dir)) return 0;
  return static_cast<size_t>(std::distance(fs::directory_iterator(dir), fs::directory_iterator()));
}

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return s;
}

// Runs the `mariadb` command-line client on `database` with stdin from `input`; returns its
// exit status, its output in `output`.
int run_mariadb_client(const MysqlServer& s, const std::string& database, const fs::path& input, std::string& output) {
  Login l = admin_login(s);
  std::vector<std::string> args{"mariadb", "--no-defaults"};
  if (!l.socket.empty()) {
    args.push_back("--socket=" + l.socket);
  } else {
    args.push_back("--host=" + l.host);
    args.push_back("--port=" + std::to_string(l.port));
  }
  args.push_back("--user=" + l.user);
  args.push_back(database);
  fs::path out_file = input.string() + ".client-output";
  pid_t pid = ::fork();
  if (pid < 0) throw std::runtime_error("fork failed");
  if (pid == 0) {
    int in = ::open(input.c_str(), O_RDONLY);
    int out = ::open(out_file.c_str(), O_CREAT | O_TRUNC | O_WRONLY, 0600);
    if (in < 0 || out < 0) ::_exit(126);
    ::dup2(in, 0);
    ::dup2(out, 1);
    ::dup2(out, 2);
    if (!l.password.empty()) ::setenv("MYSQL_PWD", l.password.c_str(), 1);  // never on the command line
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    ::execvp(argv[0], argv.data());
    ::_exit(127);
  }
  int status = 0;
  ::waitpid(pid, &status, 0);
  output = testing::read_bytes(out_file);
  fs::remove(out_file);
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

class MysqlSafety : public testing::TempDirTest {
 protected:
  std::map<std::string, std::string> env(const std::string& password) const {
    return {{"DBTOOL_DB_PASSWORD", password}, {"DBTOOL_DEFAULT_PASSWORD", "Test-Default-1"}};
  }
  testing::RunResult dbtool(std::vector<std::string> args, const std::string& password,
                            std::map<std::string, std::string> extra = {}) {
    args.push_back("--backup-dir");
    args.push_back(backups_.string());
    auto e = env(password);
    e.insert(extra.begin(), extra.end());
    return run_dbtool(args, e);
  }
  // The environment that makes a run pause at the fault point `point` (DBTOOL_TEST_FAULT):
  // there it creates pause_, and goes on once pause_ is removed.
  std::map<std::string, std::string> pause_at(const std::string& point) const {
    return {{"DBTOOL_TEST_FAULT", point + ":pause"}, {"DBTOOL_TEST_PAUSE_FILE", pause_.string()}};
  }
  // Waits (30 s at most) for a run to reach its pause.
  bool reached_pause() const {
    for (int i = 0; i < 3000 && !fs::exists(pause_); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(10));
    return fs::exists(pause_);
  }
  // `dbtool migrate` of the sample export into `uri`, started to pause at `point`.
  testing::RunningProgram start_migrate_pausing_at(const std::string& uri, const std::string& point,
                                                   const std::string& password,
                                                   const std::vector<std::string>& extra = {}) const {
    std::vector<std::string> args{"migrate", "--source", "json-file", "--json-file",  export_.string(),
                                  "--db",    uri,        "--yes",     "--backup-dir", backups_.string()};
    args.insert(args.end(), extra.begin(), extra.end());
    auto e = env(password);
    e.merge(pause_at(point));
    return testing::start_dbtool(args, e);
  }
  void SetUp() override {
    TempDirTest::SetUp();
    backups_ = dir_ / "backups";
    pause_ = dir_ / "pause";
  }
  fs::path backups_;
  fs::path pause_;
  const fs::path export_ = testing::fixtures_dir() / "sample-export.json";
};

TEST_F(MysqlSafety, WrongPasswordIsRefusedWithoutShowingAnyPassword) {
  REQUIRE_MYSQL(server);
  Admin admin(*server);
  std::string uri = fresh_database_uri(server->uri, "badpw");
  // Distinctive, so that a match cannot come from ordinary words of the message.
  const std::string wrong = "Wr0ng-Pw-q7Zx";
  auto r = dbtool({"init", "--backend", "mysql", "--db", uri, "--yes"}, wrong);
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(lower(r.err).find("access denied"), std::string::npos) << r.err;
  for (const std::string& pw : {wrong, server->password}) {
    SCOPED_TRACE(pw);
    EXPECT_EQ(r.out.find(pw), std::string::npos) << r.out;
    EXPECT_EQ(r.err.find(pw), std::string::npos) << r.err;
  }
  EXPECT_FALSE(admin.database_exists(database_of(uri)));
  EXPECT_EQ(files_in(backups_), 0u);
}

// The test server has no TLS: a URI that requires it must be refused, never quietly downgraded.
TEST_F(MysqlSafety, RequiredTlsIsNeverDowngraded) {
  REQUIRE_MYSQL(server);
  Admin admin(*server);
  std::string uri = fresh_database_uri(server->uri, "tls");
  auto r = dbtool({"init", "--db", uri + "?ssl-mode=REQUIRED", "--yes"}, server->password);
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(lower(r.err).find("ssl"), std::string::npos) << r.err;
  EXPECT_FALSE(admin.database_exists(database_of(uri)));
  r = dbtool({"init", "--db", uri + "?ssl-mode=BOGUS", "--yes"}, server->password);
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_NE(r.err.find("ssl-mode"), std::string::npos) << r.err;
}

TEST_F(MysqlSafety, SecondRunIsRefusedWhileTheLockIsHeld) {
  REQUIRE_MYSQL(server);
  Admin admin(*server);
  std::string uri = fresh_database_uri(server->uri, "lock");
  const std::string db = database_of(uri);
  auto r = dbtool({"init", "--db", uri, "--yes"}, server->password);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto before = admin.snapshot(db);
  ASSERT_FALSE(before.empty());
  ASSERT_GT(admin.count(db, "users"), 0);
  const auto databases = family_of(admin, db);
  const size_t backups = files_in(backups_);

  // Another session takes the lock plugins/mysql/session.cpp uses: "dbtool:" + database.
  {
    Admin holder(*server);
    ASSERT_EQ(holder.scalar("SELECT GET_LOCK(" + holder.quote("dbtool:" + db) + ", 0)"), "1");
    r = dbtool({"init", "--db", uri, "--yes"}, server->password);
    EXPECT_NE(r.exit_code, 0);
    EXPECT_NE(r.err.find("another dbtool run is working on"), std::string::npos) << r.err;
    r = dbtool({"migrate", "--source", "json-file", "--json-file", export_.string(), "--db", uri, "--yes"},
               server->password);
    EXPECT_NE(r.exit_code, 0);
    EXPECT_NE(r.err.find("another dbtool run is working on"), std::string::npos) << r.err;
    EXPECT_EQ(admin.snapshot(db), before);
    EXPECT_EQ(family_of(admin, db), databases);
    EXPECT_EQ(files_in(backups_), backups);
    EXPECT_EQ(holder.scalar("SELECT RELEASE_LOCK(" + holder.quote("dbtool:" + db) + ")"), "1");
  }
  // With the lock free again the same run goes through.
  r = dbtool({"init", "--db", uri, "--yes"}, server->password);
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(files_in(backups_), backups + 1);
}

TEST_F(MysqlSafety, StaleStagingDatabaseOfAKilledRunIsDropped) {
  REQUIRE_MYSQL(server);
  Admin admin(*server);
  std::string uri = fresh_database_uri(server->uri, "stale");
  const std::string db = database_of(uri);
  // What a run killed while loading leaves: <db>__dbtool_stage_<pid>_<time>, with tables.
  const std::string stale = stage_prefix(db) + "424242_12345";
  admin.exec("CREATE DATABASE `" + stale + "`");
  admin.exec("CREATE TABLE `" + stale + "`.`users` (id BIGINT PRIMARY KEY, name VARCHAR(20))");
  admin.exec("INSERT INTO `" + stale + "`.`users` VALUES (1, 'half-loaded')");
  ASSERT_TRUE(admin.database_exists(stale));
  auto r = dbtool({"init", "--db", uri, "--yes"}, server->password);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_FALSE(admin.database_exists(stale));
  EXPECT_TRUE(stages_of(admin, db).empty());
  EXPECT_GT(admin.count(db, "users"), 0);
}

// A kill between creating the retired database and the RENAME leaves it empty: the next run
// drops it, so status does not list it as data; a retired database holding tables stays.
TEST_F(MysqlSafety, AnEmptyRetiredDatabaseIsDroppedOneWithTablesKept) {
  REQUIRE_MYSQL(server);
  Admin admin(*server);
  std::string uri = fresh_database_uri(server->uri, "retired");
  const std::string db = database_of(uri);
  const std::string empty = db + "__dbtool_retired_20260101000000";
  const std::string full = db + "__dbtool_retired_20260101000001";
  admin.exec("CREATE DATABASE `" + empty + "`");
  admin.exec("CREATE DATABASE `" + full + "`");
  admin.exec("CREATE TABLE `" + full + "`.`users` (id BIGINT PRIMARY KEY)");
  auto r = dbtool({"init", "--db", uri, "--yes"}, server->password);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_FALSE(admin.database_exists(empty));
  EXPECT_TRUE(admin.database_exists(full));
  r = dbtool({"status", "--db", uri, "--json"}, server->password);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const json::value status = json::parse(r.out);
  const json::array& listed = status.at("retired").as_array();
  EXPECT_EQ(listed.size(), 1u) << r.out;
  admin.exec("DROP DATABASE `" + full + "`");
}

TEST_F(MysqlSafety, StagingDatabasesOfAnotherDatabaseAreLeftAlone) {
  REQUIRE_MYSQL(server);
  Admin admin(*server);
  // Two databases whose names agree in their first 32 characters (stage names are shortened
  // to stay within MySQL's 64): cleaning up after one must not touch the other's stage, which
  // may belong to a run in progress.
  std::string a_uri = fresh_database_uri(server->uri, "long_shared_prefix_of_32_chars_x") + "_a";
  std::string b_uri = a_uri.substr(0, a_uri.size() - 2) + "_b";
  const std::string a = database_of(a_uri), b = database_of(b_uri);
  ASSERT_EQ(a.substr(0, 32), b.substr(0, 32));
  // B's run, killed while loading, leaves a stage named by the plugin's own rule.
  const auto databases = admin.databases();
  auto r = dbtool({"migrate", "--source", "json-file", "--json-file", export_.string(), "--db", b_uri, "--yes"},
                  server->password, {{"DBTOOL_TEST_FAULT", "mid-load:kill"}});
  ASSERT_EQ(r.exit_code, 128 + 9) << "not killed at mid-load: " << r.err;
  std::vector<std::string> b_stages;
  for (const auto& name : admin.databases())
    if (std::find(databases.begin(), databases.end(), name) == databases.end() && name.rfind(b.substr(0, 19), 0) == 0 &&
        name.find("__dbtool_stage_") != std::string::npos)
      b_stages.push_back(name);
  ASSERT_EQ(b_stages.size(), 1u);
  const std::string b_stage = b_stages[0];
  // Another run on B is at work (it holds B's lock): its stage is not stale.
  {
    Admin b_run(*server);
    ASSERT_EQ(b_run.scalar("SELECT GET_LOCK(" + b_run.quote("dbtool:" + b) + ", 0)"), "1");
    r = dbtool({"init", "--db", a_uri, "--yes"}, server->password);
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_TRUE(admin.database_exists(b_stage)) << "the init of " << a << " dropped " << b_stage;
    EXPECT_EQ(b_run.scalar("SELECT RELEASE_LOCK(" + b_run.quote("dbtool:" + b) + ")"), "1");
  }
  // B's own next run does clean it up.
  r = dbtool({"init", "--db", b_uri, "--yes"}, server->password);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_FALSE(admin.database_exists(b_stage));
}

// MySQL names stop at 64 characters; stage and retired names built from the longest database
// name must still fit, also when several cut-overs fall within one second.
TEST_F(MysqlSafety, TheLongestDatabaseNameCutsOverRepeatedly) {
  REQUIRE_MYSQL(server);
  Admin admin(*server);
  std::string uri = fresh_database_uri(server->uri, "longest");
  std::string db = database_of(uri);
  db += std::string(64 - db.size(), 'x');
  uri = uri.substr(0, uri.rfind('/') + 1) + db;
  ASSERT_EQ(db.size(), 64u);
  for (int run = 0; run < 4; ++run) {
    SCOPED_TRACE(run);
    auto r = dbtool({"init", "--db", uri, "--yes"}, server->password);
    ASSERT_EQ(r.exit_code, 0) << r.err;
  }
  auto r = dbtool(
      {"restore", "--db", uri, "--yes", (backups_ / fs::directory_iterator(backups_)->path().filename()).string()},
      server->password);
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_GT(admin.count(db, "users"), 0);
  // Every cut-over set the old tables aside, under names that fit, and status lists them.
  r = dbtool({"status", "--db", uri, "--json"}, server->password);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const json::value status = json::parse(r.out);
  const json::array& retired = status.at("retired").as_array();
  EXPECT_EQ(retired.size(), 5u) << r.out;  // 3 re-inits, the restore and its history merge
  for (const auto& name : retired) {
    EXPECT_LE(name.as_string().size(), 64u);
    EXPECT_TRUE(admin.database_exists(std::string(name.as_string())));
  }
}

TEST_F(MysqlSafety, BackupLoadsIntoTheMariadbClient) {
  REQUIRE_MYSQL(server);
  Admin admin(*server);
  std::string uri = fresh_database_uri(server->uri, "dump");
  const std::string db = database_of(uri);
  auto r = dbtool({"migrate", "--source", "json-file", "--json-file", export_.string(), "--db", uri, "--yes"},
                  server->password);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  for (const char* t : {"users", "sections", "user_sections"}) EXPECT_GT(admin.count(db, t), 0) << t;
  auto b = dbtool({"backup", "--db", uri, "--json"}, server->password);
  ASSERT_EQ(b.exit_code, 0) << b.err;
  const fs::path file(std::string(json::parse(b.out).at("path").as_string()));
  ASSERT_TRUE(fs::exists(file));

  const std::string copy = db + "_copy";
  admin.exec("DROP DATABASE IF EXISTS `" + copy + "`");
  admin.exec("CREATE DATABASE `" + copy + "`");
  std::string client_output;
  ASSERT_EQ(run_mariadb_client(*server, copy, file, client_output), 0) << client_output;

  auto tables = admin.tables(db);
  ASSERT_EQ(admin.tables(copy), tables);
  for (const char* t : {"users", "sections", "user_sections", "dbtool_history"})
    EXPECT_NE(std::find(tables.begin(), tables.end(), t), tables.end()) << t;
  for (const auto& t : tables) {
    SCOPED_TRACE(t);
    EXPECT_EQ(admin.count(copy, t), admin.count(db, t));
    EXPECT_EQ(admin.checksum(copy, t), admin.checksum(db, t));
    EXPECT_EQ(admin.ordered_rows(copy, t), admin.ordered_rows(db, t));
  }
  admin.exec("DROP DATABASE `" + copy + "`");
}

// The app's tables on MariaDB: its types (DATE, DATETIME(6), DOUBLE), ON DELETE CASCADE where
// the app cascades, and text in a binary NO PAD collation, as the server itself reports them.
TEST_F(MysqlSafety, TablesFollowTheAppsSchemaOnMariaDb) {
  REQUIRE_MYSQL(server);
  Admin admin(*server);
  std::string uri = fresh_database_uri(server->uri, "types");
  const std::string db = database_of(uri);
  auto r = dbtool({"init", "--db", uri}, server->password);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  std::vector<std::string> tables = admin.tables(db);
  std::sort(tables.begin(), tables.end());
  EXPECT_EQ(tables, (std::vector<std::string>{"dbtool_history", "sections", "stock_transactions", "stock_users",
                                              "table_stocks", "user_sections", "user_transaction_stocks", "users"}));
  auto column = [&](const char* table, const char* col, const char* what) {
    return admin.scalar(std::string("SELECT ") + what + " FROM information_schema.columns WHERE table_schema = " +
                        admin.quote(db) + " AND table_name = '" + table + "' AND column_name = '" + col + "'");
  };
  EXPECT_EQ(column("stock_users", "_accountdate", "column_type"), "date");
  EXPECT_EQ(column("stock_transactions", "_transaction_date", "column_type"), "date");
  EXPECT_EQ(column("user_transaction_stocks", "_transaction_time", "column_type"), "datetime(6)");
  EXPECT_EQ(column("user_transaction_stocks", "_price_per_stock", "column_type"), "double");
  EXPECT_EQ(column("users", "_email", "is_nullable"), "NO");
  const bool mariadb = admin.scalar("SELECT VERSION()").find("MariaDB") != std::string::npos;
  const std::string nopad = mariadb ? "utf8mb4_nopad_bin" : "utf8mb4_0900_bin";
  EXPECT_EQ(column("users", "_uid", "collation_name"), nopad);
  EXPECT_EQ(column("stock_users", "_uid", "collation_name"), nopad);
  auto rule = [&](const char* constraint) {
    return admin.scalar(
        "SELECT delete_rule FROM information_schema.referential_constraints WHERE "
        "constraint_schema = " +
        admin.quote(db) + " AND constraint_name = '" + constraint + "'");
  };
  EXPECT_EQ(rule("fk_stock_users_uid"), "CASCADE");
  EXPECT_EQ(rule("fk_stock_transactions_user"), "CASCADE");
  EXPECT_EQ(rule("fk_user_transaction_stocks_transaction"), "CASCADE");
  EXPECT_EQ(rule("fk_user_transaction_stocks_stock"), "CASCADE");
  EXPECT_NE(rule("fk_user_transaction_stocks_user"), "CASCADE");
  EXPECT_NE(rule("fk_user_sections_user"), "CASCADE");

  // A DATETIME without fractions (as another tool may create one) reads back in the portable
  // form, six fraction digits, like DATETIME(6); a DATE as it is.
  admin.exec("CREATE TABLE `" + db + "`.`legacy_times` (id BIGINT PRIMARY KEY, d DATE, t DATETIME, t3 DATETIME(3))");
  admin.exec("INSERT INTO `" + db +
             "`.`legacy_times` VALUES (1, '2024-02-29', '2024-01-02 03:04:05', "
             "'2024-01-02 03:04:05.120'), (2, NULL, NULL, NULL)");
  PluginRegistry reg = PluginRegistry::discover(
      {fs::path(testing::dbtool_binary()).parent_path() / ".." / "lib" / "dbtool" / "plugins"});
  BackendSession session(reg.get("mysql", DBTOOL_KIND_BACKEND),
                         json::object{{"uri", uri}, {"password", server->password}});
  ArrowArrayStream stream{};
  session.read_table("legacy_times", &stream);
  sdk::StreamReader reader(&stream);
  sdk::ArrayHolder batch;
  ASSERT_TRUE(reader.next(batch));
  sdk::BatchView v(reader.columns(), batch.a);
  ASSERT_EQ(v.rows(), 2);
  EXPECT_EQ(v.get_bytes(1, 0), "2024-02-29");
  EXPECT_EQ(v.get_bytes(2, 0), "2024-01-02 03:04:05.000000");
  EXPECT_EQ(v.get_bytes(3, 0), "2024-01-02 03:04:05.120000");
  EXPECT_TRUE(v.is_null(2, 1));
}

// migrate's guard on MySQL too: an empty export, or one that shrinks a table, leaves the live
// tables as they were and no stage behind, unless --allow-shrink.
TEST_F(MysqlSafety, AShrinkingMigrationIsRefused) {
  REQUIRE_MYSQL(server);
  Admin admin(*server);
  std::string uri = fresh_database_uri(server->uri, "shrink");
  const std::string db = database_of(uri);
  auto migrate = [&](const fs::path& file, std::vector<std::string> extra = {}) {
    std::vector<std::string> args{"migrate",     "--source", "json-file", "--json-file",
                                  file.string(), "--db",     uri,         "--yes"};
    args.insert(args.end(), extra.begin(), extra.end());
    return dbtool(args, server->password);
  };
  auto r = migrate(export_);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto before = admin.snapshot(db);
  const auto databases = family_of(admin, db);
  const fs::path empty = dir_ / "empty.json";
  testing::write_bytes(empty, "[]");
  r = migrate(empty);
  EXPECT_EQ(r.exit_code, 3) << r.err;
  EXPECT_NE(r.err.find("users: 200 -> 0 rows"), std::string::npos) << r.err;
  EXPECT_EQ(admin.snapshot(db), before);
  EXPECT_EQ(family_of(admin, db), databases) << "no stage or retired database left";
  r = migrate(empty, {"--allow-shrink"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(admin.count(db, "users"), 0);
}

// Views and triggers are outside the portable schema: named before anything happens and the run
// refused with --yes unless --drop-unknown. A view stays in the database (it refers to the
// tables by name); a table with triggers cannot be set aside by MySQL, which the plugin says
// before it loads anything.
TEST_F(MysqlSafety, ViewsAndTriggersAreNamedAndNeverLostSilently) {
  REQUIRE_MYSQL(server);
  Admin admin(*server);
  std::string uri = fresh_database_uri(server->uri, "objects");
  const std::string db = database_of(uri);
  std::vector<std::string> migrate{"migrate",        "--source", "json-file", "--json-file",
                                   export_.string(), "--db",     uri,         "--yes"};
  auto r = dbtool(migrate, server->password);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  admin.rows("CREATE VIEW `" + db + "`.active_users AS SELECT _uid FROM `" + db + "`.users");
  admin.rows("CREATE TRIGGER `" + db + "`.users_touch BEFORE UPDATE ON `" + db + "`.users FOR EACH ROW SET @x = 1");
  const auto before = admin.snapshot(db);
  const auto databases = family_of(admin, db);

  r = dbtool(migrate, server->password);
  EXPECT_EQ(r.exit_code, 3) << r.err;
  EXPECT_NE(r.err.find("view active_users"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("trigger users_touch (on users)"), std::string::npos) << r.err;
  EXPECT_EQ(admin.snapshot(db), before);

  auto with_drop = migrate;
  with_drop.push_back("--drop-unknown");
  r = dbtool(with_drop, server->password);
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.err.find("cannot set a table with triggers aside"), std::string::npos) << r.err;
  EXPECT_EQ(admin.snapshot(db), before);
  EXPECT_EQ(family_of(admin, db), databases) << "no stage or retired database left";

  admin.rows("DROP TRIGGER `" + db + "`.users_touch");
  r = dbtool(with_drop, server->password);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(admin.rows("SELECT count(*) FROM `" + db + "`.active_users")[0][0], "200") << "the view sees the new table";
}

// A write by another program between the backup and the cut-over: the swap would lose it, so it
// is refused (the write stays live, no stage left) unless --allow-concurrent-writes, and then
// the written row is in the retired database.
TEST_F(MysqlSafety, AWriteAfterTheBackupRefusesTheCutOver) {
  REQUIRE_MYSQL(server);
  Admin admin(*server);
  std::string uri = fresh_database_uri(server->uri, "concurrent");
  const std::string db = database_of(uri);
  auto r = dbtool({"init", "--db", uri, "--yes"}, server->password);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto run_with_a_write = [&](std::vector<std::string> extra, const std::string& name) {
    std::vector<std::string> args{"migrate", "--source", "json-file", "--json-file", export_.string(),
                                  "--db",    uri,        "--yes",     "--json"};
    args.insert(args.end(), extra.begin(), extra.end());
    testing::RunResult result;
    std::thread run([&] { result = dbtool(args, server->password, pause_at("before-commit")); });
    EXPECT_TRUE(reached_pause()) << "the run never reached before-commit";
    admin.exec("UPDATE `" + db + "`.`users` SET `_name` = " + admin.quote(name) + " ORDER BY id LIMIT 1");
    fs::remove(pause_);
    run.join();
    return result;
  };
  const auto databases = family_of(admin, db);
  r = run_with_a_write({}, "written during the run");
  EXPECT_EQ(r.exit_code, 3) << r.err;
  EXPECT_NE(r.err.find("after its backup was taken"), std::string::npos) << r.err;
  EXPECT_EQ(admin.scalar("SELECT COUNT(*) FROM `" + db + "`.`users` WHERE `_name` = 'written during the run'"), "1");
  EXPECT_EQ(family_of(admin, db), databases) << "no stage or retired database left";

  r = run_with_a_write({"--allow-concurrent-writes"}, "kept in the retired database");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const std::string retired(json::parse(r.out).at("retired").as_string());
  EXPECT_EQ(
      admin.scalar("SELECT COUNT(*) FROM `" + retired + "`.`users` WHERE `_name` = 'kept in the retired database'"),
      "1");
  EXPECT_EQ(admin.count(db, "users"), 200);
}

// restore checks the file (header line and trailer) before it asks, backs up or touches anything.
TEST_F(MysqlSafety, RestoreRefusesFilesThatAreNotCompleteDbtoolBackups) {
  REQUIRE_MYSQL(server);
  Admin admin(*server);
  std::string uri = fresh_database_uri(server->uri, "badbackup");
  const std::string db = database_of(uri);
  auto r = dbtool({"init", "--db", uri, "--yes"}, server->password);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto b = dbtool({"backup", "--db", uri, "--json"}, server->password);
  ASSERT_EQ(b.exit_code, 0) << b.err;
  const std::string good = testing::read_bytes(std::string(json::parse(b.out).at("path").as_string()));
  const auto before = admin.snapshot(db);
  const auto databases = family_of(admin, db);
  const size_t backups = files_in(backups_);
  const std::map<std::string, std::pair<std::string, std::string>> cases = {
      {"empty.sql", {"", "is empty"}},
      {"truncated.sql", {good.substr(0, good.size() - 10), "truncated"}},
      {"other.sql", {"CREATE TABLE users (id INT);\n", "was not made by dbtool backup"}},
  };
  for (const auto& [name, c] : cases) {
    SCOPED_TRACE(name);
    testing::write_bytes(dir_ / name, c.first);
    r = dbtool({"restore", "--db", uri, "--yes", (dir_ / name).string()}, server->password);
    EXPECT_EQ(r.exit_code, 1) << r.err;
    EXPECT_NE(r.err.find(c.second), std::string::npos) << r.err;
    EXPECT_EQ(admin.snapshot(db), before);
    EXPECT_EQ(family_of(admin, db), databases);
    EXPECT_EQ(files_in(backups_), backups) << "no backup of the current state for a bad file";
  }
}

TEST_F(MysqlSafety, KilledBeforeCutOverLeavesTheLiveTablesAsTheyWere) {
  REQUIRE_MYSQL(server);
  Admin admin(*server);
  std::string uri = fresh_database_uri(server->uri, "kill");
  const std::string db = database_of(uri);
  auto r = dbtool({"init", "--db", uri, "--yes"}, server->password);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto before = admin.snapshot(db);
  ASSERT_GT(admin.count(db, "users"), 0);

  const std::vector<std::string> migrate{"migrate",        "--source", "json-file", "--json-file",
                                         export_.string(), "--db",     uri,         "--yes"};
  r = dbtool(migrate, server->password, {{"DBTOOL_TEST_FAULT", "mid-load:kill"}});
  ASSERT_EQ(r.exit_code, 128 + 9) << "not killed at mid-load: " << r.err;
  EXPECT_EQ(admin.snapshot(db), before);
  // The killed run got as far as a half-loaded staging database.
  EXPECT_EQ(stages_of(admin, db).size(), 1u);

  auto m = migrate;
  m.push_back("--json");
  r = dbtool(m, server->password);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(stages_of(admin, db).empty());
  EXPECT_NE(admin.snapshot(db), before);
  json::value report = json::parse(r.out);
  for (const auto& t : report.at("tables").as_array()) {
    std::string name(t.at("name").as_string());
    EXPECT_EQ(admin.count(db, name), t.at("rows").to_number<int64_t>()) << name;
  }
}

// Ctrl-C while the cut-over's RENAME TABLE waits for a metadata lock that another connection
// holds (an open transaction that has read the table, as an application's would): the host's
// watcher calls the backend's cancel, which kills the waiting statement, so the run ends within
// a few seconds with exit code 130 while the lock is still held, and the target is as it was.
// Before the fix the run only stopped once the lock was released, and then cut over.
TEST_F(MysqlSafety, CtrlCInterruptsACutOverWaitingForALock) {
  REQUIRE_MYSQL(server);
  Admin admin(*server);
  std::string uri = fresh_database_uri(server->uri, "cancel");
  const std::string db = database_of(uri);
  auto r = dbtool({"init", "--db", uri, "--yes"}, server->password);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto before = admin.snapshot(db);
  const auto databases = family_of(admin, db);

  testing::RunningProgram run = start_migrate_pausing_at(uri, "before-commit", server->password);
  ASSERT_TRUE(reached_pause()) << "the run never reached before-commit";

  Admin holder(*server);
  holder.exec("START TRANSACTION");
  holder.exec("SELECT COUNT(*) FROM `" + db + "`.`users`");  // a shared metadata lock until the transaction ends
  fs::remove(pause_);
  const std::string waiting =
      "SELECT COUNT(*) FROM information_schema.processlist WHERE info LIKE 'RENAME TABLE%' AND info LIKE " +
      admin.quote("%" + db + "%") + " AND state LIKE 'Waiting for table metadata lock%'";
  bool blocked = false;
  for (int i = 0; i < 3000 && !blocked; ++i) {
    blocked = admin.scalar(waiting) != "0";
    if (!blocked) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  if (!blocked) holder.exec("ROLLBACK");
  ASSERT_TRUE(blocked) << "the cut-over never waited for the lock";

  ASSERT_EQ(::kill(run.pid(), SIGINT), 0);
  const auto t0 = std::chrono::steady_clock::now();
  std::optional<testing::RunResult> ended = run.wait_for(std::chrono::seconds(10));
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  const std::string still_waiting = admin.scalar(waiting);
  holder.exec("ROLLBACK");  // lets a run that ignored Ctrl-C go on, so the test ends either way
  if (!ended) ended = run.wait();
  ASSERT_LT(seconds, 10) << "Ctrl-C did not stop the run while the lock was held; it ended (exit " << ended->exit_code
                         << ") only after the lock was released: " << ended->err;
  EXPECT_LT(seconds, 5);
  EXPECT_EQ(still_waiting, "0") << "the RENAME is still waiting after the run ended";
  EXPECT_EQ(ended->exit_code, 130) << ended->err;
  EXPECT_NE(ended->err.find("cancelled"), std::string::npos) << ended->err;
  EXPECT_NE(ended->err.find("nothing was changed"), std::string::npos) << ended->err;
  EXPECT_EQ(admin.snapshot(db), before);
  EXPECT_EQ(family_of(admin, db), databases) << "no stage or retired database left";
}

// Ctrl-C while the tables load side by side (DBTOOL_CAP_CONCURRENT_LOAD: users and their
// memberships on connections of their own), each load blocked in the server by a global read lock
// another connection holds: the backend's cancel kills the statement of every load connection
// while the lock is still held, and the run ends with exit code 130 with the target as it was and
// no stage left. With one connection's statement left running the run would hang until the lock
// went away.
TEST_F(MysqlSafety, CtrlCStopsEveryTableLoadingAtOnce) {
  REQUIRE_MYSQL(server);
  Admin admin(*server);
  std::string uri = fresh_database_uri(server->uri, "cancel_loads");
  const std::string db = database_of(uri);
  auto r = dbtool({"init", "--db", uri, "--yes"}, server->password);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto before = admin.snapshot(db);
  const auto databases = family_of(admin, db);

  // Small batches, so that both tables have batches left when the lock is taken.
  testing::RunningProgram run = start_migrate_pausing_at(uri, "mid-load", server->password, {"--batch-rows", "20"});
  ASSERT_TRUE(reached_pause()) << "the run never reached mid-load";

  Admin holder(*server);
  holder.exec("FLUSH TABLES WITH READ LOCK");  // every write in the server waits from now on
  fs::remove(pause_);
  const std::string blocked_loads = "SELECT COUNT(*) FROM information_schema.processlist WHERE db LIKE " +
                                    admin.quote(db + "\\_\\_dbtool\\_stage\\_%") + " AND state LIKE '%lock%'";
  // Users, memberships and sections each on a connection of their own: at least two blocked.
  int waiting = 0;
  for (int i = 0; i < 3000 && waiting < 2; ++i) {
    waiting = std::stoi(admin.scalar(blocked_loads));
    if (waiting < 2) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  if (waiting < 2) holder.exec("UNLOCK TABLES");
  ASSERT_GE(waiting, 2) << "the tables were not loading at the same time";

  ASSERT_EQ(::kill(run.pid(), SIGINT), 0);
  std::string still = std::to_string(waiting);
  for (int i = 0; i < 500 && still != "0"; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
    still = admin.scalar(blocked_loads);
  }
  holder.exec("UNLOCK TABLES");  // the stage's DROP waits for it too
  std::optional<testing::RunResult> ended = run.wait_for(std::chrono::seconds(30));
  if (!ended) ended = run.wait();
  EXPECT_EQ(still, "0") << "a load was still waiting 5 s after Ctrl-C (" << waiting << " were)";
  EXPECT_EQ(ended->exit_code, 130) << ended->err;
  EXPECT_NE(ended->err.find("cancelled"), std::string::npos) << ended->err;
  EXPECT_NE(ended->err.find("nothing was changed"), std::string::npos) << ended->err;
  EXPECT_EQ(admin.snapshot(db), before);
  EXPECT_EQ(family_of(admin, db), databases) << "no stage or retired database left";
}

// The export breaks off after many batches have gone to the tables' loading threads (a truncated
// download): the read fails on the caller's thread while the others wait for more, and the run
// ends at once with the reader's error, the target as it was and no stage left.
TEST_F(MysqlSafety, AnExportThatBreaksOffMidLoadEndsTheRunWithItsError) {
  REQUIRE_MYSQL(server);
  Admin admin(*server);
  std::string uri = fresh_database_uri(server->uri, "broken_off");
  const std::string db = database_of(uri);
  auto r = dbtool({"init", "--db", uri, "--yes"}, server->password);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto before = admin.snapshot(db);
  const auto databases = family_of(admin, db);
  const std::string whole = testing::read_bytes(export_);
  const fs::path cut = dir_ / "cut-export.json";
  testing::write_bytes(cut, whole.substr(0, whole.size() * 3 / 4));
  testing::RunningProgram run =
      testing::start_dbtool({"migrate", "--source", "json-file", "--json-file", cut.string(), "--db", uri, "--yes",
                             "--backup-dir", backups_.string(), "--batch-rows", "10"},
                            env(server->password));
  std::optional<testing::RunResult> ended = run.wait_for(std::chrono::seconds(60));
  ASSERT_TRUE(ended) << "the run hung after its export broke off";
  EXPECT_NE(ended->exit_code, 0) << ended->err;
  EXPECT_NE(ended->err.find("nothing was changed"), std::string::npos) << ended->err;
  EXPECT_EQ(admin.snapshot(db), before);
  EXPECT_EQ(family_of(admin, db), databases) << "no stage or retired database left";
}

// A server that lets dbtool's user have three connections (max_user_connections): the session's,
// the stage's and one to load. The load connections beyond are refused, and the tables load on
// the one there is, one after another: the run succeeds with every row. With two, the refusal is
// the error, naming the limit, and nothing changes. A user of its own, so that the limit holds
// no other test back.
TEST_F(MysqlSafety, AConnectionLimitLoadsTheTablesOneAfterAnother) {
  REQUIRE_MYSQL(server);
  if (server->socket.empty()) {
    // scripts/test's server always has one, so in CI this test runs.
    if (testing::in_ci()) FAIL() << "DBTOOL_TEST_MYSQL_SOCKET is not set: CI must run the test server (scripts/test)";
    GTEST_SKIP() << "needs the test server's root login (DBTOOL_TEST_MYSQL_SOCKET) to make a user with a limit";
  }
  Admin admin(*server);
  const std::string user = "dbtool_limit_" + std::to_string(::getpid());
  const std::string password = "limit-pw";
  std::string uri = fresh_database_uri(server->uri, "conn_limit");
  const std::string db = database_of(uri);
  uri = "mysql://" + user + uri.substr(uri.find('@'));
  const std::vector<std::string> hosts{"127.0.0.1", "localhost"};
  auto account = [&](const std::string& host) { return admin.quote(user) + "@" + admin.quote(host); };
  for (const auto& h : hosts) {
    admin.exec("CREATE USER " + account(h) + " IDENTIFIED BY " + admin.quote(password));
    admin.exec("GRANT ALL ON `" + db + "%`.* TO " + account(h));
  }
  struct DropUser {
    std::function<void()> f;
    ~DropUser() { f(); }
  } drop_user{[&] {
    for (const auto& h : hosts) admin.exec("DROP USER IF EXISTS " + account(h));
  }};
  auto limit = [&](int n) {
    for (const auto& h : hosts)
      admin.exec("ALTER USER " + account(h) + " WITH MAX_USER_CONNECTIONS " + std::to_string(n));
  };
  auto r = dbtool({"init", "--db", uri, "--yes"}, password);
  ASSERT_EQ(r.exit_code, 0) << r.err;

  limit(3);
  r = dbtool(
      {"-v", "migrate", "--source", "json-file", "--json-file", export_.string(), "--db", uri, "--yes", "--json"},
      password);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.err.find("refused another load connection"), std::string::npos) << r.err;
  json::value report = json::parse(r.out);
  for (const auto& t : report.at("tables").as_array())
    EXPECT_EQ(admin.count(db, std::string(t.at("name").as_string())), t.at("rows").to_number<int64_t>());
  EXPECT_EQ(admin.count(db, "users"), 200);

  limit(2);
  const auto before = admin.snapshot(db);
  r = dbtool({"migrate", "--source", "json-file", "--json-file", export_.string(), "--db", uri, "--yes"}, password);
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.err.find("max_user_connections"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("nothing was changed"), std::string::npos) << r.err;
  EXPECT_EQ(admin.snapshot(db), before);
  EXPECT_TRUE(stages_of(admin, db).empty());
}

// status compares indexes on MariaDB too: one dropped, one added by hand.
TEST_F(MysqlSafety, StatusNoticesIndexDrift) {
  REQUIRE_MYSQL(server);
  const fs::path& dir = dir_;
  const std::string uri = fresh_database_uri(server->uri, "index");
  std::map<std::string, std::string> env{{"DBTOOL_DB_PASSWORD", server->password}};
  auto r = run_dbtool(
      {"migrate", "--yes", "--db", uri, "--json-file", (testing::fixtures_dir() / "sample-export.json").string()}, env,
      dir);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto kinds = [&] {
    auto s = run_dbtool({"status", "--db", uri, "--json"}, env, dir);
    EXPECT_EQ(s.exit_code, 0) << s.err;
    std::set<std::string> out;
    const json::value status = json::parse(s.out);
    for (const auto& d : status.at("drift").at("differences").as_array())
      out.insert(std::string(d.at("kind").as_string()) + ":" + std::string(d.at("table").as_string()));
    return out;
  };
  EXPECT_EQ(kinds(), std::set<std::string>{});
  const std::string db = database_of(uri);
  Admin admin(*server);
  admin.exec("ALTER TABLE `" + db + "`.sections DROP INDEX uq_sections_abbreviation");
  admin.exec("CREATE INDEX by_name ON `" + db + "`.users (_name)");
  EXPECT_EQ(kinds(), (std::set<std::string>{"index_missing:sections", "index_added:users"}));
}

}  // namespace
}  // namespace dbtool::testing
