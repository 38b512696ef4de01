// Host services: logs go to stderr (stdout is for results and --json); progress is a live line
// on a terminal and a plain line every few seconds in a log; cancellation is a flag set by
// SIGINT/SIGTERM, which also wakes the thread that cancels the open backend sessions.
#include "plugins/host_services.hpp"

#include "plugins/cancel_registry.hpp"
#include "util/error.hpp"

#include <fcntl.h>
#include <pthread.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <mutex>
#include <string>
#include <system_error>
#include <thread>

namespace dbtool {
namespace {

std::atomic<int> g_verbosity{static_cast<int>(Verbosity::kNormal)};
std::atomic<bool> g_cancelled{false};
std::mutex g_out_mutex;
bool g_progress_drawn = false;  // guarded by g_out_mutex
std::atomic<LogSink> g_sink{nullptr};

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
  if (LogSink sink = g_sink.load()) {
    sink(level, message);
    return;
  }
  const char* prefix = level == DBTOOL_LOG_WARN    ? "warning: "
                       : level == DBTOOL_LOG_ERROR ? "error: "
                       : level == DBTOOL_LOG_DEBUG ? "debug: "
                                                   : "";
  const std::string text = escape_controls(message);  // plugins quote input too
  std::lock_guard<std::mutex> lock(g_out_mutex);
  clear_progress_locked();
  std::fprintf(stderr, "%s%s\n", prefix, text.c_str());
}

void service_log(void*, int32_t level, const char* message) { write_line(level, message == nullptr ? "" : message); }

// The phase being reported, so rate and ETA are measured from its start. Guarded by g_out_mutex.
struct ProgressState {
  std::string phase;
  std::chrono::steady_clock::time_point started, last_drawn;
  bool drawn_once = false;
};
ProgressState g_progress;

// Bytes for transfers, plain counts (rows, pages) for the rest.
std::string amount(std::string_view phase, double n) {
  char buf[32];
  if (phase == "download" || phase == "read") {
    const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
    int u = 0;
    while (n >= 1024 && u < 4) n /= 1024, ++u;
    std::snprintf(buf, sizeof(buf), u == 0 ? "%.0f %s" : "%.1f %s", n, units[u]);
  } else {
    std::snprintf(buf, sizeof(buf), "%.0f", n);
  }
  return buf;
}

std::string duration(double seconds) {
  char buf[32];
  long s = std::lround(seconds);
  if (s >= 3600)
    std::snprintf(buf, sizeof(buf), "%ldh%02ldm", s / 3600, s / 60 % 60);
  else
    std::snprintf(buf, sizeof(buf), "%ldm%02lds", s / 60, s % 60);
  return buf;
}

// How often a line goes to a log (not a terminal): DBTOOL_PROGRESS_INTERVAL seconds, default 5.
double log_interval() {
  static const double v = [] {
    const char* e = std::getenv("DBTOOL_PROGRESS_INTERVAL");
    char* end = nullptr;
    double d = e ? std::strtod(e, &end) : 5.0;
    return e && end != e && d >= 0 ? d : 5.0;
  }();
  return v;
}

void draw_progress(std::string_view phase, int64_t done, int64_t total) {
  if (static_cast<Verbosity>(g_verbosity.load()) == Verbosity::kQuiet) return;
  static const bool tty = isatty(STDERR_FILENO) == 1;
  const auto now = std::chrono::steady_clock::now();
  std::lock_guard<std::mutex> lock(g_out_mutex);
  const bool new_phase = g_progress.phase != phase;
  if (new_phase) {
    g_progress.phase = std::string(phase);
    g_progress.started = now;
    g_progress.drawn_once = false;
  }
  // A terminal is redrawn ten times a second at most; a log gets a line every few seconds, so
  // the cost stays a clock read per call.
  const double since = std::chrono::duration<double>(now - g_progress.last_drawn).count();
  const bool finished = total > 0 && done >= total;
  const double elapsed = std::chrono::duration<double>(now - g_progress.started).count();
  if (tty ? (!new_phase && !finished && since < 0.1)
          : (elapsed < log_interval() || (g_progress.drawn_once && since < log_interval())))
    return;
  g_progress.last_drawn = now;
  g_progress.drawn_once = true;
  std::string line = std::string(phase) + ": " + amount(phase, static_cast<double>(done));
  if (total > 0)
    line += " / " + amount(phase, static_cast<double>(total)) + " (" + std::to_string(done * 100 / total) + "%)";
  else if (phase == "load")
    line += " rows";
  if (elapsed >= 0.5 && done > 0) {
    const double rate = static_cast<double>(done) / elapsed;
    line += ", " + amount(phase, rate) + "/s";
    if (total > done) line += ", ETA " + duration(static_cast<double>(total - done) / rate);
  }
  if (tty) {
    std::fprintf(stderr, "\r\033[K%s", line.c_str());
    g_progress_drawn = true;
  } else {
    std::fprintf(stderr, "%s\n", line.c_str());
  }
}

void service_progress(void*, const char* phase, int64_t done, int64_t total) {
  draw_progress(phase ? phase : "", done, total);
}

int32_t service_is_cancelled(void*) { return g_cancelled.load() ? 1 : 0; }

// The write end of the pipe that wakes the cancel watcher; -1 until install_cancel_handler().
// A lock-free atomic, so the signal handler may read it.
std::atomic<int> g_wake_fd{-1};
static_assert(std::atomic<int>::is_always_lock_free);

// Async-signal-safe: one non-blocking write. A full pipe means a wake-up is pending already.
void wake_watcher() {
  const int fd = g_wake_fd.load();
  if (fd < 0) return;
  const int saved = errno;
  const char byte = 1;
  [[maybe_unused]] ssize_t n = ::write(fd, &byte, 1);
  errno = saved;
}

void on_signal(int) {
  g_cancelled.store(true);
  wake_watcher();
  // Restore the default so a second Ctrl-C ends a process that stopped polling.
  std::signal(SIGINT, SIG_DFL);
  std::signal(SIGTERM, SIG_DFL);
}

// The cancel watcher: sleeps on the pipe; each wake-up cancels every registered session that
// was not cancelled yet (plugins' cancel is called here, never in the signal handler).
void watch_for_cancel(int read_fd) {
  for (;;) {
    char buf[64];
    const ssize_t n = ::read(read_fd, buf, sizeof(buf));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return;
    if (g_cancelled.load()) session_cancels().cancel_all();
  }
}

void start_watcher() {
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) {
    log_warn("cannot start the cancel watcher (pipe failed); Ctrl-C stops the run between steps only");
    return;
  }
  ::fcntl(fds[1], F_SETFL, O_NONBLOCK);
  // The watcher never takes the signals itself: they keep interrupting the main thread as before.
  sigset_t block, old;
  sigemptyset(&block);
  sigaddset(&block, SIGINT);
  sigaddset(&block, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &block, &old);
  try {
    std::thread(watch_for_cancel, fds[0]).detach();
    g_wake_fd.store(fds[1]);
  } catch (const std::system_error&) {
    ::close(fds[0]);
    ::close(fds[1]);
    log_warn("cannot start the cancel watcher (no thread); Ctrl-C stops the run between steps only");
  }
  pthread_sigmask(SIG_SETMASK, &old, nullptr);
}

}  // namespace

