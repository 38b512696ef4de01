// The import engine: records from the reader (record_reader.hpp), a mapper that turns each into
// rows all-or-nothing, batch builders per table, and a bounded queue to the caller's thread.
#include "import/export_import.hpp"

#include "import/record_reader.hpp"
#include "util/bounded_queue.hpp"
#include "util/error.hpp"

#include <algorithm>
#include <cmath>
#include <exception>
#include <fstream>
#include <limits>
#include <thread>
#include <unordered_map>
#include <unordered_set>
#include <variant>

namespace dbtool {
namespace json = boost::json;
namespace fs = std::filesystem;

json::object ImportReport::to_json() const {
  json::object o;
  o["records_read"] = records_read;
  o["records_loaded"] = records_loaded;
  o["records_rejected"] = records_rejected;
  o["records_skipped"] = records_skipped;
  o["default_password_users"] = default_password_users;
  o["duplicate_nested"] = duplicate_nested;
  json::object w;
  for (const auto& [f, n] : when_missing) w[f] = n;
  o["when_missing"] = std::move(w);
  json::object r;
  for (const auto& [t, n] : rows) r[t] = n;
  o["rows"] = std::move(r);
  json::object u;
  for (const auto& [f, n] : unknown_fields) u[f] = n;
  o["unknown_fields"] = std::move(u);
  if (unknown_fields_not_listed > 0) o["unknown_fields_not_listed"] = unknown_fields_not_listed;
  return o;
}

namespace {

// ---- mapping -------------------------------------------------------------------------------

struct Null {};
using Cell = std::variant<Null, int64_t, double, bool, std::string>;

// A record that could not be mapped; becomes a reject line or the run's error.
struct RecordError {
  std::string reason;
};

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

Cell convert(const json::value& v, const PortableColumn& c, const std::string& field) {
  auto fail = [&](const char* want) -> Cell {
    throw RecordError{"field '" + field + "': expected " + want + ", got " + json_kind(v)};
  };
  if (v.is_null()) {
    if (!c.nullable) throw RecordError{"field '" + field + "' is null, but column " + c.name + " requires a value"};
    return Null{};
  }
  switch (c.kind()) {
    case PortableType::Int64:
      if (v.is_int64()) return v.get_int64();
      if (v.is_uint64() && v.get_uint64() <= static_cast<uint64_t>(std::numeric_limits<int64_t>::max()))
        return static_cast<int64_t>(v.get_uint64());
      if (v.is_uint64() || (v.is_double() && std::abs(v.get_double()) >= 9.2e18))
        throw RecordError{"field '" + field + "': " + json::serialize(v) + " is beyond the 64-bit integer range"};
      return fail("an integer");
    case PortableType::Float64:
      if (v.is_number()) return v.to_number<double>();
      return fail("a number");
    case PortableType::Bool:
      if (v.is_bool()) return v.get_bool();
      return fail("true or false");
    case PortableType::Json:
      return json::serialize(v);
    case PortableType::Text:
    case PortableType::Timestamp:
    case PortableType::Date:
    case PortableType::DateTime:
    case PortableType::Blob: {
      if (!v.is_string()) return fail("a string");
      std::string s(v.get_string());
      if (c.max_length && static_cast<int64_t>(sdk::utf8_length(s)) > *c.max_length)
        throw RecordError{"field '" + field + "' is longer than " + std::to_string(*c.max_length) +
                          " characters (column " + c.name + ")"};
      return s;
    }
  }
  return Null{};
}

Cell default_cell(const PortableColumn& c, const std::string& field) {
  if (!c.default_value.is_null()) return convert(c.default_value, c, field);
  if (!c.nullable) throw RecordError{"missing required field '" + field + "' (column " + c.name + " has no default)"};
  return Null{};
}

// Rows per table accumulate here until a batch is full.
struct TableBatch {
  const PortableTable* table = nullptr;
  std::vector<sdk::ColumnSpec> columns;
  std::unique_ptr<sdk::BatchBuilder> builder;
  int64_t first_record = -1;
  int64_t last_record = -1;

