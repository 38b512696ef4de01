// One export record into rows, all-or-nothing. The mapper's steps (the record's own fields, an
// older export's missing fields, the default password, ids and defaults, then each nested array
// with its look-up rows) fill a MappedRecord; only when every step succeeded does `commit` make
// the record's ids and look-up keys visible to the records after it. The caller appends the
// rows to its batches.
//
// Text cells point into the record being mapped (or into the mapping and schema), not into
// copies: the record's DOM lives until the caller has appended its rows, so each value is copied
// once, into its batch.
#pragma once

#include "import/export_import.hpp"
#include "import/import_mapping.hpp"
#include "util/key_set.hpp"

#include <boost/json.hpp>

#include <cstdint>
#include <deque>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <vector>

namespace dbtool {

// A record that could not be mapped; becomes a reject line or the run's error.
struct RecordError {
  std::string reason;
};

// "a string", "an object", …: what a JSON value is, for messages.
const char* json_kind(const boost::json::value& v);

// Where in a record a value sits, for messages: "email", "sections[2]", "sections[2].year".
// Built into text only when a message needs it.
struct FieldPath {
  std::string_view nested;  // the nested array's field, or "" for the record's own fields
  size_t element = 0;
  std::string_view field;  // "" for the element itself
  FieldPath at(std::string_view f) const {
    FieldPath p = *this;
    p.field = f;
    return p;
  }
  std::string str() const;
};

struct Cell {
  enum class Kind : uint8_t { Unset, Null, Int, Real, Bool, Text };
  Kind kind = Kind::Unset;
  bool b = false;
  int64_t i = 0;
  double d = 0;
  std::string_view text;

  static Cell null() { return of(Kind::Null); }
  static Cell integer(int64_t v) {
    Cell c = of(Kind::Int);
    c.i = v;
    return c;
  }
  static Cell real(double v) {
    Cell c = of(Kind::Real);
    c.d = v;
    return c;
  }
  static Cell boolean(bool v) {
    Cell c = of(Kind::Bool);
    c.b = v;
    return c;
  }
  static Cell string(std::string_view v) {
    Cell c = of(Kind::Text);
    c.text = v;
    return c;
  }
  static Cell of(Kind k) {
    Cell c;
    c.kind = k;
    return c;
  }
  bool set() const { return kind != Kind::Unset; }
};

// A row waiting for its record to map whole: the cells [first, first + columns) of
// MappedRecord::cells.
struct PendingRow {
  size_t table = 0;  // index into the schema's tables
  size_t first = 0;
};

struct MappedRecord {
  std::vector<Cell> cells;
  std::vector<PendingRow> rows;  // the record's own row first, then look-up rows, then children
  const Cell* row_cells(const PendingRow& r) const { return cells.data() + r.first; }
};

// The names of the foreign keys that every row the mapper emits satisfies by construction, so
// the host may tell the backend not to check them again (CONTRACT.md, "guaranteed_by_host"). A
// nested row's parent column copies the value of the record's own row, emitted with it; its
// look-up column holds the id of a look-up row emitted with it or by an earlier record that
// was loaded (map() is all-or-nothing and commit() publishes keys only of records whose rows are
// appended). A key qualifies when it is exactly such a link, between columns of one type, and
// every producer of its table's rows is a nested map with that link: a key on the record's own
// table or on a look-up table carries the export's values and is never vouched for.
std::set<std::string> foreign_keys_built_by(const ImportMapping& mapping, const Schema& schema);

class RecordMapper {
 public:
  // `schema` and `mapping` outlive the mapper; `report` gets its counters.
  RecordMapper(const Schema& schema, const ImportMapping& mapping, const ImportOptions& options, ImportReport& report);

  // Maps `o` into rows. Throws RecordError; nothing the mapper keeps changes then.
  const MappedRecord& map(const boost::json::object& o);
  // The record mapped is loaded: its ids, new look-up keys and counters count from now on.
  // `index`, `key` and `file` name it in later conflicts.
  void commit(int64_t index, const std::string& key, const std::string& file);

  // "record 3 (uid u0000002) of FILE", as errors name records.
  std::string describe(int64_t index, const std::string& key, const std::string& file) const;
  size_t table_index(const PortableTable* t) const;

 private:
  // Who first gave a look-up row its key and id, so that a conflicting record can name it.
  struct LookupEntry {
    int64_t id = 0;
    int64_t record = 0;
    std::string record_key;
    std::string file;
    bool assigned = false;  // the id was not in the export but given after the highest seen
  };
  // The rows of one look-up table so far, by natural key and by id.
  struct LookupState {
    std::unordered_map<std::string, LookupEntry> by_key;
    std::unordered_map<int64_t, std::string> by_id;
    int64_t max_id = 0;
  };
  // A look-up key first met in the record being mapped.
  struct NewKey {
    size_t table;
    std::string key;
    int64_t id;
    bool assigned;
  };
  // What a top-level field of a record is for.
  struct FieldUse {
    std::vector<size_t> columns;  // of the record's table
    bool known = false;           // ignored or nested: never counted as unknown
  };

  size_t begin_row(size_t table);
  Cell& cell(size_t row_first, int column) { return out_.cells[row_first + static_cast<size_t>(column)]; }
  void map_fields(const boost::json::object& o);
  void fill_when_missing(const boost::json::object& o);
  void fill_password();
  void fill_id_and_defaults();
  // What the mapper needs of a nested array, resolved once.
  struct NestedUse {
    size_t table = 0;
    size_t lookup_table = 0;
    std::unordered_set<std::string_view> known;  // the element's mapped fields; views into the mapping
  };

  void map_nested(const boost::json::object& o, const NestedMap& n, const NestedUse& use);
  void map_element(const boost::json::value& ev, const NestedMap& n, const NestedUse& use, const FieldPath& where);
  int64_t resolve_lookup(const boost::json::object& element, const boost::json::value& key, const LookupMap& l,
                         size_t table, const FieldPath& where);
  void fill_defaults(size_t row_first, size_t table, const FieldPath& where);
  // The value `v` for column `column` of table `table` (indexes into the schema).
  Cell convert(const boost::json::value& v, size_t table, size_t column, const FieldPath& where);
  Cell default_cell(size_t table, size_t column, const FieldPath& where);
  void count_unknown(std::string_view name);

  const Schema& schema_;
  const ImportMapping& m_;
  const ImportOptions& options_;
  ImportReport& report_;
  std::vector<std::vector<PortableType>> kinds_;  // of each column of each table, parsed once
  size_t own_table_ = 0;
  std::unordered_map<std::string_view, FieldUse> uses_;     // keys point into the mapping
  std::vector<NestedUse> nested_;                           // as m_.nested
  std::unordered_map<std::string_view, int64_t*> unknown_;  // into report_.unknown_fields
  std::vector<std::string_view> filled_;                    // when_missing fields given to this record
  bool default_password_ = false;
  std::vector<NewKey> new_keys_;
  KeySet seen_;                    // look-up keys met in the nested array being mapped
  std::deque<std::string> owned_;  // text made while mapping (JSON columns): stable addresses
  MappedRecord out_;

  int64_t max_id_ = 0;
  bool password_asked_ = false;
  std::optional<std::string> password_hash_;
  std::vector<LookupState> lookups_;  // by table index
};

}  // namespace dbtool
