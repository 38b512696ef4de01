// RAII C++ view of a backend plugin's C table: sessions and stages that close and abort
// themselves, and plugin errors turned into dbtool::Error.
#pragma once

#include "plugins/cancel_registry.hpp"
#include "plugins/plugin_registry.hpp"

#include <boost/json.hpp>

#include <filesystem>
#include <memory>
#include <optional>
#include <string>

namespace dbtool {

class BackendStage;

class BackendSession {
 public:
  // Opens a session; options are the backend's open options (uri, password, create).
  BackendSession(const LoadedPlugin& plugin, const boost::json::object& options);
  ~BackendSession();
  BackendSession(const BackendSession&) = delete;
  BackendSession& operator=(const BackendSession&) = delete;

  const LoadedPlugin& plugin() const { return plugin_; }
  bool can(uint64_t capability) const { return (plugin_.capabilities & capability) != 0; }

  boost::json::object describe();
  // Both throw dbtool::Error when the plugin does not support them.
  boost::json::object backup(const std::filesystem::path& file);
  boost::json::object restore(const std::filesystem::path& file);
  // Checks a backup file without touching anything; {} when the backend has no such check
  // (its restore still checks). Throws dbtool::Error naming what is wrong with the file.
  boost::json::object verify_backup(const std::filesystem::path& file);
  bool can_read_tables() const;
  void read_table(const std::string& table, ArrowArrayStream* out);
  // Whether the backend can interrupt a running call (DBTOOL_CAP_CANCEL and the slot). Such a
  // session is registered with session_cancels() from open to close, so Ctrl-C reaches it.
  bool can_cancel() const;
  // Asks the backend to interrupt the call running on this session; any thread, never throws
  // (a failure is logged with --verbose). A no-op for a backend that cannot.
  void cancel() noexcept;

  // Reading a database as a source (ABI 1.1): true when the plugin announces DBTOOL_CAP_READ
  // and sets every slot that takes. The others throw dbtool::Error on a plugin failure.
  bool can_read_database() const;
  void snapshot_begin();
  void snapshot_end();
  // The live database as portable schema JSON (CONTRACT.md), parsed.
  boost::json::object describe_schema();

  std::unique_ptr<BackendStage> begin_stage(const std::string& schema_json);

  // Restoring into a stage (ABI 1.3): true when the plugin announces DBTOOL_CAP_RESTORE and sets
  // restore_stage. restore_stage checks `file` as restore does and returns a stage that starts
  // as its restored copy, with the tables of `schema_json` the backup lacks created; loads
  // append; its commit is the one swap. `report` receives restore's report. Throws
  // dbtool::Error (the target untouched: nothing is swapped before the stage's commit).
  bool can_restore_stage() const;
  std::unique_ptr<BackendStage> restore_stage(const std::filesystem::path& file, const std::string& schema_json,
                                              boost::json::object& report);

 private:
  friend class BackendStage;
  [[noreturn]] void fail(const std::string& what, dbtool_status st, const struct PluginErrorHolder& err) const;

  const LoadedPlugin& plugin_;
  dbtool_session* session_ = nullptr;
  CancelRegistry::Registration cancel_registration_;  // dropped before close
};

// A stage aborts itself when destroyed uncommitted, so any exception on the way leaves the
// target untouched.
class BackendStage {
 public:
  ~BackendStage();
  BackendStage(const BackendStage&) = delete;
  BackendStage& operator=(const BackendStage&) = delete;

  // Takes ownership of `stream`. Returns the rows the backend wrote.
  int64_t load(const std::string& table, ArrowArrayStream* stream);
  int64_t count(const std::string& table);
  // Whether load may run for different tables from different threads at once (ABI 1.4,
  // DBTOOL_CAP_CONCURRENT_LOAD); count, commit and abort only once every load returned.
  bool takes_concurrent_loads() const { return session_.can(DBTOOL_CAP_CONCURRENT_LOAD); }
  boost::json::object commit();
  void abort();

 private:
  friend class BackendSession;
  BackendStage(const BackendSession& session, dbtool_stage* stage) : session_(session), stage_(stage) {}
  const BackendSession& session_;
  dbtool_stage* stage_;
};

// What a --db or --source URI names, as the backend that owns its scheme reads it.
struct UriFacts {
  std::string uri;                            // to open (the backend's normal form)
  std::string location;                       // for messages and reports: nothing secret
  std::string name;                           // base name for backup files
  std::optional<std::filesystem::path> file;  // the real file of a one-file database
  enum class Password { kNone, kOptional, kRequired } password = Password::kOptional;
};

// Asks the backend (describe_uri, ABI 1.2). A backend without the slot gets the opaque reading:
// the URI as given, displayed with any password removed, named after its last path segment, a
// password asked for when the URI names a user. Throws dbtool::Error(kUsage) for a URI the
// backend refuses.
UriFacts describe_uri(const LoadedPlugin& plugin, const std::string& uri);

// Parses a plugin's JSON report (empty text means {}).
boost::json::object parse_report(const std::string& plugin, dbtool_text& text);

}  // namespace dbtool
