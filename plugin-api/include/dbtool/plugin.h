/* dbtool plugin ABI: the one stable C interface between the dbtool host and its plugins.
 *
 * This header is the whole contract a third party needs to ship a backend or a source as a
 * shared object. It is plain C (a test compiles it as C99), so a plugin may be built with any
 * compiler, C++ standard library or Boost release. The rules, in prose, are in CONTRACT.md
 * beside this folder; the short form:
 *
 *  - One exported symbol per plugin: `dbtool_plugin_init` (see dbtool_plugin_init_fn).
 *  - Every function table starts with its own size and grows by appending only. A NULL slot
 *    means "not supported". The host checks the slots it needs before calling anything.
 *  - Whoever allocates frees: every object that crosses (error, text, stream, batch) carries
 *    its own `release`. Borrowed `const char*` inputs live for the duration of the call only.
 *  - No entry point lets an exception or a signal escape; every failure is a dbtool_status plus
 *    a filled dbtool_error. A plugin never calls exit() and never prints: it logs through the
 *    host services.
 *  - Control plane (options, schema, reports) is UTF-8 JSON text; the data plane is the Arrow C
 *    Data / C Stream Interface, restricted to the profile described below.
 *
 * Threads: a session (and the stages made from it) is used by one thread at a time, but for
 * concurrent stage_load calls where the backend announces DBTOOL_CAP_CONCURRENT_LOAD (1.4).
 * `cancel` may be called from any thread at any time while the session is alive. Host services
 * may be called from any thread the plugin creates.
 */
#ifndef DBTOOL_PLUGIN_H_
#define DBTOOL_PLUGIN_H_

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ---------------------------------------------------------------------------------------
 * Versions
 * ------------------------------------------------------------------------------------- */

/* An ABI version packs major (breaking) and minor (append-only) parts. A host loads a plugin
 * whose major equals its own, whatever the minors; slots a plugin's older minor lacks are
 * seen as NULL because the table's struct_size is smaller. */
#define DBTOOL_ABI_MAKE(major, minor) ((uint32_t)(((uint32_t)(major) << 16) | (uint32_t)(minor)))
#define DBTOOL_ABI_MAJOR_OF(v) ((uint32_t)(v) >> 16)
#define DBTOOL_ABI_MINOR_OF(v) ((uint32_t)(v)&0xFFFFu)

#define DBTOOL_ABI_VERSION_MAJOR 1
#define DBTOOL_ABI_VERSION_MINOR 4
#define DBTOOL_ABI_VERSION DBTOOL_ABI_MAKE(DBTOOL_ABI_VERSION_MAJOR, DBTOOL_ABI_VERSION_MINOR)

/* Non-zero when the function table `table` (any dbtool_*_api, which starts with struct_size)
 * has the slot `slot` and it is set. A slot beyond the table's struct_size belongs to a newer
 * minor than the one the table was built with, and reads as "not supported". C and C++. */
#define DBTOOL_HAS_SLOT(table, slot)                                                       \
  ((table) != NULL &&                                                                      \
   (size_t)((const char*)&(table)->slot - (const char*)(table)) + sizeof((table)->slot) <= \
       (size_t)(table)->struct_size &&                                                     \
   (table)->slot != NULL)

/* The name of the single exported entry symbol. */
#define DBTOOL_PLUGIN_ENTRY_SYMBOL "dbtool_plugin_init"

/* ---------------------------------------------------------------------------------------
 * Status and errors
 * ------------------------------------------------------------------------------------- */

typedef int32_t dbtool_status;

