// The SQLite backend's only exported symbol: ABI negotiation and its function table.
#include "sqlite_backend.hpp"

namespace {

// Slots set by name; a NULL slot reads as "not supported".
const dbtool_backend_api kApi = {
    .struct_size = sizeof(dbtool_backend_api),
    .open = dbtool::sqlite::open_session,
    .close = dbtool::sqlite::close_session,
    .cancel = dbtool::sqlite::cancel,
    .describe = dbtool::sqlite::describe,
    .read_table = dbtool::sqlite::read_table,
    .backup = dbtool::sqlite::backup,
    .restore = dbtool::sqlite::restore,
    .stage_begin = dbtool::sqlite::stage_begin,
    .stage_load = dbtool::sqlite::stage_load,
    .stage_count = dbtool::sqlite::stage_count,
    .stage_commit = dbtool::sqlite::stage_commit,
    .stage_abort = dbtool::sqlite::stage_abort,
    .snapshot_begin = dbtool::sqlite::snapshot_begin,
    .snapshot_end = dbtool::sqlite::snapshot_end,
    .describe_schema = dbtool::sqlite::describe_schema,
    .verify_backup = dbtool::sqlite::verify_backup,
    .describe_uri = dbtool::sqlite::describe_uri,
};

}  // namespace

extern "C" __attribute__((visibility("default"))) dbtool_status dbtool_plugin_init(uint32_t host_abi,
                                                                                   const dbtool_host_services* host,
                                                                                   dbtool_plugin* out,
                                                                                   dbtool_error* error) {
  return dbtool::sdk::init_plugin(
      host_abi, host, out, error,
      {DBTOOL_KIND_BACKEND, "sqlite", "0.1.0", "SQLite files: online backup, atomic rename cut-over",
       DBTOOL_CAP_BACKUP | DBTOOL_CAP_RESTORE | DBTOOL_CAP_ATOMIC_CUTOVER | DBTOOL_CAP_CREATE_DATABASE |
           DBTOOL_CAP_CANCEL | DBTOOL_CAP_READ,
       &kApi, nullptr});
}
