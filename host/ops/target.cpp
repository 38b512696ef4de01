// Target resolution: one place that knows how --db and --backend combine.
#include "ops/target.hpp"

#include "util/environment.hpp"
#include "util/error.hpp"
#include "util/private_file.hpp"

#include <sys/stat.h>

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
  refuse_credentials_in_uri(db, "--db", "set " + password_env.front() + ", or put it in .env, or type it when asked", false);
  std::string scheme;
  std::string rest;
  if (size_t p = db.find("://"); p != std::string::npos) {
    scheme = db.substr(0, p);
    rest = db.substr(p + 3);
  }
  if (scheme == "mariadb") scheme = "mysql";
  if (scheme == "postgres") scheme = "postgresql";
  std::string name = backend.empty() ? (scheme.empty() ? "sqlite" : scheme) : backend;
  if (!scheme.empty() && scheme != name)
    throw Error("--backend " + name + " does not match the database URI scheme \"" + scheme + "://\"",
                ExitCode::kUsage);

  Target t;
  t.plugin = &plugins.get(name, DBTOOL_KIND_BACKEND);
  if (scheme.empty() || scheme == "sqlite") {
    if (name != "sqlite" && scheme.empty() && !db.empty())
      throw Error("--db for the " + name + " backend must be a URI (" + name + "://...)", ExitCode::kUsage);
    if (name != "sqlite" && db.empty())
      throw Error("the " + name + " backend needs --db " + name + "://USER@HOST:PORT/DB", ExitCode::kUsage);
    // sqlite:///relative.db and sqlite:////absolute.db, as SQLAlchemy writes them.
    std::string path = db.empty() ? kDefaultSqlitePath : scheme.empty() ? db : rest;
    if (!scheme.empty()) {
      if (path.empty() || path[0] != '/')
        throw Error("a SQLite URI is sqlite:///PATH (three slashes), got " + db, ExitCode::kUsage);
      path = path.substr(1);
    }
    if (path.empty()) throw Error("empty SQLite database path", ExitCode::kUsage);
    fs::path abs = fs::absolute(path).lexically_normal();
    // A link is resolved, so the lock, the stage and the swap all act on the real database
    // (a rename over the link would replace the link and leave the data behind it as it was).
    std::error_code ec;
    if (fs::is_symlink(abs, ec)) {
      fs::path real = fs::canonical(abs, ec);
      if (ec)
        throw Error("--db " + abs.string() + " is a symbolic link to nothing; give the database's real path",
                    ExitCode::kUsage);
      abs = real;
    } else {
      abs = fs::weakly_canonical(abs, ec);
      if (ec) throw Error("cannot resolve --db " + path + ": " + ec.message(), ExitCode::kUsage);
    }
    t.file = abs;
    t.uri = "sqlite:///" + abs.string();
    t.display = abs.string();
    t.name = abs.stem().string();
    return t;
  }
  t.uri = db;
  t.display = db;
  std::string path = rest.substr(rest.find('/') == std::string::npos ? rest.size() : rest.find('/') + 1);
  path = path.substr(0, path.find('?'));
  if (path.empty()) throw Error("the URI names no database: " + db, ExitCode::kUsage);
  // A backend of files (a third party's "NAME:///folder/app.db") names its backups after the
  // file, never with the folders in it.
  t.name = fs::path(path).stem().string();
  if (t.name.empty()) t.name = path;
  bool has_user = rest.find('@') != std::string::npos;
  t.password = find_secret(password_env, "Password for " + db, has_user);
  return t;
}

fs::path backup_folder(const Target& target, const std::optional<fs::path>& dir) {
  fs::path folder = dir ? fs::absolute(*dir)
                        : target.file ? target.file->parent_path() / "backups"
                                      : fs::absolute("backups");
  // A folder the operator named keeps its permissions; the default one is made owner-only.
  return private_folder(folder, "backup folder", !dir);
}

}  // namespace dbtool
