// A plugin built out of tree, against nothing but the installed <dbtool/plugin.h>, loads into
// the installed dbtool and serves a migration (the path every third-party plugin takes).
#include <gtest/gtest.h>

#include <sqlite3.h>
#include <boost/json.hpp>

#include "run_dbtool.hpp"

namespace dbtool {
namespace {
namespace fs = std::filesystem;
namespace json = boost::json;
using testing::run_program;

int64_t count_users(const fs::path& db) {
  sqlite3* c = nullptr;
  int64_t n = -1;
  if (sqlite3_open_v2(db.c_str(), &c, SQLITE_OPEN_READONLY, nullptr) == SQLITE_OK) {
    sqlite3_stmt* st = nullptr;
    if (sqlite3_prepare_v2(c, "SELECT count(*) FROM users", -1, &st, nullptr) == SQLITE_OK &&
        sqlite3_step(st) == SQLITE_ROW)
      n = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
  }
  sqlite3_close(c);
  return n;
}

class ThirdParty : public ::testing::Test {
 protected:
  // Installing and building once serves every test of the suite. A failure here is kept and
  // reported by each test as a failure (an assertion in SetUpTestSuite only marks them skipped,
  // which ctest counts as passed).
  static void SetUpTestSuite() {
    dir_ = new fs::path(testing::make_temp_dir("dbtool-third-party"));
    setup_error_ = new std::string(prepare());
  }
  static std::string prepare() {
    const fs::path prefix = *dir_ / "prefix", build = *dir_ / "build";
    auto r = run_program(DBTOOL_TEST_CMAKE, {"--install", DBTOOL_TEST_BUILD_DIR, "--prefix", prefix.string()});
    if (r.exit_code != 0) return "cmake --install failed: " + r.out + r.err;
    if (!fs::exists(prefix / "include" / "dbtool" / "plugin.h")) return "plugin.h is not installed";
    r = run_program(DBTOOL_TEST_CMAKE,
                    {"-S", (testing::source_dir() / "tests" / "third_party" / "example-source").string(), "-B",
                     build.string(), "-G", DBTOOL_TEST_CMAKE_GENERATOR, "-DCMAKE_PREFIX_PATH=" + prefix.string()});
    if (r.exit_code != 0) return "configuring the example failed: " + r.out + r.err;
    r = run_program(DBTOOL_TEST_CMAKE, {"--build", build.string()});
    if (r.exit_code != 0) return "building the example failed: " + r.out + r.err;
    if (!fs::exists(build / "libexample-env-source.so")) return "the build made no libexample-env-source.so";
    return "";
  }
  static void TearDownTestSuite() {
    fs::remove_all(*dir_);
    delete dir_;
    delete setup_error_;
  }
  void SetUp() override { ASSERT_EQ(*setup_error_, "") << "installing dbtool or building the example plugin failed"; }

  testing::RunResult dbtool(std::vector<std::string> args, std::map<std::string, std::string> env = {}) {
    args.insert(args.begin(), {"--plugin-dir", (*dir_ / "build").string()});
    env.emplace("DBTOOL_DEFAULT_PASSWORD", "Test-Default-1");
    return run_program(*dir_ / "prefix" / "bin" / "dbtool", args, env, *dir_);
  }

  static fs::path* dir_;
  static std::string* setup_error_;
  const fs::path export_ = testing::fixtures_dir() / "sample-export.json";
};
fs::path* ThirdParty::dir_ = nullptr;
std::string* ThirdParty::setup_error_ = nullptr;

TEST_F(ThirdParty, InstalledDbtoolListsThePluginWithItsFacts) {
  auto r = dbtool({"plugins", "--json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  bool found = false;
  const json::value listed = json::parse(r.out);
  for (const auto& p : listed.at("plugins").as_array()) {
    const json::object& o = p.as_object();
    if (o.at("name").as_string() != "example-env-source") continue;
    found = true;
    EXPECT_EQ(o.at("kind").as_string(), "source");
    EXPECT_EQ(o.at("version").as_string(), "1.0.0");
    EXPECT_EQ(o.at("abi").as_string(), "1.4");
    EXPECT_EQ(fs::path(std::string(o.at("path").as_string())).filename(), "libexample-env-source.so");
  }
  EXPECT_TRUE(found) << r.out;
  // The installed plugins are found beside the installed binary, after --plugin-dir.
  EXPECT_NE(r.out.find("\"sqlite\""), std::string::npos) << r.out;
}

TEST_F(ThirdParty, ItServesAMigrationFirstInTheChain) {
  fs::path db = *dir_ / "served.db";
  auto r = dbtool({"migrate", "--json", "--yes", "--source", "example-env-source,json-file", "--json-file",
                   (*dir_ / "no-cache.json").string(), "--db", db.string()},
                  {{"DBTOOL_EXAMPLE_EXPORT", export_.string()}});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  json::object report = json::parse(r.out).as_object();
  EXPECT_EQ(report.at("source").as_string(), "example-env-source");
  EXPECT_EQ(count_users(db), static_cast<int64_t>(json::parse(testing::read_bytes(export_)).as_array().size()));
}

TEST_F(ThirdParty, ItsErrorReachesTheUserAndTheChainFallsBack) {
  fs::path db = *dir_ / "fallback.db";
  auto r = dbtool({"migrate", "--json", "--yes", "--source", "example-env-source,json-file", "--json-file",
                   export_.string(), "--db", db.string()},
                  {{"DBTOOL_EXAMPLE_EXPORT", ""}});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  json::object report = json::parse(r.out).as_object();
  EXPECT_EQ(report.at("source").as_string(), "json-file");
  const json::object& first = report.at("sources").as_array().at(0).as_object();
  EXPECT_FALSE(first.at("served").as_bool());
  EXPECT_NE(std::string(first.at("reason").as_string()).find("DBTOOL_EXAMPLE_EXPORT is not set"), std::string::npos)
      << first;
  EXPECT_GT(count_users(db), 0);
}

}  // namespace
}  // namespace dbtool
