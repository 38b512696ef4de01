// The database a command works on: which backend, which URI, where its backups go.
#pragma once

#include "plugins/plugin_registry.hpp"

#include <boost/json.hpp>

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace dbtool {

inline constexpr const char* kDefaultSqlitePath = "instance/volumes/user_management.db";

struct Target {
  const LoadedPlugin* plugin = nullptr;
  std::string uri;                            // as given to the backend (no password in it)
  std::string display;                        // for messages: redacted
  std::optional<std::filesystem::path> file;  // for file databases (sqlite)
  std::string name;                           // short name for backup files ("user_management")
  std::optional<std::string> password;

  boost::json::object open_options(bool create) const;
};

// Resolves --backend and --db. The URI's scheme (or --backend, or else sqlite) picks the
// backend, which reads the rest (describe_uri): a path or "sqlite:///PATH" for SQLite,
// "mysql://USER@HOST:PORT/DB", ... Without --db, SQLite at kDefaultSqlitePath.
// Throws dbtool::Error(kUsage) for contradictions (--backend mysql with a SQLite path), URIs the
// backend refuses and passwords written into the URI. A server database's password comes from the first set
// variable of `password_env` (also read from .env), else a no-echo prompt.
Target resolve_target(const PluginRegistry& plugins, const std::string& backend, const std::string& db,
                      const std::vector<std::string>& password_env = {"DBTOOL_DB_PASSWORD", "MYSQL_PWD"});

// Where backups of `target` go: --backup-dir, else backups/ beside a database file, else
// ./backups. Created with mode 0700.
std::filesystem::path backup_folder(const Target& target, const std::optional<std::filesystem::path>& dir);

}  // namespace dbtool
