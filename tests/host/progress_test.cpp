// Progress of long work through the real binary: a live line on a pseudo-terminal, plain lines
// in a log, nothing with --quiet; stdout (the report) stays clean in every case.
#include <gtest/gtest.h>

#include <regex>

#include "run_dbtool.hpp"
#include "temp_dir_test.hpp"

namespace dbtool {
namespace {
namespace fs = std::filesystem;
using testing::run_dbtool;

class Progress : public testing::TempDirTest {
 protected:
  // Small batches so even the sample export takes many steps.
  std::vector<std::string> migrate(const std::string& db) {
    return {"migrate",      "--yes",
            "--db",         (dir_ / db).string(),
            "--json-file",  (testing::fixtures_dir() / "sample-export.json").string(),
            "--batch-rows", "10"};
  }
};

TEST_F(Progress, ALogGetsPlainLinesWithPhaseRowsAndNoTerminalCodes) {
  auto r = run_dbtool(migrate("log.db"), {{"DBTOOL_PROGRESS_INTERVAL", "0"}}, dir_);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(std::regex_search(r.err, std::regex("\nload: [0-9]+ rows\n"))) << r.err;
  EXPECT_NE(r.err.find("\nload: 512 rows"), std::string::npos) << r.err;  // after the last batch
  EXPECT_EQ(r.err.find('\r'), std::string::npos) << "terminal codes in a log";
  EXPECT_EQ(r.err.find("\033["), std::string::npos) << "terminal codes in a log";
  EXPECT_EQ(r.out.find("load:"), std::string::npos) << "progress on stdout";
}

TEST_F(Progress, ALogGetsNoLineBeforeTheIntervalHasPassed) {
  auto r = run_dbtool(migrate("slow.db"), {{"DBTOOL_PROGRESS_INTERVAL", "3600"}}, dir_);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.err.find("load:"), std::string::npos) << r.err;
}

TEST_F(Progress, QuietSilencesIt) {
  std::vector<std::string> args = migrate("quiet.db");
  args.insert(args.begin(), "--quiet");
  auto r = run_dbtool(args, {{"DBTOOL_PROGRESS_INTERVAL", "0"}}, dir_);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.err.find("load:"), std::string::npos) << r.err;
}

TEST_F(Progress, APseudoTerminalGetsALiveLineThatIsClearedBeforeTheReport) {
  // script(1) runs the command on a new pseudo-terminal and copies what it draws to stdout.
  std::string command = "'" + testing::dbtool_binary().string() + "'";
  for (const auto& a : migrate("tty.db")) command += " '" + a + "'";
  auto r = testing::run_program("script", {"-qec", command, "/dev/null"}, {{"DBTOOL_DEFAULT_PASSWORD", "x"}}, dir_);
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_NE(r.out.find("\r\033[Kload: "), std::string::npos) << r.out;
  // The live line is wiped before the report is printed.
  size_t report = r.out.find("migrate of ");
  ASSERT_NE(report, std::string::npos) << r.out;
  EXPECT_EQ(r.out.rfind("\r\033[K", report), report - 4) << r.out;
}

}  // namespace
}  // namespace dbtool
