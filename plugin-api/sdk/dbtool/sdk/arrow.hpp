// Small builder and view for dbtool's Arrow C Data profile (see plugin.h): struct batches whose
// children are null, bool, int64, float64, utf8 or binary. No libarrow needed. Header-only and
// optional, like error.hpp: it is a convenience for plugin authors, not part of the ABI.
//
// Ownership follows the Arrow specification: an exported ArrowSchema/ArrowArray/ArrowArrayStream
// owns its memory until its release callback is called; moving one means copying the struct and
// setting the source's release to NULL.
#pragma once

#include <dbtool/plugin.h>
#include <dbtool/sdk/error.hpp>

#include <cstdint>
#include <cstring>
#include <functional>
#include <limits>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace dbtool::sdk {

enum class ColumnType { Null, Bool, Int64, Float64, Utf8, Binary };

inline const char* arrow_format(ColumnType t) {
  switch (t) {
    case ColumnType::Null:
      return "n";
    case ColumnType::Bool:
      return "b";
    case ColumnType::Int64:
      return "l";
    case ColumnType::Float64:
      return "g";
    case ColumnType::Utf8:
      return "u";
    case ColumnType::Binary:
      return "z";
  }
  return "n";
}

inline std::optional<ColumnType> column_type_of_format(std::string_view f) {
  if (f == "n") return ColumnType::Null;
  if (f == "b") return ColumnType::Bool;
  if (f == "l") return ColumnType::Int64;
  if (f == "g") return ColumnType::Float64;
  if (f == "u") return ColumnType::Utf8;
  if (f == "z") return ColumnType::Binary;
  return std::nullopt;
}

struct ColumnSpec {
  std::string name;
  ColumnType type;
};

// ---- owning wrappers -------------------------------------------------------------------

struct SchemaHolder {
  ArrowSchema s{};
  SchemaHolder() = default;
  SchemaHolder(const SchemaHolder&) = delete;
  SchemaHolder& operator=(const SchemaHolder&) = delete;
  SchemaHolder(SchemaHolder&& o) noexcept : s(o.s) { o.s.release = nullptr; }
  ~SchemaHolder() { reset(); }
  void reset() {
    if (s.release != nullptr) s.release(&s);
    s.release = nullptr;
  }
};

struct ArrayHolder {
  ArrowArray a{};
  ArrayHolder() = default;
  ArrayHolder(const ArrayHolder&) = delete;
  ArrayHolder& operator=(const ArrayHolder&) = delete;
  ArrayHolder(ArrayHolder&& o) noexcept : a(o.a) { o.a.release = nullptr; }
  ArrayHolder& operator=(ArrayHolder&& o) noexcept {
    if (this != &o) {
      reset();
      a = o.a;
      o.a.release = nullptr;
    }
    return *this;
  }
  ~ArrayHolder() { reset(); }
  void reset() {
    if (a.release != nullptr) a.release(&a);
    a.release = nullptr;
  }
};

struct StreamHolder {
  ArrowArrayStream st{};
  StreamHolder() = default;
  explicit StreamHolder(ArrowArrayStream* moved_from) : st(*moved_from) { moved_from->release = nullptr; }
  StreamHolder(const StreamHolder&) = delete;
  StreamHolder& operator=(const StreamHolder&) = delete;
  StreamHolder(StreamHolder&& o) noexcept : st(o.st) { o.st.release = nullptr; }
  ~StreamHolder() { reset(); }
  void reset() {
    if (st.release != nullptr) st.release(&st);
    st.release = nullptr;
  }
};

// ---- export: schema --------------------------------------------------------------------

namespace detail {

struct SchemaPrivate {
  std::vector<std::string> names;
  std::vector<ArrowSchema> child_structs;
  std::vector<ArrowSchema*> child_ptrs;
};

inline void release_child_schema(ArrowSchema* s) { s->release = nullptr; }

inline void release_struct_schema(ArrowSchema* s) {
  auto* p = static_cast<SchemaPrivate*>(s->private_data);
  delete p;
  s->release = nullptr;
}

}  // namespace detail

