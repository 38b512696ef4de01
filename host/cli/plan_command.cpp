// `dbtool plan` (and --dry-run): run everything a migration does up to the first write, into a
// scratch folder that is removed afterwards, and say what the run would change.
#include "cli/plan.hpp"
#include "import/import_mapping.hpp"
#include "import/table_mapping.hpp"
#include "ops/db_source.hpp"
#include "util/environment.hpp"

#include "ops/backup.hpp"
#include "ops/history.hpp"
#include "ops/import_load.hpp"
#include "plugins/backend.hpp"
#include "plugins/host_services.hpp"
#include "schema/schema.hpp"
#include "util/error.hpp"

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <random>

namespace dbtool {
namespace json = boost::json;
namespace fs = std::filesystem;

namespace {

// A private folder under the system temp folder, removed with everything in it on scope exit.
class ScratchDir {
 public:
  ScratchDir() {
    std::random_device rd;
    for (int i = 0; i < 100 && path_.empty(); ++i) {
      fs::path p = fs::temp_directory_path() / ("dbtool-plan-" + std::to_string(rd()));
      if (fs::create_directory(p)) path_ = p;
    }
    if (path_.empty()) throw Error("cannot make a scratch folder under " + fs::temp_directory_path().string());
    fs::permissions(path_, fs::perms::owner_all, fs::perm_options::replace);
  }
  ~ScratchDir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  const fs::path& path() const { return path_; }

