// See record_mapper.hpp.
#include "import/record_mapper.hpp"

#include "util/error.hpp"

#include <algorithm>
#include <cmath>
#include <limits>

namespace dbtool {
namespace json = boost::json;

const char* json_kind(const json::value& v) {
  switch (v.kind()) {
    case json::kind::null:
      return "null";
    case json::kind::bool_:
      return "a boolean";
    case json::kind::int64:
    case json::kind::uint64:
    case json::kind::double_:
      return "a number";
    case json::kind::string:
      return "a string";
    case json::kind::array:
      return "an array";
    case json::kind::object:
      return "an object";
  }
  return "a value";
}

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
                           ImportReport& report)
    : schema_(schema), m_(mapping), options_(options), report_(report), lookups_(schema.tables.size()) {
  for (const auto& t : schema.tables) {
    kinds_.emplace_back();
    for (const auto& c : t.columns) kinds_.back().push_back(c.kind());
  }
  own_table_ = table_index(m_.table);
  for (const auto& f : m_.fields) uses_[f.field].columns.push_back(static_cast<size_t>(f.column_index));
  for (const auto& i : m_.ignore) uses_[i].known = true;
  for (const auto& n : m_.nested) {
    uses_[n.field].known = true;
    NestedUse u;
    u.table = table_index(n.table);
    if (n.lookup) u.lookup_table = table_index(n.lookup->table);
    for (const auto& k : n.known) u.known.insert(k);
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

const MappedRecord& RecordMapper::map(const json::object& o) {
  out_.cells.clear();
  out_.rows.clear();
  owned_.clear();
  filled_.clear();
  new_keys_.clear();
  default_password_ = false;
  begin_row(own_table_);
  map_fields(o);
  fill_when_missing(o);
  fill_password();
  fill_id_and_defaults();
  for (size_t i = 0; i < m_.nested.size(); ++i) map_nested(o, m_.nested[i], nested_[i]);
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
void RecordMapper::map_fields(const json::object& o) {
  for (const auto& kv : o) {
    auto use = uses_.find(kv.key());
    if (use == uses_.end()) {
      count_unknown(kv.key());
      continue;
    }
    for (size_t c : use->second.columns) {
      // A null hash is a user without one, as a missing one: fill_password gives the default.
      if (kv.value().is_null() && static_cast<int>(c) == m_.password_column)
        cell(0, static_cast<int>(c)) = Cell::null();
      else
        cell(0, static_cast<int>(c)) = convert(kv.value(), own_table_, c, {{}, 0, kv.key()});
    }
  }
}

// An older export's missing field: the mapping's value, counted once the record maps.
void RecordMapper::fill_when_missing(const json::object& o) {
  for (const auto& w : m_.when_missing) {
    Cell& c = cell(0, w.column_index);
    if (c.set() || o.contains(w.field)) continue;
    c = convert(w.value, own_table_, static_cast<size_t>(w.column_index), {{}, 0, w.field});
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
void RecordMapper::map_nested(const json::object& o, const NestedMap& n, const NestedUse& use) {
  const json::value* arr = o.if_contains(n.field);
  if (arr == nullptr || arr->is_null()) return;
  if (!arr->is_array()) throw RecordError{"field '" + n.field + "': expected an array, got " + json_kind(*arr)};
  seen_.clear();
  const json::array& elements = arr->get_array();
  for (size_t e = 0; e < elements.size(); ++e) map_element(elements[e], n, use, FieldPath{n.field, e, {}});
}

void RecordMapper::map_element(const json::value& ev, const NestedMap& n, const NestedUse& use,
                               const FieldPath& where) {
  if (!ev.is_object()) throw RecordError{"field '" + where.str() + "': expected an object, got " + json_kind(ev)};
  const json::object& eo = ev.get_object();
  int64_t ref = 0;
  if (n.lookup) {
    const LookupMap& l = *n.lookup;
    const json::value* kv = eo.if_contains(l.by);
    if (kv == nullptr || !kv->is_string())
      throw RecordError{"field '" + where.at(l.by).str() + "': expected a string, got " +
                        (kv ? json_kind(*kv) : "nothing")};
    std::string_view k = kv->get_string();
    // The same key twice in one array: one row, counted.
    if (!seen_.insert(k)) {
      ++report_.duplicate_nested;
      return;
    }
    ref = resolve_lookup(eo, *kv, l, use.lookup_table, where);
  }
  size_t row = begin_row(use.table);
  cell(row, n.parent_column) = cell(0, n.parent_from);
  if (n.lookup) cell(row, n.lookup->ref_column) = Cell::integer(ref);
  for (const auto& f : n.fields)
    if (const json::value* fv = eo.if_contains(f.field))
      cell(row, f.column_index) = convert(*fv, use.table, static_cast<size_t>(f.column_index), where.at(f.field));
  for (const auto& kv : eo)
    if (!use.known.count(kv.key())) count_unknown(n.field + "." + std::string(kv.key()));
  fill_defaults(row, use.table, where);
}

// The id of look-up key `k`: known from an earlier record, met earlier in this one, given by
// the element, or the next free one. A new key gets its look-up row here.
int64_t RecordMapper::resolve_lookup(const json::object& eo, const json::value& key, const LookupMap& l, size_t table,
                                     const FieldPath& where) {
  const std::string_view k = key.get_string();
  LookupState& state = lookups_[table];
  std::optional<int64_t> given;
  if (!l.id_field.empty())
    if (const json::value* iv = eo.if_contains(l.id_field); iv && !iv->is_null())
      given = convert(*iv, table, static_cast<size_t>(l.id_column), where.at(l.id_field)).i;
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
  for (const auto& f : l.fields)
    if (const json::value* fv = eo.if_contains(f.field))
      cell(row, f.column_index) = convert(*fv, table, static_cast<size_t>(f.column_index), where.at(f.field));
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

Cell RecordMapper::convert(const json::value& v, size_t table, size_t column, const FieldPath& where) {
  const PortableColumn& c = schema_.tables[table].columns[column];
  auto fail = [&](const char* want) -> Cell {
    throw RecordError{"field '" + where.str() + "': expected " + want + ", got " + json_kind(v)};
  };
  if (v.is_null()) {
    if (!c.nullable)
      throw RecordError{"field '" + where.str() + "' is null, but column " + c.name + " requires a value"};
    return Cell::null();
  }
  switch (kinds_[table][column]) {
    case PortableType::Int64:
      if (v.is_int64()) return Cell::integer(v.get_int64());
      if (v.is_uint64() && v.get_uint64() <= static_cast<uint64_t>(std::numeric_limits<int64_t>::max()))
        return Cell::integer(static_cast<int64_t>(v.get_uint64()));
      if (v.is_uint64() || (v.is_double() && std::abs(v.get_double()) >= 9.2e18))
        throw RecordError{"field '" + where.str() + "': " + json::serialize(v) + " is beyond the 64-bit integer range"};
      return fail("an integer");
    case PortableType::Float64:
      if (v.is_number()) return Cell::real(v.to_number<double>());
      return fail("a number");
    case PortableType::Bool:
      if (v.is_bool()) return Cell::boolean(v.get_bool());
      return fail("true or false");
    case PortableType::Json:
      owned_.push_back(json::serialize(v));
      return Cell::string(owned_.back());
    case PortableType::Text:
    case PortableType::Timestamp:
    case PortableType::Date:
    case PortableType::DateTime:
    case PortableType::Blob: {
      if (!v.is_string()) return fail("a string");
      std::string_view s = v.get_string();
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
  if (!c.default_value.is_null()) return convert(c.default_value, table, column, where);
  if (!c.nullable)
    throw RecordError{"missing required field '" + where.str() + "' (column " + c.name + " has no default)"};
  return Cell::null();
}

// Most exports carry the same few unknown fields in every record: their counters are found
// through views of the report's own keys, without making a string per field.
void RecordMapper::count_unknown(std::string_view name) {
  if (auto found = unknown_.find(name); found != unknown_.end()) {
    ++*found->second;
  } else if (report_.unknown_fields.size() < kUnknownFieldsListed) {
    auto added = report_.unknown_fields.emplace(name, 1).first;
    unknown_.emplace(added->first, &added->second);
  } else {
    ++report_.unknown_fields_not_listed;
  }
}

}  // namespace dbtool
