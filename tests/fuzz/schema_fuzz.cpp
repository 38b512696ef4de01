// libFuzzer target for the schema parser: any bytes as schema.json text. A clear dbtool::Error
// is the expected answer to bad input; a crash, a sanitizer report or any other exception is a
// finding. A schema that parses is also turned into the backend JSON, as every command does.
#include "schema/schema.hpp"
#include "util/error.hpp"

#include <cstdint>
#include <string_view>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  try {
    dbtool::Schema s = dbtool::parse_schema(std::string_view(reinterpret_cast<const char*>(data), size), "fuzz");
    dbtool::add_history_table(s);
    (void)dbtool::sdk::portable_schema_json(s);
  } catch (const dbtool::Error&) {
  }
  return 0;
}
