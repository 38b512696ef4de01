// TableDigest: the schema's columns of each Arrow row, hashed the SDK's one way (sdk/digest.hpp).
#include "ops/table_digest.hpp"

namespace dbtool {

namespace {

// One value as its canonical form, by the column's portable type (sdk/digest.hpp).
void hash_value(sdk::CanonicalRows& h, PortableType type, const sdk::BatchView& view, size_t col, int64_t row) {
  if (view.is_null(col, row)) {
    h.null();
    return;
  }
  const sdk::ColumnType arrow = view.spec(col).type;
  switch (type) {
    case PortableType::Int64:
    case PortableType::Bool: {
      int64_t v = arrow == sdk::ColumnType::Bool      ? (view.get_bool(col, row) ? 1 : 0)
                  : arrow == sdk::ColumnType::Float64 ? static_cast<int64_t>(view.get_double(col, row))
                                                      : view.get_int64(col, row);
      if (type == PortableType::Bool) v = v != 0;
      h.integer(v);
      break;
    }
    case PortableType::Float64:
      h.real(arrow == sdk::ColumnType::Int64 ? static_cast<double>(view.get_int64(col, row))
                                             : view.get_double(col, row));
      break;
    default:
      h.value(view.get_bytes(col, row));
      break;
  }
}

}  // namespace

void TableDigest::add(const PortableTable& table, const std::vector<sdk::ColumnSpec>& columns,
                      const ArrowArray& batch) {
  sdk::BatchView view(columns, batch);
  std::vector<int> source(table.columns.size(), -1);  // schema column -> batch column
  std::vector<PortableType> types;
  for (const auto& c : table.columns) types.push_back(c.kind());
  for (size_t i = 0; i < table.columns.size(); ++i)
    for (size_t c = 0; c < columns.size(); ++c)
      if (columns[c].name == table.columns[i].name) source[i] = static_cast<int>(c);
  // The batch's rows written out, then hashed side by side (sdk::fnv1a_rows): the same row
  // hashes as a RowHash per row, in fewer cycles.
  rows_.clear();
  for (int64_t r = 0; r < view.rows(); ++r) {
    for (size_t i = 0; i < table.columns.size(); ++i) {
      if (source[i] < 0)
        rows_.null();
      else
        hash_value(rows_, types[i], view, static_cast<size_t>(source[i]), r);
    }
    rows_.end_row();
  }
  rows_.hash(hashes_);
  for (uint64_t h : hashes_) digest_.add(h);
}

std::map<std::string, LiveTable> digest_live_tables(BackendSession& session, const Schema& schema,
                                                    const std::vector<std::string>& tables) {
  std::map<std::string, LiveTable> out;
  for (const auto& name : tables) {
    const PortableTable* table = schema.find_table(name);
    if (table == nullptr) continue;
    ArrowArrayStream stream{};
    session.read_table(name, &stream);
    sdk::StreamReader reader(&stream);
    LiveTable& live = out[name];
    for (const auto& c : reader.columns()) live.columns.push_back(c.name);
    sdk::ArrayHolder batch;
    while (reader.next(batch)) live.digest.add(*table, reader.columns(), batch.a);
  }
  return out;
}

}  // namespace dbtool
