// A database as a migration source: any backend that announces DBTOOL_CAP_READ, opened
// read-only, read from one consistent snapshot, every table streamed batch by batch through the
// database mapping into the stage. It is the only source that carries password hashes and the
// tables the web API never shows.
#pragma once

#include "import/table_mapping.hpp"
#include "ops/rebuild.hpp"
#include "ops/target.hpp"
#include "plugins/backend.hpp"
#include "plugins/plugin_registry.hpp"
#include "schema/schema.hpp"

#include <boost/json.hpp>

#include <functional>
#include <memory>
#include <string>
#include <string_view>

namespace dbtool {

// The environment variable (also read from .env) a source database's password comes from.
inline constexpr const char* kSourcePasswordEnv = "DBTOOL_SOURCE_DB_PASSWORD";

// True when a --source entry is a database URI ("sqlite:///old.db", "mysql://app@old/app")
// rather than a source plugin's name.
bool is_database_uri(std::string_view entry);

// Checks, without connecting, that `uri` names a backend that can be read as a source and
// carries no password. A bare path is a SQLite file, as for --db. Throws dbtool::Error(kUsage) saying what is wrong.
const LoadedPlugin& check_database_source(const PluginRegistry& plugins, const std::string& uri);

// The portable schema of a live database (describe_schema's JSON), validated like
// schemas/schema.json. `name` and `version` fill in what describe_schema leaves out.
Schema schema_of_database(const boost::json::object& described, const std::string& origin,
                          const std::string& name = "source", int64_t version = 1);

// An open source database: read-only session, snapshot begun, schema described. Destroying it
// ends the snapshot and closes the session.
class DatabaseSource {
 public:
  // `uri` as given to --source; the password comes from `password_env`, .env or a prompt.
  // Throws dbtool::Error when the database cannot be opened, snapshotted or described.
  DatabaseSource(const PluginRegistry& plugins, const std::string& uri,
                 const std::vector<std::string>& password_env = {kSourcePasswordEnv});
  ~DatabaseSource();
  DatabaseSource(const DatabaseSource&) = delete;
  DatabaseSource& operator=(const DatabaseSource&) = delete;

  const std::string& display() const { return target_.display; }  // redacted
  const std::string& backend() const { return target_.plugin->name; }
  const std::string& name() const { return target_.name; }  // the database's short name, from its backend
  const Schema& schema() const { return schema_; }
  const boost::json::object& described() const { return described_; }
  // Rows of a table as describe() counted them inside the snapshot (0 when unknown).
  int64_t rows(const std::string& table) const;
  // True when the source holds dbtool's own run history (never app data, never copied).
  bool has_history() const;
  BackendSession& session() { return *session_; }

 private:
  Target target_;
  std::unique_ptr<BackendSession> session_;
  boost::json::object described_;
  Schema schema_;
  bool in_snapshot_ = false;
};

// Streams every planned table of `source` into the stage (parents first), renaming, reordering,
// dropping and adding constant columns per batch without copying values that keep their type.
// A reader thread reads the source (its session is used from that thread only meanwhile) a few
// batches ahead of the load on the calling thread, so reads and writes overlap; an error on
// either side stops the other.
// Returns the rows each target table must hold and the per-table reconciliation
// (read = loaded + dropped + rejected). Throws dbtool::Error; the caller's stage is then aborted.
LoadOutcome load_from_database(BackendStage& stage, DatabaseSource& source, const MappingPlan& plan);

// Where read_from_database sends each target table's rows: takes ownership of the stream and
// returns the rows it took. A stage's load, or drain_stream.
using TableSink = std::function<int64_t(const std::string& table, ArrowArrayStream* stream)>;

// load_from_database with any sink: every planned table read and adapted the same way, every
// value checked the same way, the same reconciliation returned. `plan` uses it with
// drain_stream to count what a migration would load without writing anything.
LoadOutcome read_from_database(DatabaseSource& source, const MappingPlan& plan, const TableSink& sink);

// Reads a stream to its end and returns its rows; throws dbtool::Error with the stream's error.
int64_t drain_stream(const std::string& table, ArrowArrayStream* stream);

}  // namespace dbtool
