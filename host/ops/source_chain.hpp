// The extract step of migrate: try each source in order until one delivers a complete, valid
// export; keep a fresh download as the JSON cache (atomically, the old one kept as .bak).
#pragma once

#include "plugins/plugin_registry.hpp"

#include <boost/json.hpp>

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace dbtool {

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
  std::filesystem::path export_file;
  std::string source;
  std::vector<SourceAttempt> attempts;
  boost::json::array to_json() const;
};

// Throws dbtool::Error listing every attempt when no source served.
ChainResult run_source_chain(const PluginRegistry& plugins, const std::vector<std::string>& chain,
                             const SourceSettings& settings);

// Checks that `file` is one complete JSON document whose top level is an array, reading it in
// chunks (bounded memory). Returns the number of elements; throws dbtool::Error
// "bad JSON at byte N: ..." otherwise.
int64_t validate_export(const std::filesystem::path& file);

// Moves `fresh` over `cache` atomically; an existing cache stays as <cache>.<UTC stamp>.bak.
// Returns the .bak path, if one was kept.
std::optional<std::filesystem::path> install_cache(const std::filesystem::path& fresh,
                                                   const std::filesystem::path& cache);

}  // namespace dbtool
