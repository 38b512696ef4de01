/* Frozen layout and constants of dbtool plugin ABI 1.0.
 *
 * THIS FILE MUST NEVER CHANGE. It is a copy of what plugin.h looked like at ABI 1.0, under
 * other names, so that abi_layout_test.c can prove the current header still lays out every
 * struct and numbers every constant the same way. Plugins built against 1.0 are already out
 * there; if the test fails, the change to plugin.h broke ABI 1.x. Fix plugin.h, not this file:
 * add new slots only at the END of a table that starts with struct_size, and bump
 * DBTOOL_ABI_VERSION_MINOR. Anything else (reorder, resize, retype, renumber) needs major 2.
 *
 * Plain C, standalone on purpose: it must not include plugin.h, or it would follow its changes.
 */
#ifndef DBTOOL_TESTS_ABI_V1_0_FROZEN_H_
#define DBTOOL_TESTS_ABI_V1_0_FROZEN_H_

#include <stddef.h>
#include <stdint.h>

/* Versions */
#define FROZEN_V1_0_ABI_MAJOR_SHIFT 16
#define FROZEN_V1_0_ABI_MINOR_MASK 0xFFFFu
#define FROZEN_V1_0_ABI_VERSION_MAJOR 1
#define FROZEN_V1_0_ABI_VERSION_MINOR 0
#define FROZEN_V1_0_ABI_VERSION 0x00010000u
#define FROZEN_V1_0_PLUGIN_ENTRY_SYMBOL "dbtool_plugin_init"

/* Status codes */
typedef int32_t frozen_v1_0_status;
#define FROZEN_V1_0_OK 0
#define FROZEN_V1_0_ERR_UNKNOWN 1
#define FROZEN_V1_0_ERR_INVALID_ARGUMENT 2
#define FROZEN_V1_0_ERR_NOT_SUPPORTED 3
#define FROZEN_V1_0_ERR_INCOMPATIBLE 4
#define FROZEN_V1_0_ERR_IO 5
#define FROZEN_V1_0_ERR_NOT_FOUND 6
#define FROZEN_V1_0_ERR_ALREADY_EXISTS 7
#define FROZEN_V1_0_ERR_CONSTRAINT 8
#define FROZEN_V1_0_ERR_DATA 9
#define FROZEN_V1_0_ERR_AUTH 10
#define FROZEN_V1_0_ERR_NETWORK 11
#define FROZEN_V1_0_ERR_TIMEOUT 12
#define FROZEN_V1_0_ERR_CANCELLED 13
#define FROZEN_V1_0_ERR_BACKEND 14
#define FROZEN_V1_0_ERR_INTERNAL 15

/* Arrow flags */
#define FROZEN_V1_0_ARROW_FLAG_DICTIONARY_ORDERED 1
#define FROZEN_V1_0_ARROW_FLAG_NULLABLE 2
#define FROZEN_V1_0_ARROW_FLAG_MAP_KEYS_SORTED 4

/* Log levels */
#define FROZEN_V1_0_LOG_DEBUG 0
#define FROZEN_V1_0_LOG_INFO 1
#define FROZEN_V1_0_LOG_WARN 2
#define FROZEN_V1_0_LOG_ERROR 3

/* Plugin kinds */
#define FROZEN_V1_0_KIND_BACKEND 1
#define FROZEN_V1_0_KIND_SOURCE 2

/* Capability bits */
#define FROZEN_V1_0_CAP_BACKUP 0x1ull
#define FROZEN_V1_0_CAP_RESTORE 0x2ull
#define FROZEN_V1_0_CAP_ATOMIC_CUTOVER 0x4ull
#define FROZEN_V1_0_CAP_CREATE_DATABASE 0x8ull
#define FROZEN_V1_0_CAP_CANCEL 0x10ull
#define FROZEN_V1_0_CAP_NETWORK 0x10000ull
#define FROZEN_V1_0_CAP_CACHEABLE 0x20000ull

/* Errors and text */
typedef struct frozen_v1_0_dbtool_error {
  frozen_v1_0_status status;
  char* message;
  char sqlstate[6];
  int32_t vendor_code;
  int32_t http_status;
  void* private_data;
  void (*release)(struct frozen_v1_0_dbtool_error* error);
} frozen_v1_0_dbtool_error;

typedef struct frozen_v1_0_text {
  char* data;
  size_t size;
  void* private_data;
  void (*release)(struct frozen_v1_0_text* text);
} frozen_v1_0_text;

/* Arrow C Data / C Stream Interface */
typedef struct frozen_v1_0_arrow_schema {
  const char* format;
  const char* name;
  const char* metadata;
  int64_t flags;
  int64_t n_children;
  struct frozen_v1_0_arrow_schema** children;
  struct frozen_v1_0_arrow_schema* dictionary;
  void (*release)(struct frozen_v1_0_arrow_schema*);
  void* private_data;
} frozen_v1_0_arrow_schema;

