/* An example third-party source plugin, in plain C99 against only <dbtool/plugin.h>.
 *
 * `example-env-source` serves the legacy export that a site's own tooling drops at the path
 * named by the environment variable DBTOOL_EXAMPLE_EXPORT, e.g. a nightly copy pulled by a
 * cron job. It shows every duty of a plugin: version negotiation, errors the host releases
 * with the plugin's own allocator, text handed to the host, logging and progress through the
 * host services, and no output of its own. */
#include <dbtool/plugin.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define EXPORT_VARIABLE "DBTOOL_EXAMPLE_EXPORT"

static const dbtool_host_services* g_host;

static void log_info(const char* message) {
  /* A host of a later minor may have a larger table; ours needs only the 1.0 slots. */
  if (g_host != NULL && g_host->log != NULL) g_host->log(g_host->host_data, DBTOOL_LOG_INFO, message);
}

static void release_error(dbtool_error* error) {
  free(error->message);
  memset(error, 0, sizeof *error);
}

static dbtool_status fail(dbtool_error* error, dbtool_status status, const char* what, const char* detail) {
  if (error != NULL) {
    size_t n = strlen(what) + strlen(detail) + 3;
    memset(error, 0, sizeof *error);
    error->status = status;
    error->message = malloc(n);
    if (error->message != NULL) snprintf(error->message, n, "%s: %s", what, detail);
    error->release = release_error;
  }
  return status;
}

static void release_text(dbtool_text* text) {
  free(text->data);
  memset(text, 0, sizeof *text);
}

/* Appends `s` to `out` as the body of a JSON string. Returns the new length, or 0 when `cap`
 * is too small. */
static size_t json_escape(char* out, size_t len, size_t cap, const char* s) {
  for (; *s != '\0'; ++s) {
    unsigned char c = (unsigned char)*s;
    char buf[8];
    size_t n;
    if (c == '"' || c == '\\') {
      buf[0] = '\\';
      buf[1] = (char)c;
      n = 2;
    } else if (c < 0x20) {
      n = (size_t)snprintf(buf, sizeof buf, "\\u%04x", c);
    } else {
      buf[0] = (char)c;
      n = 1;
    }
    if (len + n + 1 > cap) return 0;
    memcpy(out + len, buf, n);
    len += n;
  }
  out[len] = '\0';
  return len;
}

static dbtool_status fetch(const char* options_json, dbtool_text* report, dbtool_error* error) {
  const char* path = getenv(EXPORT_VARIABLE);
  struct stat st;
  size_t cap, len;
  char* json;
  (void)options_json; /* this source needs none of the host's options */

  if (path == NULL || path[0] == '\0')
    return fail(error, DBTOOL_ERR_INVALID_ARGUMENT, "example-env-source", EXPORT_VARIABLE " is not set");
  if (stat(path, &st) != 0)
    return fail(error, errno == ENOENT ? DBTOOL_ERR_NOT_FOUND : DBTOOL_ERR_IO, path, strerror(errno));
  if (!S_ISREG(st.st_mode)) return fail(error, DBTOOL_ERR_IO, path, "not a regular file");
  if (st.st_size == 0) return fail(error, DBTOOL_ERR_DATA, path, "empty file");
  if (g_host != NULL && g_host->progress != NULL) g_host->progress(g_host->host_data, "example export", 1, 1);
  log_info("example-env-source: serving the export named by " EXPORT_VARIABLE);

  cap = 6 * strlen(path) + 96;
  json = malloc(cap);
  if (json == NULL) return fail(error, DBTOOL_ERR_INTERNAL, "example-env-source", "out of memory");
  strcpy(json, "{\"path\": \"");
  len = json_escape(json, strlen(json), cap, path);
  if (len == 0) {
    free(json);
    return fail(error, DBTOOL_ERR_INTERNAL, "example-env-source", "report too long");
  }
  snprintf(json + len, cap - len, "\", \"bytes\": %lld, \"cacheable\": false}", (long long)st.st_size);
  report->data = json;
  report->size = strlen(json);
  report->private_data = NULL;
  report->release = release_text;
  return DBTOOL_OK;
}

static const dbtool_source_api kSourceApi = {sizeof(dbtool_source_api), fetch};

__attribute__((visibility("default"))) dbtool_status dbtool_plugin_init(uint32_t host_abi,
                                                                        const dbtool_host_services* host,
                                                                        dbtool_plugin* out, dbtool_error* error) {
  if (out == NULL) return fail(error, DBTOOL_ERR_INVALID_ARGUMENT, "example-env-source", "no descriptor");
  out->abi_version = DBTOOL_ABI_VERSION;
  out->name = "example-env-source";
  out->version = "1.0.0";
  if (DBTOOL_ABI_MAJOR_OF(host_abi) != DBTOOL_ABI_VERSION_MAJOR)
    return fail(error, DBTOOL_ERR_INCOMPATIBLE, "example-env-source", "built for dbtool plugin ABI 1.x");
  g_host = host;
  out->kind = DBTOOL_KIND_SOURCE;
  out->description = "the export file named by " EXPORT_VARIABLE " (example third-party plugin, C)";
  out->capabilities = 0;
  out->source = &kSourceApi;
  return DBTOOL_OK;
}