  void append(const std::vector<Cell>& row, int64_t record) {
    for (size_t i = 0; i < row.size(); ++i) {
      const Cell& cell = row[i];
      if (std::holds_alternative<Null>(cell))
        builder->append_null(i);
      else if (auto* n = std::get_if<int64_t>(&cell))
        builder->append_int64(i, *n);
      else if (auto* d = std::get_if<double>(&cell))
        builder->append_double(i, *d);
      else if (auto* b = std::get_if<bool>(&cell))
        builder->append_bool(i, *b);
      else
        builder->append_bytes(i, std::get<std::string>(cell));
    }
    if (first_record < 0) first_record = record;
    last_record = record;
  }
};

// Blocks the parser when full, so memory stays bounded whatever the export's size.
using BatchQueue = BoundedQueue<ImportBatch>;

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

class Importer {
 public:
  Importer(const Schema& schema, const ImportMapping& mapping, const ImportOptions& options, BatchQueue& queue)
      : m_(mapping), options_(options), queue_(queue) {
    for (const auto& t : schema.tables) {
      TableBatch tb;
      tb.table = &t;
      tb.columns = t.arrow_columns();
      tb.builder = std::make_unique<sdk::BatchBuilder>(tb.columns);
      batches_.push_back(std::move(tb));
    }
  }

  ImportReport run(const std::vector<fs::path>& files) {
    // Keys of later files (the default data): the export's records with those keys win.
    if (!m_.key_field.empty())
      for (size_t f = 1; f < files.size(); ++f)
        read_records(files[f], [&](json::value& v, int64_t, const std::string&) {
          if (auto* o = v.if_object())
            if (auto* k = o->if_contains(m_.key_field); k && k->is_string())
              later_keys_.insert(std::string(k->get_string()));
        });
    for (size_t f = 0; f < files.size(); ++f) {
      file_ = files[f].string();
      later_file_ = f > 0;
      read_records(files[f],
                   [&](json::value& v, int64_t index, const std::string& repeated) { on_record(v, index, repeated); });
    }
    flush_all();
    for (const auto& tb : batches_) report_.rows[tb.table->name] += 0;
    return report_;
  }

 private:
  TableBatch& batch_of(const PortableTable* t) {
    for (auto& tb : batches_)
      if (tb.table == t) return tb;
    throw Error("internal: no batch for table " + t->name);
  }

  void on_record(json::value& v, int64_t index, const std::string& repeated_key) {
    ++report_.records_read;
    std::string key;
    try {
      if (!v.is_object()) throw RecordError{"the record is " + std::string(json_kind(v)) + ", not an object"};
      const json::object& o = v.get_object();
      if (!m_.key_field.empty())
        if (auto* k = o.if_contains(m_.key_field); k && k->is_string()) key = std::string(k->get_string());
      if (!repeated_key.empty())
        throw RecordError{"the key \"" + repeated_key +
                          "\" appears twice in one object, so which value is meant is ambiguous"};
      if (!key.empty() && later_keys_.count(key)) {
        if (later_file_ && !loaded_keys_.insert(key).second) {
          ++report_.records_skipped;
          return;
        }
        if (!later_file_) loaded_keys_.insert(key);
      }
      map_record(o, index, key);
      ++report_.records_loaded;
    } catch (const RecordError& e) {
      std::string where = describe(index, key, file_);
      if (options_.reject_sink == nullptr)
        throw Error::untouched(where + ": " + e.reason, ExitCode::kDataError,
                               " (use --reject-file to set such records aside)");
      json::object line{{"file", file_}, {"index", index}, {"reason", e.reason}, {"record", v}};
      *options_.reject_sink << json::serialize(line) << '\n';
      if (!*options_.reject_sink) throw Error("cannot write the reject file");
      ++report_.records_rejected;
    }
  }

  void count_unknown(const std::string& name) {
    auto found = report_.unknown_fields.find(name);
    if (found != report_.unknown_fields.end())
      ++found->second;
    else if (report_.unknown_fields.size() < kUnknownFieldsListed)
      report_.unknown_fields.emplace(name, 1);
    else
      ++report_.unknown_fields_not_listed;
  }

