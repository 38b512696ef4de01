// The SQLite backend as a migration source (ABI 1.1) on the old app's own databases, written by
// tests/fixtures/gen-old-db as SQLAlchemy wrote them: describe_schema gives the app's structure,
// read_table its values in the canonical forms, a read-only session writes nothing, and a
// snapshot ignores what the running app commits meanwhile.
#include <gtest/gtest.h>

#include <dbtool/plugin.h>
#include <dbtool/sdk/arrow.hpp>
#include <dbtool/sdk/schema.hpp>

#include <sqlite3.h>
#include <boost/json.hpp>

#include <set>

#include "plugins/plugin_error.hpp"
#include "plugins/plugin_registry.hpp"
#include "run_dbtool.hpp"
#include "temp_dir_test.hpp"

namespace dbtool {
namespace {
namespace fs = std::filesystem;
namespace json = boost::json;

using Err = PluginErrorHolder;  // the host's owner of a dbtool_error

std::string take_text(dbtool_text& t) {
  std::string s = t.data ? std::string(t.data, t.size) : "";
  if (t.release) t.release(&t);
  return s;
}

// Every file in `dir` with its bytes, to prove nothing was written or added.
std::map<std::string, std::string> snapshot_of(const fs::path& dir) {
  std::map<std::string, std::string> out;
  for (const auto& e : fs::directory_iterator(dir)) out[e.path().filename().string()] = testing::read_bytes(e.path());
  return out;
}

void exec(sqlite3* db, const std::string& sql) {
  char* err = nullptr;
  int rc = sqlite3_exec(db, sql.c_str(), nullptr, nullptr, &err);
  std::string msg = err ? err : "";
  sqlite3_free(err);
  if (rc != SQLITE_OK) throw std::runtime_error(sql + ": " + msg);
}

class SqliteRead : public testing::TempDirTest {
 protected:
  void SetUp() override {
    TempDirTest::SetUp();
    plugin_ = load_plugin(testing::dbtool_binary().parent_path() / ".." / "lib" / "dbtool" / "plugins" /
                          "libdbtool-sqlite.so");
    api_ = plugin_.backend;
    ASSERT_TRUE(plugin_.capabilities & DBTOOL_CAP_READ);
  }

  fs::path generate(const std::string& shape, int users, const std::string& name = "old.db") {
    fs::path db = dir_ / name;
    auto r = testing::run_program("python3", {(testing::fixtures_dir() / "gen-old-db").string(), std::to_string(users),
                                              db.string(), "--shape", shape});
    if (r.exit_code != 0) throw std::runtime_error("gen-old-db failed: " + r.err);
    return db;
  }

  dbtool_status open(const fs::path& file, bool read_only, dbtool_session** s, Err& err) {
    std::string opts = json::serialize(json::object{{"uri", "sqlite:///" + file.string()}, {"read_only", read_only}});
    return api_->open(opts.c_str(), s, &err.e);
  }

  dbtool_session* open_ok(const fs::path& file, bool read_only) {
    Err err;
    dbtool_session* s = nullptr;
    if (open(file, read_only, &s, err) != DBTOOL_OK) throw std::runtime_error("open: " + err.message_or(""));
    return s;
  }

  json::value describe_schema(dbtool_session* s) {
    Err err;
    dbtool_text t{};
    dbtool_status st = api_->describe_schema(s, &t, &err.e);
    std::string text = take_text(t);
    if (st != DBTOOL_OK) throw std::runtime_error("describe_schema: " + err.message_or(""));
    return json::parse(text);
  }

  void call(dbtool_status (*fn)(dbtool_session*, dbtool_error*), dbtool_session* s, const char* what) {
    Err err;
    if (fn(s, &err.e) != DBTOOL_OK) throw std::runtime_error(std::string(what) + ": " + err.message_or(""));
  }

