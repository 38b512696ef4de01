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

void add_backup_command(CLI::App& app, GlobalOptions& g) {
  auto* cmd = app.add_subcommand("backup", "Write a verified, owner-only backup of the database");
  static TargetOptions opts;  // the app lives until exit
  TargetOptions* t = &opts;
  add_target_options(cmd, *t, false);
  cmd->footer("The backup is made by the backend itself (SQLite: the online backup API; MySQL: a\n"
              "consistent logical dump), verified, and written as <db>-<UTC time><ext> with mode 0600.\n"
              "Example: dbtool backup --db instance/volumes/user_management.db");
  cmd->callback([&g, t] {
    PluginRegistry reg = load_plugins(g);
    Target target = resolve_target(reg, t->backend, t->db);
    BackendSession session(*target.plugin, target.open_options(false));
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
  TargetOptions* t = &opts;
  std::string* file = &backup_file;
  add_target_options(cmd, *t, true);
  cmd->add_option("BACKUP_FILE", *file, "A file written by `dbtool backup`")->required()->check(CLI::ExistingFile);
  cmd->footer("The backup is verified and rebuilt beside the database, then swapped in atomically;\n"
              "the current state is backed up first. The run history (dbtool_history) keeps the backup's\n"
              "runs, the runs recorded since it and a row for the restore (needs a backend that can\n"
              "describe its database: sqlite, mysql). Example:\n"
              "  dbtool restore --db instance/volumes/user_management.db backups/user_management-20261124T120000Z.db");
  cmd->callback([&g, t, file] {
    PluginRegistry reg = load_plugins(g);
    Target target = resolve_target(reg, t->backend, t->db);
    // Asked before anything is written: a backup of the current state made for a restore that
    // cannot happen would only mislead.
    if (!(target.plugin->capabilities & DBTOOL_CAP_RESTORE) || !DBTOOL_HAS_SLOT(target.plugin->backend, restore))
      throw Error("nothing changed: the " + target.plugin->name + " backend cannot restore backups", ExitCode::kRefused);
    RestoreOptions ro{replacing_open_options(target, *t), t->yes, t->backup_dir};
    json::object out = restore_backup(target, fs::absolute(*file), ro);
    if (t->json) {
      print_json(out);
    } else {
      std::printf("restored %s from %s\n", target.display.c_str(), file->c_str());
      if (out.if_contains("backup")) std::printf("  previous state backed up to %s\n", std::string(out.at("backup").as_string()).c_str());
      if (const auto& h = out.at("history").as_object(); h.at("recorded").as_bool())
        std::printf("  run history: %lld runs from the backup, %lld recorded since it, and this restore\n",
                    static_cast<long long>(h.at("from_backup").to_number<int64_t>()),
                    static_cast<long long>(h.at("since_backup").to_number<int64_t>()));
    }
  });
}

}  // namespace dbtool
