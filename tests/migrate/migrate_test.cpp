// `dbtool migrate` end to end: the real binary, a real fake old server on loopback, real
// SQLite files. Checks the fallback chain, the cache rules, field-by-field fidelity, rejects,
// and that no failure touches the target.
#include <gtest/gtest.h>
#include <signal.h>
#include <sqlite3.h>
#include <sys/wait.h>
#include <unistd.h>

#include <boost/json.hpp>

#include <algorithm>
#include <chrono>
#include <optional>
#include <thread>

#include "run_dbtool.hpp"
#include "sqlite_file.hpp"
#include "temp_dir_test.hpp"

namespace dbtool::testing {
namespace {
namespace json = boost::json;

constexpr const char* kLegacyPassword = "Legacy-PW-7f3a9-secret";

// Rows of `sql`; each value as JSON (null, number, or string) so types are compared too.
std::vector<json::array> rows(const fs::path& db, const std::string& sql) {
  sqlite3* h = nullptr;
  EXPECT_EQ(sqlite3_open_v2(db.c_str(), &h, SQLITE_OPEN_READONLY, nullptr), SQLITE_OK);
  sqlite3_stmt* st = nullptr;
  std::vector<json::array> out;
  EXPECT_EQ(sqlite3_prepare_v2(h, sql.c_str(), -1, &st, nullptr), SQLITE_OK) << sqlite3_errmsg(h);
  while (st && sqlite3_step(st) == SQLITE_ROW) {
    json::array row;
    for (int i = 0; i < sqlite3_column_count(st); ++i) {
      switch (sqlite3_column_type(st, i)) {
        case SQLITE_NULL:
          row.emplace_back(nullptr);
          break;
        case SQLITE_INTEGER:
          row.emplace_back(sqlite3_column_int64(st, i));
          break;
        case SQLITE_FLOAT:
          row.emplace_back(sqlite3_column_double(st, i));
          break;
        default:
          row.emplace_back(reinterpret_cast<const char*>(sqlite3_column_text(st, i)));
      }
    }
    out.push_back(std::move(row));
  }
  sqlite3_finalize(st);
  sqlite3_close(h);
  return out;
}

int64_t count(const fs::path& db, const std::string& table) {
  return rows(db, "SELECT count(*) FROM " + table)[0][0].as_int64();
}

json::value field_or_null(const json::object& o, const char* key) {
  auto* v = o.if_contains(key);
  return v ? *v : json::value(nullptr);
}

// The app's seven tables (legacy-api.md, "The new database"), parents first.
const std::vector<std::string> kAppTables = {
    "users",       "sections",           "user_sections",          "table_stocks",
    "stock_users", "stock_transactions", "user_transaction_stocks"};

// Every table of the app exists, the ones the export does not feed are empty, and no row
// refers to a missing one.
void expect_whole_app(const fs::path& db) {
  auto tables =
      rows(db, "SELECT name FROM sqlite_master WHERE type = 'table' AND name != 'dbtool_history' ORDER BY name");
  std::vector<std::string> names;
  for (const auto& t : tables) names.emplace_back(t[0].as_string());
  std::vector<std::string> expected = kAppTables;
  std::sort(expected.begin(), expected.end());
  EXPECT_EQ(names, expected);
  for (const char* t : {"table_stocks", "stock_users", "stock_transactions", "user_transaction_stocks"})
    EXPECT_EQ(count(db, t), 0) << t;
  EXPECT_TRUE(rows(db, "PRAGMA foreign_key_check").empty());
}

// The database holds exactly the export: every user field by field, every section with the
// id the export gave it, every membership. A record without an email has the app's "?".
void expect_equals_export(const fs::path& db, const fs::path& export_file, const std::string& default_role = "User") {
  json::array users = json::parse(read_bytes(export_file)).as_array();
  auto db_users =
      rows(db, "SELECT id, _uid, _name, _email, _password, _role, _pfp, kasm_server_needed FROM users ORDER BY id");
  ASSERT_EQ(db_users.size(), users.size());
  std::map<std::string, int64_t> section_ids;
  std::map<std::string, std::string> section_names;
  for (const auto& s : rows(db, "SELECT id, _abbreviation, _name FROM sections")) {
    section_ids[std::string(s[1].as_string())] = s[0].as_int64();
    section_names[std::string(s[1].as_string())] = s[2].as_string();
  }
  std::set<std::string> exported_sections;
  std::set<std::tuple<int64_t, int64_t, std::string>> expected_links;
  for (size_t i = 0; i < users.size(); ++i) {
    const json::object& u = users[i].as_object();
    const json::array& r = db_users[i];
    SCOPED_TRACE("user " + std::string(u.at("uid").as_string()));
    EXPECT_EQ(r[0], u.at("id"));
    EXPECT_EQ(r[1], u.at("uid"));
    EXPECT_EQ(r[2], u.at("name"));
    EXPECT_EQ(r[3], u.contains("email") ? u.at("email") : json::value("?"));
    if (u.contains("password")) {
      EXPECT_EQ(r[4], u.at("password"));
    }
    EXPECT_EQ(r[5], u.contains("role") ? u.at("role") : json::value(default_role));
    EXPECT_EQ(r[6], field_or_null(u, "pfp"));
    EXPECT_EQ(r[7].as_int64(), u.at("kasm_server_needed").as_bool() ? 1 : 0);
    if (auto* secs = u.if_contains("sections"); secs && secs->is_array())
      for (const auto& s : secs->as_array()) {
        std::string abbr(s.at("abbreviation").as_string());
        ASSERT_TRUE(section_ids.count(abbr)) << abbr;
        exported_sections.insert(abbr);
        if (auto* id = s.as_object().if_contains("id")) {
          EXPECT_EQ(section_ids[abbr], id->as_int64()) << "the export's section id is kept: " << abbr;
        }
        EXPECT_EQ(section_names[abbr], s.at("name").as_string());
        expected_links.insert(
            {u.at("id").as_int64(), section_ids[abbr], json::serialize(field_or_null(s.as_object(), "year"))});
      }
  }
  std::set<std::tuple<int64_t, int64_t, std::string>> actual_links;
  for (const auto& l : rows(db, "SELECT user_id, section_id, year FROM user_sections"))
    actual_links.insert({l[0].as_int64(), l[1].as_int64(), json::serialize(l[2])});
  EXPECT_EQ(actual_links, expected_links);
  EXPECT_EQ(section_ids.size(), exported_sections.size());
  expect_whole_app(db);
}

// The fake old server (tests/fixtures/fake_legacy_server.py) as a real process on loopback.
class FakeServer {
 public:
  // With `tls` (a certificate and its key) it serves HTTPS.
  explicit FakeServer(const fs::path& dir, const fs::path& export_file,
                      std::optional<std::pair<fs::path, fs::path>> tls = std::nullopt)
      : scheme_(tls ? "https" : "http") {
    fs::path port_file = dir / "port";
    fs::remove(port_file);
    std::vector<std::string> args = {"python3",     (testing::fixtures_dir() / "fake_legacy_server.py").string(),
                                     "--export",    export_file.string(),
                                     "--uid",       "admin",
                                     "--password",  kLegacyPassword,
                                     "--port",      "0",
                                     "--port-file", port_file.string()};
    if (tls) args.insert(args.end(), {"--tls-cert", tls->first.string(), "--tls-key", tls->second.string()});
    pid_ = fork();
    if (pid_ == 0) {
      std::vector<char*> argv;
      for (auto& a : args) argv.push_back(a.data());
      argv.push_back(nullptr);
      execvp("python3", argv.data());
      _exit(127);
    }
    for (int i = 0; i < 100 && port_.empty(); ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
      std::string p = read_bytes(port_file);
      while (!p.empty() && (p.back() == '\n' || p.back() == ' ')) p.pop_back();
      if (!p.empty()) port_ = p;
    }
  }
  ~FakeServer() {
    if (pid_ > 0) {
      kill(pid_, SIGTERM);
      waitpid(pid_, nullptr, 0);
    }
  }
  std::string url() const { return scheme_ + "://127.0.0.1:" + port_; }
  bool ok() const { return !port_.empty(); }
  void set_mode(const std::string& mode) {
    // The control endpoint switches the failure mode of the running server.
    std::string cmd = "python3 -c \"import urllib.request; urllib.request.urlopen('" + url() +
                      "/__control?mode=" + mode + "').read()\"";
    ASSERT_EQ(std::system(cmd.c_str()), 0) << "cannot switch the fake server to " << mode;
  }

