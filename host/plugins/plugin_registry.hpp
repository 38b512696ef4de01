// Finding, loading and checking plugins. A plugin is loaded once by absolute path with
// Boost.DLL (RTLD_NOW | RTLD_LOCAL), its ABI negotiated, its required slots checked, and it
// stays loaded until the process ends (Boost.DLL has no safe unload while handles live).
#pragma once

#include <dbtool/plugin.h>

#include <cstddef>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace dbtool {

struct LoadedPlugin {
  std::filesystem::path path;
  std::string name;
  std::string version;
  std::string description;
  uint32_t kind = 0;
  uint32_t abi_version = 0;
  uint64_t capabilities = 0;
  const dbtool_backend_api* backend = nullptr;
  const dbtool_source_api* source = nullptr;
  std::vector<std::string> uri_schemes;  // a backend's URI schemes: its name, then its aliases (1.2)

  std::string_view kind_name() const;
  std::vector<std::string> capability_names() const;
};

// The folders searched, in order: --plugin-dir, each entry of DBTOOL_PLUGIN_PATH (':'-separated),
// then lib/dbtool/plugins beside the binary (the install layout, mirrored by the build tree).
std::vector<std::filesystem::path> plugin_search_path(const std::optional<std::filesystem::path>& plugin_dir);

// Loads one plugin file. Throws dbtool::Error naming the file on any problem: not loadable,
// no entry symbol, ABI major mismatch (with both versions), missing required slots.
LoadedPlugin load_plugin(const std::filesystem::path& file);

struct PluginProblem {
  std::filesystem::path path;
  std::string message;
};

class PluginRegistry {
 public:
  // Loads every *.so in the folders; a name found in an earlier folder wins. Files that fail
  // to load are kept as problems (reported by `dbtool plugins`), never fatal here.
  static PluginRegistry discover(const std::vector<std::filesystem::path>& folders);

  const std::vector<LoadedPlugin>& plugins() const { return plugins_; }
  const std::vector<PluginProblem>& problems() const { return problems_; }

  // The plugin of that name and kind; throws dbtool::Error listing what is available and any
  // load problems that may explain its absence.
  const LoadedPlugin& get(std::string_view name, uint32_t kind) const;
  // The backend that owns URI scheme `scheme` (its name or one of its uri_schemes), or NULL.
  const LoadedPlugin* backend_for_scheme(std::string_view scheme) const;

 private:
  std::vector<LoadedPlugin> plugins_;
  std::vector<PluginProblem> problems_;
  std::vector<std::filesystem::path> folders_;
};

}  // namespace dbtool
