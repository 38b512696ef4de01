// URI parsing, connections, error mapping, quoting, DDL and the atomic RENAME TABLE swap.
#include "mysql_backend.hpp"

#include <boost/json.hpp>

#include <errmsg.h>
#include <mysqld_error.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <ctime>

namespace dbtool::mysql {
namespace json = boost::json;
using sdk::Failure;

Target parse_uri(const std::string& uri) {
  Target t;
  t.display = uri;
  std::string rest;
  for (const char* scheme : {"mysql://", "mariadb://"})
    if (uri.rfind(scheme, 0) == 0) rest = uri.substr(std::string(scheme).size());
  if (rest.empty()) throw Failure(DBTOOL_ERR_INVALID_ARGUMENT, "not a MySQL URI (mysql://USER@HOST:PORT/DB): " + uri);
  std::string query;
  if (size_t q = rest.find('?'); q != std::string::npos) {
    query = rest.substr(q + 1);
    rest = rest.substr(0, q);
  }
  size_t slash = rest.find('/');
  if (slash == std::string::npos || slash + 1 >= rest.size())
    throw Failure(DBTOOL_ERR_INVALID_ARGUMENT, "the URI names no database: " + uri);
  t.database = rest.substr(slash + 1);
  std::string authority = rest.substr(0, slash);
  if (size_t at = authority.rfind('@'); at != std::string::npos) {
    t.user = authority.substr(0, at);
    authority = authority.substr(at + 1);
    if (t.user.find(':') != std::string::npos)
      throw Failure(DBTOOL_ERR_INVALID_ARGUMENT,
                    "the URI holds a password; give it through DBTOOL_DB_PASSWORD, .env or the prompt instead");
  }
  if (size_t colon = authority.rfind(':'); colon != std::string::npos) {
    try {
      t.port = static_cast<unsigned>(std::stoul(authority.substr(colon + 1)));
    } catch (...) {
      throw Failure(DBTOOL_ERR_INVALID_ARGUMENT, "bad port in " + uri);
    }
    authority = authority.substr(0, colon);
  }
  if (!authority.empty()) t.host = authority;
  while (!query.empty()) {
    size_t amp = query.find('&');
    std::string kv = query.substr(0, amp);
    query = amp == std::string::npos ? "" : query.substr(amp + 1);
    size_t eq = kv.find('=');
    std::string k = kv.substr(0, eq), v = eq == std::string::npos ? "" : kv.substr(eq + 1);
    if (k == "socket")
      t.socket = v;
    else if (k == "ssl-mode" || k == "ssl_mode") {
      for (auto& ch : v) ch = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
      if (v != "DISABLED" && v != "PREFERRED" && v != "REQUIRED" && v != "VERIFY_CA" && v != "VERIFY_IDENTITY")
        throw Failure(
            DBTOOL_ERR_INVALID_ARGUMENT,
            "URI option ssl-mode must be DISABLED, PREFERRED, REQUIRED, VERIFY_CA or VERIFY_IDENTITY, not \"" + v +
                "\"");
      t.ssl_mode = v;
    } else if (k == "ssl-ca" || k == "ssl_ca")
      t.ssl_ca = v;
    else if (k == "load") {
      if (v != "bulk" && v != "insert" && v != "infile")
        throw Failure(DBTOOL_ERR_INVALID_ARGUMENT, "URI option load must be bulk, insert or infile, not \"" + v + "\"");
      t.load = v;
    } else if (k == "charset") {
    }  // always utf8mb4
    else
      throw Failure(DBTOOL_ERR_INVALID_ARGUMENT, "unknown URI option \"" + k + "\" (socket, ssl-mode, ssl-ca, load)");
  }
  quote_identifier(t.database);
  return t;
}

dbtool_status Backend::describe_uri(const char* uri, dbtool_text* out, dbtool_error* error) {
  return sdk::guard(error, [&] {
    const Target t = parse_uri(uri ? uri : "");
    json::object o{{"uri", t.display},
                   {"location", t.display},
                   {"name", t.database},
                   {"password", t.user.empty() ? "optional" : "required"}};
    sdk::set_text(out, json::serialize(o));
  });
}

void fail(MYSQL* m, const std::string& what) {
  unsigned err = mysql_errno(m);
  std::string msg = what + ": " + mysql_error(m);
  dbtool_status st = DBTOOL_ERR_BACKEND;
  switch (err) {
    case ER_DUP_ENTRY:
    case ER_NO_REFERENCED_ROW_2:
    case ER_ROW_IS_REFERENCED_2:
    case ER_BAD_NULL_ERROR:
      st = DBTOOL_ERR_CONSTRAINT;
      break;
    case ER_DATA_TOO_LONG:
    case ER_TRUNCATED_WRONG_VALUE_FOR_FIELD:
    case ER_WARN_DATA_OUT_OF_RANGE:
      st = DBTOOL_ERR_DATA;
      break;
    case ER_ACCESS_DENIED_ERROR:
    case ER_DBACCESS_DENIED_ERROR:
      st = DBTOOL_ERR_AUTH;
      msg += " (wrong user or password?)";
      break;
    case ER_BAD_DB_ERROR:
      st = DBTOOL_ERR_NOT_FOUND;
      break;
    case ER_QUERY_INTERRUPTED:
      st = DBTOOL_ERR_CANCELLED;
      break;
    case CR_CONNECTION_ERROR:
    case CR_CONN_HOST_ERROR:
    case CR_UNKNOWN_HOST:
    case CR_SERVER_GONE_ERROR:
    case CR_SERVER_LOST:
      st = DBTOOL_ERR_NETWORK;
      break;
    case ER_RECORD_FILE_FULL:
    case ER_DISK_FULL:
      st = DBTOOL_ERR_IO;
      break;
    default:
      break;
  }
  throw Failure(st, msg, mysql_sqlstate(m), static_cast<int32_t>(err));
}

Connection::Connection(const Target& t, const std::string& password, const std::string& database, bool local_infile) {
  // m_ closes the connection when this constructor throws.
  m_.reset(mysql_init(nullptr));
  MYSQL* m = m_.get();
  if (m == nullptr) throw Failure(DBTOOL_ERR_INTERNAL, "out of memory");
  unsigned timeout = 10;
  mysql_options(m, MYSQL_OPT_CONNECT_TIMEOUT, &timeout);
  mysql_options(m, MYSQL_SET_CHARSET_NAME, "utf8mb4");
  if (!t.ssl_mode.empty() && t.ssl_mode != "DISABLED" && t.ssl_mode != "PREFERRED") {
    my_bool on = 1;
    mysql_optionsv(m, MYSQL_OPT_SSL_ENFORCE, &on);
    if (t.ssl_mode == "VERIFY_CA" || t.ssl_mode == "VERIFY_IDENTITY")
      mysql_optionsv(m, MYSQL_OPT_SSL_VERIFY_SERVER_CERT, &on);
  }
  if (!t.ssl_ca.empty()) mysql_optionsv(m, MYSQL_OPT_SSL_CA, t.ssl_ca.c_str());
  if (local_infile) {
    unsigned on = 1;
    mysql_optionsv(m, MYSQL_OPT_LOCAL_INFILE, &on);
  }
  if (!mysql_real_connect(m, t.socket.empty() ? t.host.c_str() : nullptr, t.user.empty() ? nullptr : t.user.c_str(),
                          password.empty() ? nullptr : password.c_str(), database.empty() ? nullptr : database.c_str(),
                          t.port, t.socket.empty() ? nullptr : t.socket.c_str(), 0))
    fail(m, "cannot connect to " + t.display);
  // Connector/C may connect in clear text to a server without TLS even when told to enforce
  // it; a required TLS connection is checked here, never assumed.
  if (!t.ssl_mode.empty() && t.ssl_mode != "DISABLED" && t.ssl_mode != "PREFERRED" &&
      mysql_get_ssl_cipher(m) == nullptr)
    throw Failure(DBTOOL_ERR_NETWORK, "cannot connect to " + t.display + ": ssl-mode=" + t.ssl_mode +
                                          " but the server did not agree to a TLS (SSL) connection");
}

void Connection::query(const std::string& sql, const std::string& what) {
  if (mysql_real_query(m_.get(), sql.data(), sql.size()) != 0) fail(m_.get(), what);
  if (MYSQL_RES* r = mysql_store_result(m_.get())) mysql_free_result(r);
}

int64_t Connection::scalar_int(const std::string& sql) {
  if (mysql_real_query(m_.get(), sql.data(), sql.size()) != 0) fail(m_.get(), "query failed");
  MYSQL_RES* r = mysql_store_result(m_.get());
  if (r == nullptr) fail(m_.get(), "query returned nothing");
  MYSQL_ROW row = mysql_fetch_row(r);
  int64_t v = row && row[0] ? std::stoll(row[0]) : 0;
  mysql_free_result(r);
  return v;
}

std::vector<std::string> Connection::column_of(const std::string& sql) {
  if (mysql_real_query(m_.get(), sql.data(), sql.size()) != 0) fail(m_.get(), "query failed");
  MYSQL_RES* r = mysql_store_result(m_.get());
  std::vector<std::string> out;
  if (r == nullptr) return out;
  while (MYSQL_ROW row = mysql_fetch_row(r)) out.emplace_back(row[0] ? row[0] : "");
  mysql_free_result(r);
  return out;
}

std::string quote_identifier(const std::string& name) { return "`" + sdk::require_identifier(name) + "`"; }

std::string quote_string(MYSQL* m, std::string_view s) {
  std::string out(s.size() * 2 + 3, '\0');
  out[0] = '\'';
  unsigned long n = mysql_real_escape_string(m, out.data() + 1, s.data(), static_cast<unsigned long>(s.size()));
  out.resize(n + 1);
  return out + "'";
}

namespace {

// The live database's name as it appears inside stage and retired names, short enough that
// those stay within MySQL's 64 characters. Names of up to 28 characters stay as they are;
// longer ones become their first 19 characters and a hash of the whole name, so two databases
// that share a long prefix never share a stage prefix (the stale-stage cleanup of one would
// drop the other's stage).
std::string short_name(const std::string& database) {
  if (database.size() <= 28) return database;
  uint32_t h = 2166136261u;  // FNV-1a
  for (unsigned char c : database) h = (h ^ c) * 16777619u;
  char hex[9];
  std::snprintf(hex, sizeof(hex), "%08x", h);
  return database.substr(0, 19) + "_" + hex;
}

}  // namespace

// At most 28 + 15 characters, leaving room for "<pid>_<n>".
std::string stage_prefix(const std::string& database) { return short_name(database) + "__dbtool_stage_"; }
std::string retired_prefix(const std::string& database) { return short_name(database) + "__dbtool_retired_"; }

// At most 28 + 17 + 14 characters, leaving room for a "_<n>" when two cut-overs share a second.
std::string retired_name(const std::string& database) {
  std::time_t now = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&now, &tm);
  char stamp[32];
  std::strftime(stamp, sizeof(stamp), "%Y%m%d%H%M%S", &tm);
  return retired_prefix(database) + stamp;
}

