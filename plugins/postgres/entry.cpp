// The PostgreSQL backend's only exported symbol: its descriptor and its function table, filled
// by slot name from the Backend struct.
#include "postgres_backend.hpp"

#include <dbtool/sdk/plugin.hpp>

namespace {

// postgres:// is the same backend.
const char* const kSchemes[] = {"postgres", nullptr};

const dbtool_backend_api kApi = dbtool::sdk::make_backend_api<dbtool::postgres::Backend>();

const dbtool::sdk::PluginInfo kInfo = {
    DBTOOL_KIND_BACKEND, dbtool::postgres::kName, "0.1.0",
    "PostgreSQL: staging schema, cut-over by renaming schemas in one transaction",
    // Host-guaranteed keys are accepted and checked all the same: PostgreSQL enforces foreign keys
    // as rows arrive, so there is no separate check at the cut-over to skip.
    DBTOOL_CAP_BACKUP | DBTOOL_CAP_RESTORE | DBTOOL_CAP_ATOMIC_CUTOVER | DBTOOL_CAP_CREATE_DATABASE |
        DBTOOL_CAP_CANCEL | DBTOOL_CAP_HOST_GUARANTEED_KEYS,
    &kApi, nullptr, kSchemes};

}  // namespace

DBTOOL_SDK_EXPORT_PLUGIN(kInfo)
