// The portable schema a backend receives in stage_begin (CONTRACT.md, "Portable schema"),
// parsed and validated into plain structs, so that a backend only renders its own DDL.
// Header-only and optional, like the rest of the SDK; needs Boost.JSON.
#pragma once

#include <dbtool/plugin.h>

#include <boost/json.hpp>
#include <cerrno>
#include <cstdint>
#include <cstdlib>
#include <dbtool/sdk/arrow.hpp>
#include <dbtool/sdk/error.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace dbtool::sdk {

struct PortableColumn {
  std::string name;
  std::string type;                   // int64 float64 bool text json blob timestamp date datetime
  std::optional<int64_t> max_length;  // text only
  bool nullable = true;
  bool auto_increment = false;
  boost::json::value default_value;  // null when the column has no default
};

struct PortableKey {
  std::string name;
  std::vector<std::string> columns;
};

struct PortableForeignKey {
  std::string name;
  std::vector<std::string> columns;
  std::string ref_table;
  std::vector<std::string> ref_columns;
  std::string on_delete = "no action";  // "no action", "cascade", "set null", "restrict"
};

struct PortableTable {
  std::string name;
  std::vector<PortableColumn> columns;
  std::vector<std::string> primary_key;
  std::vector<PortableKey> unique;
  std::vector<PortableKey> indexes;
  std::vector<PortableForeignKey> foreign_keys;

  const PortableColumn* column(std::string_view n) const {
    for (const auto& c : columns)
      if (c.name == n) return &c;
    return nullptr;
  }
};

struct PortableSchema {
  std::vector<PortableTable> tables;  // parents first

  // The table a stage_load names; throws Failure(INVALID_ARGUMENT) when it is not in the schema.
  const PortableTable& table(std::string_view n) const {
    for (const auto& t : tables)
      if (t.name == n) return t;
    throw Failure(DBTOOL_ERR_INVALID_ARGUMENT, "no table \"" + std::string(n) + "\" in the new schema");
  }
};

// [A-Za-z_][A-Za-z0-9_]{0,63}: the identifiers the host lets through. Backends still quote them.
inline bool is_identifier(std::string_view s) {
  if (s.empty() || s.size() > 64) return false;
  for (size_t i = 0; i < s.size(); ++i) {
    const char c = s[i];
    const bool letter = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '_';
    if (!letter && (i == 0 || c < '0' || c > '9')) return false;
  }
  return true;
}

// `name`, or Failure(INVALID_ARGUMENT) saying what a valid name is. For names that arrive
// from elsewhere than the schema (a database name in a URI, a table asked for by name).
inline const std::string& require_identifier(const std::string& name) {
  if (!is_identifier(name))
    throw Failure(DBTOOL_ERR_INVALID_ARGUMENT, "\"" + name + "\" is not a valid name: use letters, digits and _, " +
                                                   "not starting with a digit, at most 64 characters");
  return name;
}

// Whether a batch column of Arrow type `arrow` may be loaded into a column of portable `type`.
// An int64 batch fits a float64 column (JSON numbers without a fraction arrive as integers).
inline bool arrow_fits(std::string_view type, ColumnType arrow) {
  if (arrow == ColumnType::Null) return true;
  if (type == "int64") return arrow == ColumnType::Int64;
  if (type == "float64") return arrow == ColumnType::Float64 || arrow == ColumnType::Int64;
  if (type == "bool") return arrow == ColumnType::Bool;
  if (type == "blob") return arrow == ColumnType::Binary;
  return arrow == ColumnType::Utf8;  // text, json, timestamp, date, datetime
}

// The Arrow type a column of portable `type` travels as (plugin.h): json, timestamp, date and
// datetime as utf8 text in their canonical forms.
inline ColumnType arrow_type_of(std::string_view type) {
  if (type == "int64") return ColumnType::Int64;
  if (type == "float64") return ColumnType::Float64;
  if (type == "bool") return ColumnType::Bool;
  if (type == "blob") return ColumnType::Binary;
  return ColumnType::Utf8;
}