  // "record 3 (uid u0000002) of FILE", as errors name records.
  std::string describe(int64_t index, const std::string& key, const std::string& file) const {
    return "record " + std::to_string(index) + (key.empty() ? "" : " (" + m_.key_field + " " + key + ")") + " of " +
           file;
  }

  void map_record(const json::object& o, int64_t index, const std::string& key) {
    const PortableTable& t = *m_.table;
    std::vector<Cell> row(t.columns.size());
    std::vector<bool> set(t.columns.size(), false);
    for (const auto& kv : o) {
      std::string_view field = kv.key();
      bool handled = false;
      for (const auto& f : m_.fields)
        if (f.field == field) {
          row[static_cast<size_t>(f.column_index)] =
              convert(kv.value(), t.columns[static_cast<size_t>(f.column_index)], f.field);
          set[static_cast<size_t>(f.column_index)] = true;
          handled = true;
        }
      if (handled || m_.ignore.count(std::string(field))) continue;
      bool nested = false;
      for (const auto& n : m_.nested) nested = nested || n.field == field;
      if (!nested) count_unknown(std::string(field));
    }
    // An older export's missing field: the mapping's value, counted once the record maps.
    std::vector<std::string> filled;
    for (const auto& w : m_.when_missing) {
      size_t c = static_cast<size_t>(w.column_index);
      if (set[c] || o.contains(w.field)) continue;
      row[c] = convert(w.value, t.columns[c], w.field);
      set[c] = true;
      filled.push_back(w.field);
    }
    // The password: a null or missing hash gets the operator's default, counted.
    bool default_password = false;
    if (m_.password_column >= 0) {
      size_t pc = static_cast<size_t>(m_.password_column);
      if (!set[pc] || std::holds_alternative<Null>(row[pc])) {
        if (!password_asked_) {
          password_asked_ = true;
          if (options_.default_password_hash) password_hash_ = options_.default_password_hash();
        }
        if (!password_hash_)
          throw RecordError{"has no password hash; set DBTOOL_DEFAULT_PASSWORD to give such users a default password"};
        row[pc] = *password_hash_;
        set[pc] = true;
        default_password = true;
      }
    }
    int64_t assigned_id = 0;
    for (size_t i = 0; i < row.size(); ++i) {
      if (set[i]) continue;
      if (static_cast<int>(i) == m_.id_column) {
        // Never wraps: an export that used the last id leaves none for a record without one.
        if (max_id_ == std::numeric_limits<int64_t>::max())
          throw RecordError{"has no id, and none is left after " + std::to_string(max_id_) +
                            " (an earlier record used the largest one)"};
        assigned_id = max_id_ + 1;  // committed below, only if the record maps
        row[i] = assigned_id;
        continue;
      }
      std::string field = t.columns[i].name;
      for (const auto& f : m_.fields)
        if (f.column_index == static_cast<int>(i)) field = f.field;
      row[i] = default_cell(t.columns[i], field);
    }

    // Nested arrays: child rows and new look-up rows, kept aside until the record is whole.
    struct Child {
      TableBatch* batch;
      std::vector<Cell> row;
    };
    std::vector<Child> children;
    struct NewKey {
      LookupState* state;
      std::string key;
      int64_t id;
      bool assigned;
    };
    std::vector<NewKey> new_keys;
    std::vector<Child> new_lookups;
    for (const auto& n : m_.nested) {
      const json::value* arr = o.if_contains(n.field);
      if (arr == nullptr || arr->is_null()) continue;
      if (!arr->is_array()) throw RecordError{"field '" + n.field + "': expected an array, got " + json_kind(*arr)};
      std::unordered_set<std::string> seen;
      for (size_t e = 0; e < arr->get_array().size(); ++e) {
        const json::value& ev = arr->get_array()[e];
        std::string where = n.field + "[" + std::to_string(e) + "]";
        if (!ev.is_object()) throw RecordError{"field '" + where + "': expected an object, got " + json_kind(ev)};
        const json::object& eo = ev.get_object();
        std::vector<Cell> crow(n.table->columns.size());
        std::vector<bool> cset(crow.size(), false);
        crow[static_cast<size_t>(n.parent_column)] = row[static_cast<size_t>(n.parent_from)];
        cset[static_cast<size_t>(n.parent_column)] = true;
        if (n.lookup) {
          const LookupMap& l = *n.lookup;
          const json::value* kv = eo.if_contains(l.by);
          if (kv == nullptr || !kv->is_string())
            throw RecordError{"field '" + where + "." + l.by + "': expected a string, got " +
                              (kv ? json_kind(*kv) : "nothing")};
          std::string k(kv->get_string());
          if (!seen.insert(k).second) {
            ++report_.duplicate_nested;
            continue;
          }
          LookupState& state = lookups_[l.table];
          std::optional<int64_t> given;
          if (!l.id_field.empty())
            if (const json::value* iv = eo.if_contains(l.id_field); iv && !iv->is_null())
              given = std::get<int64_t>(
                  convert(*iv, l.table->columns[static_cast<size_t>(l.id_column)], where + "." + l.id_field));
          auto pending = std::find_if(new_keys.begin(), new_keys.end(),
                                      [&](const NewKey& p) { return p.state == &state && p.key == k; });
          const std::string what = l.table->name + "." + l.table->columns[static_cast<size_t>(l.key_column)].name;
          int64_t id;
          if (auto found = state.by_key.find(k); found != state.by_key.end() || pending != new_keys.end()) {
            const bool earlier = found != state.by_key.end();
            id = earlier ? found->second.id : pending->id;
            if (given && *given != id)
              throw RecordError{
                  "field '" + where + "." + l.id_field + "': " + what + " \"" + k + "\" is given id " +
                  std::to_string(*given) + " here, but " +
                  (earlier ? (found->second.assigned ? "was assigned id " : "id ") + std::to_string(id) + " by " +
                                 describe(found->second.record, found->second.record_key, found->second.file)
                           : "id " + std::to_string(id) + " earlier in this record")};
          } else {
            if (given) {
              auto other = state.by_id.find(*given);
              auto pending_id = std::find_if(new_keys.begin(), new_keys.end(),
                                             [&](const NewKey& p) { return p.state == &state && p.id == *given; });
              if (other != state.by_id.end() || pending_id != new_keys.end()) {
                std::string by;
                if (pending_id != new_keys.end()) {
                  by = "\"" + pending_id->key + "\" earlier in this record";
                } else {
                  const LookupEntry& e = state.by_key.at(other->second);
                  by = "\"" + other->second + "\" by " + describe(e.record, e.record_key, e.file) +
                       (e.assigned ? " (which gave it no id, so it got the next free one: give every " + l.table->name +
                                         " its id, or none)"
                                   : "");
                }
                throw RecordError{"field '" + where + "." + l.id_field + "': id " + std::to_string(*given) + " of " +
                                  l.table->name + " is given to " + what + " \"" + k + "\" here, but to " + by};
              }
              id = *given;
            } else {
              id = state.max_id + 1;
              for (const auto& p : new_keys)
                if (p.state == &state) id = std::max(id, p.id + 1);
            }
            new_keys.push_back({&state, k, id, !given});
            std::vector<Cell> lrow(l.table->columns.size());
            std::vector<bool> lset(lrow.size(), false);
            lrow[static_cast<size_t>(l.id_column)] = id;
            lset[static_cast<size_t>(l.id_column)] = true;
            lrow[static_cast<size_t>(l.key_column)] =
                convert(*kv, l.table->columns[static_cast<size_t>(l.key_column)], where + "." + l.by);
            lset[static_cast<size_t>(l.key_column)] = true;
            for (const auto& f : l.fields)
              if (auto* fv = eo.if_contains(f.field)) {
                lrow[static_cast<size_t>(f.column_index)] =
                    convert(*fv, l.table->columns[static_cast<size_t>(f.column_index)], where + "." + f.field);
                lset[static_cast<size_t>(f.column_index)] = true;
              }
            for (size_t i = 0; i < lrow.size(); ++i)
              if (!lset[i]) lrow[i] = default_cell(l.table->columns[i], where + "." + l.table->columns[i].name);
            new_lookups.push_back({&batch_of(l.table), std::move(lrow)});
          }
          crow[static_cast<size_t>(l.ref_column)] = id;
          cset[static_cast<size_t>(l.ref_column)] = true;
        }
        for (const auto& f : n.fields)
          if (auto* fv = eo.if_contains(f.field)) {
            crow[static_cast<size_t>(f.column_index)] =
                convert(*fv, n.table->columns[static_cast<size_t>(f.column_index)], where + "." + f.field);
            cset[static_cast<size_t>(f.column_index)] = true;
          }
        for (const auto& kv2 : eo)
          if (!n.known.count(std::string(kv2.key()))) count_unknown(n.field + "." + std::string(kv2.key()));
        for (size_t i = 0; i < crow.size(); ++i)
          if (!cset[i]) crow[i] = default_cell(n.table->columns[i], where + "." + n.table->columns[i].name);
        children.push_back({&batch_of(n.table), std::move(crow)});
      }
    }

    // The record maps: commit it whole.
    if (m_.id_column >= 0) {
      int64_t id = std::get<int64_t>(row[static_cast<size_t>(m_.id_column)]);
      max_id_ = std::max(max_id_, id);
    }
    (void)assigned_id;
    if (default_password) ++report_.default_password_users;
    for (const auto& f : filled) ++report_.when_missing[f];
    for (const auto& nk : new_keys) {
      nk.state->by_key.emplace(nk.key, LookupEntry{nk.id, index, key, file_, nk.assigned});
      nk.state->by_id.emplace(nk.id, nk.key);
      nk.state->max_id = std::max(nk.state->max_id, nk.id);
    }
    TableBatch& own = batch_of(m_.table);
    own.append(row, index);
    ++report_.rows[m_.table->name];
    for (auto& c : new_lookups) {
      c.batch->append(c.row, index);
      ++report_.rows[c.batch->table->name];
    }
    for (auto& c : children) {
      c.batch->append(c.row, index);
      ++report_.rows[c.batch->table->name];
    }
    for (const auto& tb : batches_)
      if (static_cast<size_t>(tb.builder->rows()) >= options_.batch_rows) {
        flush_all();
        break;
      }
  }

