// Reading a source database through its backend plugin, and the adapter stream that turns a
// source table's batches into the target table's, batch by batch.
#include "ops/db_source.hpp"

#include "plugins/host_services.hpp"
#include "util/bounded_queue.hpp"
#include "util/environment.hpp"
#include "util/error.hpp"
#include "util/fault.hpp"

#include <dbtool/sdk/arrow.hpp>
#include <dbtool/sdk/schema.hpp>

#include <cmath>
#include <optional>
#include <thread>

namespace dbtool {
namespace json = boost::json;

namespace {

// Keeps alive everything an adapted batch points into: the source batch whose column arrays
// are passed on untouched, and the columns built for converted types and constant values.
struct BatchOwner {
  sdk::ArrayHolder source;
  std::vector<sdk::ArrayHolder> built;
};

// An adapted batch: its children are shallow copies of other arrays' children, each holding a
// reference on the owner, so a consumer may release the batch or move a child out of it, as the
// Arrow specification allows, and the memory stays valid for as long as anything refers to it.
struct AdaptedBatch {
  std::shared_ptr<BatchOwner> owner;
  std::vector<ArrowArray> children;
  std::vector<ArrowArray*> child_ptrs;
  const void* top_buffers[1] = {nullptr};
};

void release_shared_child(ArrowArray* a) {
  delete static_cast<std::shared_ptr<BatchOwner>*>(a->private_data);
  a->release = nullptr;
}

void release_adapted(ArrowArray* a) {
  auto* p = static_cast<AdaptedBatch*>(a->private_data);
  for (auto& c : p->children)
    if (c.release != nullptr) c.release(&c);
  delete p;
  a->release = nullptr;
}

int64_t count_nulls(const ArrowArray& c, int64_t offset, int64_t length) {
  if (c.null_count == 0 || c.n_buffers == 0 || c.buffers[0] == nullptr) return c.n_buffers == 0 ? length : 0;
  const auto* bits = static_cast<const uint8_t*>(c.buffers[0]);
  int64_t nulls = 0;
  for (int64_t i = offset; i < offset + length; ++i) nulls += (bits[i / 8] & (1u << (i % 8))) == 0;
  return nulls;
}

// A child of `parent` (which the owner keeps), narrowed to the parent's own offset and length.
ArrowArray share_child(const ArrowArray& parent, int64_t index, const std::shared_ptr<BatchOwner>& owner) {
  const ArrowArray& from = *parent.children[index];
  ArrowArray c{};
  c.length = parent.length;
  c.offset = from.offset + parent.offset;
  c.null_count =
      (parent.offset == 0 && from.length == parent.length) ? from.null_count : count_nulls(from, c.offset, c.length);
  c.n_buffers = from.n_buffers;
  c.buffers = from.buffers;
  c.private_data = new std::shared_ptr<BatchOwner>(owner);
  c.release = release_shared_child;
  return c;
}

std::string describe_value(const sdk::BatchView& v, size_t col, int64_t row) {
  switch (v.spec(col).type) {
    case sdk::ColumnType::Int64:
      return std::to_string(v.get_int64(col, row));
    case sdk::ColumnType::Bool:
      return v.get_bool(col, row) ? "true" : "false";
    case sdk::ColumnType::Float64:
      return std::to_string(v.get_double(col, row));
    default:
      return json::serialize(json::value(std::string(v.get_bytes(col, row))));
  }
}

// How one output column is made from a source batch.
struct OutColumn {
  enum class How { kShare, kInt64ToFloat64, kInt64ToBool, kBoolToInt64, kNulls } how = How::kShare;
  size_t source_index = 0;
  Conversion check = Conversion::kNone;  // per-value check on a shared text column
  const ColumnPlan* plan = nullptr;
};

// The columns a table's batches carry into the stage: the plan's columns in target order, then
// the mapping's constant values.
std::vector<sdk::ColumnSpec> target_columns(const TablePlan& plan) {
  std::vector<sdk::ColumnSpec> specs;
  for (const auto& cp : plan.columns) specs.push_back({cp.target, sdk::arrow_type_of(cp.to)});
  for (const auto& k : plan.constants) specs.push_back({k.target, sdk::arrow_type_of(k.type)});
  return specs;
}

class TableAdapter {
 public:
  TableAdapter(ArrowArrayStream* source, const TablePlan& plan) : reader_(source), plan_(plan) {
    const auto& in = reader_.columns();
    for (const auto& cp : plan.columns) {
      size_t idx = in.size();
      for (size_t i = 0; i < in.size(); ++i)
        if (in[i].name == cp.source) idx = i;
      if (idx == in.size())
        throw Error("reading " + plan.source + ": the backend's stream has no column " + cp.source +
                    " although describe_schema lists it");
      OutColumn oc;
      oc.source_index = idx;
      oc.plan = &cp;
      const sdk::ColumnType have = in[idx].type, want = sdk::arrow_type_of(cp.to);
      using T = sdk::ColumnType;
      if (have == want) {
        oc.how = OutColumn::How::kShare;
        oc.check = cp.conversion == Conversion::kCheckDate || cp.conversion == Conversion::kCheckDateTime ||
                           cp.conversion == Conversion::kCheckJson
                       ? cp.conversion
                       : Conversion::kNone;
      } else if (have == T::Null) {
        oc.how = OutColumn::How::kNulls;
      } else if (have == T::Int64 && want == T::Float64) {
        oc.how = OutColumn::How::kInt64ToFloat64;
      } else if (have == T::Int64 && want == T::Bool) {
        oc.how = OutColumn::How::kInt64ToBool;
      } else if (have == T::Bool && want == T::Int64) {
        oc.how = OutColumn::How::kBoolToInt64;
      } else {
        throw Error(plan.source + "." + cp.source + " arrives as Arrow \"" + sdk::arrow_format(have) + "\" but " +
                        plan.target + "." + cp.target + " is " + std::string(type_name(cp.to)) +
                        "; no lossless conversion",
                    ExitCode::kDataError);
      }
      out_.push_back(oc);
    }
    for (const auto& k : plan.constants) constant_specs_.push_back({k.target, sdk::arrow_type_of(k.type)});
  }

