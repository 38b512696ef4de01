// The services the host hands every plugin (logging, progress, cancellation), and the host's
// own logger: one path for every line dbtool prints besides command output.
#pragma once

#include <dbtool/plugin.h>

#include <cstdint>
#include <string_view>

namespace dbtool {

enum class Verbosity { kQuiet, kNormal, kVerbose };

// Process-wide settings of the log path; set once from the command line.
void set_verbosity(Verbosity v);
Verbosity verbosity();

// Progress of long work (the host's own, and the plugins' through the progress service): a live
// line on a terminal (phase, amount, rate, ETA when the total is known), one plain line every
// DBTOOL_PROGRESS_INTERVAL seconds (default 5) otherwise, nothing with --quiet. `total` < 0
// when unknown. Thread-safe and cheap enough to call per batch.
void report_progress(std::string_view phase, int64_t done, int64_t total);
// Clears the live line (before command output) and forgets the phase.
void end_progress();

void log_debug(std::string_view message);
void log_info(std::string_view message);
void log_warn(std::string_view message);
void log_error(std::string_view message);

// Sends every log line (the host's and the plugins') to `sink` instead of stderr; nullptr goes
// back to stderr. For a harness that must tell a plugin's own writes to stderr, which the
// contract forbids, from lines it logged properly. Set before plugins run.
using LogSink = void (*)(int32_t level, std::string_view message);
void set_log_sink(LogSink sink);

// Ctrl-C (or SIGTERM) sets the flag that plugins poll through is_cancelled, and wakes a watcher
// thread that calls `cancel` once on every open session of a backend announcing
// DBTOOL_CAP_CANCEL (session_cancels(), plugins/cancel_registry.hpp), so a call blocked in the
// database is interrupted too. The second Ctrl-C is left to the default handler, so a stuck
// process can still be stopped.
void install_cancel_handler();
bool cancel_requested();
void request_cancel();  // as a signal would, for tests and timeouts

// The table passed to plugins at init; valid for the life of the process.
const dbtool_host_services* host_services();

}  // namespace dbtool
