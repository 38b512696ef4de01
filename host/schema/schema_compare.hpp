// Comparing two portable schemas (schemas/schema.json against a live database) and writing a
// schema back out in the schemas/schema.json layout, for `dbtool schema diff` and `import`.
#pragma once

#include "schema/schema.hpp"

#include <boost/json.hpp>

#include <string>
#include <vector>

namespace dbtool {

// One difference. `expected` is what schema.json says, `actual` what the database has; either
// may be null (missing / extra).
struct SchemaDifference {
  std::string kind;  // "table", "column", "type", "nullable", "max_length", "default",
                     // "auto_increment", "primary_key", "unique", "foreign_key", "index"
  std::string table;
  std::string column;  // empty for table-level differences
  boost::json::value expected;
  boost::json::value actual;

  std::string to_text() const;  // one line: "users._role: type: schema.json text, database int64"
  boost::json::object to_json() const;
};

// Every difference between `expected` and `actual`, tables in `expected`'s order then extra
// ones. Keys, uniques, foreign keys and indexes are compared by what they constrain (columns,
// referenced table and columns, on_delete), not by name, since databases name them their own way.
std::vector<SchemaDifference> diff_schemas(const Schema& expected, const Schema& actual);

// The schema as schemas/schema.json writes it: name, version, description, tables, one column
// per line. Ends with a newline.
std::string schema_file_text(const Schema& schema);

}  // namespace dbtool
