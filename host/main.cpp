// dbtool: initialise a database schema and migrate production data into it without losing a
// row. This file only wires the subcommands together; each lives in cli/.
#include "cli/common.hpp"
#include "cli/config_file.hpp"
#include "plugins/host_services.hpp"
#include "util/environment.hpp"
#include "util/error.hpp"

#include <cstring>
#include <iostream>

namespace {

// .env must be read before CLI11 looks at the environment, so --env-file is found by hand.
std::string env_file_from_argv(int argc, char** argv) {
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--env-file") == 0 && i + 1 < argc) return argv[i + 1];
    if (std::strncmp(argv[i], "--env-file=", 11) == 0) return argv[i] + 11;
  }
  return ".env";
}

// Whether --json was asked for, when the command line failed to parse before the flag was set.
bool json_in_argv(int argc, char** argv) {
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--") == 0) return false;
    if (std::strcmp(argv[i], "--json") == 0) return true;
  }
  return false;
}

// Every way a run fails ends here: a message on stderr and, with --json, the one document on stdout.
int fail(dbtool::ExitCode code, const std::string& message) {
  dbtool::end_progress();
  dbtool::log_error(message);
  if (dbtool::json_output() && !dbtool::json_document_printed()) dbtool::print_json_error(code, message);
  return static_cast<int>(code);
}

}  // namespace

int main(int argc, char** argv) {
  using namespace dbtool;
  GlobalOptions g;
  CLI::App app{
      "dbtool: initialise a database schema and migrate production data into it without losing a row.\n"
      "Backends (sqlite, mysql) and sources (http-legacy, json-file) are plugins; see `dbtool plugins`.",
      "dbtool"};
  app.set_version_flag("--version", std::string("dbtool ") + DBTOOL_VERSION + " (plugin ABI " +
                                        std::to_string(DBTOOL_ABI_VERSION_MAJOR) + "." +
                                        std::to_string(DBTOOL_ABI_VERSION_MINOR) + ")");
  app.require_subcommand(1);
  app.fallthrough();
  app.set_config("--config", "dbtool.ini",
                 "Read options from this INI file: global ones at the top, each command's in its own section "
                 "([init], [migrate], [plan], [backup], [restore], [status], [verify], [plugins]), e.g. db = app.db. "
                 "The command line wins over the environment, which wins over the file");
  app.config_formatter(std::make_shared<EnvFirstConfig>(app));
  app.allow_config_extras(CLI::config_extras_mode::error);  // a typo in dbtool.ini is an error, not ignored
  app.add_option("--plugin-dir", g.plugin_dir, "Look for plugins here first");
  app.add_option("--env-file", g.env_file, "Read KEY=VALUE settings and secrets from this file (default .env)");
  app.add_flag("-v,--verbose", g.verbose, "Say more");
  app.add_flag("-q,--quiet", g.quiet, "Only warnings and errors on stderr");
  app.footer(
      "Quick start:\n"
      "  dbtool init                      fresh SQLite database at instance/volumes/user_management.db\n"
      "  dbtool migrate --source http-legacy,json-file --legacy-url https://old.example.org\n"
      "  dbtool migrate --source sqlite:///old.db   from the old database: every table, every password hash\n"
      "  dbtool backup | restore FILE | status | plugins | schema import|diff\n"
      "Options may also come from the environment (DBTOOL_DB, DBTOOL_BACKEND, ...) and a config file.\n"
      "Run `dbtool COMMAND --help` for each command.\n" +
      std::string(kExitCodeTable));

  add_init_command(app, g);
  add_migrate_command(app, g);
  add_plan_command(app, g);
  add_backup_command(app, g);
  add_restore_command(app, g);
  add_status_command(app, g);
  add_verify_command(app, g);
  add_plugins_command(app, g);
  add_schema_command(app, g);

  try {
    load_env_file(env_file_from_argv(argc, argv));
    app.parse_complete_callback([&g] {
      set_verbosity(g.quiet ? Verbosity::kQuiet : g.verbose ? Verbosity::kVerbose : Verbosity::kNormal);
      install_cancel_handler();
    });
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    // --help and --version are CLI11 "errors" with exit code 0; every real one is a usage error
    // (CLI11's own codes, 101-127, are not part of dbtool's contract).
    if (e.get_exit_code() == 0) return app.exit(e);
    if (json_in_argv(argc, argv)) set_json_output(true);
    return fail(ExitCode::kUsage, e.what() + std::string("\nRun with --help for more information."));
  } catch (const Error& e) {
    if (json_in_argv(argc, argv)) set_json_output(true);
    return fail(e.code(), e.what());
  } catch (const std::exception& e) {
    if (json_in_argv(argc, argv)) set_json_output(true);
    return fail(ExitCode::kFailure, std::string("unexpected: ") + e.what());
  }
  return 0;
}
