// .env files, secrets, terminal prompts and timestamps.
#include "util/environment.hpp"

#include "util/error.hpp"

#include <termios.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <ctime>
#include <fstream>
#include <iostream>

namespace dbtool {

namespace {
std::string trim(const std::string& s) {
  size_t b = s.find_first_not_of(" \t\r");
  if (b == std::string::npos) return {};
  size_t e = s.find_last_not_of(" \t\r");
  return s.substr(b, e - b + 1);
}

std::string format_utc(const char* fmt) {
  std::time_t now = std::chrono::system_clock::to_time_t(std::chrono::system_clock::now());
  std::tm tm{};
  gmtime_r(&now, &tm);
  char buf[64];
  std::strftime(buf, sizeof(buf), fmt, &tm);
  return buf;
}
}  // namespace

void load_env_file(const std::filesystem::path& file) {
  std::error_code ec;
  if (!std::filesystem::exists(file, ec)) return;
  std::ifstream in(file);
  if (!in) throw Error("cannot read " + file.string(), ExitCode::kUsage);
  std::string line;
  int number = 0;
  while (std::getline(in, line)) {
    ++number;
    std::string t = trim(line);
    if (t.empty() || t[0] == '#') continue;
    if (t.rfind("export ", 0) == 0) t = trim(t.substr(7));
    size_t eq = t.find('=');
    if (eq == std::string::npos || eq == 0)
      throw Error(file.string() + ":" + std::to_string(number) + ": expected KEY=VALUE", ExitCode::kUsage);
    std::string key = trim(t.substr(0, eq));
    std::string value = trim(t.substr(eq + 1));
    if (value.size() >= 2 && (value.front() == '"' || value.front() == '\'') && value.back() == value.front())
      value = value.substr(1, value.size() - 2);
    else if (size_t hash = value.find(" #"); hash != std::string::npos)
      value = trim(value.substr(0, hash));
    if (key == "DBTOOL_PLUGIN_PATH")
      std::cerr << "warning: " << file.string() << ":" << number
                << ": DBTOOL_PLUGIN_PATH ignored: plugin folders come only from --plugin-dir, the real "
                   "environment or the config file, never from a .env file\n";
    if (!env_file_may_set(key)) continue;
    setenv(key.c_str(), value.c_str(), /*overwrite=*/0);
  }
}

bool env_file_may_set(const std::string& key) {
  if (key == "MYSQL_PWD") return true;
  if (key.rfind("DBTOOL_", 0) != 0) return false;
  return key != "DBTOOL_PLUGIN_PATH" && key.rfind("DBTOOL_TEST_", 0) != 0;
}

bool stdin_is_terminal() { return isatty(STDIN_FILENO) == 1; }

std::optional<std::string> find_secret(const std::vector<std::string>& names, const std::string& prompt,
                                       bool may_prompt) {
  for (const auto& n : names)
    if (const char* v = std::getenv(n.c_str()); v != nullptr && *v != '\0') return std::string(v);
  if (!may_prompt || !stdin_is_terminal()) return std::nullopt;
  std::cerr << prompt << ": " << std::flush;
  termios old{};
  bool restore = tcgetattr(STDIN_FILENO, &old) == 0;
  if (restore) {
    termios quiet = old;
    quiet.c_lflag &= ~static_cast<tcflag_t>(ECHO);
    tcsetattr(STDIN_FILENO, TCSANOW, &quiet);
  }
  std::string value;
  std::getline(std::cin, value);
  if (restore) tcsetattr(STDIN_FILENO, TCSANOW, &old);
  std::cerr << "\n";
  if (value.empty()) return std::nullopt;
  return value;
}

bool confirm(const std::string& question) {
  if (!stdin_is_terminal())
    throw Error(question + "\nrefusing without a terminal to ask on; pass --yes to go ahead", ExitCode::kRefused);
  std::cerr << question << " [y/N] " << std::flush;
  std::string answer;
  if (!std::getline(std::cin, answer)) return false;
  answer = trim(answer);
  return answer == "y" || answer == "Y" || answer == "yes" || answer == "YES";
}

std::string utc_stamp_compact() { return format_utc("%Y%m%dT%H%M%SZ"); }
std::string utc_stamp_iso() { return format_utc("%Y-%m-%dT%H:%M:%SZ"); }

std::string redact_uri(const std::string& uri) {
  size_t scheme = uri.find("://");
  if (scheme == std::string::npos) return uri;
  size_t start = scheme + 3;
  size_t at = uri.find('@', start);
  size_t slash = uri.find('/', start);
  if (at == std::string::npos || (slash != std::string::npos && slash < at)) return uri;
  size_t colon = uri.find(':', start);
  if (colon == std::string::npos || colon > at) return uri;
  return uri.substr(0, colon + 1) + "***" + uri.substr(at);
}

void refuse_credentials_in_uri(const std::string& uri, const std::string& option, const std::string& instead,
                               bool no_user) {
  size_t scheme = uri.find("://");
  if (scheme == std::string::npos) return;
  size_t start = scheme + 3;
  size_t end = uri.find_first_of("/?#", start);
  std::string authority = uri.substr(start, end == std::string::npos ? std::string::npos : end - start);
  size_t at = authority.rfind('@');
  if (at == std::string::npos) return;
  bool password = authority.find(':') < at;
  if (!password && !no_user) return;
  throw Error(std::string("do not put ") + (password ? "a password" : "credentials") + " in " + option +
                  " (it would show in the process list, the report and the run history): " + redact_uri(uri) + "; " +
                  instead,
              ExitCode::kUsage);
}

}  // namespace dbtool
