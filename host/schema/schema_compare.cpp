// diff_schemas and schema_file_text.
#include "schema/schema_compare.hpp"

#include <algorithm>
#include <set>

namespace dbtool {
namespace json = boost::json;

namespace {

json::value names(const std::vector<std::string>& v) {
  json::array a;
  for (const auto& s : v) a.push_back(json::value(s));
  return a;
}

json::value opt_int(const std::optional<int64_t>& v) { return v ? json::value(*v) : json::value(nullptr); }

std::string fk_key(const PortableForeignKey& fk) {
  return json::serialize(names(fk.columns)) + "->" + fk.ref_table + json::serialize(names(fk.ref_columns)) + " " +
         fk.on_delete;
}

json::value fk_json(const PortableForeignKey& fk) {
  return json::object{{"columns", names(fk.columns)},
                      {"references", json::object{{"table", fk.ref_table}, {"columns", names(fk.ref_columns)}}},
                      {"on_delete", fk.on_delete}};
}

// Compares two sets of keyed items (uniques, indexes, foreign keys) by `key`.
template <class T, class Key, class ToJson>
void compare_sets(const std::string& kind, const std::string& table, const std::vector<T>& expected,
                  const std::vector<T>& actual, Key key, ToJson to_json, std::vector<SchemaDifference>& out) {
  std::set<std::string> have, want;
  for (const auto& a : actual) have.insert(key(a));
  for (const auto& e : expected) want.insert(key(e));
  for (const auto& e : expected)
    if (!have.count(key(e))) out.push_back({kind, table, "", to_json(e), nullptr});
  for (const auto& a : actual)
    if (!want.count(key(a))) out.push_back({kind, table, "", nullptr, to_json(a)});
}

std::string show(const json::value& v) { return v.is_null() ? "(none)" : json::serialize(v); }

}  // namespace

std::string SchemaDifference::to_text() const {
  std::string where = column.empty() ? table : table + "." + column;
  if (kind == "table" || kind == "column") {
    if (actual.is_null()) return kind + " " + where + ": in schema.json, missing from the database";
    return kind + " " + where + ": in the database, not in schema.json";
  }
  if (kind == "unique" || kind == "index" || kind == "foreign_key") {
    if (actual.is_null())
      return where + ": " + kind + " " + show(expected) + " in schema.json, missing from the database";
    return where + ": " + kind + " " + show(actual) + " in the database, not in schema.json";
  }
  return where + ": " + kind + ": schema.json " + show(expected) + ", database " + show(actual);
}

json::object SchemaDifference::to_json() const {
  json::object o{{"kind", kind}, {"table", table}, {"expected", expected}, {"actual", actual}};
  if (!column.empty()) o["column"] = column;
  return o;
}

std::vector<SchemaDifference> diff_schemas(const Schema& expected, const Schema& actual) {
  std::vector<SchemaDifference> out;
  for (const auto& et : expected.tables) {
    const PortableTable* at = actual.find_table(et.name);
    if (at == nullptr) {
      out.push_back({"table", et.name, "", json::value(et.name), nullptr});
      continue;
    }
    for (const auto& ec : et.columns) {
      const PortableColumn* ac = at->column(ec.name);
      if (ac == nullptr) {
        out.push_back({"column", et.name, ec.name, json::value(ec.name), nullptr});
        continue;
      }
      auto differ = [&](const char* kind, json::value e, json::value a) {
        if (e != a) out.push_back({kind, et.name, ec.name, std::move(e), std::move(a)});
      };
      differ("type", json::value(ec.type), json::value(ac->type));
      differ("nullable", json::value(ec.nullable), json::value(ac->nullable));
      differ("max_length", opt_int(ec.max_length), opt_int(ac->max_length));
      differ("default", ec.default_value, ac->default_value);
      differ("auto_increment", json::value(ec.auto_increment), json::value(ac->auto_increment));
    }
    for (const auto& ac : at->columns)
      if (et.column(ac.name) == nullptr) out.push_back({"column", et.name, ac.name, nullptr, json::value(ac.name)});
    if (et.primary_key != at->primary_key)
      out.push_back({"primary_key", et.name, "", names(et.primary_key), names(at->primary_key)});
    auto cols = [](const PortableKey& k) { return json::serialize(names(k.columns)); };
    auto cols_json = [](const PortableKey& k) { return names(k.columns); };
    compare_sets("unique", et.name, et.unique, at->unique, cols, cols_json, out);
    compare_sets("index", et.name, et.indexes, at->indexes, cols, cols_json, out);
    compare_sets("foreign_key", et.name, et.foreign_keys, at->foreign_keys, fk_key, fk_json, out);
  }
  for (const auto& at : actual.tables)
    if (expected.find_table(at.name) == nullptr) out.push_back({"table", at.name, "", nullptr, json::value(at.name)});
  return out;
}

std::string schema_file_text(const Schema& schema) {
  json::value backend = json::parse(sdk::portable_schema_json(schema));
  const json::object& b = backend.get_object();
  std::string out = "{\n";
  out += "  \"name\": " + json::serialize(json::value(schema.name)) + ",\n";
  out += "  \"version\": " + std::to_string(schema.version) + ",\n";
  out += "  \"description\": " + json::serialize(json::value(schema.description)) + ",\n";
  out += "  \"tables\": [";
  const json::array& tables = b.at("tables").as_array();
  for (size_t ti = 0; ti < tables.size(); ++ti) {
    const json::object& t = tables[ti].as_object();
    out += ti == 0 ? "\n" : ",\n";
    out += "    {\n      \"name\": " + json::serialize(t.at("name")) + ",\n      \"columns\": [\n";
    const json::array& columns = t.at("columns").as_array();
    for (size_t ci = 0; ci < columns.size(); ++ci) {
      // The schema.json convention: "nullable" only when false, which is what a reader notices.
      json::object c = columns[ci].as_object();
      if (c.at("nullable").as_bool()) c.erase("nullable");
      out += "        " + json::serialize(c) + (ci + 1 < columns.size() ? ",\n" : "\n");
    }
    out += "      ]";
    for (const char* key : {"primary_key", "unique", "foreign_keys", "indexes"}) {
      const json::value& v = t.at(key);
      if (v.as_array().empty()) continue;
      out += ",\n      \"" + std::string(key) + "\": " + json::serialize(v);
    }
    out += "\n    }";
  }
  out += "\n  ]\n}\n";
  return out;
}

}  // namespace dbtool
