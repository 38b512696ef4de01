// The holes a hostile tester found (issue 8), each kept as a test through the real binary:
// files and links dbtool writes, secrets on the command line and in .env, and bounded work on
// hostile input.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <boost/json.hpp>

#include <chrono>
#include <limits>

#include "run_dbtool.hpp"
#include "sqlite_file.hpp"
#include "temp_dir_test.hpp"

namespace dbtool::testing {
namespace {
namespace json = boost::json;

unsigned mode_of(const fs::path& p) {
  struct stat st {};
  EXPECT_EQ(::stat(p.c_str(), &st), 0) << p;
  return st.st_mode & 07777;
}

class HardeningTest : public testing::TempDirTest {
 protected:
  void SetUp() override {
    ::umask(022);  // the usual umask, which made every file dbtool wrote world-readable
    TempDirTest::SetUp();
    export_ = testing::fixtures_dir() / "sample-export.json";
    users_ = json::parse(read_bytes(export_)).as_array();
  }
  testing::RunResult migrate(const fs::path& export_file, std::vector<std::string> extra,
                             std::map<std::string, std::string> env = {}) {
    std::vector<std::string> args = {"migrate", "--db", db_.string(), "--json-file", export_file.string(), "--yes"};
    args.insert(args.end(), extra.begin(), extra.end());
    return run_dbtool(args, env);
  }
  void populate() {
    auto r = run_dbtool({"init", "--db", db_.string()}, {{"DBTOOL_DEFAULT_PASSWORD", "x"}});
    ASSERT_EQ(r.exit_code, 0) << r.err;
  }
  // The sample export with one record that cannot be mapped (its uid is a number).
  fs::path export_with_a_bad_record() {
    json::array users = users_;
    users[5].as_object()["uid"] = 12345;
    fs::path f = dir_ / "bad-export.json";
    write_bytes(f, json::serialize(users));
    return f;
  }