std::string new_stage_database(const std::string& live) {
  return stage_prefix(live) + std::to_string(::getpid()) + "_" + std::to_string(std::time(nullptr) % 100000);
}

std::vector<std::string> tables_of(Connection& c, const std::string& database) {
  return c.column_of("SELECT table_name FROM information_schema.tables WHERE table_schema = " +
                     quote_string(c.get(), database) + " AND table_type = 'BASE TABLE' ORDER BY table_name");
}

std::string tables_json(Connection& c, const std::string& database) {
  json::array a;
  for (const auto& t : tables_of(c, database))
    a.push_back(json::object{
        {"name", t},
        {"rows", c.scalar_int("SELECT COUNT(*) FROM " + quote_identifier(database) + "." + quote_identifier(t))}});
  return json::serialize(a);
}

json::array views_json(Connection& c, const std::string& database) {
  json::array a;
  for (const auto& v : c.column_of("SELECT table_name FROM information_schema.views WHERE table_schema = " +
                                   quote_string(c.get(), database) + " ORDER BY table_name"))
    a.push_back(json::object{{"name", v}});
  return a;
}

json::array triggers_json(Connection& c, const std::string& database) {
  const std::string where =
      " FROM information_schema.triggers WHERE trigger_schema = " + quote_string(c.get(), database) +
      " ORDER BY trigger_name";
  // Two columns in one order: trigger names are unique within a database.
  auto names = c.column_of("SELECT trigger_name" + where);
  auto tables = c.column_of("SELECT event_object_table" + where);
  json::array a;
  for (size_t i = 0; i < names.size() && i < tables.size(); ++i)
    a.push_back(json::object{{"name", names[i]}, {"table", tables[i]}});
  return a;
}

