// Host services: logs go to stderr (stdout is for results and --json), progress is drawn only
// on a terminal, cancellation is a flag set by SIGINT/SIGTERM.
#include "plugins/host_services.hpp"

#include "util/error.hpp"

#include <unistd.h>

#include <atomic>
#include <csignal>
#include <cstdio>
#include <mutex>
#include <string>

namespace dbtool {
namespace {

std::atomic<int> g_verbosity{static_cast<int>(Verbosity::kNormal)};
std::atomic<bool> g_cancelled{false};
std::mutex g_out_mutex;
bool g_progress_drawn = false;  // guarded by g_out_mutex

void clear_progress_locked() {
  if (g_progress_drawn) {
    std::fputs("\r\033[K", stderr);
    g_progress_drawn = false;
  }
}

void write_line(int32_t level, std::string_view message) {
  auto v = static_cast<Verbosity>(g_verbosity.load());
  if (level == DBTOOL_LOG_DEBUG && v != Verbosity::kVerbose) return;
  if (level == DBTOOL_LOG_INFO && v == Verbosity::kQuiet) return;
  const char* prefix = level == DBTOOL_LOG_WARN    ? "warning: "
                       : level == DBTOOL_LOG_ERROR ? "error: "
                       : level == DBTOOL_LOG_DEBUG ? "debug: "
                                                   : "";
  const std::string text = escape_controls(message);  // plugins quote input too
  std::lock_guard<std::mutex> lock(g_out_mutex);
  clear_progress_locked();
  std::fprintf(stderr, "%s%s\n", prefix, text.c_str());
}

void service_log(void*, int32_t level, const char* message) {
  write_line(level, message == nullptr ? "" : message);
}

void service_progress(void*, const char* phase, int64_t done, int64_t total) {
  if (static_cast<Verbosity>(g_verbosity.load()) == Verbosity::kQuiet) return;
  static const bool tty = isatty(STDERR_FILENO) == 1;
  if (!tty) return;
  std::lock_guard<std::mutex> lock(g_out_mutex);
  if (total > 0)
    std::fprintf(stderr, "\r\033[K%s: %lld / %lld (%d%%)", phase ? phase : "",
                 static_cast<long long>(done), static_cast<long long>(total),
                 static_cast<int>(done * 100 / total));
  else
    std::fprintf(stderr, "\r\033[K%s: %lld", phase ? phase : "", static_cast<long long>(done));
  g_progress_drawn = true;
}

int32_t service_is_cancelled(void*) { return g_cancelled.load() ? 1 : 0; }

void on_signal(int) {
  g_cancelled.store(true);
  // Restore the default so a second Ctrl-C ends a process that stopped polling.
  std::signal(SIGINT, SIG_DFL);
  std::signal(SIGTERM, SIG_DFL);
}

}  // namespace

void set_verbosity(Verbosity v) { g_verbosity.store(static_cast<int>(v)); }
Verbosity verbosity() { return static_cast<Verbosity>(g_verbosity.load()); }

void log_debug(std::string_view m) { write_line(DBTOOL_LOG_DEBUG, m); }
void log_info(std::string_view m) { write_line(DBTOOL_LOG_INFO, m); }
void log_warn(std::string_view m) { write_line(DBTOOL_LOG_WARN, m); }
void log_error(std::string_view m) { write_line(DBTOOL_LOG_ERROR, m); }

void install_cancel_handler() {
  std::signal(SIGINT, on_signal);
  std::signal(SIGTERM, on_signal);
}
bool cancel_requested() { return g_cancelled.load(); }
void request_cancel() { g_cancelled.store(true); }

const dbtool_host_services* host_services() {
  static const dbtool_host_services services = {
      sizeof(dbtool_host_services), DBTOOL_ABI_VERSION, nullptr,
      service_log, service_progress, service_is_cancelled};
  return &services;
}

}  // namespace dbtool
