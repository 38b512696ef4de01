// The PostgreSQL backend's entry points over libpq: a stage is a schema of its own in the target
// database, loaded with multi-row INSERTs; stage_commit renames `public` to a retired schema and
// the stage to `public` in one transaction (PostgreSQL DDL is transactional, so the cut-over is
// one atomic step). An advisory lock keeps two dbtool runs on one database apart.
#include "postgres_backend.hpp"

#include <dbtool/sdk/plugin.hpp>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>

namespace dbtool::postgres {
namespace {
namespace json = boost::json;
using sdk::Failure;

// ---- libpq helpers -----------------------------------------------------------------------

struct ClearResult {
  void operator()(PGresult* r) const { PQclear(r); }
};
using Result = std::unique_ptr<PGresult, ClearResult>;

dbtool_status status_of(const std::string& sqlstate) {
  const std::string cls = sqlstate.substr(0, 2);
  if (cls == "23") return DBTOOL_ERR_CONSTRAINT;
  if (cls == "28") return DBTOOL_ERR_AUTH;
  if (cls == "08") return DBTOOL_ERR_NETWORK;
  if (cls == "22") return DBTOOL_ERR_DATA;
  if (sqlstate == "3D000" || sqlstate == "42P01") return DBTOOL_ERR_NOT_FOUND;
  if (sqlstate == "57014") return DBTOOL_ERR_CANCELLED;
  return DBTOOL_ERR_BACKEND;
}

[[noreturn]] void fail(PGconn* conn, const PGresult* r, const std::string& what) {
  const char* state = r != nullptr ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : nullptr;
  std::string message = r != nullptr ? PQresultErrorMessage(r) : PQerrorMessage(conn);
  while (!message.empty() && (message.back() == '\n' || message.back() == ' ')) message.pop_back();
  const std::string sqlstate = state != nullptr ? state : "";
  throw Failure(sqlstate.empty() ? DBTOOL_ERR_BACKEND : status_of(sqlstate), what + ": " + message, sqlstate);
}

// Runs SQL with text parameters (a NULL pointer is SQL NULL); throws on error.
Result run(PGconn* conn, const std::string& sql, const std::vector<const char*>& params = {},
           const std::vector<int>& lengths = {}, const std::vector<int>& formats = {}) {
  Result r(PQexecParams(conn, sql.c_str(), static_cast<int>(params.size()), nullptr, params.data(),
                        lengths.empty() ? nullptr : lengths.data(), formats.empty() ? nullptr : formats.data(), 0));
  const auto st = PQresultStatus(r.get());
  if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) fail(conn, r.get(), "SQL failed");
  return r;
}

std::string quote(const std::string& name) {
  std::string out = "\"";
  for (char c : name) out += c == '"' ? std::string("\"\"") : std::string(1, c);
  return out + "\"";
}

std::string quote_list(const std::vector<std::string>& names) { return sdk::quoted_list(names, quote); }

// postgresql://USER@HOST:PORT/DB or postgres://...; the password comes from the options only.
struct Uri {
  std::string user, host, port, database;
};

Uri parse_uri(const std::string& uri) {
  size_t scheme_end = uri.find("://");
  const std::string scheme = scheme_end == std::string::npos ? "" : uri.substr(0, scheme_end);
  if (scheme != "postgresql" && scheme != "postgres")
    throw Failure(DBTOOL_ERR_INVALID_ARGUMENT,
                  "a PostgreSQL URI is postgresql://USER@HOST:PORT/DB (or postgres://), not " + uri);
  std::string rest = uri.substr(scheme_end + 3);
  Uri u;
  const size_t slash = rest.find('/');
  if (slash == std::string::npos) throw Failure(DBTOOL_ERR_INVALID_ARGUMENT, "the URI names no database: " + uri);
  u.database = rest.substr(slash + 1);
  u.database = u.database.substr(0, u.database.find('?'));
  if (u.database.empty()) throw Failure(DBTOOL_ERR_INVALID_ARGUMENT, "the URI names no database: " + uri);
  sdk::require_identifier(u.database);
  std::string authority = rest.substr(0, slash);
  if (const size_t at = authority.rfind('@'); at != std::string::npos) {
    u.user = authority.substr(0, at);
    if (u.user.find(':') != std::string::npos)
      throw Failure(DBTOOL_ERR_INVALID_ARGUMENT, "do not put the password in the URI");
    authority = authority.substr(at + 1);
  }
  if (const size_t colon = authority.rfind(':'); colon != std::string::npos) {
    u.port = authority.substr(colon + 1);
    authority = authority.substr(0, colon);
  }
  u.host = authority.empty() ? "localhost" : authority;
  return u;
}

}  // namespace