// `text` in the canonical form of a date ("YYYY-MM-DD", returned as is) or a datetime
// ("YYYY-MM-DD HH:MM:SS.ffffff": a 'T' separator and zero to six fraction digits are accepted
// and padded to six); nullopt when it is neither, so a reader can refuse it instead of passing on
// a value the other side would misread.
inline std::optional<std::string> canonical_date(std::string_view text) {
  auto digits = [&](size_t from, size_t n) {
    for (size_t i = from; i < from + n; ++i)
      if (i >= text.size() || text[i] < '0' || text[i] > '9') return false;
    return true;
  };
  if (text.size() != 10 || !digits(0, 4) || text[4] != '-' || !digits(5, 2) || text[7] != '-' || !digits(8, 2))
    return std::nullopt;
  return std::string(text);
}

inline std::optional<std::string> canonical_datetime(std::string_view text) {
  auto digits = [&](size_t from, size_t n) {
    for (size_t i = from; i < from + n; ++i)
      if (i >= text.size() || text[i] < '0' || text[i] > '9') return false;
    return true;
  };
  if (text.size() < 19 || !canonical_date(text.substr(0, 10)) || (text[10] != ' ' && text[10] != 'T') ||
      !digits(11, 2) || text[13] != ':' || !digits(14, 2) || text[16] != ':' || !digits(17, 2))
    return std::nullopt;
  std::string out(text.substr(0, 19));
  out[10] = ' ';
  std::string fraction;
  if (text.size() > 19) {
    if (text[19] != '.' || text.size() > 26 || text.size() == 20 || !digits(20, text.size() - 20)) return std::nullopt;
    fraction = std::string(text.substr(20));
  }
  return out + "." + fraction + std::string(6 - fraction.size(), '0');
}

// Checks that every column of a batch is a column of `table` of a type it can hold; throws
// Failure(INVALID_ARGUMENT) naming the first that is not.
inline void check_columns(const PortableTable& table, const std::vector<ColumnSpec>& batch) {
  for (const auto& b : batch) {
    const PortableColumn* c = table.column(b.name);
    if (c == nullptr)
      throw Failure(DBTOOL_ERR_INVALID_ARGUMENT, "table " + table.name + " has no column \"" + b.name + "\"");
    if (!arrow_fits(c->type, b.type))
      throw Failure(DBTOOL_ERR_INVALID_ARGUMENT, table.name + "." + b.name + " is " + c->type +
                                                     ", the batch has Arrow format \"" + arrow_format(b.type) + "\"");
  }
}

// Whether `v` is the canonical text of a portable `date` ("YYYY-MM-DD") or `datetime`
// ("YYYY-MM-DD HH:MM:SS.ffffff", always six fraction digits): a real calendar day, years 0001-9999.
inline bool is_canonical_temporal(std::string_view type, std::string_view v) {
  const bool with_time = type == "datetime";
  if (v.size() != (with_time ? 26u : 10u)) return false;
  auto digits = [&](size_t at, size_t n, int& out) {
    out = 0;
    for (size_t i = at; i < at + n; ++i) {
      if (v[i] < '0' || v[i] > '9') return false;
      out = out * 10 + (v[i] - '0');
    }
    return true;
  };
  int y, mo, d;
  if (!digits(0, 4, y) || v[4] != '-' || !digits(5, 2, mo) || v[7] != '-' || !digits(8, 2, d)) return false;
  if (y < 1 || mo < 1 || mo > 12 || d < 1) return false;
  static const int days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  const bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
  if (d > days[mo - 1] + (mo == 2 && leap ? 1 : 0)) return false;
  if (!with_time) return true;
  int h, mi, s, f;
  return v[10] == ' ' && digits(11, 2, h) && h < 24 && v[13] == ':' && digits(14, 2, mi) && mi < 60 && v[16] == ':' &&
         digits(17, 2, s) && s < 60 && v[19] == '.' && digits(20, 6, f);
}