 private:
  std::string scheme_;
  pid_t pid_ = -1;
  std::string port_;
};

class MigrateTest : public testing::TempDirTest {
 protected:
  void SetUp() override {
    TempDirTest::SetUp();
    cache_ = dir_ / "data.json";
    export_ = testing::fixtures_dir() / "sample-export.json";
  }
  testing::RunResult migrate(std::vector<std::string> extra, std::map<std::string, std::string> env = {}) {
    std::vector<std::string> args = {"migrate",       "--db",  db_.string(),   "--json-file",
                                     cache_.string(), "--yes", "--backup-dir", (dir_ / "backups").string()};
    args.insert(args.end(), extra.begin(), extra.end());
    env.emplace("DBTOOL_LEGACY_UID", "admin");
    env.emplace("DBTOOL_LEGACY_PASSWORD", kLegacyPassword);
    auto r = run_dbtool(args, env);
    EXPECT_EQ(r.out.find(kLegacyPassword), std::string::npos) << "password in stdout";
    EXPECT_EQ(r.err.find(kLegacyPassword), std::string::npos) << "password in stderr";
    return r;
  }
  // A target that already holds data, to prove failures leave it untouched.
  void populate() {
    auto r = run_dbtool({"init", "--db", db_.string()}, {{"DBTOOL_DEFAULT_PASSWORD", "x"}});
    ASSERT_EQ(r.exit_code, 0) << r.err;
  }

