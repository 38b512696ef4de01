// The MySQL/MariaDB backend's only exported symbol: ABI negotiation and its function table.
#include "mysql_backend.hpp"

namespace {

// mariadb:// is the same backend.
const char* const kSchemes[] = {"mariadb", nullptr};

// Slots set by name; a NULL slot reads as "not supported".
const dbtool_backend_api kApi = {
    .struct_size = sizeof(dbtool_backend_api),
    .open = dbtool::mysql::open_session,
    .close = dbtool::mysql::close_session,
    .cancel = dbtool::mysql::cancel,
    .describe = dbtool::mysql::describe,
    .read_table = dbtool::mysql::read_table,
    .backup = dbtool::mysql::backup,
    .restore = dbtool::mysql::restore,
    .stage_begin = dbtool::mysql::stage_begin,
    .stage_load = dbtool::mysql::stage_load,
    .stage_count = dbtool::mysql::stage_count,
    .stage_commit = dbtool::mysql::stage_commit,
    .stage_abort = dbtool::mysql::stage_abort,
    .snapshot_begin = dbtool::mysql::snapshot_begin,
    .snapshot_end = dbtool::mysql::snapshot_end,
    .describe_schema = dbtool::mysql::describe_schema,
    .verify_backup = dbtool::mysql::verify_backup,
    .describe_uri = dbtool::mysql::describe_uri,
};

}  // namespace

extern "C" __attribute__((visibility("default"))) dbtool_status dbtool_plugin_init(uint32_t host_abi,
                                                                                   const dbtool_host_services* host,
                                                                                   dbtool_plugin* out,
                                                                                   dbtool_error* error) {
  return dbtool::sdk::init_plugin(
      host_abi, host, out, error,
      {DBTOOL_KIND_BACKEND, "mysql", "0.1.0", "MySQL/MariaDB: staging database, RENAME TABLE cut-over, SQL backups",
       DBTOOL_CAP_BACKUP | DBTOOL_CAP_RESTORE | DBTOOL_CAP_ATOMIC_CUTOVER | DBTOOL_CAP_CREATE_DATABASE |
           DBTOOL_CAP_CANCEL | DBTOOL_CAP_READ,
       &kApi, nullptr, kSchemes});
}
