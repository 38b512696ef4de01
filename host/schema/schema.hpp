// A schema file (schemas/schema.json) and dbtool's run-history table. The model of tables,
// columns, keys and foreign keys and its parser are the SDK's (dbtool/sdk/schema.hpp), the same
// the backends parse stage_begin with; this adds only what the host knows about the file:
// where it came from, its checksum, the rules for a file (a name and a version, no checksum of
// its own, no table named dbtool_history) and the history table appended for every run.
#pragma once

#include <dbtool/sdk/schema.hpp>

#include <filesystem>
#include <string>
#include <string_view>

namespace dbtool {

using sdk::PortableColumn;
using sdk::PortableForeignKey;
using sdk::PortableKey;
using sdk::PortableTable;
using sdk::PortableType;

// A schema file, or a source database's schema read through describe_schema.
struct Schema : sdk::PortableSchema {
  std::string origin;  // the file (or database) it came from, for messages
};

// Parses and validates a schema file. Throws dbtool::Error (ExitCode::kUsage) whose message names
// `origin` and the offending field, e.g. "schemas/schema.json: tables[0] (users).columns[3].type: ...".
// `checksum` is the sha256 (hex) of `text`.
Schema parse_schema(std::string_view text, const std::string& origin);
Schema load_schema(const std::filesystem::path& file);

// Appends the table in which dbtool records its runs (name kHistoryTable).
inline constexpr std::string_view kHistoryTable = "dbtool_history";
void add_history_table(Schema& schema);

// Reads a whole file; throws dbtool::Error naming it.
std::string read_file(const std::filesystem::path& file);
std::string sha256_hex(std::string_view bytes);

}  // namespace dbtool