#define DBTOOL_OK 0
#define DBTOOL_ERR_UNKNOWN 1
#define DBTOOL_ERR_INVALID_ARGUMENT 2 /* bad options, bad schema, bad URI */
#define DBTOOL_ERR_NOT_SUPPORTED 3
#define DBTOOL_ERR_INCOMPATIBLE 4 /* ABI major mismatch */
#define DBTOOL_ERR_IO 5           /* file system, disk full, permissions */
#define DBTOOL_ERR_NOT_FOUND 6
#define DBTOOL_ERR_ALREADY_EXISTS 7
#define DBTOOL_ERR_CONSTRAINT 8 /* a value broke a key, unique, NOT NULL or foreign key */
#define DBTOOL_ERR_DATA 9       /* malformed input data (bad JSON, bad Arrow profile, ...) */
#define DBTOOL_ERR_AUTH 10      /* wrong credentials */
#define DBTOOL_ERR_NETWORK 11   /* connection refused, reset, DNS */
#define DBTOOL_ERR_TIMEOUT 12
#define DBTOOL_ERR_CANCELLED 13
#define DBTOOL_ERR_BACKEND 14 /* any other error reported by the database */
#define DBTOOL_ERR_INTERNAL 15
/* Since 1.1: the target changed under the run (another connection wrote to it after the
 * session's backup), so the cut-over was refused; nothing was changed. */
#define DBTOOL_ERR_CONFLICT 16

/* An error a plugin reports. The caller passes a zero-initialised struct; on failure the
 * plugin fills it and sets `release`. The caller must call `release` when it is non-NULL,
 * after which every field is zero again. Only the plugin that filled it knows how to free it. */
typedef struct dbtool_error {
  dbtool_status status;
  char* message;       /* UTF-8, NUL-terminated, owned by the error; never holds a secret */
  char sqlstate[6];    /* five characters and NUL when the database gave one, else "" */
  int32_t vendor_code; /* the database's own error number, 0 when none */
  int32_t http_status; /* the HTTP status for sources, 0 when none */
  void* private_data;  /* for the producer */
  void (*release)(struct dbtool_error* error);
} dbtool_error;

/* Text a plugin hands to the host (reports, descriptions). Release exactly once. */
typedef struct dbtool_text {
  char* data;  /* UTF-8, NUL-terminated */
  size_t size; /* bytes, not counting the NUL */
  void* private_data;
  void (*release)(struct dbtool_text* text);
} dbtool_text;

/* ---------------------------------------------------------------------------------------
 * Arrow C Data and C Stream Interface (verbatim from the Arrow specification, guarded so
 * that a file including arrow's own abi.h as well still compiles).
 *
 * dbtool's profile: a batch is a struct array (format "+s") with no nulls at the top level,
 * one child per column, each named after its column. Loading matches children to the table's
 * columns by name, in any order, a subset allowed; reading yields every column in table order.
 * Child formats:
 *   "n" null, "b" bool, "l" int64, "g" float64, "u" utf8, "z" binary.
 * Portable types without an Arrow type of their own travel as utf8 in one canonical text form:
 * json as JSON text, timestamp as "YYYY-MM-DDTHH:MM:SSZ", date as "YYYY-MM-DD", datetime as
 * "YYYY-MM-DD HH:MM:SS.ffffff" (always six fraction digits; no time zone).
 * Offsets are 32-bit ("u", "z"). Producers set offset = 0; consumers must still honour it.
 * Anything else is refused with DBTOOL_ERR_DATA.
 * ------------------------------------------------------------------------------------- */

#ifndef ARROW_C_DATA_INTERFACE
#define ARROW_C_DATA_INTERFACE

#define ARROW_FLAG_DICTIONARY_ORDERED 1
#define ARROW_FLAG_NULLABLE 2
#define ARROW_FLAG_MAP_KEYS_SORTED 4

struct ArrowSchema {
  const char* format;
  const char* name;
  const char* metadata;
  int64_t flags;
  int64_t n_children;
  struct ArrowSchema** children;
  struct ArrowSchema* dictionary;
  void (*release)(struct ArrowSchema*);
  void* private_data;
};

struct ArrowArray {
  int64_t length;
  int64_t null_count;
  int64_t offset;
  int64_t n_buffers;
  int64_t n_children;
  const void** buffers;
  struct ArrowArray** children;
  struct ArrowArray* dictionary;
  void (*release)(struct ArrowArray*);
  void* private_data;
};

#endif /* ARROW_C_DATA_INTERFACE */

#ifndef ARROW_C_STREAM_INTERFACE
#define ARROW_C_STREAM_INTERFACE

