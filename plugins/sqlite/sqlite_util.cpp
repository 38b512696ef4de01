// Connection and statement handles, error mapping, and DDL from the portable schema.
#include "sqlite_backend.hpp"

#include <boost/json.hpp>

#include <fcntl.h>
#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <exception>
#include <thread>

namespace dbtool::sqlite {
namespace json = boost::json;
using sdk::Failure;

void fail(sqlite3* db, int rc, const std::string& what) {
  int ext = db != nullptr ? sqlite3_extended_errcode(db) : rc;
  std::string msg = what + ": " + (db != nullptr ? sqlite3_errmsg(db) : sqlite3_errstr(rc));
  dbtool_status status = DBTOOL_ERR_BACKEND;
  std::string sqlstate = "HY000";
  switch (rc & 0xff) {
    case SQLITE_CONSTRAINT:
      status = DBTOOL_ERR_CONSTRAINT;
      sqlstate = "23000";
      break;
    case SQLITE_FULL:
      status = DBTOOL_ERR_IO;
      msg += " (is the disk full?)";
      break;
    case SQLITE_IOERR: {
      status = DBTOOL_ERR_IO;
      // SQLite reports ENOSPC as SQLITE_FULL, but a quota or a file size limit (EDQUOT, EFBIG)
      // only as a failed write, and its saved errno is not reliable by then.
      const int sys = db != nullptr ? sqlite3_system_errno(db) : 0;
      if (ext == SQLITE_IOERR_WRITE || sys == ENOSPC || sys == EFBIG || sys == EDQUOT)
        msg += " (could not write: is the disk full, or a quota or file size limit reached?)";
      break;
    }
    case SQLITE_CANTOPEN:
    case SQLITE_READONLY:
    case SQLITE_PERM:
      status = DBTOOL_ERR_IO;
      break;
    case SQLITE_NOTADB:
    case SQLITE_CORRUPT:
      status = DBTOOL_ERR_DATA;
      msg += " (not a healthy SQLite database)";
      break;
    case SQLITE_INTERRUPT:
      status = DBTOOL_ERR_CANCELLED;
      break;
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
      msg += " (another program holds the database; stop the app and try again)";
      break;
    case SQLITE_MISMATCH:
    case SQLITE_TOOBIG:
    case SQLITE_RANGE:
      status = DBTOOL_ERR_DATA;
      break;
    default:
      break;
  }
  throw Failure(status, msg, sqlstate, ext);
}

Connection::Connection(const std::filesystem::path& file, int flags) {
  // Memory statistics cost a global mutex on every allocation, and nothing here reads them.
  // Only possible before SQLite initialises; if the host process already did, it is a no-op.
  static const bool configured = sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0) == SQLITE_OK;
  (void)configured;
  sqlite3* h = nullptr;
  int rc = sqlite3_open_v2(file.c_str(), &h, flags, nullptr);
  db_.reset(h);  // SQLite may return a handle even when opening fails; db_ closes it as this throws
  if (rc != SQLITE_OK) fail(h, rc, "cannot open " + file.string());
  sqlite3_extended_result_codes(h, 1);
  sqlite3_busy_timeout(h, 5000);
}

void Connection::exec(const std::string& sql, const std::string& what) {
  char* err = nullptr;
  int rc = sqlite3_exec(db_.get(), sql.c_str(), nullptr, nullptr, &err);
  sqlite3_free(err);
  if (rc != SQLITE_OK) fail(db_.get(), rc, what);
}

std::string Connection::scalar_text(const std::string& sql) {
  Statement st(db_.get(), sql);
  int rc = sqlite3_step(st.get());
  if (rc == SQLITE_ROW) {
    const unsigned char* t = sqlite3_column_text(st.get(), 0);
    return t ? reinterpret_cast<const char*>(t) : "";
  }
  if (rc != SQLITE_DONE) fail(db_.get(), rc, "query failed");
  return "";
}

