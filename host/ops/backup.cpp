// make_backup: the one path every automatic and explicit backup takes.
#include "ops/backup.hpp"

#include "util/environment.hpp"
#include "util/error.hpp"

#include <sys/stat.h>

namespace dbtool {
namespace fs = std::filesystem;
namespace json = boost::json;

BackupResult make_backup(BackendSession& session, const Target& target, const std::optional<fs::path>& dir) {
  json::object d = session.describe();
  std::string ext = ".backup";
  if (auto* e = d.if_contains("backup_extension"); e && e->is_string()) ext = std::string(e->get_string());
  fs::path folder = backup_folder(target, dir);
  fs::path file = folder / (target.name + "-" + utc_stamp_compact() + ext);
  for (int i = 2; fs::exists(file); ++i)  // two backups in the same second
    file = folder / (target.name + "-" + utc_stamp_compact() + "-" + std::to_string(i) + ext);
  BackupResult r;
  r.report = session.backup(file);
  struct stat st {};
  if (::stat(file.c_str(), &st) != 0)
    throw Error(session.plugin().name + ": backup reported success but wrote no file at " + file.string());
  if ((st.st_mode & 077) != 0 && chmod(file.c_str(), 0600) != 0)
    throw Error("cannot make the backup " + file.string() + " owner-only");
  r.path = file;
  return r;
}

int64_t total_rows(const json::object& description) {
  int64_t n = 0;
  if (auto* t = description.if_contains("tables"); t && t->is_array())
    for (const auto& row : t->get_array())
      if (auto* r = row.as_object().if_contains("rows"); r && r->is_int64()) n += r->get_int64();
  return n;
}

bool holds_tables(const json::object& description) {
  auto* t = description.if_contains("tables");
  return t && t->is_array() && !t->get_array().empty();
}

std::string table_listing(const json::object& description) {
  std::string out;
  if (auto* t = description.if_contains("tables"); t && t->is_array())
    for (const auto& row : t->get_array()) {
      const auto& o = row.as_object();
      out += "  " + std::string(o.at("name").as_string()) + " (" +
             std::to_string(o.if_contains("rows") ? o.at("rows").to_number<int64_t>() : 0) + " rows)\n";
    }
  return out;
}

}  // namespace dbtool