  int64_t rows_read() const { return rows_read_; }

  // The next adapted batch into `out`; false at the end. Throws dbtool::Error saying which
  // table (and value) failed.
  bool next(ArrowArray* out) {
    try {
      if (cancel_requested()) throw Error("cancelled while reading " + plan_.source, ExitCode::kCancelled);
      auto owner = std::make_shared<BatchOwner>();
      if (!reader_.next(owner->source)) return false;
      const ArrowArray& src = owner->source.a;
      rows_read_ += src.length;
      sdk::BatchView view(reader_.columns(), src);
      auto batch = std::make_unique<AdaptedBatch>();
      batch->owner = owner;
      for (const auto& oc : out_) batch->children.push_back(make_column(oc, view, src, owner));
      if (!constant_specs_.empty()) {
        sdk::ArrayHolder constants = build_constants(src.length);
        const ArrowArray parent = constants.a;
        owner->built.push_back(std::move(constants));
        for (size_t i = 0; i < constant_specs_.size(); ++i)
          batch->children.push_back(share_child(parent, static_cast<int64_t>(i), owner));
      }
      for (auto& c : batch->children) batch->child_ptrs.push_back(&c);
      *out = ArrowArray{};
      out->length = src.length;
      out->n_buffers = 1;
      out->buffers = batch->top_buffers;
      out->n_children = static_cast<int64_t>(batch->children.size());
      out->children = batch->child_ptrs.empty() ? nullptr : batch->child_ptrs.data();
      out->private_data = batch.release();
      out->release = release_adapted;
      return true;
    } catch (const Error&) {
      throw;
    } catch (const std::exception& e) {
      throw Error("reading " + plan_.source + ": " + e.what());
    }
  }