// Checks every date and datetime value of a batch bound for `table` (its columns as `batch`);
// throws Failure(DATA) naming table.column, the row of the batch and the value.
inline void check_temporal_values(const PortableTable& table, const std::vector<ColumnSpec>& batch,
                                  const ArrowArray& array) {
  std::vector<std::pair<size_t, const PortableColumn*>> temporal;
  for (size_t i = 0; i < batch.size(); ++i)
    if (const PortableColumn* c = table.column(batch[i].name); c && (c->type == "date" || c->type == "datetime"))
      temporal.emplace_back(i, c);
  if (temporal.empty()) return;
  BatchView v(batch, array);
  for (const auto& [i, c] : temporal)
    for (int64_t r = 0; r < v.rows(); ++r)
      if (!v.is_null(i, r) && !is_canonical_temporal(c->type, v.get_bytes(i, r)))
        throw Failure(DBTOOL_ERR_DATA, table.name + "." + c->name + ": \"" + std::string(v.get_bytes(i, r)) +
                                           "\" (row " + std::to_string(r + 1) + " of its batch) is not a " + c->type +
                                           (c->type == "date" ? " (YYYY-MM-DD)" : " (YYYY-MM-DD HH:MM:SS.ffffff)"));
}

// A value as messages show it: text JSON-quoted (so "pad " shows its trailing space), numbers
// as they are, NULL for null.
inline std::string shown_text(std::string_view text) { return boost::json::serialize(boost::json::string(text)); }
inline std::string shown_value(const BatchView& v, size_t col, int64_t row) {
  if (v.is_null(col, row)) return "NULL";
  switch (v.spec(col).type) {
    case ColumnType::Int64: return std::to_string(v.get_int64(col, row));
    case ColumnType::Bool: return v.get_bool(col, row) ? "true" : "false";
    case ColumnType::Float64: return boost::json::serialize(boost::json::value(v.get_double(col, row)));
    case ColumnType::Utf8: return shown_text(v.get_bytes(col, row));
    case ColumnType::Binary: return std::to_string(v.get_bytes(col, row).size()) + " bytes";
    case ColumnType::Null: return "NULL";
  }
  return "?";
}

// The one wording of a unique or primary-key violation on every backend: table, key, columns
// and the duplicated value(s), e.g.
// `duplicate key in table users: uq_users_uid (_uid) = "u1" appears more than once`.
inline std::string duplicate_key_message(const std::string& table, const std::string& key_name,
                                         const std::vector<std::string>& columns,
                                         const std::vector<std::string>& values) {
  auto list = [](const std::vector<std::string>& v) {
    std::string out;
    for (const auto& x : v) out += (out.empty() ? "" : ", ") + x;
    return v.size() == 1 ? out : "(" + out + ")";
  };
  std::string cols;
  for (const auto& c : columns) cols += (cols.empty() ? "" : ", ") + c;
  return "duplicate key in table " + table + ": " + key_name + " (" + cols + ")" +
         (values.empty() ? "" : " = " + list(values)) + " appears more than once";
}

namespace detail {

[[noreturn]] inline void schema_error(const std::string& path, const std::string& what) {
  throw Failure(DBTOOL_ERR_INVALID_ARGUMENT, "schema: " + path + " " + what);
}

inline const boost::json::value& need(const boost::json::object& o, const char* key, const std::string& path) {
  const boost::json::value* v = o.if_contains(key);
  if (v == nullptr) schema_error(path + "." + key, "is missing");
  return *v;
}

inline const boost::json::object& need_object(const boost::json::value& v, const std::string& path) {
  if (!v.is_object()) schema_error(path, "must be an object");
  return v.get_object();
}

inline std::string need_identifier(const boost::json::object& o, const char* key, const std::string& path) {
  const boost::json::value& v = need(o, key, path);
  if (!v.is_string() || !is_identifier(v.get_string()))
    schema_error(path + "." + key, "must be an identifier ([A-Za-z_][A-Za-z0-9_]{0,63})");
  return std::string(v.get_string());
}

// A non-empty list of columns of `table`.
inline std::vector<std::string> column_list(const boost::json::value& v, const PortableTable& table,
                                            const std::string& path) {
  if (!v.is_array() || v.get_array().empty()) schema_error(path, "must be a non-empty array of column names");
  std::vector<std::string> out;
  for (const auto& n : v.get_array()) {
    if (!n.is_string() || table.column(n.get_string()) == nullptr)
      schema_error(path, "names a column that " + table.name + " does not have: " + boost::json::serialize(n));
    out.emplace_back(n.get_string());
  }
  return out;
}

inline std::vector<PortableKey> keys(const boost::json::object& t, const char* key, const PortableTable& table,
                                     const std::string& path) {
  std::vector<PortableKey> out;
  const boost::json::value* v = t.if_contains(key);
  if (v == nullptr) return out;
  if (!v->is_array()) schema_error(path + "." + key, "must be an array");
  for (size_t i = 0; i < v->get_array().size(); ++i) {
    const std::string p = path + "." + key + "[" + std::to_string(i) + "]";
    const boost::json::object& o = need_object(v->get_array()[i], p);
    out.push_back({need_identifier(o, "name", p), column_list(need(o, "columns", p), table, p + ".columns")});
  }
  return out;
}

inline bool is_portable_type(std::string_view t) {
  for (const char* known : {"int64", "float64", "bool", "text", "json", "blob", "timestamp", "date", "datetime"})
    if (t == known) return true;
  return false;
}

inline bool is_on_delete(std::string_view a) {
  return a == "no action" || a == "cascade" || a == "set null" || a == "restrict";
}

}  // namespace detail

