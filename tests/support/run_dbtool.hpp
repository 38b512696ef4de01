// Test support: run the real dbtool binary as a user would (no terminal on stdin), and small
// helpers for temporary folders and file contents.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <vector>

// A suite may be written inside this namespace, so that its helpers need no using-declarations.
namespace dbtool::testing {

namespace fs = std::filesystem;

struct RunResult {
  int exit_code = -1;  // 128 + signal when killed
  std::string out;
  std::string err;
};

// Runs `dbtool args...` with the extra environment `env` (an empty value unsets the variable)
// in `cwd` (default: the current folder). stdin is /dev/null.
RunResult run_dbtool(const std::vector<std::string>& args, const std::map<std::string, std::string>& env = {},
                     const std::filesystem::path& cwd = {});

// The same for any program (a bare name is looked up in PATH).
RunResult run_program(const std::filesystem::path& program, const std::vector<std::string>& args,
                      const std::map<std::string, std::string>& env = {}, const std::filesystem::path& cwd = {});

// A program started in the background, for a test that signals it while it runs. Destroyed
// while the program still runs, it kills it (SIGKILL) and reaps it.
class RunningProgram {
 public:
  RunningProgram(pid_t pid, std::filesystem::path output_dir) : pid_(pid), dir_(std::move(output_dir)) {}
  RunningProgram(const RunningProgram&) = delete;
  RunningProgram& operator=(const RunningProgram&) = delete;
  ~RunningProgram();

  pid_t pid() const { return pid_; }
  // The result once the program ended within `timeout`; nullopt while it still runs.
  std::optional<RunResult> wait_for(std::chrono::milliseconds timeout);
  RunResult wait();

 private:
  RunResult finish(int status);
  pid_t pid_;
  std::filesystem::path dir_;
  bool reaped_ = false;
};

// run_dbtool and run_program, without waiting.
RunningProgram start_dbtool(const std::vector<std::string>& args, const std::map<std::string, std::string>& env = {},
                            const std::filesystem::path& cwd = {});
RunningProgram start_program(const std::filesystem::path& program, const std::vector<std::string>& args,
                             const std::map<std::string, std::string>& env = {}, const std::filesystem::path& cwd = {});

// A fresh empty folder under the system temp folder, removed by the caller (or left for
// post-mortem when a test fails).
std::filesystem::path make_temp_dir(const std::string& prefix);

std::string read_bytes(const std::filesystem::path& file);
void write_bytes(const std::filesystem::path& file, const std::string& bytes);

// Paths fixed at build time.
std::filesystem::path dbtool_binary();
std::filesystem::path source_dir();
std::filesystem::path fixtures_dir();

}  // namespace dbtool::testing
