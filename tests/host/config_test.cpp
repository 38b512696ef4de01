// Where an option's value comes from, through the real binary: command line > environment >
// config file (dbtool.ini) > defaults, every pair, and a config section for every command.
#include <gtest/gtest.h>

#include <boost/json.hpp>

#include "run_dbtool.hpp"
#include "temp_dir_test.hpp"

namespace dbtool {
namespace {
namespace fs = std::filesystem;
namespace json = boost::json;
using testing::run_dbtool;

class Config : public testing::TempDirTest {
 protected:
  void ini(const std::string& text) { testing::write_bytes(dir_ / "dbtool.ini", text); }
  // The database `status` addresses, run in the test folder.
  std::string database(std::vector<std::string> extra, std::map<std::string, std::string> env = {}) {
    std::vector<std::string> args = {"status", "--json"};
    args.insert(args.end(), extra.begin(), extra.end());
    auto r = run_dbtool(args, env, dir_);
    EXPECT_EQ(r.exit_code, 0) << r.err;
    boost::system::error_code ec;
    json::value v = json::parse(r.out, ec);
    if (ec || !v.is_object() || !v.as_object().contains("database")) return "unparsed: " + r.out;
    return fs::path(std::string(v.at("database").as_string())).filename().string();
  }
};

TEST_F(Config, CommandLineBeatsEnvironment) {
  EXPECT_EQ(database({"--db", "cli.db"}, {{"DBTOOL_DB", "env.db"}}), "cli.db");
}

TEST_F(Config, CommandLineBeatsConfigFile) {
  ini("[status]\ndb = file.db\n");
  EXPECT_EQ(database({"--db", "cli.db"}), "cli.db");
}

TEST_F(Config, EnvironmentBeatsConfigFile) {
  ini("[status]\ndb = file.db\n");
  EXPECT_EQ(database({}, {{"DBTOOL_DB", "env.db"}}), "env.db");
}

TEST_F(Config, ConfigFileBeatsDefault) {
  ini("[status]\ndb = file.db\n");
  EXPECT_EQ(database({}), "file.db");
}

TEST_F(Config, EnvironmentBeatsDefault) { EXPECT_EQ(database({}, {{"DBTOOL_DB", "env.db"}}), "env.db"); }

TEST_F(Config, DefaultWithoutAnySetting) { EXPECT_EQ(database({}), "user_management.db"); }

// The case an operator met: init wrote to the file named in dbtool.ini although DBTOOL_DB said otherwise.
TEST_F(Config, InitWritesWhereTheEnvironmentSaysOverTheConfigFile) {
  ini("[init]\ndb = file.db\n");
  auto r = run_dbtool({"init"}, {{"DBTOOL_DB", "env.db"}, {"DBTOOL_DEFAULT_PASSWORD", "x"}}, dir_);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(fs::exists(dir_ / "env.db"));
  EXPECT_FALSE(fs::exists(dir_ / "file.db"));
}

TEST_F(Config, EveryCommandReadsItsOwnSection) {
  auto r = run_dbtool({"init", "--db", "app.db"}, {{"DBTOOL_DEFAULT_PASSWORD", "x"}}, dir_);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  // An entry no option takes (a typo, or a command's option at the top) is a usage error, never ignored.
  for (const char* bad : {"json = true\n", "[backup]\nbakup-dir = saved\n"}) {
    ini(bad);
    r = run_dbtool({"plugins"}, {}, dir_);
    EXPECT_EQ(r.exit_code, 2) << bad << r.out << r.err;
  }
  ini("[backup]\ndb = app.db\nbackup-dir = saved\njson = true\n"
      "[status]\ndb = app.db\njson = true\n"
      "[plugins]\njson = true\n"
      "[restore]\ndb = app.db\nyes = true\njson = true\n");
  r = run_dbtool({"backup"}, {}, dir_);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const std::string file(json::parse(r.out).at("path").as_string());
  EXPECT_EQ(fs::path(file).parent_path().filename(), "saved");
  EXPECT_EQ(database({}), "app.db");
  r = run_dbtool({"plugins"}, {}, dir_);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(json::parse(r.out).at("ok").as_bool()) << r.out;
  r = run_dbtool({"restore", file}, {}, dir_);  // --yes from [restore]: no terminal needed
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(json::parse(r.out).at("ok").as_bool()) << r.out;
}

}  // namespace
}  // namespace dbtool
