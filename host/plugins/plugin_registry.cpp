// Plugin discovery and loading through Boost.DLL, with ABI negotiation and slot checks.
#include "plugins/plugin_registry.hpp"

#include "plugins/host_services.hpp"
#include "plugins/plugin_error.hpp"
#include "util/error.hpp"

#include <boost/dll/runtime_symbol_info.hpp>
#include <boost/dll/shared_library.hpp>

#include <algorithm>
#include <cstdlib>
#include <memory>
#include <set>
#include <type_traits>

namespace dbtool {
namespace fs = std::filesystem;

namespace {

std::string abi_string(uint32_t v) {
  return std::to_string(DBTOOL_ABI_MAJOR_OF(v)) + "." + std::to_string(DBTOOL_ABI_MINOR_OF(v));
}

// Libraries stay loaded for the life of the process; never destroyed, on purpose, so no
// static destructor can unload code a plugin handle still points into.
std::vector<boost::dll::shared_library>& keep_loaded() {
  static auto* libs = new std::vector<boost::dll::shared_library>();
  return *libs;
}

void check_backend_slots(const fs::path& file, const dbtool_backend_api* api) {
  std::vector<std::string> missing;
#define DBTOOL_REQUIRE(slot) \
  if (!DBTOOL_HAS_SLOT(api, slot)) missing.push_back(#slot)
  DBTOOL_REQUIRE(open);
  DBTOOL_REQUIRE(close);
  DBTOOL_REQUIRE(describe);
  DBTOOL_REQUIRE(read_table);
  DBTOOL_REQUIRE(stage_begin);
  DBTOOL_REQUIRE(stage_load);
  DBTOOL_REQUIRE(stage_count);
  DBTOOL_REQUIRE(stage_commit);
  DBTOOL_REQUIRE(stage_abort);
#undef DBTOOL_REQUIRE
  if (!missing.empty()) {
    std::string list;
    for (const auto& m : missing) list += (list.empty() ? "" : ", ") + m;
    throw Error(file.string() + ": backend lacks required functions: " + list);
  }
}

}  // namespace

std::string_view LoadedPlugin::kind_name() const {
  return kind == DBTOOL_KIND_BACKEND ? "backend" : kind == DBTOOL_KIND_SOURCE ? "source" : "unknown";
}

std::vector<std::string> LoadedPlugin::capability_names() const {
  static const std::pair<uint64_t, const char*> names[] = {{DBTOOL_CAP_BACKUP, "backup"},
                                                           {DBTOOL_CAP_RESTORE, "restore"},
                                                           {DBTOOL_CAP_ATOMIC_CUTOVER, "atomic-cutover"},
                                                           {DBTOOL_CAP_CREATE_DATABASE, "create-database"},
                                                           {DBTOOL_CAP_CANCEL, "cancel"},
                                                           {DBTOOL_CAP_READ, "read"},
                                                           {DBTOOL_CAP_HOST_GUARANTEED_KEYS, "host-guaranteed-keys"},
                                                           {DBTOOL_CAP_CONCURRENT_LOAD, "concurrent-load"},
                                                           {DBTOOL_CAP_NETWORK, "network"},
                                                           {DBTOOL_CAP_CACHEABLE, "cacheable"}};
  std::vector<std::string> out;
  for (const auto& [bit, name] : names)
    if (capabilities & bit) out.emplace_back(name);
  return out;
}

std::vector<fs::path> plugin_search_path(const std::optional<fs::path>& plugin_dir) {
  std::vector<fs::path> out;
  if (plugin_dir) out.push_back(fs::absolute(*plugin_dir));
  if (const char* env = std::getenv("DBTOOL_PLUGIN_PATH")) {
    std::string_view rest(env);
    while (!rest.empty()) {
      size_t colon = rest.find(':');
      std::string_view part = rest.substr(0, colon);
      if (!part.empty()) out.push_back(fs::absolute(fs::path(std::string(part))));
      rest = colon == std::string_view::npos ? std::string_view() : rest.substr(colon + 1);
    }
  }
  fs::path exe = boost::dll::program_location().parent_path().string();
  out.push_back((exe / ".." / "lib" / "dbtool" / "plugins").lexically_normal());
  return out;
}

LoadedPlugin load_plugin(const fs::path& file_in) {
  const fs::path file = fs::absolute(file_in).lexically_normal();
  boost::dll::shared_library lib;
  try {
    lib.load(boost::dll::fs::path(file.string()), boost::dll::load_mode::rtld_now | boost::dll::load_mode::rtld_local);
  } catch (const std::exception& e) {
    throw Error(file.string() + ": cannot load: " + e.what());
  }
  if (!lib.has(DBTOOL_PLUGIN_ENTRY_SYMBOL))
    throw Error(file.string() + ": not a dbtool plugin (no " DBTOOL_PLUGIN_ENTRY_SYMBOL " symbol)");
  auto& init = lib.get<std::remove_pointer_t<dbtool_plugin_init_fn>>(DBTOOL_PLUGIN_ENTRY_SYMBOL);

  dbtool_plugin desc{};
  desc.struct_size = sizeof(desc);
  PluginErrorHolder err;
  dbtool_status st = init(DBTOOL_ABI_VERSION, host_services(), &desc, &err.e);
  const uint32_t plugin_major = DBTOOL_ABI_MAJOR_OF(desc.abi_version);
  if (st == DBTOOL_ERR_INCOMPATIBLE || (desc.abi_version != 0 && plugin_major != DBTOOL_ABI_VERSION_MAJOR))
    throw Error(file.string() + ": incompatible plugin ABI: the plugin" +
                (desc.name ? std::string(" \"") + desc.name + "\"" : std::string()) + " speaks ABI " +
                abi_string(desc.abi_version) + ", this dbtool speaks ABI " + abi_string(DBTOOL_ABI_VERSION) +
                " (the major versions must match)");
  if (st != DBTOOL_OK) throw Error(file.string() + ": plugin init failed: " + err.message_or("no message"));
  if (desc.name == nullptr || desc.version == nullptr)
    throw Error(file.string() + ": plugin did not fill its name and version");

  LoadedPlugin p;
  p.path = file;
  p.name = desc.name;
  p.version = desc.version;
  p.description = desc.description ? desc.description : "";
  p.kind = desc.kind;
  p.abi_version = desc.abi_version;
  p.capabilities = desc.capabilities;
  if (desc.kind == DBTOOL_KIND_BACKEND) {
    check_backend_slots(file, desc.backend);
    p.backend = desc.backend;
    p.uri_schemes.push_back(p.name);
    // A plugin older than 1.2 left the field as the host zeroed it.
    for (const char* const* alias = desc.uri_schemes; alias != nullptr && *alias != nullptr; ++alias)
      p.uri_schemes.emplace_back(*alias);
  } else if (desc.kind == DBTOOL_KIND_SOURCE) {
    if (!DBTOOL_HAS_SLOT(desc.source, fetch)) throw Error(file.string() + ": source lacks the required function fetch");
    p.source = desc.source;
  } else {
    throw Error(file.string() + ": unknown plugin kind " + std::to_string(desc.kind));
  }
  keep_loaded().push_back(std::move(lib));
  return p;
}

PluginRegistry PluginRegistry::discover(const std::vector<fs::path>& folders) {
  PluginRegistry r;
  r.folders_ = folders;
  std::set<fs::path> seen_files;
  for (const auto& folder : folders) {
    std::error_code ec;
    if (!fs::is_directory(folder, ec)) continue;
    std::vector<fs::path> files;
    for (const auto& entry : fs::directory_iterator(folder, ec))
      if (entry.is_regular_file() && entry.path().extension() == ".so") files.push_back(entry.path());
    std::sort(files.begin(), files.end());
    for (const auto& f : files) {
      fs::path canonical = fs::weakly_canonical(f, ec);
      if (!seen_files.insert(canonical).second) continue;
      try {
        LoadedPlugin p = load_plugin(f);
        bool shadowed =
            std::any_of(r.plugins_.begin(), r.plugins_.end(), [&](const LoadedPlugin& q) { return q.name == p.name; });
        if (shadowed) {
          log_debug("plugin " + p.name + " at " + f.string() + " is shadowed by an earlier folder");
          continue;
        }
        r.plugins_.push_back(std::move(p));
      } catch (const Error& e) {
        r.problems_.push_back({f, e.what()});
      }
    }
  }
  return r;
}

const LoadedPlugin& PluginRegistry::get(std::string_view name, uint32_t kind) const {
  for (const auto& p : plugins_)
    if (p.name == name && p.kind == kind) return p;
  std::string kind_word = kind == DBTOOL_KIND_BACKEND ? "backend" : "source";
  std::string msg = "no " + kind_word + " plugin named \"" + std::string(name) + "\"";
  std::string avail;
  for (const auto& p : plugins_)
    if (p.kind == kind) avail += (avail.empty() ? "" : ", ") + p.name;
  msg += avail.empty() ? "; none found" : "; available: " + avail;
  std::string where;
  for (const auto& f : folders_) where += (where.empty() ? "" : ", ") + f.string();
  msg += " (searched: " + where + ")";
  for (const auto& pr : problems_) msg += "\n  could not load " + pr.message;
  throw Error(msg, ExitCode::kUsage);
}

const LoadedPlugin* PluginRegistry::backend_for_scheme(std::string_view scheme) const {
  for (const auto& p : plugins_)
    if (p.kind == DBTOOL_KIND_BACKEND && p.name == scheme) return &p;
  for (const auto& p : plugins_)
    if (p.kind == DBTOOL_KIND_BACKEND &&
        std::find(p.uri_schemes.begin(), p.uri_schemes.end(), scheme) != p.uri_schemes.end())
      return &p;
  return nullptr;
}

}  // namespace dbtool
