// `dbtool plan` and --dry-run through the real binary: nothing on disk changes (bytes and
// mtimes, the scratch folder included), the target is reached before any source, and the
// planned row counts are the ones the real run then loads.
#include <gtest/gtest.h>

#include <boost/json.hpp>

#include "run_dbtool.hpp"
#include "temp_dir_test.hpp"

namespace dbtool {
namespace {
namespace fs = std::filesystem;
namespace json = boost::json;
using testing::run_dbtool;

std::map<std::string, std::string> snapshot(const fs::path& dir) {
  std::map<std::string, std::string> out;
  for (const auto& e : fs::recursive_directory_iterator(dir)) {
    std::string key = fs::relative(e.path(), dir).string();
    out[key] = e.is_regular_file() ? testing::read_bytes(e.path()) + "@" +
                                         std::to_string(fs::last_write_time(e.path()).time_since_epoch().count())
                                   : "dir";
  }
  return out;
}

class Plan : public testing::TempDirTest {
 protected:
  void SetUp() override {
    TempDirTest::SetUp();
    fs::create_directories(dir_ / "tmp");
    fs::copy_file(testing::fixtures_dir() / "sample-export.json", dir_ / "data.json");
    env_ = {{"DBTOOL_DEFAULT_PASSWORD", "x"}, {"TMPDIR", (dir_ / "tmp").string()}};
  }
  testing::RunResult dbtool(std::vector<std::string> args) { return run_dbtool(args, env_, dir_); }
  std::map<std::string, int64_t> rows(const json::value& tables, const char* key) {
    std::map<std::string, int64_t> out;
    for (const auto& t : tables.as_array()) out[std::string(t.at("name").as_string())] = t.at(key).as_int64();
    return out;
  }
  std::map<std::string, std::string> env_;
};

TEST_F(Plan, ChangesNoByteAndPlansTheCountsTheRunLoads) {
  ASSERT_EQ(dbtool({"init", "--db", "app.db"}).exit_code, 0);
  const auto before = snapshot(dir_);
  auto p = dbtool({"plan", "--db", "app.db", "--json-file", "data.json", "--json"});
  ASSERT_EQ(p.exit_code, 0) << p.err;
  for (const auto& args :
       std::vector<std::vector<std::string>>{{"plan", "--db", "app.db", "--json-file", "data.json"},
                                             {"migrate", "--dry-run", "--db", "app.db", "--json-file", "data.json"},
                                             {"init", "--dry-run", "--db", "app.db"}}) {
    auto r = dbtool(args);
    EXPECT_EQ(r.exit_code, 0) << args[0] << r.err;
  }
  EXPECT_EQ(snapshot(dir_), before) << "a plan wrote something";

  json::object plan = json::parse(p.out).as_object();
  EXPECT_EQ(plan.at("schema").at("before").at("version"), plan.at("schema").at("after").at("version"));
  EXPECT_EQ(rows(plan.at("tables"), "rows_before"), (std::map<std::string, int64_t>{{"sections", 5},
                                                                                    {"stock_transactions", 0},
                                                                                    {"stock_users", 0},
                                                                                    {"table_stocks", 0},
                                                                                    {"user_sections", 8},
                                                                                    {"user_transaction_stocks", 0},
                                                                                    {"users", 5}}));
  bool asks = false;
  for (const auto& gd : plan.at("guards").as_array()) asks = asks || gd.at("guard") == "confirm";
  EXPECT_TRUE(asks) << p.out;

  auto m = dbtool({"migrate", "--yes", "--db", "app.db", "--json-file", "data.json", "--json"});
  ASSERT_EQ(m.exit_code, 0) << m.err;
  EXPECT_EQ(rows(plan.at("tables"), "rows_after"), rows(json::parse(m.out).at("tables"), "rows"));
}

TEST_F(Plan, TheTargetIsReachedBeforeAnySource) {
  for (const char* cmd : {"plan", "migrate"}) {
    auto r = dbtool({cmd, "--yes", "--db", "mysql://app@127.0.0.1:1/app", "--json-file", "data.json"});
    EXPECT_EQ(r.exit_code, 1) << r.err;
    EXPECT_NE(r.err.find("127.0.0.1"), std::string::npos) << r.err;
    EXPECT_EQ(r.err.find("fetching"), std::string::npos) << cmd << " fetched before connecting:\n" << r.err;
  }
}

}  // namespace
}  // namespace dbtool