int64_t Connection::scalar_int(const std::string& sql) {
  Statement st(db_.get(), sql);
  int rc = sqlite3_step(st.get());
  if (rc == SQLITE_ROW) return sqlite3_column_int64(st.get(), 0);
  if (rc != SQLITE_DONE) fail(db_.get(), rc, "query failed");
  return 0;
}

Statement::Statement(sqlite3* db, const std::string& sql) {
  sqlite3_stmt* st = nullptr;
  int rc = sqlite3_prepare_v2(db, sql.c_str(), -1, &st, nullptr);
  st_.reset(st);
  if (rc != SQLITE_OK) fail(db, rc, "cannot prepare a statement");
}

std::string quote_identifier(const std::string& name) { return "\"" + sdk::require_identifier(name) + "\""; }

std::vector<std::string> user_tables(Connection& c) {
  std::vector<std::string> out;
  Statement st(c.get(),
               "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite\\_%' "
               "ESCAPE '\\' AND name != ? AND name != ? ORDER BY name");
  sqlite3_bind_text(st.get(), 1, kManifestTable, -1, SQLITE_STATIC);
  sqlite3_bind_text(st.get(), 2, kSealTable, -1, SQLITE_STATIC);
  int rc;
  while ((rc = sqlite3_step(st.get())) == SQLITE_ROW)
    out.emplace_back(reinterpret_cast<const char*>(sqlite3_column_text(st.get(), 0)));
  if (rc != SQLITE_DONE) fail(c.get(), rc, "cannot list tables");
  return out;
}

Contents count_tables(Connection& c) {
  Contents out;
  for (const auto& t : user_tables(c)) {
    // Names come from sqlite_master; quote them for the query whatever they are.
    std::string q = "\"";
    for (char ch : t) q += ch == '"' ? std::string("\"\"") : std::string(1, ch);
    q += "\"";
    out[t].rows = c.scalar_int("SELECT count(*) FROM " + q);
  }
  return out;
}

json::array rows_json(const Contents& tables) {
  json::array a;
  for (const auto& [name, t] : tables) a.push_back(json::object{{"name", name}, {"rows", t.rows}});
  return a;
}

std::string tables_json(Connection& c) { return json::serialize(rows_json(count_tables(c))); }

json::array views_json(Connection& c) {
  json::array a;
  Statement st(c.get(), "SELECT name FROM sqlite_master WHERE type = 'view' ORDER BY name");
  int rc;
  while ((rc = sqlite3_step(st.get())) == SQLITE_ROW)
    a.push_back(json::object{{"name", reinterpret_cast<const char*>(sqlite3_column_text(st.get(), 0))}});
  if (rc != SQLITE_DONE) fail(c.get(), rc, "cannot list views");
  return a;
}

json::array triggers_json(Connection& c) {
  json::array a;
  Statement st(c.get(), "SELECT name, tbl_name FROM sqlite_master WHERE type = 'trigger' ORDER BY name");
  int rc;
  while ((rc = sqlite3_step(st.get())) == SQLITE_ROW)
    a.push_back(json::object{{"name", reinterpret_cast<const char*>(sqlite3_column_text(st.get(), 0))},
                             {"table", reinterpret_cast<const char*>(sqlite3_column_text(st.get(), 1))}});
  if (rc != SQLITE_DONE) fail(c.get(), rc, "cannot list triggers");
  return a;
}

void verify_database(Connection& c, const std::string& what, bool thorough, bool foreign_keys) {
  check_integrity(c, what, thorough);
  if (foreign_keys) check_foreign_keys(c, what);
}

void side_by_side(const std::function<void()>& first, const std::function<void()>& second) {
  std::exception_ptr first_failure;
  std::thread thread([&] {
    try {
      first();
    } catch (...) {
      first_failure = std::current_exception();
    }
  });
  std::exception_ptr second_failure;
  try {
    second();
  } catch (...) {
    second_failure = std::current_exception();
  }
  thread.join();
  if (first_failure) std::rethrow_exception(first_failure);
  if (second_failure) std::rethrow_exception(second_failure);
}

