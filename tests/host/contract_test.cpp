// The contract with scripts, through the real binary: documented exit codes (every usage error
// is 2), and with --json exactly one parseable document on stdout, on success and on failure.
#include <gtest/gtest.h>

#include <boost/json.hpp>

#include <regex>

#include "run_dbtool.hpp"
#include "temp_dir_test.hpp"

namespace dbtool {
namespace {
namespace fs = std::filesystem;
namespace json = boost::json;
using testing::run_dbtool;

// The whole of stdout as one JSON document (a second document or trailing text fails the parse).
json::object one_document(const std::string& out) {
  boost::system::error_code ec;
  json::value v = json::parse(out, ec);
  EXPECT_FALSE(ec) << "stdout is not one JSON document: " << out;
  return v.is_object() ? v.as_object() : json::object{};
}

class Contract : public testing::TempDirTest {
 protected:
  std::map<std::string, std::string> env_{{"DBTOOL_DEFAULT_PASSWORD", "test-only-pw"}};
};

TEST_F(Contract, EveryUsageErrorExitsTwo) {
  const std::vector<std::vector<std::string>> bad = {
      {},                                           // no command
      {"frobnicate"},                               // unknown command
      {"init", "--no-such-option"},                 // unknown option
      {"migrate", "--batch-rows", "0"},             // value out of range
      {"migrate", "--batch-rows", "many"},          // not a number
      {"restore"},                                  // missing argument
      {"restore", (dir_ / "missing.db").string()},  // argument check
      {"status", "--db"},                           // option without its value
  };
  for (const auto& args : bad) {
    auto r = run_dbtool(args, env_, dir_);
    std::string line;
    for (const auto& a : args) line += a + " ";
    EXPECT_EQ(r.exit_code, 2) << "dbtool " << line << "\n" << r.err;
    EXPECT_NE(r.err.find("--help"), std::string::npos) << r.err;
  }
  EXPECT_EQ(run_dbtool({"--help"}, env_, dir_).exit_code, 0);
  EXPECT_EQ(run_dbtool({"init", "--help"}, env_, dir_).exit_code, 0);
  EXPECT_EQ(run_dbtool({"--version"}, env_, dir_).exit_code, 0);
}

TEST_F(Contract, HelpDocumentsTheExitCodes) {
  auto r = run_dbtool({"--help"}, env_, dir_);
  ASSERT_EQ(r.exit_code, 0);
  for (const char* line : {"Exit codes:", "  2    usage", "  3    refused", "  130  cancelled", "\"format\": 1"})
    EXPECT_NE(r.out.find(line), std::string::npos) << line << "\n" << r.out;
}

TEST_F(Contract, JsonFailureIsOneDocumentWithCodeMessageAndExit) {
  struct Case {
    std::vector<std::string> args;
    int exit;
    const char* code;
  };
  const fs::path db = dir_ / "app.db";
  ASSERT_EQ(run_dbtool({"init", "--db", db.string()}, env_, dir_).exit_code, 0);
  const std::vector<Case> cases = {
      {{"init", "--json", "--no-such-option"}, 2, "usage"},
      {{"migrate", "--json", "--batch-rows", "0"}, 2, "usage"},
      {{"backup", "--json", "--db", (dir_ / "missing.db").string()}, 1, "failed"},
      {{"init", "--json", "--db", db.string()}, 3, "refused"},  // no terminal, no --yes
      {{"migrate", "--json", "--yes", "--db", (dir_ / "new.db").string(), "--json-file",
        (dir_ / "no-export.json").string()},
       1,
       "failed"},
  };
  for (const auto& c : cases) {
    auto r = run_dbtool(c.args, env_, dir_);
    EXPECT_EQ(r.exit_code, c.exit) << c.args[0] << " " << r.err;
    json::object doc = one_document(r.out);
    EXPECT_EQ(doc["format"], json::value(1)) << r.out;
    EXPECT_EQ(doc["ok"], json::value(false)) << r.out;
    ASSERT_TRUE(doc["error"].is_object()) << r.out;
    const json::object& e = doc["error"].as_object();
    EXPECT_EQ(e.at("code").as_string(), c.code) << r.out;
    EXPECT_EQ(e.at("exit").as_int64(), c.exit) << r.out;
    EXPECT_FALSE(e.at("message").as_string().empty()) << r.out;
  }
}

TEST_F(Contract, JsonSuccessHasFormatPlainNumbersAndNestedReports) {
  const fs::path db = dir_ / "app.db";
  auto r = run_dbtool({"init", "--json", "--db", db.string()}, env_, dir_);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  json::object report = one_document(r.out);
  EXPECT_EQ(report["format"], json::value(1));
  EXPECT_EQ(report["ok"], json::value(true));
  EXPECT_EQ(report["operation"].as_string(), "init");
  // The load of a few default rows takes milliseconds: exactly the figure that came out as 1.2E-3.
  EXPECT_TRUE(report["load_seconds"].is_number()) << r.out;
  // A number value (after ':', ',' or '[', not inside a string such as a hex checksum) with an exponent.
  const std::regex exponent("[:,\\[]-?[0-9.]+[eE][-+]?[0-9]");
  EXPECT_FALSE(std::regex_search(r.out, exponent)) << r.out;

  auto s = run_dbtool({"status", "--json", "--db", db.string()}, env_, dir_);
  ASSERT_EQ(s.exit_code, 0) << s.err;
  json::object status = one_document(s.out);
  EXPECT_EQ(status["format"], json::value(1));
  EXPECT_EQ(status["ok"], json::value(true));
  ASSERT_EQ(status["history"].as_array().size(), 1u) << s.out;
  const json::value& recorded = status["history"].as_array()[0].at("report");
  ASSERT_TRUE(recorded.is_object()) << "history report is not an object: " << s.out;
  EXPECT_EQ(recorded.at("operation").as_string(), "init");
  EXPECT_FALSE(std::regex_search(s.out, exponent)) << s.out;
}

}  // namespace
}  // namespace dbtool
