// The host's one error type: a message for the user plus the process exit code it maps to.
// Plugin errors arrive as dbtool_error values and are converted to this at the loader edge.
#pragma once

#include <stdexcept>
#include <string>

namespace dbtool {

enum class ExitCode : int {
  kOk = 0,
  kFailure = 1,     // the operation failed; nothing was changed unless the message says so
  kUsage = 2,       // bad command line, bad option value, bad schema or config file
  kRefused = 3,     // the user (or the absence of --yes without a terminal) declined
  kDataError = 4,   // the source data could not be mapped (records rejected)
  kCancelled = 130  // Ctrl-C
};

class Error : public std::runtime_error {
 public:
  explicit Error(const std::string& message, ExitCode code = ExitCode::kFailure)
      : std::runtime_error(message), code_(code) {}
  ExitCode code() const { return code_; }

 private:
  ExitCode code_;
};

}  // namespace dbtool
