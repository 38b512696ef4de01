// The config file (dbtool.ini) in its documented place among the sources of an option:
// command line > environment > config file > defaults.
#pragma once

#include <CLI/CLI.hpp>

namespace dbtool {

// CLI11 reads the config file before it looks at the environment, so a value in dbtool.ini
// would beat DBTOOL_DB. This reader drops every config entry whose option has an environment
// variable that is set, leaving the environment to fill it. `app` must outlive the reader.
class EnvFirstConfig : public CLI::ConfigTOML {
 public:
  explicit EnvFirstConfig(const CLI::App& app) : app_(app) {}
  std::vector<CLI::ConfigItem> from_config(std::istream& input) const override;

 private:
  const CLI::App& app_;
};

}  // namespace dbtool
