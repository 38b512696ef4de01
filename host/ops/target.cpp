// Target resolution: one place that knows how --db and --backend combine.
#include "ops/target.hpp"

#include "plugins/backend.hpp"
#include "util/environment.hpp"
#include "util/error.hpp"
#include "util/private_file.hpp"

namespace dbtool {
namespace fs = std::filesystem;

boost::json::object Target::open_options(bool create) const {
  boost::json::object o;
  o["uri"] = uri;
  o["create"] = create;
  if (password) o["password"] = *password;
  return o;
}

Target resolve_target(const PluginRegistry& plugins, const std::string& backend, const std::string& db,
                      const std::vector<std::string>& password_env) {
  refuse_credentials_in_uri(db, "--db", "set " + password_env.front() + ", or put it in .env, or type it when asked",
                            false);
  // The scheme picks the backend; everything after it is the backend's to read.
  const size_t sep = db.find("://");
  const std::string scheme = sep == std::string::npos ? "" : db.substr(0, sep);
  const LoadedPlugin* owner = scheme.empty() ? nullptr : plugins.backend_for_scheme(scheme);
  if (!scheme.empty() && owner == nullptr) owner = &plugins.get(scheme, DBTOOL_KIND_BACKEND);  // throws, listing them
  const std::string name = !backend.empty() ? backend : owner != nullptr ? owner->name : "sqlite";

  Target t;
  t.plugin = &plugins.get(name, DBTOOL_KIND_BACKEND);
  if (owner != nullptr && owner != t.plugin)
    throw Error("--backend " + name + " does not match the database URI scheme \"" + scheme + "://\"",
                ExitCode::kUsage);
  std::string given = db;
  if (given.empty()) {
    if (name != "sqlite") throw Error("the " + name + " backend needs --db " + name + "://...", ExitCode::kUsage);
    given = kDefaultSqlitePath;
  }
  UriFacts facts = describe_uri(*t.plugin, given);
  t.uri = facts.uri;
  t.display = facts.location;
  t.file = facts.file;
  t.name = facts.name;
  if (facts.password != UriFacts::Password::kNone)
    t.password =
        find_secret(password_env, "Password for " + facts.location, facts.password == UriFacts::Password::kRequired);
  return t;
}

fs::path backup_folder(const Target& target, const std::optional<fs::path>& dir) {
  fs::path folder = dir           ? fs::absolute(*dir)
                    : target.file ? target.file->parent_path() / "backups"
                                  : fs::absolute("backups");
  // A folder the operator named keeps its permissions; the default one is made owner-only.
  return private_folder(folder, "backup folder", !dir);
}

}  // namespace dbtool