struct ArrowArrayStream {
  int (*get_schema)(struct ArrowArrayStream*, struct ArrowSchema* out);
  int (*get_next)(struct ArrowArrayStream*, struct ArrowArray* out);
  const char* (*get_last_error)(struct ArrowArrayStream*);
  void (*release)(struct ArrowArrayStream*);
  void* private_data;
};

#endif /* ARROW_C_STREAM_INTERFACE */

/* ---------------------------------------------------------------------------------------
 * Host services: given to the plugin at init, valid until the process ends.
 * ------------------------------------------------------------------------------------- */

#define DBTOOL_LOG_DEBUG 0
#define DBTOOL_LOG_INFO 1
#define DBTOOL_LOG_WARN 2
#define DBTOOL_LOG_ERROR 3

typedef struct dbtool_host_services {
  uint32_t struct_size; /* sizeof as the host built it; check before using a later slot */
  uint32_t abi_version; /* the host's DBTOOL_ABI_VERSION */
  void* host_data;      /* pass back as the first argument of every service */
  /* A line for the user. `message` is borrowed; it must never contain a secret. */
  void (*log)(void* host_data, int32_t level, const char* message);
  /* Progress of a named phase ("download", "load users", ...); total < 0 when unknown. */
  void (*progress)(void* host_data, const char* phase, int64_t done, int64_t total);
  /* Non-zero once the user asked to stop (Ctrl-C). Long loops poll it and end with
   * DBTOOL_ERR_CANCELLED. */
  int32_t (*is_cancelled)(void* host_data);
} dbtool_host_services;

/* ---------------------------------------------------------------------------------------
 * Plugin descriptor
 * ------------------------------------------------------------------------------------- */

#define DBTOOL_KIND_BACKEND 1
#define DBTOOL_KIND_SOURCE 2

/* Capability flags of a backend. BACKUP, RESTORE and CANCEL announce the optional slot of that
 * name; the host uses a slot only when its bit is set too. ATOMIC_CUTOVER and CREATE_DATABASE
 * are informational (shown by `dbtool plugins`): every backend's stage_commit must be atomic
 * and every `open` with "create": true must create a missing database. */
#define DBTOOL_CAP_BACKUP (1ull << 0)
#define DBTOOL_CAP_RESTORE (1ull << 1)
#define DBTOOL_CAP_ATOMIC_CUTOVER (1ull << 2)
#define DBTOOL_CAP_CREATE_DATABASE (1ull << 3)
#define DBTOOL_CAP_CANCEL (1ull << 4)
/* Since 1.1: the backend can serve as a source: `open` honours "read_only", and read_table,
 * snapshot_begin, snapshot_end and describe_schema are set. */
#define DBTOOL_CAP_READ (1ull << 5)
/* Since 1.3: stage_begin accepts "guaranteed_by_host" on a foreign key and may skip checking
 * such a key at stage_commit (CONTRACT.md, "Portable schema"). The host marks keys only for a
 * backend that announces this, so an older backend never meets a field it does not know. */
#define DBTOOL_CAP_HOST_GUARANTEED_KEYS (1ull << 6)
/* Since 1.4: stage_load may be called for different tables of one stage from different threads
 * at the same time. Calls for one table never overlap (they may come from different threads one
 * after the other), and every other call on the stage or its session (stage_count, stage_commit,
 * stage_abort, ...) waits until every stage_load has returned; `cancel` stops every one running.
 * CONTRACT.md, "Threads". */
#define DBTOOL_CAP_CONCURRENT_LOAD (1ull << 7)
/* Capability flags of a source. */
#define DBTOOL_CAP_NETWORK (1ull << 16)
#define DBTOOL_CAP_CACHEABLE (1ull << 17) /* its result may be kept as the JSON cache */

typedef struct dbtool_backend_api dbtool_backend_api;
typedef struct dbtool_source_api dbtool_source_api;

