// The portable schema (CONTRACT.md, "Portable schema"): the one model of tables, columns, keys
// and foreign keys, and its one parser. The host validates schemas/schema.json and what a
// source database describes with it, and a backend parses what stage_begin receives with it,
// so both sides accept and refuse exactly the same documents. Header-only and optional, like
// the rest of the SDK; needs Boost.JSON.
#pragma once

#include <dbtool/plugin.h>

#include <boost/json.hpp>
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <dbtool/sdk/arrow.hpp>
#include <dbtool/sdk/error.hpp>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

namespace dbtool::sdk {

// The nine portable types, for code that switches on a column's type.
enum class PortableType { Int64, Float64, Bool, Text, Json, Blob, Timestamp, Date, DateTime };

// The type a portable type name spells ("int64", "datetime", ...), or nullopt.
inline std::optional<PortableType> to_portable_type(std::string_view name) {
  if (name == "int64") return PortableType::Int64;
  if (name == "float64") return PortableType::Float64;
  if (name == "bool") return PortableType::Bool;
  if (name == "text") return PortableType::Text;
  if (name == "json") return PortableType::Json;
  if (name == "blob") return PortableType::Blob;
  if (name == "timestamp") return PortableType::Timestamp;
  if (name == "date") return PortableType::Date;
  if (name == "datetime") return PortableType::DateTime;
  return std::nullopt;
}

inline const char* type_name(PortableType t) {
  switch (t) {
    case PortableType::Int64:
      return "int64";
    case PortableType::Float64:
      return "float64";
    case PortableType::Bool:
      return "bool";
    case PortableType::Text:
      return "text";
    case PortableType::Json:
      return "json";
    case PortableType::Blob:
      return "blob";
    case PortableType::Timestamp:
      return "timestamp";
    case PortableType::Date:
      return "date";
    case PortableType::DateTime:
      return "datetime";
  }
  return "text";
}

struct PortableColumn {
  std::string name;
  std::string type;                   // int64 float64 bool text json blob timestamp date datetime
  std::optional<int64_t> max_length;  // text only
  bool nullable = true;
  bool auto_increment = false;
  boost::json::value default_value;  // null when the column has no default

  // `type` as the enum; throws Failure(INVALID_ARGUMENT) when it names no portable type (a
  // parsed schema never holds one).
  PortableType kind() const {
    if (std::optional<PortableType> t = to_portable_type(type)) return *t;
    throw Failure(DBTOOL_ERR_INVALID_ARGUMENT, "column " + name + ": \"" + type + "\" is not a portable type");
  }
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
  // Since 1.3 (CONTRACT.md): the host vouches that every row it loads satisfies this key, so a
  // stage may skip its own check of it at commit. Never set on what describe_schema reports.
  bool guaranteed_by_host = false;
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
  // The position of the column in `columns`, or -1.
  int column_index(std::string_view n) const {
    for (size_t i = 0; i < columns.size(); ++i)
      if (columns[i].name == n) return static_cast<int>(i);
    return -1;
  }
  // Every column as a batch carries it (name and Arrow type), in table order.
  std::vector<ColumnSpec> arrow_columns() const;
};

struct PortableSchema {
  // The document's own keys. stage_begin always carries name, version (from 1) and checksum
  // (sha256 hex of the schema file); describe_schema's output has none of them (empty, 0).
  std::string name;
  int64_t version = 0;
  std::string checksum;
  std::string description;            // free text of a schema file; never sent to a backend
  std::vector<PortableTable> tables;  // parents first