// Fills `out` with a "+s" schema whose children are `columns`, all nullable.
inline void export_schema(const std::vector<ColumnSpec>& columns, ArrowSchema* out) {
  auto p = std::make_unique<detail::SchemaPrivate>();
  p->names.reserve(columns.size());
  for (const auto& c : columns) p->names.push_back(c.name);
  p->child_structs.resize(columns.size());
  for (size_t i = 0; i < columns.size(); ++i) {
    ArrowSchema& ch = p->child_structs[i];
    ch = ArrowSchema{};
    ch.format = arrow_format(columns[i].type);
    ch.name = p->names[i].c_str();
    ch.flags = ARROW_FLAG_NULLABLE;
    ch.release = detail::release_child_schema;
    p->child_ptrs.push_back(&ch);
  }
  *out = ArrowSchema{};
  out->format = "+s";
  out->name = "";
  out->n_children = static_cast<int64_t>(columns.size());
  out->children = p->child_ptrs.empty() ? nullptr : p->child_ptrs.data();
  out->private_data = p.release();
  out->release = detail::release_struct_schema;
}

// Reads the column list of a profile schema; throws Failure(DBTOOL_ERR_DATA) on anything else.
inline std::vector<ColumnSpec> import_schema(const ArrowSchema& schema) {
  if (schema.release == nullptr) throw Failure(DBTOOL_ERR_DATA, "Arrow schema already released");
  if (schema.format == nullptr || std::string_view(schema.format) != "+s")
    throw Failure(DBTOOL_ERR_DATA, "Arrow batch must be a struct (\"+s\"), got \"" +
                                       std::string(schema.format ? schema.format : "") + "\"");
  std::vector<ColumnSpec> cols;
  for (int64_t i = 0; i < schema.n_children; ++i) {
    const ArrowSchema* ch = schema.children[i];
    auto t = column_type_of_format(ch->format ? ch->format : "");
    std::string name = ch->name ? ch->name : "";
    if (!t)
      throw Failure(DBTOOL_ERR_DATA, "column \"" + name + "\": Arrow format \"" +
                                         std::string(ch->format ? ch->format : "") +
                                         "\" is outside dbtool's profile (n b l g u z)");
    if (ch->dictionary != nullptr || ch->n_children != 0)
      throw Failure(DBTOOL_ERR_DATA, "column \"" + name + "\": nested or dictionary columns are not supported");
    cols.push_back({std::move(name), *t});
  }
  return cols;
}

// ---- export: batches -------------------------------------------------------------------

// Accumulates rows column by column and exports them as one struct ArrowArray. Reusable:
// finish() leaves the builder empty with the same columns.
class BatchBuilder {
 public:
  explicit BatchBuilder(std::vector<ColumnSpec> columns) : specs_(std::move(columns)) {
    cols_.resize(specs_.size());
    for (auto& c : cols_) c.offsets.push_back(0);
  }

  const std::vector<ColumnSpec>& columns() const { return specs_; }
  int64_t rows() const { return cols_.empty() ? rows_no_columns_ : cols_[0].length; }
  size_t bytes() const {
    size_t n = 0;
    for (const auto& c : cols_) n += c.data.size() + c.offsets.size() * 4 + c.validity.size();
    return n;
  }

  void append_null(size_t col) {
    Col& c = cols_.at(col);
    set_valid(c, false);
    switch (specs_[col].type) {
      case ColumnType::Bool:
        push_bit(c.data, c.length, false);
        break;
      case ColumnType::Int64:
        push_raw<int64_t>(c, 0);
        break;
      case ColumnType::Float64:
        push_raw<double>(c, 0.0);
        break;
      case ColumnType::Utf8:
      case ColumnType::Binary:
        c.offsets.push_back(c.offsets.back());
        break;
      case ColumnType::Null:
        break;
    }
    ++c.null_count;
    ++c.length;
  }
  void append_bool(size_t col, bool v) {
    Col& c = expect(col, ColumnType::Bool);
    set_valid(c, true);
    push_bit(c.data, c.length, v);
    ++c.length;
  }
  void append_int64(size_t col, int64_t v) {
    Col& c = expect(col, ColumnType::Int64);
    set_valid(c, true);
    push_raw<int64_t>(c, v);
    ++c.length;
  }
  void append_double(size_t col, double v) {
    Col& c = expect(col, ColumnType::Float64);
    set_valid(c, true);
    push_raw<double>(c, v);
    ++c.length;
  }
  // Utf8 or Binary columns.
  void append_bytes(size_t col, std::string_view v) {
    Col& c = cols_.at(col);
    if (specs_[col].type != ColumnType::Utf8 && specs_[col].type != ColumnType::Binary)
      throw Failure(DBTOOL_ERR_INTERNAL, "column " + specs_[col].name + " is not a string column");
    int64_t end = static_cast<int64_t>(c.data.size()) + static_cast<int64_t>(v.size());
    if (end > std::numeric_limits<int32_t>::max())
      throw Failure(DBTOOL_ERR_DATA, "batch exceeds 2 GiB of string data; flush earlier");
    set_valid(c, true);
    c.data.insert(c.data.end(), v.begin(), v.end());
    c.offsets.push_back(static_cast<int32_t>(end));
    ++c.length;
  }
  // For a table without columns (never in practice, but keeps rows() honest).
  void append_empty_row() { ++rows_no_columns_; }