typedef struct dbtool_plugin {
  uint32_t struct_size; /* sizeof(dbtool_plugin) as the host built it */
  uint32_t abi_version; /* the plugin's ABI; filled even when init refuses */
  uint32_t kind;        /* DBTOOL_KIND_* */
  uint32_t reserved;
  const char* name;                  /* short, [a-z0-9-]: "sqlite", "http-legacy"; static storage. A
                                      * backend's name is also its URI scheme ("sqlite:///PATH"). */
  const char* version;               /* the plugin's own version; static storage */
  const char* description;           /* one line; static storage */
  uint64_t capabilities;             /* DBTOOL_CAP_* */
  const dbtool_backend_api* backend; /* non-NULL iff kind == DBTOOL_KIND_BACKEND; static */
  const dbtool_source_api* source;   /* non-NULL iff kind == DBTOOL_KIND_SOURCE; static */
  /* Since 1.2: the other URI schemes a backend owns besides its name, NULL-terminated ("postgres"
   * for "postgresql", "mariadb" for "mysql"); NULL when none. Static storage. */
  const char* const* uri_schemes;
} dbtool_plugin;

/* The entry point, exported as DBTOOL_PLUGIN_ENTRY_SYMBOL with C linkage.
 *  host_abi  the newest ABI the host speaks (DBTOOL_ABI_VERSION of its build).
 *  host      services; the pointer stays valid for the life of the process.
 *  out       zero-initialised by the host, with out->struct_size set. The plugin fills
 *            abi_version, name and version even when it refuses, so the host can say why.
 *  error     filled on failure.
 * Returns DBTOOL_OK, or DBTOOL_ERR_INCOMPATIBLE when the host's major differs from the
 * plugin's. May be called more than once; must be cheap and have no side effects. */
typedef dbtool_status (*dbtool_plugin_init_fn)(uint32_t host_abi, const dbtool_host_services* host, dbtool_plugin* out,
                                               dbtool_error* error);

/* ---------------------------------------------------------------------------------------
 * Backend
 *
 * A session is a connection to one target database (a URI). Everything destructive happens
 * on a *stage*: a new database built beside the target (SQLite: a file next to it; MySQL: a
 * staging database) which is invisible to the application until `stage_commit` swaps it in
 * with one atomic step. Until then the target is untouched; `stage_abort` (or a crash) leaves
 * nothing but, at worst, a stale stage that the next session's `open` removes.
 * ------------------------------------------------------------------------------------- */

typedef struct dbtool_session dbtool_session; /* opaque, owned by the plugin */
typedef struct dbtool_stage dbtool_stage;     /* opaque, owned by the plugin */

struct dbtool_backend_api {
  uint32_t struct_size; /* sizeof as the plugin built it */

  /* Opens a session. options_json: {"uri": "...", "password": "..." (optional),
   * "create": bool (create the database when missing), "read_only": bool (1.1),
   * "allow_concurrent_writes": bool (1.1, see stage_commit)}. Borrowed. */
  dbtool_status (*open)(const char* options_json, dbtool_session** out, dbtool_error* error);
  /* Closes the session; NULL is a no-op. Any open stage must have been committed or aborted. */
  void (*close)(dbtool_session* session);
  /* Asks the running operation on this session to stop soon. Optional (DBTOOL_CAP_CANCEL).
   * Called from another thread than the session's, concurrently with any call on it, never
   * after close began; interrupts a blocked statement so that call returns
   * DBTOOL_ERR_CANCELLED; with nothing running, does nothing and returns DBTOOL_OK. Must return
   * promptly. CONTRACT.md, "Cancellation". */
  dbtool_status (*cancel)(dbtool_session* session, dbtool_error* error);

  /* Describes the target: {"exists": bool, "location": "redacted display form",
   * "tables": [{"name": "users", "rows": 12}, ...]}, optionally "backup_extension": ".db" and
   * "retired": [...], "views": [...], "triggers": [...] (CONTRACT.md, "Reports"). Tables are
   * user tables only. */
  dbtool_status (*describe)(dbtool_session* session, dbtool_text* out, dbtool_error* error);

  /* Required. Streams the rows of a table of the target in primary-key order (or rowid/insertion
   * order without one), columns in table order, in the profile above. The stream is owned by
   * the caller, who must release it before the session closes. */
  dbtool_status (*read_table)(dbtool_session* session, const char* table, struct ArrowArrayStream* out,
                              dbtool_error* error);

