// Plugin discovery and loading through the real binary: what `dbtool plugins` lists, what it
// refuses, and why.
#include <gtest/gtest.h>

#include <boost/json.hpp>

#include "run_dbtool.hpp"

namespace dbtool {
namespace {
namespace fs = std::filesystem;
using testing::run_dbtool;

TEST(Plugins, JsonListsOurPluginsWithTheirFacts) {
  auto r = run_dbtool({"plugins", "--json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  boost::json::value doc = boost::json::parse(r.out);
  EXPECT_EQ(doc.at("format").as_int64(), 1);
  EXPECT_TRUE(doc.at("ok").as_bool());
  boost::json::array list = doc.at("plugins").as_array();
  std::map<std::string, std::string> kinds;
  for (const auto& v : list) {
    const auto& o = v.as_object();
    for (const char* key : {"name", "kind", "version", "abi", "path"}) EXPECT_TRUE(o.contains(key)) << key;
    EXPECT_EQ(o.at("abi").as_string(), "1.4");
    EXPECT_TRUE(fs::path(std::string(o.at("path").as_string())).is_absolute());
    kinds[std::string(o.at("name").as_string())] = std::string(o.at("kind").as_string());
  }
  EXPECT_EQ(kinds["sqlite"], "backend");
  EXPECT_EQ(kinds["json-file"], "source");
}

TEST(Plugins, IncompatibleMajorIsRefusedNamingFileAndVersions) {
  fs::path dir = testing::make_temp_dir("dbtool-plugins");
  fs::copy_file(DBTOOL_TEST_MAJOR2_PLUGIN, dir / "libmajor2.so");
  auto r = run_dbtool({"--plugin-dir", dir.string(), "plugins", "--json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.err.find((dir / "libmajor2.so").string()), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("ABI 2.0"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("ABI 1.4"), std::string::npos) << r.err;
  boost::json::value listed = boost::json::parse(r.out);
  EXPECT_EQ(listed.at("problems").as_array().size(), 1u) << r.out;
  for (const auto& v : listed.at("plugins").as_array())
    EXPECT_NE(fs::path(std::string(v.at("path").as_string())).parent_path().string(), dir.string())
        << "refused plugin listed";
  fs::remove_all(dir);
}

TEST(Plugins, ANonPluginLibraryIsSkippedWithAReason) {
  fs::path dir = testing::make_temp_dir("dbtool-plugins");
  testing::write_bytes(dir / "libgarbage.so", "not an ELF file");
  auto r = run_dbtool({"--plugin-dir", dir.string(), "plugins"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.err.find("libgarbage.so: cannot load"), std::string::npos) << r.err;
  fs::remove_all(dir);
}

// Options from the command line go by name to the plugin they belong to: a third party's
// downloading source gets the host's output_path, and nothing of http-legacy's (its URL, its
// credentials) nor of json-file's (its path).
TEST(Plugins, SourceOptionsGoByNameToTheirOwnPluginOnly) {
  const fs::path dir = testing::make_temp_dir("dbtool-options");
  const fs::path seen = dir / "options.json";
  auto r = run_dbtool(
      {"--plugin-dir", DBTOOL_TEST_OPTIONS_PLUGIN_DIR, "migrate", "--yes", "--db", (dir / "app.db").string(),
       "--source", "options-echo", "--legacy-url", "http://127.0.0.1:9", "--json-file", (dir / "data.json").string()},
      {{"DBTOOL_LEGACY_UID", "admin-uid"},
       {"DBTOOL_LEGACY_PASSWORD", "Legacy-Pw-7f3"},
       {"DBTOOL_DEFAULT_PASSWORD", "x"},
       {"DBTOOL_TEST_OPTIONS_OUT", seen.string()},
       {"DBTOOL_TEST_EXPORT", (testing::fixtures_dir() / "sample-export.json").string()}},
      dir);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const std::string text = testing::read_bytes(seen);
  const boost::json::object options = boost::json::parse(text).as_object();
  EXPECT_TRUE(options.contains("output_path")) << text;
  for (const char* theirs : {"password", "uid", "url", "login_path", "insecure", "path"})
    EXPECT_FALSE(options.contains(theirs)) << theirs << " reached a plugin it is not for: " << text;
  EXPECT_EQ(text.find("Legacy-Pw-7f3"), std::string::npos) << text;
  fs::remove_all(dir);
}

TEST(Plugins, UnknownBackendListsWhatExists) {
  auto r = run_dbtool({"status", "--backend", "oracle", "--db", "oracle://x@y/z"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("no backend plugin named \"oracle\""), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("sqlite"), std::string::npos) << r.err;
}

TEST(Cli, VersionAndHelpTeach) {
  auto v = run_dbtool({"--version"});
  EXPECT_EQ(v.exit_code, 0);
  EXPECT_NE(v.out.find("dbtool "), std::string::npos);
  auto h = run_dbtool({"migrate", "--help"});
  EXPECT_EQ(h.exit_code, 0);
  EXPECT_NE(h.out.find("--source"), std::string::npos);
  EXPECT_NE(h.out.find("Examples"), std::string::npos);
  auto bad = run_dbtool({"init", "--no-such-flag"});
  EXPECT_NE(bad.exit_code, 0);
}

TEST(Cli, PasswordInUriIsRefused) {
  auto r = run_dbtool({"status", "--db", "mysql://app:hunter2@127.0.0.1:1/app"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_EQ(r.err.find("hunter2"), std::string::npos) << "the password is echoed: " << r.err;
}

}  // namespace
}  // namespace dbtool
