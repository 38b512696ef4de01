// See record_reader.hpp. A SAX handler that materialises one record at a time: a small DOM on a
// monotonic arena that is reset for every record, so memory stays flat whatever the file size.
#include "import/record_reader.hpp"

#include "import/json_feed.hpp"
#include "util/key_set.hpp"

#include <exception>
#include <vector>

namespace dbtool {
namespace json = boost::json;
namespace fs = std::filesystem;

namespace {

struct Handler {
  static constexpr std::size_t max_object_size = std::size_t(-1);
  static constexpr std::size_t max_array_size = std::size_t(-1);
  static constexpr std::size_t max_key_size = std::size_t(-1);
  static constexpr std::size_t max_string_size = std::size_t(-1);

  explicit Handler(const RecordCallback& cb) : on_record(cb) {}

  const RecordCallback& on_record;
  unsigned char arena_buffer[64 * 1024];
  json::monotonic_resource arena{arena_buffer, sizeof(arena_buffer)};
  json::value_stack stack;
  int depth = 0;
  int64_t index = 0;
  bool top_is_array = false;
  std::exception_ptr failure;

  using ec_t = boost::system::error_code;

  // Keys seen in each open object of the current record, by depth.
  std::vector<KeySet> keys_at;
  std::string key_part;
  std::string repeated_key;

  void begin_value() {
    if (depth == 1) {
      stack.reset(json::storage_ptr(&arena));
      repeated_key.clear();
    }
  }
  bool end_value(ec_t& ec) {
    if (depth != 1) return true;
    try {
      json::value v = stack.release();
      on_record(v, index++, repeated_key);
    } catch (...) {
      failure = std::current_exception();
      ec = json::error::exception;
      return false;
    }
    arena.release();
    return true;
  }

  bool on_document_begin(ec_t&) { return true; }
  bool on_document_end(ec_t&) { return true; }
  bool on_array_begin(ec_t&) {
    if (depth == 0) top_is_array = true;
    begin_value();
    ++depth;
    return true;
  }
  bool on_array_end(std::size_t n, ec_t& ec) {
    --depth;
    if (depth == 0) return true;
    stack.push_array(n);
    return end_value(ec);
  }
  bool on_object_begin(ec_t& ec) {
    if (depth == 0) return refuse_top_level_object(ec, failure);
    begin_value();
    ++depth;
    if (keys_at.size() <= static_cast<size_t>(depth)) keys_at.resize(depth + 1);
    keys_at[depth].clear();
    return true;
  }
  bool on_object_end(std::size_t n, ec_t& ec) {
    --depth;
    stack.push_object(n);
    return end_value(ec);
  }
  bool top_level_scalar(ec_t& ec) {
    if (depth != 0) return true;
    ec = json::error::syntax;
    failure = std::make_exception_ptr(Error("an export must be a JSON array of records", ExitCode::kDataError));
    return false;
  }
  bool on_string_part(std::string_view s, std::size_t, ec_t& ec) {
    if (!top_level_scalar(ec)) return false;
    if (!partial_string) begin_value();
    partial_string = true;
    stack.push_chars(s);
    return true;
  }
  bool on_string(std::string_view s, std::size_t, ec_t& ec) {
    if (!top_level_scalar(ec)) return false;
    if (!partial_string) begin_value();
    partial_string = false;
    stack.push_string(s);
    return end_value(ec);
  }
  bool on_key_part(std::string_view s, std::size_t, ec_t&) {
    stack.push_chars(s);
    key_part.append(s);
    return true;
  }
  bool on_key(std::string_view s, std::size_t, ec_t&) {
    stack.push_key(s);
    std::string_view key = s;
    if (!key_part.empty()) key = key_part.append(s);
    if (!keys_at[depth].insert(key) && repeated_key.empty()) repeated_key = key;
    key_part.clear();
    return true;
  }
  bool on_number_part(std::string_view, ec_t&) { return true; }
  bool on_int64(int64_t v, std::string_view, ec_t& ec) {
    if (!top_level_scalar(ec)) return false;
    begin_value();
    stack.push_int64(v);
    return end_value(ec);
  }
  bool on_uint64(uint64_t v, std::string_view, ec_t& ec) {
    if (!top_level_scalar(ec)) return false;
    begin_value();
    stack.push_uint64(v);
    return end_value(ec);
  }
  bool on_double(double v, std::string_view, ec_t& ec) {
    if (!top_level_scalar(ec)) return false;
    begin_value();
    stack.push_double(v);
    return end_value(ec);
  }
  bool on_bool(bool v, ec_t& ec) {
    if (!top_level_scalar(ec)) return false;
    begin_value();
    stack.push_bool(v);
    return end_value(ec);
  }
  bool on_null(ec_t& ec) {
    if (!top_level_scalar(ec)) return false;
    begin_value();
    stack.push_null();
    return end_value(ec);
  }
  bool on_comment_part(std::string_view, ec_t&) { return true; }
  bool on_comment(std::string_view, ec_t&) { return true; }

  // A string split over chunks arrives as parts, then the rest: begin a record once.
  bool partial_string = false;
};

}  // namespace

void read_records(const fs::path& file, const RecordCallback& on_record) {
  json::basic_parser<Handler> parser(json::parse_options{}, on_record);
  feed_json_file(file, parser);
}
}  // namespace dbtool