// Parses and checks the portable schema. Throws Failure(INVALID_ARGUMENT) naming the field.
inline PortableSchema parse_portable_schema(std::string_view text) {
  using detail::need;
  using detail::schema_error;
  boost::system::error_code ec;
  boost::json::value root = boost::json::parse(text, ec);
  if (ec) throw Failure(DBTOOL_ERR_INVALID_ARGUMENT, "schema: not valid JSON: " + ec.message());
  const boost::json::object& top = detail::need_object(root, "(top)");
  const boost::json::value& tv = need(top, "tables", "(top)");
  if (!tv.is_array() || tv.get_array().empty()) schema_error("tables", "must be a non-empty array");
  PortableSchema schema;
  for (size_t ti = 0; ti < tv.get_array().size(); ++ti) {
    const std::string tp = "tables[" + std::to_string(ti) + "]";
    const boost::json::object& t = detail::need_object(tv.get_array()[ti], tp);
    PortableTable table;
    table.name = detail::need_identifier(t, "name", tp);
    for (const auto& earlier : schema.tables)
      if (earlier.name == table.name) schema_error(tp + ".name", "repeats the table " + table.name);
    const boost::json::value& cols = need(t, "columns", tp);
    if (!cols.is_array() || cols.get_array().empty()) schema_error(tp + ".columns", "must be a non-empty array");
    for (size_t ci = 0; ci < cols.get_array().size(); ++ci) {
      const std::string cp = tp + ".columns[" + std::to_string(ci) + "]";
      const boost::json::object& c = detail::need_object(cols.get_array()[ci], cp);
      PortableColumn col;
      col.name = detail::need_identifier(c, "name", cp);
      if (table.column(col.name) != nullptr) schema_error(cp + ".name", "repeats the column " + col.name);
      const boost::json::value& type = need(c, "type", cp);
      if (!type.is_string() || !detail::is_portable_type(type.get_string()))
        schema_error(cp + ".type", "is " + boost::json::serialize(type) +
                                       ", not a portable type (int64 float64 bool text json blob timestamp date datetime)");
      col.type = std::string(type.get_string());
      if (const auto* ml = c.if_contains("max_length"); ml && !ml->is_null()) {
        if (col.type != "text" || !ml->is_int64() || ml->get_int64() <= 0)
          schema_error(cp + ".max_length", "must be a positive integer, on a text column");
        col.max_length = ml->get_int64();
      }
      if (const auto* n = c.if_contains("nullable"); n && !n->is_null()) {
        if (!n->is_bool()) schema_error(cp + ".nullable", "must be true or false");
        col.nullable = n->get_bool();
      }
      if (const auto* a = c.if_contains("auto_increment"); a && !a->is_null()) {
        if (!a->is_bool() || (a->get_bool() && col.type != "int64"))
          schema_error(cp + ".auto_increment", "must be true or false, and true only on an int64 column");
        col.auto_increment = a->get_bool();
      }
      if (const auto* d = c.if_contains("default")) {
        if (d->is_object() || d->is_array()) schema_error(cp + ".default", "must be a scalar");
        col.default_value = *d;
      }
      table.columns.push_back(std::move(col));
    }
    if (const auto* pk = t.if_contains("primary_key"); pk && !pk->is_null())
      table.primary_key = detail::column_list(*pk, table, tp + ".primary_key");
    table.unique = detail::keys(t, "unique", table, tp);
    table.indexes = detail::keys(t, "indexes", table, tp);
    if (const auto* f = t.if_contains("foreign_keys"); f && !f->is_null()) {
      if (!f->is_array()) schema_error(tp + ".foreign_keys", "must be an array");
      for (size_t i = 0; i < f->get_array().size(); ++i) {
        const std::string fp = tp + ".foreign_keys[" + std::to_string(i) + "]";
        const boost::json::object& fo = detail::need_object(f->get_array()[i], fp);
        PortableForeignKey fk;
        fk.name = detail::need_identifier(fo, "name", fp);
        fk.columns = detail::column_list(need(fo, "columns", fp), table, fp + ".columns");
        const boost::json::object& ref = detail::need_object(need(fo, "references", fp), fp + ".references");
        fk.ref_table = detail::need_identifier(ref, "table", fp + ".references");
        // Parents come first, so a foreign key only points back (or at its own table).
        const PortableTable* parent = fk.ref_table == table.name ? &table : nullptr;
        for (const auto& earlier : schema.tables)
          if (earlier.name == fk.ref_table) parent = &earlier;
        if (parent == nullptr) schema_error(fp + ".references.table", "must name a table listed before this one");
        fk.ref_columns =
            detail::column_list(need(ref, "columns", fp + ".references"), *parent, fp + ".references.columns");
        if (fk.ref_columns.size() != fk.columns.size()) schema_error(fp, "must name as many columns as it references");
        if (const auto* od = fo.if_contains("on_delete"); od && !od->is_null()) {
          if (!od->is_string() || !detail::is_on_delete(od->get_string()))
            schema_error(fp + ".on_delete", "must be \"no action\", \"cascade\", \"set null\" or \"restrict\"");
          fk.on_delete = std::string(od->get_string());
        }
        table.foreign_keys.push_back(std::move(fk));
      }
    }
    schema.tables.push_back(std::move(table));
  }
  return schema;
}

