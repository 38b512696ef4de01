// One export record into rows, all-or-nothing. The mapper's steps (the record's own fields, an
// older export's missing fields, the default password, ids and defaults, then each nested array
// with its look-up rows) fill a MappedRecord; only when every step succeeded does `commit` make
// the record's ids and look-up keys visible to the records after it. The caller appends the
// rows to its batches.
//
// Text cells point into the record being mapped (or into the mapping and schema), not into
// copies: the record's tape lives until the caller has appended its rows, so each value is copied
// once, into its batch. Fields are found by the ids the tape gave their names (record_tape.hpp),
// resolved against the mapping once, when the mapper is made.
#pragma once

#include "import/export_import.hpp"
#include "import/import_mapping.hpp"
#include "import/record_tape.hpp"
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

// A value to convert: a node of the record's tape, or a value of the mapping or schema. Its
// text stays valid while the record is mapped.
struct ValueRef {
  boost::json::kind kind = boost::json::kind::null;
  bool b = false;
  int64_t i = 0;
  uint64_t u = 0;
  double d = 0;
  std::string_view str;
  const RecordTape* tape = nullptr;  // with `node`: where a tape value sits
  size_t node = 0;
  const boost::json::value* dom = nullptr;  // or the value itself

  static ValueRef of(const RecordTape& t, size_t node);
  static ValueRef of(const boost::json::value& v);
  std::string serialize() const;  // as boost::json::serialize the DOM's value
};

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
  // `schema`, `mapping` and `names` outlive the mapper; `report` gets its counters.

  // Gives the mapping's field names their ids in `names`, which the tapes the mapper is given
  // must be read with.
  RecordMapper(const Schema& schema, const ImportMapping& mapping, const ImportOptions& options, ImportReport& report,
               FieldNames& names);

  // Maps the record `t` (its node 0 an object) into rows. Throws RecordError; nothing the mapper
  // keeps changes then.
  const MappedRecord& map(const RecordTape& t);
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
  // What a top-level field of a record is for, by the id of its name.
  struct FieldUse {
    std::vector<size_t> columns;  // of the record's table
    bool listed = false;          // mapped, ignored or nested: never counted as unknown
    int64_t* unknown = nullptr;   // else its counter in report_.unknown_fields, once listed there
  };

  size_t begin_row(size_t table);
  Cell& cell(size_t row_first, int column) { return out_.cells[row_first + static_cast<size_t>(column)]; }
  void map_fields();
  void fill_when_missing();
  void fill_password();
  void fill_id_and_defaults();
  // What the mapper needs of a nested array, resolved once.
  // Names as ids: of the element's fields mapped into the child row and into the look-up row.
  struct NestedUse {
    size_t table = 0;
    size_t lookup_table = 0;
    int field = FieldNames::kNoName;
    int by = FieldNames::kNoName;
    int id_field = FieldNames::kNoName;
    std::vector<int> fields;         // as NestedMap::fields
    std::vector<int> lookup_fields;  // as LookupMap::fields
    std::vector<bool> known;         // by name id: the element's mapped fields
  };

  void map_nested(const NestedMap& n, const NestedUse& use);
  void map_element(size_t element, const NestedMap& n, const NestedUse& use, const FieldPath& where);
  int64_t resolve_lookup(size_t element, size_t key, const LookupMap& l, const NestedUse& use, const FieldPath& where);
  void fill_defaults(size_t row_first, size_t table, const FieldPath& where);
  // The value `v` for column `column` of table `table` (indexes into the schema).
  Cell convert(const ValueRef& v, size_t table, size_t column, const FieldPath& where);
  Cell convert(size_t node, size_t table, size_t column, const FieldPath& where) {
    return convert(ValueRef::of(*tape_, node), table, column, where);
  }
  Cell default_cell(size_t table, size_t column, const FieldPath& where);
  // Counts an occurrence of `name`; its counter, or null once the list is full.
  int64_t* count_unknown(std::string_view name);
  void count_unknown_field(const TapeNode& n, FieldUse* use);

  const Schema& schema_;
  const ImportMapping& m_;
  const ImportOptions& options_;
  ImportReport& report_;
  std::vector<std::vector<PortableType>> kinds_;  // of each column of each table, parsed once
  size_t own_table_ = 0;
  std::vector<FieldUse> uses_;                              // by name id; past its end: names the mapping does not know
  std::vector<int> when_missing_;                           // as m_.when_missing: the name ids
  std::vector<NestedUse> nested_;                           // as m_.nested
  const RecordTape* tape_ = nullptr;                        // the record being mapped
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
