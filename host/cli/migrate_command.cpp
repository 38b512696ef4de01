// `dbtool migrate`: production data from the old deployment (or its JSON export) into a
// database on the current schema, verified and cut over atomically.
#include "cli/common.hpp"

#include "ops/import_load.hpp"
#include "ops/rebuild.hpp"
#include "ops/source_chain.hpp"
#include "plugins/backend.hpp"
#include "plugins/host_services.hpp"
#include "schema/schema.hpp"
#include "util/environment.hpp"
#include "util/error.hpp"

namespace dbtool {
namespace json = boost::json;

namespace {

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

}  // namespace

void add_migrate_command(CLI::App& app, GlobalOptions& g) {
  auto* cmd = app.add_subcommand("migrate", "Move production data from the old deployment into the current schema");
  static TargetOptions opts;
  static std::string schema_dir;
  static std::string sources = "json-file";
  static std::string cache = "instance/data.json";
  static SourceSettings s;
  static bool with_defaults = false;
  static std::string reject_file;
  static size_t batch_rows = 8192;
  add_target_options(cmd, opts, true);
  cmd->add_option("--source", sources,
                  "Sources to try in order, comma-separated (http-legacy, json-file); the first that "
                  "delivers a complete, valid export serves")
      ->capture_default_str()->envname("DBTOOL_SOURCE");
  cmd->add_option("--json-file", cache, "The export json-file reads; a fresh download replaces it (old one kept as .bak)")
      ->capture_default_str()->envname("DBTOOL_JSON_FILE")->check(kNotEmpty);
  cmd->add_option("--legacy-url", s.legacy_url,
                  "Base URL of the old deployment, e.g. https://old.example.org (no user or password in it: "
                  "those come from DBTOOL_LEGACY_UID / DBTOOL_LEGACY_PASSWORD)")
      ->envname("DBTOOL_LEGACY_URL");
  cmd->add_option("--login-path", s.login_path, "Login endpoint")->capture_default_str();
  cmd->add_option("--data-path", s.data_path, "Data endpoint (some deployments serve /api/users)")->capture_default_str();
  cmd->add_option("--connect-timeout", s.connect_timeout_s, "Seconds to connect (fractions count: 0.2 is 200 ms)")
      ->capture_default_str()->check(CLI::Range(0.001, 86400.0));
  cmd->add_option("--timeout", s.timeout_s, "Seconds for the whole download (fractions count; there is no \"no limit\")")
      ->capture_default_str()->check(CLI::Range(0.001, 86400.0));
  cmd->add_option("--retries", s.retries, "Retries on transient failures (reset, 502/503/504)")->capture_default_str();
  cmd->add_option("--max-body-bytes", s.max_body_bytes, "Refuse a larger download")->capture_default_str();
  cmd->add_flag("--insecure", s.insecure, "Do not verify the server's TLS certificate (dangerous)");
  cmd->add_option("--ca-file", s.ca_file, "CA bundle to verify the server with");
  cmd->add_flag("--with-defaults", with_defaults, "Also load init's default data (the export wins on the same uid)");
  cmd->add_option("--reject-file", reject_file,
                  "Write records that cannot be mapped here (JSON lines with the reason) and go on; "
                  "without it the first bad record stops the run and nothing changes")
      ->check(kNotEmpty);
  cmd->add_option("--batch-rows", batch_rows, "Rows per batch handed to the backend")->capture_default_str()
      ->check(CLI::Range(1, 1000000));
  cmd->add_option("--schema-dir", schema_dir, "Folder with schema.json, defaults.json, import-mapping.json")
      ->envname("DBTOOL_SCHEMA_DIR");
  cmd->footer(
      "Credentials for http-legacy come from DBTOOL_LEGACY_UID / DBTOOL_LEGACY_PASSWORD (environment\n"
      "or .env) or a no-echo prompt, never from the command line. Users without a password hash in\n"
      "the export get the hash of DBTOOL_DEFAULT_PASSWORD (the report counts them).\n"
      "Examples:\n"
      "  dbtool migrate --yes                                  # from instance/data.json\n"
      "  dbtool migrate --source http-legacy,json-file --legacy-url https://old.example.org\n"
      "  dbtool migrate --db mysql://app@db:3306/app --json-file export.json --reject-file rejects.jsonl");
  cmd->callback([&g] {
    // Before anything is opened or asked: credentials never travel in a URL.
    for (const auto& name : split_list(sources))
      refuse_credentials_in_uri(name, "--source", "set the password in the environment or .env, or type it when asked",
                                false);
    refuse_credentials_in_uri(s.legacy_url, "--legacy-url",
                              "set DBTOOL_LEGACY_UID and DBTOOL_LEGACY_PASSWORD in the environment or .env, or type "
                              "them when asked",
                              true);
    PluginRegistry reg = load_plugins(g);
    Target target = resolve_target(reg, opts.backend, opts.db);
    std::filesystem::path dir = find_schema_dir(schema_dir);
    Schema schema = load_schema(dir / "schema.json");
    std::vector<std::string> chain = split_list(sources);
    if (chain.empty()) throw Error("--source names no source", ExitCode::kUsage);
    for (const auto& name : chain) reg.get(name, DBTOOL_KIND_SOURCE);  // fail early on a typo
    s.cache_file = cache;

    ChainResult extracted = run_source_chain(reg, chain, s);

    ImportRun run;
    run.mapping_file = dir / "import-mapping.json";
    run.files = {extracted.export_file};
    if (with_defaults) run.files.push_back(dir / "defaults.json");
    if (!reject_file.empty()) run.reject_file = std::filesystem::absolute(reject_file);
    run.batch_rows = batch_rows;
    run.default_password_hash = [] { return default_password_hash(with_defaults ? "123Qwerty!" : nullptr); };
    if (target.file) std::filesystem::create_directories(target.file->parent_path());
    BackendSession session(*target.plugin, target.open_options(true));
    RebuildOptions ro{"migrate", extracted.source, opts.yes, opts.backup_dir};
    json::object report = rebuild(session, target, schema, ro, [&](BackendStage& stage) {
      LoadOutcome out = import_into_stage(stage, schema, run);
      out.details["sources"] = extracted.to_json();
      out.details["export"] = extracted.export_file.string();
      return out;
    });
    if (opts.json) {
      print_json(report);
      return;
    }
    for (const auto& a : extracted.attempts)
      if (!a.served)
        std::printf("source %s did not serve: %s\n", a.source.c_str(), escape_controls(a.reason).c_str());
    print_report(report);
    if (auto* imp = report.if_contains("import"); imp && imp->is_object()) {
      const auto& o = imp->get_object();
      if (auto* r = o.if_contains("records_rejected"); r && r->to_number<int64_t>() > 0)
        std::printf("  rejected: %lld records, written to %s\n", static_cast<long long>(r->to_number<int64_t>()),
                    reject_file.c_str());
      if (auto* d = o.if_contains("default_password_users"); d && d->to_number<int64_t>() > 0)
        std::printf("  %lld users had no password hash and got DBTOOL_DEFAULT_PASSWORD's\n",
                    static_cast<long long>(d->to_number<int64_t>()));
    }
  });
}

}  // namespace dbtool
