// dbtool-conformance: the backend conformance suite as an installed program, for a third
// party's backend .so. Its options set the DBTOOL_CONFORMANCE_* variables the suite reads
// (README.md beside this file); GoogleTest options such as --gtest_filter pass through.
#include <gtest/gtest.h>

#include <cstdlib>
#include <cstring>
#include <iostream>
#include <string>
#include <vector>

namespace {

const char* kUsage =
    "usage: dbtool-conformance --plugin PATH --uri-template URI [--quirks FILE] [--gtest_filter=...]\n"
    "\n"
    "Runs every conformance test against the backend plugin at PATH, each on a fresh database:\n"
    "the {db} in URI becomes a new name per test (the suite never drops what it creates; use a\n"
    "throwaway server or folder). The password, if the database needs one, comes from the\n"
    "environment variable DBTOOL_CONFORMANCE_PASSWORD, never from the command line.\n"
    "\n"
    "  --plugin PATH         the backend .so (libdbtool-NAME.so)\n"
    "  --uri-template URI    NAME://... holding {db}, e.g. yourdb://app@127.0.0.1:5432/{db}\n"
    "  --quirks FILE         JSON object of what may differ between backends (README of the suite)\n"
    "\n"
    "Example:\n"
    "  dbtool-conformance --plugin build/libdbtool-template.so \\\n"
    "      --uri-template 'template:///tmp/conformance/{db}.db' --quirks quirks.json\n";

}  // namespace

int main(int argc, char** argv) {
  std::vector<char*> rest = {argv[0]};
  const std::pair<const char*, const char*> options[] = {{"--plugin", "DBTOOL_CONFORMANCE_PLUGIN"},
                                                         {"--uri-template", "DBTOOL_CONFORMANCE_URI"},
                                                         {"--quirks", "DBTOOL_CONFORMANCE_QUIRKS"}};
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--help" || arg == "-h") {
      std::cout << kUsage;
      return 0;
    }
    bool known = false;
    for (const auto& [flag, variable] : options) {
      if (arg != flag) continue;
      if (i + 1 >= argc) {
        std::cerr << "dbtool-conformance: " << flag << " needs a value\n\n" << kUsage;
        return 2;
      }
      ::setenv(variable, argv[++i], 1);
      known = true;
    }
    if (!known) {
      if (arg.rfind("--gtest_", 0) != 0) {
        std::cerr << "dbtool-conformance: unknown option " << arg << "\n\n" << kUsage;
        return 2;
      }
      rest.push_back(argv[i]);
    }
  }
  for (const char* needed : {"DBTOOL_CONFORMANCE_PLUGIN", "DBTOOL_CONFORMANCE_URI"}) {
    const char* v = std::getenv(needed);
    if (v == nullptr || *v == '\0') {
      std::cerr << "dbtool-conformance: --plugin and --uri-template are required\n\n" << kUsage;
      return 2;
    }
  }
  int count = static_cast<int>(rest.size());
  rest.push_back(nullptr);
  ::testing::InitGoogleTest(&count, rest.data());
  return RUN_ALL_TESTS();
}
