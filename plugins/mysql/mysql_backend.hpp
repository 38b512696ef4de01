// The MySQL/MariaDB backend's shared pieces: the target URI, connections and error mapping,
// the portable schema as this plugin reads it, and the structs behind the opaque handles.
#pragma once

#include <dbtool/plugin.h>
#include <dbtool/sdk/arrow.hpp>
#include <dbtool/sdk/error.hpp>
#include <dbtool/sdk/handle.hpp>
#include <dbtool/sdk/plugin.hpp>
#include <dbtool/sdk/schema.hpp>

#include <mysql.h>
#include <boost/json.hpp>

#include <atomic>
#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

namespace dbtool::mysql {

using sdk::cancelled;
using sdk::log;

// mysql://USER@HOST:PORT/DB?socket=PATH&ssl-mode=MODE&ssl-ca=FILE&load=insert|infile
struct Target {
  std::string user, host = "localhost", socket, database, ssl_mode, ssl_ca;
  std::string load;  // stage load path: "insert", "infile", or "" for the default
  unsigned port = 3306;
  std::string display;  // the URI as given (it never holds a password)
};
Target parse_uri(const std::string& uri);

// Throws sdk::Failure carrying the server's SQLSTATE and error number.
[[noreturn]] void fail(MYSQL* m, const std::string& what);

// A connection, closed on destruction. `database` may be empty.
class Connection {
 public:
  Connection() = default;
  // `local_infile` lets this connection send LOAD DATA LOCAL INFILE data (stage loads only).
  Connection(const Target& t, const std::string& password, const std::string& database, bool local_infile = false);
  MYSQL* get() const { return m_.get(); }
  explicit operator bool() const { return m_ != nullptr; }
  void close() { m_.reset(); }
  void query(const std::string& sql, const std::string& what);
  int64_t scalar_int(const std::string& sql);
  std::vector<std::string> column_of(const std::string& sql);  // first column of every row

 private:
  sdk::Handle<MYSQL, mysql_close> m_;
};

std::string quote_identifier(const std::string& name);   // validates, then `name`
std::string quote_string(MYSQL* m, std::string_view s);  // 'escaped' (for DDL defaults only)

// The binary NO PAD collation of the server `m` is connected to (utf8mb4_nopad_bin on MariaDB,
// utf8mb4_0900_bin on MySQL 8), in which text compares byte for byte as on SQLite.
std::string text_collation(MYSQL* m);
// The CREATE TABLE statement of each table (InnoDB, utf8mb4, text in `collation`); `m` escapes
// default literals.
std::vector<std::string> schema_to_ddl(MYSQL* m, const sdk::PortableSchema& schema, const std::string& collation);

// The key of `t` a duplicate-key message of the server names ("... for key 'uq_users_uid'",
// MySQL 8: 'users.uq_users_uid'), and its columns (null when it names no key of `t`).
struct DuplicatedKey {
  std::string name;  // "PRIMARY" for the primary key, as the server says
  const std::vector<std::string>* columns = nullptr;
  std::string shown_name() const { return name == "PRIMARY" ? "primary key" : name; }
};
DuplicatedKey duplicated_key(const sdk::PortableTable& t, const std::string& message);

// The one wording of a duplicate key (sdk::duplicate_key_message) made from the server's
// message alone, for the errors that come without the row (LOAD DATA's warnings): the value
// only when the key has one column whose value the server's text shows exactly. Empty when
// the message names no key of `t`.
std::string duplicate_from_server(const sdk::PortableTable& t, const std::string& message);

// Names of the databases dbtool makes beside the target (kept within MySQL's 64 characters).
std::string stage_prefix(const std::string& database);
std::string retired_name(const std::string& database);
std::string retired_prefix(const std::string& database);  // of every retired_name(database)

// Every base table of `database`, sorted.
std::vector<std::string> tables_of(Connection& c, const std::string& database);
// [{"name", "rows"}] with exact counts.
std::string tables_json(Connection& c, const std::string& database);
// The views and triggers of the database, which no portable schema describes: describe lists
// them so the host can name them before a run replaces the database without them.
boost::json::array views_json(Connection& c, const std::string& database);
boost::json::array triggers_json(Connection& c, const std::string& database);

// One RENAME TABLE that moves the live tables into a new retired database and the staged
// ones into place; returns the retired database's name ("" when there was nothing to retire).
std::string swap_databases(Connection& c, const std::string& live, const std::string& stage);

}  // namespace dbtool::mysql

struct dbtool_session {
  dbtool::mysql::Target target;
  std::string password;
  dbtool::mysql::Connection conn;  // holds the advisory lock
  std::string collation;           // text_collation() of the server, asked once at open
  // Server thread ids that cancel interrupts with KILL QUERY (0: none): the session's own
  // connection and the connection of a backup or restore.
  std::atomic<unsigned long> session_thread{0};
  std::atomic<unsigned long> busy_thread{0};
  // And those of the open stage's connections (the first is the stage's own), which concurrent
  // loads open and close while a cancel may read the set.
  std::mutex load_threads_mutex;
  std::set<unsigned long> load_threads;
  bool exists = false;
  bool has_stage = false;
  bool read_only = false;    // a migration source: no lock, nothing created or dropped, READ ONLY transactions
  bool in_snapshot = false;  // `conn` holds the transaction snapshot_begin started
  int open_streams = 0;      // read_table streams not yet released (inside a snapshot they use `conn`)
  // The target's tables and their CHECKSUM TABLE values when the last backup began (else when
  // the stage or restore began): a swap after another connection wrote to the target would
  // lose those writes (ABI 1.1, DBTOOL_ERR_CONFLICT).
  std::optional<std::string> baseline;
  bool allow_concurrent_writes = false;
};

