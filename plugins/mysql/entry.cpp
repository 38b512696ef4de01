// The MySQL/MariaDB backend's only exported symbol: ABI negotiation and its function table.
#include "mysql_backend.hpp"

namespace {

const dbtool_backend_api kApi = {
    sizeof(dbtool_backend_api),
    dbtool::mysql::open_session,
    dbtool::mysql::close_session,
    dbtool::mysql::cancel,
    dbtool::mysql::describe,
    dbtool::mysql::read_table,
    dbtool::mysql::backup,
    dbtool::mysql::restore,
    dbtool::mysql::stage_begin,
    dbtool::mysql::stage_load,
    dbtool::mysql::stage_count,
    dbtool::mysql::stage_commit,
    dbtool::mysql::stage_abort,
};

}  // namespace

extern "C" __attribute__((visibility("default"))) dbtool_status dbtool_plugin_init(
    uint32_t host_abi, const dbtool_host_services* host, dbtool_plugin* out, dbtool_error* error) {
  return dbtool::sdk::guard(error, [&] {
    if (out == nullptr) throw dbtool::sdk::Failure(DBTOOL_ERR_INVALID_ARGUMENT, "no descriptor to fill");
    out->abi_version = DBTOOL_ABI_VERSION;
    out->name = "mysql";
    out->version = "0.1.0";
    if (DBTOOL_ABI_MAJOR_OF(host_abi) != DBTOOL_ABI_VERSION_MAJOR)
      throw dbtool::sdk::Failure(DBTOOL_ERR_INCOMPATIBLE, "the mysql plugin speaks ABI major " +
                                                              std::to_string(DBTOOL_ABI_VERSION_MAJOR));
    out->kind = DBTOOL_KIND_BACKEND;
    out->description = "MySQL/MariaDB: staging database, RENAME TABLE cut-over, SQL backups";
    out->capabilities = DBTOOL_CAP_BACKUP | DBTOOL_CAP_RESTORE | DBTOOL_CAP_ATOMIC_CUTOVER |
                        DBTOOL_CAP_CREATE_DATABASE | DBTOOL_CAP_CANCEL;
    out->backend = &kApi;
    if (host != nullptr && host->struct_size >= sizeof(dbtool_host_services)) dbtool::mysql::g_host = host;
  });
}
