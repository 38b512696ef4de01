// Proves <dbtool/plugin.h> compiles cleanly as C++20 under -Wall -Wextra -Werror -pedantic,
// so C++ plugins and the host can include it without local warning suppressions.
#include <dbtool/plugin.h>

#include <dbtool/plugin.h>  // include guard

namespace {

// C linkage comes from the header; a C++ plugin defines its slots as ordinary functions.
dbtool_status fetch(const char* options_json, dbtool_text* report, dbtool_error* error) {
  (void)options_json;
  (void)report;
  error->status = DBTOOL_ERR_NOT_SUPPORTED;
  return DBTOOL_ERR_NOT_SUPPORTED;
}

void release_stream(ArrowArrayStream* stream) { stream->release = nullptr; }

constexpr dbtool_source_api source{.struct_size = sizeof(dbtool_source_api), .fetch = fetch};

dbtool_status init(uint32_t host_abi, const dbtool_host_services* host, dbtool_plugin* out, dbtool_error* error) {
  (void)host;
  (void)error;
  out->abi_version = DBTOOL_ABI_VERSION;
  out->name = "cxx-check";
  out->version = "1";
  if (DBTOOL_ABI_MAJOR_OF(host_abi) != DBTOOL_ABI_VERSION_MAJOR) return DBTOOL_ERR_INCOMPATIBLE;
  out->kind = DBTOOL_KIND_SOURCE;
  out->capabilities = DBTOOL_CAP_NETWORK | DBTOOL_CAP_CACHEABLE;
  out->source = &source;
  return DBTOOL_OK;
}

}  // namespace

int main() {
  static_assert(DBTOOL_ABI_MAJOR_OF(DBTOOL_ABI_VERSION) == DBTOOL_ABI_VERSION_MAJOR);
  dbtool_host_services host{};
  host.struct_size = sizeof host;
  host.abi_version = DBTOOL_ABI_VERSION;
  dbtool_plugin plugin{};
  plugin.struct_size = sizeof plugin;
  dbtool_error error{};
  dbtool_text text{};
  dbtool_backend_api backend{};
  ArrowSchema schema{};
  ArrowArray array{};
  ArrowArrayStream stream{};
  stream.release = release_stream;
  stream.release(&stream);
  dbtool_plugin_init_fn entry = init;
  if (entry(DBTOOL_ABI_VERSION, &host, &plugin, &error) != DBTOOL_OK) return 1;
  if (plugin.source->fetch("{}", &text, &error) != DBTOOL_ERR_NOT_SUPPORTED) return 1;
  const bool empty = backend.open == nullptr && schema.release == nullptr && array.release == nullptr &&
                     stream.release == nullptr && text.release == nullptr && plugin.backend == nullptr;
  return empty && DBTOOL_PLUGIN_ENTRY_SYMBOL[0] == 'd' ? 0 : 1;
}
