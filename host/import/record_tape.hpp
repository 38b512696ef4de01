// Reading an export for the import: each record (an element of the top-level array) as a flat
// tape of its values, written straight from Boost.JSON's SAX events into buffers reused from
// record to record. Field names are resolved to small ids as they are parsed (most records
// repeat the same keys in the same order, so a name is usually checked with one comparison),
// which lets the mapper find its fields by id instead of comparing strings, and spares the
// per-record DOM (its allocations, strings and object indexes) that record_reader.hpp builds.
#pragma once

#include <boost/json.hpp>

#include <cstdint>
#include <deque>
#include <filesystem>
#include <functional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace dbtool {

// Field names met in records, each with a small id. The mapping's names are added first and
// always have one; names met only in records get one while fewer than kMaxNames are known, so a
// file with ever new keys cannot grow the table (its keys then get kNoName).
class FieldNames {
 public:
  static constexpr int kNoName = -1;
  static constexpr size_t kMaxNames = 512;

  int add(std::string_view name);  // whatever the count
  int find(std::string_view name) const;
  int intern(std::string_view name) { return names_.size() < kMaxNames ? add(name) : find(name); }
  std::string_view name(int id) const { return names_[static_cast<size_t>(id)]; }
  size_t size() const { return names_.size(); }

 private:
  std::deque<std::string> names_;  // stable addresses: ids_ keys view them
  std::unordered_map<std::string_view, int> ids_;
};

// One value of a record. A container's children follow it; `end` is the index after its last
// descendant, so the next sibling of node i is nodes[nodes[i].end].
struct TapeNode {
  boost::json::kind kind = boost::json::kind::null;
  int name = FieldNames::kNoName;  // a member's key as an id (kNoName for array elements too)
  bool b = false;
  int64_t i = 0;
  uint64_t u = 0;
  double d = 0;
  size_t key_at = 0, key_size = 0;  // a member's key, in RecordTape::text
  size_t str_at = 0, str_size = 0;  // a string's bytes, in RecordTape::text
  size_t size = 0;                  // a container's elements or members
  size_t end = 0;
};

struct RecordTape {
  std::vector<TapeNode> nodes;  // nodes[0] is the record
  std::string text;             // every key and string of the record
  // The first key an object of the record repeats (empty if none): JSON keeps one copy, so
  // which value was meant is ambiguous and the record must not be loaded as if it were clear.
  std::string repeated_key;

  std::string_view key(const TapeNode& n) const { return {text.data() + n.key_at, n.key_size}; }
  std::string_view str(const TapeNode& n) const { return {text.data() + n.str_at, n.str_size}; }
  // The member of object `obj` named `name`, or 0 if none.
  size_t member(size_t obj, int name) const;
  // The value at `node` as the DOM record_reader.hpp builds: for reject lines and json columns.
  boost::json::value to_value(size_t node = 0) const;
};

// "a string", "an object", …: what a value is, for messages (as json_kind in record_mapper.hpp).
const char* kind_name(boost::json::kind k);

// Gets each record and its index; the tape is reused for the next record.
using TapeCallback = std::function<void(const RecordTape&, int64_t index)>;

// Calls `on_record` for every element of the top-level array of `file`, resolving keys through
// `names` (interning new ones). A record whose objects repeat a key comes as its DOM would be:
// one member per key, the last value at the first one's place (boost::json's rule), so the
// mapper sees the same fields either way. Throws dbtool::Error exactly as read_records does: "bad JSON at
// byte N" (ExitCode::kDataError) for malformed or truncated input, or whatever the callback threw.
void read_record_tapes(const std::filesystem::path& file, FieldNames& names, const TapeCallback& on_record);

}  // namespace dbtool
