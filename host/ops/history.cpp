// read_history: dbtool_history through the backend's read_table.
#include "ops/history.hpp"

#include "schema/schema.hpp"

namespace dbtool {
namespace json = boost::json;

json::array read_history(BackendSession& session) {
  json::array rows;
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
          case sdk::ColumnType::Int64: row[spec.name] = view.get_int64(c, r); break;
          case sdk::ColumnType::Float64: row[spec.name] = view.get_double(c, r); break;
          case sdk::ColumnType::Bool: row[spec.name] = view.get_bool(c, r); break;
          default: row[spec.name] = std::string(view.get_bytes(c, r)); break;
        }
        // The run's report is stored as JSON text; scripts get it as the object it is.
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

}  // namespace dbtool