  // Reads `table` whole; rows as JSON arrays, with the Arrow formats of the stream's columns.
  std::vector<json::array> read(dbtool_session* s, const char* table, std::vector<std::string>* formats = nullptr,
                                size_t stop_after_batches = 0, const std::function<void()>& between = {}) {
    ArrowArrayStream raw{};
    Err err;
    if (api_->read_table(s, table, &raw, &err.e) != DBTOOL_OK)
      throw std::runtime_error(std::string("read_table ") + table + ": " + err.message_or(""));
    sdk::StreamReader reader(&raw);
    if (formats)
      for (const auto& c : reader.columns()) formats->push_back(sdk::arrow_format(c.type));
    std::vector<json::array> rows;
    sdk::ArrayHolder batch;
    size_t batches = 0;
    while (reader.next(batch)) {
      sdk::BatchView v(reader.columns(), batch.a);
      for (int64_t r = 0; r < v.rows(); ++r) {
        json::array row;
        for (size_t c = 0; c < v.columns(); ++c) {
          if (v.is_null(c, r))
            row.emplace_back(nullptr);
          else if (v.spec(c).type == sdk::ColumnType::Int64)
            row.emplace_back(v.get_int64(c, r));
          else if (v.spec(c).type == sdk::ColumnType::Float64)
            row.emplace_back(v.get_double(c, r));
          else if (v.spec(c).type == sdk::ColumnType::Bool)
            row.emplace_back(v.get_bool(c, r));
          else
            row.emplace_back(json::string(v.get_bytes(c, r)));
        }
        rows.push_back(std::move(row));
      }
      if (++batches == stop_after_batches && between) between();
    }
    return rows;
  }

