// rebuild(): confirm, back up, stage, load, verify, record, cut over.
#include "ops/rebuild.hpp"

#include "ops/backup.hpp"
#include "ops/history.hpp"
#include "ops/table_digest.hpp"
#include "plugins/host_services.hpp"
#include "util/environment.hpp"
#include "util/error.hpp"
#include "util/fault.hpp"

#include <chrono>
#include <cstdio>
#include <iostream>
#include <map>
#include <optional>

namespace dbtool {
namespace json = boost::json;

namespace {

bool lists_table(const json::object& description, std::string_view name) {
  if (auto* t = description.if_contains("tables"); t && t->is_array())
    for (const auto& row : t->get_array())
      if (row.as_object().at("name").as_string() == name) return true;
  return false;
}

// Copies the old run history into the stage so it survives the cut-over.
int64_t carry_history(BackendSession& session, BackendStage& stage, const json::object& before) {
  if (!lists_table(before, kHistoryTable)) return 0;
  if (!session.can_read_tables()) {
    log_warn("the " + session.plugin().name +
             " backend cannot read tables back; the previous run history stays in the backup only");
    return 0;
  }
  ArrowArrayStream stream{};
  session.read_table(std::string(kHistoryTable), &stream);
  return stage.load(std::string(kHistoryTable), &stream);
}

// migrate's guard against a swap that loses rows: every table of the target (the schema's
// and any other, which the new database will not hold) compared with what the stage holds.
// Throws kRefused with the per-table before -> after list unless allow_shrink, which instead
// records the list in the report.
void guard_against_shrink(const json::object& before, const json::array& staged, int64_t staged_total,
                          const RebuildOptions& options, json::object& report) {
  std::map<std::string, int64_t> after;
  for (const auto& row : staged) after[std::string(row.at("name").as_string())] = row.at("rows").to_number<int64_t>();
  json::array shrunk;
  std::string listing;
  if (auto* t = before.if_contains("tables"); t && t->is_array())
    for (const auto& row : t->get_array()) {
      const auto& o = row.as_object();
      std::string name(o.at("name").as_string());
      if (name == kHistoryTable) continue;  // carried over and grown by one, never shrunk
      int64_t was = o.if_contains("rows") ? o.at("rows").to_number<int64_t>() : 0;
      if (!after.count(name) && options.drop_unknown) continue;  // let go of, by name, above
      int64_t now = after.count(name) ? after.at(name) : 0;
      if (now >= was) continue;
      shrunk.push_back(json::object{{"name", name}, {"before", was}, {"after", now}});
      listing += "\n  " + name + ": " + std::to_string(was) + " -> " + std::to_string(now) + " rows" +
                 (after.count(name) ? "" : " (not in the schema)");
    }
  if (staged_total == 0) {
    if (!options.allow_shrink)
      throw Error::untouched(options.operation +
                                 " refused: the source delivered no rows at all, so the new database would be "
                                 "empty" +
                                 (shrunk.empty() ? "" : " (before -> after:" + listing + ")"),
                             ExitCode::kRefused, " (pass --allow-shrink if an empty database is what you want)");
    log_warn("the new database is empty (--allow-shrink)");
  }
  if (shrunk.empty()) return;
  if (!options.allow_shrink)
    throw Error::untouched(options.operation + " refused: it would leave tables with fewer rows than " +
                               "the target holds now (before -> after):" + listing + "\n",
                           ExitCode::kRefused, " (pass --allow-shrink if these rows are meant to go)");
  log_warn("tables shrink (--allow-shrink):" + listing);
  report["shrunk"] = std::move(shrunk);
}

// Sets guaranteed_by_host on exactly the keys the loader vouches for, when the backend reads
// the flag, and clears it everywhere else (the host is the only one who may set it). Returns
// their names, for the report.
json::array mark_guaranteed_keys(Schema& full, const RebuildOptions& options, bool backend_reads_it) {
  json::array marked;
  for (auto& t : full.tables)
    for (auto& fk : t.foreign_keys) {
      fk.guaranteed_by_host = backend_reads_it && options.guaranteed_foreign_keys.count(fk.name) > 0;
      if (fk.guaranteed_by_host) marked.emplace_back(fk.name);
    }
  return marked;
}

void record_run(BackendStage& stage, const Schema& schema, const RebuildOptions& options, const std::string& started,
                const json::object& report) {
  write_history(stage, json::array{history_row(options.operation, started, schema.name, schema.version, schema.checksum,
                                               options.source, report)});
}

}  // namespace

std::vector<UnknownObject> unknown_objects(const json::object& described, const Schema& schema) {
  std::vector<UnknownObject> out;
  auto each = [&](const char* key, auto&& add) {
    if (auto* list = described.if_contains(key); list && list->is_array())
      for (const auto& item : list->get_array())
        if (item.is_object()) add(item.as_object());
  };
  auto text = [](const json::object& o, const char* key) {
    auto* v = o.if_contains(key);
    return v && v->is_string() ? std::string(v->as_string()) : std::string();
  };
  each("tables", [&](const json::object& t) {
    std::string name = text(t, "name");
    if (name == kHistoryTable || schema.find_table(name) != nullptr) return;
    int64_t rows = t.if_contains("rows") ? t.at("rows").to_number<int64_t>() : 0;
    out.push_back({"table", name, std::to_string(rows) + " rows"});
  });
  each("views", [&](const json::object& v) { out.push_back({"view", text(v, "name"), "a view"}); });
  each("triggers", [&](const json::object& t) {
    out.push_back({"trigger", text(t, "name"), "on " + text(t, "table")});
  });
  return out;
}

int64_t load_batch(BackendStage& stage, const std::string& table, const std::vector<sdk::ColumnSpec>& columns,
                   sdk::ArrayHolder&& batch) {
  std::vector<sdk::ArrayHolder> one;
  one.push_back(std::move(batch));
  ArrowArrayStream stream{};
  sdk::export_stream(columns, std::move(one), &stream);
  return stage.load(table, &stream);
}

json::object rebuild(BackendSession& session, const Target& target, const Schema& schema, const RebuildOptions& options,
                     const StageLoader& load) {
  const auto t0 = std::chrono::steady_clock::now();
  const std::string started = utc_stamp_iso();
  json::object report;
  report["operation"] = options.operation;
  report["database"] = target.display;
  report["backend"] = session.plugin().name;
  report["source"] = options.source;
  report["schema"] = json::object{{"name", schema.name}, {"version", schema.version}, {"checksum", schema.checksum}};

  // 1. Ask before replacing anything.
  json::object before = session.describe();
  const bool occupied = holds_tables(before);
  // Tables, views and triggers the schema does not know (an application's audit table, say)
  // would not be in the new database: named before anything happens, and never dropped
  // without being asked.
  std::string unknown;
  json::array unknown_list;
  for (const auto& u : unknown_objects(before, schema)) {
    unknown += "  " + u.kind + " " + u.name + " (" + u.detail + ")\n";
    unknown_list.push_back(json::object{{"kind", u.kind}, {"name", u.name}, {"detail", u.detail}});
  }
  const std::string unknown_note =
      unknown.empty() ? ""
                      : "These are not in the schema and will not be in the new database (tables stay in the "
                        "backup; keep the definitions of views and triggers to recreate them):\n" +
                            unknown;
  if (!unknown.empty()) {
    log_warn(unknown_note.substr(0, unknown_note.size() - 1));
    report["not_in_schema"] = std::move(unknown_list);
  }
  if (!unknown.empty() && options.yes && !options.drop_unknown)
    throw Error("nothing changed: " + options.operation + " refused, " + target.display +
                    " holds tables, views or triggers the schema does not know:\n" + unknown +
                    "pass --drop-unknown to replace the database without them (tables stay in the backup)",
                ExitCode::kRefused);
  if (occupied && !options.yes) {
    std::string question = "The database " + target.display + " holds these tables, which " + options.operation +
                           " will replace (a backup is made first):\n" + table_listing(before) + unknown_note +
                           "Continue?";
    if (!confirm(question)) throw Error("nothing changed: " + options.operation + " was declined", ExitCode::kRefused);
  }

  // Until the cut-over succeeds the target is untouched (a backup only reads it; the stage
  // contract covers the rest): every failure from here on says so, whichever step it came from.
  try {
    // 2. Back up whatever is there: written and verified now, put on disk under its name while
    // the new database loads (the device's time), and waited for before the cut-over.
    if (options.before_backup) options.before_backup();
    std::optional<PlacingBackup> backup;
    report["backup"] = nullptr;
    if (occupied) {
      backup.emplace(session, target, options.backup_dir);
      report["backup"] = backup->file().string();  // its name once placed: the cut-over waits for that
      log_info("backup: " + backup->file().string() + " (verified)");
    }
    fault_point("after-backup");

    // 3. Build the new schema beside the target and load it.
    Schema full = schema;
    add_history_table(full);
    report["foreign_keys_guaranteed"] =
        mark_guaranteed_keys(full, options, session.can(DBTOOL_CAP_HOST_GUARANTEED_KEYS));
    std::unique_ptr<BackendStage> stage = session.begin_stage(sdk::portable_schema_json(full));
    fault_point("after-stage");
    const auto t_load = std::chrono::steady_clock::now();
    LoadOutcome outcome = load(*stage);
    const double load_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t_load).count();
    fault_point("after-load");

    // 4. Verify: every table holds exactly what the source held.
    json::array tables;
    int64_t total = 0;
    for (const auto& t : schema.tables) {
      int64_t expected = outcome.expected_rows.count(t.name) ? outcome.expected_rows.at(t.name) : 0;
      int64_t actual = stage->count(t.name);
      if (actual != expected)
        throw Error::untouched("verification failed: " + t.name + " holds " + std::to_string(actual) +
                               " rows, the source held " + std::to_string(expected));
      json::object row{{"name", t.name}, {"rows", actual}};
      if (auto c = outcome.checksums.find(t.name); c != outcome.checksums.end())
        row["checksum"] = c->second;
      else if (actual == 0)
        row["checksum"] = TableDigest().checksum();
      tables.push_back(std::move(row));
      total += actual;
    }
    if (options.guard_shrink) guard_against_shrink(before, tables, total, options, report);
    report["tables"] = std::move(tables);
    report["rows"] = total;
    report["load_seconds"] = load_seconds;
    report["rows_per_second"] = load_seconds > 0 ? static_cast<double>(total) / load_seconds : 0.0;
    for (auto& kv : outcome.details) report[kv.key()] = kv.value();

    // 5. Keep the run history and record this run.
    int64_t carried = carry_history(session, *stage, before);
    record_run(*stage, full, options, started, report);
    if (stage->count(std::string(kHistoryTable)) != carried + 1)
      throw Error::untouched("verification failed: the run history did not carry over");
    if (backup) backup->wait();  // the backup on disk under its name, or what failed
    fault_point("before-commit");
    // The last moment a Ctrl-C can still keep everything as it was.
    if (cancel_requested()) throw Error::untouched("cancelled before the cut-over", ExitCode::kCancelled);

    // 6. Cut over in one atomic step.
    json::object commit = stage->commit();
    if (auto* r = commit.if_contains("retired")) report["retired"] = *r;
  } catch (const Error& e) {
    throw e.with_target_untouched();
  }
  report["seconds"] = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return report;
}

