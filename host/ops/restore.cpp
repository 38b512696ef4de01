// restore_backup: verify, ask, back up, then either restore into a stage that the merged run
// history joins before its one swap (ABI 1.3), or restore and merge the history through a
// rebuild (a backend without restore_stage).
#include "ops/restore.hpp"

#include "ops/backup.hpp"
#include "ops/db_source.hpp"
#include "ops/history.hpp"
#include "ops/rebuild.hpp"
#include "plugins/backend.hpp"
#include "plugins/host_services.hpp"
#include "util/environment.hpp"
#include "util/error.hpp"
#include "util/fault.hpp"

#include <functional>
#include <map>
#include <optional>

namespace dbtool {
namespace fs = std::filesystem;
namespace json = boost::json;

namespace {

// The schema the restored rows were made with, as far as the backup's history (its last run)
// says: name, version and checksum; "restored", 1 and "" for what it does not say.
struct HistorySchema {
  std::string name = "restored";
  int64_t version = 1;
  std::string checksum;
};
HistorySchema schema_named_by(const json::array& history) {
  HistorySchema out;
  if (history.empty()) return out;
  const json::object& last = history.back().as_object();
  if (auto* v = last.if_contains("schema_name"); v && v->is_string()) out.name = std::string(v->get_string());
  if (auto* v = last.if_contains("schema_version"); v && v->is_number()) out.version = v->to_number<int64_t>();
  if (auto* v = last.if_contains("schema_checksum"); v && v->is_string()) out.checksum = std::string(v->get_string());
  return out;
}

// What the report and the restore's history row say of the merged history.
json::object merged_history(const json::array& from_backup, const json::array& since) {
  return json::object{{"from_backup", static_cast<int64_t>(from_backup.size())},
                      {"since_backup", static_cast<int64_t>(since.size())},
                      {"recorded", true}};
}

// The restore's own history record: what was restored from where, and the report's facts.
json::object restore_record(const Target& target, const fs::path& file, const json::object& report) {
  json::object record{{"operation", "restore"},
                      {"database", target.display},
                      {"backend", target.plugin->name},
                      {"source", file.string()}};
  for (const char* key : {"restored_from", "backup", "tables", "rows", "history"})
    if (auto* v = report.if_contains(key)) record[key] = *v;
  return record;
}

// The restored database rebuilt beside itself with every table copied as it is and the merged
// history, swapped in; returns what the report says about the history. `live_history` is the
// history of the database the restore replaced.
json::object merge_history(const Target& target, const fs::path& file, const RestoreOptions& options,
                           const json::array& live_history, const std::string& started, json::object& report) {
  // A session of its own: its stage is judged against the restored database, not against the
  // state the first session backed up.
  BackendSession session(*target.plugin, options.open_options);
  const std::string kept_note = report.if_contains("backup")
                                    ? "the runs since are kept in the backup of the previous state, " +
                                          std::string(report.at("backup").as_string())
                                    : "the replaced database held no runs";
  if (!session.can_read_database()) {
    log_warn("the " + target.plugin->name +
             " backend cannot describe its database (no \"read\" capability), so the run history is the backup's "
             "and the restore is not recorded; " +
             kept_note);
    return json::object{{"recorded", false}};
  }
  const json::object described = session.describe();
  json::array history = read_history(session, described);
  json::array since = runs_since(history, live_history);
  for (auto& row : since) row.as_object().erase("id");  // new ids, after the backup's

  auto [schema_name, schema_version, schema_checksum] = schema_named_by(history);
  // Rebuilding needs the whole structure in the portable schema; a database holding what it
  // cannot express (a table without a primary key, say) keeps the history the backup had.
  std::string unportable;
  Schema schema;
  try {
    schema = schema_of_database(session.describe_schema(), target.display, schema_name, schema_version);
  } catch (const Error& e) {
    unportable = e.what();
  }
  if (auto* t = described.if_contains("tables"); unportable.empty() && t && t->is_array())
    for (const auto& row : t->get_array()) {
      std::string name(row.at("name").as_string());
      if (name != kHistoryTable && schema.find_table(name) == nullptr)
        unportable = "table " + name + " is not in the structure the " + target.plugin->name + " backend describes";
    }
  // A rebuild is made from the portable structure, which holds no views or triggers: a backup
  // that has them is restored as it is rather than rebuilt without them.
  if (unportable.empty())
    for (const auto& u : unknown_objects(described, schema))
      if (u.kind != "table") unportable += (unportable.empty() ? "it holds " : ", ") + u.kind + " " + u.name;
  if (!unportable.empty()) {
    log_warn("the restored database cannot be rebuilt to merge the run history (" + unportable +
             "), so the history is the backup's and the restore is not recorded; " + kept_note);
    return json::object{{"recorded", false}};
  }
  if (schema_checksum.empty()) schema_checksum = schema.checksum;
  std::map<std::string, int64_t> in_backup;
  if (auto* t = report.if_contains("tables"); t && t->is_array())
    for (const auto& row : t->get_array())
      if (row.is_object() && row.as_object().contains("rows"))
        in_backup[std::string(row.at("name").as_string())] = row.at("rows").to_number<int64_t>();

  Schema full = schema;
  add_history_table(full);
  std::unique_ptr<BackendStage> stage = session.begin_stage(sdk::portable_schema_json(full));
  json::array tables;
  int64_t total = 0;
  for (const auto& t : schema.tables) {
    ArrowArrayStream stream{};
    session.read_table(t.name, &stream);
    const int64_t loaded = stage->load(t.name, &stream);
    const int64_t counted = stage->count(t.name);
    auto b = in_backup.find(t.name);
    if (counted != loaded || (b != in_backup.end() && b->second != counted))
      throw Error("verification failed: " + t.name + " holds " + std::to_string(counted) + " rows after the copy, " +
                  std::to_string(b != in_backup.end() ? b->second : loaded) + " expected");
    tables.push_back(json::object{{"name", t.name}, {"rows", counted}});
    total += counted;
  }
  report["tables"] = tables;
  report["rows"] = total;
  const json::object merged = merged_history(history, since);
  report["history"] = merged;

  json::array rows = std::move(history);
  for (auto& row : since) rows.push_back(std::move(row));
  const json::object record = restore_record(target, file, report);
  rows.push_back(history_row("restore", started, schema_name, schema_version, schema_checksum, file.string(), record));
  write_history(*stage, rows);
  if (stage->count(std::string(kHistoryTable)) != static_cast<int64_t>(rows.size()))
    throw Error("verification failed: the merged run history does not hold " + std::to_string(rows.size()) + " rows");
  fault_point("before-history-commit");
  stage->commit();
  return merged;
}

// The run history the backup `file` holds, read ahead (before anything changes) through a
// read-only session of the target's backend on the file itself: possible for a backend of
// one-file databases that can be read as a source, whose backups are such databases (SQLite).
// With `checksum`, and a history whose last run names no schema checksum, also the checksum of
// the structure the backup holds ("" when the portable schema cannot express it). Throws dbtool::Error when the file
// cannot be read so.
json::array read_backup_history(const Target& target, const fs::path& file, std::string* checksum = nullptr) {
  json::object backup_open{{"uri", target.plugin->name + ":///" + fs::absolute(file).string()}, {"read_only", true}};
  BackendSession backup(*target.plugin, backup_open);
  json::array history = read_history(backup, backup.describe());
  if (checksum != nullptr && schema_named_by(history).checksum.empty()) try {
      *checksum = schema_of_database(backup.describe_schema(), file.string(), "restored", 1).checksum;
    } catch (const Error&) {
      checksum->clear();
    }
  return history;
}

// The backup's history read ahead when the one-swap restore can be taken (the backend makes
// restore stages and can read the backup file), else nullopt: the restore then takes the
// rebuild path.
std::optional<json::array> history_ahead(const Target& target, BackendSession& session, const fs::path& file,
                                         std::string& checksum) {
  if (!target.file || !session.can_restore_stage() || !session.can_read_database()) return std::nullopt;
  try {
    return read_backup_history(target, file, &checksum);
  } catch (const Error& e) {
    log_info(std::string("the backup's run history cannot be read ahead, so it is merged after the restore: ") +
             e.what());
    return std::nullopt;
  }
}

// The one-swap restore (ABI 1.3): a stage that starts as the verified backup, to which the runs
// recorded since the backup and the restore's own row are appended, then one commit. `history`
// is the backup's, read ahead; `live_history` the replaced database's. Nothing is swapped before
// the commit, so every failure leaves the target untouched; `backup_on_disk` waits for the backup
// of the current state before it. Fills `out` as the rebuild path does and returns its "history".
json::object restore_in_one_swap(BackendSession& session, const Target& target, const fs::path& file,
                                 json::array history, const std::string& structure_checksum,
                                 const json::array& live_history, const std::string& started, json::object& out,
                                 const std::function<void()>& backup_on_disk) {
  json::array since = runs_since(history, live_history);
  for (auto& row : since) row.as_object().erase("id");  // new ids, after the backup's

  auto [schema_name, schema_version, schema_checksum] = schema_named_by(history);
  if (schema_checksum.empty()) schema_checksum = structure_checksum;

  Schema appended;
  add_history_table(appended);
  json::object restored;
  std::unique_ptr<BackendStage> stage = session.restore_stage(file, sdk::portable_schema_json(appended), restored);
  for (auto& kv : restored) out[kv.key()] = kv.value();
  // The report lists the database's tables, as the rebuild path does: the history is apart.
  json::array tables;
  int64_t total = 0;
  if (auto* t = restored.if_contains("tables"); t && t->is_array())
    for (const auto& row : t->get_array()) {
      if (!row.is_object() || row.at("name").as_string() == kHistoryTable) continue;
      tables.push_back(json::object{{"name", row.at("name")}, {"rows", row.at("rows")}});
      total += row.at("rows").to_number<int64_t>();
    }
  out["tables"] = tables;
  out["rows"] = total;
  const json::object merged = merged_history(history, since);
  out["history"] = merged;

  json::array rows = std::move(since);
  const json::object record = restore_record(target, file, out);
  rows.push_back(history_row("restore", started, schema_name, schema_version, schema_checksum, file.string(), record));
  write_history(*stage, rows);
  // The stage holds the backup's runs as read ahead plus the appended ones, or the file changed.
  const int64_t want = static_cast<int64_t>(history.size() + rows.size());
  if (stage->count(std::string(kHistoryTable)) != want)
    throw Error::untouched("verification failed: the merged run history does not hold " + std::to_string(want) +
                           " rows");
  backup_on_disk();
  fault_point("before-history-commit");
  if (cancel_requested()) throw Error::untouched("cancelled before the cut-over", ExitCode::kCancelled);
  stage->commit();
  return merged;
}

}  // namespace

json::object restore_backup(const Target& target, const fs::path& file, const RestoreOptions& options) {
  const std::string started = utc_stamp_iso();
  json::object out{{"database", target.display}, {"restored_from", file.string()}};
  json::array live_history;
  {
    BackendSession session(*target.plugin, options.open_options);
    // A file that is not a complete backup made by dbtool is refused before anything is done:
    // no question, no backup of the current state, the target untouched.
    try {
      session.verify_backup(file);
    } catch (const Error& e) {
      throw e.with_target_untouched();
    }
    json::object before = session.describe();
    if (holds_tables(before) && !options.yes &&
        !confirm("Restoring replaces these tables of " + target.display + " (a backup is made first):\n" +
                 table_listing(before) + "Continue?"))
      throw Error("nothing changed: restore was declined", ExitCode::kRefused);
    // Until the backend's restore (or the one-swap path's commit) the target is untouched: a
    // backup only reads it.
    try {
      // Written and verified now, put on disk while the restore is prepared; waited for before
      // anything is replaced.
      std::optional<PlacingBackup> backup;
      if (holds_tables(before)) {
        backup.emplace(session, target, options.backup_dir);
        log_info("backup of the current state: " + backup->file().string() + " (verified)");
        out["backup"] = backup->file().string();
      }
      const auto backup_on_disk = [&] {
        if (backup) backup->wait();
      };
      // The runs recorded since the backup was made live only here: read before they are replaced.
      if (session.can_read_tables()) live_history = read_history(session, before);
      std::string structure_checksum;
      std::optional<json::array> history = history_ahead(target, session, file, structure_checksum);
      fault_point("after-backup");
      if (history) {
        log_debug("restore: into a stage, one swap (restore_stage)");
        out["history"] = restore_in_one_swap(session, target, file, std::move(*history), structure_checksum,
                                             live_history, started, out, backup_on_disk);
        return out;
      }
      log_debug("restore: the backend's restore, then the history merged through a rebuild");
      backup_on_disk();
      json::object r = session.restore(file);
      for (auto& kv : r) out[kv.key()] = kv.value();
    } catch (const Error& e) {
      throw e.with_target_untouched();
    }
  }
  try {
    out["history"] = merge_history(target, file, options, live_history, started, out);
  } catch (const Error& e) {
    std::string kept = out.if_contains("backup")
                           ? "the runs recorded since that backup are kept in the backup of the previous state, " +
                                 std::string(out.at("backup").as_string())
                           : "no runs were recorded in the database it replaced";
    throw Error("restored " + target.display + " from " + file.string() +
                    " (its data is in place, with the backup's run history), but the history could not be merged: " +
                    e.what() + "; " + kept,
                ExitCode::kFailure);
  }
  return out;
}

namespace {

// Rows per table of a describe() or backup report ({"tables": [{"name", "rows"}]}).
std::map<std::string, int64_t> table_rows(const json::object& report) {
  std::map<std::string, int64_t> out;
  if (auto* t = report.if_contains("tables"); t && t->is_array())
    for (const auto& row : t->get_array())
      if (row.is_object() && row.as_object().contains("name") && row.as_object().contains("rows"))
        out[std::string(row.at("name").as_string())] = row.at("rows").to_number<int64_t>();
  return out;
}

}  // namespace

json::object plan_restore(const Target& target, const fs::path& file, bool yes) {
  // Read-only: no lock file, no stale stage removed, nothing created. A database that does not
  // exist yet cannot be opened so; it is then looked at the way `status` does, creating nothing.
  std::unique_ptr<BackendSession> session;
  const bool missing_file = target.file && !fs::exists(*target.file);
  if (!missing_file) {
    json::object ro = target.open_options(false);
    ro["read_only"] = true;
    try {
      session = std::make_unique<BackendSession>(*target.plugin, ro);
    } catch (const Error&) {
      if (target.file) throw;  // an existing file that cannot be read says why
    }
  }
  if (!session) session = std::make_unique<BackendSession>(*target.plugin, target.open_options(false));
  json::object checked = session->verify_backup(file);
  json::object before = session->describe();
  const bool exists = !before.if_contains("exists") || before.at("exists").as_bool();
  std::map<std::string, int64_t> now = table_rows(before), after = table_rows(checked);
  const bool after_known = checked.contains("tables");

  // The history the restore would leave: the backup's runs, the runs since, and the restore.
  json::value history = nullptr;
  json::array live_history;
  if (session->can_read_tables()) live_history = read_history(*session, before);
  if (target.file && session->can_read_database()) {
    try {
      json::array kept = read_backup_history(target, file);
      const int64_t since = static_cast<int64_t>(runs_since(kept, live_history).size());
      history = json::object{{"from_backup", static_cast<int64_t>(kept.size())}, {"since_backup", since}};
      after[std::string(kHistoryTable)] = static_cast<int64_t>(kept.size()) + since + 1;
    } catch (const Error& e) {
      log_info(std::string("the backup's run history cannot be read ahead: ") + e.what());
    }
  }
  if (history.is_null()) after.erase(std::string(kHistoryTable));

  json::array tables;
  std::map<std::string, bool> listed;
  auto add = [&](const std::string& name) {
    if (listed[name]) return;
    listed[name] = true;
    auto n = now.find(name);
    auto a = after.find(name);
    json::value rows_after = nullptr;
    if (a != after.end())
      rows_after = a->second;
    else if (after_known && name != kHistoryTable)
      rows_after = 0;  // not in the backup: gone
    tables.push_back(json::object{{"name", name},
                                  {"rows_before", n == now.end() ? json::value(nullptr) : json::value(n->second)},
                                  {"rows_after", rows_after}});
  };
  for (const auto& [name, rows] : after) add(name);
  for (const auto& [name, rows] : now) add(name);

  json::array guards;
  if (!(target.plugin->capabilities & DBTOOL_CAP_RESTORE) || !DBTOOL_HAS_SLOT(target.plugin->backend, restore))
    guards.push_back(json::object{{"guard", "capability"},
                                  {"message", "the " + target.plugin->name + " backend cannot restore backups"}});
  const bool occupied = holds_tables(before);
  if (occupied && !yes)
    guards.push_back(json::object{
        {"guard", "confirm"},
        {"message", "the target holds tables: the restore asks first, and refuses without a terminal unless --yes"}});
  json::object plan{{"operation", "plan"},
                    {"command", "restore"},
                    {"database", target.display},
                    {"backend", target.plugin->name},
                    {"exists", exists},
                    {"restored_from", file.string()},
                    {"backup_file", checked},
                    {"backup", occupied ? "a verified backup would be made first" : json::value(nullptr)},
                    {"tables", tables},
                    {"history", history},
                    {"guards", guards},
                    {"would_refuse", !guards.empty()}};
  return plan;
}

}  // namespace dbtool
