// `dbtool plugins`: what was found, what works, and why the rest does not.
#include "cli/common.hpp"

#include <algorithm>
#include <array>
#include <cstdio>
#include <vector>

namespace dbtool {
namespace json = boost::json;

void add_plugins_command(CLI::App& app, GlobalOptions& g) {
  auto* cmd = app.add_subcommand("plugins", "List the backend and source plugins that load and work");
  static bool as_json = false;
  cmd->add_flag_function(
      "--json",
      [](int64_t n) {
        as_json = n > 0;
        set_json_output(as_json);
      },
      "Print {\"format\": 1, \"ok\": true, \"plugins\": [{name, kind, version, abi, capabilities, path}], "
      "\"problems\": [...]}");
  cmd->footer(
      "Plugins are searched in --plugin-dir, then DBTOOL_PLUGIN_PATH (':'-separated), then\n"
      "lib/dbtool/plugins beside the binary. Files that fail to load are listed on stderr.");
  cmd->callback([&g] {
    PluginRegistry reg = load_plugins(g);
    if (as_json) {
      json::array out;
      for (const auto& p : reg.plugins()) {
        json::array caps;
        for (const auto& c : p.capability_names()) caps.push_back(json::value(c));
        out.push_back(json::object{{"name", p.name},
                                   {"kind", std::string(p.kind_name())},
                                   {"version", p.version},
                                   {"abi", std::to_string(DBTOOL_ABI_MAJOR_OF(p.abi_version)) + "." +
                                               std::to_string(DBTOOL_ABI_MINOR_OF(p.abi_version))},
                                   {"capabilities", std::move(caps)},
                                   {"description", p.description},
                                   {"path", p.path.string()}});
      }
      json::array problems;
      for (const auto& pr : reg.problems()) problems.push_back(json::value(pr.message));
      print_json(json::object{{"plugins", std::move(out)}, {"problems", std::move(problems)}});
    } else {
      // Columns as wide as their widest cell, so a long name or capability list stays aligned.
      std::vector<std::array<std::string, 6>> rows = {{"NAME", "KIND", "VERSION", "ABI", "CAPABILITIES", "PATH"}};
      for (const auto& p : reg.plugins()) {
        std::string caps;
        for (const auto& c : p.capability_names()) caps += (caps.empty() ? "" : ",") + c;
        rows.push_back({p.name, std::string(p.kind_name()), p.version,
                        std::to_string(DBTOOL_ABI_MAJOR_OF(p.abi_version)) + "." +
                            std::to_string(DBTOOL_ABI_MINOR_OF(p.abi_version)),
                        caps.empty() ? "-" : caps, p.path.string()});
      }
      std::array<size_t, 6> width{};
      for (const auto& r : rows)
        for (size_t i = 0; i < r.size(); ++i) width[i] = std::max(width[i], r[i].size());
      for (const auto& r : rows) {
        std::string line;
        for (size_t i = 0; i + 1 < r.size(); ++i) line += r[i] + std::string(width[i] - r[i].size() + 2, ' ');
        std::printf("%s%s\n", line.c_str(), r.back().c_str());
      }
      if (reg.plugins().empty()) std::printf("(no plugins found)\n");
    }
    for (const auto& pr : reg.problems()) std::fprintf(stderr, "warning: skipped %s\n", pr.message.c_str());
  });
}

}  // namespace dbtool
