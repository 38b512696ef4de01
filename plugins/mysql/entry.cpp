// The MySQL/MariaDB backend's only exported symbol: ABI negotiation and its function table,
// filled by slot name from the Backend struct.
#include "mysql_backend.hpp"

namespace {

// mariadb:// is the same backend.
const char* const kSchemes[] = {"mariadb", nullptr};

const dbtool_backend_api kApi = dbtool::sdk::make_backend_api<dbtool::mysql::Backend>();

const dbtool::sdk::PluginInfo kInfo = {DBTOOL_KIND_BACKEND,
                                       "mysql",
                                       "0.1.0",
                                       "MySQL/MariaDB: staging database, RENAME TABLE cut-over, SQL backups",
                                       DBTOOL_CAP_BACKUP | DBTOOL_CAP_RESTORE | DBTOOL_CAP_ATOMIC_CUTOVER |
                                           DBTOOL_CAP_CREATE_DATABASE | DBTOOL_CAP_CANCEL | DBTOOL_CAP_READ |
                                           DBTOOL_CAP_HOST_GUARANTEED_KEYS | DBTOOL_CAP_CONCURRENT_LOAD,
                                       &kApi,
                                       nullptr,
                                       kSchemes};

}  // namespace

DBTOOL_SDK_EXPORT_PLUGIN(kInfo)
