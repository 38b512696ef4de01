// The generated man page and bash completion checked against the real binary's --help, read
// here on its own (not with the generators' parser): every command and every option --help
// lists is offered by the completion and described in the man page, with the exit-code table,
// and the page renders without a groff warning.
#include <gtest/gtest.h>

#include <algorithm>
#include <regex>
#include <set>
#include <sstream>

#include "run_dbtool.hpp"

namespace dbtool {
namespace {
namespace fs = std::filesystem;
using testing::read_bytes;
using testing::run_dbtool;
using testing::run_program;

struct CommandHelp {
  std::vector<std::string> path;  // {} for dbtool itself, {"schema", "import"}
  std::vector<std::string> options;
  std::vector<std::string> subcommands;
  std::string text;
};

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) out.push_back(line);
  return out;
}

// `dbtool PATH... --help`, run in an empty folder so no dbtool.ini or .env is read.
CommandHelp read_help(const std::vector<std::string>& path) {
  fs::path cwd = testing::make_temp_dir("dbtool-help");
  std::vector<std::string> args = path;
  args.push_back("--help");
  auto r = run_dbtool(args, {}, cwd);
  fs::remove_all(cwd);
  EXPECT_EQ(r.exit_code, 0) << r.err;
  CommandHelp help{path, {}, {}, r.out};
  std::string section;
  static const std::regex option(R"(^  (-[^ =]+))"), subcommand(R"(^  ([a-z][a-z-]*)  )");
  for (const std::string& line : lines_of(r.out)) {
    std::smatch m;
    if (line.empty() || line.back() == ':') section = line;
    if (section == "Options:" && std::regex_search(line, m, option)) {
      std::istringstream names(m[1].str());
      for (std::string name; std::getline(names, name, ',');) help.options.push_back(name);
    }
    if (section == "Subcommands:" && std::regex_search(line, m, subcommand)) help.subcommands.push_back(m[1]);
  }
  return help;
}

std::vector<CommandHelp> all_commands() {
  std::vector<CommandHelp> out{read_help({})};
  for (size_t i = 0; i < out.size(); ++i)
    for (const std::string& sub : std::vector<std::string>(out[i].subcommands)) {
      std::vector<std::string> path = out[i].path;
      path.push_back(sub);
      out.push_back(read_help(path));
    }
  return out;
}

std::string join(const std::vector<std::string>& words) {
  std::string out;
  for (const auto& w : words) out += (out.empty() ? "" : " ") + w;
  return out;
}

// What bash offers for `dbtool WORDS...` with the cursor on the last word, using the generated
// completion exactly as bash-completion loads it.
std::set<std::string> complete(const std::vector<std::string>& words, const fs::path& cwd = {}) {
  std::string array = "dbtool";
  for (const auto& w : words) array += " '" + w + "'";
  std::string script = "source '" DBTOOL_TEST_COMPLETION "'; COMP_WORDS=(" + array +
                       "); COMP_CWORD=" + std::to_string(words.size()) +
                       "; _dbtool; printf '%s\\n' \"${COMPREPLY[@]}\"";
  auto r = run_program("bash", {"--norc", "--noprofile", "-c", script}, {}, cwd);
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.err, "");
  std::set<std::string> out;
  for (const auto& line : lines_of(r.out))
    if (!line.empty()) out.insert(line);
  return out;
}

// The man page's text with roff's escapes for hyphens, backslashes and fonts undone.
std::string man_source_as_text() {
  std::string s = read_bytes(DBTOOL_TEST_MAN_PAGE);
  s = std::regex_replace(s, std::regex(R"(\\f[BIRP])"), "");
  s = std::regex_replace(s, std::regex(R"(\\&)"), "");
  s = std::regex_replace(s, std::regex(R"(\\-)"), "-");
  return std::regex_replace(s, std::regex(R"(\\e)"), "\\");
}