  // Flushes every non-empty table in schema order, so parents precede their children.
  void flush_all() {
    for (auto& tb : batches_) {
      if (tb.builder->rows() == 0) continue;
      ImportBatch b;
      b.table = tb.table->name;
      b.columns = tb.columns;
      tb.builder->finish(&b.array.a);
      b.first_record = tb.first_record;
      b.last_record = tb.last_record;
      b.file = file_;
      tb.first_record = tb.last_record = -1;
      if (!queue_.push(std::move(b))) throw Error("import stopped");
    }
  }

  const ImportMapping& m_;
  const ImportOptions& options_;
  BatchQueue& queue_;
  std::vector<TableBatch> batches_;
  ImportReport report_;
  std::string file_;
  bool later_file_ = false;
  int64_t max_id_ = 0;
  bool password_asked_ = false;
  std::optional<std::string> password_hash_;
  std::map<const PortableTable*, LookupState> lookups_;
  std::unordered_set<std::string> later_keys_;
  std::unordered_set<std::string> loaded_keys_;
};

}  // namespace

ImportReport import_files(const std::vector<fs::path>& files, const Schema& schema, const ImportMapping& mapping,
                          const ImportOptions& options, const std::function<void(ImportBatch&&)>& sink) {
  BatchQueue queue(std::max<size_t>(1, options.queue_batches));
  ImportReport report;
  std::exception_ptr worker_error;
  std::thread worker([&] {
    try {
      Importer importer(schema, mapping, options, queue);
      report = importer.run(files);
    } catch (...) {
      worker_error = std::current_exception();
    }
    queue.close();
  });
  std::exception_ptr sink_error;
  while (auto batch = queue.pop()) {
    try {
      sink(std::move(*batch));
    } catch (...) {
      sink_error = std::current_exception();
      queue.abandon();
      break;
    }
  }
  worker.join();
  if (sink_error) std::rethrow_exception(sink_error);
  if (worker_error) std::rethrow_exception(worker_error);
  return report;
}

}  // namespace dbtool
