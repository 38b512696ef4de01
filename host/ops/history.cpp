// read_history, history_row, write_history and runs_since.
#include "ops/history.hpp"

#include "ops/rebuild.hpp"
#include "util/environment.hpp"
#include "util/error.hpp"

#include <set>

namespace dbtool {
namespace json = boost::json;

json::array read_history(BackendSession& session, const json::object& description) {
  json::array rows;
  bool present = false;
  if (auto* t = description.if_contains("tables"); t && t->is_array())
    for (const auto& row : t->get_array()) present = present || row.at("name").as_string() == kHistoryTable;
  if (!present) return rows;
  ArrowArrayStream stream{};
  session.read_table(std::string(kHistoryTable), &stream);
  sdk::StreamReader reader(&stream);
  sdk::ArrayHolder batch;
  while (reader.next(batch)) {
    sdk::BatchView view(reader.columns(), batch.a);
    for (int64_t r = 0; r < view.rows(); ++r) {
      json::object row;
      for (size_t c = 0; c < view.columns(); ++c) {
        const auto& spec = view.spec(c);
        if (view.is_null(c, r)) {
          row[spec.name] = nullptr;
          continue;
        }
        switch (spec.type) {
          case sdk::ColumnType::Int64:
            row[spec.name] = view.get_int64(c, r);
            break;
          case sdk::ColumnType::Float64:
            row[spec.name] = view.get_double(c, r);
            break;
          case sdk::ColumnType::Bool:
            row[spec.name] = view.get_bool(c, r);
            break;
          default:
            row[spec.name] = std::string(view.get_bytes(c, r));
            break;
        }
        // The run's report is stored as JSON text; readers get it as the object it is.
        if (spec.name == "report" && row[spec.name].is_string()) {
          boost::system::error_code ec;
          json::value parsed = json::parse(row[spec.name].get_string(), ec);
          if (!ec) row[spec.name] = std::move(parsed);
        }
      }
      rows.push_back(std::move(row));
    }
  }
  return rows;
}

json::object history_row(const std::string& operation, const std::string& started, const std::string& schema_name,
                         int64_t schema_version, const std::string& schema_checksum, const std::string& source,
                         const json::object& report) {
  return json::object{{"started_at", started},
                      {"finished_at", utc_stamp_iso()},
                      {"operation", operation},
                      {"schema_name", schema_name},
                      {"schema_version", schema_version},
                      {"schema_checksum", schema_checksum},
                      {"source", source},
                      {"report", report},
                      {"dbtool_version", DBTOOL_VERSION}};
}

namespace {

// One batch of `rows` holding the history table's columns, the id only when `with_id`.
int64_t write_rows(BackendStage& stage, const PortableTable& history, const std::vector<const json::object*>& rows,
                   bool with_id) {
  std::vector<sdk::ColumnSpec> columns;
  std::vector<const PortableColumn*> kept;
  for (const auto& c : history.columns)
    if (with_id || c.name != "id") {
      columns.push_back({c.name, sdk::arrow_type_of(c.type)});
      kept.push_back(&c);
    }
  sdk::BatchBuilder b(columns);
  for (const json::object* row : rows)
    for (size_t i = 0; i < kept.size(); ++i) {
      const std::string& name = kept[i]->name;
      const json::value* v = row->if_contains(name);
      if (v == nullptr || v->is_null()) {
        b.append_null(i);
      } else if (columns[i].type == sdk::ColumnType::Int64) {
        if (!v->is_number()) throw Error("dbtool_history." + name + " holds " + json::serialize(*v) + ", not a number");
        b.append_int64(i, v->to_number<int64_t>());
      } else {
        b.append_bytes(i, v->is_string() ? std::string(v->get_string()) : json::serialize(*v));
      }
    }
  sdk::ArrayHolder batch;
  b.finish(&batch.a);
  return load_batch(stage, std::string(kHistoryTable), columns, std::move(batch));
}

}  // namespace

int64_t write_history(BackendStage& stage, const json::array& rows) {
  Schema s;
  add_history_table(s);
  const PortableTable& history = s.tables.back();
  // Ids kept first: the generated ones then come after every kept id.
  std::vector<const json::object*> with_id, without_id;
  for (const auto& row : rows) {
    const json::object& o = row.as_object();
    auto* id = o.if_contains("id");
    (id && !id->is_null() ? with_id : without_id).push_back(&o);
  }
  int64_t n = 0;
  if (!with_id.empty()) n += write_rows(stage, history, with_id, true);
  if (!without_id.empty()) n += write_rows(stage, history, without_id, false);
  return n;
}

json::array runs_since(const json::array& older, const json::array& newer) {
  auto key = [](const json::value& row) {
    json::object o = row.as_object();
    o.erase("id");
    return json::serialize(o);
  };
  std::multiset<std::string> kept;
  for (const auto& row : older) kept.insert(key(row));
  json::array out;
  for (const auto& row : newer) {
    auto it = kept.find(key(row));
    if (it != kept.end())
      kept.erase(it);
    else
      out.push_back(row);
  }
  return out;
}

}  // namespace dbtool