namespace dbtool::mysql {
class MultiInsert;  // stage.cpp
class BulkInsert;   // stage.cpp

// Load connections of one stage at most: one per table loaded at the same time, as many as the
// host loads at once (DBTOOL_CAP_CONCURRENT_LOAD), few enough for a server's max_connections.
constexpr size_t kMostLoaders = 4;

// A connection that loads the stage, with its prepared statements and its open transaction.
// Concurrent loads (DBTOOL_CAP_CONCURRENT_LOAD) each take one; a table's uncommitted rows are
// only ever on one of them, since InnoDB would make a unique check on one connection wait for
// the other's transaction (stage.cpp, acquire_loader).
struct Loader {
  Connection conn;
  // Each table's prepared INSERTs (by their text before VALUES' rows, and their rows) and array
  // executions, kept from one stage_load to the next: the host loads a table in many calls, a
  // batch each, and preparing a statement of 256 rows is the server parsing thousands of
  // placeholders. Closed before `conn`.
  std::map<std::pair<std::string, size_t>, std::unique_ptr<MultiInsert>> inserts;
  std::map<std::string, std::unique_ptr<BulkInsert>> bulk_inserts;
  // The table whose rows may be in the open transaction ("" for none: a transaction only ever
  // holds one table's, see acquire_loader), and the one a stage_load is loading ("" when idle):
  // read and written under the stage's loaders_mutex.
  std::string pending;
  std::string loading;
  bool busy = false;        // taken by a stage_load
  int64_t uncommitted = 0;  // rows in the open transaction
  dbtool_stage* stage;
  Loader(dbtool_stage* st, bool infile);
  ~Loader();
  // Commits the open transaction; then only the table being loaded (if any) is pending.
  void commit(const std::string& what);
};
}  // namespace dbtool::mysql

struct dbtool_stage {
  dbtool_session* session = nullptr;
  std::string database;
  dbtool::sdk::PortableSchema schema;
  // Load with LOAD DATA LOCAL INFILE; cleared, by whichever load first hears it, when the server
  // refuses it.
  std::atomic<bool> infile{false};
  // Load with array executions of a one-row INSERT (load=bulk, the default where the server
  // takes them: MariaDB), else with multi-row INSERTs.
  bool bulk = false;
  std::mutex loaders_mutex;
  std::condition_variable loader_freed;
  // The load connections; the first, made with the stage, also creates the tables, counts them
  // and checks the foreign keys (control()).
  std::vector<std::unique_ptr<dbtool::mysql::Loader>> loaders;
  dbtool::mysql::Connection& control() { return loaders.front()->conn; }
  size_t most_loaders = dbtool::mysql::kMostLoaders;  // lowered when the server refuses another connection
  ~dbtool_stage();                                    // stage.cpp, where MultiInsert is whole
};

namespace dbtool::mysql {
// Every slot of the function table; make_backend_api<Backend>() (entry.cpp) puts each in the
// slot of the same name. Defined in session.cpp (open to read_table), dump.cpp (backup, restore,
// verify_backup), stage.cpp (stage_*), source.cpp (ABI 1.1 reading slots) and mysql_util.cpp
// (describe_uri, ABI 1.2: what a mysql:// or mariadb:// URI names, without connecting).
struct Backend {
  static dbtool_status open(const char* options_json, dbtool_session** out, dbtool_error* error);
  static void close(dbtool_session* s);
  static dbtool_status cancel(dbtool_session* s, dbtool_error* error);
  static dbtool_status describe(dbtool_session* s, dbtool_text* out, dbtool_error* error);
  static dbtool_status read_table(dbtool_session* s, const char* table, ArrowArrayStream* out, dbtool_error* error);
  static dbtool_status backup(dbtool_session* s, const char* path, dbtool_text* report, dbtool_error* error);
  static dbtool_status restore(dbtool_session* s, const char* path, dbtool_text* report, dbtool_error* error);
  static dbtool_status verify_backup(dbtool_session* s, const char* path, dbtool_text* report, dbtool_error* error);
  static dbtool_status stage_begin(dbtool_session* s, const char* schema_json, dbtool_stage** out, dbtool_error* error);
  static dbtool_status stage_load(dbtool_stage* st, const char* table, ArrowArrayStream* stream, int64_t* rows,
                                  dbtool_error* error);
  static dbtool_status stage_count(dbtool_stage* st, const char* table, int64_t* rows, dbtool_error* error);
  static dbtool_status stage_commit(dbtool_stage* st, dbtool_text* report, dbtool_error* error);
  static void stage_abort(dbtool_stage* st);
  static dbtool_status snapshot_begin(dbtool_session* s, dbtool_error* error);
  static dbtool_status snapshot_end(dbtool_session* s, dbtool_error* error);
  static dbtool_status describe_schema(dbtool_session* s, dbtool_text* out, dbtool_error* error);
  static dbtool_status describe_uri(const char* uri, dbtool_text* out, dbtool_error* error);
};
std::string new_stage_database(const std::string& live);
// Every table of the target and its checksum ("" for no database or no tables).
std::string target_state(dbtool_session* s);
// Throws DBTOOL_ERR_CONFLICT when the target changed since s->baseline (unless allowed); the
// caller runs it right before swap_databases.
void refuse_if_changed(dbtool_session* s);
// Loads `reader` into `table` of the stage with LOAD DATA LOCAL INFILE fed from memory.
// Returns false, having read nothing from the stream, when the server refuses LOCAL INFILE.
bool load_infile(dbtool_stage* st, Loader& loader, sdk::StreamReader& reader, const std::string& table,
                 int64_t& loaded);
// Throws Failure(NOT_SUPPORTED) when `s` was opened read-only; `what` names the refused call.
void refuse_if_read_only(const dbtool_session* s, const std::string& what);
}  // namespace dbtool::mysql