 private:
  [[noreturn]] void unfit(const OutColumn& oc, const sdk::BatchView& v, int64_t row, const std::string& why) const {
    throw Error(plan_.source + "." + oc.plan->source + " (" + std::string(type_name(oc.plan->from)) + ") value " +
                    describe_value(v, oc.source_index, row) + " in row " +
                    std::to_string(rows_read_ - v.rows() + row + 1) + " cannot go into " + plan_.target + "." +
                    oc.plan->target + " (" + std::string(type_name(oc.plan->to)) + ") without loss: " + why,
                ExitCode::kDataError);
  }

  ArrowArray make_column(const OutColumn& oc, const sdk::BatchView& v, const ArrowArray& src,
                         const std::shared_ptr<BatchOwner>& owner) {
    const size_t col = oc.source_index;
    if (oc.how == OutColumn::How::kShare) {
      if (oc.check != Conversion::kNone)
        for (int64_t r = 0; r < v.rows(); ++r) {
          if (v.is_null(col, r)) continue;
          std::string_view s = v.get_bytes(col, r);
          if (oc.check == Conversion::kCheckDate && !sdk::is_canonical_temporal("date", s))
            unfit(oc, v, r, "not a YYYY-MM-DD date");
          if (oc.check == Conversion::kCheckDateTime && !sdk::is_canonical_temporal("datetime", s))
            unfit(oc, v, r, "not a YYYY-MM-DD HH:MM:SS.ffffff date and time");
          if (oc.check == Conversion::kCheckJson) {
            boost::system::error_code ec;
            json::parse(s, ec);
            if (ec) unfit(oc, v, r, "not valid JSON");
          }
        }
      return share_child(src, static_cast<int64_t>(col), owner);
    }
    sdk::BatchBuilder b({{oc.plan->target, sdk::arrow_type_of(oc.plan->to)}});
    for (int64_t r = 0; r < v.rows(); ++r) {
      if (oc.how == OutColumn::How::kNulls || v.is_null(col, r)) {
        b.append_null(0);
        continue;
      }
      switch (oc.how) {
        case OutColumn::How::kInt64ToFloat64: {
          int64_t x = v.get_int64(col, r);
          // Every integer up to 2^53 has an exact double; beyond that some would round.
          if (x > (int64_t{1} << 53) || x < -(int64_t{1} << 53)) unfit(oc, v, r, "beyond 2^53 a double rounds it");
          b.append_double(0, static_cast<double>(x));
          break;
        }
        case OutColumn::How::kInt64ToBool: {
          int64_t x = v.get_int64(col, r);
          if (x != 0 && x != 1) unfit(oc, v, r, "only 0 and 1 are booleans");
          b.append_bool(0, x == 1);
          break;
        }
        case OutColumn::How::kBoolToInt64:
          b.append_int64(0, v.get_bool(col, r) ? 1 : 0);
          break;
        default:
          break;
      }
    }
    sdk::ArrayHolder built;
    b.finish(&built.a);
    const ArrowArray parent = built.a;
    owner->built.push_back(std::move(built));
    return share_child(parent, 0, owner);
  }

  sdk::ArrayHolder build_constants(int64_t rows) {
    sdk::BatchBuilder b(constant_specs_);
    for (int64_t r = 0; r < rows; ++r)
      for (size_t i = 0; i < plan_.constants.size(); ++i) {
        const json::value& v = plan_.constants[i].value;
        switch (plan_.constants[i].type) {
          case PortableType::Int64:
            b.append_int64(i, v.to_number<int64_t>());
            break;
          case PortableType::Float64:
            b.append_double(i, v.to_number<double>());
            break;
          case PortableType::Bool:
            b.append_bool(i, v.get_bool());
            break;
          case PortableType::Json:
            b.append_bytes(i, json::serialize(v));
            break;
          default:
            b.append_bytes(i, v.get_string());
            break;
        }
      }
    sdk::ArrayHolder h;
    b.finish(&h.a);
    return h;
  }