// The schema as the JSON text describe_schema returns (CONTRACT.md, "Reading a database"): the
// keys stage_begin reads, without name, version and checksum. Every table carries all four key
// lists (empty when it has none); a column carries "nullable" always, "max_length",
// "auto_increment" and "default" only when set.
inline std::string portable_schema_json(const PortableSchema& schema) {
  namespace json = boost::json;
  auto names = [](const std::vector<std::string>& v) {
    json::array a;
    for (const auto& n : v) a.emplace_back(n);
    return a;
  };
  auto key_list = [&](const std::vector<PortableKey>& keys) {
    json::array a;
    for (const auto& k : keys) a.push_back(json::object{{"name", k.name}, {"columns", names(k.columns)}});
    return a;
  };
  json::array tables;
  for (const auto& t : schema.tables) {
    json::array cols;
    for (const auto& c : t.columns) {
      json::object o{{"name", c.name}, {"type", c.type}};
      if (c.max_length) o["max_length"] = *c.max_length;
      o["nullable"] = c.nullable;
      if (c.auto_increment) o["auto_increment"] = true;
      if (!c.default_value.is_null()) o["default"] = c.default_value;
      cols.push_back(std::move(o));
    }
    json::array fks;
    for (const auto& fk : t.foreign_keys)
      fks.push_back(
          json::object{{"name", fk.name},
                       {"columns", names(fk.columns)},
                       {"references", json::object{{"table", fk.ref_table}, {"columns", names(fk.ref_columns)}}},
                       {"on_delete", fk.on_delete}});
    tables.push_back(json::object{{"name", t.name},
                                  {"columns", std::move(cols)},
                                  {"primary_key", names(t.primary_key)},
                                  {"unique", key_list(t.unique)},
                                  {"foreign_keys", std::move(fks)},
                                  {"indexes", key_list(t.indexes)}});
  }
  return json::serialize(json::object{{"tables", std::move(tables)}});
}

