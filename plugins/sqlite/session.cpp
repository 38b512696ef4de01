// Sessions on a SQLite file: the advisory lock, describe, backup (the file's bytes under a read
// lock, or the backup API in WAL mode) and restore, reading tables back as Arrow streams, cancel.
#include "sqlite_backend.hpp"

#include <dbtool/sdk/digest.hpp>

#include <boost/json.hpp>

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <random>
#include <vector>

namespace dbtool::sqlite {
namespace fs = std::filesystem;
namespace json = boost::json;
using sdk::Failure;

namespace {

fs::path path_from_uri(const std::string& uri) {
  const std::string scheme = "sqlite:///";
  if (uri.rfind("sqlite://", 0) == 0) {
    if (uri.rfind(scheme, 0) != 0)
      throw Failure(DBTOOL_ERR_INVALID_ARGUMENT, "a SQLite URI is sqlite:///PATH (three slashes): " + uri);
    std::string rest = uri.substr(scheme.size());  // "rel.db" or "/abs.db"
    if (rest.empty()) throw Failure(DBTOOL_ERR_INVALID_ARGUMENT, "the SQLite URI names no file");
    return fs::path(rest);
  }
  if (uri.find("://") != std::string::npos) throw Failure(DBTOOL_ERR_INVALID_ARGUMENT, "not a SQLite URI: " + uri);
  if (uri.empty()) throw Failure(DBTOOL_ERR_INVALID_ARGUMENT, "no database path given");
  return fs::path(uri);
}

// The database file a URI names: absolute, with a symbolic link resolved, so that the lock, the
// stage and the swap all act on the real database (a rename over the link would replace the
// link and leave the data behind it as it was).
fs::path database_file(const std::string& uri) {
  fs::path path = fs::absolute(path_from_uri(uri)).lexically_normal();
  std::error_code ec;
  if (fs::is_symlink(path, ec)) {
    fs::path real = fs::canonical(path, ec);
    if (ec)
      throw Failure(DBTOOL_ERR_INVALID_ARGUMENT,
                    path.string() + " is a symbolic link to nothing; give the database's real path");
    return real;
  }
  fs::path resolved = fs::weakly_canonical(path, ec);
  if (ec) throw Failure(DBTOOL_ERR_INVALID_ARGUMENT, "cannot resolve " + path.string() + ": " + ec.message());
  return resolved;
}

void open_target(dbtool_session* s) {
  std::error_code ec;
  if (!fs::exists(s->path, ec)) return;
  s->db = Connection(s->path, s->read_only ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE);
  // Fails early, and clearly, on a file that is not a SQLite database.
  s->db.scalar_int("SELECT count(*) FROM sqlite_master");
}

// A read transaction on `db` for the life of the object (none when one is already open there,
// which then covers this use too): every read in it sees one snapshot.
class ReadTransaction {
 public:
  ReadTransaction(sqlite3* db, const std::string& what) : db_(db) {
    if (sqlite3_get_autocommit(db) == 0) return;
    int rc = sqlite3_exec(db, "BEGIN; SELECT count(*) FROM sqlite_master", nullptr, nullptr, nullptr);
    if (rc != SQLITE_OK) {
      sqlite3_exec(db, "ROLLBACK", nullptr, nullptr, nullptr);
      fail(db, rc, what + ": cannot start a read transaction");
    }
    owned_ = true;
  }
  ~ReadTransaction() {
    if (owned_) sqlite3_exec(db_, "COMMIT", nullptr, nullptr, nullptr);
  }
  ReadTransaction(const ReadTransaction&) = delete;
  ReadTransaction& operator=(const ReadTransaction&) = delete;

