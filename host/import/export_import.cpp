// The import engine: records from the reader (record_reader.hpp), the mapper that turns each into
// rows all-or-nothing (record_mapper.hpp), batch builders per table, and a bounded queue to the
// caller's thread.
#include "import/export_import.hpp"

#include "import/record_mapper.hpp"
#include "import/record_reader.hpp"
#include "import/record_tape.hpp"
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

// Rows per table accumulate here until a batch is full.
struct TableBatch {
  const PortableTable* table = nullptr;
  std::vector<sdk::ColumnSpec> columns;
  std::unique_ptr<sdk::BatchBuilder> builder;
  int64_t first_record = -1;
  int64_t last_record = -1;
  int64_t rows = 0;  // over the whole run

  void append(const Cell* row, int64_t record) {
    for (size_t i = 0; i < columns.size(); ++i) {
      const Cell& cell = row[i];
      switch (cell.kind) {
        case Cell::Kind::Unset:  // the mapper fills every cell: a bug, never a NULL loaded silently
          throw Error("internal: column " + columns[i].name + " of " + table->name + " was left unset");
        case Cell::Kind::Null:
          builder->append_null(i);
          break;
        case Cell::Kind::Int:
          builder->append_int64(i, cell.i);
          break;
        case Cell::Kind::Real:
          builder->append_double(i, cell.d);
          break;
        case Cell::Kind::Bool:
          builder->append_bool(i, cell.b);
          break;
        case Cell::Kind::Text:
          builder->append_bytes(i, cell.text);
          break;
      }
    }
    if (first_record < 0) first_record = record;
    last_record = record;
    ++rows;
  }
};

// Blocks the parser when full, so memory stays bounded whatever the export's size.
using BatchQueue = BoundedQueue<ImportBatch>;

// Reads the files record by record, maps each (record_mapper.hpp), and hands full batches to
// the queue. A record that does not map becomes a reject line, or stops the run.
class Importer {
 public:
  Importer(const Schema& schema, const ImportMapping& mapping, const ImportOptions& options, BatchQueue& queue)
      : m_(mapping), options_(options), queue_(queue), mapper_(schema, mapping, options, report_, names_) {
    if (!m_.key_field.empty()) key_name_ = names_.add(m_.key_field);
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
      read_record_tapes(files[f], names_, [&](const RecordTape& t, int64_t index) { on_record(t, index); });
    }
    flush_all();
    for (const auto& tb : batches_) report_.rows[tb.table->name] += tb.rows;
    return std::move(report_);
  }

 private:
  void on_record(const RecordTape& t, int64_t index) {
    ++report_.records_read;
    key_.clear();
    try {
      const json::kind kind = t.nodes[0].kind;
      if (kind != json::kind::object)
        throw RecordError{"the record is " + std::string(kind_name(kind)) + ", not an object"};
      if (!m_.key_field.empty())
        if (size_t k = t.member(0, key_name_); k && t.nodes[k].kind == json::kind::string)
          key_.assign(t.str(t.nodes[k]));
      if (!t.repeated_key.empty())
        throw RecordError{"the key \"" + t.repeated_key +
                          "\" appears twice in one object, so which value is meant is ambiguous"};
      if (!key_.empty() && later_keys_.count(key_)) {
        if (later_file_ && !loaded_keys_.insert(key_).second) {
          ++report_.records_skipped;
          return;
        }
        if (!later_file_) loaded_keys_.insert(key_);
      }
      const MappedRecord& rec = mapper_.map(t);
      mapper_.commit(index, key_, file_);
      append(rec, index);
      ++report_.records_loaded;
    } catch (const RecordError& e) {
      std::string where = mapper_.describe(index, key_, file_);
      if (options_.reject_sink == nullptr)
        throw Error::untouched(where + ": " + e.reason, ExitCode::kDataError,
                               " (use --reject-file to set such records aside)");
      json::object line{{"file", file_}, {"index", index}, {"reason", e.reason}, {"record", t.to_value()}};
      *options_.reject_sink << json::serialize(line) << '\n';
      if (!*options_.reject_sink) throw Error("cannot write the reject file");
      ++report_.records_rejected;
    }
  }

  void append(const MappedRecord& rec, int64_t index) {
    for (const auto& r : rec.rows) batches_[r.table].append(rec.row_cells(r), index);
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
  ImportReport report_;
  FieldNames names_;  // before mapper_, which adds the mapping's names
  RecordMapper mapper_;
  int key_name_ = FieldNames::kNoName;
  std::vector<TableBatch> batches_;  // as the schema's tables
  std::string file_;
  std::string key_;
  bool later_file_ = false;
  std::unordered_set<std::string> later_keys_;
  std::unordered_set<std::string> loaded_keys_;
};

}  // namespace

struct ImportFeed::Worker {
  BatchQueue queue;
  ImportReport report;       // the worker's, read after the join
  std::exception_ptr error;  // the worker's, read after the join
  std::thread thread;        // joined once drained
  explicit Worker(size_t capacity) : queue(capacity) {}
};

ImportFeed::ImportFeed(std::vector<fs::path> files, const Schema& schema, const ImportMapping& mapping,
                       const ImportOptions& options)
    : w_(std::make_unique<Worker>(std::max<size_t>(1, options.queue_batches))) {
  Worker* w = w_.get();
  w->thread = std::thread([w, files = std::move(files), &schema, &mapping, &options] {
    try {
      Importer importer(schema, mapping, options, w->queue);
      w->report = importer.run(files);
    } catch (...) {
      w->error = std::current_exception();
    }
    w->queue.close();
  });
}

ImportFeed::~ImportFeed() {
  if (!w_->thread.joinable()) return;
  w_->queue.abandon();  // its next push fails, and the worker ends
  w_->thread.join();
}

ImportReport ImportFeed::drain(const std::function<void(ImportBatch&&)>& sink) {
  if (!w_->thread.joinable()) throw Error("internal: an import feed drained twice");
  std::exception_ptr sink_error;
  while (auto batch = w_->queue.pop()) {
    try {
      sink(std::move(*batch));
    } catch (...) {
      sink_error = std::current_exception();
      w_->queue.abandon();
      break;
    }
  }
  w_->thread.join();
  if (sink_error) std::rethrow_exception(sink_error);
  if (w_->error) std::rethrow_exception(w_->error);
  return std::move(w_->report);
}

ImportReport import_files(const std::vector<fs::path>& files, const Schema& schema, const ImportMapping& mapping,
                          const ImportOptions& options, const std::function<void(ImportBatch&&)>& sink) {
  return ImportFeed(files, schema, mapping, options).drain(sink);
}

}  // namespace dbtool