  /* Writes a complete, consistent backup of the target to `path` (which must not exist),
   * creating the file with mode 0600, then verifies it. report: {"bytes": N, "format":
   * "...", "tables": [{"name", "rows"}]}. On failure no file is left at `path`. */
  dbtool_status (*backup)(dbtool_session* session, const char* path, dbtool_text* report, dbtool_error* error);

  /* Replaces the target's contents with a backup made by `backup`, atomically: the backup is
   * verified and rebuilt beside the target first, then swapped in. */
  dbtool_status (*restore)(dbtool_session* session, const char* path, dbtool_text* report, dbtool_error* error);

  /* Starts a stage: a new, empty database beside the target with the portable schema
   * `schema_json` (see CONTRACT.md) created in it. One stage per session at a time. */
  dbtool_status (*stage_begin)(dbtool_session* session, const char* schema_json, dbtool_stage** out,
                               dbtool_error* error);
  /* Loads every batch of `stream` into `table` of the stage; takes ownership of the stream
   * and releases it, on success and on failure. The stream's columns must match the table's
   * columns by name, in any order, a subset allowed (missing columns take their default, an
   * auto_increment column a generated value higher than every id already in the table, explicit
   * ones included). rows_loaded receives the number of rows written. May be called many times
   * per table. */
  dbtool_status (*stage_load)(dbtool_stage* stage, const char* table, struct ArrowArrayStream* stream,
                              int64_t* rows_loaded, dbtool_error* error);
  /* Counts the rows of a table in the stage, as the database sees them. */
  dbtool_status (*stage_count)(dbtool_stage* stage, const char* table, int64_t* rows, dbtool_error* error);
  /* Verifies the stage (integrity, foreign keys) and swaps it in place of the target in one
   * atomic step. report: {"retired": "where the old data went, if kept", ...}. After this
   * call, success or not, the stage handle is gone. On failure the target is as it was.
   * Since 1.1: when the target changed after the session's last `backup` began (or, without a
   * backup, after stage_begin), the swap would lose those writes: it is refused with
   * DBTOOL_ERR_CONFLICT unless the session was opened with "allow_concurrent_writes". The
   * same holds for `restore`. */
  dbtool_status (*stage_commit)(dbtool_stage* stage, dbtool_text* report, dbtool_error* error);
  /* Drops the stage and everything in it. The handle is gone afterwards. NULL is a no-op. */
  void (*stage_abort)(dbtool_stage* stage);

  /* ---- Since ABI 1.1: reading a database as a migration source (DBTOOL_CAP_READ) ----
   *
   * A session opened with {"read_only": true} never writes: it creates no file, no lock, no
   * database, removes no stale stage, and refuses stage_begin, backup and restore with
   * DBTOOL_ERR_NOT_SUPPORTED. A missing database is DBTOOL_ERR_NOT_FOUND. */

  /* Starts one consistent, read-only snapshot of the whole database (SQLite: one read
   * transaction; MySQL: START TRANSACTION WITH CONSISTENT SNAPSHOT, READ ONLY). Until
   * snapshot_end, describe_schema and every read_table see that snapshot, whatever other
   * connections commit meanwhile. One snapshot per session; streams made inside it must be
   * released before snapshot_end. */
  dbtool_status (*snapshot_begin)(dbtool_session* session, dbtool_error* error);
  /* Ends the snapshot (a no-op without one). */
  dbtool_status (*snapshot_end)(dbtool_session* session, dbtool_error* error);
  /* The live database's structure as a portable schema (CONTRACT.md, "Portable schema"): every
   * user table (not dbtool's own history or stage tables), parents before children, with
   * columns, types, nullability, defaults, keys, foreign keys and indexes as the database
   * declares them. `out` owns the JSON text. */
  dbtool_status (*describe_schema)(dbtool_session* session, dbtool_text* out, dbtool_error* error);