  fs::path export_;
  json::array users_;
};

// ---- files and links ----------------------------------------------------------------------

TEST_F(HardeningTest, RejectFileHoldsPasswordHashesSoItIsOwnerOnly) {
  fs::path rejects = dir_ / "rejects.jsonl";
  auto r = migrate(export_with_a_bad_record(), {"--reject-file", rejects.string()});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(read_bytes(rejects).find("pbkdf2:sha256"), std::string::npos);
  EXPECT_EQ(mode_of(rejects), 0600u);
}

TEST_F(HardeningTest, ARejectFileThatIsALinkIsRefusedAndItsTargetUntouched) {
  populate();
  const std::string before = read_bytes(db_);
  fs::path victim = dir_ / "victim.txt";
  write_bytes(victim, "precious\n");
  fs::path rejects = dir_ / "rejects.jsonl";
  fs::create_symlink(victim, rejects);
  auto r = migrate(export_with_a_bad_record(), {"--reject-file", rejects.string()});
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.err.find("symbolic link"), std::string::npos) << r.err;
  EXPECT_EQ(read_bytes(victim), "precious\n");
  EXPECT_TRUE(fs::is_symlink(rejects));
  EXPECT_EQ(read_bytes(db_), before);
}

TEST_F(HardeningTest, AnExistingRejectFileIsReusedOwnerOnly) {
  fs::path rejects = dir_ / "rejects.jsonl";
  write_bytes(rejects,
              "an older run's rejects, longer than this run's one line ...............................\n"
              "second line\n");
  fs::permissions(rejects, fs::perms(0644));
  auto r = migrate(export_with_a_bad_record(), {"--reject-file", rejects.string()});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  std::string lines = read_bytes(rejects);
  EXPECT_EQ(std::count(lines.begin(), lines.end(), '\n'), 1) << lines;
  EXPECT_EQ(lines.find("older run"), std::string::npos);
  EXPECT_EQ(mode_of(rejects), 0600u);
}

// A backups folder that is a link is used where it points (when that folder is the user's own),
// and its target's permissions are never changed through the link.
TEST_F(HardeningTest, ABackupsLinkIsFollowedButNeverChmodedThrough) {
  populate();
  fs::path shared = dir_ / "shared-folder";
  fs::create_directory(shared);
  fs::permissions(shared, fs::perms(0755));
  fs::create_symlink(shared, dir_ / "backups");
  auto r = run_dbtool({"backup", "--db", db_.string()});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(fs::is_symlink(dir_ / "backups"));
  EXPECT_EQ(mode_of(shared), 0755u);
  int files = 0;
  for (const auto& e : fs::directory_iterator(shared)) {
    ++files;
    EXPECT_EQ(mode_of(e.path()), 0600u) << e.path();
  }
  EXPECT_EQ(files, 1);
}

TEST_F(HardeningTest, ABackupsFolderOfAnotherUserIsRefused) {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root to give a folder to another user";
  populate();
  const std::string before = read_bytes(db_);
  fs::path theirs = dir_ / "theirs";
  fs::create_directory(theirs);
  fs::permissions(theirs, fs::perms(0777));
  ASSERT_EQ(::chown(theirs.c_str(), 65534, 65534), 0);
  fs::create_symlink(theirs, dir_ / "backups");
  auto r = migrate(export_, {});
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_NE(r.err.find("another user"), std::string::npos) << r.err;
  EXPECT_EQ(mode_of(theirs), 0777u);
  EXPECT_TRUE(fs::is_empty(theirs));
  EXPECT_EQ(read_bytes(db_), before);
}

// --db given as a link: the link stays a link and the real database gets the new data.
TEST_F(HardeningTest, ADatabaseLinkIsResolvedForTheLockTheStageAndTheSwap) {
  fs::create_directory(dir_ / "real");
  fs::path real = dir_ / "real" / "app.db";
  auto r = run_dbtool({"init", "--db", real.string()}, {{"DBTOOL_DEFAULT_PASSWORD", "x"}});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  fs::path link = dir_ / "link.db";
  fs::create_symlink(real, link);
  r = run_dbtool({"migrate", "--db", link.string(), "--json-file", export_.string(), "--yes"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(fs::is_symlink(link));
  EXPECT_EQ(fs::read_symlink(link), real);
  EXPECT_EQ(sqlite_count(real, "users"), static_cast<int64_t>(users_.size()));
  EXPECT_TRUE(fs::exists(dir_ / "real" / "backups")) << "the backup goes beside the real database";

  fs::path dangling = dir_ / "dangling.db";
  fs::create_symlink(dir_ / "nowhere" / "x.db", dangling);
  r = run_dbtool({"init", "--db", dangling.string(), "--yes"}, {{"DBTOOL_DEFAULT_PASSWORD", "x"}});
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_NE(r.err.find("symbolic link to nothing"), std::string::npos) << r.err;
}

// ---- secrets and trust --------------------------------------------------------------------

constexpr const char* kSecret = "Pw-4e8b1-in-the-url";

TEST_F(HardeningTest, CredentialsInAnyUrlAreRefusedSayingWhereTheyGo) {
  const std::string with_password = std::string("https://admin:") + kSecret + "@127.0.0.1:1";
  const std::vector<std::vector<std::string>> cases = {
      {"--source", "http-legacy", "--legacy-url", with_password},
      {"--source", "http-legacy", "--legacy-url", "https://admin@127.0.0.1:1"},
      {"--source", std::string("mysql://app:") + kSecret + "@127.0.0.1/old"},
  };
  for (const auto& extra : cases) {
    SCOPED_TRACE(extra.back());
    auto r = migrate(export_, extra);
    EXPECT_EQ(r.exit_code, 2) << r.err;
    EXPECT_NE(r.err.find("do not put"), std::string::npos) << r.err;
    EXPECT_NE(r.err.find(extra[1] == "http-legacy" ? "DBTOOL_LEGACY_PASSWORD" : "environment"), std::string::npos)
        << r.err;
    EXPECT_EQ(r.err.find(kSecret), std::string::npos) << "the password is printed: " << r.err;
    EXPECT_FALSE(fs::exists(db_));
  }
  // From the environment, as from the command line.
  auto r = migrate(export_, {"--source", "http-legacy"}, {{"DBTOOL_LEGACY_URL", with_password}});
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_EQ(r.err.find(kSecret), std::string::npos) << r.err;
  r = run_dbtool({"init", "--db", std::string("sqlite://u:") + kSecret + "@/" + db_.string()});
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_EQ(r.err.find(kSecret), std::string::npos) << r.err;
}

// A .env in the current folder (perhaps a checkout someone else controls) must not choose the
// code dbtool loads; it may still carry dbtool's settings and secrets.
TEST_F(HardeningTest, ADotEnvCannotChooseThePluginsToLoad) {
  fs::path planted = dir_ / "planted";
  fs::create_directory(planted);
  fs::path real = testing::dbtool_binary().parent_path().parent_path() / "lib" / "dbtool" / "plugins";
  fs::copy_file(real / "libdbtool-json-file.so", planted / "libdbtool-json-file.so");
  write_bytes(dir_ / ".env", "DBTOOL_PLUGIN_PATH=" + planted.string() + "\nDBTOOL_DB=" + db_.string() + "\n");
  auto r = run_dbtool({"plugins", "--json"}, {}, dir_);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out.find(planted.string()), std::string::npos) << "loaded a plugin .env chose: " << r.out;
  EXPECT_NE(r.out.find((real / "libdbtool-json-file.so").string()), std::string::npos) << r.out;
  EXPECT_NE(r.err.find("DBTOOL_PLUGIN_PATH ignored"), std::string::npos) << r.err;
  // The documented settings still come from it: DBTOOL_DB names the database init creates.
  r = run_dbtool({"init"}, {{"DBTOOL_DEFAULT_PASSWORD", "x"}}, dir_);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_GT(sqlite_count(db_, "users"), 0);
  // The real environment is trusted.
  r = run_dbtool({"plugins", "--json"}, {{"DBTOOL_PLUGIN_PATH", planted.string()}}, dir_);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find(planted.string()), std::string::npos) << r.out;
}

// ---- bounded work on hostile input ----------------------------------------------------------

// A record with 200k distinct keys: the duplicate-key check is linear (it took minutes when it
// was quadratic), and the report lists only the first 100 unknown names while every count stays
// exact, so neither the report nor the history row grows with the input.
TEST_F(HardeningTest, ARecordWithManyKeysIsFastAndTheUnknownFieldListIsCapped) {
  constexpr int kKeys = 200000;
  std::string rec = json::serialize(users_[0]);
  rec.pop_back();
  for (int i = 0; i < kKeys; ++i) rec += ",\"extra" + std::to_string(i) + "\":1";
  rec += "}";
  std::string text = "[" + rec;
  for (size_t i = 1; i < users_.size(); ++i) text += "," + json::serialize(users_[i]);
  fs::path f = dir_ / "wide.json";
  write_bytes(f, text + "]");
  // The export's own fields without a column (sid, class, ...) are unknown too: count them first.
  std::string plain_text = "[";
  for (size_t i = 0; i < users_.size(); ++i) plain_text += (i ? "," : "") + json::serialize(users_[i]);
  fs::path plain = dir_ / "plain.json";
  write_bytes(plain, plain_text + "]");
  auto base = migrate(plain, {"--json"});
  ASSERT_EQ(base.exit_code, 0) << base.err;
  int64_t baseline = 0;
  const json::value base_report = json::parse(base.out);
  for (const auto& kv : base_report.at("import").at("unknown_fields").as_object())
    baseline += kv.value().to_number<int64_t>();
  const auto t0 = std::chrono::steady_clock::now();
  auto r = migrate(f, {"--json"});
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_LT(seconds, 10.0);
  json::object imp = json::parse(r.out).at("import").as_object();
  const auto& listed = imp.at("unknown_fields").as_object();
  EXPECT_EQ(listed.size(), 100u);
  int64_t occurrences = imp.at("unknown_fields_not_listed").to_number<int64_t>();
  for (const auto& kv : listed) occurrences += kv.value().to_number<int64_t>();
  EXPECT_EQ(occurrences, kKeys + baseline);
  EXPECT_EQ(sqlite_count(db_, "users"), static_cast<int64_t>(users_.size()));
  EXPECT_LT(r.out.size(), 20000u) << "the report grew with the input";
}

// SIGTERM while a large export is read, mapped and loaded: stopped within a second, exit 130,
// nothing changed.
TEST_F(HardeningTest, ATermSignalStopsTheRunWithinASecond) {
  populate();
  const std::string before = read_bytes(db_);
  // About 60 MB: 20k users, each dragging a long array of nested junk the parser must walk.
  std::string junk = ",\"junk\":[";
  for (int i = 0; i < 60; ++i) junk += (i ? ",{\"a" : "{\"a") + std::to_string(i) + "\":[1,2,3,{\"b\":\"cccccccc\"}]}";
  junk += "]}";
  std::string text = "[";
  for (int i = 0; i < 20000; ++i) {
    json::object u = users_[0].as_object();
    u["id"] = i + 1;
    u["uid"] = "k" + std::to_string(i);
    std::string rec = json::serialize(u);
    rec.pop_back();
    text += (i ? "," : "") + rec + junk;
  }
  fs::path f = dir_ / "slow.json";
  write_bytes(f, text + "]");
  // The signal goes once the backup of the target is made (its line on stderr), when the import
  // has begun: at a point of the run, not after a time that a faster build may outrun.
  const fs::path log = dir_ / "stderr.log";
  std::vector<std::string> args = {"-c",
                                   "\"$0\" \"$@\" 2>\"$LOG\" & pid=$!; "
                                   "for i in $(seq 2000); do grep -q '^backup: ' \"$LOG\" 2>/dev/null && break; "
                                   "sleep 0.005; done; kill -TERM $pid; t0=$(date +%s%N); wait $pid; "
                                   "rc=$?; echo \"rc=$rc ms=$((($(date +%s%N)-t0)/1000000))\"; cat \"$LOG\" >&2",
                                   testing::dbtool_binary().string(),
                                   "migrate",
                                   "--db",
                                   db_.string(),
                                   "--json-file",
                                   f.string(),
                                   "--yes"};
  auto r = testing::run_program("/bin/bash", args, {{"LOG", log.string()}});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  ASSERT_NE(r.out.find("rc=130 "), std::string::npos) << r.out << r.err;
  int ms = std::stoi(r.out.substr(r.out.find("ms=") + 3));
  EXPECT_LT(ms, 1000) << r.out;
  EXPECT_NE(r.err.find("nothing was changed"), std::string::npos) << r.err;
  EXPECT_EQ(read_bytes(db_), before);
}

TEST_F(HardeningTest, AnIdBeyondTheLargestIsAnErrorNamingTheRecord) {
  json::array users = users_;
  users[0].as_object()["id"] = std::numeric_limits<int64_t>::max();
  users[1].as_object().erase("id");
  fs::path f = dir_ / "ids.json";
  write_bytes(f, json::serialize(users));
  auto r = migrate(f, {});
  EXPECT_EQ(r.exit_code, 4) << r.err;
  EXPECT_NE(r.err.find("record 1 "), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("none is left"), std::string::npos) << r.err;
  EXPECT_FALSE(fs::exists(db_));

  std::string text = json::serialize(users_);
  const std::string third = "{\"id\":3,\"uid\"";
  ASSERT_NE(text.find(third), std::string::npos);
  text.replace(text.find(third), third.size(), "{\"id\":9223372036854775808,\"uid\"");
  write_bytes(f, text);
  r = migrate(f, {});
  EXPECT_EQ(r.exit_code, 4) << r.err;
  EXPECT_NE(r.err.find("record 2 "), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("beyond the 64-bit integer range"), std::string::npos) << r.err;
}

TEST_F(HardeningTest, ControlCharactersInInputAreEscapedInMessages) {
  json::array users = users_;
  users[3].as_object()["uid"] = "\x1b]0;owned\x07\x1b[2J";
  users[3].as_object()["name"] = 12;
  fs::path f = dir_ / "escapes.json";
  write_bytes(f, json::serialize(users));
  auto r = migrate(f, {});
  EXPECT_EQ(r.exit_code, 4) << r.err;
  EXPECT_NE(r.err.find("record 3"), std::string::npos) << r.err;
  EXPECT_EQ(r.err.find('\x1b'), std::string::npos) << "raw ESC on the terminal";
  EXPECT_EQ(r.err.find('\x07'), std::string::npos);
  EXPECT_NE(r.err.find("\\x1b]0;owned\\x07"), std::string::npos) << r.err;
}

TEST_F(HardeningTest, AnEmptyPathIsAnErrorNotTheDefault) {
  for (std::vector<std::string> args : {std::vector<std::string>{"init", "--yes", "--db", ""},
                                        {"backup", "--db", db_.string(), "--backup-dir", ""},
                                        {"migrate", "--yes", "--db", db_.string(), "--json-file", ""},
                                        {"migrate", "--yes", "--db", db_.string(), "--reject-file", ""}}) {
    SCOPED_TRACE(args[0] + " " + args[args.size() - 2]);
    auto r = run_dbtool(args, {{"DBTOOL_DEFAULT_PASSWORD", "x"}}, dir_);
    EXPECT_NE(r.exit_code, 0);
    EXPECT_NE(r.err.find("must not be empty"), std::string::npos) << r.err;
  }
  EXPECT_FALSE(fs::exists(dir_ / "instance")) << "an empty --db created the default database";
}

}  // namespace
}  // namespace dbtool::testing
