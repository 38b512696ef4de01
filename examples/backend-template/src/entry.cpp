// The template backend's only exported symbol: its descriptor and its function table, filled
// by slot name from the Backend struct.
#include "template_backend.hpp"

#include <dbtool/sdk/plugin.hpp>

namespace {

const dbtool_backend_api kApi = dbtool::sdk::make_backend_api<dbtool_template::Backend>();

}  // namespace

extern "C" __attribute__((visibility("default"))) dbtool_status dbtool_plugin_init(uint32_t host_abi,
                                                                                   const dbtool_host_services* host,
                                                                                   dbtool_plugin* out,
                                                                                   dbtool_error* error) {
  return dbtool::sdk::init_plugin(host_abi, host, out, error,
                                  {DBTOOL_KIND_BACKEND, dbtool_template::kName, "0.1.0",
                                   "template backend (SQLite files); copy it to write your own",
                                   DBTOOL_CAP_BACKUP | DBTOOL_CAP_RESTORE, &kApi, nullptr});
}
