/* Proves <dbtool/plugin.h> is strict C99 (built with -std=c99 -pedantic-errors -Werror), so a
 * plugin may be written in old C with any toolchain. Includes nothing else on purpose: the
 * header must be self-contained. A minimal backend and source use every type and slot. */
#include <dbtool/plugin.h>
#include <dbtool/plugin.h> /* include guard */

struct dbtool_session {
  int32_t open;
};
struct dbtool_stage {
  int64_t rows;
};

static struct dbtool_session the_session;
static struct dbtool_stage the_stage;

static dbtool_status b_open(const char* options_json, dbtool_session** out, dbtool_error* error) {
  (void)options_json;
  (void)error;
  the_session.open = 1;
  *out = &the_session;
  return DBTOOL_OK;
}
static void b_close(dbtool_session* session) {
  if (session) session->open = 0;
}
static dbtool_status b_cancel(dbtool_session* session, dbtool_error* error) {
  (void)session;
  (void)error;
  return DBTOOL_ERR_NOT_SUPPORTED;
}
static dbtool_status b_describe(dbtool_session* session, dbtool_text* out, dbtool_error* error) {
  (void)session;
  (void)error;
  out->data = 0;
  out->size = 0;
  out->private_data = 0;
  out->release = 0;
  return DBTOOL_OK;
}
static dbtool_status b_read_table(dbtool_session* session, const char* table, struct ArrowArrayStream* out,
                                  dbtool_error* error) {
  (void)session;
  (void)table;
  (void)out;
  (void)error;
  return DBTOOL_ERR_NOT_SUPPORTED;
}
static dbtool_status b_backup(dbtool_session* session, const char* path, dbtool_text* report, dbtool_error* error) {
  (void)session;
  (void)path;
  (void)report;
  (void)error;
  return DBTOOL_ERR_NOT_SUPPORTED;
}
static dbtool_status b_stage_begin(dbtool_session* session, const char* schema_json, dbtool_stage** out,
                                   dbtool_error* error) {
  (void)session;
  (void)schema_json;
  (void)error;
  the_stage.rows = 0;
  *out = &the_stage;
  return DBTOOL_OK;
}
static dbtool_status b_stage_load(dbtool_stage* stage, const char* table, struct ArrowArrayStream* stream,
                                  int64_t* rows_loaded, dbtool_error* error) {
  (void)table;
  (void)error;
  *rows_loaded = 0;
  if (stream->release) stream->release(stream);
  stage->rows += *rows_loaded;
  return DBTOOL_OK;
}
static dbtool_status b_stage_count(dbtool_stage* stage, const char* table, int64_t* rows, dbtool_error* error) {
  (void)table;
  (void)error;
  *rows = stage->rows;
  return DBTOOL_OK;
}
static dbtool_status b_stage_commit(dbtool_stage* stage, dbtool_text* report, dbtool_error* error) {
  (void)stage;
  (void)report;
  (void)error;
  return DBTOOL_OK;
}
static void b_stage_abort(dbtool_stage* stage) { (void)stage; }
static dbtool_status b_restore_stage(dbtool_session* session, const char* path, const char* schema_json,
                                     dbtool_stage** out, dbtool_text* report, dbtool_error* error) {
  (void)path;
  (void)report;
  return b_stage_begin(session, schema_json, out, error);
}

/* Slots set by name (C99 designated initializers): unnamed slots, such as those a later
 * minor appends, are zero, which reads as "not supported". */
static const dbtool_backend_api backend = {
    .struct_size = sizeof(dbtool_backend_api),
    .open = b_open,
    .close = b_close,
    .cancel = b_cancel,
    .describe = b_describe,
    .read_table = b_read_table,
    .backup = b_backup,
    .restore = b_backup,
    .stage_begin = b_stage_begin,
    .stage_load = b_stage_load,
    .stage_count = b_stage_count,
    .stage_commit = b_stage_commit,
    .stage_abort = b_stage_abort,
    .restore_stage = b_restore_stage,
};

