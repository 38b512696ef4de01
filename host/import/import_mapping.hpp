// The declarative import mapping (schemas/import-mapping.json): how one legacy export record
// becomes rows of the schema's tables. Nothing about users or sections is hard-coded in C++.
//
// Format:
//   {
//     "table": "users",                 // each element of the export array is one row here
//     "key": "uid",                     // the record's natural key: a later file's record with a
//                                       // key already loaded is skipped ("the export wins")
//     "fields": {"uid": "_uid", ...},   // export field -> column; json columns get JSON text
//     "ignore": ["access"],             // fields known not to be data: dropped without a count
//     "password_column": "_password",   // missing/null here -> the caller's default password hash
//     "when_missing": {"email": "?"},   // the value of a mapped field the record lacks (counted)
//     "nested": [{
//       "field": "sections",            // an array (or null) of objects inside the record
//       "table": "user_sections",       // one row per element
//       "parent": {"column": "user_id", "from": "id"},   // the record's field (already mapped)
//       "lookup": {                     // a look-up table deduplicated by a natural key
//         "table": "sections", "by": "abbreviation", "key_column": "_abbreviation",
//         "id_column": "id", "fields": {"name": "_name"},  // taken from the first occurrence
//         "id_field": "id",             // the element's id for the look-up row, kept when given;
//                                       // one key with two ids (or one id with two keys) is an error
//                                       // (an element without one gets the id after the highest so far)
//         "column": "section_id"        // the child's column that refers to the look-up row
//       },
//       "fields": {"year": "year"}
//     }]
//   }
//
// Records without the table's auto-increment primary key get ids after the highest seen.
#pragma once

#include "schema/schema.hpp"

#include <boost/json.hpp>

#include <filesystem>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

namespace dbtool {

struct FieldMap {
  std::string field;
  std::string column;
  int column_index = -1;  // in the target table
};

struct LookupMap {
  const PortableTable* table = nullptr;
  std::string by;                // the nested element's natural-key field
  int key_column = -1;           // in the look-up table
  int id_column = -1;            // in the look-up table
  std::vector<FieldMap> fields;  // into the look-up table
  int ref_column = -1;           // in the child table
  std::string id_field;          // the nested element's field carrying id_column's value, or ""
};

struct NestedMap {
  std::string field;
  const PortableTable* table = nullptr;
  int parent_column = -1;  // in the child table
  int parent_from = -1;    // column of the record table whose value it takes
  std::optional<LookupMap> lookup;
  std::vector<FieldMap> fields;
  std::set<std::string> known;  // fields of the element that are mapped
};

// A value for a mapped field that a record does not have (an older export's shape).
struct MissingValue {
  std::string field;
  int column_index = -1;  // in the record table
  boost::json::value value;
};

struct ImportMapping {
  std::string origin;
  const PortableTable* table = nullptr;
  std::string key_field;
  std::vector<FieldMap> fields;
  std::set<std::string> ignore;
  std::vector<MissingValue> when_missing;
  int password_column = -1;
  int id_column = -1;  // the auto-increment single-column primary key, or -1
  std::vector<NestedMap> nested;
};

// Parses and checks the mapping against `schema` (which must outlive it). Throws
// dbtool::Error(kUsage) naming the file and the field.
ImportMapping load_mapping(const std::filesystem::path& file, const Schema& schema);
ImportMapping parse_mapping(std::string_view text, const std::string& origin, const Schema& schema);

}  // namespace dbtool
