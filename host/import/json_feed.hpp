// Feeding a file to a Boost.JSON SAX parser a megabyte at a time, with the import's errors:
// shared by the DOM reader (record_reader.cpp) and the tape reader (record_tape.cpp), so both
// fail alike on the same bytes.
#pragma once

#include "plugins/host_services.hpp"
#include "util/error.hpp"

#include <boost/json/basic_parser_impl.hpp>

#include <cerrno>
#include <cstring>
#include <exception>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

namespace dbtool {

// Parses `file` with `parser`, whose handler keeps in `failure` what its callbacks threw and
// sets `top_is_array` when the document is an array. Throws dbtool::Error: "bad JSON at byte N"
// (ExitCode::kDataError) for malformed or truncated input, or the handler's failure.
template <class Handler>
void feed_json_file(const std::filesystem::path& file, boost::json::basic_parser<Handler>& parser) {
  std::ifstream in(file, std::ios::binary);
  if (!in) throw Error("cannot read " + file.string() + ": " + std::strerror(errno), ExitCode::kFailure);
  std::vector<char> buf(1 << 20);
  uint64_t offset = 0;
  boost::system::error_code ec;
  auto check = [&](std::size_t used, const char* hint) {
    if (parser.handler().failure) std::rethrow_exception(parser.handler().failure);
    if (ec)
      throw Error(
          "bad JSON at byte " + std::to_string(offset + used) + " of " + file.string() + ": " + ec.message() + hint,
          ExitCode::kDataError);
  };
  while (in) {
    // Checked per megabyte, so Ctrl-C or SIGTERM stops even a hostile file within a second.
    if (cancel_requested()) throw Error::untouched("cancelled while reading " + file.string(), ExitCode::kCancelled);
    in.read(buf.data(), static_cast<std::streamsize>(buf.size()));
    std::size_t got = static_cast<std::size_t>(in.gcount());
    if (got == 0) break;
    std::size_t used = parser.write_some(true, buf.data(), got, ec);
    check(used, "");
    offset += got;
  }
  parser.write_some(false, nullptr, 0, ec);
  check(0, " (the file ends early: truncated?)");
  if (!parser.handler().top_is_array)
    throw Error(file.string() + ": an export must be a JSON array of records", ExitCode::kDataError);
}

}  // namespace dbtool
