// The entry point of a C++ plugin and the host services it keeps: one call fills the
// descriptor and refuses a host of another ABI major, as CONTRACT.md requires. Header-only and
// optional, like the rest of the SDK.
#pragma once

#include <dbtool/plugin.h>

#include <dbtool/sdk/error.hpp>
#include <string>

namespace dbtool::sdk {

// The host's services, kept by init_plugin for the life of the process; NULL until then (and
// in unit tests that call a plugin's functions directly).
inline const dbtool_host_services* g_host = nullptr;

inline void log(int32_t level, const std::string& message) {
  if (g_host != nullptr && g_host->log != nullptr) g_host->log(g_host->host_data, level, message.c_str());
}

inline void progress(const char* phase, int64_t done, int64_t total) {
  if (g_host != nullptr && g_host->progress != nullptr) g_host->progress(g_host->host_data, phase, done, total);
}

inline bool cancelled() {
  return g_host != nullptr && g_host->is_cancelled != nullptr && g_host->is_cancelled(g_host->host_data) != 0;
}

struct PluginInfo {
  uint32_t kind;  // DBTOOL_KIND_*
  const char* name;
  const char* version;
  const char* description;
  uint64_t capabilities;
  const dbtool_backend_api* backend;  // for a backend
  const dbtool_source_api* source;    // for a source
};

// The whole body of dbtool_plugin_init:
//   extern "C" __attribute__((visibility("default"))) dbtool_status dbtool_plugin_init(
//       uint32_t abi, const dbtool_host_services* host, dbtool_plugin* out, dbtool_error* error) {
//     return dbtool::sdk::init_plugin(abi, host, out, error, kInfo);
//   }
inline dbtool_status init_plugin(uint32_t host_abi, const dbtool_host_services* host, dbtool_plugin* out,
                                 dbtool_error* error, const PluginInfo& info) {
  return guard(error, [&] {
    if (out == nullptr) throw Failure(DBTOOL_ERR_INVALID_ARGUMENT, "no descriptor to fill");
    // Filled even when refusing, so the host can name the plugin and its version.
    out->abi_version = DBTOOL_ABI_VERSION;
    out->name = info.name;
    out->version = info.version;
    if (DBTOOL_ABI_MAJOR_OF(host_abi) != DBTOOL_ABI_VERSION_MAJOR)
      throw Failure(DBTOOL_ERR_INCOMPATIBLE,
                    std::string(info.name) + " speaks plugin ABI major " + std::to_string(DBTOOL_ABI_VERSION_MAJOR));
    out->kind = info.kind;
    out->description = info.description;
    out->capabilities = info.capabilities;
    out->backend = info.backend;
    out->source = info.source;
    // A host table smaller than ours predates some slot we might call: keep none of it.
    if (host != nullptr && host->struct_size >= sizeof(dbtool_host_services)) g_host = host;
  });
}

}  // namespace dbtool::sdk