void print_report(const json::object& report) {
  end_progress();
  auto str = [&](const char* key) -> std::string {
    auto* v = report.if_contains(key);
    if (v == nullptr || v->is_null()) return "";
    return v->is_string() ? std::string(v->get_string()) : json::serialize(*v);
  };
  std::printf("%s of %s (%s) done\n", str("operation").c_str(), str("database").c_str(), str("backend").c_str());
  if (auto* t = report.if_contains("tables"); t && t->is_array())
    for (const auto& row : t->get_array())
      std::printf("  %-24s %10lld rows\n", std::string(row.at("name").as_string()).c_str(),
                  static_cast<long long>(row.at("rows").to_number<int64_t>()));
  std::printf("  source:   %s\n", str("source").c_str());
  std::printf("  backup:   %s\n", report.if_contains("backup") && !report.at("backup").is_null()
                                      ? str("backup").c_str()
                                      : "none (the database was empty)");
  if (report.if_contains("retired")) std::printf("  retired:  %s\n", str("retired").c_str());
  if (auto* s = report.if_contains("shrunk"); s && s->is_array())
    for (const auto& row : s->get_array())
      std::printf("  shrunk:   %s %lld -> %lld rows (--allow-shrink)\n",
                  std::string(row.at("name").as_string()).c_str(),
                  static_cast<long long>(row.at("before").to_number<int64_t>()),
                  static_cast<long long>(row.at("after").to_number<int64_t>()));
  double secs = report.if_contains("seconds") ? report.at("seconds").to_number<double>() : 0;
  double rps = report.if_contains("rows_per_second") ? report.at("rows_per_second").to_number<double>() : 0;
  double load = report.if_contains("load_seconds") ? report.at("load_seconds").to_number<double>() : 0;
  // A rate over a few milliseconds says nothing; it is shown once the load took measurable time.
  if (load >= 0.1)
    std::printf("  time:     %.2f s (load %.0f rows/s)\n", secs, rps);
  else
    std::printf("  time:     %.2f s\n", secs);
}

}  // namespace dbtool