  // Exports the accumulated rows into `out` (ownership passes to the caller) and resets.
  // Throws if the columns have different lengths.
  void finish(ArrowArray* out) {
    int64_t n = rows();
    for (size_t i = 0; i < cols_.size(); ++i)
      if (cols_[i].length != n)
        throw Failure(DBTOOL_ERR_INTERNAL, "column " + specs_[i].name + " has a different row count");
    auto p = std::make_unique<Exported>();
    p->cols = std::move(cols_);
    p->child_structs.resize(p->cols.size());
    for (size_t i = 0; i < p->cols.size(); ++i) {
      Col& c = p->cols[i];
      ArrowArray& ch = p->child_structs[i];
      ch = ArrowArray{};
      ch.length = c.length;
      ch.null_count = c.null_count;
      const void** bufs = c.buffers;
      bufs[0] = c.null_count > 0 ? c.validity.data() : nullptr;
      switch (specs_[i].type) {
        case ColumnType::Null:
          ch.n_buffers = 0;
          ch.null_count = c.length;
          break;
        case ColumnType::Bool:
        case ColumnType::Int64:
        case ColumnType::Float64:
          ch.n_buffers = 2;
          bufs[1] = c.data.data();
          break;
        case ColumnType::Utf8:
        case ColumnType::Binary:
          ch.n_buffers = 3;
          bufs[1] = c.offsets.data();
          bufs[2] = c.data.data();
          break;
      }
      ch.buffers = bufs;
      ch.release = release_child;
      p->child_ptrs.push_back(&ch);
    }
    p->top_buffers[0] = nullptr;
    *out = ArrowArray{};
    out->length = n;
    out->n_buffers = 1;
    out->buffers = p->top_buffers;
    out->n_children = static_cast<int64_t>(p->cols.size());
    out->children = p->child_ptrs.empty() ? nullptr : p->child_ptrs.data();
    out->private_data = p.release();
    out->release = release_struct;
    reset();
  }

  void reset() {
    cols_.clear();
    cols_.resize(specs_.size());
    for (auto& c : cols_) c.offsets.push_back(0);
    rows_no_columns_ = 0;
  }

 private:
  struct Col {
    std::vector<uint8_t> validity;  // allocated lazily at the first null
    std::vector<uint8_t> data;
    std::vector<int32_t> offsets;
    int64_t length = 0;
    int64_t null_count = 0;
    const void* buffers[3] = {nullptr, nullptr, nullptr};
  };
  struct Exported {
    std::vector<Col> cols;
    std::vector<ArrowArray> child_structs;
    std::vector<ArrowArray*> child_ptrs;
    const void* top_buffers[1] = {nullptr};
  };

  static void release_child(ArrowArray* a) { a->release = nullptr; }
  static void release_struct(ArrowArray* a) {
    delete static_cast<Exported*>(a->private_data);
    a->release = nullptr;
  }