 private:
  fs::path path_;
};

std::string str(const json::value& v) { return v.is_string() ? std::string(v.get_string()) : json::serialize(v); }

}  // namespace

void run_plan(const GlobalOptions& g, const MigrateOptions& o, const std::string& operation) {
  CommandSetup setup(g, o.target, o.schema_dir);
  const auto& [reg, target, dir, schema] = setup;
  std::vector<std::string> chain = operation == "migrate" ? split_list(o.sources) : std::vector<std::string>{};
  if (operation == "migrate" && chain.empty()) throw Error("--source names no source", ExitCode::kUsage);
  for (const auto& name : chain) {  // fail early on a typo, before anything is opened
    if (is_database_uri(name))
      check_database_source(reg, name);
    else
      reg.get(name, DBTOOL_KIND_SOURCE);
  }

  // 1. The target first: a wrong address or password fails before anything is fetched.
  BackendSession session(*target.plugin, target.open_options(false));
  json::object before = session.describe();
  const bool occupied = holds_tables(before);
  std::map<std::string, int64_t> rows_before;
  if (auto* t = before.if_contains("tables"); t && t->is_array())
    for (const auto& row : t->get_array())
      rows_before[std::string(row.at("name").as_string())] = row.at("rows").to_number<int64_t>();
  json::value schema_before = nullptr;
  if (rows_before.count(std::string(kHistoryTable)) && session.can_read_tables()) {
    // The last recorded run says which schema the database is on.
    const json::array history = read_history(session, before);
    if (!history.empty()) {
      json::object last;
      const json::object& run = history.back().as_object();
      for (const auto& [column, key] :
           {std::pair{"schema_version", "version"}, std::pair{"schema_checksum", "checksum"}})
        if (const json::value* v = run.if_contains(column); v && !v->is_null()) last[key] = *v;
      schema_before = std::move(last);
    }
  }

  // 2. The sources, into the scratch folder (the cache is not replaced), then every record
  // mapped; a database source is read through the mapping the run uses, every value checked,
  // the rows counted instead of loaded.
  ScratchDir scratch;
  ImportRun run;
  run.mapping_file = dir / "import-mapping.json";
  run.batch_rows = o.batch_rows;
  run.default_password_hash = [] { return std::optional<std::string>("(planned)"); };
  run.reject_file = scratch.path() / "rejects.jsonl";
  json::array sources;
  std::string served = "defaults";
  LoadOutcome mapped;
  json::object imp{{"records_rejected", 0}, {"unknown_fields", json::object{}}};
  bool imported = true;
  if (operation == "migrate") {
    SourceSettings s = source_settings(o);
    s.scratch_dir = scratch.path();
    if (std::any_of(chain.begin(), chain.end(), [](const std::string& n) { return !is_database_uri(n); }))
      s.record_key = load_mapping(dir / "import-mapping.json", schema).key_field;
    ChainResult extracted = run_source_chain(reg, chain, s);
    sources = extracted.to_json();
    served = extracted.source;
    if (extracted.database) {
      DatabaseSource& db = *extracted.database;
      MappingPlan mp =
          plan_mapping(db.schema(), schema, load_database_mapping(dir / "database-mapping.json"), o.allow_drop);
      mapped = read_from_database(db, mp, drain_stream);
      end_progress();
      imported = false;
    } else {
      run.files = {extracted.export_file};
      if (o.with_defaults) run.files.push_back(dir / "defaults.json");
    }
  } else {
    run.files = {dir / "defaults.json"};
  }
  if (imported) {
    mapped = import_without_loading(schema, run);
    end_progress();
    imp = mapped.details.at("import").as_object();
    imp.erase("reject_file");
  }

  // 3. What the run would do, and what would stop it.
  json::array tables, guards;
  for (const auto& t : schema.tables) {
    const int64_t after = mapped.expected_rows.count(t.name) ? mapped.expected_rows.at(t.name) : 0;
    json::object row{{"name", t.name}, {"rows_after", after}};
    auto b = rows_before.find(t.name);
    row["rows_before"] = b == rows_before.end() ? json::value(nullptr) : json::value(b->second);
    if (b != rows_before.end() && after < b->second)
      guards.push_back(json::object{{"guard", "shrink"},
                                    {"table", t.name},
                                    {"message", t.name + " would go from " + std::to_string(b->second) + " to " +
                                                    std::to_string(after) + " rows"}});
    tables.push_back(std::move(row));
  }
  for (const auto& u : unknown_objects(before, schema))
    guards.push_back(
        json::object{{"guard", u.kind == "table" ? "dropped_table" : "dropped_" + u.kind},
                     {u.kind, u.name},
                     {"message", u.kind + " " + u.name + " (" + u.detail +
                                     ") is not in the new schema and would not be in the new database" +
                                     (o.drop_unknown ? std::string(" (--drop-unknown)")
                                                     : std::string(" (refused with --yes unless --drop-unknown)"))}});
  if (occupied && !o.target.yes)
    guards.push_back(json::object{
        {"guard", "confirm"},
        {"message", "the target holds tables: the run asks first, and refuses without a terminal unless --yes"}});
  json::array reasons;
  const int64_t rejected = imp.at("records_rejected").to_number<int64_t>();
  if (rejected > 0) {
    std::ifstream in(run.reject_file->string());
    std::string line;
    for (int i = 0; i < 20 && std::getline(in, line); ++i) {
      boost::system::error_code ec;
      json::value v = json::parse(line, ec);
      reasons.push_back(!ec && v.is_object() && v.as_object().contains("reason") ? v.at("reason") : json::value(line));
    }
    if (o.reject_file.empty())
      guards.push_back(json::object{
          {"guard", "rejects"},
          {"message", std::to_string(rejected) + " records cannot be mapped: without --reject-file the run "
                                                 "stops at the first and changes nothing"}});
  }

  json::object plan{
      {"operation", "plan"},
      {"command", operation},
      {"database", target.display},
      {"backend", target.plugin->name},
      {"exists", !before.if_contains("exists") || before.at("exists").as_bool()},
      {"source", served},
      {"schema",
       json::object{
           {"before", schema_before},
           {"after", json::object{{"name", schema.name}, {"version", schema.version}, {"checksum", schema.checksum}}}}},
      {"backup", occupied ? "a verified backup would be made first" : json::value(nullptr)},
      {"tables", tables},
      {"rejected", rejected},
      {"reject_reasons", reasons},
      {"unknown_fields", imp.at("unknown_fields")},
      {"import", imported ? json::value(imp) : json::value(nullptr)},
      {"guards", guards},
      {"would_refuse",
       !guards.empty() && (guards.back().at("guard") == "confirm" || (rejected > 0 && o.reject_file.empty()))}};
  if (operation == "migrate") plan["sources"] = sources;
  if (auto* d = mapped.details.if_contains("database_source")) plan["database_source"] = *d;
  if (o.target.json) {
    print_json(plan);
    return;
  }
  std::printf("plan: %s of %s (%s), changing nothing\n", operation.c_str(), target.display.c_str(),
              target.plugin->name.c_str());
  std::printf("  source:  %s\n", served.c_str());
  const auto& sb = plan.at("schema").at("before");
  std::printf("  schema:  %s -> %s v%lld (%s)\n",
              sb.is_object() ? ("v" + str(sb.at("version")) + " (" + str(sb.at("checksum")).substr(0, 12) + ")").c_str()
                             : "none recorded",
              schema.name.c_str(), static_cast<long long>(schema.version), schema.checksum.substr(0, 12).c_str());
  std::printf("  %-16s %12s %12s\n", "table", "rows now", "rows after");
  for (const auto& tv : tables) {
    const auto& t = tv.as_object();
    std::printf("  %-16s %12s %12lld\n", str(t.at("name")).c_str(),
                t.at("rows_before").is_null() ? "-" : str(t.at("rows_before")).c_str(),
                static_cast<long long>(t.at("rows_after").to_number<int64_t>()));
  }
  std::printf("  backup:  %s\n", occupied ? "a verified backup would be made first" : "none needed (empty target)");
  if (rejected > 0) {
    std::printf("  rejects: %lld records cannot be mapped, e.g.:\n", static_cast<long long>(rejected));
    for (const auto& r : reasons) std::printf("    %s\n", str(r).c_str());
  }
  for (const auto& f : imp.at("unknown_fields").as_object())
    std::printf("  unknown field %s in %s records (mapped nowhere)\n", std::string(f.key()).c_str(),
                str(f.value()).c_str());
  print_database_source(plan);
  for (const auto& gd : guards) std::printf("  would stop or ask: %s\n", str(gd.at("message")).c_str());
}

void add_plan_command(CLI::App& app, GlobalOptions& g) {
  auto* cmd = app.add_subcommand("plan", "Show what `migrate` (same options) would do, changing nothing");
  static MigrateOptions o;
  add_migrate_options(cmd, o);
  cmd->footer(
      "Connects to the target and the sources first (a wrong address fails before any download),\n"
      "fetches and validates the export into a scratch folder that is removed afterwards (the\n"
      "cache is not replaced) or reads a source database read-only through migrate's own mapping\n"
      "(rows counted, not loaded), maps every record, and prints the schema before -> after, rows per\n"
      "table now -> after, rejects with their reasons, unknown fields, and what would stop or ask.\n"
      "No backup, no stage, no file is written. `migrate --dry-run` and `init --dry-run` do the same.\n"
      "Examples:\n"
      "  dbtool plan --db mysql://app@db:3306/app --source http-legacy,json-file --json\n"
      "  dbtool plan --source sqlite:///old/user_management.db --db new.db");
  cmd->callback([&g] { run_plan(g, o, "migrate"); });
}

}  // namespace dbtool