TEST(Completion, OffersEveryOptionEachCommandsHelpLists) {
  for (const CommandHelp& cmd : all_commands()) {
    std::vector<std::string> words = cmd.path;
    words.push_back("-");
    std::set<std::string> offered = complete(words);
    ASSERT_FALSE(cmd.options.empty()) << join(cmd.path);
    for (const std::string& option : cmd.options)
      EXPECT_TRUE(offered.count(option)) << "dbtool " << join(cmd.path) << " " << option << " is not offered";
  }
}

TEST(Completion, OffersEverySubcommand) {
  for (const CommandHelp& cmd : all_commands()) {
    if (cmd.subcommands.empty()) continue;
    std::vector<std::string> words = cmd.path;
    words.push_back("");
    EXPECT_EQ(complete(words), std::set<std::string>(cmd.subcommands.begin(), cmd.subcommands.end()))
        << "dbtool " << join(cmd.path);
  }
}

// An option's value is not a command: `--config schema` leaves dbtool's own commands to offer,
// and after an option that takes a value, file names come, not options.
TEST(Completion, SkipsOptionValuesAndOffersFilesForThem) {
  std::set<std::string> offered = complete({"--config", "schema", ""});
  EXPECT_TRUE(offered.count("init"));
  EXPECT_FALSE(offered.count("import"));

  fs::path dir = testing::make_temp_dir("dbtool-completion");
  testing::write_bytes(dir / "app.db", "");
  EXPECT_EQ(complete({"restore", "--db", ""}, dir), std::set<std::string>{"app.db"});
  EXPECT_EQ(complete({"restore", ""}, dir), std::set<std::string>{"app.db"});  // BACKUP_FILE
  EXPECT_TRUE(complete({"schema", "import", "--version", "1", "--o"}, dir).count("--out"));
  fs::remove_all(dir);
}

TEST(ManPage, DescribesEveryCommandAndOption) {
  const std::string page = man_source_as_text();
  for (const CommandHelp& cmd : all_commands()) {
    if (!cmd.path.empty()) {
      EXPECT_NE(page.find(".SS dbtool " + join(cmd.path)), std::string::npos) << join(cmd.path);
    }
    for (const std::string& option : cmd.options)
      EXPECT_TRUE(std::regex_search(page, std::regex("(^|[ ,\\n])" + option + "([ ,=\\n]|$)")))
          << "dbtool " << join(cmd.path) << " " << option << " is not in the man page";
  }
}

TEST(ManPage, HasTheExitCodeTableOfHelp) {
  const std::vector<std::string> help = lines_of(read_help({}).text);
  const std::string page = man_source_as_text();
  auto table = std::find(help.begin(), help.end(), "Exit codes:");
  ASSERT_NE(table, help.end());
  static const std::regex row(R"(^\s+(\d+)\s+(.+)$)");
  int rows = 0;
  for (auto it = table + 1; it != help.end(); ++it) {
    std::smatch m;
    if (!std::regex_match(*it, m, row)) break;
    ++rows;
    const std::string meaning = std::regex_replace(m[2].str(), std::regex("`"), "");  // `x` is bold in the page
    EXPECT_NE(page.find(".TP\n" + m[1].str() + "\n" + meaning + "\n"), std::string::npos) << *it;
  }
  EXPECT_GE(rows, 5);
  EXPECT_NE(page.find(".SH EXIT STATUS"), std::string::npos);
}

TEST(ManPage, RendersWithoutWarnings) {
  auto r = run_program("groff", {"-man", "-Tutf8", "-ww", "-z", DBTOOL_TEST_MAN_PAGE});
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_EQ(r.err, "");
}

// The installed page is the gzip of the one checked here.
TEST(ManPage, InstalledGzipIsTheSamePage) {
  auto r = run_program("gzip", {"-dc", DBTOOL_TEST_MAN_PAGE_GZ});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, read_bytes(DBTOOL_TEST_MAN_PAGE));
}

}  // namespace
}  // namespace dbtool
