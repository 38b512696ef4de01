// Parsing and validation of the portable schema file, and its normalised form for backends.
#include "schema/schema.hpp"

#include "util/error.hpp"

#include <dbtool/sdk/schema.hpp>

#include <openssl/evp.h>

#include <fstream>
#include <set>
#include <sstream>

namespace dbtool {
namespace json = boost::json;

namespace {

// Names the field being read so every message can say exactly where the problem is.
class Reader {
 public:
  Reader(std::string origin) : origin_(std::move(origin)) {}

  [[noreturn]] void fail(const std::string& path, const std::string& what) const {
    throw Error(origin_ + ": " + path + ": " + what, ExitCode::kUsage);
  }

  const json::object& object(const json::value& v, const std::string& path) const {
    if (!v.is_object()) fail(path, "expected an object");
    return v.get_object();
  }
  const json::array& array(const json::value& v, const std::string& path) const {
    if (!v.is_array()) fail(path, "expected an array");
    return v.get_array();
  }
  std::string string(const json::object& o, std::string_view key, const std::string& path,
                     bool required = true) const {
    const json::value* v = o.if_contains(key);
    if (v == nullptr) {
      if (required) fail(path + "." + std::string(key), "missing");
      return {};
    }
    if (!v->is_string()) fail(path + "." + std::string(key), "expected a string");
    return std::string(v->get_string());
  }
  std::string identifier(const json::object& o, std::string_view key, const std::string& path) const {
    std::string s = string(o, key, path);
    if (!is_valid_identifier(s))
      fail(path + "." + std::string(key),
           "\"" + s + "\" is not a valid identifier ([A-Za-z_][A-Za-z0-9_]{0,63})");
    return s;
  }
  std::vector<std::string> identifiers(const json::object& o, std::string_view key,
                                       const std::string& path, bool required) const {
    std::vector<std::string> out;
    const json::value* v = o.if_contains(key);
    std::string p = path + "." + std::string(key);
    if (v == nullptr) {
      if (required) fail(p, "missing");
      return out;
    }
    const json::array& a = array(*v, p);
    if (a.empty()) fail(p, "must list at least one column");
    for (size_t i = 0; i < a.size(); ++i) {
      std::string ip = p + "[" + std::to_string(i) + "]";
      if (!a[i].is_string()) fail(ip, "expected a string");
      std::string s(a[i].get_string());
      if (!is_valid_identifier(s)) fail(ip, "\"" + s + "\" is not a valid identifier");
      out.push_back(std::move(s));
    }
    return out;
  }
  bool boolean(const json::object& o, std::string_view key, const std::string& path,
               bool fallback) const {
    const json::value* v = o.if_contains(key);
    if (v == nullptr) return fallback;
    if (!v->is_bool()) fail(path + "." + std::string(key), "expected true or false");
    return v->get_bool();
  }
  void only_keys(const json::object& o, std::initializer_list<std::string_view> keys,
                 const std::string& path) const {
    for (const auto& kv : o) {
      bool known = false;
      for (auto k : keys) known = known || kv.key() == k;
      if (!known) fail(path + "." + std::string(kv.key()), "unknown field");
    }
  }

