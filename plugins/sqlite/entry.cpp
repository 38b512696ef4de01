// The SQLite backend's only exported symbol: ABI negotiation and its function table, filled by
// slot name from the Backend struct.
#include "sqlite_backend.hpp"

namespace {

const dbtool_backend_api kApi = dbtool::sdk::make_backend_api<dbtool::sqlite::Backend>();

const dbtool::sdk::PluginInfo kInfo = {DBTOOL_KIND_BACKEND,
                                       "sqlite",
                                       "0.1.0",
                                       "SQLite files: snapshot backups, atomic rename cut-over",
                                       DBTOOL_CAP_BACKUP | DBTOOL_CAP_RESTORE | DBTOOL_CAP_ATOMIC_CUTOVER |
                                           DBTOOL_CAP_CREATE_DATABASE | DBTOOL_CAP_CANCEL | DBTOOL_CAP_READ |
                                           DBTOOL_CAP_HOST_GUARANTEED_KEYS,
                                       &kApi,
                                       nullptr};

}  // namespace

DBTOOL_SDK_EXPORT_PLUGIN(kInfo)