void check_integrity(Connection& c, const std::string& what, bool thorough) {
  std::string ok = c.scalar_text(thorough ? "PRAGMA integrity_check" : "PRAGMA quick_check");
  if (ok != "ok") throw Failure(DBTOOL_ERR_DATA, what + ": integrity check failed: " + ok);
}

bool table_exists(Connection& c, const std::string& table) {
  Statement st(c.get(), "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?");
  sqlite3_bind_text(st.get(), 1, table.c_str(), -1, SQLITE_TRANSIENT);
  return sqlite3_step(st.get()) == SQLITE_ROW;
}

void check_foreign_keys(Connection& c, const std::string& what, const std::string& table) {
  Statement st(c.get(), table.empty() ? std::string("PRAGMA foreign_key_check")
                                      : "PRAGMA foreign_key_check(" + quote_identifier(table) + ")");
  int rc = sqlite3_step(st.get());
  if (rc == SQLITE_ROW) {
    std::string table = reinterpret_cast<const char*>(sqlite3_column_text(st.get(), 0));
    std::string parent = reinterpret_cast<const char*>(sqlite3_column_text(st.get(), 2));
    throw Failure(DBTOOL_ERR_CONSTRAINT,
                  what + ": a row of " + table + " (rowid " + std::to_string(sqlite3_column_int64(st.get(), 1)) +
                      ") refers to a missing row of " + parent,
                  "23000", SQLITE_CONSTRAINT_FOREIGNKEY);
  }
  if (rc != SQLITE_DONE) fail(c.get(), rc, what + ": foreign key check failed");
}

std::string find_duplicate_key(Connection& c, const sdk::PortableSchema& schema) {
  for (const auto& t : schema.tables) {
    std::vector<std::pair<std::string, std::vector<std::string>>> keys;
    if (!t.primary_key.empty()) keys.emplace_back("primary key", t.primary_key);
    for (const auto& u : t.unique) keys.emplace_back(u.name, u.columns);
    for (const auto& [name, columns] : keys) {
      std::string cols;
      for (const auto& col : columns) cols += (cols.empty() ? "" : ", ") + quote_identifier(col);
      Statement st(c.get(), "SELECT " + cols + " FROM " + quote_identifier(t.name) + " GROUP BY " + cols +
                                " HAVING count(*) > 1 LIMIT 1");
      int rc = sqlite3_step(st.get());
      if (rc == SQLITE_DONE) continue;
      if (rc != SQLITE_ROW) fail(c.get(), rc, "looking for the duplicate key");
      std::vector<std::string> values;
      for (int i = 0; i < static_cast<int>(columns.size()); ++i) {
        switch (sqlite3_column_type(st.get(), i)) {
          case SQLITE_NULL:
            values.emplace_back("NULL");
            break;
          case SQLITE_INTEGER:
            values.push_back(std::to_string(sqlite3_column_int64(st.get(), i)));
            break;
          default:
            values.push_back(
                sdk::shown_text(std::string_view(reinterpret_cast<const char*>(sqlite3_column_text(st.get(), i)),
                                                 static_cast<size_t>(sqlite3_column_bytes(st.get(), i)))));
        }
      }
      return sdk::duplicate_key_message(t.name, name, columns, values);
    }
  }
  return "";
}

void fsync_path(const std::filesystem::path& p) {
  int fd = ::open(p.c_str(), O_RDONLY);
  if (fd < 0) throw Failure(DBTOOL_ERR_IO, "cannot open " + p.string() + " to sync it");
  int rc = ::fsync(fd);
  ::close(fd);
  if (rc != 0) throw Failure(DBTOOL_ERR_IO, "cannot sync " + p.string() + " to disk");
}

