// Backups made through the backend: named <db>-<UTC stamp><ext>, owner-only, verified by the
// backend, checked again here.
#pragma once

#include "ops/target.hpp"
#include "plugins/backend.hpp"

#include <boost/json.hpp>

#include <filesystem>
#include <future>
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

// A backup written and verified (write_backup) when it is made, then placed (place_backup) on a
// thread of its own while the caller builds what replaces the target; wait() before the
// cut-over returns it placed, or throws what failed. Destroyed without wait() (a failure on the
// way), it still lets the placing finish: the backup of an untouched target is kept.
class PlacingBackup {
 public:
  PlacingBackup(BackendSession& session, const Target& target, const std::optional<std::filesystem::path>& dir);
  PlacingBackup(const PlacingBackup&) = delete;
  PlacingBackup& operator=(const PlacingBackup&) = delete;
  // Its name once placed (what the run's report and history record).
  const std::filesystem::path& file() const { return written_.file; }
  BackupResult wait();

 private:
  WrittenBackup written_;
  std::future<BackupResult> placed_;
};

// Total rows of a describe() report, and a "users (12 rows), ..." listing.
int64_t total_rows(const boost::json::object& description);
std::string table_listing(const boost::json::object& description);
bool holds_tables(const boost::json::object& description);

}  // namespace dbtool
