// The contract dbtool keeps with scripts: exit codes, and with --json exactly one JSON document
// on stdout per run ({"format": 1, "ok": true, ...} or {"format": 1, "ok": false, "error": ...}).
#pragma once

#include "util/error.hpp"

#include <boost/json.hpp>

#include <string>

namespace dbtool {

// Bumped only when a field changes meaning or goes away; new fields may appear at any time.
inline constexpr int kJsonFormat = 1;

// The exit-code table as --help and the README show it.
extern const char* const kExitCodeTable;

// The stable name of an exit code in a JSON error ("failed", "usage", "refused", ...).
const char* exit_code_name(ExitCode code);

// Whether this run answers in JSON: set by any command's --json flag, or found in argv when the
// command line did not parse far enough to set it.
void set_json_output(bool on);
bool json_output();

// `v` as JSON text with every number written as a plain decimal (never 2.996872E-1), so any
// JSON reader and a human both read it the same way.
std::string to_json_text(const boost::json::value& v);

// The success document: {"format": 1, "ok": true} followed by the fields of `report`.
void print_json(const boost::json::object& report);

// The failure document: {"format": 1, "ok": false, "error": {"code", "message", "exit"}},
// followed by the fields of `details` (what a command found before it failed).
void print_json_error(ExitCode code, const std::string& message, const boost::json::object& details = {});

// Whether this run has printed its one document already (then main prints no second one).
bool json_document_printed();

}  // namespace dbtool
