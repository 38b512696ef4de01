/* The real SQLite backend seen through an older or smaller function table, for the host's
 * fallbacks. It loads libdbtool-sqlite.so, copies its function table up to an older minor's
 * end, and maps its own URI scheme (the plugin's name, "NAME:///PATH") to sqlite's. Built twice:
 *  - "sqlite-norestore" (DBTOOL_TEST_WITHOUT_RESTORE): announces BACKUP but not RESTORE, so a
 *    test can prove `dbtool restore` refuses it before writing anything; a plugin built against
 *    ABI 1.1, its table ending before describe_uri (1.2), so the host reads its URIs as opaque.
 *  - "sqlite-v12": a plugin built against ABI 1.2, its table ending before restore_stage (1.3),
 *    so `dbtool restore` takes the old path (restore, then the history merged by a rebuild). */
#include <dbtool/plugin.h>

#include <dlfcn.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#ifndef DBTOOL_TEST_PLUGIN_NAME
#error "DBTOOL_TEST_PLUGIN_NAME names the variant"
#endif

static dbtool_backend_api g_api;
static const dbtool_backend_api* g_sqlite;

static dbtool_status open_renamed(const char* options_json, dbtool_session** out, dbtool_error* error) {
  static const char kOurs[] = DBTOOL_TEST_PLUGIN_NAME "://";
  const char* at = strstr(options_json, kOurs);
  if (at == NULL) return g_sqlite->open(options_json, out, error);
  /* Drop the variant's suffix from the scheme; the rest of the options stay as the host wrote them. */
  size_t head = (size_t)(at - options_json) + strlen("sqlite");
  size_t len = strlen(options_json);
  char* copy = malloc(len + 1);
  if (copy == NULL) return DBTOOL_ERR_INTERNAL;
  memcpy(copy, options_json, head);
  strcpy(copy + head, at + strlen(DBTOOL_TEST_PLUGIN_NAME));
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
  out->name = DBTOOL_TEST_PLUGIN_NAME;
  if (st != DBTOOL_OK) return st;
  g_sqlite = out->backend;
  memcpy(&g_api, g_sqlite, sizeof g_api);
  g_api.open = open_renamed;
#ifdef DBTOOL_TEST_WITHOUT_RESTORE
  g_api.restore = NULL;
  g_api.struct_size = (uint32_t)offsetof(dbtool_backend_api, describe_uri);
  out->abi_version = DBTOOL_ABI_MAKE(1, 1);
  out->description = "SQLite without restore (a test plugin)";
  out->capabilities &= ~DBTOOL_CAP_RESTORE;
#else
  g_api.struct_size = (uint32_t)offsetof(dbtool_backend_api, restore_stage);
  out->abi_version = DBTOOL_ABI_MAKE(1, 2);
  out->description = "SQLite as a plugin built against ABI 1.2 (a test plugin)";
#endif
  out->backend = &g_api;
  return DBTOOL_OK;
}
