// See run_dbtool.hpp.
#include "run_dbtool.hpp"

#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <csignal>
#include <cstdlib>
#include <fstream>
#include <random>
#include <sstream>
#include <stdexcept>
#include <thread>

namespace dbtool::testing {
namespace fs = std::filesystem;

fs::path dbtool_binary() { return DBTOOL_TEST_BINARY; }
fs::path source_dir() { return DBTOOL_TEST_SOURCE_DIR; }
fs::path fixtures_dir() { return source_dir() / "tests" / "fixtures"; }

std::string read_bytes(const fs::path& file) {
  std::ifstream in(file, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

void write_bytes(const fs::path& file, const std::string& bytes) {
  std::ofstream out(file, std::ios::binary | std::ios::trunc);
  out << bytes;
}

fs::path make_temp_dir(const std::string& prefix) {
  std::string name = prefix;  // one file name: a parameterised suite's "Shapes/Suite" has a slash
  std::replace(name.begin(), name.end(), '/', '-');
  std::random_device rd;
  for (int i = 0; i < 100; ++i) {
    fs::path p = fs::temp_directory_path() / (name + "-" + std::to_string(rd()));
    if (fs::create_directory(p)) return p;
  }
  throw std::runtime_error("cannot make a temp dir");
}

RunResult run_dbtool(const std::vector<std::string>& args, const std::map<std::string, std::string>& env,
                     const fs::path& cwd) {
  return run_program(dbtool_binary(), args, env, cwd);
}

RunResult run_program(const fs::path& program, const std::vector<std::string>& args,
                      const std::map<std::string, std::string>& env, const fs::path& cwd) {
  return start_program(program, args, env, cwd).wait();
}

RunningProgram start_dbtool(const std::vector<std::string>& args, const std::map<std::string, std::string>& env,
                            const fs::path& cwd) {
  return start_program(dbtool_binary(), args, env, cwd);
}

RunningProgram start_program(const fs::path& program, const std::vector<std::string>& args,
                             const std::map<std::string, std::string>& env, const fs::path& cwd) {
  fs::path tmp = make_temp_dir("dbtool-run");
  fs::path out_file = tmp / "out", err_file = tmp / "err";
  pid_t pid = fork();
  if (pid < 0) throw std::runtime_error("fork failed");
  if (pid == 0) {
    int in = open("/dev/null", O_RDONLY);
    int out = open(out_file.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    int err = open(err_file.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    dup2(in, 0);
    dup2(out, 1);
    dup2(err, 2);
    // Never let a test session's own settings leak into the binary under test.
    for (const char* v : {"DBTOOL_DB", "DBTOOL_BACKEND", "DBTOOL_SOURCE", "DBTOOL_JSON_FILE", "DBTOOL_LEGACY_URL",
                          "DBTOOL_LEGACY_UID", "DBTOOL_LEGACY_PASSWORD", "DBTOOL_DB_PASSWORD", "MYSQL_PWD",
                          "DBTOOL_SOURCE_DB_PASSWORD", "DBTOOL_DEFAULT_PASSWORD", "DBTOOL_BACKUP_DIR",
                          "DBTOOL_SCHEMA_DIR", "DBTOOL_PLUGIN_PATH", "DBTOOL_TEST_FAULT"})
      unsetenv(v);
    for (const auto& [k, v] : env) {
      if (v.empty())
        unsetenv(k.c_str());
      else
        setenv(k.c_str(), v.c_str(), 1);
    }
    if (!cwd.empty() && chdir(cwd.c_str()) != 0) _exit(126);
    std::vector<std::string> argv_s = {program.string()};
    argv_s.insert(argv_s.end(), args.begin(), args.end());
    std::vector<char*> argv;
    for (auto& s : argv_s) argv.push_back(s.data());
    argv.push_back(nullptr);
    execvp(argv[0], argv.data());
    _exit(127);
  }
  return RunningProgram(pid, tmp);
}

RunningProgram::~RunningProgram() {
  if (reaped_) return;
  ::kill(pid_, SIGKILL);
  int status = 0;
  ::waitpid(pid_, &status, 0);
  std::error_code ec;
  fs::remove_all(dir_, ec);
}

RunResult RunningProgram::finish(int status) {
  reaped_ = true;
  RunResult r;
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  r.out = read_bytes(dir_ / "out");
  r.err = read_bytes(dir_ / "err");
  fs::remove_all(dir_);
  return r;
}

std::optional<RunResult> RunningProgram::wait_for(std::chrono::milliseconds timeout) {
  if (reaped_) throw std::logic_error("the program was already waited for");
  const auto until = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    int status = 0;
    pid_t got = ::waitpid(pid_, &status, WNOHANG);
    if (got == pid_) return finish(status);
    if (got < 0) throw std::runtime_error("waitpid failed");
    if (std::chrono::steady_clock::now() >= until) return std::nullopt;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
}

RunResult RunningProgram::wait() {
  if (reaped_) throw std::logic_error("the program was already waited for");
  int status = 0;
  ::waitpid(pid_, &status, 0);
  return finish(status);
}

}  // namespace dbtool::testing
