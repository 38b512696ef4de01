// The extract step of migrate: try each source in order until one serves. An entry is either a
// source plugin, which must deliver a complete, valid export (a fresh download is kept as the
// JSON cache, atomically, the old one as .bak), or a database URI, which serves once it is open
// read-only inside a snapshot with its schema described.
#pragma once

#include "plugins/plugin_registry.hpp"

#include <boost/json.hpp>

#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace dbtool {

class DatabaseSource;

// What the command line or the config gives one source plugin. It goes to that plugin only,
// by its name, never to another (a third party's source sees none of http-legacy's options or
// credentials).
struct SourcePluginOptions {
  boost::json::object options;  // the plugin's own keys, passed as given
  // A secret asked for only once the chain reaches the plugin: from the first set variable of
  // `env` (also read from .env), else a no-echo prompt; put into the options under `key`.
  struct Secret {
    std::string key;
    std::vector<std::string> env;
    std::string prompt;
  };
  std::vector<Secret> secrets;
  std::string missing;  // when set, the plugin is skipped for this reason ("no --legacy-url given")
};

struct SourceSettings {
  std::filesystem::path cache_file;  // the JSON export json-file reads and downloads refresh
  // The field every record of an export must have (the import mapping's key, "uid"): a
  // download counts only once it parses as records carrying it.
  std::string record_key;
  // Set for a plan: downloads go here and never replace the cache (nothing else is written).
  std::optional<std::filesystem::path> scratch_dir;
  std::map<std::string, SourcePluginOptions> plugins;  // by source plugin name
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
