// A MySQL/MariaDB database as a migration source (ABI 1.1): one consistent InnoDB snapshot on
// the session's connection, and the live schema read back from information_schema as a
// portable schema (the reverse of schema_to_ddl).
#include "mysql_backend.hpp"

#include <boost/json.hpp>

#include <algorithm>
#include <cctype>
#include <map>
#include <optional>

namespace dbtool::mysql {
namespace json = boost::json;
using sdk::Failure;

namespace {

// dbtool's own table, which the host adds to every database it builds; never part of the app.
constexpr const char* kHistoryTable = "dbtool_history";

using Cell = std::optional<std::string>;  // nullopt for SQL NULL

// Every row of a small catalogue query, NULLs kept apart from empty strings.
std::vector<std::vector<Cell>> rows_of(Connection& c, const std::string& sql) {
  if (mysql_real_query(c.get(), sql.data(), sql.size()) != 0) fail(c.get(), "reading the schema");
  MYSQL_RES* r = mysql_store_result(c.get());
  if (r == nullptr) fail(c.get(), "reading the schema");
  std::vector<std::vector<Cell>> out;
  const unsigned n = mysql_num_fields(r);
  while (MYSQL_ROW row = mysql_fetch_row(r)) {
    unsigned long* len = mysql_fetch_lengths(r);
    std::vector<Cell> cells;
    for (unsigned i = 0; i < n; ++i) cells.push_back(row[i] ? Cell(std::string(row[i], len[i])) : std::nullopt);
    out.push_back(std::move(cells));
  }
  mysql_free_result(r);
  return out;
}

std::string lower(std::string s) {
  for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

// The portable type of a column from information_schema.COLUMNS (see README.md, "Types").
// `json_checked` is MariaDB's JSON: LONGTEXT with a json_valid() check.
void set_type(sdk::PortableColumn& c, const std::string& data_type, const std::string& column_type,
              const Cell& max_chars, const std::string& comment, bool json_checked) {
  const std::string t = lower(data_type);
  if (comment == "dbtool:json" || comment == "dbtool:timestamp") {
    c.type = comment.substr(7);
  } else if (t == "json" || json_checked) {
    c.type = "json";
  } else if (t == "tinyint" && lower(column_type).rfind("tinyint(1)", 0) == 0) {
    c.type = "bool";
  } else if (t == "bigint" || t == "int" || t == "integer" || t == "mediumint" || t == "smallint" || t == "tinyint" ||
             t == "year") {
    c.type = "int64";
  } else if (t == "double" || t == "float" || t == "real" || t == "decimal" || t == "numeric") {
    c.type = "float64";
  } else if (t == "varchar" || t == "char") {
    c.type = "text";
    if (max_chars) c.max_length = std::stoll(*max_chars);
  } else if (t == "blob" || t == "tinyblob" || t == "mediumblob" || t == "longblob" || t == "binary" ||
             t == "varbinary") {
    c.type = "blob";
  } else if (t == "date") {
    c.type = "date";
  } else if (t == "datetime" || t == "timestamp") {
    c.type = "datetime";
  } else {
    c.type = "text";  // text, longtext, enum, set, time, ...: read as their text
  }
}

sdk::PortableTable describe_table(Connection& c, const std::string& db, const std::string& name, bool mariadb) {
  const std::string where =
      " WHERE TABLE_SCHEMA = " + quote_string(c.get(), db) + " AND TABLE_NAME = " + quote_string(c.get(), name);
  sdk::PortableTable t;
  t.name = name;
  // MariaDB writes a JSON column as LONGTEXT with CHECK (json_valid(`col`)).
  std::vector<std::string> json_checked;
  if (mariadb)
    for (const auto& row : rows_of(c,
                                   "SELECT CHECK_CLAUSE FROM information_schema.CHECK_CONSTRAINTS WHERE "
                                   "CONSTRAINT_SCHEMA = " +
                                       quote_string(c.get(), db) + " AND TABLE_NAME = " + quote_string(c.get(), name)))
      if (row[0]) json_checked.push_back(lower(*row[0]));
  for (const auto& row : rows_of(c,
                                 "SELECT COLUMN_NAME, DATA_TYPE, COLUMN_TYPE, CHARACTER_MAXIMUM_LENGTH, IS_NULLABLE, "
                                 "COLUMN_DEFAULT, EXTRA, COLUMN_COMMENT FROM information_schema.COLUMNS" +
                                     where + " ORDER BY ORDINAL_POSITION")) {
    sdk::PortableColumn col;
    col.name = row[0].value_or("");
    const bool checked = std::find(json_checked.begin(), json_checked.end(), "json_valid(`" + lower(col.name) + "`)") !=
                         json_checked.end();
    set_type(col, row[1].value_or(""), row[2].value_or(""), row[3], row[7].value_or(""), checked);
    col.nullable = row[4].value_or("") == "YES";
    const std::string extra = lower(row[6].value_or(""));
    col.auto_increment = extra.find("auto_increment") != std::string::npos;
    if (row[5]) {
      // MariaDB gives the default as SQL ('User', 0, NULL, current_timestamp()); MySQL gives the
      // bare value and marks an expression DEFAULT_GENERATED.
      std::string sql = *row[5];
      bool escapes = mariadb;
      const bool expression = extra.find("default_generated") != std::string::npos;
      if (!mariadb && !expression && col.type != "int64" && col.type != "float64" && col.type != "bool") {
        std::string quoted = "'";
        for (char ch : sql) quoted += ch == '\'' ? std::string("''") : std::string(1, ch);
        sql = quoted + "'";
        escapes = false;
      }
      std::optional<json::value> v = expression ? std::nullopt : sdk::portable_default(col.type, sql, escapes);
      if (v) {
        col.default_value = *v;
      } else {
        log(DBTOOL_LOG_WARN, name + "." + col.name + " has the default " + *row[5] +
                                 ", which no portable default can express; it is left out of the schema");
      }
    }
    t.columns.push_back(std::move(col));
  }
  // Foreign keys first: InnoDB adds an index named after a foreign key that has none, which is
  // the key's own, not one to describe.
  std::map<std::string, size_t> fk_index;
  for (const auto& row : rows_of(c,
                                 "SELECT k.CONSTRAINT_NAME, k.COLUMN_NAME, k.REFERENCED_TABLE_NAME, "
                                 "k.REFERENCED_COLUMN_NAME, r.DELETE_RULE FROM information_schema.KEY_COLUMN_USAGE k "
                                 "JOIN information_schema.REFERENTIAL_CONSTRAINTS r ON r.CONSTRAINT_SCHEMA = "
                                 "k.CONSTRAINT_SCHEMA AND r.TABLE_NAME = k.TABLE_NAME AND r.CONSTRAINT_NAME = "
                                 "k.CONSTRAINT_NAME WHERE k.TABLE_SCHEMA = " +
                                     quote_string(c.get(), db) + " AND k.TABLE_NAME = " + quote_string(c.get(), name) +
                                     " ORDER BY k.CONSTRAINT_NAME, k.ORDINAL_POSITION")) {
    const std::string fk_name = row[0].value_or("");
    auto [it, added] = fk_index.emplace(fk_name, t.foreign_keys.size());
    if (added) {
      sdk::PortableForeignKey fk;
      fk.name = fk_name;
      fk.ref_table = row[2].value_or("");
      const std::string rule = lower(row[4].value_or("no action"));
      if (rule == "cascade" || rule == "set null" || rule == "restrict" || rule == "no action") {
        fk.on_delete = rule;
      } else {
        log(DBTOOL_LOG_WARN, "the foreign key " + fk_name + " of " + name + " is ON DELETE " + *row[4] +
                                 ", which a portable schema cannot hold; described as no action");
      }
      t.foreign_keys.push_back(std::move(fk));
    }
    t.foreign_keys[it->second].columns.push_back(row[1].value_or(""));
    t.foreign_keys[it->second].ref_columns.push_back(row[3].value_or(""));
  }
  std::vector<std::pair<std::string, sdk::PortableKey>> keys;  // (non_unique, key) in index order
  std::map<std::string, size_t> key_index;
  std::vector<std::string> skipped;
  for (const auto& row : rows_of(c, "SELECT INDEX_NAME, NON_UNIQUE, COLUMN_NAME FROM information_schema.STATISTICS" +
                                        where + " ORDER BY INDEX_NAME, SEQ_IN_INDEX")) {
    const std::string index = row[0].value_or("");
    if (!row[2]) {  // MySQL 8's functional index: an expression, not a column
      skipped.push_back(index);
      continue;
    }
    if (index == "PRIMARY") {
      t.primary_key.push_back(*row[2]);
      continue;
    }
    auto [it, added] = key_index.emplace(index, keys.size());
    if (added) keys.push_back({row[1].value_or("1"), sdk::PortableKey{index, {}}});
    keys[it->second].second.columns.push_back(*row[2]);
  }
  for (auto& [non_unique, key] : keys) {
    if (std::find(skipped.begin(), skipped.end(), key.name) != skipped.end()) {
      log(DBTOOL_LOG_WARN, "the index " + key.name + " of " + name +
                               " is on an expression, which a portable schema cannot hold; left out");
      continue;
    }
    if (non_unique != "0") {
      const sdk::PortableKey& k = key;  // a structured binding is not captured by clang 14
      auto fk = std::find_if(t.foreign_keys.begin(), t.foreign_keys.end(), [&](const sdk::PortableForeignKey& f) {
        return f.name == k.name && f.columns == k.columns;
      });
      if (fk != t.foreign_keys.end()) continue;
    }
    (non_unique == "0" ? t.unique : t.indexes).push_back(std::move(key));
  }
  return t;
}

}  // namespace

void refuse_if_read_only(const dbtool_session* s, const std::string& what) {
  if (s->read_only)
    throw Failure(DBTOOL_ERR_NOT_SUPPORTED,
                  what + " is refused: " + s->target.display + " was opened read-only, as a migration source");
}

dbtool_status Backend::snapshot_begin(dbtool_session* s, dbtool_error* error) {
  return sdk::guard(error, [&] {
    if (!s->exists) throw Failure(DBTOOL_ERR_NOT_FOUND, "no database " + s->target.database);
    if (s->in_snapshot) throw Failure(DBTOOL_ERR_INVALID_ARGUMENT, "this session already has a snapshot");
    if (s->open_streams > 0)
      throw Failure(DBTOOL_ERR_INVALID_ARGUMENT, "release every read_table stream before snapshot_begin");
    s->conn.query("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ", "starting the snapshot");
    // The read view is taken now, not at the first read, so every table is read as of this moment.
    s->conn.query("START TRANSACTION WITH CONSISTENT SNAPSHOT, READ ONLY", "starting the snapshot");
    s->in_snapshot = true;
    try {
      // Touching every table holds its metadata lock until the snapshot ends: a RENAME or ALTER
      // (a dbtool cut-over into this database, say) waits instead of changing a table under the
      // read, which InnoDB could not read as of the snapshot.
      for (const auto& t : tables_of(s->conn, s->target.database))
        s->conn.query("SELECT 1 FROM " + quote_identifier(s->target.database) + "." + quote_identifier(t) + " LIMIT 0",
                      "starting the snapshot");
    } catch (...) {
      s->in_snapshot = false;
      mysql_query(s->conn.get(), "ROLLBACK");
      throw;
    }
  });
}

dbtool_status Backend::snapshot_end(dbtool_session* s, dbtool_error* error) {
  return sdk::guard(error, [&] {
    if (!s->in_snapshot) return;
    if (s->open_streams > 0)
      throw Failure(DBTOOL_ERR_INVALID_ARGUMENT, "release every read_table stream before snapshot_end");
    s->in_snapshot = false;
    s->conn.query("ROLLBACK", "ending the snapshot");  // nothing was written
  });
}

dbtool_status Backend::describe_schema(dbtool_session* s, dbtool_text* out, dbtool_error* error) {
  return sdk::guard(error, [&] {
    if (!s->exists) throw Failure(DBTOOL_ERR_NOT_FOUND, "no database " + s->target.database);
    if (s->in_snapshot && s->open_streams > 0)
      throw Failure(DBTOOL_ERR_INVALID_ARGUMENT, "release the open read_table stream before describe_schema");
    const bool mariadb = std::string(mysql_get_server_info(s->conn.get())).find("MariaDB") != std::string::npos;
    sdk::PortableSchema schema;
    for (const auto& name : tables_of(s->conn, s->target.database))
      if (name != kHistoryTable) schema.tables.push_back(describe_table(s->conn, s->target.database, name, mariadb));
    sdk::order_parents_first(schema.tables);
    sdk::set_text(out, sdk::portable_schema_json(schema));
  });
}

}  // namespace dbtool::mysql