dbtool_status Backend::describe_uri(const char* uri, dbtool_text* out, dbtool_error* error) {
  return sdk::guard(error, [&] {
    const std::string given = uri != nullptr ? uri : "";
    const Uri u = parse_uri(given);
    json::object o{{"uri", given},
                   {"location", given},
                   {"name", u.database},
                   {"password", u.user.empty() ? "optional" : "required"}};
    sdk::set_text(out, json::serialize(o));
  });
}

namespace {

PGconn* connect(const Uri& u, const std::string& database, const std::string& password) {
  const char* keys[] = {"host", "port", "user", "password", "dbname", "client_encoding", "connect_timeout", nullptr};
  const char* values[] = {u.host.c_str(),
                          u.port.empty() ? nullptr : u.port.c_str(),
                          u.user.empty() ? nullptr : u.user.c_str(),
                          password.empty() ? nullptr : password.c_str(),
                          database.c_str(),
                          "UTF8",
                          "10",
                          nullptr};
  PGconn* conn = PQconnectdbParams(keys, values, 0);
  return conn;
}

// Why a connection failed, as a status: a missing database is NOT_FOUND, a refused login AUTH.
[[noreturn]] void fail_connect(PGconn* conn, const std::string& location) {
  std::string message = PQerrorMessage(conn);
  while (!message.empty() && message.back() == '\n') message.pop_back();
  dbtool_status st = DBTOOL_ERR_NETWORK;
  if (message.find("does not exist") != std::string::npos && message.find("database") != std::string::npos)
    st = DBTOOL_ERR_NOT_FOUND;
  else if (message.find("password") != std::string::npos || message.find("authentication") != std::string::npos)
    st = DBTOOL_ERR_AUTH;
  PQfinish(conn);
  throw Failure(st, "cannot connect to " + location + ": " + message);
}

std::vector<std::string> tables_of(PGconn* conn, const std::string& schema) {
  Result r = run(conn,
                 "SELECT table_name FROM information_schema.tables WHERE table_schema = $1 AND "
                 "table_type = 'BASE TABLE' ORDER BY table_name",
                 {schema.c_str()});
  std::vector<std::string> out;
  for (int i = 0; i < PQntuples(r.get()); ++i) out.emplace_back(PQgetvalue(r.get(), i, 0));
  return out;
}

int64_t count_rows(PGconn* conn, const std::string& qualified) {
  Result r = run(conn, "SELECT count(*) FROM " + qualified);
  return std::strtoll(PQgetvalue(r.get(), 0, 0), nullptr, 10);
}

// The portable type as a PostgreSQL type. Values keep their canonical text for json and the
// time types, so that they come back byte for byte.
std::string pg_type(const sdk::PortableColumn& c) {
  if (c.type == "int64") return "BIGINT";
  if (c.type == "float64") return "DOUBLE PRECISION";
  if (c.type == "bool") return "BOOLEAN";
  if (c.type == "blob") return "BYTEA";
  if (c.type == "text" && c.max_length) return "VARCHAR(" + std::to_string(*c.max_length) + ")";
  return "TEXT";
}

sdk::ColumnType arrow_type(const std::string& data_type) {
  if (data_type == "bigint") return sdk::ColumnType::Int64;
  if (data_type == "double precision") return sdk::ColumnType::Float64;
  if (data_type == "boolean") return sdk::ColumnType::Bool;
  if (data_type == "bytea") return sdk::ColumnType::Binary;
  return sdk::ColumnType::Utf8;
}

std::string literal(const json::value& v) {
  if (v.is_bool()) return v.get_bool() ? "TRUE" : "FALSE";
  if (v.is_string()) {
    std::string out = "'";
    for (char c : v.get_string()) out += c == '\'' ? std::string("''") : std::string(1, c);
    return out + "'";
  }
  return json::serialize(v);
}

std::string create_table(const std::string& schema, const sdk::PortableTable& t) {
  const std::string prefix = schema.empty() ? "" : quote(schema) + ".";
  std::string sql = "CREATE TABLE " + prefix + quote(t.name) + " (";
  bool first = true;
  for (const auto& c : t.columns) {
    sql += (first ? "" : ", ") + quote(c.name) + " " + pg_type(c);
    first = false;
    if (c.auto_increment) sql += " GENERATED BY DEFAULT AS IDENTITY";
    if (!c.nullable) sql += " NOT NULL";
    if (!c.default_value.is_null()) sql += " DEFAULT " + literal(c.default_value);
  }
  if (!t.primary_key.empty()) sql += ", PRIMARY KEY (" + quote_list(t.primary_key) + ")";
  for (const auto& u : t.unique) sql += ", CONSTRAINT " + quote(u.name) + " UNIQUE (" + quote_list(u.columns) + ")";
  for (const auto& f : t.foreign_keys) {
    std::string action = f.on_delete;
    for (char& ch : action) ch = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
    sql += ", CONSTRAINT " + quote(f.name) + " FOREIGN KEY (" + quote_list(f.columns) + ") REFERENCES " + prefix +
           quote(f.ref_table) + " (" + quote_list(f.ref_columns) + ") ON DELETE " + action;
  }
  return sql + ")";
}

std::string utc_stamp() {
  std::time_t now = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&now, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y%m%dT%H%M%SZ", &tm);
  return buf;
}

std::string decode_bytea(const char* text) {
  // The server's hex output: \x followed by two hex digits per byte.
  std::string out;
  if (text[0] != '\\' || text[1] != 'x') throw Failure(DBTOOL_ERR_DATA, "unexpected bytea text from the server");
  auto nibble = [](char c) { return c <= '9' ? c - '0' : (c | 0x20) - 'a' + 10; };
  for (const char* p = text + 2; p[0] != '\0' && p[1] != '\0'; p += 2)
    out += static_cast<char>(nibble(p[0]) << 4 | nibble(p[1]));
  return out;
}

// A SQL literal for a value as the server prints it in text form, by its Arrow type.
std::string value_literal(sdk::ColumnType type, const char* text, int length) {
  if (type == sdk::ColumnType::Int64 || type == sdk::ColumnType::Bool) return "'" + std::string(text, length) + "'";
  if (type == sdk::ColumnType::Float64) return "'" + std::string(text, length) + "'::float8";
  if (type == sdk::ColumnType::Binary) return "'" + std::string(text, length) + "'::bytea";  // \x hex form
  // An escape string, so that a value with a line break stays on its one line of the dump.
  std::string out = "E'";
  for (int i = 0; i < length; ++i) {
    switch (text[i]) {
      case '\\':
        out += "\\\\";
        break;
      case '\'':
        out += "\\'";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      default:
        out += text[i];
    }
  }
  return out + "'";
}

// The schema's tables in the stored portable schema's order (parents first), with the DDL
// that rebuilds them in whatever schema search_path names.
std::string stored_schema(PGconn* conn) {
  Result r = run(conn, "SELECT obj_description('public'::regnamespace, 'pg_namespace')");
  if (PQntuples(r.get()) == 0 || PQgetisnull(r.get(), 0, 0))
    throw Failure(DBTOOL_ERR_NOT_SUPPORTED, "this database was not made by dbtool: no portable schema to back up");
  return PQgetvalue(r.get(), 0, 0);
}

// Identity sequences follow the highest id, as after a load.
void advance_identities(PGconn* conn, const std::string& schema, const sdk::PortableSchema& ps) {
  for (const auto& t : ps.tables)
    for (const auto& c : t.columns)
      if (c.auto_increment) {
        const std::string q = quote(schema) + "." + quote(t.name);
        run(conn,
            "SELECT setval(pg_get_serial_sequence($1, $2), GREATEST((SELECT max(" + quote(c.name) + ") FROM " + q +
                "), 1), (SELECT max(" + quote(c.name) + ") FROM " + q + ") IS NOT NULL)",
            {q.c_str(), c.name.c_str()});
      }
}

// Swaps `stage` in as `public` in one transaction; the old public schema is kept as a retired
// one when it held tables. Returns the report.
json::object cut_over(dbtool_session* s, const std::string& stage) {
  PGconn* conn = s->conn;
  static std::atomic<int> cut_overs{0};  // two cut-overs in one second get two names
  const std::string retired =
      "dbtool_retired_" + utc_stamp() + "_" + std::to_string(::getpid()) + "_" + std::to_string(cut_overs++);
  json::object r;
  run(conn, "BEGIN");
  try {
    const bool had_tables = !tables_of(conn, "public").empty();
    Result pub = run(conn, "SELECT 1 FROM pg_namespace WHERE nspname = 'public'");
    if (PQntuples(pub.get()) > 0) {
      if (had_tables) {
        run(conn, "ALTER SCHEMA public RENAME TO " + quote(retired));
        r["retired"] = "schema " + retired + " of " + s->location;
      } else {
        run(conn, "DROP SCHEMA public CASCADE");
      }
    }
    run(conn, "ALTER SCHEMA " + quote(stage) + " RENAME TO public");
    run(conn, "COMMIT");
  } catch (...) {
    PQclear(PQexec(conn, "ROLLBACK"));
    throw;
  }
  return r;
}

}  // namespace

