// EnvFirstConfig: config entries yield to the environment.
#include "cli/config_file.hpp"

#include <cstdlib>

namespace dbtool {

namespace {

// The option a config entry sets ([section] name=value), or nullptr when there is none (CLI11
// then reports the entry as it always does).
const CLI::Option* option_of(const CLI::App& app, const CLI::ConfigItem& item) {
  const CLI::App* scope = &app;
  for (const auto& section : item.parents) {
    if (section == "default") continue;
    auto found = scope->get_subcommands([&](const CLI::App* sub) { return sub->get_name() == section; });
    if (found.empty()) return nullptr;
    scope = found.front();
  }
  for (const std::string& name : {"--" + item.name, "-" + item.name, item.name})
    if (const CLI::Option* o = scope->get_option_no_throw(name)) return o;
  return nullptr;
}

}  // namespace

std::vector<CLI::ConfigItem> EnvFirstConfig::from_config(std::istream& input) const {
  std::vector<CLI::ConfigItem> items = CLI::ConfigTOML::from_config(input);
  std::vector<CLI::ConfigItem> kept;
  for (auto& item : items) {
    const CLI::Option* o = option_of(app_, item);
    if (o != nullptr && !o->get_envname().empty()) {
      const char* env = std::getenv(o->get_envname().c_str());
      if (env != nullptr && *env != '\0') continue;
    }
    kept.push_back(std::move(item));
  }
  return kept;
}

}  // namespace dbtool
