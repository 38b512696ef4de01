// Connection and statement handles, error mapping, and DDL from the portable schema.
#include "sqlite_backend.hpp"

#include <boost/json.hpp>

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <regex>

namespace dbtool::sqlite {
namespace json = boost::json;
using sdk::Failure;

const dbtool_host_services* g_host = nullptr;

void log(int32_t level, const std::string& message) {
  if (g_host != nullptr && g_host->log != nullptr) g_host->log(g_host->host_data, level, message.c_str());
}

bool cancelled() {
  return g_host != nullptr && g_host->is_cancelled != nullptr && g_host->is_cancelled(g_host->host_data) != 0;
}

void fail(sqlite3* db, int rc, const std::string& what) {
  int ext = db != nullptr ? sqlite3_extended_errcode(db) : rc;
  std::string msg = what + ": " + (db != nullptr ? sqlite3_errmsg(db) : sqlite3_errstr(rc));
  dbtool_status status = DBTOOL_ERR_BACKEND;
  std::string sqlstate = "HY000";
  switch (rc & 0xff) {
    case SQLITE_CONSTRAINT: status = DBTOOL_ERR_CONSTRAINT; sqlstate = "23000"; break;
    case SQLITE_FULL: status = DBTOOL_ERR_IO; msg += " (is the disk full?)"; break;
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
    case SQLITE_PERM: status = DBTOOL_ERR_IO; break;
    case SQLITE_NOTADB:
    case SQLITE_CORRUPT: status = DBTOOL_ERR_DATA; msg += " (not a healthy SQLite database)"; break;
    case SQLITE_INTERRUPT: status = DBTOOL_ERR_CANCELLED; break;
    case SQLITE_BUSY:
    case SQLITE_LOCKED: msg += " (another program holds the database; stop the app and try again)"; break;
    case SQLITE_MISMATCH:
    case SQLITE_TOOBIG:
    case SQLITE_RANGE: status = DBTOOL_ERR_DATA; break;
    default: break;
  }
  throw Failure(status, msg, sqlstate, ext);
}

Connection::Connection(const std::filesystem::path& file, int flags) {
  int rc = sqlite3_open_v2(file.c_str(), &db_, flags, nullptr);
  if (rc != SQLITE_OK) {
    std::string what = "cannot open " + file.string();
    sqlite3* h = db_;
    db_ = nullptr;
    try {
      fail(h, rc, what);
    } catch (...) {
      sqlite3_close_v2(h);
      throw;
    }
  }
  sqlite3_extended_result_codes(db_, 1);
  sqlite3_busy_timeout(db_, 5000);
}

Connection::~Connection() { close(); }

Connection& Connection::operator=(Connection&& o) noexcept {
  if (this != &o) {
    close();
    db_ = o.db_;
    o.db_ = nullptr;
  }
  return *this;
}

void Connection::close() {
  if (db_ != nullptr) sqlite3_close_v2(db_);
  db_ = nullptr;
}

void Connection::exec(const std::string& sql, const std::string& what) {
  char* err = nullptr;
  int rc = sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, &err);
  sqlite3_free(err);
  if (rc != SQLITE_OK) fail(db_, rc, what);
}

std::string Connection::scalar_text(const std::string& sql) {
  Statement st(db_, sql);
  int rc = sqlite3_step(st.get());
  if (rc == SQLITE_ROW) {
    const unsigned char* t = sqlite3_column_text(st.get(), 0);
    return t ? reinterpret_cast<const char*>(t) : "";
  }
  if (rc != SQLITE_DONE) fail(db_, rc, "query failed");
  return "";
}

int64_t Connection::scalar_int(const std::string& sql) {
  Statement st(db_, sql);
  int rc = sqlite3_step(st.get());
  if (rc == SQLITE_ROW) return sqlite3_column_int64(st.get(), 0);
  if (rc != SQLITE_DONE) fail(db_, rc, "query failed");
  return 0;
}

Statement::Statement(sqlite3* db, const std::string& sql) {
  int rc = sqlite3_prepare_v2(db, sql.c_str(), -1, &st_, nullptr);
  if (rc != SQLITE_OK) fail(db, rc, "cannot prepare a statement");
}

std::string quote_identifier(const std::string& name) {
  static const std::regex valid("[A-Za-z_][A-Za-z0-9_]{0,63}");
  if (!std::regex_match(name, valid))
    throw Failure(DBTOOL_ERR_INVALID_ARGUMENT, "\"" + name + "\" is not a valid identifier");
  return "\"" + name + "\"";
}

