// What every subcommand shares: global options, the target options, schema location, output.
#pragma once

#include "cli/output.hpp"
#include "ops/target.hpp"
#include "plugins/plugin_registry.hpp"
#include "schema/schema.hpp"

#include <CLI/CLI.hpp>
#include <boost/json.hpp>

#include <filesystem>
#include <optional>
#include <string>

namespace dbtool {

struct GlobalOptions {
  std::optional<std::filesystem::path> plugin_dir;
  bool verbose = false;
  bool quiet = false;
  std::string env_file = ".env";
};

struct TargetOptions {
  std::string backend;
  std::string db;
  bool yes = false;
  bool allow_concurrent_writes = false;
  std::optional<std::filesystem::path> backup_dir;
  bool json = false;
};

// For options that name a path or a database: an empty value is an error, never "the default".
inline const CLI::Validator kNotEmpty(
    [](std::string& value) {
      return value.empty() ? std::string("must not be empty (leave the option out for the default)") : std::string();
    },
    "NOT EMPTY", "NotEmpty");

// --backend, --db (with DBTOOL_BACKEND / DBTOOL_DB), and for destructive commands --yes and
// --backup-dir; --json everywhere.
void add_target_options(CLI::App* cmd, TargetOptions& t, bool destructive);

// The open options of a command that replaces the target (creating it when missing):
// the target's, plus whether writes made by others during the run may be replaced.
boost::json::object replacing_open_options(const Target& target, const TargetOptions& t);

// Loads the plugins from the search path (plugin_search_path).
PluginRegistry load_plugins(const GlobalOptions& g);

// --schema-dir, else $DBTOOL_SCHEMA_DIR, else ./schemas, else <prefix>/share/dbtool/schemas,
// else the source tree's schemas/.
std::filesystem::path find_schema_dir(const std::string& option);

// What init, migrate, verify and plan begin with, in this order: the plugins, the target the
// options name (a server's password is asked for here), the schema folder and its schema.json.
// `target` points into `plugins`, so a CommandSetup is made in place and never copied or moved.
struct CommandSetup {
  CommandSetup(const GlobalOptions& g, const TargetOptions& t, const std::string& schema_dir_option);
  CommandSetup(const CommandSetup&) = delete;
  CommandSetup& operator=(const CommandSetup&) = delete;

  PluginRegistry plugins;
  Target target;
  std::filesystem::path schema_dir;
  Schema schema;
};

// Registration of each subcommand (cli/*_command.cpp).
void add_plugins_command(CLI::App& app, GlobalOptions& g);
void add_init_command(CLI::App& app, GlobalOptions& g);
void add_migrate_command(CLI::App& app, GlobalOptions& g);
void add_backup_command(CLI::App& app, GlobalOptions& g);
void add_restore_command(CLI::App& app, GlobalOptions& g);
void add_status_command(CLI::App& app, GlobalOptions& g);
void add_schema_command(CLI::App& app, GlobalOptions& g);
void add_verify_command(CLI::App& app, GlobalOptions& g);
void add_plan_command(CLI::App& app, GlobalOptions& g);

}  // namespace dbtool
