// TableDigest: canonical rows, FNV-1a, an order-free sum.
#include "ops/table_digest.hpp"

#include <charconv>
#include <cstdio>

namespace dbtool {

namespace {

constexpr uint64_t kFnvOffset = 1469598103934665603ull;
constexpr uint64_t kFnvPrime = 1099511628211ull;

void fnv(uint64_t& h, std::string_view bytes) {
  for (unsigned char c : bytes) {
    h ^= c;
    h *= kFnvPrime;
  }
}

// One value as its canonical bytes; a length prefix keeps "ab","c" apart from "a","bc".
void hash_value(uint64_t& h, PortableType type, const sdk::BatchView& view, size_t col, int64_t row) {
  if (view.is_null(col, row)) {
    fnv(h, std::string_view("N", 1));
    return;
  }
  char buf[64];
  std::string_view text;
  const sdk::ColumnType arrow = view.spec(col).type;
  switch (type) {
    case PortableType::Int64:
    case PortableType::Bool: {
      int64_t v = arrow == sdk::ColumnType::Bool      ? (view.get_bool(col, row) ? 1 : 0)
                  : arrow == sdk::ColumnType::Float64 ? static_cast<int64_t>(view.get_double(col, row))
                                                      : view.get_int64(col, row);
      if (type == PortableType::Bool) v = v != 0;
      text = std::string_view(buf, std::to_chars(buf, buf + sizeof(buf), v).ptr - buf);
      break;
    }
    case PortableType::Float64: {
      double v =
          arrow == sdk::ColumnType::Int64 ? static_cast<double>(view.get_int64(col, row)) : view.get_double(col, row);
      text = std::string_view(buf, std::to_chars(buf, buf + sizeof(buf), v).ptr - buf);
      break;
    }
    default:
      text = view.get_bytes(col, row);
      break;
  }
  char len[24];
  int n = std::snprintf(len, sizeof(len), "V%zu:", text.size());
  fnv(h, std::string_view(len, static_cast<size_t>(n)));
  fnv(h, text);
}

}  // namespace

void TableDigest::add(const PortableTable& table, const std::vector<sdk::ColumnSpec>& columns, const ArrowArray& batch) {
  sdk::BatchView view(columns, batch);
  std::vector<int> source(table.columns.size(), -1);  // schema column -> batch column
  std::vector<PortableType> types;
  for (const auto& c : table.columns) types.push_back(c.kind());
  for (size_t i = 0; i < table.columns.size(); ++i)
    for (size_t c = 0; c < columns.size(); ++c)
      if (columns[c].name == table.columns[i].name) source[i] = static_cast<int>(c);
  for (int64_t r = 0; r < view.rows(); ++r) {
    uint64_t h = kFnvOffset;
    for (size_t i = 0; i < table.columns.size(); ++i) {
      if (source[i] < 0)
        fnv(h, std::string_view("N", 1));
      else
        hash_value(h, types[i], view, static_cast<size_t>(source[i]), r);
    }
    sum_ += h;
  }
  rows_ += view.rows();
}

std::string TableDigest::checksum() const {
  char buf[17];
  std::snprintf(buf, sizeof(buf), "%016llx", static_cast<unsigned long long>(sum_));
  return buf;
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