 private:
  sqlite3* db_;
  bool owned_ = false;
};

// Copies every page of `from` into `to` with the online backup API, reporting progress. The
// copy runs inside one read transaction on `from`: the backup then sees one snapshot and never
// restarts because another connection wrote (which it otherwise does at every step, so under a
// busy writer it would never finish). In WAL mode writers go on meanwhile; with a rollback
// journal they wait for the copy (their busy timeout), as for any reader.
void copy_pages(sqlite3* from, sqlite3* to, BusyConnection& busy, const std::string& what) {
  ReadTransaction read(from, what);
  sqlite3_backup* b = sqlite3_backup_init(to, "main", from, "main");
  if (b == nullptr) fail(to, sqlite3_errcode(to), what);
  busy = from;
  int rc;
  do {
    rc = sqlite3_backup_step(b, 1024);
    sdk::progress(what.c_str(), sqlite3_backup_pagecount(b) - sqlite3_backup_remaining(b), sqlite3_backup_pagecount(b));
    if (cancelled()) {
      sqlite3_backup_finish(b);
      busy = nullptr;
      throw Failure(DBTOOL_ERR_CANCELLED, what + ": cancelled");
    }
    if (rc == SQLITE_BUSY || rc == SQLITE_LOCKED) sqlite3_sleep(50);
  } while (rc == SQLITE_OK || rc == SQLITE_BUSY || rc == SQLITE_LOCKED);
  busy = nullptr;
  sqlite3_backup_finish(b);
  if (rc != SQLITE_DONE) fail(to, rc, what);
}

// Copies the database file's bytes, as they stand in the read transaction open on `from`, to
// the empty file `out` (named `to`) — when the file alone is that snapshot: a rollback-journal
// database (the header's format bytes say legacy, not WAL), where no one can change the file
// while a reader holds its shared lock (a hot journal was rolled back when the transaction
// began). Much faster than the backup API, which moves every page through two pagers, and
// the copy is the file byte for byte. The bytes are read through SQLite's own file handle: a
// second descriptor on the file would, once closed, drop this process's POSIX locks on it,
// SQLite's shared lock among them. Returns false, having written nothing, when the file is in
// WAL mode (the snapshot is the file plus part of the WAL) or is not a file (no file handle).
bool copy_file_snapshot(sqlite3* from, int out, const fs::path& to, const std::string& what) {
  sqlite3_file* file = nullptr;
  if (sqlite3_file_control(from, "main", SQLITE_FCNTL_FILE_POINTER, &file) != SQLITE_OK || file == nullptr ||
      file->pMethods == nullptr)
    return false;
  unsigned char header[100];
  int rc = file->pMethods->xRead(file, header, sizeof header, 0);
  if (rc != SQLITE_OK || header[18] != 1 || header[19] != 1) return false;
  sqlite3_int64 total = 0;
  if ((rc = file->pMethods->xFileSize(file, &total)) != SQLITE_OK) fail(from, rc, what + ": cannot read the file size");
  std::vector<char> buffer(1 << 20);
  for (sqlite3_int64 done = 0; done < total;) {
    const int n = static_cast<int>(std::min<sqlite3_int64>(total - done, static_cast<sqlite3_int64>(buffer.size())));
    if ((rc = file->pMethods->xRead(file, buffer.data(), n, done)) != SQLITE_OK)
      throw Failure(DBTOOL_ERR_IO, what + ": cannot read the database at byte " + std::to_string(done) +
                                       (rc == SQLITE_IOERR_SHORT_READ ? ": the file ended early" : ""));
    for (ssize_t w = 0, k; w < n; w += k)
      if ((k = ::pwrite(out, buffer.data() + w, static_cast<size_t>(n - w), done + w)) < 0) {
        const int err = errno;
        throw Failure(DBTOOL_ERR_IO, what + ": cannot write " + to.string() + ": " + std::strerror(err) +
                                         (err == ENOSPC || err == EFBIG || err == EDQUOT
                                              ? " (is the disk full, or a quota or file size limit reached?)"
                                              : ""));
      }
    done += n;
    sdk::progress(what.c_str(), done, total);
    if (cancelled()) throw Failure(DBTOOL_ERR_CANCELLED, what + ": cancelled");
  }
  return true;
}

// Marks a file as a backup made by dbtool (SQLite's header field for the application that owns
// a file format): restore refuses any database without it.
constexpr int64_t kBackupApplicationId = 0x64627462;  // "dbtb"

// Checks, before anything is done with it, that `file` looks like a complete backup made by
// `backup`: not empty, a SQLite database, as long as its header says, carrying dbtool's marker.
// Returns it opened read-only; its content is checked by check_backup_content.
Connection open_backup_file(const fs::path& file) {
  std::error_code ec;
  if (!fs::is_regular_file(file, ec)) throw Failure(DBTOOL_ERR_NOT_FOUND, "no backup file at " + file.string());
  const auto size = fs::file_size(file, ec);
  const std::string what = "the backup " + file.string();
  if (size == 0) throw Failure(DBTOOL_ERR_DATA, what + " is empty (0 bytes): not a backup");
  unsigned char h[100] = {};
  {
    std::ifstream in(file, std::ios::binary);
    in.read(reinterpret_cast<char*>(h), sizeof h);
    if (in.gcount() < static_cast<std::streamsize>(sizeof h) || std::memcmp(h, "SQLite format 3", 16) != 0)
      throw Failure(DBTOOL_ERR_DATA, what + " is not a SQLite database, so not a dbtool SQLite backup");
  }
  // The header's page size and page count (valid when the two version fields agree) say how
  // long a complete file is.
  const uint32_t page_size = h[16] << 8 | h[17];
  const uint32_t pages = static_cast<uint32_t>(h[28]) << 24 | h[29] << 16 | h[30] << 8 | h[31];
  const bool count_valid = std::memcmp(h + 24, h + 92, 4) == 0;
  const uint64_t expected = static_cast<uint64_t>(page_size == 1 ? 65536 : page_size) * pages;
  if (count_valid && pages > 0 && size < expected)
    throw Failure(DBTOOL_ERR_DATA,
                  what + " is truncated: " + std::to_string(size) + " bytes of " + std::to_string(expected));
  Connection c(file, SQLITE_OPEN_READONLY);
  if (c.scalar_int("PRAGMA application_id") != kBackupApplicationId)
    throw Failure(DBTOOL_ERR_DATA, what +
                                       " was not made by dbtool backup (it lacks dbtool's marker, "
                                       "PRAGMA application_id); refusing to restore an unknown database");
  return c;
}

// A write-ahead log or rollback journal beside `file`: SQLite reads the file through it, so the
// file's bytes alone are not what a check through SQLite saw.
bool has_sidecar(const fs::path& file) {
  std::error_code ec;
  return fs::exists(file.string() + "-wal", ec) || fs::exists(file.string() + "-journal", ec);
}

// Checks a sealed backup (manifest version 3) opened as `c`: its rows per table as its manifest
// recorded them, and its bytes those the seal recorded once the backup had passed its checks
// (quick_check or integrity_check, foreign keys, rows against the database's) — so it is that
// checked file, byte for byte, and is not checked again; `full` adds integrity_check here.
// Returns the seal.
Seal check_sealed_backup(Connection& c, const fs::path& file, const Manifest& manifest, bool full,
                         const std::string& what) {
  const Seal seal = read_seal(c, file, what);
  match_manifest(manifest.tables, count_tables(c), what);
  uint64_t bytes = 0;
  const auto hash = [&] { bytes = hash_file_bytes(file, what, seal.offset); };
  if (full)
    side_by_side(hash, [&] {
      Connection f(file, SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX);
      check_integrity(f, what, /*thorough=*/true);
    });
  else
    hash();
  require_sealed_bytes(bytes, seal, what);
  return seal;
}

// Checks the content of the backup `file` opened as `c`. A sealed backup: as check_sealed_backup
// says. An older manifest: sound (quick_check, or integrity_check when `full`) and holding the
// rows and digests its manifest recorded at backup time (with the digest version it names).
// Foreign keys were checked when the backup was made, and the digests prove these are those rows.
// A backup made before manifests existed gets the full check it always had. Returns the file's
// identity and the hash of its bytes (a sealed one's: the seal) when the file did not change
// while it was checked and SQLite read it alone (no journal or log beside it): what restore's
// copy is compared with. Else nullopt. `rows` receives each table's rows as checked.
std::optional<dbtool_session::CheckedBackup> check_backup_content(Connection& c, const fs::path& file, bool full,
                                                                  Contents& rows) {
  const std::string what = "the backup " + file.string();
  if (std::optional<Manifest> manifest = read_manifest(c)) {
    const FileIdentity before = identify(file);
    const bool alone = !has_sidecar(file);
    uint64_t bytes = 0;
    if (manifest->digest_version == kManifestSealed)
      bytes = check_sealed_backup(c, file, *manifest, full, what).value;
    else
      match_manifest(manifest->tables,
                     check_database_file(file, full, /*foreign_keys=*/false, what, manifest->digest_version, &bytes),
                     what);
    rows = manifest->tables;  // what the file was just found to hold
    if (alone && identify(file) == before && !has_sidecar(file))
      return dbtool_session::CheckedBackup{file, before, bytes};
  } else {
    log(DBTOOL_LOG_INFO, what + " has no manifest (made by an older dbtool): checking it in full");
    verify_database(c, what);
    rows = count_tables(c);
  }
  return std::nullopt;
}

// The marker, the manifest and the seal belong to the backup file, not to the database brought
// back.
void drop_backup_marks(Connection& c) {
  c.exec("DROP TABLE " + quote_identifier(kManifestTable) + "; DROP TABLE IF EXISTS " + quote_identifier(kSealTable) +
             "; PRAGMA application_id = 0",
         "restore");
}

std::string report_json(const fs::path& file, const json::array& tables) {
  json::object o;
  o["bytes"] = static_cast<int64_t>(fs::file_size(file));
  o["format"] = "sqlite3";
  o["tables"] = tables;
  return json::serialize(o);
}
std::string report_json(const fs::path& file, Connection& c) {
  return report_json(file, json::parse(tables_json(c)).as_array());
}

}  // namespace

fs::path new_stage_file(const fs::path& target) {
  std::random_device rd;
  for (int i = 0; i < 100; ++i) {
    fs::path p = target.parent_path() / ("." + target.filename().string() + ".dbtool-stage-" +
                                         std::to_string(::getpid()) + "-" + std::to_string(rd() % 1000000));
    int fd = ::open(p.c_str(), O_CREAT | O_EXCL | O_WRONLY, 0600);
    if (fd >= 0) {
      ::close(fd);
      return p;
    }
    if (errno != EEXIST)
      throw Failure(DBTOOL_ERR_IO,
                    "cannot create a new database beside " + target.string() + ": " + std::strerror(errno));
  }
  throw Failure(DBTOOL_ERR_IO, "cannot find a free name for a new database beside " + target.string());
}

int64_t target_version(dbtool_session* s) {
  if (!s->db) return -1;
  return s->db.scalar_int("PRAGMA data_version");
}

void swap_in(dbtool_session* s, const fs::path& stage) {
  // Writes another connection committed after the backup are in neither the backup nor the
  // new file: refuse before touching anything. data_version changes with every commit of any
  // other connection; a target that appeared since counts as changed too.
  if (s->baseline_version && !s->allow_concurrent_writes) {
    std::error_code ec;
    const bool changed = *s->baseline_version < 0 ? fs::exists(s->path, ec) : target_version(s) != *s->baseline_version;
    if (changed)
      throw Failure(DBTOOL_ERR_CONFLICT,
                    "the cut-over was refused: another program wrote to " + s->path.string() +
                        " after its backup was taken, and those writes would be lost; stop the application "
                        "and run again (or pass --allow-concurrent-writes to replace them anyway)");
  }
  // The new file takes the old one's permissions; a brand-new database stays owner-only.
  struct stat old {};
  if (::stat(s->path.c_str(), &old) == 0) ::chmod(stage.c_str(), old.st_mode & 07777);
  fsync_path(stage);
  // Our own connection must not keep the old file's WAL alive across the rename.
  if (s->db) {
    sqlite3_exec(s->db.get(), "PRAGMA wal_checkpoint(TRUNCATE)", nullptr, nullptr, nullptr);
    s->db.close();
  }
  if (::rename(stage.c_str(), s->path.c_str()) != 0) {
    int err = errno;
    open_target(s);
    throw Failure(DBTOOL_ERR_IO, "cannot rename the new database into place: " + std::string(std::strerror(err)));
  }
  fsync_path(s->path.parent_path());
  for (const char* suffix : {"-wal", "-shm", "-journal"}) {
    std::error_code ec;
    fs::remove(s->path.string() + suffix, ec);  // belonged to the old file, now replaced
  }
  s->baseline_version.reset();  // a new file: the next backup sets the next baseline
  open_target(s);
}

dbtool_status Backend::describe_uri(const char* uri, dbtool_text* out, dbtool_error* error) {
  return sdk::guard(error, [&] {
    const fs::path file = database_file(uri ? uri : "");
    json::object o{{"uri", "sqlite:///" + file.string()},
                   {"location", file.string()},
                   {"name", file.stem().string()},
                   {"file", file.string()},
                   {"password", "none"}};
    sdk::set_text(out, json::serialize(o));
  });
}

dbtool_status Backend::open(const char* options_json, dbtool_session** out, dbtool_error* error) {
  return sdk::guard(error, [&] {
    *out = nullptr;
    boost::system::error_code ec;
    json::value opts = json::parse(options_json ? options_json : "", ec);
    if (ec || !opts.is_object()) throw Failure(DBTOOL_ERR_INVALID_ARGUMENT, "open options must be a JSON object");
    const json::value* uri = opts.get_object().if_contains("uri");
    if (uri == nullptr || !uri->is_string()) throw Failure(DBTOOL_ERR_INVALID_ARGUMENT, "open options need a \"uri\"");
    auto s = std::make_unique<dbtool_session>();
    s->path = database_file(std::string(uri->get_string()));
    if (const json::value* ro = opts.get_object().if_contains("read_only"); ro != nullptr && !ro->is_null()) {
      if (!ro->is_bool()) throw Failure(DBTOOL_ERR_INVALID_ARGUMENT, "\"read_only\" must be true or false");
      s->read_only = ro->get_bool();
    }
    if (auto* a = opts.get_object().if_contains("allow_concurrent_writes"); a && a->is_bool())
      s->allow_concurrent_writes = a->get_bool();
    if (auto* v = opts.get_object().if_contains("verify"); v && !v->is_null()) {
      if (!v->is_string() || (v->get_string() != "quick" && v->get_string() != "full"))
        throw Failure(DBTOOL_ERR_INVALID_ARGUMENT, "\"verify\" must be \"quick\" or \"full\"");
      s->verify_full = v->get_string() == "full";
    }
    std::error_code fec;
    // A source is only read: it takes no lock (the lock file would be a write) and cleans nothing.
    if (s->read_only && !fs::is_regular_file(s->path, fec))
      throw Failure(DBTOOL_ERR_NOT_FOUND, "no SQLite database at " + s->path.string());
    if (!s->read_only && fs::is_directory(s->path.parent_path(), fec)) {
      std::string lock = s->path.string() + ".dbtool.lock";
      s->lock_path = lock;
      // The holder removes the lock file when it closes, so none is left behind. A run that
      // opened the file just before it was removed would lock a file no one else can see:
      // after locking, the name must still lead to the locked file, else try again.
      for (;;) {
        s->lock_fd = ::open(lock.c_str(), O_CREAT | O_RDWR | O_CLOEXEC | O_NOFOLLOW, 0600);  // never a planted link
        if (s->lock_fd < 0)
          throw Failure(DBTOOL_ERR_IO, "cannot create the lock file " + lock + ": " + std::strerror(errno));
        if (::flock(s->lock_fd, LOCK_EX | LOCK_NB) != 0) {
          ::close(s->lock_fd);
          s->lock_fd = -1;
          throw Failure(DBTOOL_ERR_BACKEND,
                        "another dbtool run is working on " + s->path.string() + " (lock " + lock + ")");
        }
        struct stat held {
        }, named{};
        if (::fstat(s->lock_fd, &held) == 0 && ::stat(lock.c_str(), &named) == 0 && held.st_ino == named.st_ino &&
            held.st_dev == named.st_dev)
          break;
        ::close(s->lock_fd);
        s->lock_fd = -1;
      }
      // With the lock held, any stage file beside the target is a leftover of a killed run.
      const std::string prefix = "." + s->path.filename().string() + ".dbtool-stage-";
      for (const auto& e : fs::directory_iterator(s->path.parent_path(), fec))
        if (e.path().filename().string().rfind(prefix, 0) == 0) {
          log(DBTOOL_LOG_INFO, "removing " + e.path().string() + ", left by an interrupted run");
          fs::remove(e.path(), fec);
        }
    }
    open_target(s.get());
    *out = s.release();
  });
}

void Backend::close(dbtool_session* s) {
  if (s == nullptr) return;
  s->db.close();
  if (s->lock_fd >= 0) {
    ::unlink(s->lock_path.c_str());  // still holding the lock, so no other run is using this file
    ::close(s->lock_fd);
  }
  delete s;
}

dbtool_status Backend::cancel(dbtool_session* s, dbtool_error* error) {
  return sdk::guard(error, [&] { s->busy.interrupt(); });
}

dbtool_status Backend::describe(dbtool_session* s, dbtool_text* out, dbtool_error* error) {
  return sdk::guard(error, [&] {
    json::object o;
    o["exists"] = static_cast<bool>(s->db);
    o["location"] = s->path.string();
    o["backup_extension"] = ".db";
    o["backup_verify"] = json::array{"quick", "full"};
    o["tables"] = s->db ? json::parse(tables_json(s->db)) : json::array();
    if (s->db) {
      o["views"] = views_json(s->db);
      o["triggers"] = triggers_json(s->db);
    }
    sdk::set_text(out, json::serialize(o));
  });
}

dbtool_status Backend::backup(dbtool_session* s, const char* path, dbtool_text* report, dbtool_error* error) {
  fs::path file(path ? path : "");
  bool created = false;
  dbtool_status st = sdk::guard(error, [&] {
    refuse_if_read_only(s, "backup");
    if (!s->db) throw Failure(DBTOOL_ERR_NOT_FOUND, "nothing to back up: " + s->path.string() + " does not exist");
    const int fd = ::open(file.c_str(), O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC, 0600);
    if (fd < 0) throw Failure(DBTOOL_ERR_IO, "cannot create the backup " + file.string() + ": " + std::strerror(errno));
    created = true;
    // The host flushes the file once, after it is sealed and before it gets its name (a crash
    // before leaves a partial file the next backup removes): the copy and the manifest need
    // neither a journal nor flushes of their own, and the device writes the pages while the copy
    // and the checks keep the cores busy.
    BackgroundFlush flushing(file);
    Contents recorded;
    try {
      // The copy and the counts it is checked against come from one snapshot of the target;
      // the cut-over compares against that snapshot's version, as anything committed after
      // it is missing from the copy. A transaction the session already has open would be
      // part of the snapshot, unwritten or half written to the file: the backup API then.
      const bool own_snapshot = sqlite3_get_autocommit(s->db.get()) != 0;
      ReadTransaction snapshot(s->db.get(), "backup");
      s->baseline_version = target_version(s);
      if (!own_snapshot || !copy_file_snapshot(s->db.get(), fd, file, "backup")) {
        Connection dest(file, SQLITE_OPEN_READWRITE);
        dest.exec("PRAGMA journal_mode=OFF; PRAGMA synchronous=OFF", "backup");
        copy_pages(s->db.get(), dest.get(), s->busy, "backup");
      }
      recorded = count_tables(s->db);
    } catch (...) {
      ::close(fd);
      throw;
    }
    ::close(fd);
    Connection dest(file, SQLITE_OPEN_READWRITE);
    dest.exec("PRAGMA synchronous=OFF; PRAGMA journal_mode=DELETE; PRAGMA application_id = " +
                  std::to_string(kBackupApplicationId),
              "backup");
    // The manifest records the database's rows per table in the snapshot the copy was made in;
    // the copy must then hold them, sound (quick_check, or integrity_check on request) and with
    // its foreign keys whole, checked side by side on two connections. Only then is the file
    // sealed: the hash of its bytes, which verify_backup and restore check instead of checking
    // the structure and reading every row a second time.
    write_manifest(dest, recorded);
    dest.close();
    const std::string what = "backup " + file.string();
    Contents got;
    Seal seal;
    uint64_t hash = 0;
    side_by_side(
        [&] {
          Connection c(file, SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX);
          check_integrity(c, what, s->verify_full);
        },
        [&] {
          Connection c(file, SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX);
          check_foreign_keys(c, what);
          got = count_tables(c);
          seal = read_seal(c, file, what);
          c.close();
          hash = hash_file_bytes(file, what, seal.offset);
        });  // a structural failure says more than a failed count, so it is the one thrown
    if (got != recorded)
      throw Failure(DBTOOL_ERR_DATA, "backup verification failed: the copy holds " + json::serialize(rows_json(got)) +
                                         ", the database " + json::serialize(rows_json(recorded)));
    write_seal(file, seal, hash);
    sdk::set_text(report, report_json(file, rows_json(got)));
  });
  if (st != DBTOOL_OK && created) {
    std::error_code ec;
    fs::remove(file, ec);
  }
  return st;
}

dbtool_status Backend::verify_backup(dbtool_session* s, const char* path, dbtool_text* report, dbtool_error* error) {
  return sdk::guard(error, [&] {
    fs::path file(path ? path : "");
    s->checked_backup.reset();
    Connection c = open_backup_file(file);
    // The host calls this before anything is changed, so the check (the full one when asked)
    // runs here, on the file, once; restore then proves its copy byte-identical to what was
    // checked here.
    Contents rows;
    s->checked_backup = check_backup_content(c, file, s->verify_full, rows);
    sdk::set_text(report, report_json(file, rows_json(rows)));
  });
}

std::string copy_verified_backup(dbtool_session* s, const fs::path& file, fs::path& stage) {
  refuse_if_read_only(s, "restore");
  Connection src = open_backup_file(file);
  std::optional<Manifest> manifest = read_manifest(src);
  // What verify_backup checked, when it was this file, unchanged since.
  std::optional<dbtool_session::CheckedBackup> checked;
  checked.swap(s->checked_backup);
  if (checked && checked->file != file) checked.reset();
  const auto changed = [&] {
    log(DBTOOL_LOG_INFO, "the backup " + file.string() + " changed since it was checked: checking the copy");
  };
  if (checked && (identify(file) != checked->identity || has_sidecar(file))) {
    changed();
    checked.reset();
  }
  if (!s->baseline_version) s->baseline_version = target_version(s);
  fs::create_directories(s->path.parent_path());
  stage = new_stage_file(s->path);
  if (manifest && manifest->digest_version == kManifestSealed) {
    // A sealed backup: the copy is hashed as it is written; the seal's hash proves it byte for
    // byte the file that passed the backup's checks. integrity_check, when asked for, ran in
    // verify_backup on this file (unchanged since: same identity, same bytes), else on the copy.
    const std::string what = "the backup " + file.string();
    const Seal seal = read_seal(src, file, what);
    uint64_t copied = 0;
    copy_file_bytes(file, stage, "restore", &copied, seal.offset);
    require_sealed_bytes(copied, seal, what);
    Connection dest(stage, SQLITE_OPEN_READWRITE);
    if (s->verify_full && !(checked && checked->bytes_hash == seal.value))
      check_integrity(dest, "restored copy", /*thorough=*/true);
    drop_backup_marks(dest);
    return report_json(stage, rows_json(manifest->tables));  // the rows the copy was proven to hold
  }
  if (manifest) {
    // A manifest with digests (made before the seal): the backup file is a finished database,
    // its bytes are the copy. When verify_backup (which the host calls first) checked this file
    // against its manifest, the bytes are hashed as they are copied: the same hash proves the
    // copy byte-identical to the file that passed (quick_check or integrity_check, rows and
    // digests), so it is not checked a second time. Otherwise (or when the bytes differ: the
    // file changed since) the copy is held to the manifest and quick_check'ed itself.
    uint64_t copied = 0;
    copy_file_bytes(file, stage, "restore", checked ? &copied : nullptr);
    const bool proven = checked && copied == checked->bytes_hash;
    if (checked && !proven) changed();
    if (!proven)
      match_manifest(manifest->tables,
                     check_database_file(stage, /*thorough=*/s->verify_full, /*foreign_keys=*/false, "restored copy",
                                         manifest->digest_version),
                     "the backup " + file.string());
    Connection dest(stage, SQLITE_OPEN_READWRITE);
    drop_backup_marks(dest);
    return report_json(stage, rows_json(manifest->tables));  // the rows the copy was proven to hold
  }
  log(DBTOOL_LOG_INFO,
      "the backup " + file.string() + " has no manifest (made by an older dbtool): checking it in full");
  verify_database(src, "the backup " + file.string());
  Connection dest(stage, SQLITE_OPEN_READWRITE);
  copy_pages(src.get(), dest.get(), s->busy, "restore");
  dest.exec("PRAGMA journal_mode=DELETE; PRAGMA application_id = 0", "restore");
  verify_database(dest, "restored copy");
  const std::string tables = tables_json(dest);
  if (tables != tables_json(src)) throw Failure(DBTOOL_ERR_DATA, "the restored copy differs from the backup");
  return report_json(stage, json::parse(tables).as_array());
}

dbtool_status Backend::restore(dbtool_session* s, const char* path, dbtool_text* report, dbtool_error* error) {
  fs::path stage;
  dbtool_status st = sdk::guard(error, [&] {
    copy_verified_backup(s, fs::path(path ? path : ""), stage);
    swap_in(s, stage);
    stage.clear();
    sdk::set_text(report, report_json(s->path, s->db));
  });
  if (!stage.empty()) {
    std::error_code ec;
    fs::remove(stage, ec);
  }
  return st;
}

namespace {

struct TableReader {
  dbtool_session* session = nullptr;
  Connection own;         // outside a snapshot: the stream's own read-only connection
  sqlite3* db = nullptr;  // `own`, or the session's connection inside a snapshot
  std::unique_ptr<Statement> st;
  std::vector<sdk::ColumnSpec> columns;
  std::vector<std::string> types;  // portable type of each column
  bool done = false;
  ~TableReader() {
    st.reset();  // before the connection it runs on
    --session->open_streams;
  }
};

}  // namespace

dbtool_status Backend::read_table(dbtool_session* s, const char* table_c, ArrowArrayStream* out, dbtool_error* error) {
  return sdk::guard(error, [&] {
    std::string table = table_c ? table_c : "";
    if (!s->db || !table_exists(s->db, table))
      throw Failure(DBTOOL_ERR_NOT_FOUND, "no table \"" + table + "\" in " + s->path.string());
    auto r = std::make_shared<TableReader>();
    r->session = s;
    ++s->open_streams;
    if (s->in_snapshot) {
      r->db = s->db.get();  // the snapshot's read transaction lives on this connection
    } else {
      // Its own read-only connection, so the session stays usable while the stream lives.
      r->own = Connection(s->path, SQLITE_OPEN_READONLY);
      r->db = r->own.get();
    }
    std::vector<std::pair<int, std::string>> pk;
    std::string select;
    {
      Statement info(r->db, "SELECT name, type, pk FROM pragma_table_info(?) ORDER BY cid");
      sqlite3_bind_text(info.get(), 1, table.c_str(), -1, SQLITE_TRANSIENT);
      while (sqlite3_step(info.get()) == SQLITE_ROW) {
        std::string name = reinterpret_cast<const char*>(sqlite3_column_text(info.get(), 0));
        const unsigned char* t = sqlite3_column_text(info.get(), 1);
        sdk::PortableColumn c = portable_column_of(name, t ? reinterpret_cast<const char*>(t) : "");
        r->columns.push_back({name, sdk::arrow_type_of(c.type)});
        r->types.push_back(c.type);
        select += (select.empty() ? "" : ", ") + quote_identifier(name);
        if (int k = sqlite3_column_int(info.get(), 2); k > 0) pk.emplace_back(k, quote_identifier(name));
      }
    }
    std::sort(pk.begin(), pk.end());
    std::string order;
    for (const auto& p : pk) order += (order.empty() ? "" : ", ") + p.second;
    r->st = std::make_unique<Statement>(r->db, "SELECT " + select + " FROM " + quote_identifier(table) + " ORDER BY " +
                                                   (order.empty() ? "rowid" : order));
    sdk::export_stream(
        r->columns,
        [r, table](ArrowArray* batch) {
          if (r->done) return false;
          sdk::BatchBuilder b(r->columns);
          sqlite3_stmt* st = r->st->get();
          while (b.rows() < 4096) {
            int rc = sqlite3_step(st);
            if (rc == SQLITE_DONE) {
              r->done = true;
              break;
            }
            if (rc != SQLITE_ROW) fail(r->db, rc, "reading " + table);
            for (size_t i = 0; i < r->columns.size(); ++i) {
              int col = static_cast<int>(i);
              int kind = sqlite3_column_type(st, col);
              if (kind == SQLITE_NULL) {
                b.append_null(i);
                continue;
              }
              // SQLite stores any value in any column; one that does not fit the declared type is
              // refused rather than converted into something else.
              auto refuse = [&](const std::string& value) {
                throw Failure(DBTOOL_ERR_DATA,
                              table + "." + r->columns[i].name + " is " + r->types[i] + " but a row holds " + value);
              };
              auto text = [&] {
                return std::string_view(reinterpret_cast<const char*>(sqlite3_column_text(st, col)),
                                        static_cast<size_t>(sqlite3_column_bytes(st, col)));
              };
              switch (r->columns[i].type) {
                case sdk::ColumnType::Int64:
                case sdk::ColumnType::Bool:
                  if (kind != SQLITE_INTEGER) refuse("the non-integer value \"" + std::string(text()) + "\"");
                  if (r->columns[i].type == sdk::ColumnType::Bool)
                    b.append_bool(i, sqlite3_column_int64(st, col) != 0);
                  else
                    b.append_int64(i, sqlite3_column_int64(st, col));
                  break;
                case sdk::ColumnType::Float64:
                  if (kind != SQLITE_INTEGER && kind != SQLITE_FLOAT)
                    refuse("the non-numeric value \"" + std::string(text()) + "\"");
                  b.append_double(i, sqlite3_column_double(st, col));
                  break;
                case sdk::ColumnType::Binary: {
                  const void* p = sqlite3_column_blob(st, col);
                  b.append_bytes(i, std::string_view(static_cast<const char*>(p),
                                                     static_cast<size_t>(sqlite3_column_bytes(st, col))));
                  break;
                }
                default: {
                  std::optional<std::string> canonical;
                  if (r->types[i] == "date" || r->types[i] == "datetime") {
                    canonical = r->types[i] == "date" ? sdk::canonical_date(text()) : sdk::canonical_datetime(text());
                    if (!canonical) refuse("\"" + std::string(text()) + "\", which is not a " + r->types[i]);
                    b.append_bytes(i, *canonical);
                  } else {
                    b.append_bytes(i, text());
                  }
                }
              }
            }
          }
          if (b.rows() == 0) return false;
          b.finish(batch);
          return true;
        },
        out);
  });
}

}  // namespace dbtool::sqlite