std::vector<std::string> user_tables(Connection& c) {
  std::vector<std::string> out;
  Statement st(c.get(), "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\' ORDER BY name");
  int rc;
  while ((rc = sqlite3_step(st.get())) == SQLITE_ROW)
    out.emplace_back(reinterpret_cast<const char*>(sqlite3_column_text(st.get(), 0)));
  if (rc != SQLITE_DONE) fail(c.get(), rc, "cannot list tables");
  return out;
}

std::string tables_json(Connection& c) {
  json::array a;
  for (const auto& t : user_tables(c)) {
    // Names come from sqlite_master; quote them for the query whatever they are.
    std::string q = "\"";
    for (char ch : t) q += ch == '"' ? std::string("\"\"") : std::string(1, ch);
    q += "\"";
    a.push_back(json::object{{"name", t}, {"rows", c.scalar_int("SELECT count(*) FROM " + q)}});
  }
  return json::serialize(a);
}

void verify_database(Connection& c, const std::string& what, bool thorough) {
  std::string ok = c.scalar_text(thorough ? "PRAGMA integrity_check" : "PRAGMA quick_check");
  if (ok != "ok") throw Failure(DBTOOL_ERR_DATA, what + ": integrity check failed: " + ok);
  Statement st(c.get(), "PRAGMA foreign_key_check");
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

void fsync_path(const std::filesystem::path& p) {
  int fd = ::open(p.c_str(), O_RDONLY);
  if (fd < 0) throw Failure(DBTOOL_ERR_IO, "cannot open " + p.string() + " to sync it");
  int rc = ::fsync(fd);
  ::close(fd);
  if (rc != 0) throw Failure(DBTOOL_ERR_IO, "cannot sync " + p.string() + " to disk");
}

namespace {

std::string sql_type(const std::string& type, const json::object& col) {
  if (type == "int64") return "INTEGER";
  if (type == "float64") return "REAL";
  if (type == "bool") return "BOOLEAN";
  if (type == "json") return "JSON";
  if (type == "blob") return "BLOB";
  if (type == "timestamp") return "TIMESTAMP";
  if (type == "text") {
    if (auto* ml = col.if_contains("max_length"); ml && ml->is_int64()) return "VARCHAR(" + std::to_string(ml->get_int64()) + ")";
    return "TEXT";
  }
  throw Failure(DBTOOL_ERR_INVALID_ARGUMENT, "unknown portable type \"" + type + "\"");
}

std::string literal(const json::value& v) {
  if (v.is_bool()) return v.get_bool() ? "1" : "0";
  if (v.is_int64()) return std::to_string(v.get_int64());
  if (v.is_uint64()) return std::to_string(v.get_uint64());
  if (v.is_double()) {
    char buf[32];
    std::snprintf(buf, sizeof(buf), "%.17g", v.get_double());
    return buf;
  }
  if (v.is_string()) {
    std::string s = "'";
    for (char c : v.get_string()) s += c == '\'' ? std::string("''") : std::string(1, c);
    return s + "'";
  }
  if (v.is_null()) return "NULL";
  throw Failure(DBTOOL_ERR_INVALID_ARGUMENT, "a default must be a scalar");
}

const json::value& need(const json::object& o, const char* key, const std::string& path) {
  const json::value* v = o.if_contains(key);
  if (v == nullptr) throw Failure(DBTOOL_ERR_INVALID_ARGUMENT, "schema: " + path + "." + key + " is missing");
  return *v;
}

std::string name_list(const json::value& v, const std::string& path) {
  if (!v.is_array() || v.get_array().empty())
    throw Failure(DBTOOL_ERR_INVALID_ARGUMENT, "schema: " + path + " must be a non-empty array of names");
  std::string out;
  for (const auto& n : v.get_array()) {
    if (!n.is_string()) throw Failure(DBTOOL_ERR_INVALID_ARGUMENT, "schema: " + path + " must hold names");
    out += (out.empty() ? "" : ", ") + quote_identifier(std::string(n.get_string()));
  }
  return out;
}

}  // namespace

std::vector<TableDef> schema_to_ddl(const std::string& schema_json, std::vector<std::string>& ddl,
                                    std::vector<std::string>& index_ddl) {
  boost::system::error_code ec;
  json::value root = json::parse(schema_json, ec);
  if (ec || !root.is_object()) throw Failure(DBTOOL_ERR_INVALID_ARGUMENT, "schema: not a JSON object");
  const json::value& tv = need(root.get_object(), "tables", "(top)");
  if (!tv.is_array()) throw Failure(DBTOOL_ERR_INVALID_ARGUMENT, "schema: tables must be an array");
  std::vector<TableDef> out;
  for (size_t ti = 0; ti < tv.get_array().size(); ++ti) {
    std::string tp = "tables[" + std::to_string(ti) + "]";
    if (!tv.get_array()[ti].is_object()) throw Failure(DBTOOL_ERR_INVALID_ARGUMENT, "schema: " + tp + " must be an object");
    const json::object& t = tv.get_array()[ti].get_object();
    const json::value& name = need(t, "name", tp);
    if (!name.is_string()) throw Failure(DBTOOL_ERR_INVALID_ARGUMENT, "schema: " + tp + ".name must be a string");
    TableDef def;
    def.name = std::string(name.get_string());
    const std::string qt = quote_identifier(def.name);
    std::vector<std::string> pk;
    if (auto* p = t.if_contains("primary_key"); p && p->is_array())
      for (const auto& n : p->get_array())
        if (n.is_string()) pk.emplace_back(n.get_string());
    const json::value& cols = need(t, "columns", tp);
    if (!cols.is_array() || cols.get_array().empty())
      throw Failure(DBTOOL_ERR_INVALID_ARGUMENT, "schema: " + tp + ".columns must be a non-empty array");
    std::string body;
    bool rowid_pk = false;
    for (size_t ci = 0; ci < cols.get_array().size(); ++ci) {
      std::string cp = tp + ".columns[" + std::to_string(ci) + "]";
      if (!cols.get_array()[ci].is_object()) throw Failure(DBTOOL_ERR_INVALID_ARGUMENT, "schema: " + cp + " must be an object");
      const json::object& c = cols.get_array()[ci].get_object();
      const json::value& cn = need(c, "name", cp);
      const json::value& ct = need(c, "type", cp);
      if (!cn.is_string() || !ct.is_string())
        throw Failure(DBTOOL_ERR_INVALID_ARGUMENT, "schema: " + cp + " needs a string name and type");
      ColumnDef col{std::string(cn.get_string()), std::string(ct.get_string()), true};
      if (auto* nl = c.if_contains("nullable"); nl && nl->is_bool()) col.nullable = nl->get_bool();
      std::string line = "  " + quote_identifier(col.name) + " " + sql_type(col.type, c);
      if (!col.nullable) line += " NOT NULL";
      // A single int64 primary key becomes the rowid: the fastest key SQLite has.
      if (pk.size() == 1 && pk[0] == col.name && col.type == "int64") {
        line += " PRIMARY KEY";
        rowid_pk = true;
      }
      if (auto* d = c.if_contains("default"); d && !d->is_null()) line += " DEFAULT " + literal(*d);
      body += (body.empty() ? "" : ",\n") + line;
      def.columns.push_back(std::move(col));
    }
    if (!pk.empty() && !rowid_pk) body += ",\n  PRIMARY KEY (" + name_list(need(t, "primary_key", tp), tp + ".primary_key") + ")";
    if (auto* u = t.if_contains("unique"); u && u->is_array())
      for (size_t i = 0; i < u->get_array().size(); ++i) {
        std::string up = tp + ".unique[" + std::to_string(i) + "]";
        const json::object& uo = u->get_array()[i].as_object();
        index_ddl.push_back("CREATE UNIQUE INDEX " + quote_identifier(std::string(need(uo, "name", up).as_string())) +
                            " ON " + qt + " (" + name_list(need(uo, "columns", up), up + ".columns") + ")");
      }
    if (auto* f = t.if_contains("foreign_keys"); f && f->is_array())
      for (size_t i = 0; i < f->get_array().size(); ++i) {
        std::string fp = tp + ".foreign_keys[" + std::to_string(i) + "]";
        const json::object& fo = f->get_array()[i].as_object();
        const json::object& ref = need(fo, "references", fp).as_object();
        body += ",\n  CONSTRAINT " + quote_identifier(std::string(need(fo, "name", fp).as_string())) + " FOREIGN KEY (" +
                name_list(need(fo, "columns", fp), fp + ".columns") + ") REFERENCES " +
                quote_identifier(std::string(need(ref, "table", fp + ".references").as_string())) + " (" +
                name_list(need(ref, "columns", fp + ".references"), fp + ".references.columns") + ")";
      }
    ddl.push_back("CREATE TABLE " + qt + " (\n" + body + "\n)");
    if (auto* ix = t.if_contains("indexes"); ix && ix->is_array())
      for (size_t i = 0; i < ix->get_array().size(); ++i) {
        std::string ip = tp + ".indexes[" + std::to_string(i) + "]";
        const json::object& io = ix->get_array()[i].as_object();
        index_ddl.push_back("CREATE INDEX " + quote_identifier(std::string(need(io, "name", ip).as_string())) + " ON " + qt +
                      " (" + name_list(need(io, "columns", ip), ip + ".columns") + ")");
      }
    out.push_back(std::move(def));
  }
  return out;
}

}  // namespace dbtool::sqlite
