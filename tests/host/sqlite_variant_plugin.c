/* The real SQLite backend with its restore taken away: a backend that announces BACKUP but not
 * RESTORE, so a test can prove `dbtool restore` refuses it before writing anything. It loads
 * libdbtool-sqlite.so, copies its function table without the restore slot, and maps its own
 * URI scheme ("sqlite-norestore:///PATH", the scheme being the plugin's name) to sqlite's.
 * It is also a plugin built against ABI 1.1: its table ends before describe_uri (1.2), so the
 * host reads its URIs as opaque. */
#include <dbtool/plugin.h>

#include <dlfcn.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

static dbtool_backend_api g_api;
static const dbtool_backend_api* g_sqlite;

static dbtool_status open_renamed(const char* options_json, dbtool_session** out, dbtool_error* error) {
  static const char kOurs[] = "sqlite-norestore://";
  const char* at = strstr(options_json, kOurs);
  if (at == NULL) return g_sqlite->open(options_json, out, error);
  /* Drop "-norestore" from the scheme; the rest of the options stay as the host wrote them. */
  size_t head = (size_t)(at - options_json) + strlen("sqlite");
  size_t len = strlen(options_json);
  char* copy = malloc(len + 1);
  if (copy == NULL) return DBTOOL_ERR_INTERNAL;
  memcpy(copy, options_json, head);
  strcpy(copy + head, at + strlen("sqlite-norestore"));
  dbtool_status st = g_sqlite->open(copy, out, error);
  free(copy);
  return st;
}

__attribute__((visibility("default"))) dbtool_status dbtool_plugin_init(uint32_t host_abi,
                                                                        const dbtool_host_services* host,
                                                                        dbtool_plugin* out, dbtool_error* error) {
  void* lib = dlopen(DBTOOL_TEST_SQLITE_PLUGIN, RTLD_NOW | RTLD_LOCAL);
  if (lib == NULL) return DBTOOL_ERR_NOT_FOUND;
  dbtool_plugin_init_fn init = (dbtool_plugin_init_fn)dlsym(lib, DBTOOL_PLUGIN_ENTRY_SYMBOL);
  if (init == NULL) return DBTOOL_ERR_NOT_FOUND;
  dbtool_status st = init(host_abi, host, out, error);
  out->name = "sqlite-norestore";
  if (st != DBTOOL_OK) return st;
  g_sqlite = out->backend;
  memcpy(&g_api, g_sqlite, sizeof g_api);
  g_api.open = open_renamed;
  g_api.restore = NULL;
  g_api.struct_size = (uint32_t)offsetof(dbtool_backend_api, describe_uri);
  out->abi_version = DBTOOL_ABI_MAKE(1, 1);
  out->backend = &g_api;
  out->description = "SQLite without restore (a test plugin)";
  out->capabilities &= ~DBTOOL_CAP_RESTORE;
  return DBTOOL_OK;
}