  /* ---- Since ABI 1.1: checking a backup before anything is done with it ----
   *
   * Verifies that `path` is a complete backup made by this backend's `backup` (not empty, not
   * truncated, of its format, carrying its marker, sound) without touching the target or
   * anything else. report: as `backup`'s. The host calls it before `restore` and before it
   * backs up the state a restore would replace; `restore` must verify the same way itself.
   * Optional (NULL: the host relies on `restore`'s own check). */
  dbtool_status (*verify_backup)(dbtool_session* session, const char* path, dbtool_text* report, dbtool_error* error);

  /* ---- Since ABI 1.2: the backend reads its own URIs ----
   *
   * Says what `uri` (as the user gave it to --db or --source, never holding a password) names,
   * without a session, a connection or any change: only the backend knows its URI's syntax.
   * out: {"uri": "the URI to open, normalised (a relative path made absolute)",
   *       "location": "the display form for messages and reports, nothing secret in it",
   *       "name": "a short base name for backup files ([A-Za-z0-9._-], no folders)",
   *       "file": "/absolute/path" (only for a database that is one local file: its real
   *               path, symbolic links resolved, so the host puts locks and backups beside the
   *               data and the swap replaces the data, not a link),
   *       "password": "none" (the database takes none: the host never passes one),
   *                   "optional" (one from the environment or .env is passed when set) or
   *                   "required" (the URI names a user: when none is set, the user is asked)}.
   * `uri` may lack a scheme when the user chose the backend by name (a SQLite path); a backend
   * that has no such short form refuses it. A URI of another scheme or of bad syntax is
   * DBTOOL_ERR_INVALID_ARGUMENT with a message that shows the expected form. Optional (NULL:
   * the host treats the URI as opaque: passed as given, displayed with any password removed,
   * named after its last path segment, a password asked for when it names a user). */
  dbtool_status (*describe_uri)(const char* uri, dbtool_text* out, dbtool_error* error);

  /* ---- Since ABI 1.3: a restore that more rows join before its one swap ----
   *
   * Verifies the backup `path` exactly as `restore` must (a `verify_backup` of the same,
   * unchanged file earlier in this session may stand for the check, as for `restore`), then
   * makes a stage that starts as the restored copy of the backup: every table as the backup
   * holds it, the backup's own marker and manifest removed. `schema_json` is a portable schema
   * of the tables the caller will append to: one the backup lacks is created; one it holds is
   * kept as it is. On such a stage `stage_load` APPENDS rows to a table of `schema_json` (an
   * auto_increment column continues after the highest id present), `stage_count` counts, and
   * `stage_commit` checks what was appended (at least the foreign keys of the tables loaded
   * into; the backup's own content was verified when the stage was made) and swaps the stage in
   * as one atomic step, under the same DBTOOL_ERR_CONFLICT rule as `restore` (the baseline is
   * the session's last `backup`, else this call). `stage_abort` removes it; the target is
   * untouched until the commit. report: as `restore`'s, describing the copy before anything is
   * appended. On failure no stage is left and *out is NULL. One stage per session at a time.
   * Optional: used only with DBTOOL_CAP_RESTORE; NULL means the host restores, then rebuilds
   * (CONTRACT.md, "Restoring into a stage"). */
  dbtool_status (*restore_stage)(dbtool_session* session, const char* path, const char* schema_json, dbtool_stage** out,
                                 dbtool_text* report, dbtool_error* error);
};

/* ---------------------------------------------------------------------------------------
 * Source
 *
 * A source delivers one complete legacy export (a JSON array of user objects) as a local
 * file. The host validates it as JSON before any of it counts, and maps it into the schema.
 * ------------------------------------------------------------------------------------- */

struct dbtool_source_api {
  uint32_t struct_size; /* sizeof as the plugin built it */

  /* Fetches the export. options_json is plugin-specific plus, from the host,
   * "output_path": a file the plugin may create to hold what it downloads.
   * report: {"path": "the file holding the complete export", "bytes": N,
   *          "cacheable": bool (true when the file is a fresh copy the host may keep as cache),
   *          ...plugin-specific facts}.
   * On failure nothing is left at output_path and error says why (http_status when known). */
  dbtool_status (*fetch)(const char* options_json, dbtool_text* report, dbtool_error* error);
};

#ifdef __cplusplus
}
#endif

#endif /* DBTOOL_PLUGIN_H_ */
