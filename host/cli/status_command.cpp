// `dbtool status`: what the database holds, the last runs dbtool recorded in it, and what drifted
// since the last run and against schemas/.
#include "cli/common.hpp"

#include "ops/drift.hpp"
#include "ops/history.hpp"
#include "plugins/backend.hpp"
#include "schema/schema.hpp"
#include "util/error.hpp"

#include <algorithm>
#include <cstdio>

namespace dbtool {
namespace json = boost::json;

void add_status_command(CLI::App& app, GlobalOptions& g) {
  auto* cmd = app.add_subcommand(
      "status", "Show the database's tables, the runs dbtool recorded, and what drifted since the last run");
  static TargetOptions opts;
  static std::string schema_dir;
  add_target_options(cmd, opts, false);
  cmd->add_option("--schema-dir", schema_dir, "Folder with schema.json to compare the database with")
      ->envname("DBTOOL_SCHEMA_DIR");
  cmd->footer(
      "Status changes nothing and creates nothing (not even a database that does not exist yet).\n"
      "It compares the live database with schemas/ (tables, columns, indexes) and with the last recorded\n"
      "run (row counts, and content checksums when the schema file is the one the run used) and\n"
      "lists every difference: a column added by hand, 201 rows where the run left 200, ...\n"
      "Example: dbtool status --db mysql://app@db:3306/app --json");
  cmd->callback([&g] {
    PluginRegistry reg = load_plugins(g);
    Target target = resolve_target(reg, opts.backend, opts.db);
    BackendSession session(*target.plugin, target.open_options(false));
    json::object d = session.describe();
    json::array history;
    if (session.can_read_tables()) history = read_history(session, d);
    const bool exists = !d.if_contains("exists") || d.at("exists").as_bool();
    json::value drift = nullptr;
    if (exists) {
      Schema schema = load_schema(find_schema_dir(schema_dir) / "schema.json");
      drift = find_drift(session, d, schema, history.empty() ? json::value(nullptr) : history.back());
    }
    if (opts.json) {
      d["database"] = target.display;
      d["backend"] = target.plugin->name;
      d["history"] = history;
      d["drift"] = drift;
      print_json(d);
      return;
    }
    std::printf("database: %s (%s)%s\n", target.display.c_str(), target.plugin->name.c_str(),
                exists ? "" : " — does not exist yet");
    if (auto* t = d.if_contains("tables"); t && t->is_array()) {
      int width = 16;  // the names' column as wide as the longest name, so the counts line up
      for (const auto& row : t->get_array())
        width = std::max(width, static_cast<int>(row.at("name").as_string().size()));
      for (const auto& row : t->get_array())
        std::printf("  %-*s %12lld rows\n", width, std::string(row.at("name").as_string()).c_str(),
                    static_cast<long long>(row.at("rows").to_number<int64_t>()));
    }
    if (auto* r = d.if_contains("retired"); r && r->is_array() && !r->get_array().empty()) {
      std::printf("data set aside by earlier cut-overs (drop once no longer needed):\n");
      for (const auto& name : r->get_array()) std::printf("  %s\n", std::string(name.as_string()).c_str());
    }
    if (drift.is_object()) {
      const auto& diffs = drift.at("differences").as_array();
      if (diffs.empty())
        std::printf("no drift: the database matches schemas/%s\n",
                    history.empty() ? "" : " and what the last run left");
      else
        std::printf("drift (against schemas/%s):\n", history.empty() ? "" : " and the last run");
      for (const auto& x : diffs) std::printf("  %s\n", std::string(x.at("message").as_string()).c_str());
    }
    if (history.empty()) {
      std::printf("no dbtool runs recorded\n");
      return;
    }
    std::printf("recent runs:\n");
    size_t from = history.size() > 5 ? history.size() - 5 : 0;
    for (size_t i = from; i < history.size(); ++i) {
      const auto& h = history[i].as_object();
      auto s = [&](const char* k) {
        auto* v = h.if_contains(k);
        return v && v->is_string() ? std::string(v->get_string()) : std::string("-");
      };
      std::printf(
          "  %s  %-8s schema %s v%lld  source %s\n", s("finished_at").c_str(), s("operation").c_str(),
          s("schema_name").c_str(),
          static_cast<long long>(h.if_contains("schema_version") ? h.at("schema_version").to_number<int64_t>() : 0),
          s("source").c_str());
    }
  });
}

}  // namespace dbtool
