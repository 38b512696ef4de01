// Sessions on a MySQL/MariaDB database: connect (creating the database when asked), an
// advisory lock against concurrent runs, stale-stage cleanup, describe, read_table, cancel.
#include "mysql_backend.hpp"

#include <boost/json.hpp>

#include <mysqld_error.h>

#include <algorithm>
#include <cstdlib>
#include <memory>
#include <optional>
#include <vector>

namespace dbtool::mysql {
namespace json = boost::json;
using sdk::Failure;

dbtool_status Backend::open(const char* options_json, dbtool_session** out, dbtool_error* error) {
  return sdk::guard(error, [&] {
    *out = nullptr;
    boost::system::error_code ec;
    json::value opts = json::parse(options_json ? options_json : "", ec);
    if (ec || !opts.is_object()) throw Failure(DBTOOL_ERR_INVALID_ARGUMENT, "open options must be a JSON object");
    const json::object& o = opts.get_object();
    const json::value* uri = o.if_contains("uri");
    if (uri == nullptr || !uri->is_string()) throw Failure(DBTOOL_ERR_INVALID_ARGUMENT, "open options need a \"uri\"");
    auto s = std::make_unique<dbtool_session>();
    s->target = parse_uri(std::string(uri->get_string()));
    if (auto* p = o.if_contains("password"); p && p->is_string()) s->password = std::string(p->get_string());
    if (auto* a = o.if_contains("allow_concurrent_writes"); a && a->is_bool())
      s->allow_concurrent_writes = a->get_bool();
    bool create = false;
    if (auto* c = o.if_contains("create"); c && c->is_bool()) create = c->get_bool();
    if (const json::value* ro = o.if_contains("read_only"); ro != nullptr && !ro->is_null()) {
      if (!ro->is_bool()) throw Failure(DBTOOL_ERR_INVALID_ARGUMENT, "\"read_only\" must be true or false");
      s->read_only = ro->get_bool();
    }
    s->conn = Connection(s->target, s->password, "");
    s->session_thread = mysql_thread_id(s->conn.get());
    s->collation = text_collation(s->conn.get());
    const std::string& db = s->target.database;
    s->exists = s->conn.scalar_int("SELECT COUNT(*) FROM information_schema.schemata WHERE schema_name = " +
                                   quote_string(s->conn.get(), db)) > 0;
    if (s->read_only) {
      // A source is only read: no lock (a run migrating into it is not held off), nothing
      // created or dropped, and the server itself refuses any write on this connection.
      if (!s->exists) throw Failure(DBTOOL_ERR_NOT_FOUND, "no database " + db + " at " + s->target.display);
      s->conn.query("SET SESSION TRANSACTION READ ONLY", "opening " + db + " read-only");
      *out = s.release();
      return;
    }
    if (!s->exists && create) {
      s->conn.query(
          "CREATE DATABASE IF NOT EXISTS " + quote_identifier(db) + " CHARACTER SET utf8mb4 COLLATE " + s->collation,
          "creating database " + db);
      s->exists = true;
    }
    // A short wait, not none: the server frees the lock of a session that just closed a moment
    // after the client has gone, and a run that follows another at once must not trip on it.
    if (s->conn.scalar_int("SELECT GET_LOCK(" + quote_string(s->conn.get(), "dbtool:" + db) + ", 3)") != 1)
      throw Failure(DBTOOL_ERR_BACKEND, "another dbtool run is working on " + s->target.display);
    // With the lock held, stage databases beside this one are leftovers of killed runs.
    std::string prefix = stage_prefix(db);
    for (const auto& name : s->conn.column_of("SELECT schema_name FROM information_schema.schemata"))
      if (name.rfind(prefix, 0) == 0) {
        log(DBTOOL_LOG_INFO, "dropping " + name + ", left by an interrupted run");
        s->conn.query("DROP DATABASE " + quote_identifier(name), "dropping a stale stage");
      }
    // A run killed between creating its retired database and the RENAME leaves it empty; one
    // that holds anything (tables, views) is the data of an earlier cut-over and stays.
    const std::string retired = retired_prefix(db);
    for (const auto& name : s->conn.column_of("SELECT schema_name FROM information_schema.schemata"))
      if (name.rfind(retired, 0) == 0 &&
          s->conn.scalar_int("SELECT COUNT(*) FROM information_schema.tables WHERE table_schema = " +
                             quote_string(s->conn.get(), name)) == 0) {
        log(DBTOOL_LOG_INFO, "dropping " + name + ", an empty retired database left by an interrupted run");
        s->conn.query("DROP DATABASE " + quote_identifier(name), "dropping an empty retired database");
      }
    *out = s.release();
  });
}

void Backend::close(dbtool_session* s) {
  // Released explicitly so that the next run finds it free at once; closing would free it too,
  // but only once the server has noticed the connection is gone.
  if (s != nullptr && s->conn && !s->read_only) {
    const std::string sql = "SELECT RELEASE_LOCK(" + quote_string(s->conn.get(), "dbtool:" + s->target.database) + ")";
    if (mysql_query(s->conn.get(), sql.c_str()) == 0) mysql_free_result(mysql_store_result(s->conn.get()));
  }
  delete s;
}

// Called by the host from another thread while the session's own thread may be blocked in any
// statement (a RENAME waiting for a metadata lock, a long load): interrupts the statement running
// on each of the session's connections from a connection of its own. The interrupted call fails
// with ER_QUERY_INTERRUPTED, which is DBTOOL_ERR_CANCELLED, and cleans up as after any failure.
// Reads only atomics of the session and the set of load connections (under its mutex), so a
// stage finishing meanwhile is no hazard; a connection that closed in between is no longer there
// to kill, which is no failure.
dbtool_status Backend::cancel(dbtool_session* s, dbtool_error* error) {
  return sdk::guard(error, [&] {
    std::vector<unsigned long> ids;
    {
      // Every connection of the open stage.
      std::lock_guard<std::mutex> lock(s->load_threads_mutex);
      ids.assign(s->load_threads.begin(), s->load_threads.end());
    }
    for (const auto* slot : {&s->busy_thread, &s->session_thread})
      if (unsigned long id = slot->load(); id != 0 && std::find(ids.begin(), ids.end(), id) == ids.end())
        ids.push_back(id);
    if (ids.empty()) return;
    Connection killer(s->target, s->password, "");
    for (unsigned long id : ids) {
      const std::string sql = "KILL QUERY " + std::to_string(id);
      if (mysql_real_query(killer.get(), sql.data(), sql.size()) != 0 && mysql_errno(killer.get()) != ER_NO_SUCH_THREAD)
        fail(killer.get(), "cancel");
    }
  });
}

dbtool_status Backend::describe(dbtool_session* s, dbtool_text* out, dbtool_error* error) {
  return sdk::guard(error, [&] {
    json::object o;
    o["exists"] = s->exists;
    o["location"] = s->target.display;
    o["backup_extension"] = ".sql";
    o["tables"] = s->exists ? json::parse(tables_json(s->conn, s->target.database)) : json::array();
    if (s->exists) {
      o["views"] = views_json(s->conn, s->target.database);
      o["triggers"] = triggers_json(s->conn, s->target.database);
    }
    // The data earlier cut-overs set aside, so that `dbtool status` can remind the operator.
    json::array retired;
    const std::string prefix = retired_prefix(s->target.database);
    for (const auto& name :
         s->conn.column_of("SELECT schema_name FROM information_schema.schemata ORDER BY schema_name"))
      if (name.rfind(prefix, 0) == 0) retired.emplace_back(name);
    o["retired"] = std::move(retired);
    sdk::set_text(out, json::serialize(o));
  });
}

namespace {

sdk::ColumnType type_of_field(const MYSQL_FIELD& f) {
  switch (f.type) {
    case MYSQL_TYPE_TINY:
      if (f.length == 1) return sdk::ColumnType::Bool;
      return sdk::ColumnType::Int64;
    case MYSQL_TYPE_SHORT:
    case MYSQL_TYPE_LONG:
    case MYSQL_TYPE_INT24:
    case MYSQL_TYPE_LONGLONG:
      return sdk::ColumnType::Int64;
    case MYSQL_TYPE_YEAR:
      return sdk::ColumnType::Int64;
    case MYSQL_TYPE_FLOAT:
    case MYSQL_TYPE_DOUBLE:
    case MYSQL_TYPE_DECIMAL:
    case MYSQL_TYPE_NEWDECIMAL:
      return sdk::ColumnType::Float64;
    case MYSQL_TYPE_TINY_BLOB:
    case MYSQL_TYPE_MEDIUM_BLOB:
    case MYSQL_TYPE_LONG_BLOB:
    case MYSQL_TYPE_BLOB:
    case MYSQL_TYPE_STRING:
    case MYSQL_TYPE_VAR_STRING:
      return f.charsetnr == 63 ? sdk::ColumnType::Binary : sdk::ColumnType::Utf8;
    default:
      return sdk::ColumnType::Utf8;
  }
}

struct TableReader {
  dbtool_session* session = nullptr;
  Connection own;         // outside a snapshot: the stream's own connection
  MYSQL* conn = nullptr;  // `own`, or the session's connection inside a snapshot
  MYSQL_RES* result = nullptr;
  std::vector<sdk::ColumnSpec> columns;
  std::vector<enum_field_types> field_types;
  ~TableReader() {
    if (result != nullptr) mysql_free_result(result);  // reads what is left: the connection stays usable
    --session->open_streams;
  }
};

}  // namespace

dbtool_status Backend::read_table(dbtool_session* s, const char* table_c, ArrowArrayStream* out, dbtool_error* error) {
  return sdk::guard(error, [&] {
    const std::string table = table_c ? table_c : "";
    const std::string& db = s->target.database;
    auto names = tables_of(s->conn, db);
    if (std::find(names.begin(), names.end(), table) == names.end())
      throw Failure(DBTOOL_ERR_NOT_FOUND, "no table \"" + table + "\" in " + db);
    // One result streams per connection at a time; the session's is busy until the stream goes.
    if (s->in_snapshot && s->open_streams > 0)
      throw Failure(DBTOOL_ERR_INVALID_ARGUMENT, "release the open read_table stream before reading " + table);
    auto r = std::make_shared<TableReader>();
    r->session = s;
    ++s->open_streams;
    if (s->in_snapshot) {
      r->conn = s->conn.get();  // the snapshot's transaction lives on this connection
    } else {
      // Its own connection: the stream may outlive other calls on the session.
      r->own = Connection(s->target, s->password, db);
      if (s->read_only) r->own.query("SET SESSION TRANSACTION READ ONLY", "reading " + table);
      r->conn = r->own.get();
    }
    auto pk =
        s->conn.column_of("SELECT column_name FROM information_schema.key_column_usage WHERE table_schema = " +
                          quote_string(s->conn.get(), db) + " AND table_name = " + quote_string(s->conn.get(), table) +
                          " AND constraint_name = 'PRIMARY' ORDER BY ordinal_position");
    std::string order;
    for (const auto& c : pk) order += (order.empty() ? "" : ", ") + quote_identifier(c);
    std::string sql = "SELECT * FROM " + quote_identifier(db) + "." + quote_identifier(table) +
                      (order.empty() ? "" : " ORDER BY " + order);
    if (mysql_real_query(r->conn, sql.data(), sql.size()) != 0) fail(r->conn, "reading " + table);
    r->result = mysql_use_result(r->conn);  // streamed: memory stays flat at any table size
    if (r->result == nullptr) fail(r->conn, "reading " + table);
    unsigned n = mysql_num_fields(r->result);
    MYSQL_FIELD* fields = mysql_fetch_fields(r->result);
    for (unsigned i = 0; i < n; ++i) {
      r->columns.push_back({fields[i].name, type_of_field(fields[i])});
      r->field_types.push_back(fields[i].type);
    }
    sdk::export_stream(
        r->columns,
        [r, table](ArrowArray* batch) {
          sdk::BatchBuilder b(r->columns);
          while (b.rows() < 4096) {
            MYSQL_ROW row = mysql_fetch_row(r->result);
            if (row == nullptr) {
              if (mysql_errno(r->conn) != 0) fail(r->conn, "reading " + table);
              break;
            }
            unsigned long* len = mysql_fetch_lengths(r->result);
            for (size_t i = 0; i < r->columns.size(); ++i) {
              if (row[i] == nullptr) {
                b.append_null(i);
                continue;
              }
              std::string_view v(row[i], len[i]);
              // DATETIME(n<6) and TIMESTAMP come without all six fraction digits.
              if (r->field_types[i] == MYSQL_TYPE_DATETIME || r->field_types[i] == MYSQL_TYPE_TIMESTAMP) {
                std::optional<std::string> canonical = sdk::canonical_datetime(v);
                if (!canonical)
                  throw Failure(DBTOOL_ERR_DATA, table + "." + r->columns[i].name + " holds \"" + std::string(v) +
                                                     "\", which is not a datetime");
                b.append_bytes(i, *canonical);
                continue;
              }
              switch (r->columns[i].type) {
                case sdk::ColumnType::Int64:
                  b.append_int64(i, std::strtoll(std::string(v).c_str(), nullptr, 10));
                  break;
                case sdk::ColumnType::Bool:
                  b.append_bool(i, v != "0");
                  break;
                case sdk::ColumnType::Float64:
                  b.append_double(i, std::strtod(std::string(v).c_str(), nullptr));
                  break;
                default:
                  b.append_bytes(i, v);
              }
            }
          }
          if (b.rows() == 0) return false;
          b.finish(batch);
          return true;
        },
        out);
  });
}

std::string target_state(dbtool_session* s) {
  if (!s->exists) return "";
  const std::string& db = s->target.database;
  std::vector<std::string> tables = tables_of(s->conn, db);
  if (tables.empty()) return "";
  // One statement for all tables. InnoDB computes each checksum by reading the table (about
  // as long as a count, see the README), and sees every committed change, updates included.
  std::string sql = "CHECKSUM TABLE ";
  for (size_t i = 0; i < tables.size(); ++i)
    sql += (i ? ", " : "") + quote_identifier(db) + "." + quote_identifier(tables[i]);
  if (mysql_real_query(s->conn.get(), sql.data(), sql.size()) != 0) fail(s->conn.get(), "checksumming the target");
  MYSQL_RES* r = mysql_store_result(s->conn.get());
  if (r == nullptr) fail(s->conn.get(), "checksumming the target");
  std::string state;
  while (MYSQL_ROW row = mysql_fetch_row(r))
    state += std::string(row[0] ? row[0] : "") + "=" + (row[1] ? row[1] : "NULL") + "\n";
  mysql_free_result(r);
  return state;
}

void refuse_if_changed(dbtool_session* s) {
  if (!s->baseline || s->allow_concurrent_writes) return;
  if (target_state(s) != *s->baseline)
    throw Failure(DBTOOL_ERR_CONFLICT,
                  "the cut-over was refused: another program wrote to " + s->target.database +
                      " after its backup was taken, and those writes would be lost; stop the application and "
                      "run again (or pass --allow-concurrent-writes to replace them anyway)");
}

}  // namespace dbtool::mysql
