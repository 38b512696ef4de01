// `dbtool status`: what the database holds, the last runs dbtool recorded in it, and what drifted
// since the last run and against schemas/.
#include "cli/common.hpp"

#include "ops/drift.hpp"
#include "plugins/backend.hpp"
#include "schema/schema.hpp"
#include "util/error.hpp"

#include <cstdio>

namespace dbtool {
namespace json = boost::json;

namespace {

// The history rows as JSON objects, oldest first.
json::array read_history(BackendSession& session) {
  json::array rows;
  ArrowArrayStream stream{};
  session.read_table(std::string(kHistoryTable), &stream);
  sdk::StreamReader reader(&stream);
  sdk::ArrayHolder batch;
  while (reader.next(batch)) {
    sdk::BatchView view(reader.columns(), batch.a);
    for (int64_t r = 0; r < view.rows(); ++r) {
      json::object row;
      for (size_t c = 0; c < view.columns(); ++c) {
        const auto& spec = view.spec(c);
        if (view.is_null(c, r)) {
          row[spec.name] = nullptr;
          continue;
        }
        switch (spec.type) {
          case sdk::ColumnType::Int64: row[spec.name] = view.get_int64(c, r); break;
          case sdk::ColumnType::Float64: row[spec.name] = view.get_double(c, r); break;
          case sdk::ColumnType::Bool: row[spec.name] = view.get_bool(c, r); break;
          default: row[spec.name] = std::string(view.get_bytes(c, r)); break;
        }
        // The run's report is stored as JSON text; scripts get it as the object it is.
        if (spec.name == "report" && row[spec.name].is_string()) {
          boost::system::error_code ec;
          json::value parsed = json::parse(row[spec.name].get_string(), ec);
          if (!ec) row[spec.name] = std::move(parsed);
        }
      }
      rows.push_back(std::move(row));
    }
  }
  return rows;
}

}  // namespace

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
      "It compares the live database with schemas/ (tables, columns) and with the last recorded\n"
      "run (row counts, and content checksums when the schema file is the one the run used) and\n"
      "lists every difference: a column added by hand, 201 rows where the run left 200, ...\n"
      "Example: dbtool status --db mysql://app@db:3306/app --json");
  cmd->callback([&g] {
    PluginRegistry reg = load_plugins(g);
    Target target = resolve_target(reg, opts.backend, opts.db);
    BackendSession session(*target.plugin, target.open_options(false));
    json::object d = session.describe();
    json::array history;
    bool has_history = false;
    if (auto* t = d.if_contains("tables"); t && t->is_array())
      for (const auto& row : t->get_array()) has_history = has_history || row.at("name").as_string() == kHistoryTable;
    if (has_history && session.can_read_tables()) history = read_history(session);
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
    if (auto* t = d.if_contains("tables"); t && t->is_array())
      for (const auto& row : t->get_array())
        std::printf("  %-16s %12lld rows\n", std::string(row.at("name").as_string()).c_str(),
                    static_cast<long long>(row.at("rows").to_number<int64_t>()));
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
      std::printf("  %s  %-8s schema %s v%lld  source %s\n", s("finished_at").c_str(), s("operation").c_str(),
                  s("schema_name").c_str(),
                  static_cast<long long>(h.if_contains("schema_version") ? h.at("schema_version").to_number<int64_t>() : 0),
                  s("source").c_str());
    }
  });
}

}  // namespace dbtool