  Col& expect(size_t col, ColumnType t) {
    if (specs_.at(col).type != t)
      throw Failure(DBTOOL_ERR_INTERNAL, "column " + specs_[col].name + " has another type");
    return cols_[col];
  }
  static void push_bit(std::vector<uint8_t>& bits, int64_t index, bool v) {
    size_t byte = static_cast<size_t>(index / 8);
    if (bits.size() <= byte) bits.push_back(0);
    if (v) bits[byte] |= static_cast<uint8_t>(1u << (index % 8));
  }
  static void set_valid(Col& c, bool valid) {
    if (!valid && c.validity.empty() && c.length > 0) {
      // First null after some valid values: materialise the bitmap as all-valid so far.
      c.validity.assign(static_cast<size_t>((c.length + 7) / 8), 0xFF);
      if (c.length % 8) c.validity.back() = static_cast<uint8_t>((1u << (c.length % 8)) - 1);
    }
    if (!valid || !c.validity.empty() || c.null_count > 0) push_bit(c.validity, c.length, valid);
  }
  template <class T>
  static void push_raw(Col& c, T v) {
    const auto* b = reinterpret_cast<const uint8_t*>(&v);
    c.data.insert(c.data.end(), b, b + sizeof(T));
  }

  std::vector<ColumnSpec> specs_;
  std::vector<Col> cols_;
  int64_t rows_no_columns_ = 0;
};

// ---- import: reading a batch ------------------------------------------------------------

// A read-only view of one profile batch. Validates shape on construction (throws Failure).
// Does not own the array; the array must outlive the view.
class BatchView {
 public:
  BatchView(const std::vector<ColumnSpec>& columns, const ArrowArray& array) : specs_(&columns) {
    if (array.release == nullptr) throw Failure(DBTOOL_ERR_DATA, "Arrow batch already released");
    if (array.n_children != static_cast<int64_t>(columns.size()))
      throw Failure(DBTOOL_ERR_DATA, "Arrow batch has " + std::to_string(array.n_children) + " columns, its schema " +
                                         std::to_string(columns.size()));
    if (array.null_count > 0) throw Failure(DBTOOL_ERR_DATA, "top-level nulls are not supported");
    length_ = array.length;
    offset_ = array.offset;
    cols_.reserve(columns.size());
    for (size_t i = 0; i < columns.size(); ++i) {
      const ArrowArray* ch = array.children[i];
      const int64_t want = columns[i].type == ColumnType::Null                                              ? 0
                           : (columns[i].type == ColumnType::Utf8 || columns[i].type == ColumnType::Binary) ? 3
                                                                                                            : 2;
      if (ch->n_buffers != want && !(columns[i].type == ColumnType::Null && ch->n_buffers == 1))
        throw Failure(DBTOOL_ERR_DATA, "column " + columns[i].name + ": wrong buffer count");
      if (ch->length < array.offset + array.length)
        throw Failure(DBTOOL_ERR_DATA, "column " + columns[i].name + " is shorter than the batch");
      cols_.push_back(ch);
    }
  }

  int64_t rows() const { return length_; }
  size_t columns() const { return cols_.size(); }
  const ColumnSpec& spec(size_t col) const { return (*specs_)[col]; }

  bool is_null(size_t col, int64_t row) const {
    const ArrowArray* c = cols_[col];
    if ((*specs_)[col].type == ColumnType::Null) return true;
    if (c->null_count == 0 || c->buffers[0] == nullptr) return false;
    int64_t i = c->offset + offset_ + row;
    return (static_cast<const uint8_t*>(c->buffers[0])[i / 8] & (1u << (i % 8))) == 0;
  }
  bool get_bool(size_t col, int64_t row) const {
    const ArrowArray* c = cols_[col];
    int64_t i = c->offset + offset_ + row;
    return (static_cast<const uint8_t*>(c->buffers[1])[i / 8] & (1u << (i % 8))) != 0;
  }
  int64_t get_int64(size_t col, int64_t row) const {
    const ArrowArray* c = cols_[col];
    int64_t v;
    std::memcpy(&v, static_cast<const uint8_t*>(c->buffers[1]) + 8 * (c->offset + offset_ + row), 8);
    return v;
  }
  double get_double(size_t col, int64_t row) const {
    const ArrowArray* c = cols_[col];
    double v;
    std::memcpy(&v, static_cast<const uint8_t*>(c->buffers[1]) + 8 * (c->offset + offset_ + row), 8);
    return v;
  }
  // Utf8 or Binary.
  std::string_view get_bytes(size_t col, int64_t row) const {
    const ArrowArray* c = cols_[col];
    const auto* offs = static_cast<const int32_t*>(c->buffers[1]);
    int64_t i = c->offset + offset_ + row;
    const char* data = static_cast<const char*>(c->buffers[2]);
    return std::string_view(data + offs[i], static_cast<size_t>(offs[i + 1] - offs[i]));
  }

