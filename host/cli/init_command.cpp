// `dbtool init`: a fresh database on the current schema with the default test data.
#include "cli/common.hpp"
#include "cli/plan.hpp"

#include "ops/import_load.hpp"
#include "ops/rebuild.hpp"
#include "plugins/backend.hpp"
#include "plugins/host_services.hpp"
#include "schema/schema.hpp"

namespace dbtool {

// The app's traditional test password; only for init's test users, overridable by
// DBTOOL_DEFAULT_PASSWORD, and stored only as a hash.
inline constexpr const char* kBuiltinTestPassword = "123Qwerty!";

void add_init_command(CLI::App& app, GlobalOptions& g) {
  auto* cmd = app.add_subcommand("init", "Create a fresh database on the current schema with default test data");
  static MigrateOptions plan;  // --dry-run plans with the target options and schema folder
  static TargetOptions& opts = plan.target;
  static std::string& schema_dir = plan.schema_dir;
  add_target_options(cmd, opts, true);
  static bool drop_unknown = false;
  cmd->add_flag("--drop-unknown", drop_unknown,
                "Replace the database even though it holds tables, views or triggers the schema does not "
                "know (tables stay in the backup; refused with --yes by default, and listed in the question)");
  cmd->add_flag("--dry-run", plan.dry_run, "Plan the init (as `dbtool plan` does for migrate) and change nothing");
  cmd->add_option("--schema-dir", schema_dir, "Folder with schema.json, defaults.json, import-mapping.json")
      ->envname("DBTOOL_SCHEMA_DIR");
  cmd->footer(
      "If the database holds tables, init lists them and asks first (--yes to skip; without a\n"
      "terminal it refuses), backs them up to backups/ (owner-only, verified), builds the new\n"
      "database beside the old one and swaps it in atomically: a failure at any step leaves the\n"
      "old database as it was. Test users get DBTOOL_DEFAULT_PASSWORD (stored as a hash).\n"
      "Examples:\n"
      "  dbtool init\n"
      "  dbtool init --db instance/volumes/dev.db --yes\n"
      "  DBTOOL_DB_PASSWORD=... dbtool init --db mysql://app@127.0.0.1:3306/app");
  cmd->callback([&g] {
    if (plan.dry_run) return run_plan(g, plan, "init");
    CommandSetup setup(g, opts, schema_dir);
    const auto& [reg, target, dir, schema] = setup;
    ImportRun run;
    run.mapping_file = dir / "import-mapping.json";
    run.files = {dir / "defaults.json"};
    if (target.file) std::filesystem::create_directories(target.file->parent_path());
    BackendSession session(*target.plugin, replacing_open_options(target, opts));
    RebuildOptions ro{"init", "defaults", opts.yes, opts.backup_dir};
    ro.drop_unknown = drop_unknown;
    run.default_password_hash = [] { return default_password_hash(kBuiltinTestPassword); };
    ro.guaranteed_foreign_keys = foreign_keys_the_import_builds(setup.schema, run);
    boost::json::object report = rebuild(
        session, target, schema, ro, [&](BackendStage& stage) { return import_into_stage(stage, setup.schema, run); });
    if (opts.json)
      print_json(report);
    else
      print_report(report);
  });
}

}  // namespace dbtool
