// The entry point of a C++ plugin, its function tables and the host services it keeps: one call
// fills the descriptor and refuses a host of another ABI major, as CONTRACT.md requires, and
// make_backend_api/make_source_api fill a table by slot name. Header-only and optional, like
// the rest of the SDK; C++17 or newer.
#pragma once

#include <dbtool/plugin.h>

#include <cstddef>
#include <dbtool/sdk/error.hpp>
#include <string>
#include <type_traits>

namespace dbtool::sdk {

// The host's services, kept by init_plugin for the life of the process; NULL until then (and
// in unit tests that call a plugin's functions directly).
inline const dbtool_host_services* g_host = nullptr;

// Each service is used only when the host's table, as the host built it, has its slot: an older
// host keeps the services it had, a slot it lacks is skipped.
inline void log(int32_t level, const std::string& message) {
  if (DBTOOL_HAS_SLOT(g_host, log)) g_host->log(g_host->host_data, level, message.c_str());
}

inline void progress(const char* phase, int64_t done, int64_t total) {
  if (DBTOOL_HAS_SLOT(g_host, progress)) g_host->progress(g_host->host_data, phase, done, total);
}

inline bool cancelled() {
  return DBTOOL_HAS_SLOT(g_host, is_cancelled) && g_host->is_cancelled(g_host->host_data) != 0;
}

namespace detail {

// Whether the descriptor the host passed, of out->struct_size bytes, has room for `field`.
template <class Field>
bool fits(const dbtool_plugin* out, const Field* field) {
  return static_cast<size_t>(reinterpret_cast<const char*>(field) - reinterpret_cast<const char*>(out)) +
             sizeof(Field) <=
         out->struct_size;
}

// has_<slot><Impl>: whether Impl declares a static member named like the slot.
#define DBTOOL_SDK_DETECT_SLOT(slot)      \
  template <class T, class = void>        \
  struct has_##slot : std::false_type {}; \
  template <class T>                      \
  struct has_##slot<T, std::void_t<decltype(&T::slot)>> : std::true_type {};
DBTOOL_SDK_DETECT_SLOT(open)
DBTOOL_SDK_DETECT_SLOT(close)
DBTOOL_SDK_DETECT_SLOT(cancel)
DBTOOL_SDK_DETECT_SLOT(describe)
DBTOOL_SDK_DETECT_SLOT(read_table)
DBTOOL_SDK_DETECT_SLOT(backup)
DBTOOL_SDK_DETECT_SLOT(restore)
DBTOOL_SDK_DETECT_SLOT(stage_begin)
DBTOOL_SDK_DETECT_SLOT(stage_load)
DBTOOL_SDK_DETECT_SLOT(stage_count)
DBTOOL_SDK_DETECT_SLOT(stage_commit)
DBTOOL_SDK_DETECT_SLOT(stage_abort)
DBTOOL_SDK_DETECT_SLOT(snapshot_begin)
DBTOOL_SDK_DETECT_SLOT(snapshot_end)
DBTOOL_SDK_DETECT_SLOT(describe_schema)
DBTOOL_SDK_DETECT_SLOT(verify_backup)
DBTOOL_SDK_DETECT_SLOT(describe_uri)
DBTOOL_SDK_DETECT_SLOT(restore_stage)
DBTOOL_SDK_DETECT_SLOT(fetch)
#undef DBTOOL_SDK_DETECT_SLOT

}  // namespace detail

// A backend's function table filled by slot name: each slot whose name `Impl` declares as a
// static member function gets it, every other slot is NULL ("not supported"), struct_size is
// this header's. Impl's functions have the slot's exact C signature and must not throw (wrap
// each body in guard()). The required slots are checked at compile time; an optional slot
// spelled wrong is simply absent, which the conformance suite's capability checks catch.
//   struct MyBackend { static dbtool_status open(const char*, dbtool_session**, dbtool_error*); ... };
//   const dbtool_backend_api kApi = dbtool::sdk::make_backend_api<MyBackend>();
template <class Impl>
dbtool_backend_api make_backend_api() {
  using namespace detail;
  static_assert(has_open<Impl>::value && has_close<Impl>::value && has_describe<Impl>::value &&
                    has_read_table<Impl>::value && has_stage_begin<Impl>::value && has_stage_load<Impl>::value &&
                    has_stage_count<Impl>::value && has_stage_commit<Impl>::value && has_stage_abort<Impl>::value,
                "a backend needs open, close, describe, read_table and the five stage_ functions (CONTRACT.md)");
  dbtool_backend_api api{};
  api.struct_size = sizeof(dbtool_backend_api);
#define DBTOOL_SDK_SET_SLOT(slot) \
  if constexpr (has_##slot<Impl>::value) api.slot = &Impl::slot;
  DBTOOL_SDK_SET_SLOT(open)
  DBTOOL_SDK_SET_SLOT(close)
  DBTOOL_SDK_SET_SLOT(cancel)
  DBTOOL_SDK_SET_SLOT(describe)
  DBTOOL_SDK_SET_SLOT(read_table)
  DBTOOL_SDK_SET_SLOT(backup)
  DBTOOL_SDK_SET_SLOT(restore)
  DBTOOL_SDK_SET_SLOT(stage_begin)
  DBTOOL_SDK_SET_SLOT(stage_load)
  DBTOOL_SDK_SET_SLOT(stage_count)
  DBTOOL_SDK_SET_SLOT(stage_commit)
  DBTOOL_SDK_SET_SLOT(stage_abort)
  DBTOOL_SDK_SET_SLOT(snapshot_begin)
  DBTOOL_SDK_SET_SLOT(snapshot_end)
  DBTOOL_SDK_SET_SLOT(describe_schema)
  DBTOOL_SDK_SET_SLOT(verify_backup)
  DBTOOL_SDK_SET_SLOT(describe_uri)
  DBTOOL_SDK_SET_SLOT(restore_stage)
  return api;
}

// A source's function table filled by slot name, as make_backend_api.
template <class Impl>
dbtool_source_api make_source_api() {
  using namespace detail;
  static_assert(has_fetch<Impl>::value, "a source needs fetch (CONTRACT.md)");
  dbtool_source_api api{};
  api.struct_size = sizeof(dbtool_source_api);
  DBTOOL_SDK_SET_SLOT(fetch)
#undef DBTOOL_SDK_SET_SLOT
  return api;
}

struct PluginInfo {
  uint32_t kind;  // DBTOOL_KIND_*
  const char* name;
  const char* version;
  const char* description;
  uint64_t capabilities;
  const dbtool_backend_api* backend;  // for a backend
  const dbtool_source_api* source;    // for a source
  // A backend's other URI schemes, NULL-terminated (ABI 1.2); NULL when its name is its only one.
  const char* const* uri_schemes = nullptr;
};

// The whole body of dbtool_plugin_init (DBTOOL_SDK_EXPORT_PLUGIN, below, writes the function).
inline dbtool_status init_plugin(uint32_t host_abi, const dbtool_host_services* host, dbtool_plugin* out,
                                 dbtool_error* error, const PluginInfo& info) {
  return guard(error, [&] {
    if (out == nullptr) throw Failure(DBTOOL_ERR_INVALID_ARGUMENT, "no descriptor to fill");
    // Only the fields the host's descriptor has room for are written: a host built with an
    // older, shorter dbtool_plugin owns no memory past its struct_size.
    auto set = [out](auto& field, auto value) {
      if (detail::fits(out, &field)) field = value;
    };
    // Filled even when refusing, so the host can name the plugin and its version.
    set(out->abi_version, static_cast<uint32_t>(DBTOOL_ABI_VERSION));
    set(out->name, info.name);
    set(out->version, info.version);
    if (DBTOOL_ABI_MAJOR_OF(host_abi) != DBTOOL_ABI_VERSION_MAJOR)
      throw Failure(DBTOOL_ERR_INCOMPATIBLE,
                    std::string(info.name) + " speaks plugin ABI major " + std::to_string(DBTOOL_ABI_VERSION_MAJOR));
    set(out->kind, info.kind);
    set(out->description, info.description);
    set(out->capabilities, info.capabilities);
    set(out->backend, info.backend);
    set(out->source, info.source);
    set(out->uri_schemes, info.uri_schemes);
    // An older host's shorter table still has the services it had; log(), progress() and
    // cancelled() check each slot against its struct_size before calling it.
    if (host != nullptr && host->struct_size >= offsetof(dbtool_host_services, host_data) + sizeof(void*))
      g_host = host;
  });
}

}  // namespace dbtool::sdk

// Defines the plugin's one exported symbol, dbtool_plugin_init, as init_plugin(..., info). Write
// it once, at namespace scope in one source file, with a PluginInfo (a name or a braced list):
//   const dbtool_backend_api kApi = dbtool::sdk::make_backend_api<MyBackend>();
//   const dbtool::sdk::PluginInfo kInfo = {DBTOOL_KIND_BACKEND, "mine", "0.1.0", "...", 0, &kApi, nullptr};
//   DBTOOL_SDK_EXPORT_PLUGIN(kInfo)
// Build with hidden visibility: this is the only symbol the macro marks visible.
#define DBTOOL_SDK_EXPORT_PLUGIN(...)                                                                 \
  extern "C" __attribute__((visibility("default"))) dbtool_status dbtool_plugin_init(                 \
      uint32_t host_abi, const dbtool_host_services* host, dbtool_plugin* out, dbtool_error* error) { \
    return ::dbtool::sdk::init_plugin(host_abi, host, out, error, __VA_ARGS__);                       \
  }