  sdk::StreamReader reader_;
  const TablePlan& plan_;
  int64_t rows_read_ = 0;
  std::vector<OutColumn> out_;
  std::vector<sdk::ColumnSpec> constant_specs_;
};

// What the reader thread hands the loader: a batch of the plan's table `table`, or (no batch)
// the end of that table with the rows the source gave for it.
struct ReadItem {
  size_t table = 0;
  sdk::ArrayHolder batch;
  int64_t rows_read = 0;  // on the end item
};

// Batches read ahead of the load: enough to keep both sides busy, few enough that memory stays
// flat (a batch is a few thousand rows).
constexpr size_t kReadAhead = 4;

// Reads every planned table, in plan order and inside the source's one snapshot, on a thread of
// its own, while the caller loads what it queued: reads and writes overlap. The source session is
// used from that thread only, from construction until stop() (or destruction).
class SourceReader {
 public:
  SourceReader(DatabaseSource& source, const MappingPlan& plan)
      : source_(source), plan_(plan), queue_(kReadAhead), thread_([this] { run(); }) {}
  ~SourceReader() { stop(); }
  SourceReader(const SourceReader&) = delete;
  SourceReader& operator=(const SourceReader&) = delete;

  // Waits for the next item; nullopt when reading ended early (see error()).
  std::optional<ReadItem> next() { return queue_.pop(); }

  // Makes the thread stop at its next batch (if still reading) and waits for it.
  void stop() {
    queue_.abandon();
    if (thread_.joinable()) thread_.join();
  }

  // Why reading failed; only valid after stop().
  const std::optional<Error>& error() const { return error_; }

 private:
  void run() {
    try {
      for (size_t i = 0; i < plan_.tables.size(); ++i) {
        const TablePlan& tp = plan_.tables[i];
        ArrowArrayStream raw{};
        source_.session().read_table(tp.source, &raw);
        TableAdapter adapter(&raw, tp);
        ReadItem item;
        item.table = i;
        while (adapter.next(&item.batch.a)) {
          if (!queue_.push(std::move(item))) return;  // the loader gave up
          item = ReadItem{};
          item.table = i;
        }
        item.rows_read = adapter.rows_read();
        if (!queue_.push(std::move(item))) return;
        if (i == 0) fault_point("mid-read");
      }
    } catch (const Error& e) {
      error_ = e;
    } catch (const std::exception& e) {
      error_ = Error("reading " + source_.display() + ": " + e.what());
    }
    queue_.close();
  }

