// Reading an export incrementally: Boost.JSON's SAX parser, one record (an element of the
// top-level array) materialised at a time.
#pragma once

#include <boost/json.hpp>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <string>

namespace dbtool {

// Gets each record, its index, and, when an object inside it repeats a key, that key (else
// empty): JSON keeps only one copy, so which value was meant is ambiguous and the record must
// not be loaded as if it were clear.
using RecordCallback = std::function<void(boost::json::value&, int64_t index, const std::string& repeated_key)>;

// Calls `on_record` for every element of the top-level array of `file`. Throws dbtool::Error:
// "bad JSON at byte N" (ExitCode::kDataError) for malformed or truncated input, or whatever
// the callback threw.
void read_records(const std::filesystem::path& file, const RecordCallback& on_record);

}  // namespace dbtool