// ---- the entry points ------------------------------------------------------------------------

dbtool_status Backend::open(const char* options_json, dbtool_session** out, dbtool_error* error) {
  return sdk::guard(error, [&] {
    *out = nullptr;
    boost::system::error_code ec;
    json::value v = json::parse(options_json != nullptr ? options_json : "", ec);
    if (ec || !v.is_object()) throw Failure(DBTOOL_ERR_INVALID_ARGUMENT, "open: the options are not a JSON object");
    const json::object& o = v.get_object();
    const json::value* uri = o.if_contains("uri");
    if (uri == nullptr || !uri->is_string()) throw Failure(DBTOOL_ERR_INVALID_ARGUMENT, "open: \"uri\" is missing");
    const Uri u = parse_uri(std::string(uri->get_string()));
    const std::string password =
        o.if_contains("password") && o.at("password").is_string() ? std::string(o.at("password").get_string()) : "";
    const bool create = o.if_contains("create") && o.at("create").is_bool() && o.at("create").get_bool();
    // Closed like any session when open fails part way (its connection and canceller freed).
    std::unique_ptr<dbtool_session, void (*)(dbtool_session*)> s(new dbtool_session, &Backend::close);
    s->database = u.database;
    s->uri = std::string(uri->get_string());
    s->password = password;
    s->location = std::string(kName) + "://" + (u.user.empty() ? "" : u.user + "@") + u.host +
                  (u.port.empty() ? "" : ":" + u.port) + "/" + u.database;
    PGconn* conn = connect(u, u.database, password);
    if (PQstatus(conn) != CONNECTION_OK) {
      std::string message = PQerrorMessage(conn);
      const bool missing = message.find("does not exist") != std::string::npos;
      if (!(missing && create)) fail_connect(conn, s->location);
      PQfinish(conn);
      // Created from the maintenance database; the name was checked as an identifier.
      PGconn* admin = connect(u, "postgres", password);
      if (PQstatus(admin) != CONNECTION_OK) fail_connect(admin, s->location);
      Result r(PQexec(admin, ("CREATE DATABASE " + quote(u.database)).c_str()));
      const bool ok = PQresultStatus(r.get()) == PGRES_COMMAND_OK;
      std::string why = ok ? "" : PQresultErrorMessage(r.get());
      r.reset();
      PQfinish(admin);
      if (!ok) throw Failure(DBTOOL_ERR_BACKEND, "cannot create " + s->location + ": " + why);
      conn = connect(u, u.database, password);
      if (PQstatus(conn) != CONNECTION_OK) fail_connect(conn, s->location);
    }
    s->conn = conn;
    s->canceller = PQgetCancel(conn);
    if (s->canceller == nullptr) throw Failure(DBTOOL_ERR_INTERNAL, "out of memory");
    run(conn, "SET client_min_messages = warning");  // notices would go to stderr otherwise
    PQsetNoticeProcessor(
        conn, [](void*, const char*) {}, nullptr);
    // One dbtool run per database at a time; the lock goes with the connection.
    Result lock = run(conn, "SELECT pg_try_advisory_lock(hashtext($1))", {("dbtool:" + u.database).c_str()});
    if (std::string(PQgetvalue(lock.get(), 0, 0)) != "t")
      throw Failure(DBTOOL_ERR_BACKEND, "another dbtool run is working on " + s->location + " (advisory lock held)");
    // Stages left by a killed run: safe to drop while we hold the lock.
    Result stale = run(conn, "SELECT nspname FROM pg_namespace WHERE nspname LIKE 'dbtool\\_stage\\_%'");
    for (int i = 0; i < PQntuples(stale.get()); ++i)
      run(conn, "DROP SCHEMA " + quote(PQgetvalue(stale.get(), i, 0)) + " CASCADE");
    *out = s.release();
  });
}

