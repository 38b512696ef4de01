// Conversion of a plugin's dbtool_error into the host's dbtool::Error, at the loader edge.
#pragma once

#include <dbtool/plugin.h>

#include <string>

namespace dbtool {

// Owns a dbtool_error filled by a plugin and releases it exactly once.
struct PluginErrorHolder {
  dbtool_error e{};
  PluginErrorHolder() = default;
  PluginErrorHolder(const PluginErrorHolder&) = delete;
  PluginErrorHolder& operator=(const PluginErrorHolder&) = delete;
  ~PluginErrorHolder() {
    if (e.release != nullptr) e.release(&e);
  }
  std::string message_or(const char* fallback) const {
    return e.message != nullptr && e.message[0] != '\0' ? std::string(e.message) : fallback;
  }
};

// Throws dbtool::Error: "<plugin>: <what> failed: <message> [SQLSTATE x, code n, HTTP s]".
[[noreturn]] void throw_plugin_error(const std::string& plugin, const std::string& what, dbtool_status status,
                                     const PluginErrorHolder& err);

// Status names for messages and reports ("constraint", "auth", ...).
const char* status_name(dbtool_status status);

}  // namespace dbtool