 private:
  const std::vector<ColumnSpec>* specs_;
  std::vector<const ArrowArray*> cols_;
  int64_t length_ = 0;
  int64_t offset_ = 0;
};

// ---- streams -----------------------------------------------------------------------------

// Produces the next batch into `out` and returns true, or returns false at the end.
// Throws Failure on error.
using BatchProducer = std::function<bool(ArrowArray* out)>;

namespace detail {
struct StreamPrivate {
  std::vector<ColumnSpec> columns;
  BatchProducer next;
  std::string last_error;
};
inline int stream_get_schema(ArrowArrayStream* st, ArrowSchema* out) {
  auto* p = static_cast<StreamPrivate*>(st->private_data);
  try {
    export_schema(p->columns, out);
    return 0;
  } catch (const std::exception& e) {
    p->last_error = e.what();
    return 12;  // ENOMEM
  }
}
inline int stream_get_next(ArrowArrayStream* st, ArrowArray* out) {
  auto* p = static_cast<StreamPrivate*>(st->private_data);
  try {
    if (!p->next(out)) *out = ArrowArray{};  // release == NULL marks the end
    return 0;
  } catch (const std::exception& e) {
    p->last_error = e.what();
    return 5;  // EIO
  }
}
inline const char* stream_last_error(ArrowArrayStream* st) {
  auto* p = static_cast<StreamPrivate*>(st->private_data);
  return p->last_error.empty() ? nullptr : p->last_error.c_str();
}
inline void stream_release(ArrowArrayStream* st) {
  delete static_cast<StreamPrivate*>(st->private_data);
  st->release = nullptr;
}
}  // namespace detail

// Exports a stream whose batches come from `next`. `out` owns everything afterwards.
inline void export_stream(std::vector<ColumnSpec> columns, BatchProducer next, ArrowArrayStream* out) {
  auto p = std::make_unique<detail::StreamPrivate>();
  p->columns = std::move(columns);
  p->next = std::move(next);
  *out = ArrowArrayStream{};
  out->get_schema = detail::stream_get_schema;
  out->get_next = detail::stream_get_next;
  out->get_last_error = detail::stream_last_error;
  out->release = detail::stream_release;
  out->private_data = p.release();
}

// Exports a stream over batches that already exist (moved in).
inline void export_stream(std::vector<ColumnSpec> columns, std::vector<ArrayHolder> batches, ArrowArrayStream* out) {
  auto shared = std::make_shared<std::vector<ArrayHolder>>(std::move(batches));
  auto index = std::make_shared<size_t>(0);
  export_stream(
      std::move(columns),
      [shared, index](ArrowArray* o) {
        if (*index >= shared->size()) return false;
        ArrayHolder& h = (*shared)[(*index)++];
        *o = h.a;
        h.a.release = nullptr;
        return true;
      },
      out);
}

// Reads a stream it owns, batch by batch. Throws Failure(DBTOOL_ERR_DATA) on a stream error
// or a batch outside the profile.
class StreamReader {
 public:
  explicit StreamReader(ArrowArrayStream* moved_from) : stream_(moved_from) {
    if (stream_.st.release == nullptr) throw Failure(DBTOOL_ERR_INVALID_ARGUMENT, "stream already released");
    SchemaHolder schema;
    check(stream_.st.get_schema(&stream_.st, &schema.s), "get_schema");
    columns_ = import_schema(schema.s);
  }
  const std::vector<ColumnSpec>& columns() const { return columns_; }

  // Moves the next batch into `out`; false at the end of the stream.
  bool next(ArrayHolder& out) {
    out.reset();
    check(stream_.st.get_next(&stream_.st, &out.a), "get_next");
    return out.a.release != nullptr;
  }

 private:
  void check(int rc, const char* what) {
    if (rc == 0) return;
    const char* msg = stream_.st.get_last_error ? stream_.st.get_last_error(&stream_.st) : nullptr;
    throw Failure(DBTOOL_ERR_DATA, std::string("Arrow stream ") + what + " failed: " + (msg ? msg : std::strerror(rc)));
  }
  StreamHolder stream_;
  std::vector<ColumnSpec> columns_;
};

}  // namespace dbtool::sdk
