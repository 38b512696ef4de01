// The PostgreSQL backend's pieces: a session (one connection to one database) and a stage (a
// schema of its own in that database, renamed to `public` at commit). Same shape as
// examples/backend-template, with libpq instead of SQLite.
#pragma once

#include <dbtool/plugin.h>
#include <libpq-fe.h>

#include <dbtool/sdk/arrow.hpp>
#include <dbtool/sdk/error.hpp>
#include <dbtool/sdk/schema.hpp>
#include <string>

struct dbtool_session {
  PGconn* conn = nullptr;
  PGcancel* canceller = nullptr;  // for conn, made at open: PQcancel may then run on any thread
  std::string database;
  std::string location;  // postgresql://user@host:port/db, never with a password
  std::string uri;       // as given, for read_table's own connections
  std::string password;
};

struct dbtool_stage {
  dbtool_session* session = nullptr;
  std::string schema_name;  // dbtool_stage_<pid>_<n>
  std::string schema_json;  // kept as the comment of the schema, so that backup can rebuild the DDL
  dbtool::sdk::PortableSchema schema;
};

namespace dbtool::postgres {

inline constexpr const char* kName = "postgresql";

struct Backend {
  static dbtool_status open(const char* options_json, dbtool_session** out, dbtool_error* error);
  static void close(dbtool_session* session);
  static dbtool_status cancel(dbtool_session* session, dbtool_error* error);
  static dbtool_status describe(dbtool_session* session, dbtool_text* out, dbtool_error* error);
  static dbtool_status read_table(dbtool_session* session, const char* table, ArrowArrayStream* out,
                                  dbtool_error* error);
  static dbtool_status backup(dbtool_session* session, const char* path, dbtool_text* report, dbtool_error* error);
  static dbtool_status restore(dbtool_session* session, const char* path, dbtool_text* report, dbtool_error* error);
  static dbtool_status stage_begin(dbtool_session* session, const char* schema_json, dbtool_stage** out,
                                   dbtool_error* error);
  static dbtool_status stage_load(dbtool_stage* stage, const char* table, ArrowArrayStream* stream,
                                  int64_t* rows_loaded, dbtool_error* error);
  static dbtool_status stage_count(dbtool_stage* stage, const char* table, int64_t* rows, dbtool_error* error);
  static dbtool_status stage_commit(dbtool_stage* stage, dbtool_text* report, dbtool_error* error);
  static void stage_abort(dbtool_stage* stage);
  static dbtool_status describe_uri(const char* uri, dbtool_text* out, dbtool_error* error);
};

}  // namespace dbtool::postgres
