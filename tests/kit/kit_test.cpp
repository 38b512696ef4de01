// The backend kit as a third party uses it: dbtool installed into a prefix, the installed
// template copied and built against that prefix alone (find_package(dbtool)), the installed
// conformance suite passed, and a real init -> migrate -> migrate -> backup -> restore cycle
// served by the installed dbtool through the new backend.
#include <gtest/gtest.h>

#include <sqlite3.h>
#include <boost/json.hpp>

#include "run_dbtool.hpp"

namespace dbtool {
namespace {
namespace fs = std::filesystem;
namespace json = boost::json;
using testing::run_program;

// One integer from a query on a SQLite file (the template keeps SQLite files), -1 on error.
int64_t query_int(const fs::path& db, const std::string& sql) {
  sqlite3* c = nullptr;
  int64_t n = -1;
  if (sqlite3_open_v2(db.c_str(), &c, SQLITE_OPEN_READONLY, nullptr) == SQLITE_OK) {
    sqlite3_stmt* st = nullptr;
    if (sqlite3_prepare_v2(c, sql.c_str(), -1, &st, nullptr) == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW)
      n = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
  }
  sqlite3_close(c);
  return n;
}

class BackendKit : public ::testing::Test {
 protected:
  // Installing and building once serves every test. A failure here is kept and reported by
  // each test as a failure (an assertion in SetUpTestSuite would only mark them skipped).
  static void SetUpTestSuite() {
    dir_ = new fs::path(testing::make_temp_dir("dbtool-kit"));
    setup_error_ = new std::string(prepare());
  }
  static std::string prepare() {
    const fs::path prefix = *dir_ / "prefix", copy = *dir_ / "my-backend", build = *dir_ / "build";
    auto r = run_program(DBTOOL_TEST_CMAKE, {"--install", DBTOOL_TEST_BUILD_DIR, "--prefix", prefix.string()});
    if (r.exit_code != 0) return "cmake --install failed: " + r.out + r.err;
    for (const char* installed : {"bin/dbtool-conformance", "lib/cmake/dbtool/dbtoolConfig.cmake",
                                  "include/dbtool/sdk/plugin.hpp", "share/dbtool/backend-template/README.md"})
      if (!fs::exists(prefix / installed)) return std::string(installed) + " is not installed";
    // Step 1 of the README: copy the installed template.
    fs::copy(prefix / "share" / "dbtool" / "backend-template", copy, fs::copy_options::recursive);
    r = run_program(DBTOOL_TEST_CMAKE, {"-S", copy.string(), "-B", build.string(), "-G", DBTOOL_TEST_CMAKE_GENERATOR,
                                        "-DCMAKE_PREFIX_PATH=" + prefix.string()});
    if (r.exit_code != 0) return "configuring the template failed: " + r.out + r.err;
    r = run_program(DBTOOL_TEST_CMAKE, {"--build", build.string()});
    if (r.exit_code != 0) return "building the template failed: " + r.out + r.err;
    if (!fs::exists(build / "libdbtool-template.so")) return "the template build made no libdbtool-template.so";
    return "";
  }
  static void TearDownTestSuite() {
    if (setup_error_->empty()) fs::remove_all(*dir_);
    delete dir_;
    delete setup_error_;
  }
  void SetUp() override { ASSERT_EQ(*setup_error_, "") << "installing dbtool or building the template failed"; }

  testing::RunResult dbtool(std::vector<std::string> args) {
    args.insert(args.begin(), {"--plugin-dir", (*dir_ / "build").string()});
    return run_program(*dir_ / "prefix" / "bin" / "dbtool", args, {{"DBTOOL_DEFAULT_PASSWORD", "Test-Default-1"}},
                       *dir_);
  }

  static fs::path* dir_;
  static std::string* setup_error_;
};
fs::path* BackendKit::dir_ = nullptr;
std::string* BackendKit::setup_error_ = nullptr;

TEST_F(BackendKit, TheCopiedTemplatePassesTheInstalledConformanceSuite) {
  // The template's own `ctest` runs the installed dbtool-conformance on the plugin it built.
  auto r = run_program(DBTOOL_TEST_CTEST, {"--test-dir", (*dir_ / "build").string(), "--output-on-failure"});
  // The inner suite's "[  SKIPPED ]" lines, echoed here, would make ctest call this test skipped.
  for (size_t p; (p = r.out.find("[  SKIPPED ]")) != std::string::npos;) r.out.replace(p, 12, "[ (skipped) ]");
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_NE(r.out.find("100% tests passed"), std::string::npos) << r.out;
}

TEST_F(BackendKit, TheInstalledConformanceProgramTeachesItsOptions) {
  auto r = run_program(*dir_ / "prefix" / "bin" / "dbtool-conformance", {"--help"});
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_NE(r.out.find("--uri-template"), std::string::npos) << r.out;
  r = run_program(*dir_ / "prefix" / "bin" / "dbtool-conformance", {"--plugin", "x.so"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("--uri-template are required"), std::string::npos) << r.err;
}

TEST_F(BackendKit, TheTemplateServesInitMigrateMigrateBackupRestore) {
  const fs::path db = *dir_ / "cycle" / "app.db";
  const std::string uri = "template://" + db.string();
  const fs::path export_file = testing::fixtures_dir() / "sample-export.json";
  const auto users = static_cast<int64_t>(json::parse(testing::read_bytes(export_file)).as_array().size());

  auto r = dbtool({"init", "--yes", "--db", uri});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  r = dbtool({"migrate", "--yes", "--db", uri, "--source", "json-file", "--json-file", export_file.string()});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(query_int(db, "SELECT count(*) FROM users"), users);
  // The second migration backs up, carries the history rows over with their ids and appends one.
  r = dbtool({"migrate", "--yes", "--json", "--db", uri, "--source", "json-file", "--json-file", export_file.string()});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(query_int(db, "SELECT count(*) FROM users"), users);
  EXPECT_EQ(query_int(db, "SELECT count(*) FROM dbtool_history"), 3);
  EXPECT_EQ(query_int(db, "SELECT count(DISTINCT id) FROM dbtool_history"), 3);

  auto b = dbtool({"backup", "--json", "--db", uri});
  ASSERT_EQ(b.exit_code, 0) << b.err;
  const fs::path file = std::string(json::parse(b.out).at("path").as_string());
  EXPECT_EQ(file.extension(), ".db") << "describe's backup_extension names the file";

  // Another init replaces the data; the restore brings the migrated users back.
  r = dbtool({"init", "--yes", "--db", uri});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  ASSERT_NE(query_int(db, "SELECT count(*) FROM users"), users);
  r = dbtool({"restore", "--yes", "--db", uri, file.string()});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(query_int(db, "SELECT count(*) FROM users"), users);
  EXPECT_EQ(query_int(db, "SELECT count(*) FROM dbtool_history"), 3);
}

}  // namespace
}  // namespace dbtool