void Backend::close(dbtool_session* session) {
  if (session == nullptr) return;
  if (session->canceller != nullptr) PQfreeCancel(session->canceller);
  PQfinish(session->conn);
  delete session;
}

// From the host's watcher thread while the session's own thread may be blocked in a statement
// (a lock wait, a long COPY): asks the server to cancel what runs on the session's connection,
// which every stage of the session uses too. The statement then fails with SQLSTATE 57014,
// DBTOOL_ERR_CANCELLED. With nothing running the server ignores the request.
dbtool_status Backend::cancel(dbtool_session* s, dbtool_error* error) {
  return sdk::guard(error, [&] {
    char message[256] = {};
    if (PQcancel(s->canceller, message, sizeof(message)) == 0)
      throw Failure(DBTOOL_ERR_NETWORK, std::string("cannot send the cancel request: ") + message);
  });
}

dbtool_status Backend::describe(dbtool_session* s, dbtool_text* out, dbtool_error* error) {
  return sdk::guard(error, [&] {
    json::array tables;
    for (const auto& t : tables_of(s->conn, "public"))
      tables.push_back(json::object{{"name", t}, {"rows", count_rows(s->conn, "public." + quote(t))}});
    json::array retired;
    Result r = run(s->conn, "SELECT nspname FROM pg_namespace WHERE nspname LIKE 'dbtool\\_retired\\_%' ORDER BY 1");
    for (int i = 0; i < PQntuples(r.get()); ++i) retired.push_back(json::string(PQgetvalue(r.get(), i, 0)));
    json::object o{{"exists", true}, {"location", s->location}, {"tables", tables}, {"backup_extension", ".sql"}};
    // Views and triggers, which no portable schema describes: named so the host can warn.
    json::array views;
    Result v = run(s->conn, "SELECT table_name FROM information_schema.views WHERE table_schema = 'public' ORDER BY 1");
    for (int i = 0; i < PQntuples(v.get()); ++i) views.push_back(json::object{{"name", PQgetvalue(v.get(), i, 0)}});
    json::array triggers;
    Result t = run(s->conn,
                   "SELECT DISTINCT trigger_name, event_object_table FROM information_schema.triggers "
                   "WHERE trigger_schema = 'public' ORDER BY 1");
    for (int i = 0; i < PQntuples(t.get()); ++i)
      triggers.push_back(json::object{{"name", PQgetvalue(t.get(), i, 0)}, {"table", PQgetvalue(t.get(), i, 1)}});
    o["views"] = std::move(views);
    o["triggers"] = std::move(triggers);
    if (!retired.empty()) o["retired"] = retired;
    sdk::set_text(out, json::serialize(o));
  });
}