  fs::path cache_, export_;
};

TEST_F(MigrateTest, FromJsonFileEqualsTheExportFieldByField) {
  fs::copy_file(export_, cache_);
  auto r = migrate({"--json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  json::object report = json::parse(r.out).as_object();
  EXPECT_EQ(report.at("source").as_string(), "json-file");
  // The importer built both keys of user_sections from the users and sections it loaded.
  EXPECT_EQ(report.at("foreign_keys_guaranteed"), (json::array{"fk_user_sections_user", "fk_user_sections_section"}));
  expect_equals_export(db_, export_);
  // The fields another deployment's schema had: counted per field, not migrated, not errors.
  json::array users = json::parse(read_bytes(export_)).as_array();
  for (const char* field : {"sid", "class", "grade_data", "ap_exam", "school"}) {
    int64_t present = 0;
    for (const auto& u : users) present += u.as_object().contains(field) ? 1 : 0;
    ASSERT_GT(present, 0) << field;
    EXPECT_EQ(report.at("import").at("unknown_fields").at(field).to_number<int64_t>(), present) << field;
  }
  EXPECT_EQ(report.at("import").at("when_missing").as_object().size(), 0u);
  auto history = rows(db_, "SELECT operation, source FROM dbtool_history");
  ASSERT_EQ(history.size(), 1u);
  EXPECT_EQ(history[0][0].as_string(), "migrate");
  EXPECT_EQ(history[0][1].as_string(), "json-file");
}

TEST_F(MigrateTest, OlderExportShapeTakesDefaultsAndCountsDefaultPasswords) {
  fs::copy_file(testing::fixtures_dir() / "sample-export-v1.json", cache_);
  // No hash in the export and no default password: refuse, never invent one silently.
  auto refused = migrate({});
  EXPECT_NE(refused.exit_code, 0);
  EXPECT_NE(refused.err.find("DBTOOL_DEFAULT_PASSWORD"), std::string::npos) << refused.err;
  EXPECT_FALSE(fs::exists(db_) && count(db_, "users") > 0);

  auto r = migrate({"--json"}, {{"DBTOOL_DEFAULT_PASSWORD", "Reset-Me-1"}});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  expect_equals_export(db_, testing::fixtures_dir() / "sample-export-v1.json");
  json::object report = json::parse(r.out).as_object();
  int64_t users = json::parse(read_bytes(cache_)).as_array().size();
  EXPECT_EQ(report.at("import").at("default_password_users").to_number<int64_t>(), users);
  // No email in this shape: each user got the app's placeholder, and the report counts them.
  EXPECT_EQ(report.at("import").at("when_missing").at("email").to_number<int64_t>(), users);
  EXPECT_EQ(count(db_, "users WHERE _email = '?'"), users);
  // Sections without ids get ids after the highest the export gave, and are no less present.
  json::array v1 = json::parse(read_bytes(cache_)).as_array();
  json::value& last_sections = v1.back().as_object()["sections"];
  if (!last_sections.is_array()) last_sections = json::array{};
  last_sections.as_array().push_back(json::object{{"abbreviation", "NEW"}, {"name", "New one"}});
  write_bytes(cache_, json::serialize(v1));
  r = migrate({"--json"}, {{"DBTOOL_DEFAULT_PASSWORD", "Reset-Me-1"}});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(rows(db_, "SELECT id FROM sections WHERE _abbreviation = 'NEW'")[0][0].as_int64(),
            rows(db_, "SELECT max(id) FROM sections WHERE _abbreviation != 'NEW'")[0][0].as_int64() + 1);
}

// One section, two ids (or one id, two sections) in one export: which is right cannot be told,
// so the run stops naming both records, and the target keeps what it had.
TEST_F(MigrateTest, ConflictingSectionIdsNameBothRecordsAndChangeNothing) {
  populate();
  const std::string before = read_bytes(db_);
  json::array users = json::parse(read_bytes(export_)).as_array();
  // The first record with a section, and a later one with the same abbreviation.
  size_t a = 0;
  while (users[a].at("sections").as_array().empty()) ++a;
  json::object first_section = users[a].at("sections").as_array()[0].as_object();
  const std::string abbr(first_section.at("abbreviation").as_string());
  size_t b = a + 1;
  auto has_abbr = [&](size_t i) {
    for (const auto& s : users[i].at("sections").as_array())
      if (s.at("abbreviation").as_string() == abbr) return true;
    return false;
  };
  while (!has_abbr(b)) ++b;
  for (auto& s : users[b].as_object()["sections"].as_array())
    if (s.at("abbreviation").as_string() == abbr) s.as_object()["id"] = 999;
  write_bytes(cache_, json::serialize(users));
  auto r = migrate({});
  EXPECT_NE(r.exit_code, 0);
  const std::string rec_a =
      "record " + std::to_string(a) + " (uid " + std::string(users[a].at("uid").as_string()) + ")";
  const std::string rec_b =
      "record " + std::to_string(b) + " (uid " + std::string(users[b].at("uid").as_string()) + ")";
  EXPECT_NE(r.err.find(rec_a), std::string::npos) << r.err;
  EXPECT_NE(r.err.find(rec_b), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("\"" + abbr + "\""), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("999"), std::string::npos) << r.err;
  EXPECT_EQ(read_bytes(db_), before);

  // The other way round: a new abbreviation with an id another section already has.
  users = json::parse(read_bytes(export_)).as_array();
  users[b].as_object()["sections"].as_array().push_back(
      json::object{{"id", first_section.at("id")}, {"abbreviation", "OTHER"}, {"name", "Other"}});
  write_bytes(cache_, json::serialize(users));
  r = migrate({});
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.err.find(rec_a), std::string::npos) << r.err;
  EXPECT_NE(r.err.find(rec_b), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("\"OTHER\""), std::string::npos) << r.err;
  EXPECT_EQ(read_bytes(db_), before);
}

TEST_F(MigrateTest, HttpLegacyServesAndRefreshesTheCacheKeepingABak) {
  FakeServer server(dir_, export_);
  ASSERT_TRUE(server.ok());
  write_bytes(cache_, "[]");
  auto r = migrate({"--source", "http-legacy,json-file", "--legacy-url", server.url(), "--json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  json::object report = json::parse(r.out).as_object();
  EXPECT_EQ(report.at("source").as_string(), "http-legacy");
  EXPECT_EQ(read_bytes(cache_), read_bytes(export_)) << "the download became the cache";
  int baks = 0;
  for (const auto& e : fs::directory_iterator(dir_))
    if (e.path().extension() == ".bak") {
      ++baks;
      EXPECT_EQ(read_bytes(e.path()), "[]") << "the previous cache is kept";
    }
  EXPECT_EQ(baks, 1);
  expect_equals_export(db_, export_);
}

TEST_F(MigrateTest, EveryServerFailureFallsBackToTheUnchangedCache) {
  FakeServer server(dir_, export_);
  ASSERT_TRUE(server.ok());
  fs::copy_file(export_, cache_);
  const std::string cache_bytes = read_bytes(cache_);
  const std::map<std::string, std::string> reasons = {
      {"wrong-password", "401"},
      {"server-error", "500"},
      {"drop", "truncated"},
      {"slow", "timed out"},
      {"malformed", "bad JSON at byte"},
      {"oversized", "larger than"},
      // Valid JSON that is not an export: a download counts only once it parses as records.
      {"empty", "holds no records"},
      {"not-records", "record 0 is int64, not an object"},
      {"no-key", "record 100 has no \"uid\""}};
  for (const auto& [mode, reason] : reasons) {
    SCOPED_TRACE(mode);
    server.set_mode(mode);
    auto r = migrate({"--source", "http-legacy,json-file", "--legacy-url", server.url(), "--timeout", "3", "--retries",
                      "0", "--max-body-bytes", "1000000", "--json"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    json::object report = json::parse(r.out).as_object();
    EXPECT_EQ(report.at("source").as_string(), "json-file");
    const json::array& attempts = report.at("sources").as_array();
    ASSERT_EQ(attempts.size(), 2u);
    EXPECT_FALSE(attempts[0].at("served").as_bool());
    EXPECT_NE(std::string(attempts[0].at("reason").as_string()).find(reason), std::string::npos)
        << attempts[0].at("reason");
    EXPECT_EQ(read_bytes(cache_), cache_bytes) << "a failed download touched the cache";
    for (const auto& e : fs::directory_iterator(dir_)) {
      EXPECT_NE(e.path().extension(), ".bak");
      EXPECT_EQ(e.path().filename().string().find(".download"), std::string::npos) << "leftover " << e.path();
    }
    expect_equals_export(db_, export_);
  }
}

// TLS is verified unless --insecure says otherwise: a self-signed server is refused (and the
// chain falls back), trusted with --ca-file, and reached with --insecure only with a warning.
TEST_F(MigrateTest, HttpsServersAreVerified) {
  const fs::path cert = dir_ / "server.pem", key = dir_ / "server.key";
  const std::string make_cert =
      "openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=127.0.0.1 "
      "-addext subjectAltName=IP:127.0.0.1 -keyout '" +
      key.string() + "' -out '" + cert.string() + "' >/dev/null 2>&1";
  ASSERT_EQ(std::system(make_cert.c_str()), 0) << "openssl is needed to make a test certificate";
  FakeServer server(dir_, export_, std::make_pair(cert, key));
  ASSERT_TRUE(server.ok());
  ASSERT_EQ(server.url().rfind("https://", 0), 0u);
  fs::copy_file(export_, cache_);
  const std::vector<std::string> chain = {
      "--source", "http-legacy,json-file", "--legacy-url", server.url(), "--retries", "0", "--json"};

  auto r = migrate(chain);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  json::object report = json::parse(r.out).as_object();
  EXPECT_EQ(report.at("source").as_string(), "json-file");
  std::string reason(report.at("sources").as_array().at(0).at("reason").as_string());
  EXPECT_NE(reason.find("certificate"), std::string::npos) << reason;

  auto with = [&](std::vector<std::string> extra) {
    extra.insert(extra.begin(), chain.begin(), chain.end());
    return migrate(extra);
  };
  r = with({"--ca-file", cert.string()});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(json::parse(r.out).at("source").as_string(), "http-legacy");
  EXPECT_EQ(r.err.find("--insecure"), std::string::npos) << r.err;

  r = with({"--insecure"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(json::parse(r.out).at("source").as_string(), "http-legacy");
  EXPECT_NE(r.err.find("TLS verification is off"), std::string::npos) << r.err;
  expect_equals_export(db_, export_);
}

TEST_F(MigrateTest, ServerDownFallsBackToTheCache) {
  fs::copy_file(export_, cache_);
  auto r =
      migrate({"--source", "http-legacy,json-file", "--legacy-url", "http://127.0.0.1:9", "--retries", "0", "--json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(json::parse(r.out).at("source").as_string(), "json-file");
}

TEST_F(MigrateTest, BadRecordStopsTheRunAndLeavesTheTargetByteIdentical) {
  populate();
  const std::string before = read_bytes(db_);
  json::array users = json::parse(read_bytes(export_)).as_array();
  users[5].as_object()["uid"] = 12345;  // a number where the schema needs a string
  write_bytes(cache_, json::serialize(users));
  auto r = migrate({});
  EXPECT_EQ(r.exit_code, 4) << r.err;
  EXPECT_NE(r.err.find("record 5"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("uid"), std::string::npos) << r.err;
  EXPECT_EQ(read_bytes(db_), before);
}

TEST_F(MigrateTest, RejectFileReconciles) {
  json::array users = json::parse(read_bytes(export_)).as_array();
  const size_t total = users.size();
  users[3].as_object()["uid"] = 12345;
  users[7] = "not an object";
  users[9].as_object().erase("name");
  write_bytes(cache_, json::serialize(users));
  fs::path rejects = dir_ / "rejects.jsonl";
  auto r = migrate({"--reject-file", rejects.string(), "--max-rejects", "3", "--json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  json::object imp = json::parse(r.out).at("import").as_object();
  EXPECT_EQ(imp.at("records_read").to_number<int64_t>(), static_cast<int64_t>(total));
  EXPECT_EQ(imp.at("records_rejected").to_number<int64_t>(), 3);
  EXPECT_EQ(imp.at("records_loaded").to_number<int64_t>(), static_cast<int64_t>(total) - 3);
  EXPECT_EQ(count(db_, "users"), static_cast<int64_t>(total) - 3);
  std::string lines = read_bytes(rejects);
  EXPECT_EQ(std::count(lines.begin(), lines.end(), '\n'), 3);
  size_t first_end = lines.find('\n');
  json::object first = json::parse(lines.substr(0, first_end)).as_object();
  EXPECT_EQ(first.at("index").to_number<int64_t>(), 3);
  EXPECT_FALSE(first.at("reason").as_string().empty());
}

// The guards before the swap: an empty export, or one that would leave a table with fewer rows
// than the target holds, is refused (target byte-identical, each table before -> after) unless
// --allow-shrink.
TEST_F(MigrateTest, AnEmptyExportIsRefusedUnlessAllowShrink) {
  write_bytes(cache_, "[]");
  auto r = migrate({});
  EXPECT_EQ(r.exit_code, 3) << r.err;
  EXPECT_NE(r.err.find("no rows at all"), std::string::npos) << r.err;
  EXPECT_FALSE(fs::exists(db_)) << "an empty target stays as it was, too";

  populate();
  const std::string before = read_bytes(db_);
  r = migrate({});
  EXPECT_EQ(r.exit_code, 3) << r.err;
  EXPECT_NE(r.err.find("users: 5 -> 0 rows"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("--allow-shrink"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("nothing was changed"), std::string::npos) << r.err;
  EXPECT_EQ(read_bytes(db_), before);

  r = migrate({"--allow-shrink"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(count(db_, "users"), 0);
  EXPECT_NE(r.out.find("shrunk:   users 5 -> 0 rows"), std::string::npos) << r.out;
}

TEST_F(MigrateTest, AShrinkingMigrationIsRefusedWithEachTableBeforeAndAfter) {
  fs::copy_file(export_, cache_);
  ASSERT_EQ(migrate({}).exit_code, 0);
  const std::string before = read_bytes(db_);
  json::array users = json::parse(read_bytes(export_)).as_array();
  users.resize(150);
  int64_t links = 0;
  for (const auto& u : users)
    if (auto* s = u.as_object().if_contains("sections"); s && s->is_array()) links += s->as_array().size();
  write_bytes(cache_, json::serialize(users));
  auto r = migrate({});
  EXPECT_EQ(r.exit_code, 3) << r.err;
  EXPECT_NE(r.err.find("users: 200 -> 150 rows"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("user_sections: 306 -> " + std::to_string(links) + " rows"), std::string::npos) << r.err;
  EXPECT_EQ(read_bytes(db_), before);

  r = migrate({"--allow-shrink", "--json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(count(db_, "users"), 150);
  std::map<std::string, std::pair<int64_t, int64_t>> shrunk;
  json::value report = json::parse(r.out);
  for (const auto& t : report.at("shrunk").as_array())
    shrunk[std::string(t.at("name").as_string())] = {t.at("before").to_number<int64_t>(),
                                                     t.at("after").to_number<int64_t>()};
  EXPECT_EQ(shrunk["users"], std::make_pair(int64_t{200}, int64_t{150}));
  EXPECT_EQ(shrunk["user_sections"], std::make_pair(int64_t{306}, links));
}

// Rejected records have a ceiling: 0 without --reject-file, 1% of the records with it, or
// --max-rejects; past it the run fails and the target is byte-identical.
TEST_F(MigrateTest, RejectsAboveTheCeilingFailTheRun) {
  populate();
  const std::string before = read_bytes(db_);
  fs::path rejects = dir_ / "rejects.jsonl";
  // A v1 export without DBTOOL_DEFAULT_PASSWORD: every record is rejected.
  fs::copy_file(testing::fixtures_dir() / "sample-export-v1.json", cache_);
  auto r = migrate({"--reject-file", rejects.string()}, {{"DBTOOL_DEFAULT_PASSWORD", ""}});
  EXPECT_EQ(r.exit_code, 4) << r.err;
  EXPECT_NE(r.err.find("100 of 100 records could not be mapped"), std::string::npos) << r.err;
  EXPECT_EQ(read_bytes(db_), before);

  // 3 bad records of 200: above the default 1% (2), within --max-rejects 3.
  json::array users = json::parse(read_bytes(export_)).as_array();
  for (int i : {3, 7, 9}) users[i].as_object()["uid"] = 12345;
  write_bytes(cache_, json::serialize(users));
  r = migrate({"--reject-file", rejects.string()});
  EXPECT_EQ(r.exit_code, 4) << r.err;
  EXPECT_NE(r.err.find("3 of 200 records"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("more than the 2"), std::string::npos) << r.err;
  EXPECT_EQ(read_bytes(db_), before);
  r = migrate({"--reject-file", rejects.string(), "--max-rejects", "2"});
  EXPECT_EQ(r.exit_code, 4) << r.err;
  EXPECT_EQ(read_bytes(db_), before);

  r = migrate({"--max-rejects", "3"});
  EXPECT_EQ(r.exit_code, 2) << "rejects need somewhere to go: " << r.err;
  EXPECT_NE(r.err.find("--reject-file"), std::string::npos) << r.err;

  r = migrate({"--reject-file", rejects.string(), "--max-rejects", "3"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("rejected: 3 records (at most 3 allowed)"), std::string::npos) << r.out;
  EXPECT_EQ(count(db_, "users"), 197);
}

TEST_F(MigrateTest, DuplicateUidFailsClearlyAndChangesNothing) {
  populate();
  const std::string before = read_bytes(db_);
  json::array users = json::parse(read_bytes(export_)).as_array();
  users[4].as_object()["uid"] = users[2].at("uid");
  write_bytes(cache_, json::serialize(users));
  auto r = migrate({});
  EXPECT_NE(r.exit_code, 0);
  const std::string uid = json::serialize(users[2].at("uid"));
  EXPECT_NE(r.err.find("duplicate key in table users: uq_users_uid (_uid) = " + uid), std::string::npos) << r.err;
  EXPECT_EQ(read_bytes(db_), before);

  // A repeated id is named the same way, with the primary key.
  users = json::parse(read_bytes(export_)).as_array();
  users[4].as_object()["id"] = users[2].at("id");
  write_bytes(cache_, json::serialize(users));
  r = migrate({});
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.err.find("duplicate key in table users: primary key (id) = " + json::serialize(users[2].at("id"))),
            std::string::npos)
      << r.err;
  EXPECT_EQ(read_bytes(db_), before);
}

// JSON keeps one copy of a repeated key; a record (or a nested section) that repeats one is
// ambiguous and is never loaded as if it were clear.
TEST_F(MigrateTest, ARepeatedKeyInARecordIsRefusedNotGuessed) {
  populate();
  const std::string before = read_bytes(db_);
  json::array users = json::parse(read_bytes(export_)).as_array();
  std::string text = "[";
  for (size_t i = 0; i < users.size(); ++i) {
    std::string rec = json::serialize(users[i]);
    if (i == 2) rec = rec.substr(0, rec.size() - 1) + R"(,"uid":"hijacked"})";
    if (i == 4) {  // inside the first nested section
      size_t at = rec.find("\"abbreviation\"");
      ASSERT_NE(at, std::string::npos);
      rec.insert(at, R"("name":"twice",)");
    }
    text += (i ? "," : "") + rec;
  }
  write_bytes(cache_, text + "]");
  auto r = migrate({});
  EXPECT_EQ(r.exit_code, 4) << r.err;
  EXPECT_NE(r.err.find("record 2"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("\"uid\" appears twice"), std::string::npos) << r.err;
  EXPECT_EQ(read_bytes(db_), before);

  fs::path rejects = dir_ / "rejects.jsonl";
  r = migrate({"--reject-file", rejects.string(), "--json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(json::parse(r.out).at("import").at("records_rejected").to_number<int64_t>(), 2);
  std::string lines = read_bytes(rejects);
  EXPECT_NE(lines.find("\\\"name\\\" appears twice"), std::string::npos) << lines;
  EXPECT_EQ(count(db_, "users"), static_cast<int64_t>(users.size()) - 2);
}

TEST_F(MigrateTest, MalformedOrMissingExportChangesNothing) {
  populate();
  const std::string before = read_bytes(db_);
  std::string text = read_bytes(export_);
  write_bytes(cache_, text.substr(0, text.size() / 2));  // a truncated file
  auto r = migrate({});
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.err.find("bad JSON at byte"), std::string::npos) << r.err;
  fs::remove(cache_);
  r = migrate({});
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.err.find(cache_.string()), std::string::npos) << r.err;
  EXPECT_EQ(read_bytes(db_), before);
}

TEST_F(MigrateTest, KilledMidRunLeavesTheTargetAsItWas) {
  populate();
  const std::string before = read_bytes(db_);
  fs::copy_file(export_, cache_);
  for (std::string point : {"after-stage:kill", "after-load:kill", "before-commit:kill", "after-load"}) {
    SCOPED_TRACE(point);
    auto r = migrate({}, {{"DBTOOL_TEST_FAULT", point}});
    EXPECT_NE(r.exit_code, 0);
    EXPECT_EQ(read_bytes(db_), before);
  }
  auto r = migrate({});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  expect_equals_export(db_, export_);
}

// A disk that fills up while the new database is loaded (simulated with a file size limit, so
// no privileges are needed): a clear error, the target byte-identical, no stage left behind.
TEST_F(MigrateTest, FullDiskDuringTheLoadLeavesTheTargetByteIdentical) {
  populate();
  const std::string before = read_bytes(db_);
  json::array sample = json::parse(read_bytes(export_)).as_array(), users;
  for (int copy = 0; copy < 40; ++copy)
    for (const auto& u : sample) {
      json::object o = u.as_object();
      o["uid"] = std::string(o.at("uid").as_string()) + "-" + std::to_string(copy);
      o["id"] = static_cast<int64_t>(users.size()) + 1;
      users.push_back(std::move(o));
    }
  write_bytes(cache_, json::serialize(users));
  ASSERT_GT(fs::file_size(cache_), 2u << 20) << "the new database must outgrow the limit";
  std::vector<std::string> args = {"-c",
                                   "trap '' XFSZ; ulimit -f 2048; exec \"$0\" \"$@\"",
                                   testing::dbtool_binary().string(),
                                   "migrate",
                                   "--db",
                                   db_.string(),
                                   "--json-file",
                                   cache_.string(),
                                   "--yes",
                                   "--backup-dir",
                                   (dir_ / "backups").string()};
  auto r = testing::run_program("/bin/sh", args, {{"DBTOOL_DEFAULT_PASSWORD", "x"}});
  EXPECT_NE(r.exit_code, 0);
  EXPECT_EQ(r.exit_code, 1) << "an error, not a signal: " << r.err;
  EXPECT_NE(r.err.find("disk full"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("nothing was changed"), std::string::npos) << r.err;
  EXPECT_EQ(read_bytes(db_), before);
  for (const auto& e : fs::directory_iterator(dir_))
    EXPECT_EQ(e.path().filename().string().find("stage"), std::string::npos) << "left behind: " << e.path();
  // With room again the same run goes through.
  r = migrate({});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(count(db_, "users"), static_cast<int64_t>(users.size()));
}

// The backup is flushed and renamed into place while the new database loads; the cut-over
// waits for it. When that fails (injected between the flush and the rename), the run stops
// before the cut-over: the target as it was, no backup and no partial file left.
TEST_F(MigrateTest, ABackupThatCannotBePlacedStopsTheRunBeforeTheCutOver) {
  populate();
  const std::string before = read_bytes(db_);
  fs::copy_file(export_, cache_);
  auto r = migrate({}, {{"DBTOOL_TEST_FAULT", "backup-written"}});
  EXPECT_EQ(r.exit_code, 1) << r.err;
  EXPECT_NE(r.err.find("injected fault at backup-written"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("nothing was changed"), std::string::npos) << r.err;
  EXPECT_EQ(read_bytes(db_), before);
  EXPECT_TRUE(fs::is_empty(dir_ / "backups"));
  for (const auto& e : fs::directory_iterator(dir_))
    EXPECT_EQ(e.path().filename().string().find("stage"), std::string::npos) << "left behind: " << e.path();
  // Killed there instead: the hidden partial file stays until the next run, which removes it.
  r = migrate({}, {{"DBTOOL_TEST_FAULT", "backup-written:kill"}});
  EXPECT_EQ(r.exit_code, 128 + 9) << r.err;
  EXPECT_EQ(read_bytes(db_), before);
  r = migrate({});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  std::vector<std::string> names;
  for (const auto& e : fs::directory_iterator(dir_ / "backups")) names.push_back(e.path().filename().string());
  ASSERT_EQ(names.size(), 1u);
  EXPECT_NE(names[0][0], '.') << "the killed run's partial file is removed: " << names[0];
}

// Ctrl-C at any moment before the cut-over: exit 130, the target as it was, no stage left.
TEST_F(MigrateTest, InterruptedRunsChangeNothing) {
  populate();
  const std::string before = read_bytes(db_);
  fs::copy_file(export_, cache_);
  for (std::string point : {"mid-load:interrupt", "after-load:interrupt", "before-commit:interrupt"}) {
    SCOPED_TRACE(point);
    auto r = migrate({}, {{"DBTOOL_TEST_FAULT", point}});
    EXPECT_EQ(r.exit_code, 130) << r.err;
    EXPECT_NE(r.err.find("cancelled"), std::string::npos) << r.err;
    EXPECT_NE(r.err.find("nothing was changed"), std::string::npos) << r.err;
    EXPECT_EQ(read_bytes(db_), before);
    for (const auto& e : fs::directory_iterator(dir_))
      EXPECT_EQ(e.path().filename().string().find("stage"), std::string::npos) << "left behind: " << e.path();
  }
}

// Another program writes to the target while the run is paused between backup and cut-over:
// the swap would lose that write, so it is refused (the write kept) unless
// --allow-concurrent-writes.
TEST_F(MigrateTest, AWriteAfterTheBackupRefusesTheCutOver) {
  populate();
  fs::copy_file(export_, cache_);
  const fs::path pause = dir_ / "pause";
  auto run_with_a_write = [&](std::vector<std::string> extra, const std::string& name) {
    testing::RunResult r;
    std::thread run([&] {
      r = migrate(extra, {{"DBTOOL_TEST_FAULT", "before-commit:pause"}, {"DBTOOL_TEST_PAUSE_FILE", pause.string()}});
    });
    for (int i = 0; i < 3000 && !fs::exists(pause); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(10));
    EXPECT_TRUE(fs::exists(pause)) << "the run never reached before-commit";
    sqlite_exec(db_, "UPDATE users SET _name = '" + name + "' WHERE id = (SELECT min(id) FROM users)");
    fs::remove(pause);
    run.join();
    return r;
  };
  auto r = run_with_a_write({}, "written during the run");
  EXPECT_EQ(r.exit_code, 3) << r.err;
  EXPECT_NE(r.err.find("after its backup was taken"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("--allow-concurrent-writes"), std::string::npos) << r.err;
  EXPECT_EQ(rows(db_, "SELECT count(*) FROM users WHERE _name = 'written during the run'")[0][0].as_int64(), 1)
      << "the write is kept";
  EXPECT_EQ(count(db_, "users"), 5);

  r = run_with_a_write({"--allow-concurrent-writes"}, "replaced by the run");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  expect_equals_export(db_, export_);
}

// A table the schema does not know (an application's audit table) is named before anything
// happens and never dropped silently: with --yes the run is refused unless --drop-unknown.
TEST_F(MigrateTest, ATableTheSchemaDoesNotKnowIsNamedAndNotDroppedSilently) {
  populate();
  ASSERT_NO_FATAL_FAILURE(
      sqlite_exec(db_, "CREATE TABLE audit_log (at TEXT); INSERT INTO audit_log VALUES ('a'), ('b'), ('c')"));
  const std::string before = read_bytes(db_);
  fs::copy_file(export_, cache_);
  auto r = migrate({});
  EXPECT_EQ(r.exit_code, 3) << r.err;
  EXPECT_NE(r.err.find("audit_log (3 rows)"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("--drop-unknown"), std::string::npos) << r.err;
  EXPECT_EQ(read_bytes(db_), before);
  EXPECT_FALSE(fs::exists(dir_ / "backups") && fs::directory_iterator(dir_ / "backups") != fs::directory_iterator())
      << "refused before the backup";

  r = migrate({"--drop-unknown"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.err.find("audit_log (3 rows)"), std::string::npos) << "still named: " << r.err;
  expect_equals_export(db_, export_);
  EXPECT_TRUE(rows(db_, "SELECT name FROM sqlite_master WHERE name = 'audit_log'").empty());
}

// Views and triggers are outside any portable schema: named like unknown tables before
// anything happens, refused with --yes unless --drop-unknown, and listed in the report.
TEST_F(MigrateTest, ViewsAndTriggersAreNamedAndNotDroppedSilently) {
  populate();
  ASSERT_NO_FATAL_FAILURE(sqlite_exec(db_,
                                      "CREATE VIEW active_users AS SELECT _uid FROM users;"
                                      "CREATE TRIGGER users_touch AFTER UPDATE ON users BEGIN SELECT 1; END;"));
  const std::string before = read_bytes(db_);
  fs::copy_file(export_, cache_);
  auto r = migrate({});
  EXPECT_EQ(r.exit_code, 3) << r.err;
  EXPECT_NE(r.err.find("view active_users"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("trigger users_touch (on users)"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("--drop-unknown"), std::string::npos) << r.err;
  EXPECT_EQ(read_bytes(db_), before);

  r = migrate({"--drop-unknown", "--json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.err.find("view active_users"), std::string::npos) << "still named: " << r.err;
  const auto listed = json::parse(r.out).at("not_in_schema").as_array();
  ASSERT_EQ(listed.size(), 2u) << r.out;
  EXPECT_EQ(listed[0].at("kind").as_string(), "view");
  EXPECT_EQ(listed[1].at("name").as_string(), "users_touch");
  expect_equals_export(db_, export_);
}

TEST_F(MigrateTest, WithDefaultsAddsTestUsersButTheExportWins) {
  json::array users = json::parse(read_bytes(export_)).as_array();
  users[0].as_object()["uid"] = "admin";  // the export also has an "admin"
  write_bytes(cache_, json::serialize(users));
  auto r = migrate({"--with-defaults", "--json"}, {{"DBTOOL_DEFAULT_PASSWORD", "x"}});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_GT(count(db_, "users"), static_cast<int64_t>(users.size()));
  auto admin = rows(db_, "SELECT id, _name FROM users WHERE _uid = 'admin'");
  ASSERT_EQ(admin.size(), 1u);
  EXPECT_EQ(admin[0][0], users[0].at("id")) << "the export's admin won";
  EXPECT_EQ(admin[0][1], users[0].at("name"));
}

// A fraction of a second is a timeout, not "no timeout" (curl reads 0 as no limit): a stalled
// server is given up on in time and the chain moves on. Zero is refused.
TEST_F(MigrateTest, FractionalTimeoutsAreHonouredInMilliseconds) {
  FakeServer server(dir_, export_);
  ASSERT_TRUE(server.ok());
  server.set_mode("slow");
  fs::copy_file(export_, cache_);
  const auto t0 = std::chrono::steady_clock::now();
  auto r = migrate({"--source", "http-legacy,json-file", "--legacy-url", server.url(), "--retries", "0", "--timeout",
                    "0.5", "--json"});
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(json::parse(r.out).at("source").as_string(), "json-file");
  EXPECT_LT(seconds, 10.0) << "the 0.5 s timeout was not applied";
  for (const char* zero : {"--timeout", "--connect-timeout"}) {
    r = migrate({"--source", "http-legacy", "--legacy-url", server.url(), zero, "0"});
    EXPECT_NE(r.exit_code, 0) << zero;
    EXPECT_NE(r.err.find("not in range"), std::string::npos) << zero << ": " << r.err;
  }
}

}  // namespace
}  // namespace dbtool::testing