  LoadedPlugin plugin_;
  const dbtool_backend_api* api_ = nullptr;
};

// The app's seven tables as the old (or current) app declared them, parents first.
std::string expected_schema(const std::string& shape) {
  const bool old = shape == "old";
  auto col = [](const char* name, const char* type, bool nullable, int64_t max_length = 0) {
    json::object c{{"name", name}, {"type", type}};
    if (max_length) c["max_length"] = max_length;
    c["nullable"] = nullable;
    return c;
  };
  auto id = [] {
    return json::object{{"name", "id"}, {"type", "int64"}, {"nullable", false}, {"auto_increment", true}};
  };
  auto fk = [](const char* name, const char* column, const char* table, const char* ref, const char* on_delete) {
    return json::object{{"name", name},
                        {"columns", json::array{column}},
                        {"references", json::object{{"table", table}, {"columns", json::array{ref}}}},
                        {"on_delete", on_delete}};
  };
  auto table = [](const char* name, json::array columns, json::array pk, json::array unique, json::array fks) {
    return json::object{{"name", name},     {"columns", std::move(columns)},  {"primary_key", std::move(pk)},
                        {"unique", unique}, {"foreign_keys", std::move(fks)}, {"indexes", json::array{}}};
  };
  json::array users_cols{id(),
                         col("_name", "text", false, 255),
                         col("_uid", "text", false, 255),
                         col("_email", "text", false, 255),
                         col("_password", "text", false, 255),
                         col("_role", "text", false, 20),
                         col("_pfp", "text", true, 255),
                         old ? col("_dob", "date", true) : col("kasm_server_needed", "bool", true)};
  json::array stock_users_cols{id(), col("_uid", "text", false, 255), col("_stockmoney", "int64", false)};
  if (!old) stock_users_cols.push_back(col("_accountdate", "date", true));
  json::array tables{
      table("sections", {id(), col("_name", "text", false, 255), col("_abbreviation", "text", false, 255)}, {"id"},
            {json::object{{"name", "uq_sections__abbreviation"}, {"columns", json::array{"_abbreviation"}}}}, {}),
      table("table_stocks",
            {id(), col("_symbol", "text", false, 255), col("_company", "text", false, 255),
             col("_quantity", "int64", false), col("_sheesh", "int64", false)},
            {"id"}, {}, {}),
      table("users", users_cols, {"id"}, {json::object{{"name", "uq_users__uid"}, {"columns", json::array{"_uid"}}}},
            {}),
      table("stock_users", stock_users_cols, {"id"}, {},
            {fk("fk_stock_users__uid", "_uid", "users", "_uid", "cascade")}),
      table("stock_transactions",
            {id(), col("_user_id", "int64", false), col("_transaction_type", "text", false, 255),
             col("_quantity", "int64", false), col("_transaction_date", "date", false)},
            {"id"}, {}, {fk("fk_stock_transactions__user_id", "_user_id", "stock_users", "id", "cascade")}),
      table("user_sections",
            {col("user_id", "int64", false), col("section_id", "int64", false), col("year", "int64", true)},
            {"user_id", "section_id"}, {},
            {fk("fk_user_sections_user_id", "user_id", "users", "id", "no action"),
             fk("fk_user_sections_section_id", "section_id", "sections", "id", "no action")}),
      table("user_transaction_stocks",
            {col("_user_id", "int64", false), col("_transaction_id", "int64", false), col("_stock_id", "int64", false),
             col("_quantity", "int64", false), col("_price_per_stock", "float64", false),
             col("_transaction_amount", "int64", false), col("_transaction_time", "datetime", false)},
            {"_user_id", "_transaction_id", "_stock_id"}, {},
            {fk("fk_user_transaction_stocks__user_id", "_user_id", "stock_users", "id", "no action"),
             fk("fk_user_transaction_stocks__transaction_id", "_transaction_id", "stock_transactions", "id", "cascade"),
             fk("fk_user_transaction_stocks__stock_id", "_stock_id", "table_stocks", "id", "cascade")}),
  };
  return json::serialize(json::object{{"tables", tables}});
}

class SqliteReadShape : public SqliteRead, public ::testing::WithParamInterface<std::string> {};

TEST_P(SqliteReadShape, DescribesTheOldAppsDatabaseAsItsModelsDeclareIt) {
  fs::path db = generate(GetParam(), 30);
  dbtool_session* s = open_ok(db, true);
  json::value got = describe_schema(s);
  api_->close(s);
  json::value want = json::parse(expected_schema(GetParam()));
  ASSERT_EQ(got.at("tables").as_array().size(), want.at("tables").as_array().size()) << got;
  for (size_t i = 0; i < want.at("tables").as_array().size(); ++i)
    EXPECT_EQ(json::serialize(got.at("tables").at(i)), json::serialize(want.at("tables").at(i)));
}

INSTANTIATE_TEST_SUITE_P(Shapes, SqliteReadShape, ::testing::Values("old", "current"));

TEST_F(SqliteRead, DescribesOnlyTheAppsTablesWithDefaultsIndexesAndNamedConstraints) {
  fs::path file = dir_ / "app.db";
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(file.c_str(), &db), SQLITE_OK);
  exec(db,
       "CREATE TABLE dbtool_history (id INTEGER PRIMARY KEY, operation TEXT);"
       "CREATE TABLE child (id INT NOT NULL, parent_id INTEGER, role VARCHAR(20) NOT NULL DEFAULT 'It''s', "
       "  n INTEGER DEFAULT '0', flag BOOLEAN DEFAULT 1, score FLOAT DEFAULT 2, price NUMERIC(10,2), "
       "  at DATETIME DEFAULT CURRENT_TIMESTAMP, raw, "
       "  PRIMARY KEY (id), CONSTRAINT uq_child_role_n UNIQUE (role, n), "
       "  CONSTRAINT fk_child_parent FOREIGN KEY (parent_id) REFERENCES parent ON DELETE SET NULL);"
       "CREATE TABLE parent (id INTEGER PRIMARY KEY, label TEXT);"
       "CREATE INDEX ix_child_flag ON child (flag);"
       "CREATE UNIQUE INDEX ux_parent_label ON parent (label);"
       "CREATE INDEX ix_parent_expr ON parent (lower(label));");
  sqlite3_close(db);
  dbtool_session* s = open_ok(file, true);
  json::value got = describe_schema(s);
  api_->close(s);
  const json::array& tables = got.at("tables").as_array();
  ASSERT_EQ(tables.size(), 2u) << got << ": sqlite_* and dbtool_history are not the app's";
  EXPECT_EQ(tables[0].at("name"), "parent") << "parents first";
  EXPECT_EQ(json::serialize(tables[0].at("unique")), R"([{"name":"ux_parent_label","columns":["label"]}])");
  EXPECT_EQ(json::serialize(tables[0].at("indexes")), "[]") << "an index on an expression is left out (and logged)";
  const json::value& child = tables[1];
  EXPECT_EQ(json::serialize(child.at("columns")),
            R"([{"name":"id","type":"int64","nullable":false},)"  // INT PRIMARY KEY is not the rowid
            R"({"name":"parent_id","type":"int64","nullable":true},)"
            R"({"name":"role","type":"text","max_length":20,"nullable":false,"default":"It's"},)"
            R"({"name":"n","type":"int64","nullable":true,"default":0},)"
            R"({"name":"flag","type":"bool","nullable":true,"default":true},)"
            R"({"name":"score","type":"float64","nullable":true,"default":2E0},)"
            R"({"name":"price","type":"float64","nullable":true},)"
            R"({"name":"at","type":"datetime","nullable":true},)"
            R"({"name":"raw","type":"blob","nullable":true}])");
  EXPECT_EQ(json::serialize(child.at("unique")), R"([{"name":"uq_child_role_n","columns":["role","n"]}])");
  EXPECT_EQ(json::serialize(child.at("indexes")), R"([{"name":"ix_child_flag","columns":["flag"]}])");
  EXPECT_EQ(json::serialize(child.at("foreign_keys")),
            R"([{"name":"fk_child_parent","columns":["parent_id"],)"
            R"("references":{"table":"parent","columns":["id"]},"on_delete":"set null"}])");
}

TEST_F(SqliteRead, ReadsDatesDatetimesAndFloatsInTheirCanonicalForms) {
  fs::path file = generate("current", 200);
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(file.c_str(), &db), SQLITE_OK);
  // A value written without microseconds (by hand, or an older library) still reads canonical.
  exec(db,
       "UPDATE user_transaction_stocks SET _transaction_time = substr(_transaction_time, 1, 19) "
       "WHERE rowid = (SELECT min(rowid) FROM user_transaction_stocks)");
  sqlite3_stmt* st = nullptr;
  sqlite3_prepare_v2(db,
                     "SELECT _user_id, _transaction_id, _stock_id, _quantity, _price_per_stock, _transaction_amount, "
                     "substr(_transaction_time, 1, 19) || '.000000' FROM user_transaction_stocks "
                     "ORDER BY _user_id, _transaction_id, _stock_id",
                     -1, &st, nullptr);
  std::vector<json::array> want;
  while (sqlite3_step(st) == SQLITE_ROW)
    want.push_back({sqlite3_column_int64(st, 0), sqlite3_column_int64(st, 1), sqlite3_column_int64(st, 2),
                    sqlite3_column_int64(st, 3), sqlite3_column_double(st, 4), sqlite3_column_int64(st, 5),
                    reinterpret_cast<const char*>(sqlite3_column_text(st, 6))});
  sqlite3_finalize(st);
  ASSERT_GT(want.size(), 5u);

