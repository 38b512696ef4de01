// `dbtool backup` and `dbtool restore`.
#include "cli/common.hpp"

#include "ops/backup.hpp"
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
                  "quick (default): a structural check (SQLite: quick_check) plus the rows and content digest "
                  "of every table, recorded in the backup and checked on restore; full: also every index "
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
  cmd->footer("The backup is made by the backend itself (SQLite: the online backup API; MySQL: a\n"
              "consistent logical dump), verified (--verify), and written as <db>-<UTC time><ext> with\n"
              "mode 0600. A SQLite backup records the rows and digest of every table in itself.\n"
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

void add_restore_command(CLI::App& app, GlobalOptions& g) {
  auto* cmd = app.add_subcommand("restore", "Replace the database with a backup (backing up the current state first)");
  static TargetOptions opts;
  static std::string backup_file;
  static std::string verify = "quick";
  TargetOptions* t = &opts;
  std::string* file = &backup_file;
  add_target_options(cmd, *t, true);
  add_verify_option(cmd, verify);
  cmd->add_option("BACKUP_FILE", *file, "A file written by `dbtool backup`")->required()->check(CLI::ExistingFile);
  cmd->footer("The backup is verified (SQLite: against the rows and digests it recorded) and rebuilt\n"
              "beside the database, then swapped in atomically; the current state is backed up first.\n"
              "Example:\n"
              "  dbtool restore --db instance/volumes/user_management.db backups/user_management-20261124T120000Z.db");
  cmd->callback([&g, t, file] {
    PluginRegistry reg = load_plugins(g);
    Target target = resolve_target(reg, t->backend, t->db);
    // Asked before anything is written: a backup of the current state made for a restore that
    // cannot happen would only mislead.
    if (!(target.plugin->capabilities & DBTOOL_CAP_RESTORE) || !DBTOOL_HAS_SLOT(target.plugin->backend, restore))
      throw Error("nothing changed: the " + target.plugin->name + " backend cannot restore backups", ExitCode::kRefused);
    BackendSession session(*target.plugin, with_verify(replacing_open_options(target, *t), verify));
    require_verify_level(session, target, verify);
    // A file that is not a complete backup made by dbtool is refused before anything is done:
    // no question, no backup of the current state, the target untouched.
    session.verify_backup(fs::absolute(*file));
    json::object before = session.describe();
    json::object out{{"database", target.display}, {"restored_from", fs::absolute(*file).string()}};
    if (holds_tables(before)) {
      if (!t->yes &&
          !confirm("Restoring replaces these tables of " + target.display + " (a backup is made first):\n" +
                   table_listing(before) + "Continue?"))
        throw Error("nothing changed: restore was declined", ExitCode::kRefused);
      BackupResult b = make_backup(session, target, t->backup_dir);
      log_info("backup of the current state: " + b.path.string() + " (verified)");
      out["backup"] = b.path.string();
    }
    fault_point("after-backup");
    json::object r = session.restore(fs::absolute(*file));
    for (auto& kv : r) out[kv.key()] = kv.value();
    if (t->json) {
      print_json(out);
    } else {
      std::printf("restored %s from %s\n", target.display.c_str(), file->c_str());
      if (out.if_contains("backup")) std::printf("  previous state backed up to %s\n", std::string(out.at("backup").as_string()).c_str());
    }
  });
}

}  // namespace dbtool
