// The template backend's only exported symbol: its descriptor and its function table, filled
// by slot name from the Backend struct.
#include "template_backend.hpp"

#include <dbtool/sdk/plugin.hpp>

namespace {

const dbtool_backend_api kApi = dbtool::sdk::make_backend_api<dbtool_template::Backend>();

const dbtool::sdk::PluginInfo kInfo = {DBTOOL_KIND_BACKEND,
                                       dbtool_template::kName,
                                       "0.1.0",
                                       "template backend (SQLite files); copy it to write your own",
                                       DBTOOL_CAP_BACKUP | DBTOOL_CAP_RESTORE,
                                       &kApi,
                                       nullptr};

}  // namespace

DBTOOL_SDK_EXPORT_PLUGIN(kInfo)
