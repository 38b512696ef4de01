/* A source plugin as a third party might write one: it announces DBTOOL_CAP_NETWORK (it
 * downloads), writes the options it was given to the file named by DBTOOL_TEST_OPTIONS_OUT and
 * serves the export named by DBTOOL_TEST_EXPORT. A test proves it gets only what is its own:
 * the host's output_path, none of http-legacy's options or credentials. */
#include <dbtool/plugin.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void release_text(dbtool_text* text) {
  free(text->data);
  memset(text, 0, sizeof *text);
}

static void release_error(dbtool_error* error) {
  free(error->message);
  memset(error, 0, sizeof *error);
}

static dbtool_status fail(dbtool_error* error, const char* message) {
  error->status = DBTOOL_ERR_INVALID_ARGUMENT;
  error->message = malloc(strlen(message) + 1);
  if (error->message != NULL) strcpy(error->message, message);
  error->release = release_error;
  return DBTOOL_ERR_INVALID_ARGUMENT;
}

static dbtool_status fetch(const char* options_json, dbtool_text* report, dbtool_error* error) {
  const char* out = getenv("DBTOOL_TEST_OPTIONS_OUT");
  const char* export_path = getenv("DBTOOL_TEST_EXPORT");
  FILE* f;
  size_t cap;
  if (out == NULL || export_path == NULL)
    return fail(error, "DBTOOL_TEST_OPTIONS_OUT and DBTOOL_TEST_EXPORT must be set");
  f = fopen(out, "w");
  if (f == NULL) return fail(error, "cannot write DBTOOL_TEST_OPTIONS_OUT");
  fputs(options_json, f);
  fclose(f);
  /* The test's paths hold no character that JSON would need escaped. */
  cap = strlen(export_path) + 64;
  report->data = malloc(cap);
  if (report->data == NULL) return fail(error, "out of memory");
  snprintf(report->data, cap, "{\"path\": \"%s\", \"cacheable\": false}", export_path);
  report->size = strlen(report->data);
  report->release = release_text;
  return DBTOOL_OK;
}

static const dbtool_source_api kApi = {.struct_size = sizeof(dbtool_source_api), .fetch = fetch};

__attribute__((visibility("default"))) dbtool_status dbtool_plugin_init(uint32_t host_abi,
                                                                        const dbtool_host_services* host,
                                                                        dbtool_plugin* out, dbtool_error* error) {
  (void)host;
  (void)error;
  out->abi_version = DBTOOL_ABI_VERSION;
  out->name = "options-echo";
  out->version = "1.0.0";
  if (DBTOOL_ABI_MAJOR_OF(host_abi) != DBTOOL_ABI_VERSION_MAJOR) return DBTOOL_ERR_INCOMPATIBLE;
  out->kind = DBTOOL_KIND_SOURCE;
  out->description = "writes the options it gets (a test plugin)";
  out->capabilities = DBTOOL_CAP_NETWORK;
  out->source = &kApi;
  return DBTOOL_OK;
}
