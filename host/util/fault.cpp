// See fault.hpp.
#include "util/fault.hpp"

#include "util/error.hpp"

#include <chrono>
#include <csignal>
#include <cstdlib>
#include <string>
#include <thread>

namespace dbtool {

void fault_point(std::string_view point) {
  const char* spec = std::getenv("DBTOOL_TEST_FAULT");
  if (spec == nullptr) return;
  std::string_view s(spec);
  if (s == point) throw Error("injected fault at " + std::string(point) + " (DBTOOL_TEST_FAULT)");
  if (s.substr(0, point.size()) != point) return;
  if (s.substr(point.size()) == ":kill") std::raise(SIGKILL);
  if (s.substr(point.size()) == ":interrupt") std::raise(SIGINT);  // as if the user pressed Ctrl-C
  // Holds the run still for a moment, so a test can change a source database mid-read.
  if (s.substr(point.size()) == ":pause") std::this_thread::sleep_for(std::chrono::seconds(3));
}

}  // namespace dbtool