  DatabaseSource& source_;
  const MappingPlan& plan_;
  std::optional<Error> error_;  // written by the thread before it closes the queue
  BoundedQueue<ReadItem> queue_;
  std::thread thread_;  // last: it starts once everything above exists
};

}  // namespace

bool is_database_uri(std::string_view entry) { return entry.find("://") != std::string_view::npos; }

const LoadedPlugin& check_database_source(const PluginRegistry& plugins, const std::string& uri) {
  const std::string scheme = is_database_uri(uri) ? uri.substr(0, uri.find("://")) : "sqlite";
  if (redact_uri(uri) != uri)
    throw Error("do not put the password in the source URI " + redact_uri(uri) +
                    " (it would show in the process list); set " + kSourcePasswordEnv +
                    ", or put it in .env, or type it when asked",
                ExitCode::kUsage);
  const LoadedPlugin* p = plugins.backend_for_scheme(scheme);
  if (p == nullptr)
    throw Error(redact_uri(uri) + ": no backend plugin \"" + scheme + "\" reads " + scheme +
                    ":// databases (see `dbtool plugins`)",
                ExitCode::kUsage);
  const dbtool_backend_api* api = p->backend;
  if ((p->capabilities & DBTOOL_CAP_READ) == 0 || !DBTOOL_HAS_SLOT(api, read_table) ||
      !DBTOOL_HAS_SLOT(api, snapshot_begin) || !DBTOOL_HAS_SLOT(api, snapshot_end) ||
      !DBTOOL_HAS_SLOT(api, describe_schema))
    throw Error(uri + ": the " + p->name + " backend (" + p->path.string() +
                    ") cannot read a database as a source: it does not announce the \"read\" capability "
                    "with read_table, snapshot_begin, snapshot_end and describe_schema (plugin ABI 1.1)",
                ExitCode::kUsage);
  return *p;
}

Schema schema_of_database(const json::object& described, const std::string& origin, const std::string& name,
                          int64_t version) {
  json::object o = described;
  o.erase("checksum");
  if (!o.contains("name")) o["name"] = name;
  if (!o.contains("version")) o["version"] = version;
  // dbtool's own history is not part of any app's schema, whatever a backend reports.
  if (auto* t = o.if_contains("tables"); t && t->is_array()) {
    json::array kept;
    for (auto& table : t->get_array())
      if (!(table.is_object() && table.get_object().if_contains("name") &&
            table.get_object().at("name") == json::value(std::string(kHistoryTable))))
        kept.push_back(table);
    *t = std::move(kept);
  }
  return parse_schema(json::serialize(o), origin);
}

DatabaseSource::DatabaseSource(const PluginRegistry& plugins, const std::string& uri,
                               const std::vector<std::string>& password_env) {
  check_database_source(plugins, uri);
  target_ = resolve_target(plugins, "", uri, password_env);
  // A source is shown by its URI (in its backend's normal form; it holds no password).
  target_.display = target_.uri;
  json::object options = target_.open_options(false);
  options["read_only"] = true;
  session_ = std::make_unique<BackendSession>(*target_.plugin, options);
  session_->snapshot_begin();
  in_snapshot_ = true;
  described_ = session_->describe();
  try {
    schema_ = schema_of_database(session_->describe_schema(), target_.display);
  } catch (const Error& e) {
    // A structure dbtool cannot express means the database cannot serve; it is not a usage error.
    throw Error(std::string("cannot describe ") + target_.display + ": " + e.what());
  }
}

DatabaseSource::~DatabaseSource() {
  if (!in_snapshot_) return;
  try {
    session_->snapshot_end();
  } catch (const Error& e) {
    log_warn(e.what());
  }
}

int64_t DatabaseSource::rows(const std::string& table) const {
  if (auto* t = described_.if_contains("tables"); t && t->is_array())
    for (const auto& row : t->get_array())
      if (row.as_object().at("name").as_string() == table) return row.as_object().at("rows").to_number<int64_t>();
  return 0;
}

bool DatabaseSource::has_history() const {
  if (auto* t = described_.if_contains("tables"); t && t->is_array())
    for (const auto& row : t->get_array())
      if (row.as_object().at("name").as_string() == kHistoryTable) return true;
  return schema_.find_table(kHistoryTable) != nullptr;
}

LoadOutcome load_from_database(BackendStage& stage, DatabaseSource& source, const MappingPlan& plan) {
  return read_from_database(source, plan,
                            [&stage](const std::string& table, ArrowArrayStream* s) { return stage.load(table, s); });
}

int64_t drain_stream(const std::string&, ArrowArrayStream* stream) {
  int64_t rows = 0;
  try {
    sdk::StreamReader reader(stream);
    sdk::ArrayHolder batch;
    while (reader.next(batch)) rows += batch.a.length;
  } catch (const std::exception& e) {
    throw Error(e.what());
  }
  return rows;
}

LoadOutcome read_from_database(DatabaseSource& source, const MappingPlan& plan, const TableSink& sink) {
  LoadOutcome out;
  json::array tables;
  int64_t total = 0, done = 0;
  for (const auto& tp : plan.tables) total += source.rows(tp.source);
  SourceReader reader(source, plan);
  for (size_t i = 0; i < plan.tables.size(); ++i) {
    const TablePlan& tp = plan.tables[i];
    log_info("loading " + tp.source + " into " + tp.target);
    // The stage pulls this table's batches from the reader's queue; the end item ends the stream.
    std::optional<int64_t> rows_read;
    bool reader_ended = false;
    ArrowArrayStream batches{};
    sdk::export_stream(
        target_columns(tp),
        [&](ArrowArray* o) {
          if (cancel_requested()) throw Error("cancelled while loading " + tp.target, ExitCode::kCancelled);
          std::optional<ReadItem> item = reader.next();
          if (!item) {
            reader_ended = true;
            throw Error("reading " + tp.source + " stopped");
          }
          if (item->table != i) throw Error("internal error: a batch of another table in the stream of " + tp.target);
          if (item->batch.a.release == nullptr) {
            rows_read = item->rows_read;
            return false;
          }
          *o = item->batch.a;
          item->batch.a.release = nullptr;
          report_progress("load", done += o->length, total);
          return true;
        },
        &batches);
    int64_t loaded = 0;
    try {
      loaded = sink(tp.target, &batches);
    } catch (const Error& e) {
      reader.stop();
      // A Ctrl-C seen by the stream or the backend reaches here as the backend's failure.
      if (cancel_requested()) throw Error::untouched("cancelled while loading " + tp.target, ExitCode::kCancelled);
      // When reading failed, its own error says exactly which value and why; the backend only
      // relayed it.
      if (reader_ended && reader.error()) throw reader.error()->with_target_untouched();
      throw Error::untouched(
          std::string(e.what()) + " (loading " + tp.target + " from " + source.display() + " table " + tp.source + ")",
          e.code());
    }
    if (!rows_read)
      throw Error::untouched("loading " + tp.target + " from " + tp.source +
                             ": the backend stopped before the table's end (wrote " + std::to_string(loaded) +
                             " rows)");
    if (loaded != *rows_read)
      throw Error::untouched("loading " + tp.target + " from " + tp.source + ": read " + std::to_string(*rows_read) +
                             " rows but the backend wrote " + std::to_string(loaded));
    if (i == 0) fault_point("mid-load");
    out.expected_rows[tp.target] = loaded;
    json::array dropped;
    for (const auto& d : tp.dropped_columns) dropped.push_back(json::object{{"column", d.column}, {"why", d.why}});
    json::array defaulted;
    for (const auto& d : tp.defaulted_columns) defaulted.push_back(json::value(d));
    json::array constants;
    for (const auto& k : tp.constants) constants.push_back(json::object{{"column", k.target}, {"value", k.value}});
    tables.push_back(json::object{{"table", tp.source},
                                  {"target", tp.target},
                                  {"read", *rows_read},
                                  {"loaded", loaded},
                                  {"dropped", 0},
                                  {"rejected", 0},
                                  {"dropped_columns", std::move(dropped)},
                                  {"defaulted_columns", std::move(defaulted)},
                                  {"values", std::move(constants)}});
  }
  reader.stop();
  end_progress();
  for (const auto& d : plan.dropped_tables) {
    int64_t rows = source.rows(d.table);
    tables.push_back(json::object{{"table", d.table},
                                  {"target", nullptr},
                                  {"read", rows},
                                  {"loaded", 0},
                                  {"dropped", rows},
                                  {"rejected", 0},
                                  {"why", d.why}});
  }
  json::object db = plan.to_json();
  db["uri"] = source.display();
  db["backend"] = source.backend();
  db["tables"] = std::move(tables);
  db["skipped_history"] = plan.skipped_history || source.has_history();
  out.details["database_source"] = std::move(db);
  return out;
}

}  // namespace dbtool
