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

// make_backup in its two steps. write_backup has the backend write and verify the backup under
// a hidden name (".<name>.partial-<pid>"); place_backup flushes it to disk and renames it into
// place, and removes it when that fails. Placing is the device's time, not the cores': a
// migration places its backup on a thread of its own while the new database loads, and waits
// for it before the cut-over, which is the moment the backup must be on disk. A run killed
// before leaves the hidden file, which the next backup removes.
struct WrittenBackup {
  std::filesystem::path partial;  // where the backend wrote it
  std::filesystem::path file;     // its name once placed
  boost::json::object report;
};
WrittenBackup write_backup(BackendSession& session, const Target& target,
                           const std::optional<std::filesystem::path>& dir);
BackupResult place_backup(const WrittenBackup& written);

// Total rows of a describe() report, and a "users (12 rows), ..." listing.
int64_t total_rows(const boost::json::object& description);
std::string table_listing(const boost::json::object& description);
bool holds_tables(const boost::json::object& description);

}  // namespace dbtool