std::string swap_databases(Connection& c, const std::string& live, const std::string& stage) {
  std::vector<std::string> old_tables = tables_of(c, live);
  std::vector<std::string> new_tables = tables_of(c, stage);
  std::string retired;
  std::string sql;
  if (!old_tables.empty()) {
    retired = retired_name(live);
    // Two cut-overs within one second: keep both retired databases apart.
    for (int i = 2; c.scalar_int("SELECT COUNT(*) FROM information_schema.schemata WHERE schema_name = " +
                                 quote_string(c.get(), retired)) > 0;
         ++i)
      retired = retired_name(live) + "_" + std::to_string(i);
    c.query("CREATE DATABASE " + quote_identifier(retired) + " CHARACTER SET utf8mb4 COLLATE utf8mb4_bin",
            "creating the retired database");
    for (const auto& t : old_tables)
      sql += (sql.empty() ? "" : ", ") + quote_identifier(live) + "." + quote_identifier(t) + " TO " +
             quote_identifier(retired) + "." + quote_identifier(t);
  }
  for (const auto& t : new_tables)
    sql += (sql.empty() ? "" : ", ") + quote_identifier(stage) + "." + quote_identifier(t) + " TO " +
           quote_identifier(live) + "." + quote_identifier(t);
  try {
    // The last moment a cancel that came between two statements can still keep the target.
    if (cancelled()) throw Failure(DBTOOL_ERR_CANCELLED, "cut-over cancelled before the RENAME TABLE");
    c.query("RENAME TABLE " + sql, "cut-over (RENAME TABLE)");
  } catch (...) {
    if (!retired.empty()) mysql_query(c.get(), ("DROP DATABASE IF EXISTS " + quote_identifier(retired)).c_str());
    throw;
  }
  c.query("DROP DATABASE IF EXISTS " + quote_identifier(stage), "dropping the empty stage");
  return retired;
}

