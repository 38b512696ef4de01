// The portable schema model: what schemas/schema.json declares, validated once on load and
// handed to backends as normalised JSON (plugin-api/CONTRACT.md, "Portable schema").
#pragma once

#include <dbtool/sdk/arrow.hpp>

#include <boost/json.hpp>

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace dbtool {

enum class PortableType { kInt64, kFloat64, kBool, kText, kJson, kBlob, kTimestamp, kDate, kDateTime };

std::string_view type_name(PortableType t);
sdk::ColumnType arrow_type(PortableType t);
// Whether the JSON scalar `v` is a value of type `t` (a column default, a mapping's value).
bool value_fits(PortableType t, const boost::json::value& v);

struct Column {
  std::string name;
  PortableType type = PortableType::kText;
  bool nullable = true;
  bool auto_increment = false;
  std::optional<int64_t> max_length;
  std::optional<boost::json::value> default_value;  // a scalar of the column's type
};

struct KeyColumns {
  std::string name;
  std::vector<std::string> columns;
};

struct ForeignKey {
  std::string name;
  std::vector<std::string> columns;
  std::string ref_table;
  std::vector<std::string> ref_columns;
  std::string on_delete = "no action";  // "no action", "cascade", "set null", "restrict"
};

struct Table {
  std::string name;
  std::vector<Column> columns;
  std::vector<std::string> primary_key;
  std::vector<KeyColumns> uniques;
  std::vector<ForeignKey> foreign_keys;
  std::vector<KeyColumns> indexes;

  // Index of the column, or -1.
  int column_index(std::string_view column) const;
  const Column* find_column(std::string_view column) const;
  std::vector<sdk::ColumnSpec> arrow_columns() const;
};

struct Schema {
  std::string name;
  int64_t version = 0;
  std::string description;
  std::vector<Table> tables;  // parents before children
  std::string checksum;       // sha256 (hex) of the file's bytes
  std::string origin;         // the file it came from, for messages

  const Table* find_table(std::string_view table) const;
  // The normalised portable schema JSON that backends receive in stage_begin.
  std::string to_backend_json() const;
};

// True for identifiers dbtool accepts: [A-Za-z_][A-Za-z0-9_]{0,63}.
bool is_valid_identifier(std::string_view s);

// Parses and validates a schema. Throws dbtool::Error (ExitCode::kUsage) whose message names
// `origin` and the offending field, e.g. "schemas/schema.json: tables[0].columns[3].type: ...".
Schema parse_schema(std::string_view text, const std::string& origin);
Schema load_schema(const std::filesystem::path& file);

// Appends the table in which dbtool records its runs (name kHistoryTable).
inline constexpr std::string_view kHistoryTable = "dbtool_history";
void add_history_table(Schema& schema);

// Reads a whole file; throws dbtool::Error naming it.
std::string read_file(const std::filesystem::path& file);
std::string sha256_hex(std::string_view bytes);

}  // namespace dbtool
