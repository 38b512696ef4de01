// The services the host hands every plugin (logging, progress, cancellation), and the host's
// own logger: one path for every line dbtool prints besides command output.
#pragma once

#include <dbtool/plugin.h>

#include <string_view>

namespace dbtool {

enum class Verbosity { kQuiet, kNormal, kVerbose };

// Process-wide settings of the log path; set once from the command line.
void set_verbosity(Verbosity v);
Verbosity verbosity();

void log_debug(std::string_view message);
void log_info(std::string_view message);
void log_warn(std::string_view message);
void log_error(std::string_view message);

// Sends every log line (the host's and the plugins') to `sink` instead of stderr; nullptr goes
// back to stderr. For a harness that must tell a plugin's own writes to stderr, which the
// contract forbids, from lines it logged properly. Set before plugins run.
using LogSink = void (*)(int32_t level, std::string_view message);
void set_log_sink(LogSink sink);

// Ctrl-C sets the flag that plugins poll through is_cancelled. The second Ctrl-C is left to
// the default handler, so a stuck process can still be stopped.
void install_cancel_handler();
bool cancel_requested();
void request_cancel();  // for tests and timeouts

// The table passed to plugins at init; valid for the life of the process.
const dbtool_host_services* host_services();

}  // namespace dbtool
