// find_drift: live tables and columns against schemas/, rows and checksums against the last run.
#include "ops/drift.hpp"

#include "ops/db_source.hpp"
#include "ops/table_digest.hpp"
#include "plugins/host_services.hpp"
#include "schema/schema_compare.hpp"
#include "util/error.hpp"

#include <algorithm>
#include <optional>
#include <set>

namespace dbtool {
namespace json = boost::json;

namespace {

json::object difference(const char* kind, const std::string& table, const std::string& message) {
  json::object d{{"kind", kind}, {"message", message}};
  if (!table.empty()) d["table"] = table;
  return d;
}

}  // namespace

json::object find_drift(BackendSession& session, const json::object& description, const Schema& schema,
                        const json::value& last_run) {
  json::array diffs;
  std::map<std::string, int64_t> live_rows;
  if (auto* t = description.if_contains("tables"); t && t->is_array())
    for (const auto& row : t->get_array())
      live_rows[std::string(row.at("name").as_string())] =
          row.as_object().if_contains("rows") ? row.at("rows").to_number<int64_t>() : 0;

  // Tables: schemas/ against the database.
  std::vector<std::string> present;
  for (const auto& t : schema.tables) {
    if (live_rows.count(t.name))
      present.push_back(t.name);
    else
      diffs.push_back(
          difference("table_missing", t.name, "table " + t.name + " is in schemas/ but not in the database"));
  }
  for (const auto& [name, rows] : live_rows)
    if (name != kHistoryTable && schema.find_table(name) == nullptr)
      diffs.push_back(
          difference("table_added", name, "table " + name + " (" + std::to_string(rows) + " rows) is not in schemas/"));

  // Columns and content, read once.
  std::map<std::string, LiveTable> live;
  if (session.can_read_tables()) live = digest_live_tables(session, schema, present);
  for (const auto& [name, table] : live) {
    const PortableTable* t = schema.find_table(name);
    std::set<std::string> have(table.columns.begin(), table.columns.end());
    for (const auto& c : t->columns)
      if (!have.count(c.name)) {
        json::object d = difference("column_missing", name,
                                    "column " + name + "." + c.name + " is in schemas/ but not in the database");
        d["column"] = c.name;
        diffs.push_back(std::move(d));
      }
    for (const auto& c : table.columns)
      if (t->column(c) == nullptr) {
        json::object d = difference("column_added", name, "column " + name + "." + c + " is not in schemas/");
        d["column"] = c;
        diffs.push_back(std::move(d));
      }
  }

  // Indexes (unique ones included): schemas/ against what the database declares, compared by
  // the columns they cover, as `schema diff` does. A database whose structure the portable
  // schema cannot express (a table added by hand without a primary key, say) is not compared.
  if (session.can_read_database() && !present.empty()) {
    std::optional<Schema> declared;
    try {
      declared = schema_of_database(session.describe_schema(), "the database");
    } catch (const Error& e) {
      log_info(std::string("indexes not compared: ") + e.what());
    }
    if (declared)
      for (const auto& d : diff_schemas(schema, *declared)) {
        if ((d.kind != "index" && d.kind != "unique") || declared->find_table(d.table) == nullptr) continue;
        const bool missing = d.actual.is_null();
        const std::string what =
            (d.kind == "unique" ? "unique index on " : "index on ") + json::serialize(missing ? d.expected : d.actual);
        json::object x = difference(
            missing ? "index_missing" : "index_added", d.table,
            d.table + ": " + what + (missing ? " is in schemas/ but not in the database" : " is not in schemas/"));
        x["columns"] = missing ? d.expected : d.actual;
        x["unique"] = d.kind == "unique";
        diffs.push_back(std::move(x));
      }
  }

  json::object out{{"schema_dir_checksum", schema.checksum}};
  const json::object* run = last_run.is_object() ? &last_run.get_object() : nullptr;
  if (run == nullptr) {
    out["compared_with_run"] = nullptr;
  } else {
    out["compared_with_run"] = run->contains("finished_at") ? run->at("finished_at") : json::value(nullptr);
    if (auto* id = run->if_contains("id")) out["compared_with_run"] = *id;
    const json::value* report = run->if_contains("report");
    std::string recorded_checksum = run->contains("schema_checksum") && run->at("schema_checksum").is_string()
                                        ? std::string(run->at("schema_checksum").as_string())
                                        : "";
    if (!recorded_checksum.empty() && recorded_checksum != schema.checksum)
      diffs.push_back(difference("schema_changed", "",
                                 "schemas/schema.json changed since the last run (recorded checksum " +
                                     recorded_checksum.substr(0, 12) + "…, now " + schema.checksum.substr(0, 12) +
                                     "…)"));
    // Row counts and checksums as the run left them.
    if (report && report->is_object())
      if (auto* tables = report->get_object().if_contains("tables"); tables && tables->is_array())
        for (const auto& tv : tables->get_array()) {
          const json::object& rec = tv.as_object();
          const std::string name(rec.at("name").as_string());
          const int64_t recorded = rec.at("rows").to_number<int64_t>();
          auto lr = live_rows.find(name);
          if (lr == live_rows.end()) {
            if (schema.find_table(name) == nullptr)
              diffs.push_back(
                  difference("table_missing", name,
                             "table " + name + " (" + std::to_string(recorded) + " rows recorded) is gone"));
            continue;
          }
          if (lr->second != recorded) {
            json::object d = difference("rows_changed", name,
                                        name + ": " + std::to_string(lr->second) + " rows, " +
                                            std::to_string(recorded) + " recorded by the last run");
            d["rows"] = lr->second;
            d["recorded_rows"] = recorded;
            diffs.push_back(std::move(d));
            continue;
          }
          auto l = live.find(name);
          auto* sum = rec.if_contains("checksum");
          // A checksum only means something on the same schema file the run used.
          if (l != live.end() && sum && sum->is_string() && recorded_checksum == schema.checksum &&
              l->second.digest.checksum() != sum->get_string()) {
            json::object d =
                difference("content_changed", name,
                           name +
                               ": same row count, but the content differs from what the last run "
                               "loaded (checksum " +
                               l->second.digest.checksum() + ", recorded " + std::string(sum->get_string()) + ")");
            d["checksum"] = l->second.digest.checksum();
            d["recorded_checksum"] = *sum;
            diffs.push_back(std::move(d));
          }
        }
  }
  out["differences"] = std::move(diffs);
  return out;
}

}  // namespace dbtool