namespace {

// Each portable type as this backend stores it; describe_schema maps them back. Text is
// compared byte for byte in `collation` (binary, NO PAD), as SQLite compares it.
std::string sql_type(const sdk::PortableColumn& c, const std::string& collation) {
  if (c.type == "int64") return "BIGINT";
  if (c.type == "float64") return "DOUBLE";
  if (c.type == "bool") return "TINYINT(1)";
  if (c.type == "blob") return "LONGBLOB";
  if (c.type == "date") return "DATE";
  if (c.type == "datetime") return "DATETIME(6)";
  const std::string collate = " COLLATE " + collation;
  if (c.type == "json") return "LONGTEXT" + collate;
  if (c.type == "timestamp") return "VARCHAR(32)" + collate;
  return (c.max_length ? "VARCHAR(" + std::to_string(*c.max_length) + ")" : "LONGTEXT") + collate;
}

std::string literal(MYSQL* m, const json::value& v) {
  return sdk::sql_literal(v, [m](std::string_view text) { return quote_string(m, text); });
}

// Always spelled out: InnoDB reports a foreign key without ON DELETE as RESTRICT, not NO ACTION.
std::string upper(std::string s) {
  for (auto& c : s) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return s;
}

std::string joined(const std::vector<std::string>& v) { return sdk::quoted_list(v, quote_identifier); }

}  // namespace

std::string text_collation(MYSQL* m) {
  const std::string version = mysql_get_server_info(m);
  if (version.find("MariaDB") != std::string::npos) return "utf8mb4_nopad_bin";
  if (std::atoi(version.c_str()) >= 8) return "utf8mb4_0900_bin";
  log(DBTOOL_LOG_WARN, "MySQL " + version +
                           " has no binary NO PAD collation: text that differs only in trailing spaces compares "
                           "equal there (utf8mb4_bin), unlike on SQLite");
  return "utf8mb4_bin";
}

