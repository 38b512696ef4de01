// The schema file's own rules on top of the SDK's parser, the history table, file reading.
#include "schema/schema.hpp"

#include "util/error.hpp"

#include <openssl/evp.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

namespace dbtool {
Schema parse_schema(std::string_view text, const std::string& origin) {
  auto fail = [&](const std::string& path, const std::string& what) {
    throw Error(origin + ": " + path + ": " + what, ExitCode::kUsage);
  };
  Schema s;
  try {
    static_cast<sdk::PortableSchema&>(s) = sdk::parse_portable_schema(text, origin);
  } catch (const sdk::Failure& e) {
    throw Error(e.what(), ExitCode::kUsage);
  }
  // dbtool computes the checksum from the file's bytes; a written one could only disagree.
  if (!s.checksum.empty()) fail("checksum", "unknown field (dbtool computes the checksum from the file)");
  if (s.name.empty()) fail("name", "missing");
  if (s.version == 0) fail("version", "expected a positive integer");
  for (size_t i = 0; i < s.tables.size(); ++i) {
    const std::string at = "tables[" + std::to_string(i) + "] (" + s.tables[i].name + ")";
    if (s.tables[i].name == kHistoryTable) fail(at + ".name", "reserved for dbtool's run history");
    // Only dbtool may vouch for a key, and only for rows its importer built (rebuild.cpp): a
    // schema (a file, or what a database describes) that did so would turn the check off for every
    // source, a database's too.
    for (size_t f = 0; f < s.tables[i].foreign_keys.size(); ++f)
      if (s.tables[i].foreign_keys[f].guaranteed_by_host)
        fail(at + ".foreign_keys[" + std::to_string(f) + "].guaranteed_by_host",
             "set by dbtool for the keys its importer builds, never given in a schema");
  }
  s.origin = origin;
  s.checksum = sha256_hex(text);
  return s;
}

Schema load_schema(const std::filesystem::path& file) { return parse_schema(read_file(file), file.string()); }

// The history row is written by column name (rebuild.cpp), so the order here is free.
void add_history_table(Schema& schema) {
  PortableTable t;
  t.name = std::string(kHistoryTable);
  auto col = [&](std::string name, PortableType type, bool nullable) {
    PortableColumn c;
    c.name = std::move(name);
    c.type = sdk::type_name(type);
    c.nullable = nullable;
    t.columns.push_back(std::move(c));
  };
  col("id", PortableType::Int64, false);
  t.columns.back().auto_increment = true;
  col("started_at", PortableType::Timestamp, false);
  col("finished_at", PortableType::Timestamp, false);
  col("operation", PortableType::Text, false);
  col("schema_name", PortableType::Text, false);
  col("schema_version", PortableType::Int64, false);
  col("schema_checksum", PortableType::Text, false);
  col("source", PortableType::Text, true);
  col("report", PortableType::Json, false);
  col("dbtool_version", PortableType::Text, false);
  t.primary_key = {"id"};
  schema.tables.push_back(std::move(t));
}

std::string read_file(const std::filesystem::path& file) {
  std::ifstream in(file, std::ios::binary);
  if (!in) throw Error("cannot read " + file.string() + ": " + std::strerror(errno), ExitCode::kUsage);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::string sha256_hex(std::string_view bytes) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  if (EVP_Digest(bytes.data(), bytes.size(), digest, &len, EVP_sha256(), nullptr) != 1) throw Error("sha256 failed");
  static const char* hex = "0123456789abcdef";
  std::string out;
  for (unsigned i = 0; i < len; ++i) {
    out += hex[digest[i] >> 4];
    out += hex[digest[i] & 15];
  }
  return out;
}

}  // namespace dbtool
