// The extract step of migrate: try each source in order until one serves. An entry is either a
// source plugin, which must deliver a complete, valid export (a fresh download is kept as the
// JSON cache, atomically, the old one as .bak), or a database URI, which serves once it is open
// read-only inside a snapshot with its schema described.
#pragma once

#include "plugins/plugin_registry.hpp"

#include <boost/json.hpp>

#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace dbtool {

class DatabaseSource;

struct SourceSettings {
  std::filesystem::path cache_file;  // the JSON export json-file reads and downloads refresh
  std::string legacy_url;
  std::string login_path = "/api/authenticate";
  std::string data_path = "/api/user";
  double connect_timeout_s = 10;
  double timeout_s = 300;
  int retries = 3;
  int64_t max_body_bytes = int64_t{2} << 30;
  bool insecure = false;
  std::string ca_file;
  // The field every record of an export must have (the import mapping's key, "uid"): a
  // download counts only once it parses as records carrying it.
  std::string record_key;
  // Set for a plan: downloads go here and never replace the cache (nothing else is written).
  std::optional<std::filesystem::path> scratch_dir;
};

struct SourceAttempt {
  std::string source;
  bool served = false;
  std::string reason;  // why it did not serve
  boost::json::object report;
};

struct ChainResult {
  std::filesystem::path export_file;         // when an export served
  std::shared_ptr<DatabaseSource> database;  // when a database served (open, in its snapshot)
  std::string source;                        // what served (a database URI redacted)
  std::vector<SourceAttempt> attempts;
  boost::json::array to_json() const;
};

// Throws dbtool::Error listing every attempt when no source served.
ChainResult run_source_chain(const PluginRegistry& plugins, const std::vector<std::string>& chain,
                             const SourceSettings& settings);

// Checks that `file` is an export: one complete JSON document whose top level is a non-empty
// array of objects, each with a non-null `record_key` (when not empty), read in chunks
// (bounded memory). Returns the number of records; throws dbtool::Error ("bad JSON at byte N",
// "record 3 is not an object", "record 7 has no \"uid\"", "no records") otherwise.
int64_t validate_export(const std::filesystem::path& file, const std::string& record_key);

// Moves `fresh` over `cache` atomically; an existing cache stays as <cache>.<UTC stamp>.bak.
// Returns the .bak path, if one was kept.
std::optional<std::filesystem::path> install_cache(const std::filesystem::path& fresh,
                                                   const std::filesystem::path& cache);

}  // namespace dbtool
