// `restore` as one operation: check the backup, ask, back up the current state, let the backend
// swap the backup in, and give the restored database a history that stays true: the backup's
// runs, the runs recorded since (read from the database before it was replaced) and the restore.
#pragma once

#include "ops/target.hpp"

#include <boost/json.hpp>

#include <filesystem>
#include <optional>

namespace dbtool {

struct RestoreOptions {
  boost::json::object open_options;  // the target's, as a replacing command opens it
  bool yes = false;
  std::optional<std::filesystem::path> backup_dir;
};

// Restores `file` (absolute) into `target` and returns the report: "database", "restored_from",
// "backup" (of the state replaced, when there was one), the backend's restore report, "tables"
// (rows after) and "history" ({"from_backup", "since_backup", "recorded"}).
// When the backend makes restore stages (ABI 1.3) and the backup's history can be read ahead
// from the file, the runs since the backup and the restore's own row are appended to a stage
// that starts as the verified backup, swapped in once: any failure leaves the target untouched
// (Error::target_untouched()). Otherwise the backend's restore swaps the backup in and the
// history is rebuilt through a stage: a failure before that restore leaves the target untouched;
// after it, the message says the data was restored and where the runs since the backup are
// kept, and the restored database stays as the backend left it. A backend that cannot describe
// its database (no "read" capability) keeps the backup's history, with a warning.
boost::json::object restore_backup(const Target& target, const std::filesystem::path& file,
                                   const RestoreOptions& options);

// What restore_backup would do, found without writing anything: the backup checked by the
// backend, the target read through a read-only session (no lock, no stage, no backup), and
// per table rows now -> after (after: the counts the backup's check reports, null when it
// reports none). For a file database the backup is itself a database file of the same backend,
// opened read-only to count the history the restore would leave; elsewhere that count is null.
// Returns {"operation": "plan", "command": "restore", "database", "backend", "exists",
// "restored_from", "backup_file" (the check's report), "backup" (what would be backed up
// first, or null), "tables": [{"name", "rows_before", "rows_after"}], "history", "guards",
// "would_refuse"}. Throws dbtool::Error when the file is not a backup the backend accepts.
boost::json::object plan_restore(const Target& target, const std::filesystem::path& file, bool yes);

}  // namespace dbtool
