// The host's one error type: a message for the user plus the process exit code it maps to.
// Plugin errors arrive as dbtool_error values and are converted to this at the loader edge.
#pragma once

#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>

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

// What a failure is known to have left of the target database.
enum class TargetState {
  kUnknown,    // nothing is claimed (the message says what happened)
  kUntouched,  // the target is exactly as it was, and the message says "nothing was changed"
};

// Messages are escaped once, here, since so many of them quote input.
class Error : public std::runtime_error {
 public:
  explicit Error(const std::string& message, ExitCode code = ExitCode::kFailure)
      : Error(escape_controls(message), code, TargetState::kUnknown) {}

  // A failure known to have left the target untouched, set where that fact is known. The one
  // place that words it: `message` + "; nothing was changed" (no "; " after a message that ends
  // a line), then `detail` (a hint or a listing, e.g. " (pass --allow-shrink ...)", ":\n  ...").
  static Error untouched(const std::string& message, ExitCode code = ExitCode::kFailure,
                         const std::string& detail = "") {
    return Error(escape_controls(with_untouched_note(message) + detail), code, TargetState::kUntouched);
  }

  ExitCode code() const { return code_; }
  TargetState target() const { return target_; }
  bool target_untouched() const { return target_ == TargetState::kUntouched; }

  // This failure, now known to have left the target untouched (it happened where the target
  // cannot have changed): the note is added unless the error already carries it.
  Error with_target_untouched() const {
    if (target_untouched()) return *this;
    return Error(with_untouched_note(what()), code_, TargetState::kUntouched);
  }

 private:
  Error(std::string escaped, ExitCode code, TargetState target)
      : std::runtime_error(std::move(escaped)), code_(code), target_(target) {}

  static std::string with_untouched_note(const std::string& message) {
    const bool line_ended = !message.empty() && message.back() == '\n';
    return message + (line_ended ? "" : "; ") + "nothing was changed";
  }

  ExitCode code_;
  TargetState target_;
};

}  // namespace dbtool