DuplicatedKey duplicated_key(const sdk::PortableTable& t, const std::string& message) {
  DuplicatedKey k;
  const size_t at = message.rfind("for key '");
  if (at == std::string::npos) return k;
  k.name = message.substr(at + 9);
  k.name = k.name.substr(0, k.name.find('\''));
  if (size_t dot = k.name.rfind('.'); dot != std::string::npos) k.name = k.name.substr(dot + 1);
  if (k.name == "PRIMARY") k.columns = &t.primary_key;
  for (const auto& u : t.unique)
    if (u.name == k.name) k.columns = &u.columns;
  return k;
}

std::string duplicate_from_server(const sdk::PortableTable& t, const std::string& message) {
  const std::string entry_mark = "Duplicate entry '", key_mark = "' for key '";
  const size_t at = message.find(entry_mark);
  const size_t mid = message.rfind(key_mark);
  if (at == std::string::npos || mid == std::string::npos || mid < at + entry_mark.size()) return "";
  const std::string entry = message.substr(at + entry_mark.size(), mid - at - entry_mark.size());
  const DuplicatedKey key = duplicated_key(t, message);
  const std::vector<std::string>* columns = key.columns;
  if (columns == nullptr || columns->empty()) return "";
  // Several columns' values are joined by '-', which a value may hold too; a value past 64
  // characters is cut short, and one beyond ASCII may be escaped in the message: only a single
  // integer or short ASCII text is shown as the value it is.
  const bool digits = !entry.empty() && entry.find_first_not_of("-0123456789") == std::string::npos;
  const bool plain =
      entry.size() < 60 && std::all_of(entry.begin(), entry.end(), [](char ch) { return ch >= 0x20 && ch <= 0x7e; });
  std::vector<std::string> values;
  if (columns->size() == 1)
    for (const auto& c : t.columns) {
      if (c.name != columns->front()) continue;
      if (c.type == "int64" && digits) values.push_back(entry);
      if (c.type == "text" && plain) values.push_back(sdk::shown_text(entry));
    }
  return sdk::duplicate_key_message(t.name, key.shown_name(), *columns, values);
}

std::vector<std::string> schema_to_ddl(MYSQL* m, const sdk::PortableSchema& schema, const std::string& collation) {
  std::vector<std::string> out;
  for (const auto& t : schema.tables) {
    std::string body;
    for (const auto& c : t.columns) {
      std::string line = "  " + quote_identifier(c.name) + " " + sql_type(c, collation);
      if (!c.nullable) line += " NOT NULL";
      if (!c.default_value.is_null()) line += " DEFAULT " + literal(m, c.default_value);
      if (c.auto_increment) line += " AUTO_INCREMENT";
      // json and timestamp share their SQL type with text; the comment keeps them apart when
      // describe_schema reads the table back.
      if (c.type == "json" || c.type == "timestamp") line += " COMMENT " + quote_string(m, "dbtool:" + c.type);
      body += (body.empty() ? "" : ",\n") + line;
    }
    if (!t.primary_key.empty()) body += ",\n  PRIMARY KEY (" + joined(t.primary_key) + ")";
    for (const auto& u : t.unique)
      body += ",\n  UNIQUE KEY " + quote_identifier(u.name) + " (" + joined(u.columns) + ")";
    for (const auto& ix : t.indexes) body += ",\n  KEY " + quote_identifier(ix.name) + " (" + joined(ix.columns) + ")";
    for (const auto& fk : t.foreign_keys)
      body += ",\n  CONSTRAINT " + quote_identifier(fk.name) + " FOREIGN KEY (" + joined(fk.columns) + ") REFERENCES " +
              quote_identifier(fk.ref_table) + " (" + joined(fk.ref_columns) + ") ON DELETE " + upper(fk.on_delete);
    out.push_back("CREATE TABLE " + quote_identifier(t.name) + " (\n" + body +
                  "\n) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=" + collation);
  }
  return out;
}

}  // namespace dbtool::mysql
