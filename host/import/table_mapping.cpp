// Reading the database mapping and planning a source database's tables into the target schema.
#include "import/table_mapping.hpp"

#include "util/error.hpp"

#include <set>

namespace dbtool {
namespace json = boost::json;

namespace {

[[noreturn]] void bad(const std::string& origin, const std::string& path, const std::string& what) {
  throw Error(origin + ": " + path + ": " + what, ExitCode::kUsage);
}

std::map<std::string, std::string> string_map(const std::string& origin, const json::object& o, const char* key,
                                              const std::string& path) {
  std::map<std::string, std::string> out;
  const json::value* v = o.if_contains(key);
  if (v == nullptr) return out;
  if (!v->is_object()) bad(origin, path + "." + key, "expected an object");
  for (const auto& kv : v->get_object()) {
    std::string p = path + "." + key + "." + std::string(kv.key());
    if (!sdk::is_identifier(kv.key())) bad(origin, p, "not a valid column name");
    if (!kv.value().is_string() || kv.value().get_string().empty()) bad(origin, p, "expected a non-empty string");
    out[std::string(kv.key())] = std::string(kv.value().get_string());
  }
  return out;
}

// Which lossless conversion takes `from` to `to`, if any. Text-like types that share the
// canonical text form travel unchanged; text into date, datetime or json is checked per value.
std::optional<Conversion> conversion(PortableType from, PortableType to) {
  using P = PortableType;
  if (from == to) return Conversion::kNone;
  auto textual = [](P t) {
    return t == P::Text || t == P::Json || t == P::Date || t == P::DateTime || t == P::Timestamp;
  };
  if (to == P::Text && textual(from)) return Conversion::kNone;
  if (from == P::Text && to == P::Date) return Conversion::kCheckDate;
  if (from == P::Text && to == P::DateTime) return Conversion::kCheckDateTime;
  if (from == P::Text && to == P::Json) return Conversion::kCheckJson;
  if (from == P::Int64 && to == P::Float64) return Conversion::kInt64ToFloat64;
  if (from == P::Int64 && to == P::Bool) return Conversion::kInt64ToBool;
  if (from == P::Bool && to == P::Int64) return Conversion::kBoolToInt64;
  return std::nullopt;
}

// A mapping's value must be a value of the column's type (value_fits: dates and datetimes in
// canonical form); any JSON value fits a json column.
bool constant_fits(PortableType t, const json::value& v) { return t == PortableType::Json || sdk::value_fits(t, v); }

}  // namespace

DatabaseMapping load_database_mapping(const std::filesystem::path& file) {
  DatabaseMapping m;
  m.origin = file.string();
  std::error_code ec;
  if (!std::filesystem::exists(file, ec)) return m;
  const std::string& origin = m.origin;
  boost::system::error_code jec;
  json::value root = json::parse(read_file(file), jec);
  if (jec) throw Error(origin + ": not valid JSON: " + jec.message(), ExitCode::kUsage);
  if (!root.is_object()) bad(origin, "(top level)", "expected an object");
  for (const auto& kv : root.get_object())
    if (kv.key() != "description" && kv.key() != "tables") bad(origin, std::string(kv.key()), "unknown field");
  const json::value* tables = root.get_object().if_contains("tables");
  if (tables == nullptr) return m;
  if (!tables->is_object()) bad(origin, "tables", "expected an object keyed by source table");
  for (const auto& kv : tables->get_object()) {
    std::string path = "tables." + std::string(kv.key());
    if (!sdk::is_identifier(kv.key())) bad(origin, path, "not a valid table name");
    if (!kv.value().is_object()) bad(origin, path, "expected an object");
    const json::object& o = kv.value().get_object();
    TableRule rule;
    for (const auto& field : o)
      if (field.key() != "drop" && field.key() != "rename_to" && field.key() != "rename_columns" &&
          field.key() != "drop_columns" && field.key() != "values")
        bad(origin, path + "." + std::string(field.key()),
            "unknown field (drop, rename_to, rename_columns, drop_columns, values)");
    if (const json::value* d = o.if_contains("drop")) {
      if (!d->is_string() || d->get_string().empty())
        bad(origin, path + ".drop", "expected the reason the table is dropped, as text");
      rule.drop = std::string(d->get_string());
      if (o.size() > 1) bad(origin, path, "a dropped table takes no other rule");
    }
    if (const json::value* r = o.if_contains("rename_to")) {
      if (!r->is_string() || !sdk::is_identifier(r->get_string()))
        bad(origin, path + ".rename_to", "expected a table name");
      rule.rename_to = std::string(r->get_string());
    }
    rule.rename_columns = string_map(origin, o, "rename_columns", path);
    rule.drop_columns = string_map(origin, o, "drop_columns", path);
    for (const auto& [col, to] : rule.rename_columns) {
      if (!sdk::is_identifier(to)) bad(origin, path + ".rename_columns." + col, "\"" + to + "\" is not a column name");
      if (rule.drop_columns.count(col)) bad(origin, path + ".rename_columns." + col, "also listed in drop_columns");
    }
    if (const json::value* v = o.if_contains("values")) {
      if (!v->is_object()) bad(origin, path + ".values", "expected an object: target column -> value");
      for (const auto& c : v->get_object()) {
        if (!sdk::is_identifier(c.key())) bad(origin, path + ".values." + std::string(c.key()), "not a column name");
        if (c.value().is_null())
          bad(origin, path + ".values." + std::string(c.key()), "null is what a column without a value gets anyway");
        if (c.value().is_object() || c.value().is_array())
          bad(origin, path + ".values." + std::string(c.key()), "expected a scalar");
        rule.values[std::string(c.key())] = c.value();
      }
    }
    m.tables[std::string(kv.key())] = std::move(rule);
  }
  return m;
}

json::object MappingPlan::to_json() const {
  json::object o;
  json::array dropped;
  for (const auto& d : dropped_tables) dropped.push_back(json::object{{"table", d.table}, {"why", d.why}});
  o["dropped_tables"] = std::move(dropped);
  json::array unfed;
  for (const auto& t : unfed_tables) unfed.push_back(json::value(t));
  o["unfed_tables"] = std::move(unfed);
  o["skipped_history"] = skipped_history;
  return o;
}

MappingPlan plan_mapping(const Schema& source, const Schema& target, const DatabaseMapping& mapping, bool allow_drop) {
  MappingPlan plan;
  std::vector<std::string> nowhere;   // source tables/columns with nowhere to go
  std::vector<std::string> problems;  // everything else that stops the run
  std::map<std::string, TablePlan> by_target;
  const TableRule no_rule;
  const std::string allowed = "--allow-drop";

  for (const auto& [name, rule] : mapping.tables) {
    if (!rule.rename_to.empty() && target.find_table(rule.rename_to) == nullptr)
      problems.push_back(mapping.origin + ": tables." + name + ".rename_to: no table \"" + rule.rename_to + "\" in " +
                         target.origin);
  }

  for (const auto& st : source.tables) {
    if (st.name == kHistoryTable) {
      plan.skipped_history = true;
      continue;
    }
    auto r = mapping.tables.find(st.name);
    const TableRule& rule = r == mapping.tables.end() ? no_rule : r->second;
    if (!rule.drop.empty()) {
      plan.dropped_tables.push_back({st.name, rule.drop});
      continue;
    }
    const std::string target_name = rule.rename_to.empty() ? st.name : rule.rename_to;
    const PortableTable* tt = target.find_table(target_name);
    if (tt == nullptr) {
      if (allow_drop) {
        plan.dropped_tables.push_back({st.name, "no table " + target_name + " in the target schema (" + allowed + ")"});
      } else {
        nowhere.push_back("table " + st.name + " (" + std::to_string(st.columns.size()) +
                          " columns): no table of that name in the target schema");
      }
      continue;
    }
    if (by_target.count(tt->name)) {
      problems.push_back("source tables " + by_target[tt->name].source + " and " + st.name + " both go into " +
                         tt->name + "; drop or rename one in " + mapping.origin);
      continue;
    }
    TablePlan tp;
    tp.source = st.name;
    tp.target = tt->name;
    std::set<std::string> fed;
    std::map<std::string, const PortableColumn*> incoming;  // target column -> source column
    for (const auto& sc : st.columns) {
      if (auto d = rule.drop_columns.find(sc.name); d != rule.drop_columns.end()) {
        tp.dropped_columns.push_back({sc.name, d->second});
        continue;
      }
      auto rn = rule.rename_columns.find(sc.name);
      std::string to = rn == rule.rename_columns.end() ? sc.name : rn->second;
      if (tt->column(to) == nullptr) {
        if (allow_drop)
          tp.dropped_columns.push_back({sc.name, "no column " + tt->name + "." + to + " (" + allowed + ")"});
        else
          nowhere.push_back("column " + st.name + "." + sc.name + ": no column " + to + " in target table " + tt->name);
        continue;
      }
      if (incoming.count(to)) {
        problems.push_back(st.name + ": two source columns go into " + tt->name + "." + to);
        continue;
      }
      incoming[to] = &sc;
    }
    for (const auto& [col, to] : rule.rename_columns)
      if (st.column(col) != nullptr && tt->column(to) == nullptr)
        problems.push_back(mapping.origin + ": tables." + st.name + ".rename_columns." + col + ": no column \"" + to +
                           "\" in target table " + tt->name);
    for (const auto& [col, value] : rule.values) {
      const PortableColumn* c = tt->column(col);
      if (c == nullptr)
        problems.push_back(mapping.origin + ": tables." + st.name + ".values." + col + ": no column \"" + col +
                           "\" in target table " + tt->name);
      else if (!constant_fits(c->kind(), value))
        problems.push_back(mapping.origin + ": tables." + st.name + ".values." + col + ": " + json::serialize(value) +
                           " does not fit the column's type " + c->type);
    }
    for (const auto& tc : tt->columns) {
      auto in = incoming.find(tc.name);
      if (in != incoming.end()) {
        const PortableColumn& sc = *in->second;
        auto conv = conversion(sc.kind(), tc.kind());
        if (!conv) {
          problems.push_back(st.name + "." + sc.name + " is " + sc.type + " but " + tt->name + "." + tc.name + " is " +
                             tc.type + ", and no lossless conversion exists between them");
          continue;
        }
        tp.columns.push_back({sc.name, tc.name, sc.kind(), tc.kind(), *conv});
        continue;
      }
      if (auto v = rule.values.find(tc.name); v != rule.values.end()) {
        if (constant_fits(tc.kind(), v->second)) tp.constants.push_back({tc.name, tc.kind(), v->second});
        continue;
      }
      tp.defaulted_columns.push_back(tc.name);
      if (!tc.nullable && tc.default_value.is_null() && !tc.auto_increment)
        problems.push_back(tt->name + "." + tc.name + " is NOT NULL without a default and the source table " + st.name +
                           " has no such column: give it a value in " + mapping.origin + " (tables." + st.name +
                           ".values." + tc.name + ")");
    }
    by_target[tt->name] = std::move(tp);
  }

  if (!nowhere.empty()) {
    std::string msg =
        "these parts of the source database have nowhere to go in the target schema, so they would be lost:";
    for (const auto& n : nowhere) msg += "\n  " + n;
    msg += "\ndrop them on purpose in " + mapping.origin +
           " (\"drop\" for a table, \"drop_columns\" for a column, with the reason), map them there "
           "(\"rename_to\", \"rename_columns\"), or pass --allow-drop";
    std::string also;
    for (const auto& p : problems) also += "\n  also: " + p;
    throw Error::untouched(msg, ExitCode::kDataError, also);
  }
  if (!problems.empty()) {
    std::string listing = ":";
    for (const auto& p : problems) listing += "\n  " + p;
    throw Error::untouched("the source database does not fit the target schema", ExitCode::kDataError, listing);
  }
  for (const auto& t : target.tables) {
    auto it = by_target.find(t.name);
    if (it == by_target.end())
      plan.unfed_tables.push_back(t.name);
    else
      plan.tables.push_back(std::move(it->second));
  }
  return plan;
}

}  // namespace dbtool
