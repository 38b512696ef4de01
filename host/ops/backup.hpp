// Backups made through the backend: named <db>-<UTC stamp><ext>, owner-only, verified by the
// backend, checked again here.
#pragma once

#include "ops/target.hpp"
#include "plugins/backend.hpp"

#include <boost/json.hpp>

#include <filesystem>
#include <optional>

namespace dbtool {

struct BackupResult {
  std::filesystem::path path;
  boost::json::object report;
};

BackupResult make_backup(BackendSession& session, const Target& target,
                         const std::optional<std::filesystem::path>& dir);

// Total rows of a describe() report, and a "users (12 rows), ..." listing.
int64_t total_rows(const boost::json::object& description);
std::string table_listing(const boost::json::object& description);
bool holds_tables(const boost::json::object& description);

}  // namespace dbtool
