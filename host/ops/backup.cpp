// make_backup: the one path every automatic and explicit backup takes.
#include "ops/backup.hpp"

#include "plugins/host_services.hpp"
#include "util/environment.hpp"
#include "util/error.hpp"
#include "util/fault.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace dbtool {
namespace fs = std::filesystem;
namespace json = boost::json;

namespace {

constexpr const char* kPartialMark = ".partial-";

// Flushes a file or a folder (its entries) to disk.
void fsync_file(const fs::path& p) {
  int fd = ::open(p.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) throw Error("cannot open " + p.string() + " to flush it: " + std::strerror(errno));
  int rc = ::fsync(fd);
  int err = errno;
  ::close(fd);
  if (rc != 0) throw Error("cannot flush " + p.string() + " to disk: " + std::strerror(err));
}

// Partial backups of killed runs (".<name>.partial-<pid>" whose process is gone) are removed;
// those of a live process, maybe another run's backup in progress, are left alone.
void remove_stale_partials(const fs::path& folder) {
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(folder, ec)) {
    const std::string name = e.path().filename().string();
    size_t at = name.rfind(kPartialMark);
    if (name.empty() || name[0] != '.' || at == std::string::npos) continue;
    const std::string pid = name.substr(at + std::strlen(kPartialMark));
    if (pid.empty() || pid.find_first_not_of("0123456789") != std::string::npos) continue;
    if (::kill(static_cast<pid_t>(std::stol(pid)), 0) == 0 || errno != ESRCH) continue;
    log_info("removing " + e.path().string() + ", a backup an interrupted run did not finish");
    fs::remove(e.path(), ec);
  }
}

}  // namespace

WrittenBackup write_backup(BackendSession& session, const Target& target, const std::optional<fs::path>& dir) {
  json::object d = session.describe();
  std::string ext = ".backup";
  if (auto* e = d.if_contains("backup_extension"); e && e->is_string()) ext = std::string(e->get_string());
  fs::path folder = backup_folder(target, dir);
  remove_stale_partials(folder);
  fs::path file = folder / (target.name + "-" + utc_stamp_compact() + ext);
  for (int i = 2; fs::exists(file); ++i)  // two backups in the same second
    file = folder / (target.name + "-" + utc_stamp_compact() + "-" + std::to_string(i) + ext);
  // Written under a hidden temporary name and renamed only once verified and on disk, so a
  // killed backup never leaves a file that looks like a real one.
  const fs::path partial = folder / ("." + file.filename().string() + kPartialMark + std::to_string(::getpid()));
  WrittenBackup w{partial, file, {}};
  try {
    w.report = session.backup(partial);
    struct stat st {};
    if (::stat(partial.c_str(), &st) != 0)
      throw Error(session.plugin().name + ": backup reported success but wrote no file at " + partial.string());
    if ((st.st_mode & 077) != 0 && chmod(partial.c_str(), 0600) != 0)
      throw Error("cannot make the backup " + partial.string() + " owner-only");
  } catch (...) {
    std::error_code ec;
    fs::remove(partial, ec);
    throw;
  }
  return w;
}

BackupResult place_backup(const WrittenBackup& w) {
  try {
    fsync_file(w.partial);
    fault_point("backup-written");
    if (::rename(w.partial.c_str(), w.file.c_str()) != 0)
      throw Error("cannot rename the backup into place as " + w.file.string() + ": " + std::strerror(errno));
  } catch (...) {
    std::error_code ec;
    fs::remove(w.partial, ec);
    throw;
  }
  fsync_file(w.file.parent_path());
  return {w.file, w.report};
}

BackupResult make_backup(BackendSession& session, const Target& target, const std::optional<fs::path>& dir) {
  return place_backup(write_backup(session, target, dir));
}

PlacingBackup::PlacingBackup(BackendSession& session, const Target& target, const std::optional<fs::path>& dir)
    : written_(write_backup(session, target, dir)),
      placed_(std::async(std::launch::async, [this] { return place_backup(written_); })) {}

BackupResult PlacingBackup::wait() { return placed_.get(); }

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
