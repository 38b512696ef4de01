// See fault.hpp.
#include "util/fault.hpp"

#include "util/error.hpp"

#include <chrono>
#include <csignal>
#include <cstdlib>
#include <filesystem>
#include <fstream>
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
  if (s.substr(point.size()) == ":pause") {
    const char* file = std::getenv("DBTOOL_TEST_PAUSE_FILE");
    if (file == nullptr) throw Error("DBTOOL_TEST_FAULT=" + std::string(s) + " needs DBTOOL_TEST_PAUSE_FILE");
    std::ofstream(file).put('\n');
    for (int i = 0; i < 6000 && std::filesystem::exists(file); ++i)
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
}

}  // namespace dbtool
