// Shared command-line plumbing.
#include "cli/common.hpp"

#include "util/error.hpp"

#include <boost/dll/runtime_symbol_info.hpp>

#include <cstdlib>
#include <iostream>

namespace dbtool {
namespace fs = std::filesystem;

void add_target_options(CLI::App* cmd, TargetOptions& t, bool destructive) {
  cmd->add_option("--backend", t.backend, "Backend plugin: sqlite (default) or mysql; inferred from --db's scheme")
      ->envname("DBTOOL_BACKEND");
  cmd->add_option("--db", t.db,
                  "Target database: a SQLite path or sqlite:///PATH, or mysql://USER@HOST:PORT/DB "
                  "(?socket=PATH, ?ssl-mode=...). Default: " +
                      std::string(kDefaultSqlitePath) +
                      ". The password never goes here: DBTOOL_DB_PASSWORD, MYSQL_PWD, .env or a prompt")
      ->envname("DBTOOL_DB")
      ->check(kNotEmpty);
  if (destructive) {
    cmd->add_flag("-y,--yes", t.yes, "Replace existing tables without asking (needed without a terminal)");
    cmd->add_flag("--allow-concurrent-writes", t.allow_concurrent_writes,
                  "Cut over even if another program wrote to the database after its backup (those writes "
                  "are then lost; refused by default: stop the application first)");
  }
  cmd->add_option("--backup-dir", t.backup_dir,
                  "Folder for backups (default: backups/ beside a SQLite file, else ./backups)")
      ->envname("DBTOOL_BACKUP_DIR")
      ->check(kNotEmpty);
  cmd->add_flag_function(
      "--json",
      [&t](int64_t n) {
        t.json = n > 0;
        set_json_output(t.json);
      },
      "Print one JSON document on stdout, also on failure (see the README for its fields)");
}

boost::json::object replacing_open_options(const Target& target, const TargetOptions& t) {
  boost::json::object o = target.open_options(true);
  o["allow_concurrent_writes"] = t.allow_concurrent_writes;
  return o;
}

PluginRegistry load_plugins(const GlobalOptions& g) {
  return PluginRegistry::discover(plugin_search_path(g.plugin_dir));
}

fs::path find_schema_dir(const std::string& option) {
  std::vector<fs::path> candidates;
  if (!option.empty()) {
    fs::path p(option);
    if (!fs::is_directory(p)) throw Error("--schema-dir " + option + " is not a folder", ExitCode::kUsage);
    return fs::absolute(p);
  }
  if (const char* env = std::getenv("DBTOOL_SCHEMA_DIR")) candidates.emplace_back(env);
  candidates.emplace_back("schemas");
  fs::path exe = boost::dll::program_location().parent_path().string();
  candidates.push_back(exe / ".." / "share" / "dbtool" / "schemas");
  candidates.emplace_back(DBTOOL_SOURCE_SCHEMAS_DIR);
  for (const auto& c : candidates)
    if (fs::is_regular_file(c / "schema.json")) return fs::absolute(c).lexically_normal();
  throw Error(
      "no schemas/schema.json found (looked in ./schemas, beside the binary and in the source tree); "
      "pass --schema-dir",
      ExitCode::kUsage);
}

CommandSetup::CommandSetup(const GlobalOptions& g, const TargetOptions& t, const std::string& schema_dir_option)
    : plugins(load_plugins(g)),
      target(resolve_target(plugins, t.backend, t.db)),
      schema_dir(find_schema_dir(schema_dir_option)),
      schema(load_schema(schema_dir / "schema.json")) {}

}  // namespace dbtool
