// The template backend's pieces: a session (one database file) and a stage (a new file beside
// it), over SQLite so the template runs anywhere. Copy the folder, keep the shape, and replace
// the SQLite calls with your database's; entry.cpp and the SDK stay as they are.
#pragma once

#include <dbtool/plugin.h>
#include <sqlite3.h>

#include <dbtool/sdk/arrow.hpp>
#include <dbtool/sdk/error.hpp>
#include <dbtool/sdk/schema.hpp>
#include <memory>
#include <string>

// The ABI's opaque handles are defined by the plugin.
struct dbtool_session {
  std::string path;      // the database file the URI names
  std::string location;  // for messages
};

struct dbtool_stage {
  dbtool_session* session = nullptr;
  std::string path;  // the new file, renamed over session->path at commit
  sqlite3* db = nullptr;
  dbtool::sdk::PortableSchema schema;
};

namespace dbtool_template {

// The plugin's name, which is also its URI scheme: --db template:///PATH.
inline constexpr const char* kName = "template";

// Every C entry point of the backend; make_backend_api<Backend>() puts each in the slot of the
// same name. Each body runs inside sdk::guard, so nothing throws across the ABI.
struct Backend {
  static dbtool_status open(const char* options_json, dbtool_session** out, dbtool_error* error);
  static void close(dbtool_session* session);
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
  // What one of this backend's URIs names, without opening anything (ABI 1.2).
  static dbtool_status describe_uri(const char* uri, dbtool_text* out, dbtool_error* error);
};

}  // namespace dbtool_template