typedef struct frozen_v1_0_arrow_array {
  int64_t length;
  int64_t null_count;
  int64_t offset;
  int64_t n_buffers;
  int64_t n_children;
  const void** buffers;
  struct frozen_v1_0_arrow_array** children;
  struct frozen_v1_0_arrow_array* dictionary;
  void (*release)(struct frozen_v1_0_arrow_array*);
  void* private_data;
} frozen_v1_0_arrow_array;

typedef struct frozen_v1_0_arrow_array_stream {
  int (*get_schema)(struct frozen_v1_0_arrow_array_stream*, frozen_v1_0_arrow_schema* out);
  int (*get_next)(struct frozen_v1_0_arrow_array_stream*, frozen_v1_0_arrow_array* out);
  const char* (*get_last_error)(struct frozen_v1_0_arrow_array_stream*);
  void (*release)(struct frozen_v1_0_arrow_array_stream*);
  void* private_data;
} frozen_v1_0_arrow_array_stream;

/* Host services */
typedef struct frozen_v1_0_host_services {
  uint32_t struct_size;
  uint32_t abi_version;
  void* host_data;
  void (*log)(void* host_data, int32_t level, const char* message);
  void (*progress)(void* host_data, const char* phase, int64_t done, int64_t total);
  int32_t (*is_cancelled)(void* host_data);
} frozen_v1_0_host_services;

/* Descriptor */
typedef struct frozen_v1_0_backend_api frozen_v1_0_backend_api;
typedef struct frozen_v1_0_source_api frozen_v1_0_source_api;

typedef struct frozen_v1_0_dbtool_plugin {
  uint32_t struct_size;
  uint32_t abi_version;
  uint32_t kind;
  uint32_t reserved;
  const char* name;
  const char* version;
  const char* description;
  uint64_t capabilities;
  const frozen_v1_0_backend_api* backend;
  const frozen_v1_0_source_api* source;
} frozen_v1_0_dbtool_plugin;

typedef frozen_v1_0_status (*frozen_v1_0_plugin_init_fn)(uint32_t host_abi, const frozen_v1_0_host_services* host,
                                                         frozen_v1_0_dbtool_plugin* out,
                                                         frozen_v1_0_dbtool_error* error);

/* Backend */
typedef struct frozen_v1_0_session frozen_v1_0_session;
typedef struct frozen_v1_0_stage frozen_v1_0_stage;

struct frozen_v1_0_backend_api {
  uint32_t struct_size;
  frozen_v1_0_status (*open)(const char* options_json, frozen_v1_0_session** out, frozen_v1_0_dbtool_error* error);
  void (*close)(frozen_v1_0_session* session);
  frozen_v1_0_status (*cancel)(frozen_v1_0_session* session, frozen_v1_0_dbtool_error* error);
  frozen_v1_0_status (*describe)(frozen_v1_0_session* session, frozen_v1_0_text* out, frozen_v1_0_dbtool_error* error);
  frozen_v1_0_status (*read_table)(frozen_v1_0_session* session, const char* table, frozen_v1_0_arrow_array_stream* out,
                                   frozen_v1_0_dbtool_error* error);
  frozen_v1_0_status (*backup)(frozen_v1_0_session* session, const char* path, frozen_v1_0_text* report,
                               frozen_v1_0_dbtool_error* error);
  frozen_v1_0_status (*restore)(frozen_v1_0_session* session, const char* path, frozen_v1_0_text* report,
                                frozen_v1_0_dbtool_error* error);
  frozen_v1_0_status (*stage_begin)(frozen_v1_0_session* session, const char* schema_json, frozen_v1_0_stage** out,
                                    frozen_v1_0_dbtool_error* error);
  frozen_v1_0_status (*stage_load)(frozen_v1_0_stage* stage, const char* table, frozen_v1_0_arrow_array_stream* stream,
                                   int64_t* rows_loaded, frozen_v1_0_dbtool_error* error);
  frozen_v1_0_status (*stage_count)(frozen_v1_0_stage* stage, const char* table, int64_t* rows,
                                    frozen_v1_0_dbtool_error* error);
  frozen_v1_0_status (*stage_commit)(frozen_v1_0_stage* stage, frozen_v1_0_text* report,
                                     frozen_v1_0_dbtool_error* error);
  void (*stage_abort)(frozen_v1_0_stage* stage);
};

/* Source */
struct frozen_v1_0_source_api {
  uint32_t struct_size;
  frozen_v1_0_status (*fetch)(const char* options_json, frozen_v1_0_text* report, frozen_v1_0_dbtool_error* error);
};

#endif /* DBTOOL_TESTS_ABI_V1_0_FROZEN_H_ */
