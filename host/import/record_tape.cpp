// See record_tape.hpp. The SAX handler mirrors record_reader.cpp's (the same records, errors and
// repeated-key detection), writing nodes into a reused tape instead of a DOM.
#include "import/record_tape.hpp"

#include "import/json_feed.hpp"
#include "util/key_set.hpp"

#include <exception>

namespace dbtool {
namespace json = boost::json;
namespace fs = std::filesystem;

int FieldNames::add(std::string_view name) {
  if (int id = find(name); id != kNoName) return id;
  names_.emplace_back(name);
  int id = static_cast<int>(names_.size() - 1);
  ids_.emplace(names_.back(), id);
  return id;
}

int FieldNames::find(std::string_view name) const {
  auto found = ids_.find(name);
  return found == ids_.end() ? kNoName : found->second;
}

const char* kind_name(json::kind k) {
  switch (k) {
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

size_t RecordTape::member(size_t obj, int name) const {
  for (size_t c = obj + 1; c < nodes[obj].end; c = nodes[c].end)
    if (nodes[c].name == name) return c;
  return 0;
}

namespace {

void replay(const RecordTape& t, size_t i, json::value_stack& st) {
  const TapeNode& n = t.nodes[i];
  switch (n.kind) {
    case json::kind::object:
      for (size_t c = i + 1; c < n.end; c = t.nodes[c].end) {
        st.push_key(t.key(t.nodes[c]));
        replay(t, c, st);
      }
      st.push_object(n.size);
      break;
    case json::kind::array:
      for (size_t c = i + 1; c < n.end; c = t.nodes[c].end) replay(t, c, st);
      st.push_array(n.size);
      break;
    case json::kind::string:
      st.push_string(t.str(n));
      break;
    case json::kind::int64:
      st.push_int64(n.i);
      break;
    case json::kind::uint64:
      st.push_uint64(n.u);
      break;
    case json::kind::double_:
      st.push_double(n.d);
      break;
    case json::kind::bool_:
      st.push_bool(n.b);
      break;
    case json::kind::null:
      st.push_null();
      break;
  }
}

}  // namespace

json::value RecordTape::to_value(size_t node) const {
  json::value_stack st;
  st.reset();
  replay(*this, node, st);
  return st.release();
}

namespace {

// Writes a DOM back as tape nodes: how a record with repeated keys takes the DOM's shape.
class TapeWriter {
 public:
  TapeWriter(RecordTape& t, const FieldNames& names) : t_(t), names_(names) {}

  void value(const json::value& v, std::string_view key, bool member) {
    size_t i = t_.nodes.size();
    TapeNode& n = t_.nodes.emplace_back();
    n.kind = v.kind();
    if (member) {
      n.name = names_.find(key);
      n.key_at = append(key);
      n.key_size = key.size();
    }
    switch (v.kind()) {
      case json::kind::object:
        for (const auto& kv : v.get_object()) value(kv.value(), kv.key(), true);
        t_.nodes[i].size = v.get_object().size();
        break;
      case json::kind::array:
        for (const auto& e : v.get_array()) value(e, {}, false);
        t_.nodes[i].size = v.get_array().size();
        break;
      case json::kind::string:
        n.str_at = append(v.get_string());
        n.str_size = v.get_string().size();
        break;
      case json::kind::int64:
        n.i = v.get_int64();
        break;
      case json::kind::uint64:
        n.u = v.get_uint64();
        break;
      case json::kind::double_:
        n.d = v.get_double();
        break;
      case json::kind::bool_:
        n.b = v.get_bool();
        break;
      case json::kind::null:
        break;
    }
    t_.nodes[i].end = t_.nodes.size();
  }

 private:
  size_t append(std::string_view s) {
    size_t at = t_.text.size();
    t_.text.append(s);
    return at;
  }
  RecordTape& t_;
  const FieldNames& names_;
};

// Gives a record's repeated keys the DOM's shape (see read_record_tapes).
void collapse_repeats(RecordTape& t, const FieldNames& names) {
  json::value dom = t.to_value();
  t.nodes.clear();
  t.text.clear();
  TapeWriter(t, names).value(dom, {}, false);
}

struct TapeHandler {
  static constexpr std::size_t max_object_size = std::size_t(-1);
  static constexpr std::size_t max_array_size = std::size_t(-1);
  static constexpr std::size_t max_key_size = std::size_t(-1);
  static constexpr std::size_t max_string_size = std::size_t(-1);
  // Member positions whose names are remembered per depth: more than any record's fields.
  static constexpr size_t kGuessedPositions = 64;

  TapeHandler(FieldNames& n, const TapeCallback& cb) : names(n), on_record(cb) {}

  FieldNames& names;
  const TapeCallback& on_record;
  RecordTape tape;
  int depth = 0;
  int64_t index = 0;
  bool top_is_array = false;
  std::exception_ptr failure;

  using ec_t = boost::system::error_code;

  // An open array or object of the current record.
  struct Open {
    size_t node = 0;
    bool object = false;
    uint64_t serial = 0;  // an object's: marks the names it has in `seen_in`
    size_t members = 0;
  };
  std::vector<Open> open;
  uint64_t serials = 0;
  std::vector<uint64_t> seen_in;  // by name id: the serial of the last object that had it
  // Keys without an id (past FieldNames::kMaxNames), of each open object by depth.
  std::vector<KeySet> unnamed_at;
  std::vector<bool> unnamed_used;
  std::vector<std::vector<int>> guesses;  // by depth and member position: the name last there
  bool repeats = false;

  // The pending member's key, and the string being read in parts.
  size_t key_at = 0, key_size = 0;
  bool key_open = false;
  int key_name = FieldNames::kNoName;
  size_t str_at = 0;
  bool partial_string = false;

  void begin_record() {
    tape.nodes.clear();
    tape.text.clear();
    tape.repeated_key.clear();
    repeats = false;
  }
  // A value begins: a record when it is an element of the top-level array.
  void start_value() {
    if (depth == 1) begin_record();
  }
  size_t push_node(json::kind k) {
    size_t i = tape.nodes.size();
    TapeNode& n = tape.nodes.emplace_back();
    n.kind = k;
    if (!open.empty() && open.back().object) {
      n.name = key_name;
      n.key_at = key_at;
      n.key_size = key_size;
    }
    n.end = i + 1;
    return i;
  }
  bool end_value(ec_t& ec) {
    if (depth != 1) return true;
    try {
      if (repeats) collapse_repeats(tape, names);
      on_record(tape, index++);
    } catch (...) {
      failure = std::current_exception();
      ec = json::error::exception;
      return false;
    }
    return true;
  }
  bool top_level_scalar(ec_t& ec) {
    if (depth != 0) return true;
    ec = json::error::syntax;
    failure = std::make_exception_ptr(Error("an export must be a JSON array of records", ExitCode::kDataError));
    return false;
  }
  bool scalar(json::kind k, ec_t& ec, auto set) {
    if (!top_level_scalar(ec)) return false;
    start_value();
    set(tape.nodes[push_node(k)]);
    return end_value(ec);
  }

  bool on_document_begin(ec_t&) { return true; }
  bool on_document_end(ec_t&) { return true; }
  bool on_array_begin(ec_t&) {
    if (depth == 0) {
      top_is_array = true;
      ++depth;
      return true;
    }
    start_value();
    open.push_back({push_node(json::kind::array), false, 0, 0});
    ++depth;
    return true;
  }
  bool on_array_end(std::size_t n, ec_t& ec) {
    --depth;
    if (depth == 0) return true;
    return close(n, ec);
  }
  bool on_object_begin(ec_t& ec) {
    if (depth == 0) return refuse_top_level_object(ec, failure);
    start_value();
    open.push_back({push_node(json::kind::object), true, ++serials, 0});
    ++depth;
    size_t d = static_cast<size_t>(depth);
    if (unnamed_at.size() <= d) {
      unnamed_at.resize(d + 1);
      unnamed_used.resize(d + 1);
    }
    if (unnamed_used[d]) unnamed_at[d].clear();
    unnamed_used[d] = false;
    return true;
  }
  bool on_object_end(std::size_t n, ec_t& ec) {
    --depth;
    return close(n, ec);
  }
  bool close(std::size_t n, ec_t& ec) {
    TapeNode& node = tape.nodes[open.back().node];
    node.size = n;
    node.end = tape.nodes.size();
    open.pop_back();
    return end_value(ec);
  }
  bool on_string_part(std::string_view s, std::size_t, ec_t& ec) {
    if (!top_level_scalar(ec)) return false;
    if (!partial_string) {
      start_value();
      str_at = tape.text.size();
    }
    partial_string = true;
    tape.text.append(s);
    return true;
  }
  bool on_string(std::string_view s, std::size_t, ec_t& ec) {
    if (!top_level_scalar(ec)) return false;
    if (!partial_string) {
      start_value();
      str_at = tape.text.size();
    }
    partial_string = false;
    tape.text.append(s);
    TapeNode& n = tape.nodes[push_node(json::kind::string)];
    n.str_at = str_at;
    n.str_size = tape.text.size() - str_at;
    return end_value(ec);
  }
  bool on_key_part(std::string_view s, std::size_t, ec_t&) {
    if (!key_open) key_at = tape.text.size();
    key_open = true;
    tape.text.append(s);
    return true;
  }
  bool on_key(std::string_view s, std::size_t, ec_t&) {
    if (!key_open) key_at = tape.text.size();
    key_open = false;
    tape.text.append(s);
    key_size = tape.text.size() - key_at;
    std::string_view key(tape.text.data() + key_at, key_size);
    key_name = name_of(key);
    if (!first_time(key) && tape.repeated_key.empty()) tape.repeated_key = key;
    return true;
  }
  // The id of the key at the current object's next position: the name last met there when it
  // matches (records repeat their layout), else looked up or interned.
  int name_of(std::string_view key) {
    Open& o = open.back();
    size_t pos = o.members++;
    size_t d = static_cast<size_t>(depth);
    if (guesses.size() <= d) guesses.resize(d + 1);
    std::vector<int>& guess = guesses[d];
    if (pos < guess.size() && guess[pos] != FieldNames::kNoName && names.name(guess[pos]) == key) return guess[pos];
    int id = names.intern(key);
    if (pos < kGuessedPositions) {
      if (guess.size() <= pos) guess.resize(pos + 1, FieldNames::kNoName);
      guess[pos] = id;
    }
    return id;
  }
  // Whether the current object meets `key` (named key_name) for the first time.
  bool first_time(std::string_view key) {
    bool first;
    if (key_name != FieldNames::kNoName) {
      if (seen_in.size() <= static_cast<size_t>(key_name)) seen_in.resize(names.size());
      uint64_t& seen = seen_in[static_cast<size_t>(key_name)];
      first = seen != open.back().serial;
      seen = open.back().serial;
    } else {
      size_t d = static_cast<size_t>(depth);
      unnamed_used[d] = true;
      first = unnamed_at[d].insert(key);
    }
    if (!first) repeats = true;
    return first;
  }
  bool on_number_part(std::string_view, ec_t&) { return true; }
  bool on_int64(int64_t v, std::string_view, ec_t& ec) {
    return scalar(json::kind::int64, ec, [&](TapeNode& n) { n.i = v; });
  }
  bool on_uint64(uint64_t v, std::string_view, ec_t& ec) {
    return scalar(json::kind::uint64, ec, [&](TapeNode& n) { n.u = v; });
  }
  bool on_double(double v, std::string_view, ec_t& ec) {
    return scalar(json::kind::double_, ec, [&](TapeNode& n) { n.d = v; });
  }
  bool on_bool(bool v, ec_t& ec) {
    return scalar(json::kind::bool_, ec, [&](TapeNode& n) { n.b = v; });
  }
  bool on_null(ec_t& ec) {
    return scalar(json::kind::null, ec, [](TapeNode&) {});
  }
  bool on_comment_part(std::string_view, ec_t&) { return true; }
  bool on_comment(std::string_view, ec_t&) { return true; }
};

}  // namespace

void read_record_tapes(const fs::path& file, FieldNames& names, const TapeCallback& on_record) {
  json::basic_parser<TapeHandler> parser(json::parse_options{}, names, on_record);
  feed_json_file(file, parser);
}

}  // namespace dbtool
