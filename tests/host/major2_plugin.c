/* A plugin from the future: it speaks ABI 2.0 and refuses a host of major 1, as the contract
 * says. The host must refuse it with a message naming the file and both versions. */
#include <dbtool/plugin.h>

__attribute__((visibility("default"))) dbtool_status dbtool_plugin_init(uint32_t host_abi,
                                                                        const dbtool_host_services* host,
                                                                        dbtool_plugin* out, dbtool_error* error) {
  (void)host;
  (void)error;
  out->abi_version = DBTOOL_ABI_MAKE(2, 0);
  out->name = "from-the-future";
  out->version = "9.0.0";
  if (DBTOOL_ABI_MAJOR_OF(host_abi) != 2) return DBTOOL_ERR_INCOMPATIBLE;
  out->kind = DBTOOL_KIND_SOURCE;
  return DBTOOL_OK;
}
