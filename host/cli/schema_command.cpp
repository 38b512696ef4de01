// `dbtool schema import` and `dbtool schema diff`: take the schema from a live database (one the
// app just created with its own models), and list how a live database differs from schemas/.
// Both only read: the database is opened read-only, on any backend that can be read as a source.
#include "cli/common.hpp"

#include "ops/db_source.hpp"
#include "schema/schema_compare.hpp"
#include "util/environment.hpp"
#include "util/error.hpp"

#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <iostream>

namespace dbtool {
namespace json = boost::json;
namespace fs = std::filesystem;

namespace {

// --db as given: a bare path is a SQLite file, as everywhere else (its backend reads it).
std::string database_uri(const std::string& db) {
  if (db.empty())
    throw Error("--db is required: sqlite:///PATH, a SQLite path, or mysql://USER@HOST:PORT/DB", ExitCode::kUsage);
  return db;
}

// A schema name from the database's own name when it is a valid identifier.
std::string default_name(const std::string& database_name) {
  return sdk::is_identifier(database_name) ? database_name : "imported";
}

void write_atomically(const fs::path& file, const std::string& text) {
  fs::path tmp = file.string() + ".tmp-" + std::to_string(::getpid());
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    out << text;
    out.close();
    if (!out) {
      fs::remove(tmp);
      throw Error("cannot write " + file.string());
    }
  }
  fs::rename(tmp, file);
}

// The database --db names, opened read-only as a source, with the plugins it needs (import and
// diff). `db` points into `plugins`, so this is made in place and never copied or moved.
struct LiveDatabase {
  LiveDatabase(const GlobalOptions& g, const std::string& db_option)
      : plugins(load_plugins(g)), uri(database_uri(db_option)), db(plugins, uri, {"DBTOOL_DB_PASSWORD", "MYSQL_PWD"}) {}
  LiveDatabase(const LiveDatabase&) = delete;
  LiveDatabase& operator=(const LiveDatabase&) = delete;

  PluginRegistry plugins;
  std::string uri;
  DatabaseSource db;
};

}  // namespace

void add_schema_command(CLI::App& app, GlobalOptions& g) {
  auto* cmd = app.add_subcommand("schema", "Take the schema from a live database, or compare one with schemas/");
  cmd->require_subcommand(1);
  const std::string db_help =
      "The database: a SQLite path or sqlite:///PATH, or mysql://USER@HOST:PORT/DB. Opened read-only. "
      "The password never goes here: DBTOOL_DB_PASSWORD, MYSQL_PWD, .env or a prompt";

  auto* imp =
      cmd->add_subcommand("import", "Write the portable schema (schemas/schema.json format) of a live database");
  static std::string import_db, out_file, name, description;
  static int64_t version = 1;
  imp->add_option("--db", import_db, db_help)->required()->envname("DBTOOL_DB");
  imp->add_option("--out", out_file, "Write it to this file (replaced atomically) instead of stdout");
  imp->add_option("--name", name, "The schema's name (default: the database's name)");
  imp->add_option("--version", version, "The schema's version; raise it with every change of the app's models")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  imp->add_option("--description", description, "The schema's description");
  imp->footer(
      "Typical use: let the new release of the app create an empty database with its own models\n"
      "(db.create_all()), then make that the schema dbtool builds and migrates into:\n"
      "  dbtool schema import --db sqlite:///instance/volumes/fresh.db --version 4 --out schemas/schema.json\n"
      "  dbtool schema import --db mysql://app@db:3306/app_new > schema.json\n"
      "Tables come parents first, with columns, types, NOT NULLs, defaults, keys, foreign keys\n"
      "(on_delete) and indexes as the database declares them; dbtool_history is left out.");
  imp->callback([&g] {
    LiveDatabase live(g, import_db);
    const DatabaseSource& db = live.db;
    Schema s = schema_of_database(live.db.session().describe_schema(), db.display(),
                                  name.empty() ? default_name(db.name()) : name, version);
    s.description = description.empty()
                        ? "Imported by dbtool schema import from " + db.display() + " on " + utc_stamp_iso() + "."
                        : description;
    std::string text = schema_file_text(s);
    // The file must load as a schema exactly as written, or it is no use to anyone.
    parse_schema(text, out_file.empty() ? "(the imported schema)" : out_file);
    if (out_file.empty()) {
      std::cout << text;
      return;
    }
    write_atomically(out_file, text);
    std::fprintf(stderr, "wrote %s: %zu tables from %s\n", out_file.c_str(), s.tables.size(), db.display().c_str());
  });

  auto* diff = cmd->add_subcommand("diff", "List every difference between a live database and schemas/schema.json");
  static std::string diff_db, schema_dir;
  static bool as_json = false;
  diff->add_option("--db", diff_db, db_help)->required()->envname("DBTOOL_DB");
  diff->add_option("--schema-dir", schema_dir, "Folder with schema.json")->envname("DBTOOL_SCHEMA_DIR");
  diff->add_flag("--json", as_json, "Print the differences as one JSON document on stdout");
  diff->footer(
      "Exit status: 0 when the database matches schema.json, 1 when they differ (or on error).\n"
      "Compared: tables and columns missing or extra, type, nullability, max_length, default,\n"
      "auto_increment, primary key, uniques, foreign keys (with on_delete) and indexes; keys by what\n"
      "they constrain, not by name. dbtool_history is not part of the app's schema and is ignored.\n"
      "Examples:\n"
      "  dbtool schema diff --db instance/volumes/user_management.db\n"
      "  dbtool schema diff --db mysql://app@db:3306/app --json");
  diff->callback([&g] {
    fs::path dir = find_schema_dir(schema_dir);
    Schema expected = load_schema(dir / "schema.json");
    LiveDatabase live(g, diff_db);
    const DatabaseSource& db = live.db;
    std::vector<SchemaDifference> diffs = diff_schemas(expected, db.schema());
    if (as_json) {
      json::array a;
      for (const auto& d : diffs) a.push_back(d.to_json());
      print_json(json::object{{"database", db.display()},
                              {"schema", (dir / "schema.json").string()},
                              {"equal", diffs.empty()},
                              {"differences", std::move(a)}});
    } else if (diffs.empty()) {
      std::printf("%s matches %s\n", db.display().c_str(), (dir / "schema.json").c_str());
    } else {
      std::printf("%s differs from %s:\n", db.display().c_str(), (dir / "schema.json").c_str());
      for (const auto& d : diffs) std::printf("  %s\n", d.to_text().c_str());
    }
    std::fflush(stdout);
    if (!diffs.empty())
      throw Error(std::to_string(diffs.size()) + " difference(s) between the database and schema.json",
                  ExitCode::kFailure);
  });
}

}  // namespace dbtool
