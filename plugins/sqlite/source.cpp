// A SQLite file as a migration source (ABI 1.1): one read transaction as the snapshot, and the
// live schema read back from SQLite's catalogue as a portable schema.
#include "sqlite_backend.hpp"

#include <boost/json.hpp>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstdlib>
#include <map>
#include <optional>

namespace dbtool::sqlite {
namespace json = boost::json;
using sdk::Failure;

namespace {

// dbtool's own table, which the host adds to every database it builds; never part of the app.
constexpr const char* kHistoryTable = "dbtool_history";

std::string upper(std::string s) {
  for (auto& c : s) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return s;
}

std::string lower(std::string s) {
  for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

std::string trim(const std::string& s) {
  size_t b = s.find_first_not_of(" \t\r\n"), e = s.find_last_not_of(" \t\r\n");
  return b == std::string::npos ? "" : s.substr(b, e - b + 1);
}

std::string column_text(sqlite3_stmt* st, int col) {
  const unsigned char* t = sqlite3_column_text(st, col);
  return t ? reinterpret_cast<const char*>(t) : "";
}

// A name SQLite does not keep (an automatic index, an unnamed foreign key), made from the table
// and columns so that it is the same every time and a valid identifier.
std::string made_up_name(const std::string& prefix, const std::string& table, const std::vector<std::string>& cols) {
  std::string n = prefix + "_" + table;
  for (const auto& c : cols) n += "_" + c;
  if (!sdk::is_identifier(n)) {
    std::string clean;
    for (char c : n) clean += std::isalnum(static_cast<unsigned char>(c)) ? c : '_';
    n = clean;
  }
  return n.substr(0, 64);
}

// ---- the CREATE TABLE text, for what the pragmas do not say ---------------------------------

struct Token {
  std::string text;   // identifiers unquoted
  bool word = false;  // a bare word or a quoted identifier (not punctuation, not a string)
};

// Splits SQL into tokens: quoted identifiers ("x", `x`, [x]) unquoted, strings and comments
// skipped, punctuation one character each.
std::vector<Token> tokenize(const std::string& sql) {
  std::vector<Token> out;
  size_t i = 0;
  while (i < sql.size()) {
    const char c = sql[i];
    if (std::isspace(static_cast<unsigned char>(c))) {
      ++i;
    } else if (c == '-' && i + 1 < sql.size() && sql[i + 1] == '-') {
      i = sql.find('\n', i);
      if (i == std::string::npos) i = sql.size();
    } else if (c == '/' && i + 1 < sql.size() && sql[i + 1] == '*') {
      i = sql.find("*/", i + 2);
      i = i == std::string::npos ? sql.size() : i + 2;
    } else if (c == '"' || c == '`' || c == '[' || c == '\'') {
      const char close = c == '[' ? ']' : c;
      std::string text;
      ++i;
      while (i < sql.size()) {
        if (sql[i] == close) {
          if (close != ']' && i + 1 < sql.size() && sql[i + 1] == close) {
            text += close;
            i += 2;
            continue;
          }
          ++i;
          break;
        }
        text += sql[i++];
      }
      if (c != '\'') out.push_back({text, true});
    } else if (std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '$' ||
               static_cast<unsigned char>(c) >= 0x80) {
      size_t j = i;
      while (j < sql.size() && (std::isalnum(static_cast<unsigned char>(sql[j])) || sql[j] == '_' || sql[j] == '$' ||
                                static_cast<unsigned char>(sql[j]) >= 0x80))
        ++j;
      out.push_back({sql.substr(i, j - i), true});
      i = j;
    } else {
      out.push_back({std::string(1, c), false});
      ++i;
    }
  }
  return out;
}

// What the table's CREATE statement declares beyond the pragmas: the names of its named
// constraints, keyed by kind ("FOREIGN", "UNIQUE") and lower-case column list, in order.
struct Declared {
  std::multimap<std::string, std::string> constraint_names;
  bool without_rowid = false;
};

Declared parse_create(const std::string& sql) {
  Declared d;
  std::vector<Token> t = tokenize(sql);
  for (size_t i = 0; i + 4 < t.size(); ++i) {
    if (!t[i].word || upper(t[i].text) != "CONSTRAINT" || !t[i + 1].word) continue;
    const std::string kind = upper(t[i + 2].text);
    size_t open = i + 3;
    if (kind == "FOREIGN" && upper(t[i + 3].text) == "KEY")
      open = i + 4;
    else if (kind != "UNIQUE")
      continue;
    if (open >= t.size() || t[open].text != "(") continue;
    std::string cols;
    size_t j = open + 1;
    for (; j < t.size() && t[j].text != ")"; ++j)
      if (t[j].word) cols += (cols.empty() ? "" : ",") + lower(t[j].text);
    d.constraint_names.emplace(kind + ":" + cols, t[i + 1].text);
  }
  if (t.size() >= 2 && upper(t[t.size() - 2].text) == "WITHOUT" && upper(t.back().text) == "ROWID")
    d.without_rowid = true;
  return d;
}

// Takes the first name declared for a constraint of `kind` on `cols`, so that two constraints
// on the same columns get their names in declaration order.
std::optional<std::string> take_name(Declared& d, const std::string& kind, const std::vector<std::string>& cols) {
  std::string key = kind + ":";
  for (size_t i = 0; i < cols.size(); ++i) key += (i ? "," : "") + lower(cols[i]);
  auto it = d.constraint_names.find(key);
  if (it == d.constraint_names.end()) return std::nullopt;
  std::string name = it->second;
  d.constraint_names.erase(it);
  return name;
}

// ---- defaults ----------------------------------------------------------------------------

// The column's DEFAULT (as pragma_table_info gives its SQL text) as a JSON scalar of the
// column's type; null when there is none, or when no portable default can say it (an expression
// such as CURRENT_TIMESTAMP), which is logged so that it is not lost unseen.
json::value default_of(const std::string& table, const sdk::PortableColumn& c, const std::string& sql) {
  if (std::optional<json::value> v = sdk::portable_default(c.type, sql)) return *v;
  log(DBTOOL_LOG_WARN, table + "." + c.name + " has the default " + sql +
                           ", which no portable default can express; it is left out of the schema");
  return nullptr;
}

// ---- the catalogue -----------------------------------------------------------------------

std::vector<std::string> index_columns(sqlite3* db, const std::string& index, bool& expression) {
  Statement st(db, "SELECT name FROM pragma_index_info(?) ORDER BY seqno");
  sqlite3_bind_text(st.get(), 1, index.c_str(), -1, SQLITE_TRANSIENT);
  std::vector<std::string> cols;
  expression = false;
  int rc;
  while ((rc = sqlite3_step(st.get())) == SQLITE_ROW) {
    if (sqlite3_column_type(st.get(), 0) == SQLITE_NULL)
      expression = true;  // an expression, not a column
    else
      cols.push_back(column_text(st.get(), 0));
  }
  if (rc != SQLITE_DONE) fail(db, rc, "reading the columns of index " + index);
  return cols;
}

sdk::PortableTable describe_table(sqlite3* db, const std::string& name) {
  sdk::PortableTable t;
  t.name = name;
  Declared declared;
  {
    Statement st(db, "SELECT sql FROM sqlite_master WHERE type = 'table' AND name = ?");
    sqlite3_bind_text(st.get(), 1, name.c_str(), -1, SQLITE_TRANSIENT);
    if (sqlite3_step(st.get()) == SQLITE_ROW) declared = parse_create(column_text(st.get(), 0));
  }
  std::vector<std::pair<int, std::string>> pk;
  std::vector<std::string> declared_types;
  {
    Statement st(db, "SELECT name, type, \"notnull\", dflt_value, pk FROM pragma_table_info(?) ORDER BY cid");
    sqlite3_bind_text(st.get(), 1, name.c_str(), -1, SQLITE_TRANSIENT);
    int rc;
    while ((rc = sqlite3_step(st.get())) == SQLITE_ROW) {
      sdk::PortableColumn c = portable_column_of(column_text(st.get(), 0), column_text(st.get(), 1));
      c.nullable = sqlite3_column_int(st.get(), 2) == 0;
      if (sqlite3_column_type(st.get(), 3) != SQLITE_NULL)
        c.default_value = default_of(name, c, column_text(st.get(), 3));
      if (int k = sqlite3_column_int(st.get(), 4); k > 0) pk.emplace_back(k, c.name);
      declared_types.push_back(upper(trim(column_text(st.get(), 1))));
      t.columns.push_back(std::move(c));
    }
    if (rc != SQLITE_DONE) fail(db, rc, "reading the columns of " + name);
  }
  std::sort(pk.begin(), pk.end());
  for (const auto& p : pk) t.primary_key.push_back(p.second);
  // A lone INTEGER PRIMARY KEY is the rowid: SQLite numbers new rows itself, and it is never NULL.
  if (pk.size() == 1 && !declared.without_rowid) {
    for (size_t i = 0; i < t.columns.size(); ++i)
      if (t.columns[i].name == pk[0].second && declared_types[i] == "INTEGER") {
        t.columns[i].auto_increment = true;
        t.columns[i].nullable = false;
      }
  }
  {
    Statement st(db, "SELECT name, \"unique\", origin, partial FROM pragma_index_list(?) ORDER BY seq DESC");
    sqlite3_bind_text(st.get(), 1, name.c_str(), -1, SQLITE_TRANSIENT);
    int rc;
    while ((rc = sqlite3_step(st.get())) == SQLITE_ROW) {
      const std::string index = column_text(st.get(), 0);
      const bool unique = sqlite3_column_int(st.get(), 1) != 0;
      const std::string origin = column_text(st.get(), 2);
      if (origin == "pk") continue;  // the primary key, already described
      bool expression = false;
      std::vector<std::string> cols = index_columns(db, index, expression);
      if (expression || sqlite3_column_int(st.get(), 3) != 0) {
        log(DBTOOL_LOG_WARN, "the index " + index + " of " + name +
                                 " is on an expression or partial, which a portable schema cannot hold; left out");
        continue;
      }
      sdk::PortableKey key{index, cols};
      if (index.rfind("sqlite_autoindex_", 0) == 0)
        key.name = take_name(declared, "UNIQUE", cols).value_or(made_up_name("uq", name, cols));
      (unique ? t.unique : t.indexes).push_back(std::move(key));
    }
    if (rc != SQLITE_DONE) fail(db, rc, "reading the indexes of " + name);
  }
  {
    // Rows of one foreign key share its id; SQLite numbers them from the last declared.
    Statement st(db,
                 "SELECT id, \"table\", \"from\", \"to\", on_delete FROM pragma_foreign_key_list(?) "
                 "ORDER BY id DESC, seq");
    sqlite3_bind_text(st.get(), 1, name.c_str(), -1, SQLITE_TRANSIENT);
    int rc, current = -1;
    while ((rc = sqlite3_step(st.get())) == SQLITE_ROW) {
      if (int id = sqlite3_column_int(st.get(), 0); id != current) {
        current = id;
        sdk::PortableForeignKey fk;
        fk.ref_table = column_text(st.get(), 1);
        std::string action = lower(column_text(st.get(), 4));
        if (action == "cascade" || action == "set null" || action == "restrict" || action == "no action") {
          fk.on_delete = action;
        } else {
          log(DBTOOL_LOG_WARN, "a foreign key of " + name + " is ON DELETE " + upper(action) +
                                   ", which a portable schema cannot hold; described as no action");
        }
        t.foreign_keys.push_back(std::move(fk));
      }
      sdk::PortableForeignKey& fk = t.foreign_keys.back();
      fk.columns.push_back(column_text(st.get(), 2));
      // No "to" column: the reference is to the parent's primary key, filled in below.
      if (sqlite3_column_type(st.get(), 3) != SQLITE_NULL) fk.ref_columns.push_back(column_text(st.get(), 3));
    }
    if (rc != SQLITE_DONE) fail(db, rc, "reading the foreign keys of " + name);
  }
  for (auto& fk : t.foreign_keys) {
    if (fk.ref_columns.empty()) {
      Statement st(db, "SELECT name FROM pragma_table_info(?) WHERE pk > 0 ORDER BY pk");
      sqlite3_bind_text(st.get(), 1, fk.ref_table.c_str(), -1, SQLITE_TRANSIENT);
      while (sqlite3_step(st.get()) == SQLITE_ROW) fk.ref_columns.push_back(column_text(st.get(), 0));
    }
    fk.name = take_name(declared, "FOREIGN", fk.columns).value_or(made_up_name("fk", name, fk.columns));
  }
  return t;
}

}  // namespace

void refuse_if_read_only(const dbtool_session* s, const std::string& what) {
  if (s->read_only)
    throw Failure(DBTOOL_ERR_NOT_SUPPORTED,
                  what + " is refused: " + s->path.string() + " was opened read-only, as a migration source");
}

sdk::PortableColumn portable_column_of(const std::string& name, const std::string& declared) {
  sdk::PortableColumn c;
  c.name = name;
  const std::string decl = upper(trim(declared));
  const size_t paren = decl.find('(');
  const std::string base = trim(decl.substr(0, paren));
  std::optional<int64_t> size;
  if (paren != std::string::npos) {
    char* end = nullptr;
    long long n = std::strtoll(decl.c_str() + paren + 1, &end, 10);
    if (end != nullptr && trim(end) == ")" && n > 0) size = n;
  }
  // The names SQLAlchemy and dbtool write, then SQLite's own affinity rules for anything else
  // (https://www.sqlite.org/datatype3.html, "Determination Of Column Affinity").
  if (base == "INTEGER" || base == "INT" || base == "BIGINT")
    c.type = "int64";
  else if (base == "VARCHAR" || base == "CHAR" || base == "NVARCHAR" || base == "NCHAR")
    c.type = "text", c.max_length = size;
  else if (base == "TEXT" || base == "CLOB")
    c.type = "text";
  else if (base == "BOOLEAN" || base == "BOOL")
    c.type = "bool";
  else if (base == "DATE")
    c.type = "date";
  else if (base == "DATETIME")
    c.type = "datetime";
  else if (base == "TIMESTAMP")
    c.type = "timestamp";
  else if (base == "FLOAT" || base == "REAL" || base == "DOUBLE" || base == "DOUBLE PRECISION")
    c.type = "float64";
  else if (base == "JSON")
    c.type = "json";
  else if (base == "BLOB")
    c.type = "blob";
  else if (decl.find("INT") != std::string::npos)
    c.type = "int64";
  else if (decl.find("CHAR") != std::string::npos || decl.find("CLOB") != std::string::npos ||
           decl.find("TEXT") != std::string::npos)
    c.type = "text";
  else if (decl.find("BLOB") != std::string::npos || decl.empty())
    c.type = "blob";
  else
    c.type = "float64";  // REAL and NUMERIC affinity (DECIMAL, NUMERIC, ...): numbers
  return c;
}

dbtool_status Backend::snapshot_begin(dbtool_session* s, dbtool_error* error) {
  return sdk::guard(error, [&] {
    if (!s->db) throw Failure(DBTOOL_ERR_NOT_FOUND, "no SQLite database at " + s->path.string());
    if (s->in_snapshot) throw Failure(DBTOOL_ERR_INVALID_ARGUMENT, "this session already has a snapshot");
    if (s->open_streams > 0)
      throw Failure(DBTOOL_ERR_INVALID_ARGUMENT, "release every read_table stream before snapshot_begin");
    // BEGIN alone takes no snapshot: SQLite starts the read transaction at the first read.
    s->db.exec("BEGIN", "starting the snapshot");
    try {
      s->db.scalar_int("SELECT count(*) FROM sqlite_master");
    } catch (...) {
      sqlite3_exec(s->db.get(), "ROLLBACK", nullptr, nullptr, nullptr);
      throw;
    }
    s->in_snapshot = true;
  });
}

dbtool_status Backend::snapshot_end(dbtool_session* s, dbtool_error* error) {
  return sdk::guard(error, [&] {
    if (!s->in_snapshot) return;
    if (s->open_streams > 0)
      throw Failure(DBTOOL_ERR_INVALID_ARGUMENT, "release every read_table stream before snapshot_end");
    s->in_snapshot = false;
    s->db.exec("ROLLBACK", "ending the snapshot");  // nothing was written; just let the read go
  });
}

dbtool_status Backend::describe_schema(dbtool_session* s, dbtool_text* out, dbtool_error* error) {
  return sdk::guard(error, [&] {
    if (!s->db) throw Failure(DBTOOL_ERR_NOT_FOUND, "no SQLite database at " + s->path.string());
    // On the session's connection: inside a snapshot, that is the snapshot's transaction.
    sdk::PortableSchema schema;
    for (const auto& name : user_tables(s->db))
      if (name != kHistoryTable) schema.tables.push_back(describe_table(s->db.get(), name));
    sdk::order_parents_first(schema.tables);
    sdk::set_text(out, sdk::portable_schema_json(schema));
  });
}

}  // namespace dbtool::sqlite
