/* Proves at compile time that <dbtool/plugin.h> still has the ABI 1.0 layout frozen in
 * abi_v1_0_frozen.h. Offsets are compared with a frozen twin built by the same compiler, so the
 * check holds on any target. A failure here means a plugin built against 1.0 would misread the
 * current header: see abi_v1_0_frozen.h for what is allowed. */
#include <dbtool/plugin.h>

#include <string.h>

#include "abi_v1_0_frozen.h"

/* Every field keeps its offset and size. */
#define ABI_SAME_FIELD(cur, frz, field)                                                                 \
  _Static_assert(offsetof(cur, field) == offsetof(frz, field), #cur "." #field " moved since ABI 1.0"); \
  _Static_assert(sizeof(((cur*)0)->field) == sizeof(((frz*)0)->field), #cur "." #field " changed size since ABI 1.0")

/* Structs without struct_size cannot grow: the reader has no way to tell. */
#define ABI_SAME_STRUCT(cur, frz)                                                 \
  _Static_assert(sizeof(cur) == sizeof(frz), #cur " changed size since ABI 1.0"); \
  _Static_assert(_Alignof(cur) == _Alignof(frz), #cur " changed alignment since ABI 1.0")

/* Tables with struct_size may grow at the end in a later minor, never in 1.0 itself. */
#if DBTOOL_ABI_VERSION_MINOR == 0
#define ABI_SAME_TABLE(cur, frz) ABI_SAME_STRUCT(cur, frz)
#else
#define ABI_SAME_TABLE(cur, frz)                                            \
  _Static_assert(sizeof(cur) >= sizeof(frz), #cur " shrank since ABI 1.0"); \
  _Static_assert(_Alignof(cur) == _Alignof(frz), #cur " changed alignment since ABI 1.0")
#endif

#define ABI_SAME_CONST(cur, frz) _Static_assert((cur) == (frz), #cur " renumbered since ABI 1.0")

/* ---- Versions ---- */
_Static_assert(DBTOOL_ABI_VERSION_MAJOR == FROZEN_V1_0_ABI_VERSION_MAJOR, "ABI major changed");
_Static_assert(DBTOOL_ABI_VERSION_MINOR >= FROZEN_V1_0_ABI_VERSION_MINOR, "ABI minor went back");
_Static_assert(DBTOOL_ABI_MAKE(1, 0) == FROZEN_V1_0_ABI_VERSION, "ABI version packing changed");
_Static_assert(DBTOOL_ABI_VERSION == (((uint32_t)DBTOOL_ABI_VERSION_MAJOR << FROZEN_V1_0_ABI_MAJOR_SHIFT) |
                                      (uint32_t)DBTOOL_ABI_VERSION_MINOR),
               "DBTOOL_ABI_VERSION no longer packs major.minor");
_Static_assert(DBTOOL_ABI_MAKE(0x1234, 0x5678) == 0x12345678u, "DBTOOL_ABI_MAKE changed");
_Static_assert(DBTOOL_ABI_MAJOR_OF(0x12345678u) == 0x1234u, "DBTOOL_ABI_MAJOR_OF changed");
_Static_assert(DBTOOL_ABI_MINOR_OF(0x12345678u) == (0x12345678u & FROZEN_V1_0_ABI_MINOR_MASK),
               "DBTOOL_ABI_MINOR_OF changed");
_Static_assert(_Generic(DBTOOL_ABI_VERSION, uint32_t : 1, default : 0), "DBTOOL_ABI_VERSION is no longer a uint32_t");
_Static_assert(sizeof(DBTOOL_PLUGIN_ENTRY_SYMBOL) == sizeof(FROZEN_V1_0_PLUGIN_ENTRY_SYMBOL), "entry symbol renamed");

/* ---- Status codes ---- */
_Static_assert(_Generic((dbtool_status)0, int32_t : 1, default : 0), "dbtool_status retyped");
ABI_SAME_CONST(DBTOOL_OK, FROZEN_V1_0_OK);
ABI_SAME_CONST(DBTOOL_ERR_UNKNOWN, FROZEN_V1_0_ERR_UNKNOWN);
ABI_SAME_CONST(DBTOOL_ERR_INVALID_ARGUMENT, FROZEN_V1_0_ERR_INVALID_ARGUMENT);
ABI_SAME_CONST(DBTOOL_ERR_NOT_SUPPORTED, FROZEN_V1_0_ERR_NOT_SUPPORTED);
ABI_SAME_CONST(DBTOOL_ERR_INCOMPATIBLE, FROZEN_V1_0_ERR_INCOMPATIBLE);
ABI_SAME_CONST(DBTOOL_ERR_IO, FROZEN_V1_0_ERR_IO);
ABI_SAME_CONST(DBTOOL_ERR_NOT_FOUND, FROZEN_V1_0_ERR_NOT_FOUND);
ABI_SAME_CONST(DBTOOL_ERR_ALREADY_EXISTS, FROZEN_V1_0_ERR_ALREADY_EXISTS);
ABI_SAME_CONST(DBTOOL_ERR_CONSTRAINT, FROZEN_V1_0_ERR_CONSTRAINT);
ABI_SAME_CONST(DBTOOL_ERR_DATA, FROZEN_V1_0_ERR_DATA);
ABI_SAME_CONST(DBTOOL_ERR_AUTH, FROZEN_V1_0_ERR_AUTH);
ABI_SAME_CONST(DBTOOL_ERR_NETWORK, FROZEN_V1_0_ERR_NETWORK);
ABI_SAME_CONST(DBTOOL_ERR_TIMEOUT, FROZEN_V1_0_ERR_TIMEOUT);
ABI_SAME_CONST(DBTOOL_ERR_CANCELLED, FROZEN_V1_0_ERR_CANCELLED);
ABI_SAME_CONST(DBTOOL_ERR_BACKEND, FROZEN_V1_0_ERR_BACKEND);
ABI_SAME_CONST(DBTOOL_ERR_INTERNAL, FROZEN_V1_0_ERR_INTERNAL);

/* ---- Arrow flags, log levels, kinds, capabilities ---- */
ABI_SAME_CONST(ARROW_FLAG_DICTIONARY_ORDERED, FROZEN_V1_0_ARROW_FLAG_DICTIONARY_ORDERED);
ABI_SAME_CONST(ARROW_FLAG_NULLABLE, FROZEN_V1_0_ARROW_FLAG_NULLABLE);
ABI_SAME_CONST(ARROW_FLAG_MAP_KEYS_SORTED, FROZEN_V1_0_ARROW_FLAG_MAP_KEYS_SORTED);

ABI_SAME_CONST(DBTOOL_LOG_DEBUG, FROZEN_V1_0_LOG_DEBUG);
ABI_SAME_CONST(DBTOOL_LOG_INFO, FROZEN_V1_0_LOG_INFO);
ABI_SAME_CONST(DBTOOL_LOG_WARN, FROZEN_V1_0_LOG_WARN);
ABI_SAME_CONST(DBTOOL_LOG_ERROR, FROZEN_V1_0_LOG_ERROR);

ABI_SAME_CONST(DBTOOL_KIND_BACKEND, FROZEN_V1_0_KIND_BACKEND);
ABI_SAME_CONST(DBTOOL_KIND_SOURCE, FROZEN_V1_0_KIND_SOURCE);

ABI_SAME_CONST(DBTOOL_CAP_BACKUP, FROZEN_V1_0_CAP_BACKUP);
ABI_SAME_CONST(DBTOOL_CAP_RESTORE, FROZEN_V1_0_CAP_RESTORE);
ABI_SAME_CONST(DBTOOL_CAP_ATOMIC_CUTOVER, FROZEN_V1_0_CAP_ATOMIC_CUTOVER);
ABI_SAME_CONST(DBTOOL_CAP_CREATE_DATABASE, FROZEN_V1_0_CAP_CREATE_DATABASE);
ABI_SAME_CONST(DBTOOL_CAP_CANCEL, FROZEN_V1_0_CAP_CANCEL);
ABI_SAME_CONST(DBTOOL_CAP_NETWORK, FROZEN_V1_0_CAP_NETWORK);
ABI_SAME_CONST(DBTOOL_CAP_CACHEABLE, FROZEN_V1_0_CAP_CACHEABLE);
/* capabilities is a uint64_t: the bits must stay 64-bit unsigned to be or-ed into it. */
_Static_assert(_Generic(DBTOOL_CAP_BACKUP, unsigned long long : 1, default : 0),
               "DBTOOL_CAP_* are no longer unsigned long long");

/* ---- dbtool_error ---- */
ABI_SAME_STRUCT(dbtool_error, frozen_v1_0_dbtool_error);
ABI_SAME_FIELD(dbtool_error, frozen_v1_0_dbtool_error, status);
ABI_SAME_FIELD(dbtool_error, frozen_v1_0_dbtool_error, message);
ABI_SAME_FIELD(dbtool_error, frozen_v1_0_dbtool_error, sqlstate);
ABI_SAME_FIELD(dbtool_error, frozen_v1_0_dbtool_error, vendor_code);
ABI_SAME_FIELD(dbtool_error, frozen_v1_0_dbtool_error, http_status);
ABI_SAME_FIELD(dbtool_error, frozen_v1_0_dbtool_error, private_data);
ABI_SAME_FIELD(dbtool_error, frozen_v1_0_dbtool_error, release);

/* ---- dbtool_text ---- */
ABI_SAME_STRUCT(dbtool_text, frozen_v1_0_text);
ABI_SAME_FIELD(dbtool_text, frozen_v1_0_text, data);
ABI_SAME_FIELD(dbtool_text, frozen_v1_0_text, size);
ABI_SAME_FIELD(dbtool_text, frozen_v1_0_text, private_data);
ABI_SAME_FIELD(dbtool_text, frozen_v1_0_text, release);

/* ---- Arrow C Data / C Stream ---- */
ABI_SAME_STRUCT(struct ArrowSchema, frozen_v1_0_arrow_schema);
ABI_SAME_FIELD(struct ArrowSchema, frozen_v1_0_arrow_schema, format);
ABI_SAME_FIELD(struct ArrowSchema, frozen_v1_0_arrow_schema, name);
ABI_SAME_FIELD(struct ArrowSchema, frozen_v1_0_arrow_schema, metadata);
ABI_SAME_FIELD(struct ArrowSchema, frozen_v1_0_arrow_schema, flags);
ABI_SAME_FIELD(struct ArrowSchema, frozen_v1_0_arrow_schema, n_children);
ABI_SAME_FIELD(struct ArrowSchema, frozen_v1_0_arrow_schema, children);
ABI_SAME_FIELD(struct ArrowSchema, frozen_v1_0_arrow_schema, dictionary);
ABI_SAME_FIELD(struct ArrowSchema, frozen_v1_0_arrow_schema, release);
ABI_SAME_FIELD(struct ArrowSchema, frozen_v1_0_arrow_schema, private_data);

ABI_SAME_STRUCT(struct ArrowArray, frozen_v1_0_arrow_array);
ABI_SAME_FIELD(struct ArrowArray, frozen_v1_0_arrow_array, length);
ABI_SAME_FIELD(struct ArrowArray, frozen_v1_0_arrow_array, null_count);
ABI_SAME_FIELD(struct ArrowArray, frozen_v1_0_arrow_array, offset);
ABI_SAME_FIELD(struct ArrowArray, frozen_v1_0_arrow_array, n_buffers);
ABI_SAME_FIELD(struct ArrowArray, frozen_v1_0_arrow_array, n_children);
ABI_SAME_FIELD(struct ArrowArray, frozen_v1_0_arrow_array, buffers);
ABI_SAME_FIELD(struct ArrowArray, frozen_v1_0_arrow_array, children);
ABI_SAME_FIELD(struct ArrowArray, frozen_v1_0_arrow_array, dictionary);
ABI_SAME_FIELD(struct ArrowArray, frozen_v1_0_arrow_array, release);
ABI_SAME_FIELD(struct ArrowArray, frozen_v1_0_arrow_array, private_data);

ABI_SAME_STRUCT(struct ArrowArrayStream, frozen_v1_0_arrow_array_stream);
ABI_SAME_FIELD(struct ArrowArrayStream, frozen_v1_0_arrow_array_stream, get_schema);
ABI_SAME_FIELD(struct ArrowArrayStream, frozen_v1_0_arrow_array_stream, get_next);
ABI_SAME_FIELD(struct ArrowArrayStream, frozen_v1_0_arrow_array_stream, get_last_error);
ABI_SAME_FIELD(struct ArrowArrayStream, frozen_v1_0_arrow_array_stream, release);
ABI_SAME_FIELD(struct ArrowArrayStream, frozen_v1_0_arrow_array_stream, private_data);

/* ---- dbtool_host_services ---- */
ABI_SAME_TABLE(dbtool_host_services, frozen_v1_0_host_services);
ABI_SAME_FIELD(dbtool_host_services, frozen_v1_0_host_services, struct_size);
ABI_SAME_FIELD(dbtool_host_services, frozen_v1_0_host_services, abi_version);
ABI_SAME_FIELD(dbtool_host_services, frozen_v1_0_host_services, host_data);
ABI_SAME_FIELD(dbtool_host_services, frozen_v1_0_host_services, log);
ABI_SAME_FIELD(dbtool_host_services, frozen_v1_0_host_services, progress);
ABI_SAME_FIELD(dbtool_host_services, frozen_v1_0_host_services, is_cancelled);

/* ---- dbtool_plugin ---- */
ABI_SAME_TABLE(dbtool_plugin, frozen_v1_0_dbtool_plugin);
ABI_SAME_FIELD(dbtool_plugin, frozen_v1_0_dbtool_plugin, struct_size);
ABI_SAME_FIELD(dbtool_plugin, frozen_v1_0_dbtool_plugin, abi_version);
ABI_SAME_FIELD(dbtool_plugin, frozen_v1_0_dbtool_plugin, kind);
ABI_SAME_FIELD(dbtool_plugin, frozen_v1_0_dbtool_plugin, reserved);
ABI_SAME_FIELD(dbtool_plugin, frozen_v1_0_dbtool_plugin, name);
ABI_SAME_FIELD(dbtool_plugin, frozen_v1_0_dbtool_plugin, version);
ABI_SAME_FIELD(dbtool_plugin, frozen_v1_0_dbtool_plugin, description);
ABI_SAME_FIELD(dbtool_plugin, frozen_v1_0_dbtool_plugin, capabilities);
ABI_SAME_FIELD(dbtool_plugin, frozen_v1_0_dbtool_plugin, backend);
ABI_SAME_FIELD(dbtool_plugin, frozen_v1_0_dbtool_plugin, source);

_Static_assert(sizeof(dbtool_plugin_init_fn) == sizeof(frozen_v1_0_plugin_init_fn),
               "dbtool_plugin_init_fn changed size");

/* ---- dbtool_backend_api ---- */
ABI_SAME_TABLE(dbtool_backend_api, frozen_v1_0_backend_api);
ABI_SAME_FIELD(dbtool_backend_api, frozen_v1_0_backend_api, struct_size);
ABI_SAME_FIELD(dbtool_backend_api, frozen_v1_0_backend_api, open);
ABI_SAME_FIELD(dbtool_backend_api, frozen_v1_0_backend_api, close);
ABI_SAME_FIELD(dbtool_backend_api, frozen_v1_0_backend_api, cancel);
ABI_SAME_FIELD(dbtool_backend_api, frozen_v1_0_backend_api, describe);
ABI_SAME_FIELD(dbtool_backend_api, frozen_v1_0_backend_api, read_table);
ABI_SAME_FIELD(dbtool_backend_api, frozen_v1_0_backend_api, backup);
ABI_SAME_FIELD(dbtool_backend_api, frozen_v1_0_backend_api, restore);
ABI_SAME_FIELD(dbtool_backend_api, frozen_v1_0_backend_api, stage_begin);
ABI_SAME_FIELD(dbtool_backend_api, frozen_v1_0_backend_api, stage_load);
ABI_SAME_FIELD(dbtool_backend_api, frozen_v1_0_backend_api, stage_count);
ABI_SAME_FIELD(dbtool_backend_api, frozen_v1_0_backend_api, stage_commit);
ABI_SAME_FIELD(dbtool_backend_api, frozen_v1_0_backend_api, stage_abort);

/* ---- dbtool_source_api ---- */
ABI_SAME_TABLE(dbtool_source_api, frozen_v1_0_source_api);
ABI_SAME_FIELD(dbtool_source_api, frozen_v1_0_source_api, struct_size);
ABI_SAME_FIELD(dbtool_source_api, frozen_v1_0_source_api, fetch);

/* ---- ABI 1.1: four backend slots appended after stage_abort, a capability bit, a status ----
 * Frozen too: a plugin built against 1.1 must keep loading in every later 1.x host. */
struct frozen_v1_1_backend_api {
  struct frozen_v1_0_backend_api v1_0;
  frozen_v1_0_status (*snapshot_begin)(frozen_v1_0_session* session, frozen_v1_0_dbtool_error* error);
  frozen_v1_0_status (*snapshot_end)(frozen_v1_0_session* session, frozen_v1_0_dbtool_error* error);
  frozen_v1_0_status (*describe_schema)(frozen_v1_0_session* session, frozen_v1_0_text* out,
                                        frozen_v1_0_dbtool_error* error);
  frozen_v1_0_status (*verify_backup)(frozen_v1_0_session* session, const char* path, frozen_v1_0_text* report,
                                      frozen_v1_0_dbtool_error* error);
};
_Static_assert(DBTOOL_ABI_VERSION_MINOR >= 1, "ABI 1.1 slots are present, so the minor is at least 1");
ABI_SAME_FIELD(dbtool_backend_api, struct frozen_v1_1_backend_api, snapshot_begin);
ABI_SAME_FIELD(dbtool_backend_api, struct frozen_v1_1_backend_api, snapshot_end);
ABI_SAME_FIELD(dbtool_backend_api, struct frozen_v1_1_backend_api, describe_schema);
ABI_SAME_FIELD(dbtool_backend_api, struct frozen_v1_1_backend_api, verify_backup);
ABI_SAME_CONST(DBTOOL_ERR_CONFLICT, 16);
_Static_assert(sizeof(dbtool_backend_api) >= sizeof(struct frozen_v1_1_backend_api), "backend table shrank since 1.1");
ABI_SAME_CONST(DBTOOL_CAP_READ, (1ull << 5));
/* Nothing was inserted between 1.1's last slot and what came after it. */
_Static_assert(DBTOOL_ABI_VERSION_MINOR < 2 ||
                   sizeof(struct frozen_v1_1_backend_api) <= offsetof(dbtool_backend_api, describe_uri),
               "a slot was inserted into the 1.1 backend table");

/* ---- ABI 1.2: describe_uri appended to the backend table, uri_schemes to the descriptor ----
 * Frozen too: a plugin built against 1.2 must keep loading in every later 1.x host. */
struct frozen_v1_2_backend_api {
  struct frozen_v1_1_backend_api v1_1;
  frozen_v1_0_status (*describe_uri)(const char* uri, frozen_v1_0_text* out, frozen_v1_0_dbtool_error* error);
};
struct frozen_v1_2_dbtool_plugin {
  frozen_v1_0_dbtool_plugin v1_0;
  const char* const* uri_schemes;
};
_Static_assert(DBTOOL_ABI_VERSION_MINOR >= 2, "ABI 1.2 slots are present, so the minor is at least 2");
ABI_SAME_FIELD(dbtool_backend_api, struct frozen_v1_2_backend_api, describe_uri);
ABI_SAME_FIELD(dbtool_plugin, struct frozen_v1_2_dbtool_plugin, uri_schemes);
_Static_assert(sizeof(dbtool_backend_api) >= sizeof(struct frozen_v1_2_backend_api), "backend table shrank since 1.2");
_Static_assert(sizeof(dbtool_plugin) >= sizeof(struct frozen_v1_2_dbtool_plugin), "descriptor shrank since 1.2");

/* Nothing was inserted between 1.2's last slot and what came after it. */
_Static_assert(DBTOOL_ABI_VERSION_MINOR < 3 ||
                   sizeof(struct frozen_v1_2_backend_api) <= offsetof(dbtool_backend_api, restore_stage),
               "a slot was inserted into the 1.2 backend table");

/* ---- ABI 1.3: restore_stage appended to the backend table ----
 * Frozen too: a plugin built against 1.3 must keep loading in every later 1.x host. */
struct frozen_v1_3_backend_api {
  struct frozen_v1_2_backend_api v1_2;
  frozen_v1_0_status (*restore_stage)(frozen_v1_0_session* session, const char* path, const char* schema_json,
                                      frozen_v1_0_stage** out, frozen_v1_0_text* report,
                                      frozen_v1_0_dbtool_error* error);
};
_Static_assert(DBTOOL_ABI_VERSION_MINOR >= 3, "ABI 1.3 slots are present, so the minor is at least 3");
ABI_SAME_FIELD(dbtool_backend_api, struct frozen_v1_3_backend_api, restore_stage);
_Static_assert(sizeof(dbtool_backend_api) >= sizeof(struct frozen_v1_3_backend_api), "backend table shrank since 1.3");
ABI_SAME_CONST(DBTOOL_CAP_HOST_GUARANTEED_KEYS, (1ull << 6));

/* ---- ABI 1.4: a capability, no slot: the backend table is 1.3's ---- */
_Static_assert(DBTOOL_ABI_VERSION_MINOR >= 4, "DBTOOL_CAP_CONCURRENT_LOAD is present, so the minor is at least 4");
ABI_SAME_CONST(DBTOOL_CAP_CONCURRENT_LOAD, (1ull << 7));

static dbtool_status dummy_begin(dbtool_session* session, dbtool_error* error) {
  (void)session;
  (void)error;
  return DBTOOL_OK;
}

static dbtool_status dummy_describe_uri(const char* uri, dbtool_text* out, dbtool_error* error) {
  (void)uri;
  (void)out;
  (void)error;
  return DBTOOL_OK;
}

static dbtool_status dummy_restore_stage(dbtool_session* session, const char* path, const char* schema_json,
                                         dbtool_stage** out, dbtool_text* report, dbtool_error* error) {
  (void)session;
  (void)path;
  (void)schema_json;
  (void)out;
  (void)report;
  (void)error;
  return DBTOOL_OK;
}

int main(void) {
  /* DBTOOL_HAS_SLOT, in C: a table as a 1.0 plugin built it has no 1.1 slot, even when the
   * memory behind its struct_size happens to hold a pointer. */
  dbtool_backend_api api;
  memset(&api, 0, sizeof api);
  api.snapshot_begin = dummy_begin;
  api.struct_size = (uint32_t)sizeof(struct frozen_v1_0_backend_api);
  if (DBTOOL_HAS_SLOT(&api, snapshot_begin)) return 2;
  api.struct_size = (uint32_t)sizeof api;
  if (!DBTOOL_HAS_SLOT(&api, snapshot_begin) || DBTOOL_HAS_SLOT(&api, snapshot_end)) return 3;
  /* A 1.1 plugin's table ends before describe_uri. */
  api.describe_uri = dummy_describe_uri;
  api.struct_size = (uint32_t)sizeof(struct frozen_v1_1_backend_api);
  if (DBTOOL_HAS_SLOT(&api, describe_uri)) return 4;
  api.struct_size = (uint32_t)sizeof api;
  if (!DBTOOL_HAS_SLOT(&api, describe_uri)) return 5;
  /* A 1.2 plugin's table ends before restore_stage: the host restores the old way. */
  api.restore_stage = dummy_restore_stage;
  api.struct_size = (uint32_t)sizeof(struct frozen_v1_2_backend_api);
  if (DBTOOL_HAS_SLOT(&api, restore_stage)) return 6;
  api.struct_size = (uint32_t)sizeof api;
  if (!DBTOOL_HAS_SLOT(&api, restore_stage)) return 7;
  /* The one check C11 cannot make at compile time: the spelling of the entry symbol. */
  return strcmp(DBTOOL_PLUGIN_ENTRY_SYMBOL, FROZEN_V1_0_PLUGIN_ENTRY_SYMBOL) == 0 ? 0 : 1;
}
