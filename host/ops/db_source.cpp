// Reading a source database through its backend plugin, and the adapter stream that turns a
// source table's batches into the target table's, batch by batch.
#include "ops/db_source.hpp"

#include "plugins/host_services.hpp"
#include "util/environment.hpp"
#include "util/error.hpp"
#include "util/fault.hpp"

#include <dbtool/sdk/arrow.hpp>
#include <dbtool/sdk/schema.hpp>

#include <cmath>

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

struct AdapterState {
  int64_t rows_read = 0;
  std::optional<Error> error;  // what stopped the stream, rethrown by the host
};

class TableAdapter {
 public:
  TableAdapter(ArrowArrayStream* source, const TablePlan& plan, std::shared_ptr<AdapterState> state)
      : reader_(source), plan_(plan), state_(std::move(state)) {
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
      specs_.push_back({cp.target, want});
    }
    for (const auto& k : plan.constants) {
      specs_.push_back({k.target, sdk::arrow_type_of(k.type)});
      constant_specs_.push_back(specs_.back());
    }
  }

  const std::vector<sdk::ColumnSpec>& columns() const { return specs_; }

  bool next(ArrowArray* out) {
    try {
      if (cancel_requested()) throw Error("cancelled while reading " + plan_.source, ExitCode::kCancelled);
      auto owner = std::make_shared<BatchOwner>();
      if (!reader_.next(owner->source)) return false;
      const ArrowArray& src = owner->source.a;
      state_->rows_read += src.length;
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
    } catch (const Error& e) {
      state_->error = e;
      throw;
    } catch (const std::exception& e) {
      state_->error = Error("reading " + plan_.source + ": " + e.what());
      throw;
    }
  }

 private:
  [[noreturn]] void unfit(const OutColumn& oc, const sdk::BatchView& v, int64_t row, const std::string& why) const {
    throw Error(plan_.source + "." + oc.plan->source + " (" + std::string(type_name(oc.plan->from)) + ") value " +
                    describe_value(v, oc.source_index, row) + " in row " +
                    std::to_string(state_->rows_read - v.rows() + row + 1) + " cannot go into " + plan_.target + "." +
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
          if (oc.check == Conversion::kCheckDate && !sdk::is_canonical_temporal("date", s)) unfit(oc, v, r, "not a YYYY-MM-DD date");
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
  std::shared_ptr<AdapterState> state_;
  std::vector<OutColumn> out_;
  std::vector<sdk::ColumnSpec> specs_;
  std::vector<sdk::ColumnSpec> constant_specs_;
};

}  // namespace

bool is_database_uri(std::string_view entry) { return entry.find("://") != std::string_view::npos; }

const LoadedPlugin& check_database_source(const PluginRegistry& plugins, const std::string& uri) {
  std::string scheme = uri.substr(0, uri.find("://"));
  if (scheme == "mariadb") scheme = "mysql";
  if (redact_uri(uri) != uri)
    throw Error("do not put the password in the source URI " + redact_uri(uri) +
                    " (it would show in the process list); set " + kSourcePasswordEnv +
                    ", or put it in .env, or type it when asked",
                ExitCode::kUsage);
  const LoadedPlugin* p = nullptr;
  for (const auto& candidate : plugins.plugins())
    if (candidate.name == scheme && candidate.kind == DBTOOL_KIND_BACKEND) p = &candidate;
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
  target_.display = redact_uri(target_.uri);
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
  LoadOutcome out;
  json::array tables;
  bool first = true;
  for (const auto& tp : plan.tables) {
    log_info("reading " + tp.source + " into " + tp.target);
    ArrowArrayStream raw{};
    source.session().read_table(tp.source, &raw);
    auto state = std::make_shared<AdapterState>();
    ArrowArrayStream adapted{};
    {
      auto adapter = std::make_shared<TableAdapter>(&raw, tp, state);
      std::vector<sdk::ColumnSpec> columns = adapter->columns();
      sdk::export_stream(
          std::move(columns), [adapter](ArrowArray* o) { return adapter->next(o); }, &adapted);
    }
    int64_t loaded = 0;
    try {
      loaded = stage.load(tp.target, &adapted);
    } catch (const Error& e) {
      // The adapter's own error says exactly which value and why; the backend only relays it.
      if (state->error) throw Error(std::string(state->error->what()) + "; nothing was changed", state->error->code());
      throw Error(std::string(e.what()) + " (loading " + tp.target + " from " + source.display() + " table " +
                      tp.source + "); nothing was changed",
                  e.code());
    }
    if (loaded != state->rows_read)
      throw Error("loading " + tp.target + " from " + tp.source + ": read " + std::to_string(state->rows_read) +
                  " rows but the backend wrote " + std::to_string(loaded) + "; nothing was changed");
    if (first) fault_point("mid-load");
    first = false;
    out.expected_rows[tp.target] = loaded;
    json::array dropped;
    for (const auto& d : tp.dropped_columns) dropped.push_back(json::object{{"column", d.column}, {"why", d.why}});
    json::array defaulted;
    for (const auto& d : tp.defaulted_columns) defaulted.push_back(json::value(d));
    json::array constants;
    for (const auto& k : tp.constants) constants.push_back(json::object{{"column", k.target}, {"value", k.value}});
    tables.push_back(json::object{{"table", tp.source},
                                  {"target", tp.target},
                                  {"read", state->rows_read},
                                  {"loaded", loaded},
                                  {"dropped", 0},
                                  {"rejected", 0},
                                  {"dropped_columns", std::move(dropped)},
                                  {"defaulted_columns", std::move(defaulted)},
                                  {"values", std::move(constants)}});
  }
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