  dbtool_session* s = open_ok(file, true);
  std::vector<std::string> formats;
  auto got = read(s, "user_transaction_stocks", &formats);
  EXPECT_EQ(formats, (std::vector<std::string>{"l", "l", "l", "l", "g", "l", "u"}));
  EXPECT_EQ(got, want);
  formats.clear();
  auto txns = read(s, "stock_transactions", &formats);
  EXPECT_EQ(formats, (std::vector<std::string>{"l", "l", "u", "l", "u"}));
  ASSERT_FALSE(txns.empty());
  EXPECT_TRUE(sdk::canonical_date(txns[0][4].as_string()).has_value()) << txns[0][4];

  // A value that is not what its column says is refused, never passed on as something else.
  exec(db, "UPDATE stock_transactions SET _transaction_date = 'next tuesday' WHERE id = 1");
  sqlite3_close(db);
  ArrowArrayStream raw{};
  Err err;
  ASSERT_EQ(api_->read_table(s, "stock_transactions", &raw, &err.e), DBTOOL_OK) << err.message_or("");
  sdk::StreamReader reader(&raw);
  sdk::ArrayHolder batch;
  try {
    reader.next(batch);
    ADD_FAILURE() << "a date column holding 'next tuesday' was read without complaint";
  } catch (const std::exception& e) {
    EXPECT_NE(std::string(e.what()).find("stock_transactions._transaction_date"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("next tuesday"), std::string::npos) << e.what();
  }
  api_->close(s);
}

TEST_F(SqliteRead, AReadOnlySessionWritesNothingAndRefusesEveryChange) {
  // A database that is not there: NOT_FOUND, and still nothing created (no file, no lock).
  {
    Err err;
    dbtool_session* s = nullptr;
    EXPECT_EQ(open(dir_ / "missing.db", true, &s, err), DBTOOL_ERR_NOT_FOUND);
    EXPECT_EQ(s, nullptr);
    EXPECT_NE(err.message_or("").find("missing.db"), std::string::npos) << err.message_or("");
    EXPECT_TRUE(fs::is_empty(dir_));
  }
  fs::path file = generate("old", 50);
  const auto before = snapshot_of(dir_);
  const auto mtime = fs::last_write_time(file);
  dbtool_session* s = open_ok(file, true);
  call(api_->snapshot_begin, s, "snapshot_begin");
  describe_schema(s);
  for (const char* t : {"users", "sections", "user_sections", "stock_users"}) EXPECT_FALSE(read(s, t).empty()) << t;
  call(api_->snapshot_end, s, "snapshot_end");
  {
    Err err;
    dbtool_stage* stage = nullptr;
    EXPECT_EQ(
        api_->stage_begin(s, R"({"tables":[{"name":"t","columns":[{"name":"a","type":"int64"}]}]})", &stage, &err.e),
        DBTOOL_ERR_NOT_SUPPORTED);
    EXPECT_EQ(stage, nullptr);
    EXPECT_NE(err.message_or("").find("read-only"), std::string::npos) << err.message_or("");
  }
  {
    Err err;
    dbtool_text report{};
    EXPECT_EQ(api_->backup(s, (dir_ / "b.db").c_str(), &report, &err.e), DBTOOL_ERR_NOT_SUPPORTED);
  }
  {
    Err err;
    dbtool_text report{};
    EXPECT_EQ(api_->restore(s, file.c_str(), &report, &err.e), DBTOOL_ERR_NOT_SUPPORTED);
  }
  // While the source is open, dbtool writing the same file as a target is not held off by it.
  dbtool_session* writer = open_ok(file, false);
  api_->close(writer);
  api_->close(s);
  fs::remove(file.string() + ".dbtool.lock");  // the writer's, not the source's
  EXPECT_EQ(snapshot_of(dir_), before) << "a read-only session changed or added a file";
  EXPECT_EQ(fs::last_write_time(file), mtime);
}

TEST_F(SqliteRead, ASnapshotSeesNoneOfTheRowsTheAppCommitsMeanwhile) {
  fs::path file = generate("current", 6000);  // users span two batches
  sqlite3* app = nullptr;
  ASSERT_EQ(sqlite3_open(file.c_str(), &app), SQLITE_OK);
  exec(app, "PRAGMA journal_mode=WAL");  // the running app's writes do not wait for the reader
  sqlite3_busy_timeout(app, 5000);
  int64_t next = 1000000;
  auto app_writes = [&] {
    exec(app, "BEGIN; INSERT INTO sections VALUES (" + std::to_string(next) + ", 'New', 'N" + std::to_string(next) +
                  "'); INSERT INTO users (id, _name, _uid, _email, _password, _role) VALUES (" + std::to_string(next) +
                  ", 'n', 'new" + std::to_string(next) + "', 'e', 'p', 'User'); " +
                  "UPDATE users SET _name = 'changed' WHERE id = (SELECT max(id) FROM users WHERE id < 1000000); " +
                  "COMMIT");
    ++next;
  };
  dbtool_session* s = open_ok(file, true);
  call(api_->snapshot_begin, s, "snapshot_begin");
  app_writes();  // after snapshot_begin, before anything was read
  json::value schema = describe_schema(s);
  auto sections = read(s, "sections");
  app_writes();                                           // between two tables
  auto users = read(s, "users", nullptr, 1, app_writes);  // and inside one table's stream
  call(api_->snapshot_end, s, "snapshot_end");

  EXPECT_EQ(sections.size(), 7u) << "the sections the app added after snapshot_begin must not be seen";
  ASSERT_EQ(users.size(), 6000u);
  for (const auto& u : users) {
    EXPECT_LT(u[0].as_int64(), 1000000);
    EXPECT_NE(u[1].as_string(), "changed");
  }
  // Outside the snapshot, a read sees the app's commits.
  EXPECT_EQ(read(s, "sections").size(), 10u);
  api_->close(s);
  sqlite3_close(app);
}

TEST_F(SqliteRead, SnapshotCallsAreCheckedAndEndingWithoutOneIsANoOp) {
  fs::path file = generate("old", 5);
  dbtool_session* s = open_ok(file, true);
  call(api_->snapshot_end, s, "snapshot_end without a snapshot");
  call(api_->snapshot_begin, s, "snapshot_begin");
  {
    Err err;
    EXPECT_EQ(api_->snapshot_begin(s, &err.e), DBTOOL_ERR_INVALID_ARGUMENT) << "one snapshot per session";
  }
  ArrowArrayStream raw{};
  {
    Err err;
    ASSERT_EQ(api_->read_table(s, "users", &raw, &err.e), DBTOOL_OK) << err.message_or("");
  }
  {
    Err err;
    EXPECT_EQ(api_->snapshot_end(s, &err.e), DBTOOL_ERR_INVALID_ARGUMENT) << "a stream is still open";
  }
  raw.release(&raw);
  call(api_->snapshot_end, s, "snapshot_end");
  api_->close(s);
}

}  // namespace
}  // namespace dbtool
