// The database-to-database mapping (schemas/database-mapping.json): how the tables and columns
// of a source database go into the target schema. By default a source table goes into the
// target table of the same name, column to column by name; the file only says what differs.
//
// Format (every key optional; keys are source table names):
//   {
//     "description": "...",
//     "tables": {
//       "users": {
//         "rename_to": "people",                     // the target table, when it was renamed
//         "rename_columns": {"fullname": "_name"},   // source column -> target column
//         "drop_columns": {"_dob": "why it goes"},   // source columns dropped on purpose
//         "values": {"_school": "unknown"}           // target column -> value for rows whose
//                                                    // source has no such column (a new NOT NULL
//                                                    // column without a default needs one)
//       },
//       "audit_log": {"drop": "why the whole table goes"}
//     }
//   }
//
// A drop naming a table or column the source does not have is a no-op (the same file serves
// sources of several older shapes). A source table or column with nowhere to go and no drop is
// an error unless --allow-drop; a target NOT NULL column without default, value or source
// column is an error. Values are copied verbatim; a type change is allowed only when lossless.
#pragma once

#include "schema/schema.hpp"

#include <boost/json.hpp>

#include <filesystem>
#include <map>
#include <string>
#include <vector>

namespace dbtool {

struct TableRule {
  std::string drop;  // non-empty: the whole source table is dropped on purpose, for this reason
  std::string rename_to;
  std::map<std::string, std::string> rename_columns;
  std::map<std::string, std::string> drop_columns;   // column -> reason
  std::map<std::string, boost::json::value> values;  // target column -> value
};

struct DatabaseMapping {
  std::map<std::string, TableRule> tables;  // by source table
  std::string origin;
};

// Reads and validates the file's shape (names are checked against the schemas by
// plan_mapping). A missing file is the empty mapping. Throws dbtool::Error(kUsage) naming the
// field.
DatabaseMapping load_database_mapping(const std::filesystem::path& file);

// A value check made per value while streaming, when the types differ but may convert losslessly.
enum class Conversion { kNone, kInt64ToFloat64, kInt64ToBool, kBoolToInt64, kCheckDate, kCheckDateTime, kCheckJson };

struct ColumnPlan {
  std::string source;
  std::string target;
  PortableType from = PortableType::Text;
  PortableType to = PortableType::Text;
  Conversion conversion = Conversion::kNone;
};

struct ConstantColumn {
  std::string target;
  PortableType type = PortableType::Text;
  boost::json::value value;
};

struct DroppedColumn {
  std::string column;
  std::string why;
};

struct TablePlan {
  std::string source;
  std::string target;
  std::vector<ColumnPlan> columns;        // in target column order
  std::vector<ConstantColumn> constants;  // the mapping's values for columns the source lacks
  std::vector<DroppedColumn> dropped_columns;
  std::vector<std::string> defaulted_columns;  // target columns the source lacks: default or NULL
};

struct DroppedTable {
  std::string table;
  std::string why;
};

struct MappingPlan {
  std::vector<TablePlan> tables;  // in target schema order (parents first)
  std::vector<DroppedTable> dropped_tables;
  std::vector<std::string> unfed_tables;  // target tables no source table feeds: they start empty
  bool skipped_history = false;           // the source's own dbtool_history, never app data
  boost::json::object to_json() const;
};

// Plans how `source` goes into `target`. Throws dbtool::Error(kDataError) listing every
// problem at once (nowhere to go, NOT NULL without value, type without lossless conversion),
// and saying how to allow drops; nothing has been read or written then.
MappingPlan plan_mapping(const Schema& source, const Schema& target, const DatabaseMapping& mapping, bool allow_drop);

}  // namespace dbtool
