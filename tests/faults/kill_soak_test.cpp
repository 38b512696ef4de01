// The kill soak: dbtool is killed (SIGKILL, as by the OOM killer or a power cut) at every step
// boundary (the fault points of host/util/fault.hpp) and at random moments of each destructive
// command, on each backend. After every kill the target holds either exactly the old data
// (SQLite: byte-identical; MariaDB: row-identical) or the complete new data, and the next run
// succeeds. DBTOOL_SOAK_KILLS random kills per command and backend (default 2).
#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <spawn.h>
#include <sqlite3.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <functional>
#include <random>
#include <thread>

#include "run_dbtool.hpp"
#include "test_servers.hpp"

extern char** environ;

namespace dbtool {
namespace {
namespace fs = std::filesystem;
using testing::read_bytes;
using testing::run_dbtool;

// The step boundaries of init and migrate (rebuild); restore has the first and its own last one
// (before the one swap of a restore stage; after the backend's swap on the rebuild path).
const std::vector<std::string> kRebuildPoints = {"after-backup", "after-stage", "mid-load", "after-load",
                                                 "before-commit"};

int random_kills() {
  const char* n = std::getenv("DBTOOL_SOAK_KILLS");
  return n ? std::atoi(n) : 2;
}

// Starts dbtool with `env` added, kills it with SIGKILL after `delay` (unless it ended), and
// returns its wait status.
int run_and_kill(const std::vector<std::string>& args, const std::map<std::string, std::string>& env,
                 std::chrono::microseconds delay) {
  std::vector<std::string> storage = {testing::dbtool_binary().string()};
  storage.insert(storage.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (auto& a : storage) argv.push_back(a.data());
  argv.push_back(nullptr);
  std::vector<std::string> envs;
  for (char** e = environ; *e; ++e) envs.emplace_back(*e);
  for (const auto& [k, v] : env) envs.push_back(k + "=" + v);
  std::vector<char*> envp;
  for (auto& e : envs) envp.push_back(e.data());
  envp.push_back(nullptr);
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
  posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
  pid_t pid = -1;
  EXPECT_EQ(posix_spawn(&pid, argv[0], &fa, nullptr, argv.data(), envp.data()), 0);
  posix_spawn_file_actions_destroy(&fa);
  int status = 0;
  const auto deadline = std::chrono::steady_clock::now() + delay;
  while (std::chrono::steady_clock::now() < deadline) {
    if (::waitpid(pid, &status, WNOHANG) == pid) return status;  // it ended (or died) first
    std::this_thread::sleep_for(std::min<std::chrono::microseconds>(std::chrono::microseconds(500), delay));
  }
  ::kill(pid, SIGKILL);
  ::waitpid(pid, &status, 0);
  return status;
}

// One backend's view of a target: its whole content, and its user count.
struct Backend {
  std::string name;
  std::vector<std::string> target_args;  // --db ... --backup-dir ...
  std::map<std::string, std::string> env;
  std::function<std::string()> content;  // byte- or row-exact
  std::function<int64_t()> users;        // -1 when there is no users table
};

// Runs one command under every kill and checks the promise after each: the target holds what
// it held before the kill, or the complete result of the command; the next run succeeds.
void soak(const Backend& b, const std::string& label, const std::vector<std::string>& command, int64_t new_users,
          bool replaces, const std::vector<std::string>& points) {
  SCOPED_TRACE(b.name + " " + label);
  std::vector<std::string> args = command;
  args.insert(args.end(), b.target_args.begin(), b.target_args.end());
  // An uninterrupted run, timed, so the random kills land inside the command.
  const auto t0 = std::chrono::steady_clock::now();
  auto ok = run_dbtool(args, b.env);
  const auto took = std::chrono::steady_clock::now() - t0;
  ASSERT_EQ(ok.exit_code, 0) << ok.err;
  if (replaces) {
    EXPECT_EQ(b.users(), new_users);
  }

  std::vector<std::pair<std::string, std::chrono::microseconds>> kills;
  for (const auto& p : points) kills.push_back({p + ":kill", std::chrono::seconds(120)});
  std::mt19937 rng(std::random_device{}());
  const auto span = std::chrono::duration_cast<std::chrono::microseconds>(took).count();
  for (int i = 0; i < random_kills(); ++i)
    kills.push_back({"", std::chrono::microseconds(static_cast<int64_t>(rng() % std::max<int64_t>(1, span)))});

  for (const auto& [fault, delay] : kills) {
    SCOPED_TRACE(fault.empty() ? "SIGKILL after " + std::to_string(delay.count()) + " us" : fault);
    const std::string before = b.content();
    auto env = b.env;
    if (!fault.empty()) env["DBTOOL_TEST_FAULT"] = fault;
    int status = run_and_kill(args, env, delay);
    if (!fault.empty()) {
      EXPECT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL) << "status " << status;
    }
    if (b.content() != before) {
      EXPECT_TRUE(replaces) << "a command that replaces nothing changed the target";
      EXPECT_EQ(b.users(), new_users) << "neither the old data nor the complete new data";
    }
    auto next = run_dbtool(args, b.env);
    EXPECT_EQ(next.exit_code, 0) << "the run after the kill failed: " << next.err;
    if (replaces) {
      EXPECT_EQ(b.users(), new_users);
    }
  }
}

std::vector<std::string> with(std::vector<std::string> args, const std::vector<std::string>& more) {
  args.insert(args.end(), more.begin(), more.end());
  return args;
}

// The commands of the soak, each against a target that holds other data than it will write.
void soak_all(const Backend& b) {
  const std::string export_file = (testing::fixtures_dir() / "sample-export.json").string();
  const std::vector<std::string> init = {"init", "--yes"};
  const std::vector<std::string> migrate = {"migrate", "--yes", "--json-file", export_file};
  auto r = run_dbtool(with(init, b.target_args), b.env);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const int64_t init_users = b.users();
  ASSERT_GT(init_users, 0);
  r = run_dbtool(with(migrate, b.target_args), b.env);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const int64_t export_users = b.users();
  ASSERT_NE(export_users, init_users);
  r = run_dbtool(with({"backup", "--json"}, b.target_args), b.env);  // of the export's data, for restore
  ASSERT_EQ(r.exit_code, 0) << r.err;
  size_t at = r.out.find("\"path\":\"");
  ASSERT_NE(at, std::string::npos) << r.out;
  at += 8;
  const std::string export_backup = r.out.substr(at, r.out.find('"', at) - at);

  soak(b, "init", init, init_users, true, kRebuildPoints);
  soak(b, "backup", {"backup"}, init_users, false, {});
  soak(b, "migrate", migrate, export_users, true, kRebuildPoints);
  r = run_dbtool(with(init, b.target_args), b.env);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  soak(b, "restore", {"restore", "--yes", export_backup}, export_users, true,
       {"after-backup", "before-history-commit"});
}

int64_t sqlite_users(const fs::path& db) {
  sqlite3* h = nullptr;
  int64_t n = -1;
  if (sqlite3_open_v2(db.c_str(), &h, SQLITE_OPEN_READONLY, nullptr) == SQLITE_OK) {
    sqlite3_stmt* st = nullptr;
    if (sqlite3_prepare_v2(h, "SELECT count(*) FROM users", -1, &st, nullptr) == SQLITE_OK &&
        sqlite3_step(st) == SQLITE_ROW)
      n = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
  }
  sqlite3_close(h);
  return n;
}

TEST(KillSoak, SqliteKeepsTheOldDataOrHasTheNewAndTheNextRunSucceeds) {
  fs::path dir = testing::make_temp_dir("dbtool-soak");
  fs::path db = dir / "app.db";
  Backend b;
  b.name = "sqlite";
  b.target_args = {"--db", db.string()};
  b.env = {{"DBTOOL_DEFAULT_PASSWORD", "x"}};
  b.content = [db] { return read_bytes(db); };
  b.users = [db] { return sqlite_users(db); };
  soak_all(b);
  if (!::testing::Test::HasFailure()) fs::remove_all(dir);
}

// Every row of every table of `database`, through the server's socket as root.
std::string mysql_rows(const testing::MysqlServer& s, const std::string& database, const std::string& sql) {
  auto r =
      testing::run_program("mariadb", {"--no-defaults", "-uroot", "-S", s.socket, "-N", "-B", "-e", sql, database});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  return r.out;
}

std::string mysql_content(const testing::MysqlServer& s, const std::string& database) {
  std::string out;
  std::string tables = mysql_rows(s, database, "SHOW TABLES");
  for (size_t start = 0, end; (end = tables.find('\n', start)) != std::string::npos; start = end + 1) {
    std::string t = tables.substr(start, end - start);
    out += "== " + t + "\n" + mysql_rows(s, database, "SELECT * FROM `" + t + "` ORDER BY 1");
  }
  return out;
}

TEST(KillSoak, MariadbKeepsTheOldRowsOrHasTheNewAndTheNextRunSucceeds) {
  REQUIRE_MYSQL(server);
  ASSERT_FALSE(server->socket.empty()) << "the soak reads rows back as root over DBTOOL_TEST_MYSQL_SOCKET";
  fs::path dir = testing::make_temp_dir("dbtool-soak-mysql");
  const std::string uri = testing::fresh_database_uri(server->uri, "soak");
  const std::string database = testing::database_of(uri);
  mysql_rows(*server, "", "CREATE DATABASE `" + database + "`");
  Backend b;
  b.name = "mariadb";
  b.target_args = {"--db", uri, "--backup-dir", (dir / "backups").string()};
  b.env = {{"DBTOOL_DEFAULT_PASSWORD", "x"}, {"DBTOOL_DB_PASSWORD", server->password}};
  const testing::MysqlServer s = *server;
  b.content = [s, database] { return mysql_content(s, database); };
  b.users = [s, database] {
    std::string n = mysql_rows(s, database, "SELECT COUNT(*) FROM users");
    return n.empty() ? int64_t{-1} : std::stoll(n);
  };
  soak_all(b);
  mysql_rows(*server, "", "DROP DATABASE IF EXISTS `" + database + "`");
  if (!::testing::Test::HasFailure()) fs::remove_all(dir);
}

}  // namespace
}  // namespace dbtool
