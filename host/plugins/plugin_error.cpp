// Plugin errors become host errors with every fact the plugin gave (SQLSTATE, vendor code,
// HTTP status), so the user sees one consistent message shape.
#include "plugins/plugin_error.hpp"

#include "util/error.hpp"

namespace dbtool {

const char* status_name(dbtool_status status) {
  switch (status) {
    case DBTOOL_OK:
      return "ok";
    case DBTOOL_ERR_INVALID_ARGUMENT:
      return "invalid argument";
    case DBTOOL_ERR_NOT_SUPPORTED:
      return "not supported";
    case DBTOOL_ERR_INCOMPATIBLE:
      return "incompatible";
    case DBTOOL_ERR_IO:
      return "I/O error";
    case DBTOOL_ERR_NOT_FOUND:
      return "not found";
    case DBTOOL_ERR_ALREADY_EXISTS:
      return "already exists";
    case DBTOOL_ERR_CONSTRAINT:
      return "constraint violation";
    case DBTOOL_ERR_DATA:
      return "bad data";
    case DBTOOL_ERR_AUTH:
      return "authentication failed";
    case DBTOOL_ERR_NETWORK:
      return "network error";
    case DBTOOL_ERR_TIMEOUT:
      return "timeout";
    case DBTOOL_ERR_CANCELLED:
      return "cancelled";
    case DBTOOL_ERR_BACKEND:
      return "database error";
    case DBTOOL_ERR_INTERNAL:
      return "internal error";
    case DBTOOL_ERR_CONFLICT:
      return "the target changed during the run";
    default:
      return "error";
  }
}

void throw_plugin_error(const std::string& plugin, const std::string& what, dbtool_status status,
                        const PluginErrorHolder& err) {
  // A call the backend interrupted (Ctrl-C reached its cancel, or it polled the flag) says so
  // first, whatever the server's own words for it are.
  std::string msg = plugin + ": " + what + (status == DBTOOL_ERR_CANCELLED ? " cancelled: " : " failed: ") +
                    err.message_or(status_name(status));
  std::string facts;
  if (err.e.sqlstate[0] != '\0') facts += std::string("SQLSTATE ") + err.e.sqlstate;
  if (err.e.vendor_code != 0)
    facts += (facts.empty() ? "" : ", ") + std::string("code ") + std::to_string(err.e.vendor_code);
  if (err.e.http_status != 0)
    facts += (facts.empty() ? "" : ", ") + std::string("HTTP ") + std::to_string(err.e.http_status);
  if (!facts.empty()) msg += " [" + facts + "]";
  throw Error(msg, status == DBTOOL_ERR_CANCELLED          ? ExitCode::kCancelled
                   : status == DBTOOL_ERR_INVALID_ARGUMENT ? ExitCode::kUsage
                   : status == DBTOOL_ERR_CONFLICT         ? ExitCode::kRefused
                                                           : ExitCode::kFailure);
}

}  // namespace dbtool
