// `dbtool plan` and `--dry-run`: what init or migrate would do, found by doing everything but
// writing: connect to the target and the sources first, fetch and validate the export into a
// scratch folder (or read a source database read-only), map every record, and report
// before -> after, rejects and refusals. `restore --dry-run` is plan_restore (ops/restore.hpp).
#pragma once

#include "cli/common.hpp"
#include "ops/source_chain.hpp"

#include <optional>
#include <string>

namespace dbtool {

// http-legacy's options, as the command line and the config give them.
struct LegacyHttpOptions {
  std::string url;
  std::string login_path = "/api/authenticate";
  std::string data_path = "/api/user";
  double connect_timeout_s = 10;
  double timeout_s = 300;
  int retries = 3;
  int64_t max_body_bytes = int64_t{2} << 30;
  bool insecure = false;
  std::string ca_file;
};

// The options of migrate, shared by `migrate` and `plan`.
struct MigrateOptions {
  TargetOptions target;
  std::string schema_dir;
  std::string sources = "json-file";
  std::string cache = "instance/data.json";
  LegacyHttpOptions legacy;
  bool with_defaults = false;
  std::string reject_file;
  size_t batch_rows = 8192;
  std::optional<int64_t> max_rejects;
  bool allow_shrink = false;
  bool allow_drop = false;
  bool drop_unknown = false;
  bool dry_run = false;
};
void add_migrate_options(CLI::App* cmd, MigrateOptions& o);
// The source chain's settings: each source plugin's options under its own name only.
SourceSettings source_settings(const MigrateOptions& o);

// "a,b,,c" -> {"a", "b", "c"}.
std::vector<std::string> split_list(const std::string& s);

// Plans `operation` ("init": the default data; "migrate": the source chain) and prints the plan
// (text, or --json). Writes nothing anywhere; the scratch folder is removed whatever happens.
void run_plan(const GlobalOptions& g, const MigrateOptions& o, const std::string& operation);

void add_plan_command(CLI::App& app, GlobalOptions& g);

// The per-table reconciliation of a database source ("database_source" of a migrate report or
// a plan), as people read it; nothing when there is none.
void print_database_source(const boost::json::object& report);

}  // namespace dbtool