static dbtool_status s_fetch(const char* options_json, dbtool_text* report, dbtool_error* error) {
  (void)options_json;
  (void)report;
  error->status = DBTOOL_ERR_NETWORK;
  error->http_status = 503;
  error->sqlstate[0] = '\0';
  return DBTOOL_ERR_NETWORK;
}

static const dbtool_source_api source = {sizeof(dbtool_source_api), s_fetch};

static dbtool_status init(uint32_t host_abi, const dbtool_host_services* host, dbtool_plugin* out,
                          dbtool_error* error) {
  out->abi_version = DBTOOL_ABI_VERSION;
  out->name = "c99-check";
  out->version = "1";
  if (DBTOOL_ABI_MAJOR_OF(host_abi) != DBTOOL_ABI_VERSION_MAJOR) {
    error->status = DBTOOL_ERR_INCOMPATIBLE;
    return DBTOOL_ERR_INCOMPATIBLE;
  }
  if (host->log) host->log(host->host_data, DBTOOL_LOG_INFO, "init");
  out->kind = DBTOOL_KIND_BACKEND;
  out->description = "checks that plugin.h is C99";
  out->capabilities = DBTOOL_CAP_BACKUP | DBTOOL_CAP_RESTORE | DBTOOL_CAP_ATOMIC_CUTOVER | DBTOOL_CAP_CREATE_DATABASE |
                      DBTOOL_CAP_CANCEL;
  out->backend = &backend;
  out->source = 0;
  return DBTOOL_OK;
}

static void h_log(void* host_data, int32_t level, const char* message) {
  (void)host_data;
  (void)level;
  (void)message;
}
static void h_progress(void* host_data, const char* phase, int64_t done, int64_t total) {
  (void)host_data;
  (void)phase;
  (void)done;
  (void)total;
}
static int32_t h_is_cancelled(void* host_data) {
  (void)host_data;
  return 0;
}

int main(void) {
  dbtool_host_services host = {sizeof(dbtool_host_services), DBTOOL_ABI_VERSION, 0, h_log, h_progress, h_is_cancelled};
  dbtool_plugin plugin = {0};
  dbtool_error error = {0};
  dbtool_text text = {0};
  dbtool_session* session = 0;
  dbtool_stage* stage = 0;
  struct ArrowArrayStream stream = {0};
  int64_t rows = -1;
  const dbtool_plugin_init_fn entry = init;
  const char* symbol = DBTOOL_PLUGIN_ENTRY_SYMBOL;

  plugin.struct_size = sizeof plugin;
  if (symbol[0] != 'd' || entry(DBTOOL_ABI_VERSION, &host, &plugin, &error) != DBTOOL_OK) return 1;
  if (plugin.backend->open("{}", &session, &error) != DBTOOL_OK) return 1;
  if (plugin.backend->stage_begin(session, "{}", &stage, &error) != DBTOOL_OK) return 1;
  if (plugin.backend->stage_load(stage, "users", &stream, &rows, &error) != DBTOOL_OK) return 1;
  if (plugin.backend->stage_count(stage, "users", &rows, &error) != DBTOOL_OK || rows != 0) return 1;
  plugin.backend->stage_abort(stage);
  if (!DBTOOL_HAS_SLOT(plugin.backend, restore_stage) ||
      plugin.backend->restore_stage(session, "backup", "{}", &stage, &text, &error) != DBTOOL_OK)
    return 1;
  plugin.backend->stage_abort(stage);
  if (plugin.backend->describe(session, &text, &error) != DBTOOL_OK) return 1;
  plugin.backend->close(session);
  if (source.fetch("{}", &text, &error) != DBTOOL_ERR_NETWORK) return 1;
  if (error.release) error.release(&error);
  if (host.is_cancelled(host.host_data)) return 1;
  host.progress(host.host_data, "check", 1, -1);
  return DBTOOL_ABI_MINOR_OF(plugin.abi_version) == DBTOOL_ABI_VERSION_MINOR ? 0 : 1;
}