  const PortableTable* find_table(std::string_view n) const {
    for (const auto& t : tables)
      if (t.name == n) return &t;
    return nullptr;
  }
  // The table a stage_load names; throws Failure(INVALID_ARGUMENT) when it is not in the schema.
  const PortableTable& table(std::string_view n) const {
    if (const PortableTable* t = find_table(n)) return *t;
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
inline ColumnType arrow_type_of(PortableType type) {
  switch (type) {
    case PortableType::Int64:
      return ColumnType::Int64;
    case PortableType::Float64:
      return ColumnType::Float64;
    case PortableType::Bool:
      return ColumnType::Bool;
    case PortableType::Blob:
      return ColumnType::Binary;
    case PortableType::Text:
    case PortableType::Json:
    case PortableType::Timestamp:
    case PortableType::Date:
    case PortableType::DateTime:
      return ColumnType::Utf8;
  }
  return ColumnType::Utf8;
}
inline ColumnType arrow_type_of(std::string_view type) {
  return arrow_type_of(to_portable_type(type).value_or(PortableType::Text));
}

inline std::vector<ColumnSpec> PortableTable::arrow_columns() const {
  std::vector<ColumnSpec> out;
  out.reserve(columns.size());
  for (const auto& c : columns) out.push_back({c.name, arrow_type_of(c.type)});
  return out;
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
    case ColumnType::Int64:
      return std::to_string(v.get_int64(col, row));
    case ColumnType::Bool:
      return v.get_bool(col, row) ? "true" : "false";
    case ColumnType::Float64:
      return boost::json::serialize(boost::json::value(v.get_double(col, row)));
    case ColumnType::Utf8:
      return shown_text(v.get_bytes(col, row));
    case ColumnType::Binary:
      return std::to_string(v.get_bytes(col, row).size()) + " bytes";
    case ColumnType::Null:
      return "NULL";
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

// Whether the JSON scalar `v` is a value of portable type `t` (a column default, a constant in a
// mapping): an integer in the int64 range, any number for float64, true or false for bool, a
// string for the text types, dates and datetimes in their canonical form (which every backend
// checks at load, so a default in another form is refused here). A blob has no JSON form.
inline bool value_fits(PortableType t, const boost::json::value& v) {
  switch (t) {
    case PortableType::Int64:
      return v.is_int64() || (v.is_uint64() && v.get_uint64() <= INT64_MAX);
    case PortableType::Float64:
      return v.is_number();
    case PortableType::Bool:
      return v.is_bool();
    case PortableType::Text:
    case PortableType::Json:
    case PortableType::Timestamp:
      return v.is_string();
    case PortableType::Date:
      return v.is_string() && is_canonical_temporal("date", v.get_string());
    case PortableType::DateTime:
      return v.is_string() && is_canonical_temporal("datetime", v.get_string());
    case PortableType::Blob:
      return false;
  }
  return false;
}

// The characters (UTF-8 code points) of `s`, which is what max_length counts.
inline size_t utf8_length(std::string_view s) {
  size_t n = 0;
  for (unsigned char c : s) n += (c & 0xC0) != 0x80;
  return n;
}

namespace detail {

// Reads one schema document and names the field of every problem, as
// "<origin>: tables[0] (users).columns[2].type: unknown type ...".
class SchemaReader {
 public:
  explicit SchemaReader(std::string origin) : origin_(std::move(origin)) {}

  [[noreturn]] void fail(const std::string& path, const std::string& what) const {
    throw Failure(DBTOOL_ERR_INVALID_ARGUMENT, origin_ + ": " + path + ": " + what);
  }
  static std::string field(const std::string& path, std::string_view key) {
    return path.empty() ? std::string(key) : path + "." + std::string(key);
  }

  const boost::json::object& object(const boost::json::value& v, const std::string& path) const {
    if (!v.is_object()) fail(path, "expected an object");
    return v.get_object();
  }
  const boost::json::array& array(const boost::json::value& v, const std::string& path) const {
    if (!v.is_array()) fail(path, "expected an array");
    return v.get_array();
  }
  const boost::json::value& required(const boost::json::object& o, std::string_view key,
                                     const std::string& path) const {
    const boost::json::value* v = o.if_contains(key);
    if (v == nullptr) fail(field(path, key), "missing");
    return *v;
  }
  // A misspelt key would otherwise be ignored silently ("colums", "nulable").
  void only_keys(const boost::json::object& o, std::initializer_list<std::string_view> keys,
                 const std::string& path) const {
    for (const auto& kv : o) {
      bool known = false;
      for (auto k : keys) known = known || kv.key() == k;
      if (!known) fail(field(path, kv.key()), "unknown field");
    }
  }
  std::string text(const boost::json::value& v, const std::string& path) const {
    if (!v.is_string()) fail(path, "expected a string");
    return std::string(v.get_string());
  }
  std::string identifier(const boost::json::object& o, std::string_view key, const std::string& path) const {
    std::string s = text(required(o, key, path), field(path, key));
    if (!is_identifier(s))
      fail(field(path, key),
           boost::json::serialize(boost::json::string(s)) + " is not a valid identifier ([A-Za-z_][A-Za-z0-9_]{0,63})");
    return s;
  }
  bool boolean(const boost::json::object& o, std::string_view key, const std::string& path, bool fallback) const {
    const boost::json::value* v = o.if_contains(key);
    if (v == nullptr) return fallback;
    if (!v->is_bool()) fail(field(path, key), "expected true or false");
    return v->get_bool();
  }
  // A list of distinct columns of `table`; `allow_empty` only for primary_key, where [] says
  // "none" (the form portable_schema_json writes).
  std::vector<std::string> columns(const boost::json::value& v, const std::string& path, const PortableTable& table,
                                   bool allow_empty = false) const {
    const boost::json::array& a = array(v, path);
    if (a.empty() && !allow_empty) fail(path, "must list at least one column");
    std::vector<std::string> out;
    for (size_t i = 0; i < a.size(); ++i) {
      const std::string ip = path + "[" + std::to_string(i) + "]";
      std::string name = text(a[i], ip);
      if (table.column(name) == nullptr) fail(ip, "no column \"" + name + "\" in table " + table.name);
      for (const auto& earlier : out)
        if (earlier == name) fail(ip, "repeats the column \"" + name + "\"");
      out.push_back(std::move(name));
    }
    return out;
  }

 private:
  std::string origin_;
};

inline PortableColumn parse_column(const SchemaReader& r, const boost::json::value& v, const std::string& path) {
  const boost::json::object& o = r.object(v, path);
  r.only_keys(o, {"name", "type", "nullable", "auto_increment", "max_length", "default", "description"}, path);
  PortableColumn c;
  c.name = r.identifier(o, "name", path);
  c.type = r.text(r.required(o, "type", path), path + ".type");
  const std::optional<PortableType> type = to_portable_type(c.type);
  if (!type)
    r.fail(path + ".type",
           "unknown type \"" + c.type + "\" (int64, float64, bool, text, json, blob, timestamp, date, datetime)");
  c.nullable = r.boolean(o, "nullable", path, true);
  c.auto_increment = r.boolean(o, "auto_increment", path, false);
  if (c.auto_increment && *type != PortableType::Int64)
    r.fail(path + ".auto_increment", "only an int64 column can auto-increment");
  if (const boost::json::value* ml = o.if_contains("max_length")) {
    if (!ml->is_int64() || ml->get_int64() <= 0 || ml->get_int64() > 65535)
      r.fail(path + ".max_length", "expected an integer from 1 to 65535");
    if (*type != PortableType::Text) r.fail(path + ".max_length", "only text columns have one");
    c.max_length = ml->get_int64();
  }
  if (const boost::json::value* d = o.if_contains("default"); d != nullptr && !d->is_null()) {
    if (!value_fits(*type, *d)) r.fail(path + ".default", "does not fit the column's type " + c.type);
    if (c.max_length && static_cast<int64_t>(utf8_length(d->get_string())) > *c.max_length)
      r.fail(path + ".default", "longer than max_length");
    c.default_value = *d;
  }
  if (const boost::json::value* n = o.if_contains("description")) r.text(*n, path + ".description");
  return c;
}

inline PortableKey parse_key(const SchemaReader& r, const boost::json::value& v, const std::string& path,
                             const PortableTable& table) {
  const boost::json::object& o = r.object(v, path);
  r.only_keys(o, {"name", "columns"}, path);
  PortableKey k;
  k.name = r.identifier(o, "name", path);
  k.columns = r.columns(r.required(o, "columns", path), path + ".columns", table);
  return k;
}

inline PortableForeignKey parse_foreign_key(const SchemaReader& r, const boost::json::value& v, const std::string& path,
                                            const PortableTable& table, const PortableSchema& earlier) {
  const boost::json::object& o = r.object(v, path);
  r.only_keys(o, {"name", "columns", "references", "on_delete", "guaranteed_by_host"}, path);
  PortableForeignKey fk;
  fk.name = r.identifier(o, "name", path);
  fk.columns = r.columns(r.required(o, "columns", path), path + ".columns", table);
  const std::string rp = path + ".references";
  const boost::json::object& ref = r.object(r.required(o, "references", path), rp);
  r.only_keys(ref, {"table", "columns"}, rp);
  fk.ref_table = r.identifier(ref, "table", rp);
  // Parents come first, so a foreign key only points back (or at its own table).
  const PortableTable* parent = fk.ref_table == table.name ? &table : earlier.find_table(fk.ref_table);
  if (parent == nullptr)
    r.fail(rp + ".table", "no table \"" + fk.ref_table + "\" declared before this one (list parents first)");
  fk.ref_columns = r.columns(r.required(ref, "columns", rp), rp + ".columns", *parent);
  if (fk.ref_columns.size() != fk.columns.size()) r.fail(rp + ".columns", "must list as many columns as \"columns\"");
  if (const boost::json::value* od = o.if_contains("on_delete")) {
    fk.on_delete = r.text(*od, path + ".on_delete");
    if (fk.on_delete != "no action" && fk.on_delete != "cascade" && fk.on_delete != "set null" &&
        fk.on_delete != "restrict")
      r.fail(path + ".on_delete", "expected \"no action\", \"cascade\", \"set null\" or \"restrict\"");
  }
  fk.guaranteed_by_host = r.boolean(o, "guaranteed_by_host", path, false);
  return fk;
}

inline PortableTable parse_table(const SchemaReader& r, const boost::json::value& v, std::string path,
                                 const PortableSchema& earlier, std::set<std::string>& constraint_names) {
  const boost::json::object& o = r.object(v, path);
  PortableTable t;
  t.name = r.identifier(o, "name", path);
  path += " (" + t.name + ")";
  r.only_keys(o, {"name", "columns", "primary_key", "unique", "indexes", "foreign_keys", "description"}, path);
  if (earlier.find_table(t.name) != nullptr) r.fail(path + ".name", "duplicate table");
  const boost::json::array& columns = r.array(r.required(o, "columns", path), path + ".columns");
  if (columns.empty()) r.fail(path + ".columns", "declares no column");
  for (size_t i = 0; i < columns.size(); ++i) {
    const std::string cp = path + ".columns[" + std::to_string(i) + "]";
    PortableColumn c = parse_column(r, columns[i], cp);
    if (t.column(c.name) != nullptr) r.fail(cp + ".name", "duplicate column \"" + c.name + "\"");
    t.columns.push_back(std::move(c));
  }
  if (const boost::json::value* pk = o.if_contains("primary_key")) {
    t.primary_key = r.columns(*pk, path + ".primary_key", t, true);
    // Every database refuses or silently changes a NULL in a key column; the schema says so.
    for (size_t i = 0; i < t.primary_key.size(); ++i)
      if (t.column(t.primary_key[i])->nullable)
        r.fail(path + ".primary_key[" + std::to_string(i) + "]",
               "column \"" + t.primary_key[i] + "\" must be declared \"nullable\": false");
  }
  // Constraint names are one namespace per database on SQLite and PostgreSQL.
  auto named = [&](const std::string& name, const std::string& p) {
    if (!constraint_names.insert(name).second) r.fail(p + ".name", "duplicate constraint name \"" + name + "\"");
  };
  auto keys = [&](std::string_view key, std::vector<PortableKey>& out) {
    const boost::json::value* kv = o.if_contains(key);
    if (kv == nullptr) return;
    const std::string kp = path + "." + std::string(key);
    const boost::json::array& a = r.array(*kv, kp);
    for (size_t i = 0; i < a.size(); ++i) {
      const std::string ip = kp + "[" + std::to_string(i) + "]";
      out.push_back(parse_key(r, a[i], ip, t));
      named(out.back().name, ip);
    }
  };
  keys("unique", t.unique);
  keys("indexes", t.indexes);
  if (const boost::json::value* fks = o.if_contains("foreign_keys")) {
    const std::string fp = path + ".foreign_keys";
    const boost::json::array& a = r.array(*fks, fp);
    for (size_t i = 0; i < a.size(); ++i) {
      const std::string ip = fp + "[" + std::to_string(i) + "]";
      t.foreign_keys.push_back(parse_foreign_key(r, a[i], ip, t, earlier));
      named(t.foreign_keys.back().name, ip);
    }
  }
  if (const boost::json::value* d = o.if_contains("description")) r.text(*d, path + ".description");
  return t;
}

}  // namespace detail

// Parses and checks a portable schema document: the schema file (schemas/schema.json), what
// stage_begin receives, what describe_schema returns. Every rule is here, for the host and the
// backends alike: unknown keys are refused, identifiers match [A-Za-z_][A-Za-z0-9_]{0,63},
// types are the nine portable ones, a default fits its column, primary-key columns are not
// nullable, constraint names are unique in the schema, a foreign key references an earlier
// table (or its own). Throws Failure(INVALID_ARGUMENT) "<origin>: <field>: <problem>", e.g.
// "schema: tables[0] (users).columns[3].type: unknown type \"varchar\" (...)".
inline PortableSchema parse_portable_schema(std::string_view text, const std::string& origin = "schema") {
  boost::system::error_code ec;
  const boost::json::value root = boost::json::parse(text, ec);
  if (ec) throw Failure(DBTOOL_ERR_INVALID_ARGUMENT, origin + ": not valid JSON: " + ec.message());
  const detail::SchemaReader r(origin);
  const boost::json::object& top = r.object(root, "(top level)");
  r.only_keys(top, {"name", "version", "checksum", "description", "tables"}, "");
  PortableSchema s;
  if (top.contains("name")) s.name = r.identifier(top, "name", "");
  if (const boost::json::value* v = top.if_contains("version")) {
    if (!v->is_int64() || v->get_int64() < 1) r.fail("version", "expected a positive integer");
    s.version = v->get_int64();
  }
  if (const boost::json::value* c = top.if_contains("checksum")) {
    s.checksum = r.text(*c, "checksum");
    if (s.checksum.empty()) r.fail("checksum", "expected a non-empty string");
  }
  if (const boost::json::value* d = top.if_contains("description")) s.description = r.text(*d, "description");
  const boost::json::array& tables = r.array(r.required(top, "tables", ""), "tables");
  if (tables.empty()) r.fail("tables", "declares no table");
  std::set<std::string> constraint_names;
  for (size_t i = 0; i < tables.size(); ++i) {
    PortableTable t = detail::parse_table(r, tables[i], "tables[" + std::to_string(i) + "]", s, constraint_names);
    s.tables.push_back(std::move(t));
  }
  return s;
}

// The schema as the JSON text stage_begin receives and describe_schema returns (CONTRACT.md):
// name, version and checksum when set (describe_schema's output has none), never the
// description. Every table carries all four key lists (empty when it has none); a column
// carries "nullable" always, "max_length", "auto_increment" and "default" only when set. It
// parses back to an equal schema.
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
    for (const auto& fk : t.foreign_keys) {
      json::object o{{"name", fk.name},
                     {"columns", names(fk.columns)},
                     {"references", json::object{{"table", fk.ref_table}, {"columns", names(fk.ref_columns)}}},
                     {"on_delete", fk.on_delete}};
      // Only when set: a backend of ABI 1.2 or older refuses a key it does not know.
      if (fk.guaranteed_by_host) o["guaranteed_by_host"] = true;
      fks.push_back(std::move(o));
    }
    tables.push_back(json::object{{"name", t.name},
                                  {"columns", std::move(cols)},
                                  {"primary_key", names(t.primary_key)},
                                  {"unique", key_list(t.unique)},
                                  {"foreign_keys", std::move(fks)},
                                  {"indexes", key_list(t.indexes)}});
  }
  json::object root;
  if (!schema.name.empty()) root["name"] = schema.name;
  if (schema.version > 0) root["version"] = schema.version;
  if (!schema.checksum.empty()) root["checksum"] = schema.checksum;
  root["tables"] = std::move(tables);
  return json::serialize(root);
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

// ---- SQL text for a backend's DDL ------------------------------------------------------

// `names`, each quoted by the backend's identifier quoting `quote`, separated by ", ".
template <class Quote>
std::string quoted_list(const std::vector<std::string>& names, Quote quote) {
  std::string out;
  for (const auto& n : names) out += (out.empty() ? "" : ", ") + quote(n);
  return out;
}

// A column default (a JSON scalar) as an SQL literal: a bool as 1 or 0, a number as written (a
// double with 17 significant digits, so that it reads back the same), a string through the
// backend's `quote_string` (taking a std::string_view), anything else NULL.
template <class QuoteString>
std::string sql_literal(const boost::json::value& v, QuoteString quote_string) {
  if (v.is_bool()) return v.get_bool() ? "1" : "0";
  if (v.is_int64()) return std::to_string(v.get_int64());
  if (v.is_uint64()) return std::to_string(v.get_uint64());
  if (v.is_double()) {
    char buf[32];
    std::snprintf(buf, sizeof(buf), "%.17g", v.get_double());
    return buf;
  }
  if (v.is_string()) return quote_string(std::string_view(v.get_string()));
  return "NULL";
}

}  // namespace dbtool::sdk
