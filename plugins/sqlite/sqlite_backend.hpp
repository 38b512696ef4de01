// The SQLite backend's shared pieces: connection handles, error mapping, the portable schema
// as this plugin reads it, and the session/stage structs behind the opaque ABI handles.
#pragma once

#include <dbtool/plugin.h>
#include <dbtool/sdk/arrow.hpp>
#include <dbtool/sdk/plugin.hpp>
#include <dbtool/sdk/schema.hpp>
#include <dbtool/sdk/error.hpp>

#include <sqlite3.h>

#include <atomic>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

namespace dbtool::sqlite {

using sdk::cancelled;
using sdk::log;

// Throws sdk::Failure with the status, SQLSTATE ("23000" for constraints, else "HY000") and
// extended SQLite code that fit `rc`; the message starts with `what`.
[[noreturn]] void fail(sqlite3* db, int rc, const std::string& what);

// An open connection, closed on destruction.
class Connection {
 public:
  Connection() = default;
  Connection(const std::filesystem::path& file, int flags);
  ~Connection();
  Connection(Connection&& o) noexcept : db_(o.db_) { o.db_ = nullptr; }
  Connection& operator=(Connection&& o) noexcept;
  sqlite3* get() const { return db_; }
  explicit operator bool() const { return db_ != nullptr; }
  void close();
  void exec(const std::string& sql, const std::string& what);
  // The first column of the first row as text ("" when there is none).
  std::string scalar_text(const std::string& sql);
  int64_t scalar_int(const std::string& sql);

 private:
  sqlite3* db_ = nullptr;
};

// A prepared statement, finalized on destruction.
class Statement {
 public:
  Statement(sqlite3* db, const std::string& sql);
  ~Statement() { sqlite3_finalize(st_); }
  Statement(const Statement&) = delete;
  Statement& operator=(const Statement&) = delete;
  sqlite3_stmt* get() const { return st_; }

 private:
  sqlite3_stmt* st_ = nullptr;
};

std::string quote_identifier(const std::string& name);  // validates, then "name"
std::vector<std::string> user_tables(Connection& c);
// [{"name", "rows"}] for every user table.
std::string tables_json(Connection& c);
// The checks a finished database must pass: integrity and foreign keys. `thorough` runs
// integrity_check (also checks index contents, O(N log N)); otherwise quick_check (O(N)),
// enough for a file this process just wrote.
void verify_database(Connection& c, const std::string& what, bool thorough = true);
void fsync_path(const std::filesystem::path& p);

// The statements that create the tables of `schema` (`tables_ddl`) and their unique and plain
// indexes (`index_ddl`). A stage creates the indexes after loading: building an index from
// sorted data beats growing it row by row.
void schema_to_ddl(const sdk::PortableSchema& schema, std::vector<std::string>& tables_ddl,
                   std::vector<std::string>& index_ddl);

}  // namespace dbtool::sqlite

struct dbtool_session {
  std::filesystem::path path;
  int lock_fd = -1;
  std::string lock_path;
  dbtool::sqlite::Connection db;  // open while the target exists
  std::atomic<sqlite3*> busy{nullptr};  // the connection a long call runs on, for cancel
  bool has_stage = false;
};

struct dbtool_stage {
  dbtool_session* session = nullptr;
  std::filesystem::path file;
  dbtool::sqlite::Connection db;
  dbtool::sdk::PortableSchema schema;
  std::vector<std::string> index_ddl;  // run at commit
};

namespace dbtool::sqlite {
// Slots of the function table, defined in session.cpp and stage.cpp.
dbtool_status open_session(const char* options_json, dbtool_session** out, dbtool_error* error);
void close_session(dbtool_session* s);
dbtool_status cancel(dbtool_session* s, dbtool_error* error);
dbtool_status describe(dbtool_session* s, dbtool_text* out, dbtool_error* error);
dbtool_status read_table(dbtool_session* s, const char* table, ArrowArrayStream* out, dbtool_error* error);
dbtool_status backup(dbtool_session* s, const char* path, dbtool_text* report, dbtool_error* error);
dbtool_status restore(dbtool_session* s, const char* path, dbtool_text* report, dbtool_error* error);
dbtool_status stage_begin(dbtool_session* s, const char* schema_json, dbtool_stage** out, dbtool_error* error);
dbtool_status stage_load(dbtool_stage* st, const char* table, ArrowArrayStream* stream, int64_t* rows,
                         dbtool_error* error);
dbtool_status stage_count(dbtool_stage* st, const char* table, int64_t* rows, dbtool_error* error);
dbtool_status stage_commit(dbtool_stage* st, dbtool_text* report, dbtool_error* error);
void stage_abort(dbtool_stage* st);

// A new, empty file beside the target for a stage or a restore: ".<name>.dbtool-stage-<pid>-<n>".
std::filesystem::path new_stage_file(const std::filesystem::path& target);
// Moves `stage` over the session's target in one rename, then reopens the session on it.
void swap_in(dbtool_session* s, const std::filesystem::path& stage);
}  // namespace dbtool::sqlite