BackgroundFlush::BackgroundFlush(const std::filesystem::path& p) : fd_(::open(p.c_str(), O_RDONLY | O_CLOEXEC)) {
  if (fd_ < 0) return;  // only a head start: the caller's fsync_path says what failed
  thread_ = std::thread([this] {
    // Each call starts writing what became dirty since the last one (pages already being written
    // are skipped); it may wait while the device's queue is full, which is why it has a thread.
    std::unique_lock<std::mutex> lock(mutex_);
    do {
      lock.unlock();
      ::sync_file_range(fd_, 0, 0, SYNC_FILE_RANGE_WRITE);
      lock.lock();
    } while (!wake_.wait_for(lock, std::chrono::milliseconds(50), [this] { return stopping_; }));
    lock.unlock();
    ::sync_file_range(fd_, 0, 0, SYNC_FILE_RANGE_WRITE);
  });
}

BackgroundFlush::~BackgroundFlush() {
  if (thread_.joinable()) {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      stopping_ = true;
    }
    wake_.notify_one();
    thread_.join();
  }
  if (fd_ >= 0) ::close(fd_);
}

namespace {

// The column types SQLAlchemy creates for the app's models, so that the app and dbtool see one
// schema; describe_schema maps them back.
std::string sql_type(const sdk::PortableColumn& c) {
  if (c.type == "int64") return "INTEGER";
  if (c.type == "float64") return "FLOAT";
  if (c.type == "bool") return "BOOLEAN";
  if (c.type == "json") return "JSON";
  if (c.type == "blob") return "BLOB";
  if (c.type == "timestamp") return "TIMESTAMP";
  if (c.type == "date") return "DATE";
  if (c.type == "datetime") return "DATETIME";
  return c.max_length ? "VARCHAR(" + std::to_string(*c.max_length) + ")" : "TEXT";
}

std::string literal(const json::value& v) {
  return sdk::sql_literal(v, [](std::string_view text) {
    std::string s = "'";
    for (char c : text) s += c == '\'' ? std::string("''") : std::string(1, c);
    return s + "'";
  });
}

std::string on_delete_clause(const std::string& action) {
  if (action == "cascade") return " ON DELETE CASCADE";
  if (action == "set null") return " ON DELETE SET NULL";
  if (action == "restrict") return " ON DELETE RESTRICT";
  return "";
}

std::string name_list(const std::vector<std::string>& names) { return sdk::quoted_list(names, quote_identifier); }

}  // namespace

void schema_to_ddl(const sdk::PortableSchema& schema, std::vector<std::string>& ddl,
                   std::vector<std::string>& index_ddl) {
  for (const auto& t : schema.tables) {
    const std::string qt = quote_identifier(t.name);
    // A single int64 primary key becomes the rowid: the fastest key SQLite has.
    const bool rowid_pk = t.primary_key.size() == 1 && t.column(t.primary_key[0])->type == "int64";
    std::string body;
    for (const auto& c : t.columns) {
      std::string line = "  " + quote_identifier(c.name) + " " + sql_type(c);
      if (!c.nullable) line += " NOT NULL";
      if (rowid_pk && c.name == t.primary_key[0]) line += " PRIMARY KEY";
      if (!c.default_value.is_null()) line += " DEFAULT " + literal(c.default_value);
      body += (body.empty() ? "" : ",\n") + line;
    }
    if (!t.primary_key.empty() && !rowid_pk) body += ",\n  PRIMARY KEY (" + name_list(t.primary_key) + ")";
    for (const auto& fk : t.foreign_keys)
      body += ",\n  CONSTRAINT " + quote_identifier(fk.name) + " FOREIGN KEY (" + name_list(fk.columns) +
              ") REFERENCES " + quote_identifier(fk.ref_table) + " (" + name_list(fk.ref_columns) + ")" +
              on_delete_clause(fk.on_delete);
    ddl.push_back("CREATE TABLE " + qt + " (\n" + body + "\n)");
    for (const auto& u : t.unique)
      index_ddl.push_back("CREATE UNIQUE INDEX " + quote_identifier(u.name) + " ON " + qt + " (" +
                          name_list(u.columns) + ")");
    for (const auto& ix : t.indexes)
      index_ddl.push_back("CREATE INDEX " + quote_identifier(ix.name) + " ON " + qt + " (" + name_list(ix.columns) +
                          ")");
  }
}

}  // namespace dbtool::sqlite