// A column default as a database reports it, SQL literal text (`'It''s'`, `0`, `-2.5`, `TRUE`,
// `NULL`, optionally in parentheses), as a JSON scalar of the portable `type`: null for NULL;
// nullopt for an expression (`CURRENT_TIMESTAMP`, a function call) or a value the type cannot
// hold, which no portable default can say. A quoted number is a number to a numeric column
// (SQLAlchemy writes server_default="0" as '0'). `backslash_escapes`: inside quotes, a backslash
// escapes the next character (MySQL, MariaDB), rather than being itself (SQL, SQLite).
inline std::optional<boost::json::value> portable_default(std::string_view type, std::string sql,
                                                          bool backslash_escapes = false) {
  auto trim = [](std::string s) {
    size_t b = s.find_first_not_of(" \t\r\n"), e = s.find_last_not_of(" \t\r\n");
    return b == std::string::npos ? std::string() : s.substr(b, e - b + 1);
  };
  auto lower = [](std::string s) {
    for (auto& c : s) c = static_cast<char>(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
    return s;
  };
  sql = trim(sql);
  while (sql.size() >= 2 && sql.front() == '(' && sql.back() == ')') sql = trim(sql.substr(1, sql.size() - 2));
  if (sql.empty() || lower(sql) == "null") return boost::json::value(nullptr);
  std::string text = sql;
  const bool quoted = sql.size() >= 2 && sql.front() == '\'' && sql.back() == '\'';
  if (quoted) {
    text.clear();
    for (size_t i = 1; i + 1 < sql.size(); ++i) {
      if ((sql[i] == '\'' || (backslash_escapes && sql[i] == '\\')) && i + 2 < sql.size()) ++i;  // '' or \x: one
      text += sql[i];
    }
  } else if (lower(sql) == "true" || lower(sql) == "false") {
    text = lower(sql) == "true" ? "1" : "0";
  } else if (sql.find_first_not_of("0123456789+-.eE") != std::string::npos) {
    return std::nullopt;  // an expression
  }
  const bool numeric_type = type == "int64" || type == "float64" || type == "bool";
  if (!numeric_type) {
    if (type == "blob") return std::nullopt;
    return boost::json::value(boost::json::string(text));
  }
  char* end = nullptr;
  errno = 0;
  const long long i = std::strtoll(text.c_str(), &end, 10);
  const bool is_int = !text.empty() && *end == '\0' && errno == 0;
  const double d = std::strtod(text.c_str(), &end);
  const bool is_number = !text.empty() && *end == '\0';
  if (type == "int64" && is_int) return boost::json::value(static_cast<int64_t>(i));
  if (type == "float64" && is_number) return boost::json::value(d);
  if (type == "bool" && is_int && (i == 0 || i == 1)) return boost::json::value(i == 1);
  if (type == "bool" && (lower(text) == "true" || lower(text) == "false"))
    return boost::json::value(lower(text) == "true");
  return std::nullopt;
}

// Puts `tables` parents first, as the portable schema lists them: a table comes after every
// table its foreign keys reference (a reference to itself aside). Among tables that are free to
// go, the earlier keeps its place, so the order is stable. Throws Failure(DBTOOL_ERR_DATA)
// naming the tables when their foreign keys form a cycle, which no parents-first list can hold.
inline void order_parents_first(std::vector<PortableTable>& tables) {
  std::vector<PortableTable> ordered;
  std::vector<bool> placed(tables.size(), false);
  auto is_placed = [&](const std::string& name) {
    for (const auto& t : ordered)
      if (t.name == name) return true;
    bool known = false;
    for (const auto& t : tables) known = known || t.name == name;
    return !known;  // a reference to a table outside the list does not hold anything back
  };
  while (ordered.size() < tables.size()) {
    bool progress = false;
    for (size_t i = 0; i < tables.size(); ++i) {
      if (placed[i]) continue;
      bool ready = true;
      for (const auto& fk : tables[i].foreign_keys)
        if (fk.ref_table != tables[i].name && !is_placed(fk.ref_table)) ready = false;
      if (!ready) continue;
      ordered.push_back(tables[i]);
      placed[i] = true;
      progress = true;
      break;  // restart from the top so that the earliest free table goes next
    }
    if (!progress) {
      std::string stuck;
      for (size_t i = 0; i < tables.size(); ++i)
        if (!placed[i]) stuck += (stuck.empty() ? "" : ", ") + tables[i].name;
      throw Failure(DBTOOL_ERR_DATA,
                    "the foreign keys of these tables form a cycle, so no table can come first: " + stuck);
    }
  }
  tables = std::move(ordered);
}

}  // namespace dbtool::sdk
