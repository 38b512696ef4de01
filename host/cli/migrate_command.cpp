// `dbtool migrate`: production data from the old deployment (or its JSON export) into a
// database on the current schema, verified and cut over atomically.
#include "cli/common.hpp"
#include "cli/plan.hpp"

#include "import/import_mapping.hpp"
#include "import/table_mapping.hpp"
#include "ops/db_source.hpp"
#include "ops/import_load.hpp"
#include "ops/rebuild.hpp"
#include "ops/source_chain.hpp"
#include "plugins/backend.hpp"
#include "plugins/host_services.hpp"
#include "schema/schema.hpp"
#include "util/environment.hpp"
#include "util/error.hpp"

#include <algorithm>

namespace dbtool {
namespace json = boost::json;

std::vector<std::string> split_list(const std::string& s) {
  std::vector<std::string> out;
  size_t start = 0;
  while (start <= s.size()) {
    size_t comma = s.find(',', start);
    std::string part = s.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
    if (!part.empty()) out.push_back(part);
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  return out;
}

namespace {

void print_attempts(const ChainResult& extracted) {
  for (const auto& a : extracted.attempts)
    if (!a.served) std::printf("source %s did not serve: %s\n", a.source.c_str(), escape_controls(a.reason).c_str());
}

}  // namespace

void print_database_source(const json::object& report) {
  const auto* d = report.if_contains("database_source");
  if (d == nullptr || !d->is_object()) return;
  const json::object& o = d->get_object();
  std::printf("  from the database (one read-only snapshot): read = loaded + dropped + rejected\n");
  for (const auto& t : o.at("tables").as_array()) {
    const json::object& r = t.as_object();
    auto n = [&](const char* k) { return static_cast<long long>(r.at(k).to_number<int64_t>()); };
    std::string into = r.at("target").is_null() ? "(dropped)" : std::string(r.at("target").as_string());
    std::printf("  %-16s -> %-16s read %lld = loaded %lld + dropped %lld + rejected %lld\n",
                std::string(r.at("table").as_string()).c_str(), into.c_str(), n("read"), n("loaded"), n("dropped"),
                n("rejected"));
    if (auto* why = r.if_contains("why"))
      std::printf("      table dropped: %s\n", std::string(why->as_string()).c_str());
    if (auto* cols = r.if_contains("dropped_columns"))
      for (const auto& c : cols->as_array())
        std::printf("      column %s dropped: %s\n", std::string(c.at("column").as_string()).c_str(),
                    std::string(c.at("why").as_string()).c_str());
  }
  for (const auto& t : o.at("unfed_tables").as_array())
    std::printf("  %-16s    not in the source: created empty\n", std::string(t.as_string()).c_str());
  if (o.at("skipped_history").as_bool())
    std::printf("  dbtool_history of the source skipped: it is dbtool's own run history, not app data\n");
}

SourceSettings source_settings(const MigrateOptions& o) {
  SourceSettings s;
  s.cache_file = o.cache;
  s.plugins["json-file"].options = {{"path", std::filesystem::absolute(o.cache).lexically_normal().string()}};
  const LegacyHttpOptions& l = o.legacy;
  SourcePluginOptions& http = s.plugins["http-legacy"];
  if (l.url.empty()) http.missing = "no --legacy-url given";
  http.options = {{"url", l.url},
                  {"login_path", l.login_path},
                  {"data_path", l.data_path},
                  {"connect_timeout_s", l.connect_timeout_s},
                  {"timeout_s", l.timeout_s},
                  {"retries", l.retries},
                  {"max_body_bytes", l.max_body_bytes},
                  {"insecure", l.insecure}};
  if (!l.ca_file.empty()) http.options["ca_file"] = l.ca_file;
  http.secrets = {{"uid", {"DBTOOL_LEGACY_UID"}, "Legacy server admin uid"},
                  {"password", {"DBTOOL_LEGACY_PASSWORD"}, "Legacy server password"}};
  return s;
}

void add_migrate_options(CLI::App* cmd, MigrateOptions& o) {
  LegacyHttpOptions& s = o.legacy;
  add_target_options(cmd, o.target, true);
  cmd->add_flag("--drop-unknown", o.drop_unknown,
                "Replace the database even though it holds tables, views or triggers the schema does not "
                "know (tables stay in the backup; refused with --yes by default, and listed in the question)");
  cmd->add_option("--source", o.sources,
                  "Sources to try in order, comma-separated: the old database's URI (sqlite:///PATH, "
                  "mysql://USER@HOST:PORT/DB; read-only, every table, password hashes included), "
                  "http-legacy, json-file. The first that serves is used")
      ->capture_default_str()
      ->envname("DBTOOL_SOURCE");
  cmd->add_flag("--allow-drop", o.allow_drop,
                "From a database: let source tables and columns that have no place in the new schema "
                "(and no drop in database-mapping.json) go; the report lists them");
  cmd->add_option("--json-file", o.cache,
                  "The export json-file reads; a fresh download replaces it (old one kept as .bak)")
      ->capture_default_str()
      ->envname("DBTOOL_JSON_FILE")
      ->check(kNotEmpty);
  cmd->add_option("--legacy-url", s.url,
                  "Base URL of the old deployment, e.g. https://old.example.org (no user or password in it: "
                  "those come from DBTOOL_LEGACY_UID / DBTOOL_LEGACY_PASSWORD)")
      ->envname("DBTOOL_LEGACY_URL");
  cmd->add_option("--login-path", s.login_path, "Login endpoint")->capture_default_str();
  cmd->add_option("--data-path", s.data_path, "Data endpoint (some deployments serve /api/users)")
      ->capture_default_str();
  cmd->add_option("--connect-timeout", s.connect_timeout_s, "Seconds to connect (fractions count: 0.2 is 200 ms)")
      ->capture_default_str()
      ->check(CLI::Range(0.001, 86400.0));
  cmd->add_option("--timeout", s.timeout_s,
                  "Seconds for the whole download (fractions count; there is no \"no limit\")")
      ->capture_default_str()
      ->check(CLI::Range(0.001, 86400.0));
  cmd->add_option("--retries", s.retries, "Retries on transient failures (reset, 502/503/504)")->capture_default_str();
  cmd->add_option("--max-body-bytes", s.max_body_bytes, "Refuse a larger download")->capture_default_str();
  cmd->add_flag("--insecure", s.insecure, "Do not verify the server's TLS certificate (dangerous)");
  cmd->add_option("--ca-file", s.ca_file, "CA bundle to verify the server with");
  cmd->add_flag("--with-defaults", o.with_defaults, "Also load init's default data (the export wins on the same uid)");
  cmd->add_option("--reject-file", o.reject_file,
                  "Write records that cannot be mapped here (JSON lines with the reason) and go on; "
                  "without it the first bad record stops the run and nothing changes")
      ->check(kNotEmpty);
  cmd->add_option("--max-rejects", o.max_rejects,
                  "Most records --reject-file may set aside before the run fails and changes nothing "
                  "(default: 1% of the records with --reject-file)")
      ->check(CLI::NonNegativeNumber);
  cmd->add_flag("--allow-shrink", o.allow_shrink,
                "Allow a migration that leaves a table with fewer rows than the target holds now, or "
                "an empty database (refused by default, listing each table before -> after)");
  cmd->add_option("--batch-rows", o.batch_rows, "Rows per batch handed to the backend")
      ->capture_default_str()
      ->check(CLI::Range(1, 1000000));
  cmd->add_option("--schema-dir", o.schema_dir,
                  "Folder with schema.json, defaults.json, import-mapping.json, database-mapping.json")
      ->envname("DBTOOL_SCHEMA_DIR");
}

void add_migrate_command(CLI::App& app, GlobalOptions& g) {
  auto* cmd = app.add_subcommand("migrate", "Move production data from the old deployment into the current schema");
  static MigrateOptions o;  // the app lives until exit
  add_migrate_options(cmd, o);
  cmd->add_flag("--dry-run", o.dry_run, "Plan the migration (as `dbtool plan`) and change nothing");
  cmd->footer(
      "From the old database (keeps every table, every id and every password hash): tables and\n"
      "columns go to those of the same name; schemas/database-mapping.json renames, drops on purpose\n"
      "or gives values to new NOT NULL columns. Its password: DBTOOL_SOURCE_DB_PASSWORD (or .env,\n"
      "or a prompt), never in the URI.\n"
      "Credentials for http-legacy come from DBTOOL_LEGACY_UID / DBTOOL_LEGACY_PASSWORD (environment\n"
      "or .env) or a no-echo prompt, never from the command line. Users without a password hash in\n"
      "the export get the hash of DBTOOL_DEFAULT_PASSWORD (the report counts them). Every table of\n"
      "schemas/schema.json is created, those the export does not feed empty; section ids are kept;\n"
      "export fields with no column are counted in the report, not migrated.\n"
      "Refused unless allowed: a run that would leave a table with fewer rows than it has now or an\n"
      "empty database (--allow-shrink); more rejected records than --max-rejects (0 without\n"
      "--reject-file, 1% of the records with it). A refused run changes nothing.\n"
      "Examples:\n"
      "  dbtool migrate --yes --source sqlite:///old/user_management.db   # a relative path\n"
      "  dbtool migrate --db mysql://app@db:3306/app --source mysql://app@old:3306/app,http-legacy,json-file\n"
      "  dbtool migrate --yes                                  # from instance/data.json\n"
      "  dbtool migrate --source http-legacy,json-file --legacy-url https://old.example.org\n"
      "  dbtool migrate --db mysql://app@db:3306/app --json-file export.json --reject-file rejects.jsonl");
  cmd->callback([&g] {
    if (o.dry_run) return run_plan(g, o, "migrate");
    const TargetOptions& opts = o.target;
    SourceSettings s = source_settings(o);
    const std::string& reject_file = o.reject_file;
    // Before anything is opened or asked: credentials never travel in a URL.
    for (const auto& name : split_list(o.sources))
      refuse_credentials_in_uri(
          name, "--source", "set DBTOOL_SOURCE_DB_PASSWORD in the environment or .env, or type it when asked", false);
    refuse_credentials_in_uri(o.legacy.url, "--legacy-url",
                              "set DBTOOL_LEGACY_UID and DBTOOL_LEGACY_PASSWORD in the environment or .env, or type "
                              "them when asked",
                              true);
    CommandSetup setup(g, opts, o.schema_dir);
    const auto& [reg, target, dir, schema] = setup;
    std::vector<std::string> chain = split_list(o.sources);
    if (chain.empty()) throw Error("--source names no source", ExitCode::kUsage);
    for (const auto& name : chain) {  // fail early on a typo
      if (is_database_uri(name))
        check_database_source(reg, name);
      else
        reg.get(name, DBTOOL_KIND_SOURCE);
    }
    if (o.max_rejects && *o.max_rejects > 0 && reject_file.empty())
      throw Error("--max-rejects needs --reject-file: rejected records must be kept somewhere", ExitCode::kUsage);
    // Downloads are judged by the export mapping's key; a chain of databases only needs none.
    if (std::any_of(chain.begin(), chain.end(), [](const std::string& n) { return !is_database_uri(n); }))
      s.record_key = load_mapping(dir / "import-mapping.json", schema).key_field;

    // The target first: a wrong address or password fails before anything is downloaded.
    if (target.file) std::filesystem::create_directories(target.file->parent_path());
    BackendSession session(*target.plugin, replacing_open_options(target, opts));
    RebuildOptions ro{"migrate", "", opts.yes, opts.backup_dir};
    ro.drop_unknown = o.drop_unknown;
    ro.guard_shrink = true;
    ro.allow_shrink = o.allow_shrink;

    ChainResult extracted = run_source_chain(reg, chain, s);
    if (extracted.database) {
      // Planned in full before anything is backed up or built: a refusal changes nothing.
      DatabaseSource& db = *extracted.database;
      MappingPlan plan =
          plan_mapping(db.schema(), schema, load_database_mapping(dir / "database-mapping.json"), o.allow_drop);
      ro.source = extracted.source;
      json::object report = rebuild(session, target, schema, ro, [&](BackendStage& stage) {
        LoadOutcome out = load_from_database(stage, db, plan);
        out.details["sources"] = extracted.to_json();
        return out;
      });
      extracted.database.reset();  // ends the snapshot
      if (opts.json) {
        print_json(report);
        return;
      }
      print_attempts(extracted);
      print_report(report);
      print_database_source(report);
      return;
    }

    ImportRun run;
    run.mapping_file = dir / "import-mapping.json";
    run.files = {extracted.export_file};
    if (o.with_defaults) run.files.push_back(dir / "defaults.json");
    if (!reject_file.empty()) run.reject_file = std::filesystem::absolute(reject_file);
    run.max_rejects = o.max_rejects;
    run.batch_rows = o.batch_rows;
    run.default_password_hash = [] { return default_password_hash(o.with_defaults ? "123Qwerty!" : nullptr); };
    ro.source = extracted.source;
    // Only on this path: a database source's rows were not built by dbtool's importer.
    ro.guaranteed_foreign_keys = foreign_keys_the_import_builds(setup.schema, run);
    std::optional<BegunImport> import;
    ro.before_backup = [&] { import.emplace(setup.schema, run); };
    json::object report = rebuild(session, target, schema, ro, [&](BackendStage& stage) {
      if (!import) import.emplace(setup.schema, run);
      LoadOutcome out = import->into_stage(stage);
      out.details["sources"] = extracted.to_json();
      out.details["export"] = extracted.export_file.string();
      return out;
    });
    if (opts.json) {
      print_json(report);
      return;
    }
    print_attempts(extracted);
    print_report(report);
    if (auto* imp = report.if_contains("import"); imp && imp->is_object()) {
      const auto& i = imp->get_object();
      if (auto* r = i.if_contains("records_rejected"); r && r->to_number<int64_t>() > 0)
        std::printf("  rejected: %lld records (at most %lld allowed), written to %s\n",
                    static_cast<long long>(r->to_number<int64_t>()),
                    static_cast<long long>(i.at("max_rejects").to_number<int64_t>()), reject_file.c_str());
      if (auto* d = i.if_contains("default_password_users"); d && d->to_number<int64_t>() > 0)
        std::printf("  %lld users had no password hash and got DBTOOL_DEFAULT_PASSWORD's\n",
                    static_cast<long long>(d->to_number<int64_t>()));
      if (auto* w = i.if_contains("when_missing"); w && w->is_object())
        for (const auto& kv : w->get_object())
          std::printf("  %lld records had no \"%s\" and got the mapping's value for it (when_missing)\n",
                      static_cast<long long>(kv.value().to_number<int64_t>()), std::string(kv.key()).c_str());
      if (auto* u = i.if_contains("unknown_fields"); u && u->is_object() && !u->get_object().empty()) {
        std::string list;
        for (const auto& kv : u->get_object())
          list += (list.empty() ? "" : ", ") + std::string(kv.key()) + " (" + json::serialize(kv.value()) + ")";
        std::printf("  fields with no column in the schema, not migrated: %s\n", list.c_str());
      }
    }
  });
}

}  // namespace dbtool