 private:
  std::string origin_;
};

std::optional<PortableType> parse_type(std::string_view s) {
  if (s == "int64") return PortableType::kInt64;
  if (s == "float64") return PortableType::kFloat64;
  if (s == "bool") return PortableType::kBool;
  if (s == "text") return PortableType::kText;
  if (s == "json") return PortableType::kJson;
  if (s == "blob") return PortableType::kBlob;
  if (s == "timestamp") return PortableType::kTimestamp;
  if (s == "date") return PortableType::kDate;
  if (s == "datetime") return PortableType::kDateTime;
  return std::nullopt;
}

}  // namespace

bool value_fits(PortableType t, const json::value& v) {
  switch (t) {
    case PortableType::kInt64: return v.is_int64() || v.is_uint64();
    case PortableType::kFloat64: return v.is_number();
    case PortableType::kBool: return v.is_bool();
    case PortableType::kText:
    case PortableType::kJson:
    case PortableType::kTimestamp: return v.is_string();
    // Dates travel in one canonical text form (plugin.h); a default in another would be
    // refused by the backend at load time, so it is refused here, naming the field.
    case PortableType::kDate: return v.is_string() && sdk::is_canonical_temporal("date", v.get_string());
    case PortableType::kDateTime: return v.is_string() && sdk::is_canonical_temporal("datetime", v.get_string());
    case PortableType::kBlob: return false;
  }
  return false;
}

namespace {

Column parse_column(const Reader& r, const json::value& v, const std::string& path) {
  const json::object& o = r.object(v, path);
  r.only_keys(o, {"name", "type", "nullable", "auto_increment", "max_length", "default", "description"},
              path);
  Column c;
  c.name = r.identifier(o, "name", path);
  std::string type = r.string(o, "type", path);
  auto t = parse_type(type);
  if (!t)
    r.fail(path + ".type",
           "unknown type \"" + type + "\" (int64, float64, bool, text, json, blob, timestamp, date, datetime)");
  c.type = *t;
  c.nullable = r.boolean(o, "nullable", path, true);
  c.auto_increment = r.boolean(o, "auto_increment", path, false);
  if (c.auto_increment && c.type != PortableType::kInt64)
    r.fail(path + ".auto_increment", "only an int64 column can auto-increment");
  if (const json::value* ml = o.if_contains("max_length")) {
    if (!ml->is_int64() || ml->get_int64() <= 0 || ml->get_int64() > 65535)
      r.fail(path + ".max_length", "expected an integer from 1 to 65535");
    if (c.type != PortableType::kText) r.fail(path + ".max_length", "only text columns have one");
    c.max_length = ml->get_int64();
  }
  if (const json::value* d = o.if_contains("default")) {
    if (!d->is_null()) {
      if (!value_fits(c.type, *d))
        r.fail(path + ".default", "does not fit the column's type " + std::string(type_name(c.type)));
      if (c.max_length && d->is_string() &&
          static_cast<int64_t>(d->get_string().size()) > *c.max_length)
        r.fail(path + ".default", "longer than max_length");
      c.default_value = *d;
    }
  }
  return c;
}

KeyColumns parse_key(const Reader& r, const json::value& v, const std::string& path,
                     const Table& t) {
  const json::object& o = r.object(v, path);
  r.only_keys(o, {"name", "columns"}, path);
  KeyColumns k;
  k.name = r.identifier(o, "name", path);
  k.columns = r.identifiers(o, "columns", path, true);
  for (size_t i = 0; i < k.columns.size(); ++i)
    if (t.column_index(k.columns[i]) < 0)
      r.fail(path + ".columns[" + std::to_string(i) + "]",
             "no column \"" + k.columns[i] + "\" in table " + t.name);
  return k;
}

}  // namespace

std::string_view type_name(PortableType t) {
  switch (t) {
    case PortableType::kInt64: return "int64";
    case PortableType::kFloat64: return "float64";
    case PortableType::kBool: return "bool";
    case PortableType::kText: return "text";
    case PortableType::kJson: return "json";
    case PortableType::kBlob: return "blob";
    case PortableType::kTimestamp: return "timestamp";
    case PortableType::kDate: return "date";
    case PortableType::kDateTime: return "datetime";
  }
  return "text";
}

sdk::ColumnType arrow_type(PortableType t) {
  switch (t) {
    case PortableType::kInt64: return sdk::ColumnType::Int64;
    case PortableType::kFloat64: return sdk::ColumnType::Float64;
    case PortableType::kBool: return sdk::ColumnType::Bool;
    case PortableType::kBlob: return sdk::ColumnType::Binary;
    case PortableType::kText:
    case PortableType::kJson:
    case PortableType::kTimestamp:
    case PortableType::kDate:
    case PortableType::kDateTime: return sdk::ColumnType::Utf8;
  }
  return sdk::ColumnType::Utf8;
}

bool is_valid_identifier(std::string_view s) {
  if (s.empty() || s.size() > 64) return false;
  auto alpha = [](char c) { return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '_'; };
  if (!alpha(s[0])) return false;
  for (char c : s)
    if (!alpha(c) && !(c >= '0' && c <= '9')) return false;
  return true;
}

int Table::column_index(std::string_view column) const {
  for (size_t i = 0; i < columns.size(); ++i)
    if (columns[i].name == column) return static_cast<int>(i);
  return -1;
}

const Column* Table::find_column(std::string_view column) const {
  int i = column_index(column);
  return i < 0 ? nullptr : &columns[static_cast<size_t>(i)];
}

std::vector<sdk::ColumnSpec> Table::arrow_columns() const {
  std::vector<sdk::ColumnSpec> out;
  out.reserve(columns.size());
  for (const auto& c : columns) out.push_back({c.name, arrow_type(c.type)});
  return out;
}

const Table* Schema::find_table(std::string_view table) const {
  for (const auto& t : tables)
    if (t.name == table) return &t;
  return nullptr;
}

Schema parse_schema(std::string_view text, const std::string& origin) {
  Reader r(origin);
  json::value root;
  {
    boost::system::error_code ec;
    json::parse_options opts;
    root = json::parse(text, ec, {}, opts);
    if (ec) throw Error(origin + ": not valid JSON: " + ec.message(), ExitCode::kUsage);
  }
  const json::object& o = r.object(root, "(top level)");
  r.only_keys(o, {"name", "version", "description", "tables"}, "(top level)");
  Schema s;
  s.origin = origin;
  s.name = r.identifier(o, "name", "(top level)");
  const json::value* ver = o.if_contains("version");
  if (ver == nullptr || !ver->is_int64() || ver->get_int64() < 1)
    r.fail("version", "expected a positive integer");
  s.version = ver->get_int64();
  s.description = r.string(o, "description", "(top level)", false);
  const json::value* tables = o.if_contains("tables");
  if (tables == nullptr) r.fail("tables", "missing");
  const json::array& ta = r.array(*tables, "tables");
  if (ta.empty()) r.fail("tables", "declares no table");

  std::set<std::string> constraint_names;
  for (size_t ti = 0; ti < ta.size(); ++ti) {
    std::string tp = "tables[" + std::to_string(ti) + "]";
    const json::object& to = r.object(ta[ti], tp);
    r.only_keys(to, {"name", "columns", "primary_key", "unique", "foreign_keys", "indexes", "description"},
                tp);
    Table t;
    t.name = r.identifier(to, "name", tp);
    tp = tp + " (" + t.name + ")";
    if (s.find_table(t.name) != nullptr) r.fail(tp + ".name", "duplicate table");
    if (t.name == kHistoryTable) r.fail(tp + ".name", "reserved for dbtool's run history");
    const json::value* cols = to.if_contains("columns");
    if (cols == nullptr) r.fail(tp + ".columns", "missing");
    const json::array& ca = r.array(*cols, tp + ".columns");
    if (ca.empty()) r.fail(tp + ".columns", "declares no column");
    for (size_t ci = 0; ci < ca.size(); ++ci) {
      std::string cp = tp + ".columns[" + std::to_string(ci) + "]";
      Column c = parse_column(r, ca[ci], cp);
      if (t.find_column(c.name) != nullptr) r.fail(cp + ".name", "duplicate column \"" + c.name + "\"");
      t.columns.push_back(std::move(c));
    }
    t.primary_key = r.identifiers(to, "primary_key", tp, false);
    for (size_t i = 0; i < t.primary_key.size(); ++i) {
      const Column* c = t.find_column(t.primary_key[i]);
      if (c == nullptr)
        r.fail(tp + ".primary_key[" + std::to_string(i) + "]", "no column \"" + t.primary_key[i] + "\"");
      if (c->nullable)
        r.fail(tp + ".primary_key[" + std::to_string(i) + "]",
               "column \"" + c->name + "\" must be declared \"nullable\": false");
    }
    auto keys = [&](std::string_view field, std::vector<KeyColumns>& out) {
      const json::value* v = to.if_contains(field);
      if (v == nullptr) return;
      std::string kp = tp + "." + std::string(field);
      const json::array& a = r.array(*v, kp);
      for (size_t i = 0; i < a.size(); ++i) {
        KeyColumns k = parse_key(r, a[i], kp + "[" + std::to_string(i) + "]", t);
        if (!constraint_names.insert(k.name).second)
          r.fail(kp + "[" + std::to_string(i) + "].name", "duplicate constraint name \"" + k.name + "\"");
        out.push_back(std::move(k));
      }
    };
    keys("unique", t.uniques);
    keys("indexes", t.indexes);
    if (const json::value* fks = to.if_contains("foreign_keys")) {
      std::string fp = tp + ".foreign_keys";
      const json::array& a = r.array(*fks, fp);
      for (size_t i = 0; i < a.size(); ++i) {
        std::string p = fp + "[" + std::to_string(i) + "]";
        const json::object& fo = r.object(a[i], p);
        r.only_keys(fo, {"name", "columns", "references", "on_delete"}, p);
        ForeignKey fk;
        fk.name = r.identifier(fo, "name", p);
        if (!constraint_names.insert(fk.name).second) r.fail(p + ".name", "duplicate constraint name");
        fk.columns = r.identifiers(fo, "columns", p, true);
        for (const auto& c : fk.columns)
          if (t.find_column(c) == nullptr) r.fail(p + ".columns", "no column \"" + c + "\" in " + t.name);
        const json::value* ref = fo.if_contains("references");
        if (ref == nullptr) r.fail(p + ".references", "missing");
        const json::object& ro = r.object(*ref, p + ".references");
        fk.ref_table = r.identifier(ro, "table", p + ".references");
        fk.ref_columns = r.identifiers(ro, "columns", p + ".references", true);
        const Table* parent = fk.ref_table == t.name ? &t : s.find_table(fk.ref_table);
        if (parent == nullptr)
          r.fail(p + ".references.table",
                 "no table \"" + fk.ref_table + "\" declared before this one (list parents first)");
        if (fk.ref_columns.size() != fk.columns.size())
          r.fail(p + ".references.columns", "must list as many columns as \"columns\"");
        for (const auto& c : fk.ref_columns)
          if (parent->find_column(c) == nullptr)
            r.fail(p + ".references.columns", "no column \"" + c + "\" in " + fk.ref_table);
        fk.on_delete = fo.if_contains("on_delete") ? r.string(fo, "on_delete", p) : "no action";
        if (fk.on_delete != "no action" && fk.on_delete != "cascade" && fk.on_delete != "set null" &&
            fk.on_delete != "restrict")
          r.fail(p + ".on_delete", "expected \"no action\", \"cascade\", \"set null\" or \"restrict\"");
        t.foreign_keys.push_back(std::move(fk));
      }
    }
    s.tables.push_back(std::move(t));
  }
  s.checksum = sha256_hex(text);
  return s;
}

Schema load_schema(const std::filesystem::path& file) {
  return parse_schema(read_file(file), file.string());
}

void add_history_table(Schema& schema) {
  Table t;
  t.name = std::string(kHistoryTable);
  auto col = [&](std::string name, PortableType type, bool nullable) {
    Column c;
    c.name = std::move(name);
    c.type = type;
    c.nullable = nullable;
    t.columns.push_back(std::move(c));
  };
  col("id", PortableType::kInt64, false);
  t.columns.back().auto_increment = true;
  col("started_at", PortableType::kTimestamp, false);
  col("finished_at", PortableType::kTimestamp, false);
  col("operation", PortableType::kText, false);
  col("schema_name", PortableType::kText, false);
  col("schema_version", PortableType::kInt64, false);
  col("schema_checksum", PortableType::kText, false);
  col("source", PortableType::kText, true);
  col("report", PortableType::kJson, false);
  col("dbtool_version", PortableType::kText, false);
  t.primary_key = {"id"};
  schema.tables.push_back(std::move(t));
}

std::string Schema::to_backend_json() const {
  json::object root;
  root["name"] = name;
  root["version"] = version;
  root["checksum"] = checksum;
  json::array ta;
  for (const auto& t : tables) {
    json::object to;
    to["name"] = t.name;
    json::array ca;
    for (const auto& c : t.columns) {
      json::object co;
      co["name"] = c.name;
      co["type"] = std::string(type_name(c.type));
      co["nullable"] = c.nullable;
      if (c.auto_increment) co["auto_increment"] = true;
      if (c.max_length) co["max_length"] = *c.max_length;
      if (c.default_value) co["default"] = *c.default_value;
      ca.push_back(std::move(co));
    }
    to["columns"] = std::move(ca);
    auto names = [](const std::vector<std::string>& v) {
      json::array a;
      for (const auto& s : v) a.push_back(json::value(s));
      return a;
    };
    to["primary_key"] = names(t.primary_key);
    auto keys = [&](const std::vector<KeyColumns>& ks) {
      json::array a;
      for (const auto& k : ks) a.push_back(json::object{{"name", k.name}, {"columns", names(k.columns)}});
      return a;
    };
    to["unique"] = keys(t.uniques);
    to["indexes"] = keys(t.indexes);
    json::array fa;
    for (const auto& fk : t.foreign_keys)
      fa.push_back(json::object{
          {"name", fk.name},
          {"columns", names(fk.columns)},
          {"references", json::object{{"table", fk.ref_table}, {"columns", names(fk.ref_columns)}}},
          {"on_delete", fk.on_delete}});
    to["foreign_keys"] = std::move(fa);
    ta.push_back(std::move(to));
  }
  root["tables"] = std::move(ta);
  return json::serialize(root);
}

std::string read_file(const std::filesystem::path& file) {
  std::ifstream in(file, std::ios::binary);
  if (!in) throw Error("cannot read " + file.string() + ": " + std::strerror(errno), ExitCode::kUsage);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::string sha256_hex(std::string_view bytes) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  if (EVP_Digest(bytes.data(), bytes.size(), digest, &len, EVP_sha256(), nullptr) != 1)
    throw Error("sha256 failed");
  static const char* hex = "0123456789abcdef";
  std::string out;
  for (unsigned i = 0; i < len; ++i) {
    out += hex[digest[i] >> 4];
    out += hex[digest[i] & 15];
  }
  return out;
}

}  // namespace dbtool
