// Fault injection for the no-data-loss tests, in the spirit of SQLite's test hooks: when the
// environment variable DBTOOL_TEST_FAULT names a point ("after-backup", "mid-load",
// "before-commit", ...), the host fails there with an error, with "<point>:kill" dies by
// SIGKILL as a crash would, or with "<point>:interrupt" gets SIGINT as from Ctrl-C. With
// "<point>:pause" it creates the file DBTOOL_TEST_PAUSE_FILE names and waits (at most a minute)
// until the test removes it, so a test can act at that moment (e.g. write to the target).
// Unset, each point costs one getenv.
#pragma once

#include <string_view>

namespace dbtool {

void fault_point(std::string_view point);

}  // namespace dbtool
