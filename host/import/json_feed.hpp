// Feeding a file to a Boost.JSON SAX parser a megabyte at a time (read ahead on a thread of its
// own, so the kernel's copy of the bytes is off the parsing thread), with the import's errors:
// shared by the DOM reader (record_reader.cpp) and the tape reader (record_tape.cpp), so both
// fail alike on the same bytes.
#pragma once

#include "plugins/host_services.hpp"
#include "util/error.hpp"
#include "util/read_ahead.hpp"

#include <boost/json/basic_parser_impl.hpp>

#include <cerrno>
#include <cstring>
#include <exception>
#include <filesystem>
#include <string>

namespace dbtool {

// What a SAX handler's on_object_begin does when the document itself is an object: an export is
// an array of records.
inline bool refuse_top_level_object(boost::system::error_code& ec, std::exception_ptr& failure) {
  ec = boost::json::error::syntax;
  failure =
      std::make_exception_ptr(Error("an export must be a JSON array of records, not an object", ExitCode::kDataError));
  return false;
}

// Parses `file` with `parser`, whose handler keeps in `failure` what its callbacks threw and
// sets `top_is_array` when the document is an array. Throws dbtool::Error: "bad JSON at byte N"
// (ExitCode::kDataError) for malformed or truncated input, or the handler's failure.
template <class Handler>
void feed_json_file(const std::filesystem::path& file, boost::json::basic_parser<Handler>& parser) {
  ReadAhead in(file);
  uint64_t offset = 0;
  boost::system::error_code ec;
  auto check = [&](std::size_t used, const char* hint) {
    if (parser.handler().failure) std::rethrow_exception(parser.handler().failure);
    if (ec)
      throw Error(
          "bad JSON at byte " + std::to_string(offset + used) + " of " + file.string() + ": " + ec.message() + hint,
          ExitCode::kDataError);
  };
  while (true) {
    // Checked per megabyte, so Ctrl-C or SIGTERM stops even a hostile file within a second.
    if (cancel_requested()) throw Error::untouched("cancelled while reading " + file.string(), ExitCode::kCancelled);
    ReadAhead::Chunk chunk = in.next();
    if (chunk.size == 0) break;
    std::size_t used = parser.write_some(true, chunk.bytes.get(), chunk.size, ec);
    check(used, "");
    offset += chunk.size;
    in.recycle(std::move(chunk));
  }
  parser.write_some(false, nullptr, 0, ec);
  check(0, " (the file ends early: truncated?)");
  if (!parser.handler().top_is_array)
    throw Error(file.string() + ": an export must be a JSON array of records", ExitCode::kDataError);
}

}  // namespace dbtool
