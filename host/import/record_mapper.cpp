// See record_mapper.hpp.
#include "import/record_mapper.hpp"

#include "util/error.hpp"

#include <algorithm>
#include <cmath>
#include <limits>

namespace dbtool {
namespace json = boost::json;

const char* json_kind(const json::value& v) { return kind_name(v.kind()); }

ValueRef ValueRef::of(const RecordTape& t, size_t node) {
  const TapeNode& n = t.nodes[node];
  ValueRef v;
  v.kind = n.kind;
  v.b = n.b;
  v.i = n.i;
  v.u = n.u;
  v.d = n.d;
  if (n.kind == json::kind::string) v.str = t.str(n);
  v.tape = &t;
  v.node = node;
  return v;
}

ValueRef ValueRef::of(const json::value& j) {
  ValueRef v;
  v.kind = j.kind();
  if (j.is_bool()) v.b = j.get_bool();
  if (j.is_int64()) v.i = j.get_int64();
  if (j.is_uint64()) v.u = j.get_uint64();
  if (j.is_double()) v.d = j.get_double();
  if (j.is_string()) v.str = j.get_string();
  v.dom = &j;
  return v;
}

std::string ValueRef::serialize() const { return json::serialize(dom ? *dom : tape->to_value(node)); }

std::string FieldPath::str() const {
  if (nested.empty()) return std::string(field);
  std::string s = std::string(nested) + "[" + std::to_string(element) + "]";
  if (!field.empty()) s.append(".").append(field);
  return s;
}

namespace {

// Whether `fk` of `n.table` is one of the two links map_element() builds for the nested map `n`.
bool built_link(const PortableForeignKey& fk, const ImportMapping& m, const NestedMap& n) {
  if (fk.columns.size() != 1) return false;
  auto is = [&](const PortableTable& child, int column, const PortableTable& parent, int ref) {
    const PortableColumn& c = child.columns[static_cast<size_t>(column)];
    const PortableColumn& p = parent.columns[static_cast<size_t>(ref)];
    // The same type on both sides, so the database compares the very value that was copied.
    return fk.columns[0] == c.name && fk.ref_table == parent.name && fk.ref_columns[0] == p.name && c.type == p.type;
  };
  if (is(*n.table, n.parent_column, *m.table, n.parent_from)) return true;
  return n.lookup && is(*n.table, n.lookup->ref_column, *n.lookup->table, n.lookup->id_column);
}

}  // namespace

std::set<std::string> foreign_keys_built_by(const ImportMapping& m, const Schema& schema) {
  std::set<std::string> out;
  for (const auto& t : schema.tables) {
    // Rows that carry the export's own values: nothing about their keys is known.
    bool export_values = m.table->name == t.name;
    for (const auto& n : m.nested)
      if (n.lookup && n.lookup->table->name == t.name) export_values = true;
    if (export_values) continue;
    for (const auto& fk : t.foreign_keys) {
      bool fed = false, built = true;
      for (const auto& n : m.nested)
        if (n.table->name == t.name) {
          fed = true;
          built = built && built_link(fk, m, n);
        }
      if (fed && built) out.insert(fk.name);
    }
  }
  return out;
}

RecordMapper::RecordMapper(const Schema& schema, const ImportMapping& mapping, const ImportOptions& options,
                           ImportReport& report, FieldNames& names)
    : schema_(schema), m_(mapping), options_(options), report_(report), lookups_(schema.tables.size()) {
  for (const auto& t : schema.tables) {
    kinds_.emplace_back();
    for (const auto& c : t.columns) kinds_.back().push_back(c.kind());
  }
  own_table_ = table_index(m_.table);
  auto use = [&](const std::string& field) -> FieldUse& {
    size_t id = static_cast<size_t>(names.add(field));
    if (uses_.size() <= id) uses_.resize(id + 1);
    uses_[id].listed = true;
    return uses_[id];
  };
  for (const auto& f : m_.fields) use(f.field).columns.push_back(static_cast<size_t>(f.column_index));
  for (const auto& i : m_.ignore) use(i);
  for (const auto& w : m_.when_missing) when_missing_.push_back(names.add(w.field));
  for (const auto& n : m_.nested) {
    use(n.field);
    NestedUse u;
    u.table = table_index(n.table);
    u.field = names.add(n.field);
    for (const auto& f : n.fields) u.fields.push_back(names.add(f.field));
    if (n.lookup) {
      u.lookup_table = table_index(n.lookup->table);
      u.by = names.add(n.lookup->by);
      if (!n.lookup->id_field.empty()) u.id_field = names.add(n.lookup->id_field);
      for (const auto& f : n.lookup->fields) u.lookup_fields.push_back(names.add(f.field));
    }
    for (const auto& k : n.known) {
      size_t id = static_cast<size_t>(names.add(k));
      if (u.known.size() <= id) u.known.resize(id + 1);
      u.known[id] = true;
    }
    nested_.push_back(std::move(u));
  }
}

size_t RecordMapper::table_index(const PortableTable* t) const {
  for (size_t i = 0; i < schema_.tables.size(); ++i)
    if (&schema_.tables[i] == t) return i;
  throw Error("internal: table " + t->name + " is not in the schema");
}

std::string RecordMapper::describe(int64_t index, const std::string& key, const std::string& file) const {
  return "record " + std::to_string(index) + (key.empty() ? "" : " (" + m_.key_field + " " + key + ")") + " of " + file;
}

const MappedRecord& RecordMapper::map(const RecordTape& t) {
  tape_ = &t;
  out_.cells.clear();
  out_.rows.clear();
  owned_.clear();
  filled_.clear();
  new_keys_.clear();
  default_password_ = false;
  begin_row(own_table_);
  map_fields();
  fill_when_missing();
  fill_password();
  fill_id_and_defaults();
  for (size_t i = 0; i < m_.nested.size(); ++i) map_nested(m_.nested[i], nested_[i]);
  return out_;
}

void RecordMapper::commit(int64_t index, const std::string& key, const std::string& file) {
  if (m_.id_column >= 0) max_id_ = std::max(max_id_, cell(0, m_.id_column).i);
  if (default_password_) ++report_.default_password_users;
  for (const auto& f : filled_) ++report_.when_missing[std::string(f)];
  for (const auto& nk : new_keys_) {
    LookupState& state = lookups_[nk.table];
    state.by_key.emplace(nk.key, LookupEntry{nk.id, index, key, file, nk.assigned});
    state.by_id.emplace(nk.id, nk.key);
    state.max_id = std::max(state.max_id, nk.id);
  }
}

size_t RecordMapper::begin_row(size_t table) {
  size_t first = out_.cells.size();
  out_.cells.resize(first + schema_.tables[table].columns.size());
  out_.rows.push_back({table, first});
  return first;
}

// The record's own fields; a field the mapping does not know is counted, never loaded.
void RecordMapper::map_fields() {
  const RecordTape& t = *tape_;
  for (size_t f = 1; f < t.nodes[0].end; f = t.nodes[f].end) {
    const TapeNode& n = t.nodes[f];
    FieldUse* use =
        n.name >= 0 && static_cast<size_t>(n.name) < uses_.size() ? &uses_[static_cast<size_t>(n.name)] : nullptr;
    if (use == nullptr || !use->listed) {
      count_unknown_field(n, use);
      continue;
    }
    for (size_t c : use->columns) {
      // A null hash is a user without one, as a missing one: fill_password gives the default.
      if (n.kind == json::kind::null && static_cast<int>(c) == m_.password_column)
        cell(0, static_cast<int>(c)) = Cell::null();
      else
        cell(0, static_cast<int>(c)) = convert(f, own_table_, c, {{}, 0, t.key(n)});
    }
  }
}

// Counts a field of the record the mapping does not know, through its name's cached counter.
void RecordMapper::count_unknown_field(const TapeNode& n, FieldUse* use) {
  if (use != nullptr && use->unknown != nullptr) {
    ++*use->unknown;
    return;
  }
  int64_t* counter = count_unknown(tape_->key(n));
  if (n.name < 0 || counter == nullptr) return;
  if (uses_.size() <= static_cast<size_t>(n.name)) uses_.resize(static_cast<size_t>(n.name) + 1);
  uses_[static_cast<size_t>(n.name)].unknown = counter;
}

// An older export's missing field: the mapping's value, counted once the record maps.
void RecordMapper::fill_when_missing() {
  for (size_t i = 0; i < m_.when_missing.size(); ++i) {
    const MissingValue& w = m_.when_missing[i];
    Cell& c = cell(0, w.column_index);
    if (c.set() || tape_->member(0, when_missing_[i]) != 0) continue;
    c = convert(ValueRef::of(w.value), own_table_, static_cast<size_t>(w.column_index), {{}, 0, w.field});
    filled_.push_back(w.field);
  }
}

// A null or missing hash gets the operator's default, counted.
void RecordMapper::fill_password() {
  if (m_.password_column < 0) return;
  Cell& c = cell(0, m_.password_column);
  if (c.set() && c.kind != Cell::Kind::Null) return;
  if (!password_asked_) {
    password_asked_ = true;
    if (options_.default_password_hash) password_hash_ = options_.default_password_hash();
  }
  if (!password_hash_)
    throw RecordError{"has no password hash; set DBTOOL_DEFAULT_PASSWORD to give such users a default password"};
  c = Cell::string(*password_hash_);
  default_password_ = true;
}

// A record without an id gets the one after the highest so far; other columns their defaults.
void RecordMapper::fill_id_and_defaults() {
  const PortableTable& t = *m_.table;
  for (size_t i = 0; i < t.columns.size(); ++i) {
    Cell& c = cell(0, static_cast<int>(i));
    if (c.set()) continue;
    if (static_cast<int>(i) == m_.id_column) {
      // Never wraps: an export that used the last id leaves none for a record without one.
      if (max_id_ == std::numeric_limits<int64_t>::max())
        throw RecordError{"has no id, and none is left after " + std::to_string(max_id_) +
                          " (an earlier record used the largest one)"};
      c = Cell::integer(max_id_ + 1);  // taken by commit(), only if the record maps
      continue;
    }
    std::string_view field = t.columns[i].name;
    for (const auto& f : m_.fields)
      if (f.column_index == static_cast<int>(i)) field = f.field;
    c = default_cell(own_table_, i, {{}, 0, field});
  }
}

// A nested array (or null): one child row per element, and look-up rows for keys new so far.
void RecordMapper::map_nested(const NestedMap& n, const NestedUse& use) {
  const RecordTape& t = *tape_;
  size_t arr = t.member(0, use.field);
  if (arr == 0 || t.nodes[arr].kind == json::kind::null) return;
  if (t.nodes[arr].kind != json::kind::array)
    throw RecordError{"field '" + n.field + "': expected an array, got " + kind_name(t.nodes[arr].kind)};
  seen_.clear();
  size_t e = 0;
  for (size_t el = arr + 1; el < t.nodes[arr].end; el = t.nodes[el].end, ++e)
    map_element(el, n, use, FieldPath{n.field, e, {}});
}

void RecordMapper::map_element(size_t element, const NestedMap& n, const NestedUse& use, const FieldPath& where) {
  const RecordTape& t = *tape_;
  const TapeNode& eo = t.nodes[element];
  if (eo.kind != json::kind::object)
    throw RecordError{"field '" + where.str() + "': expected an object, got " + kind_name(eo.kind)};
  int64_t ref = 0;
  if (n.lookup) {
    const LookupMap& l = *n.lookup;
    size_t kv = t.member(element, use.by);
    if (kv == 0 || t.nodes[kv].kind != json::kind::string)
      throw RecordError{"field '" + where.at(l.by).str() + "': expected a string, got " +
                        (kv ? kind_name(t.nodes[kv].kind) : "nothing")};
    // The same key twice in one array: one row, counted.
    if (!seen_.insert(t.str(t.nodes[kv]))) {
      ++report_.duplicate_nested;
      return;
    }
    ref = resolve_lookup(element, kv, l, use, where);
  }
  size_t row = begin_row(use.table);
  cell(row, n.parent_column) = cell(0, n.parent_from);
  if (n.lookup) cell(row, n.lookup->ref_column) = Cell::integer(ref);
  for (size_t i = 0; i < n.fields.size(); ++i) {
    const FieldMap& f = n.fields[i];
    if (size_t fv = t.member(element, use.fields[i]))
      cell(row, f.column_index) = convert(fv, use.table, static_cast<size_t>(f.column_index), where.at(f.field));
  }
  for (size_t c = element + 1; c < eo.end; c = t.nodes[c].end) {
    const int name = t.nodes[c].name;
    if (name < 0 || static_cast<size_t>(name) >= use.known.size() || !use.known[static_cast<size_t>(name)])
      count_unknown(n.field + "." + std::string(t.key(t.nodes[c])));
  }
  fill_defaults(row, use.table, where);
}

// The id of look-up key `k`: known from an earlier record, met earlier in this one, given by
// the element, or the next free one. A new key gets its look-up row here.
int64_t RecordMapper::resolve_lookup(size_t element, size_t key, const LookupMap& l, const NestedUse& use,
                                     const FieldPath& where) {
  const RecordTape& t = *tape_;
  const size_t table = use.lookup_table;
  const std::string_view k = t.str(t.nodes[key]);
  LookupState& state = lookups_[table];
  std::optional<int64_t> given;
  if (!l.id_field.empty())
    if (size_t iv = t.member(element, use.id_field); iv && t.nodes[iv].kind != json::kind::null)
      given = convert(iv, table, static_cast<size_t>(l.id_column), where.at(l.id_field)).i;
  auto pending =
      std::find_if(new_keys_.begin(), new_keys_.end(), [&](const NewKey& p) { return p.table == table && p.key == k; });
  auto what = [&] { return l.table->name + "." + l.table->columns[static_cast<size_t>(l.key_column)].name; };
  auto found = state.by_key.find(std::string(k));
  if (found != state.by_key.end() || pending != new_keys_.end()) {
    const bool earlier = found != state.by_key.end();
    const int64_t id = earlier ? found->second.id : pending->id;
    if (given && *given != id)
      throw RecordError{"field '" + where.at(l.id_field).str() + "': " + what() + " \"" + std::string(k) +
                        "\" is given id " + std::to_string(*given) + " here, but " +
                        (earlier ? (found->second.assigned ? "was assigned id " : "id ") + std::to_string(id) + " by " +
                                       describe(found->second.record, found->second.record_key, found->second.file)
                                 : "id " + std::to_string(id) + " earlier in this record")};
    return id;
  }
  int64_t id;
  if (given) {
    auto other = state.by_id.find(*given);
    auto pending_id = std::find_if(new_keys_.begin(), new_keys_.end(),
                                   [&](const NewKey& p) { return p.table == table && p.id == *given; });
    if (other != state.by_id.end() || pending_id != new_keys_.end()) {
      std::string by;
      if (pending_id != new_keys_.end()) {
        by = "\"" + pending_id->key + "\" earlier in this record";
      } else {
        const LookupEntry& e = state.by_key.at(other->second);
        by = "\"" + other->second + "\" by " + describe(e.record, e.record_key, e.file) +
             (e.assigned ? " (which gave it no id, so it got the next free one: give every " + l.table->name +
                               " its id, or none)"
                         : "");
      }
      throw RecordError{"field '" + where.at(l.id_field).str() + "': id " + std::to_string(*given) + " of " +
                        l.table->name + " is given to " + what() + " \"" + std::string(k) + "\" here, but to " + by};
    }
    id = *given;
  } else {
    id = state.max_id + 1;
    for (const auto& p : new_keys_)
      if (p.table == table) id = std::max(id, p.id + 1);
  }
  new_keys_.push_back({table, std::string(k), id, !given});
  size_t row = begin_row(table);
  cell(row, l.id_column) = Cell::integer(id);
  cell(row, l.key_column) = convert(key, table, static_cast<size_t>(l.key_column), where.at(l.by));
  for (size_t i = 0; i < l.fields.size(); ++i) {
    const FieldMap& f = l.fields[i];
    if (size_t fv = t.member(element, use.lookup_fields[i]))
      cell(row, f.column_index) = convert(fv, table, static_cast<size_t>(f.column_index), where.at(f.field));
  }
  fill_defaults(row, table, where);
  return id;
}

void RecordMapper::fill_defaults(size_t row, size_t table, const FieldPath& where) {
  const PortableTable& t = schema_.tables[table];
  for (size_t i = 0; i < t.columns.size(); ++i) {
    Cell& c = cell(row, static_cast<int>(i));
    if (!c.set()) c = default_cell(table, i, where.at(t.columns[i].name));
  }
}

// A JSON number as a double, as boost::json::value::to_number<double>() gives it.
static double number_as_double(const ValueRef& v) {
  if (v.kind == json::kind::int64) return static_cast<double>(v.i);
  if (v.kind == json::kind::uint64) return static_cast<double>(v.u);
  return v.d;
}

Cell RecordMapper::convert(const ValueRef& v, size_t table, size_t column, const FieldPath& where) {
  using K = json::kind;
  const PortableColumn& c = schema_.tables[table].columns[column];
  auto fail = [&](const char* want) -> Cell {
    throw RecordError{"field '" + where.str() + "': expected " + want + ", got " + kind_name(v.kind)};
  };
  if (v.kind == K::null) {
    if (!c.nullable)
      throw RecordError{"field '" + where.str() + "' is null, but column " + c.name + " requires a value"};
    return Cell::null();
  }
  switch (kinds_[table][column]) {
    case PortableType::Int64:
      if (v.kind == K::int64) return Cell::integer(v.i);
      if (v.kind == K::uint64 && v.u <= static_cast<uint64_t>(std::numeric_limits<int64_t>::max()))
        return Cell::integer(static_cast<int64_t>(v.u));
      if (v.kind == K::uint64 || (v.kind == K::double_ && std::abs(v.d) >= 9.2e18))
        throw RecordError{"field '" + where.str() + "': " + v.serialize() + " is beyond the 64-bit integer range"};
      return fail("an integer");
    case PortableType::Float64:
      if (v.kind == K::int64 || v.kind == K::uint64 || v.kind == K::double_) return Cell::real(number_as_double(v));
      return fail("a number");
    case PortableType::Bool:
      if (v.kind == K::bool_) return Cell::boolean(v.b);
      return fail("true or false");
    case PortableType::Json:
      owned_.push_back(v.serialize());
      return Cell::string(owned_.back());
    case PortableType::Text:
    case PortableType::Timestamp:
    case PortableType::Date:
    case PortableType::DateTime:
    case PortableType::Blob: {
      if (v.kind != K::string) return fail("a string");
      std::string_view s = v.str;
      if (c.max_length && static_cast<int64_t>(sdk::utf8_length(s)) > *c.max_length)
        throw RecordError{"field '" + where.str() + "' is longer than " + std::to_string(*c.max_length) +
                          " characters (column " + c.name + ")"};
      return Cell::string(s);
    }
  }
  return Cell::null();
}

Cell RecordMapper::default_cell(size_t table, size_t column, const FieldPath& where) {
  const PortableColumn& c = schema_.tables[table].columns[column];
  if (!c.default_value.is_null()) return convert(ValueRef::of(c.default_value), table, column, where);
  if (!c.nullable)
    throw RecordError{"missing required field '" + where.str() + "' (column " + c.name + " has no default)"};
  return Cell::null();
}

// Most exports carry the same few unknown fields in every record: their counters are found
// through views of the report's own keys, without making a string per field.
int64_t* RecordMapper::count_unknown(std::string_view name) {
  if (auto found = unknown_.find(name); found != unknown_.end()) {
    ++*found->second;
    return found->second;
  }
  if (report_.unknown_fields.size() < kUnknownFieldsListed) {
    auto added = report_.unknown_fields.emplace(name, 1).first;
    unknown_.emplace(added->first, &added->second);
    return &added->second;
  }
  ++report_.unknown_fields_not_listed;
  return nullptr;
}

}  // namespace dbtool