void set_log_sink(LogSink sink) { g_sink.store(sink); }
void set_verbosity(Verbosity v) { g_verbosity.store(static_cast<int>(v)); }
Verbosity verbosity() { return static_cast<Verbosity>(g_verbosity.load()); }

void report_progress(std::string_view phase, int64_t done, int64_t total) { draw_progress(phase, done, total); }

void end_progress() {
  std::lock_guard<std::mutex> lock(g_out_mutex);
  clear_progress_locked();
  g_progress = ProgressState{};
}

void log_debug(std::string_view m) { write_line(DBTOOL_LOG_DEBUG, m); }
void log_info(std::string_view m) { write_line(DBTOOL_LOG_INFO, m); }
void log_warn(std::string_view m) { write_line(DBTOOL_LOG_WARN, m); }
void log_error(std::string_view m) { write_line(DBTOOL_LOG_ERROR, m); }

void install_cancel_handler() {
  static std::once_flag started;
  std::call_once(started, start_watcher);
  std::signal(SIGINT, on_signal);
  std::signal(SIGTERM, on_signal);
}
bool cancel_requested() { return g_cancelled.load(); }
void request_cancel() {
  g_cancelled.store(true);
  wake_watcher();
}

const dbtool_host_services* host_services() {
  static const dbtool_host_services services = {
      sizeof(dbtool_host_services), DBTOOL_ABI_VERSION, nullptr, service_log, service_progress, service_is_cancelled};
  return &services;
}

}  // namespace dbtool