dbtool_status Backend::read_table(dbtool_session* s, const char* table_c, ArrowArrayStream* out, dbtool_error* error) {
  return sdk::guard(error, [&] {
    const std::string table = table_c != nullptr ? table_c : "";
    const auto names = tables_of(s->conn, "public");
    if (std::find(names.begin(), names.end(), table) == names.end())
      throw Failure(DBTOOL_ERR_NOT_FOUND, "no table \"" + table + "\" in " + s->location);
    std::vector<sdk::ColumnSpec> columns;
    {
      Result r = run(s->conn,
                     "SELECT column_name, data_type FROM information_schema.columns WHERE table_schema = 'public' "
                     "AND table_name = $1 ORDER BY ordinal_position",
                     {table.c_str()});
      for (int i = 0; i < PQntuples(r.get()); ++i)
        columns.push_back({PQgetvalue(r.get(), i, 0), arrow_type(PQgetvalue(r.get(), i, 1))});
    }
    std::string order;
    {
      Result r = run(s->conn,
                     "SELECT a.attname FROM pg_index i JOIN pg_attribute a ON a.attrelid = i.indrelid AND "
                     "a.attnum = ANY(i.indkey) WHERE i.indrelid = ('public.' || quote_ident($1))::regclass AND "
                     "i.indisprimary ORDER BY array_position(i.indkey::int2[], a.attnum)",
                     {table.c_str()});
      for (int i = 0; i < PQntuples(r.get()); ++i)
        order += (order.empty() ? "" : ", ") + quote(PQgetvalue(r.get(), i, 0));
    }
    // A cursor in a read-only transaction on a connection of the stream's own streams the rows in
    // batches, so the session stays free for a stage the rows are loaded into meanwhile (as
    // migrate does with dbtool_history). Releasing the stream closes that connection.
    struct Reader {
      PGconn* conn = nullptr;
      std::vector<sdk::ColumnSpec> columns;
      bool done = false;
      ~Reader() { PQfinish(conn); }
    };
    auto reader = std::make_shared<Reader>();  // made in place: a copied Reader would close the connection
    const Uri u = parse_uri(s->uri);
    reader->conn = connect(u, u.database, s->password);
    if (PQstatus(reader->conn) != CONNECTION_OK) {
      PGconn* failed = reader->conn;
      reader->conn = nullptr;
      fail_connect(failed, s->location);
    }
    reader->columns = columns;
    run(reader->conn, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY");
    run(reader->conn, "DECLARE dbtool_read NO SCROLL CURSOR FOR SELECT * FROM public." + quote(table) +
                          (order.empty() ? "" : " ORDER BY " + order));
    sdk::export_stream(
        columns,
        [reader](ArrowArray* batch) {
          if (reader->done) return false;
          Result r = run(reader->conn, "FETCH FORWARD 2048 FROM dbtool_read");
          const int rows = PQntuples(r.get());
          if (rows == 0) {
            reader->done = true;
            return false;
          }
          sdk::BatchBuilder b(reader->columns);
          for (int row = 0; row < rows; ++row) {
            for (size_t c = 0; c < reader->columns.size(); ++c) {
              const int col = static_cast<int>(c);
              if (PQgetisnull(r.get(), row, col)) {
                b.append_null(c);
                continue;
              }
              const char* text = PQgetvalue(r.get(), row, col);
              switch (reader->columns[c].type) {
                case sdk::ColumnType::Int64:
                  b.append_int64(c, std::strtoll(text, nullptr, 10));
                  break;
                case sdk::ColumnType::Float64:
                  b.append_double(c, std::strtod(text, nullptr));
                  break;
                case sdk::ColumnType::Bool:
                  b.append_bool(c, text[0] == 't');
                  break;
                case sdk::ColumnType::Binary:
                  b.append_bytes(c, decode_bytea(text));
                  break;
                default:
                  b.append_bytes(c, std::string_view(text, PQgetlength(r.get(), row, col)));
              }
            }
          }
          b.finish(batch);
          return true;
        },
        out);
  });
}

dbtool_status Backend::stage_begin(dbtool_session* s, const char* schema_json, dbtool_stage** out,
                                   dbtool_error* error) {
  return sdk::guard(error, [&] {
    *out = nullptr;
    static std::atomic<int> counter{0};
    auto st = std::make_unique<dbtool_stage>();
    st->schema = sdk::parse_portable_schema(schema_json != nullptr ? schema_json : "");
    st->session = s;
    st->schema_json = schema_json != nullptr ? schema_json : "";
    st->schema_name = "dbtool_stage_" + std::to_string(::getpid()) + "_" + std::to_string(counter++);
    run(s->conn, "CREATE SCHEMA " + quote(st->schema_name));
    try {
      for (const auto& t : st->schema.tables) {
        run(s->conn, create_table(st->schema_name, t));
        for (const auto& ix : t.indexes)
          run(s->conn, "CREATE INDEX " + quote(ix.name) + " ON " + quote(st->schema_name) + "." + quote(t.name) + " (" +
                           quote_list(ix.columns) + ")");
      }
    } catch (...) {
      PQclear(PQexec(s->conn, ("DROP SCHEMA " + quote(st->schema_name) + " CASCADE").c_str()));
      throw;
    }
    *out = st.release();
  });
}

dbtool_status Backend::stage_load(dbtool_stage* st, const char* table_c, ArrowArrayStream* stream, int64_t* rows_loaded,
                                  dbtool_error* error) {
  int64_t loaded = 0;
  dbtool_status status = sdk::guard(error, [&] {
    sdk::StreamReader reader(stream);  // owns the stream from here on, whatever happens
    const std::string table = table_c != nullptr ? table_c : "";
    const sdk::PortableTable& def = st->schema.table(table);
    sdk::check_columns(def, reader.columns());
    const std::string qualified = quote(st->schema_name) + "." + quote(table);
    std::vector<std::string> names;
    for (const auto& c : reader.columns()) names.push_back(c.name);
    const size_t ncols = names.size();
    const size_t per_insert = ncols == 0 ? 1 : std::max<size_t>(1, std::min<size_t>(1000, 30000 / ncols));
    PGconn* conn = st->session->conn;
    sdk::ArrayHolder batch;
    while (reader.next(batch)) {
      if (sdk::cancelled()) throw Failure(DBTOOL_ERR_CANCELLED, "loading " + table + ": cancelled");
      // Stored as text, so a date in any other form would be kept as it came: refuse it here.
      sdk::check_temporal_values(def, reader.columns(), batch.a);
      sdk::BatchView v(reader.columns(), batch.a);
      for (int64_t first = 0; first < v.rows(); first += static_cast<int64_t>(per_insert)) {
        const int64_t last = std::min<int64_t>(v.rows(), first + static_cast<int64_t>(per_insert));
        std::vector<std::string> texts;
        texts.reserve(static_cast<size_t>(last - first) * ncols);
        std::vector<const char*> params;
        std::vector<int> lengths, formats;
        std::string sql = "INSERT INTO " + qualified + " (" + quote_list(names) + ") OVERRIDING SYSTEM VALUE VALUES ";
        int n = 0;
        for (int64_t r = first; r < last; ++r) {
          sql += r == first ? "(" : ", (";
          for (size_t c = 0; c < ncols; ++c) {
            sql += (c == 0 ? "$" : ", $") + std::to_string(++n);
            if (v.is_null(c, r)) {
              texts.emplace_back();
              params.push_back(nullptr);
              lengths.push_back(0);
              formats.push_back(0);
              continue;
            }
            int format = 0;
            switch (v.spec(c).type) {
              case sdk::ColumnType::Int64:
                texts.push_back(std::to_string(v.get_int64(c, r)));
                break;
              case sdk::ColumnType::Bool:
                texts.push_back(v.get_bool(c, r) ? "t" : "f");
                break;
              case sdk::ColumnType::Float64: {
                char buf[40];
                std::snprintf(buf, sizeof buf, "%.17g", v.get_double(c, r));
                texts.push_back(buf);
                break;
              }
              case sdk::ColumnType::Binary:
                texts.emplace_back(v.get_bytes(c, r));
                format = 1;  // raw bytes, no escaping
                break;
              default:
                texts.emplace_back(v.get_bytes(c, r));
            }
            params.push_back(nullptr);
            lengths.push_back(static_cast<int>(texts.back().size()));
            formats.push_back(format);
          }
          sql += ")";
        }
        // Pointers into `texts` only now that it no longer grows; NULL where the value is NULL.
        for (int64_t r = first, i = 0; r < last; ++r)
          for (size_t c = 0; c < ncols; ++c, ++i)
            params[static_cast<size_t>(i)] = v.is_null(c, r) ? nullptr : texts[static_cast<size_t>(i)].c_str();
        run(conn, sql, params, lengths, formats);
        loaded += last - first;
      }
    }
    // Explicit ids leave the identity's sequence behind; move it past the highest id.
    for (const auto& c : def.columns)
      if (c.auto_increment)
        run(conn,
            "SELECT setval(pg_get_serial_sequence($1, $2), GREATEST((SELECT max(" + quote(c.name) + ") FROM " +
                qualified + "), 1), (SELECT max(" + quote(c.name) + ") FROM " + qualified + ") IS NOT NULL)",
            {qualified.c_str(), c.name.c_str()});
  });
  if (rows_loaded != nullptr) *rows_loaded = loaded;
  return status;
}

dbtool_status Backend::stage_count(dbtool_stage* st, const char* table, int64_t* rows, dbtool_error* error) {
  return sdk::guard(error, [&] {
    const std::string& name = st->schema.table(table != nullptr ? table : "").name;
    *rows = count_rows(st->session->conn, quote(st->schema_name) + "." + quote(name));
  });
}

dbtool_status Backend::stage_commit(dbtool_stage* raw, dbtool_text* report, dbtool_error* error) {
  std::unique_ptr<dbtool_stage> st(raw);  // gone after this call, success or not
  PGconn* conn = st->session->conn;
  dbtool_status status = sdk::guard(error, [&] {
    // Foreign keys were checked row by row at load. The portable schema goes with the data, as
    // the schema's comment, so that a backup can rebuild the same tables.
    run(conn, "COMMENT ON SCHEMA " + quote(st->schema_name) + " IS " + literal(json::string(st->schema_json)));
    sdk::set_text(report, json::serialize(cut_over(st->session, st->schema_name)));
  });
  if (status != DBTOOL_OK)
    PQclear(PQexec(conn, ("DROP SCHEMA IF EXISTS " + quote(st->schema_name) + " CASCADE").c_str()));
  return status;
}

dbtool_status Backend::backup(dbtool_session* s, const char* path_c, dbtool_text* report, dbtool_error* error) {
  const std::string path = path_c != nullptr ? path_c : "";
  bool created = false;
  dbtool_status status = sdk::guard(error, [&] {
    // O_EXCL: a backup never replaces a file; 0600: it holds the users' data.
    int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0)
      throw Failure(errno == EEXIST ? DBTOOL_ERR_ALREADY_EXISTS : DBTOOL_ERR_IO,
                    "cannot create the backup " + path + ": " + std::strerror(errno));
    created = true;
    ::close(fd);
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    // One snapshot for the whole dump.
    run(s->conn, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY");
    struct EndTransaction {
      PGconn* c;
      ~EndTransaction() { PQclear(PQexec(c, "ROLLBACK")); }
    } end{s->conn};
    const std::string schema_json = stored_schema(s->conn);
    const sdk::PortableSchema ps = sdk::parse_portable_schema(schema_json);
    out << "-- dbtool PostgreSQL backup: run with search_path set to an empty schema\n";
    out << "-- dbtool-schema " << json::serialize(json::string(schema_json)) << "\n";
    for (const auto& t : ps.tables) out << create_table("", t) << ";\n";
    for (const auto& t : ps.tables)
      for (const auto& ix : t.indexes)
        out << "CREATE INDEX " << quote(ix.name) << " ON " << quote(t.name) << " (" << quote_list(ix.columns) << ");\n";
    json::array tables;
    std::string trailer;
    for (const auto& t : ps.tables) {
      std::vector<std::string> names;
      std::vector<sdk::ColumnType> types;
      for (const auto& c : t.columns) {
        names.push_back(c.name);
        types.push_back(c.type == "int64"     ? sdk::ColumnType::Int64
                        : c.type == "float64" ? sdk::ColumnType::Float64
                        : c.type == "bool"    ? sdk::ColumnType::Bool
                        : c.type == "blob"    ? sdk::ColumnType::Binary
                                              : sdk::ColumnType::Utf8);
      }
      Result r = run(s->conn, "SELECT " + quote_list(names) + " FROM public." + quote(t.name));
      const int rows = PQntuples(r.get());
      for (int row = 0; row < rows; ++row) {
        std::string line =
            "INSERT INTO " + quote(t.name) + " (" + quote_list(names) + ") OVERRIDING SYSTEM VALUE VALUES (";
        for (size_t c = 0; c < names.size(); ++c) {
          const int col = static_cast<int>(c);
          line += c == 0 ? "" : ", ";
          line += PQgetisnull(r.get(), row, col)
                      ? "NULL"
                      : value_literal(types[c], PQgetvalue(r.get(), row, col), PQgetlength(r.get(), row, col));
        }
        out << line << ");\n";
      }
      tables.push_back(json::object{{"name", t.name}, {"rows", rows}});
      trailer += (trailer.empty() ? "" : ",") + t.name + "=" + std::to_string(rows);
    }
    out << "-- dbtool-backup-end rows " << trailer << "\n";
    out.flush();
    if (!out) throw Failure(DBTOOL_ERR_IO, "writing the backup " + path + " failed");
    out.close();
    json::object r{{"bytes", static_cast<int64_t>(std::filesystem::file_size(path))},
                   {"format", "postgresql-sql"},
                   {"tables", tables}};
    sdk::set_text(report, json::serialize(r));
  });
  if (status != DBTOOL_OK && created) ::unlink(path.c_str());
  return status;
}

dbtool_status Backend::restore(dbtool_session* s, const char* path_c, dbtool_text* report, dbtool_error* error) {
  std::string stage;
  dbtool_status status = sdk::guard(error, [&] {
    const std::string path = path_c != nullptr ? path_c : "";
    std::ifstream in(path, std::ios::binary);
    if (!in) throw Failure(DBTOOL_ERR_IO, "cannot read " + path);
    std::vector<std::string> lines;
    for (std::string line; std::getline(in, line);) lines.push_back(line);
    // The trailer is written last: a file without it is cut short and never restored.
    const std::string end = "-- dbtool-backup-end rows ";
    if (lines.empty() || lines.back().rfind(end, 0) != 0)
      throw Failure(DBTOOL_ERR_DATA, path + " is not a complete dbtool PostgreSQL backup (no end trailer)");
    std::map<std::string, int64_t> expected;
    for (std::string rest = lines.back().substr(end.size()); !rest.empty();) {
      const std::string item = rest.substr(0, rest.find(','));
      rest = rest.find(',') == std::string::npos ? "" : rest.substr(rest.find(',') + 1);
      expected[item.substr(0, item.find('='))] = std::strtoll(item.c_str() + item.find('=') + 1, nullptr, 10);
    }
    const std::string tag = "-- dbtool-schema ";
    if (lines.size() < 2 || lines[1].rfind(tag, 0) != 0)
      throw Failure(DBTOOL_ERR_DATA, path + " has no dbtool schema line");
    const std::string schema_json(json::parse(lines[1].substr(tag.size())).as_string());
    const sdk::PortableSchema ps = sdk::parse_portable_schema(schema_json);
    // Rebuilt beside the target in a stage schema, counted against the trailer, then swapped in.
    static std::atomic<int> counter{0};
    stage = "dbtool_stage_" + std::to_string(::getpid()) + "_r" + std::to_string(counter++);
    run(s->conn, "CREATE SCHEMA " + quote(stage));
    run(s->conn, "SET search_path TO " + quote(stage));
    struct ResetPath {
      PGconn* c;
      ~ResetPath() { PQclear(PQexec(c, "SET search_path TO DEFAULT")); }
    } reset{s->conn};
    for (size_t i = 2; i + 1 < lines.size(); ++i)
      if (!lines[i].empty() && lines[i].rfind("--", 0) != 0) run(s->conn, lines[i]);
    json::array tables;
    for (const auto& t : ps.tables) {
      const int64_t rows = count_rows(s->conn, quote(stage) + "." + quote(t.name));
      if (!expected.count(t.name) || expected[t.name] != rows)
        throw Failure(DBTOOL_ERR_DATA, path + ": table " + t.name + " holds " + std::to_string(rows) +
                                           " rows, the trailer says otherwise");
      tables.push_back(json::object{{"name", t.name}, {"rows", rows}});
    }
    advance_identities(s->conn, stage, ps);
    run(s->conn, "COMMENT ON SCHEMA " + quote(stage) + " IS " + literal(json::string(schema_json)));
    run(s->conn, "SET search_path TO DEFAULT");
    json::object r = cut_over(s, stage);
    stage.clear();
    r["tables"] = tables;
    r["bytes"] = static_cast<int64_t>(std::filesystem::file_size(path));
    r["format"] = "postgresql-sql";
    sdk::set_text(report, json::serialize(r));
  });
  if (!stage.empty()) PQclear(PQexec(s->conn, ("DROP SCHEMA IF EXISTS " + quote(stage) + " CASCADE").c_str()));
  return status;
}

void Backend::stage_abort(dbtool_stage* st) {
  if (st == nullptr) return;
  PQclear(PQexec(st->session->conn, ("DROP SCHEMA IF EXISTS " + quote(st->schema_name) + " CASCADE").c_str()));
  delete st;
}

}  // namespace dbtool::postgres
