// `dbtool backup` and `dbtool restore`.
#include "cli/common.hpp"

#include "ops/backup.hpp"
#include "ops/restore.hpp"
#include "plugins/backend.hpp"
#include "plugins/host_services.hpp"
#include "util/environment.hpp"
#include "util/error.hpp"
#include "util/fault.hpp"

#include <cstdio>

namespace dbtool {
namespace json = boost::json;
namespace fs = std::filesystem;

namespace {

// --verify: how the backend checks the backups it writes and the copy a restore brings back.
void add_verify_option(CLI::App* cmd, std::string& level) {
  cmd->add_option("--verify", level,
                  "quick (default): the copy checked against the database (SQLite: quick_check, foreign keys, "
                  "every table's rows; the rows recorded in the backup with a seal of its bytes, which restore "
                  "checks); full: also every index "
                  "against its table (SQLite: integrity_check). A backup is never unverified")
      ->check(CLI::IsMember({"quick", "full"}));
}

// The backend's open options with the verification level ("quick" is every backend's default,
// so only "full" is passed: a backend built before the option existed sees the options it
// knows). A backend that does not list "full" among its levels (describe's "backup_verify") is
// refused it before anything is written, so no one believes a check ran that did not.
json::object with_verify(json::object options, const std::string& level) {
  if (level == "full") options["verify"] = level;
  return options;
}
void require_verify_level(BackendSession& session, const Target& target, const std::string& level) {
  if (level != "full") return;
  const json::object d = session.describe();
  if (auto* v = d.if_contains("backup_verify"); v && v->is_array())
    for (const auto& l : v->get_array())
      if (l.is_string() && l.get_string() == "full") return;
  throw Error("nothing changed: the " + target.plugin->name + " backend offers no --verify=full", ExitCode::kRefused);
}

}  // namespace

void add_backup_command(CLI::App& app, GlobalOptions& g) {
  auto* cmd = app.add_subcommand("backup", "Write a verified, owner-only backup of the database");
  static TargetOptions opts;  // the app lives until exit
  static std::string verify = "quick";
  TargetOptions* t = &opts;
  add_target_options(cmd, *t, false);
  add_verify_option(cmd, verify);
  cmd->footer(
      "The backup is made by the backend itself (SQLite: one snapshot of the file; MySQL: a\n"
      "consistent logical dump), verified (--verify), and written as <db>-<UTC time><ext> with\n"
      "mode 0600. A SQLite backup records every table's rows in itself, and a seal of its bytes.\n"
      "Example: dbtool backup --db instance/volumes/user_management.db");
  cmd->callback([&g, t] {
    PluginRegistry reg = load_plugins(g);
    Target target = resolve_target(reg, t->backend, t->db);
    BackendSession session(*target.plugin, with_verify(target.open_options(false), verify));
    require_verify_level(session, target, verify);
    json::object d = session.describe();
    if (auto* e = d.if_contains("exists"); e && e->is_bool() && !e->get_bool())
      throw Error("nothing to back up: " + target.display + " does not exist");
    BackupResult b = make_backup(session, target, t->backup_dir);
    if (t->json) {
      json::object out = b.report;
      out["path"] = b.path.string();
      out["database"] = target.display;
      print_json(out);
    } else {
      std::printf("backup of %s written and verified: %s\n", target.display.c_str(), b.path.c_str());
    }
  });
}

namespace {

std::string show(const json::value& v) {
  if (v.is_null()) return "?";
  return v.is_string() ? std::string(v.get_string()) : json::serialize(v);
}

void print_restore_plan(const json::object& plan, bool as_json) {
  if (as_json) {
    print_json(plan);
    return;
  }
  std::printf("plan: restore of %s (%s) from %s, changing nothing\n", show(plan.at("database")).c_str(),
              show(plan.at("backend")).c_str(), show(plan.at("restored_from")).c_str());
  const json::object& checked = plan.at("backup_file").as_object();
  std::printf("  backup file: checked%s%s\n",
              checked.contains("format") ? (", " + show(checked.at("format"))).c_str() : "",
              checked.contains("bytes") ? (", " + show(checked.at("bytes")) + " bytes").c_str() : "");
  std::printf("  %-24s %12s %12s\n", "table", "rows now", "rows after");
  for (const auto& tv : plan.at("tables").as_array()) {
    const json::object& t = tv.as_object();
    std::printf("  %-24s %12s %12s\n", show(t.at("name")).c_str(),
                t.at("rows_before").is_null() ? "-" : show(t.at("rows_before")).c_str(),
                show(t.at("rows_after")).c_str());
  }
  if (const auto& h = plan.at("history"); h.is_object())
    std::printf("  run history: %s runs from the backup, %s recorded since it, and the restore\n",
                show(h.at("from_backup")).c_str(), show(h.at("since_backup")).c_str());
  else
    std::printf("  run history: the backup's runs, the runs since it and the restore (not counted ahead)\n");
  std::printf("  backup:  %s\n",
              plan.at("backup").is_null() ? "none needed (empty target)" : show(plan.at("backup")).c_str());
  for (const auto& gd : plan.at("guards").as_array())
    std::printf("  would stop or ask: %s\n", show(gd.at("message")).c_str());
}

}  // namespace

void add_restore_command(CLI::App& app, GlobalOptions& g) {
  auto* cmd = app.add_subcommand("restore", "Replace the database with a backup (backing up the current state first)");
  static TargetOptions opts;
  static std::string backup_file;
  static bool dry_run = false;
  static std::string verify = "quick";
  TargetOptions* t = &opts;
  std::string* file = &backup_file;
  add_target_options(cmd, *t, true);
  add_verify_option(cmd, verify);
  cmd->add_option("BACKUP_FILE", *file, "A file written by `dbtool backup`")->required()->check(CLI::ExistingFile);
  cmd->add_flag("--dry-run", dry_run,
                "Check the backup and show what the restore would replace (rows per table now -> after), "
                "changing nothing: no backup, no lock, no stage");
  cmd->footer(
      "The backup is verified (SQLite: against the rows and digests it recorded) and rebuilt\n"
      "beside the database, then swapped in atomically;\n"
      "the current state is backed up first. The run history (dbtool_history) keeps the backup's\n"
      "runs, the runs recorded since it and a row for the restore (needs a backend that can\n"
      "describe its database: sqlite, mysql). --dry-run checks the file and prints rows per table\n"
      "now -> after (\"?\" where the backup's check does not count them), writing nothing. Example:\n"
      "  dbtool restore --db instance/volumes/user_management.db backups/user_management-20261124T120000Z.db");
  cmd->callback([&g, t, file] {
    PluginRegistry reg = load_plugins(g);
    Target target = resolve_target(reg, t->backend, t->db);
    if (dry_run) {
      print_restore_plan(plan_restore(target, fs::absolute(*file), t->yes), t->json);
      return;
    }
    // Asked before anything is written: a backup of the current state made for a restore that
    // cannot happen would only mislead.
    if (!(target.plugin->capabilities & DBTOOL_CAP_RESTORE) || !DBTOOL_HAS_SLOT(target.plugin->backend, restore))
      throw Error("nothing changed: the " + target.plugin->name + " backend cannot restore backups",
                  ExitCode::kRefused);
    RestoreOptions ro{with_verify(replacing_open_options(target, *t), verify), t->yes, t->backup_dir};
    if (verify == "full") {
      // Asked of a session of its own, closed before the restore opens its sessions (a backend
      // may hold a lock per session).
      BackendSession probe(*target.plugin, ro.open_options);
      require_verify_level(probe, target, verify);
    }
    json::object out = restore_backup(target, fs::absolute(*file), ro);
    if (t->json) {
      print_json(out);
    } else {
      std::printf("restored %s from %s\n", target.display.c_str(), file->c_str());
      if (out.if_contains("backup"))
        std::printf("  previous state backed up to %s\n", std::string(out.at("backup").as_string()).c_str());
      if (const auto& h = out.at("history").as_object(); h.at("recorded").as_bool())
        std::printf("  run history: %lld runs from the backup, %lld recorded since it, and this restore\n",
                    static_cast<long long>(h.at("from_backup").to_number<int64_t>()),
                    static_cast<long long>(h.at("since_backup").to_number<int64_t>()));
    }
  });
}

}  // namespace dbtool
