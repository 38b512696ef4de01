// The host's one error type: a message for the user plus the process exit code it maps to.
// Plugin errors arrive as dbtool_error values and are converted to this at the loader edge.
#pragma once

#include <stdexcept>
#include <string>
#include <string_view>

namespace dbtool {

enum class ExitCode : int {
  kOk = 0,
  kFailure = 1,     // the operation failed; nothing was changed unless the message says so
  kUsage = 2,       // bad command line, bad option value, bad schema or config file
  kRefused = 3,     // the user (or the absence of --yes without a terminal) declined
  kDataError = 4,   // the source data could not be mapped (records rejected)
  kCancelled = 130  // Ctrl-C
};

// `text` with every control character but newline and tab written as \xNN, so input quoted
// in a message (an export's ESC sequences, a server's reply) cannot drive the terminal.
inline std::string escape_controls(std::string_view text) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(text.size());
  for (unsigned char c : text) {
    if ((c < 0x20 && c != '\n' && c != '\t') || c == 0x7f) {
      out += "\\x";
      out += kHex[c >> 4];
      out += kHex[c & 0xf];
    } else {
      out += static_cast<char>(c);
    }
  }
  return out;
}

// Messages are escaped once, here, since so many of them quote input.
class Error : public std::runtime_error {
 public:
  explicit Error(const std::string& message, ExitCode code = ExitCode::kFailure)
      : std::runtime_error(escape_controls(message)), code_(code) {}
  ExitCode code() const { return code_; }

 private:
  ExitCode code_;
};

}  // namespace dbtool
