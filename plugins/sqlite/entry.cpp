// The SQLite backend's only exported symbol: ABI negotiation and its function table.
#include "sqlite_backend.hpp"

namespace {

const dbtool_backend_api kApi = {
    sizeof(dbtool_backend_api),  dbtool::sqlite::open_session, dbtool::sqlite::close_session,
    dbtool::sqlite::cancel,      dbtool::sqlite::describe,     dbtool::sqlite::read_table,
    dbtool::sqlite::backup,      dbtool::sqlite::restore,      dbtool::sqlite::stage_begin,
    dbtool::sqlite::stage_load,  dbtool::sqlite::stage_count,  dbtool::sqlite::stage_commit,
    dbtool::sqlite::stage_abort,
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
           DBTOOL_CAP_CANCEL,
       &kApi, nullptr});
}
