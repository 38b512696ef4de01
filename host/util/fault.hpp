// Fault injection for the no-data-loss tests, in the spirit of SQLite's test hooks: when the
// environment variable DBTOOL_TEST_FAULT names a point ("after-backup", "mid-load",
// "before-commit", ...), the host fails there with an error, with "<point>:kill" dies by
// SIGKILL as a crash would, with "<point>:interrupt" gets SIGINT as from Ctrl-C, or with
// "<point>:pause" waits three seconds (to change a source mid-read). Unset, each point costs one getenv.
#pragma once

#include <string_view>

namespace dbtool {

void fault_point(std::string_view point);

}  // namespace dbtool
