// The one safe path every destructive command takes (init, migrate): ask, back up, build the
// new schema beside the target, load, verify counts, carry the run history over, record this
// run, cut over atomically. Until the cut-over the target is untouched.
#pragma once

#include "ops/target.hpp"
#include "plugins/backend.hpp"
#include "schema/schema.hpp"

#include <boost/json.hpp>

#include <functional>
#include <map>
#include <optional>
#include <set>
#include <string>

namespace dbtool {

struct RebuildOptions {
  std::string operation;  // "init", "migrate"
  std::string source;     // "defaults", "json-file", "http-legacy", ...
  bool yes = false;
  std::optional<std::filesystem::path> backup_dir;
  // migrate's guard (init replaces data by design): a swap that would leave any table of the
  // target with fewer rows than it holds now, or a new database with no rows at all, is
  // refused unless allow_shrink.
  bool guard_shrink = false;
  bool allow_shrink = false;
  // Tables of the target the schema does not know are listed before anything happens; with
  // `yes` (nobody to ask) the run is refused unless drop_unknown.
  bool drop_unknown = false;
  // Foreign keys that every row the loader brings satisfies by construction (the JSON importer's
  // own links, foreign_keys_built_by()); empty for a database source, whose rows dbtool did not
  // build. A backend announcing DBTOOL_CAP_HOST_GUARANTEED_KEYS is told, and may skip checking
  // them at the cut-over; every other key is still checked.
  std::set<std::string> guaranteed_foreign_keys = {};
  // Called once the run is confirmed, before the target is backed up and the stage begins: a
  // loader that can start its work without the stage (the JSON import's reading and mapping)
  // starts it here, so that it overlaps the backup.
  std::function<void()> before_backup = {};
};

// What the loader put into the stage: rows per table as the source held them (the counts to
// verify against) and facts for the report.
struct LoadOutcome {
  std::map<std::string, int64_t> expected_rows;
  std::map<std::string, std::string> checksums;  // TableDigest of what was loaded, per table
  boost::json::object details;
};

using StageLoader = std::function<LoadOutcome(BackendStage&)>;

// What a target holds that the schema does not describe: its tables outside the schema, and
// every view and trigger (a portable schema has none), from the backend's describe(). The new
// database is built from the schema alone, so none of these would be in it.
struct UnknownObject {
  std::string kind;  // "table", "view", "trigger"
  std::string name;
  std::string detail;  // "12 rows", "on users"
};
std::vector<UnknownObject> unknown_objects(const boost::json::object& described, const Schema& schema);

// Runs the whole path and returns the report (also recorded in the history table).
// Throws dbtool::Error; on any throw before the cut-over the target is as it was.
boost::json::object rebuild(BackendSession& session, const Target& target, const Schema& schema,
                            const RebuildOptions& options, const StageLoader& load);

// Loads one batch (moved in) into the stage as a one-batch stream.
int64_t load_batch(BackendStage& stage, const std::string& table, const std::vector<sdk::ColumnSpec>& columns,
                   sdk::ArrayHolder&& batch);

// Prints a report as people read it.
void print_report(const boost::json::object& report);

}  // namespace dbtool
