// The SQLite backend's shared pieces: connection handles, error mapping, the portable schema
// as this plugin reads it, and the session/stage structs behind the opaque ABI handles.
#pragma once

#include <dbtool/plugin.h>
#include <dbtool/sdk/arrow.hpp>
#include <dbtool/sdk/error.hpp>
#include <dbtool/sdk/handle.hpp>
#include <dbtool/sdk/plugin.hpp>
#include <dbtool/sdk/schema.hpp>

#include <sqlite3.h>
#include <boost/json.hpp>

#include <atomic>
#include <condition_variable>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

namespace dbtool::sqlite {

using sdk::cancelled;
using sdk::log;

// Throws sdk::Failure with the status, SQLSTATE ("23000" for constraints, else "HY000") and
// extended SQLite code that fit `rc`; the message starts with `what`.
[[noreturn]] void fail(sqlite3* db, int rc, const std::string& what);

// An open connection, closed on destruction.
class Connection {
 public:
  Connection() = default;
  Connection(const std::filesystem::path& file, int flags);
  sqlite3* get() const { return db_.get(); }
  explicit operator bool() const { return db_ != nullptr; }
  void close() { db_.reset(); }
  void exec(const std::string& sql, const std::string& what);
  // The first column of the first row as text ("" when there is none).
  std::string scalar_text(const std::string& sql);
  int64_t scalar_int(const std::string& sql);

 private:
  sdk::Handle<sqlite3, sqlite3_close_v2> db_;
};

// A prepared statement, finalized on destruction.
class Statement {
 public:
  Statement(sqlite3* db, const std::string& sql);
  sqlite3_stmt* get() const { return st_.get(); }

 private:
  sdk::Handle<sqlite3_stmt, sqlite3_finalize> st_;
};

std::string quote_identifier(const std::string& name);  // validates, then "name"
std::vector<std::string> user_tables(Connection& c);
bool table_exists(Connection& c, const std::string& table);
// [{"name", "rows"}] for every user table.
std::string tables_json(Connection& c);
// The views and triggers of the database, which no portable schema describes: describe lists
// them so the host can name them before a run replaces the database without them.
boost::json::array views_json(Connection& c);
boost::json::array triggers_json(Connection& c);
// The checks a finished database must pass: integrity and foreign keys. `thorough` runs
// integrity_check (also checks index contents, O(N log N)); otherwise quick_check (O(N)),
// enough for a file this process just wrote. `foreign_keys` false skips foreign_key_check
// (for a copy whose rows are proven to be those of a database that passed it).
void verify_database(Connection& c, const std::string& what, bool thorough = true, bool foreign_keys = true);
// Its two halves, for callers that run them side by side on two connections.
void check_integrity(Connection& c, const std::string& what, bool thorough);
// Every table's foreign keys, or only `table`'s when it is given.
void check_foreign_keys(Connection& c, const std::string& what, const std::string& table = "");
// Runs `first` on a thread of its own and `second` on this one (each on its own connection:
// whole-file reads side by side on two cores), waits for both, then throws `first`'s failure
// if it failed, else `second`'s.
void side_by_side(const std::function<void()>& first, const std::function<void()>& second);
void fsync_path(const std::filesystem::path& p);
// While it lives, a thread of its own starts writing the file's dirty pages to disk every 50 ms
// (sync_file_range), so that the device works while the CPU copies and checks the file and a
// later fsync_path finds most of it written. Only a head start: fsync_path is what makes it
// durable and says what failed.
class BackgroundFlush {
 public:
  explicit BackgroundFlush(const std::filesystem::path& p);
  ~BackgroundFlush();
  BackgroundFlush(const BackgroundFlush&) = delete;
  BackgroundFlush& operator=(const BackgroundFlush&) = delete;

 private:
  int fd_ = -1;
  std::mutex mutex_;
  std::condition_variable wake_;
  bool stopping_ = false;  // guarded by mutex_
  std::thread thread_;
};

// The backup manifest (backup_check.cpp): a table in every backup file recording each table's
// rows at backup time and how the content is proven. Manifests of version 1 (no version column,
// FNV-1a) and 2 (sdk::kDigestWide) record a content digest per table (sdk/digest.hpp), checked by
// reading every row; version 3 (kManifestSealed, what backups are made with now) records the rows
// only and comes with a seal: a hash of the whole file's bytes, taken once the backup had passed
// its checks, which proves a file (or a copy of it) byte for byte that checked file. Neither
// table belongs to the database: user tables, describe and digests leave them out, and restore
// drops them from the copy it brings back.
inline constexpr const char* kManifestTable = "dbtool_backup_manifest";
inline constexpr const char* kSealTable = "dbtool_backup_seal";
inline constexpr int kManifestSealed = 3;
struct TableContent {
  int64_t rows = 0;
  std::string checksum;  // "" in a sealed manifest
  bool operator==(const TableContent& o) const { return rows == o.rows && checksum == o.checksum; }
};
using Contents = std::map<std::string, TableContent>;  // by table name
struct Manifest {
  int digest_version = 0;  // sdk::kDigestFnv1a, sdk::kDigestWide or kManifestSealed
  Contents tables;
};
Contents digest_tables(Connection& c, int digest_version);
// Each user table's rows as the database counts them (checksums left empty), in name order:
// what tables_json lists.
Contents count_tables(Connection& c);
// [{"name", "rows"}] of `tables`, in name order.
boost::json::array rows_json(const Contents& tables);
// Checks the database `file` (integrity_check when `thorough`, else quick_check, and
// foreign_key_check when `foreign_keys`) while a second connection digests its tables with
// `digest_version`; throws Failure(DATA) naming `what` when a check fails, else returns the
// digests. With `bytes_hash`, also hashes the file's bytes (sdk::WideHash) into it.
Contents check_database_file(const std::filesystem::path& file, bool thorough, bool foreign_keys,
                             const std::string& what, int digest_version, uint64_t* bytes_hash = nullptr);
// Writes a sealed manifest (kManifestSealed: the rows of `tables`) and the seal's placeholder,
// which write_seal fills in, replacing the ones a copied backup brought along.
void write_manifest(Connection& c, const Contents& tables);
// nullopt: a backup made before manifests. Throws Failure(DATA) for a malformed manifest or one
// of a digest version this build does not know.
std::optional<Manifest> read_manifest(Connection& c);
// Where a sealed backup's seal lies in its file (the byte offset of its 16 hex digits, which
// the hash reads as "0") and the hash it records (0 for the placeholder). Throws Failure(DATA)
// naming `what` when the file has no well-formed seal.
struct Seal {
  int64_t offset = 0;
  uint64_t value = 0;
};
Seal read_seal(Connection& c, const std::filesystem::path& file, const std::string& what);
// Writes `hash` over the placeholder at `seal.offset` of the closed file (not flushed).
void write_seal(const std::filesystem::path& file, const Seal& seal, uint64_t hash);
// Throws Failure(DATA) naming `what` unless `hash` (of a file or of its copy, the seal's digits
// read as "0": hash_file_bytes, copy_file_bytes) is the one `seal` records.
void require_sealed_bytes(uint64_t hash, const Seal& seal, const std::string& what);
// What says a file is still the one that was looked at: an edit in place changes its size or
// times (the change time cannot be set back), a replacement its inode.
struct FileIdentity {
  uint64_t device = 0, inode = 0;
  int64_t size = 0, modified_ns = 0, changed_ns = 0;
  bool operator==(const FileIdentity& o) const {
    return device == o.device && inode == o.inode && size == o.size && modified_ns == o.modified_ns &&
           changed_ns == o.changed_ns;
  }
  bool operator!=(const FileIdentity& o) const { return !(*this == o); }
};
FileIdentity identify(const std::filesystem::path& file);
// sdk::WideHash of the file's bytes; with `mask_at` >= 0, the 16 bytes there are hashed as "0"
// (a seal's digits: the hash a seal records is of the file with its placeholder).
uint64_t hash_file_bytes(const std::filesystem::path& file, const std::string& what, int64_t mask_at = -1);
// Throws Failure(DATA) when `found` is not what `manifest` recorded, listing both.
void match_manifest(const Contents& manifest, const Contents& found, const std::string& what);
// Copies the bytes of `from` over the existing file `to` (not flushed), reporting progress; with
// `bytes_hash`, hashes the bytes it copies (sdk::WideHash, as hash_file_bytes, `mask_at` too) into it.
void copy_file_bytes(const std::filesystem::path& from, const std::filesystem::path& to, const std::string& what,
                     uint64_t* bytes_hash = nullptr, int64_t mask_at = -1);
// After a unique index failed to build: the first primary or unique key of `schema` that holds
// a value twice, as sdk::duplicate_key_message words it ("" when none does).
std::string find_duplicate_key(Connection& c, const sdk::PortableSchema& schema);

// The statements that create the tables of `schema` (`tables_ddl`) and their unique and plain
// indexes (`index_ddl`). A stage creates the indexes after loading: building an index from
// sorted data beats growing it row by row.
void schema_to_ddl(const sdk::PortableSchema& schema, std::vector<std::string>& tables_ddl,
                   std::vector<std::string>& index_ddl);

// The connection a long call runs on (0 when none), for cancel, which the host calls from
// another thread: the lock keeps the call from finishing and its connection from being closed
// while cancel interrupts it, so sqlite3_interrupt never reaches a closed connection.
class BusyConnection {
 public:
  BusyConnection& operator=(sqlite3* db) {
    std::lock_guard<std::mutex> lock(mutex_);
    db_ = db;
    return *this;
  }
  void interrupt() {
    std::lock_guard<std::mutex> lock(mutex_);
    if (db_ != nullptr) sqlite3_interrupt(db_);
  }

 private:
  std::mutex mutex_;
  sqlite3* db_ = nullptr;  // guarded by mutex_
};

}  // namespace dbtool::sqlite

struct dbtool_session {
  std::filesystem::path path;
  int lock_fd = -1;
  std::string lock_path;
  dbtool::sqlite::Connection db;        // open while the target exists
  dbtool::sqlite::BusyConnection busy;  // the connection a long call runs on, for cancel
  bool has_stage = false;
  bool read_only = false;    // a migration source: opened SQLITE_OPEN_READONLY, no lock, never written
  bool in_snapshot = false;  // `db` holds the read transaction snapshot_begin started
  int open_streams = 0;      // read_table streams not yet released (they may use `db`)
  // The target's state when the last backup began (else when the stage began): a swap after
  // another connection wrote to it would lose those writes (ABI 1.1, DBTOOL_ERR_CONFLICT).
  // PRAGMA data_version on `db`, which stays open from backup to cut-over; -1: no file then.
  std::optional<int64_t> baseline_version;
  bool allow_concurrent_writes = false;
  bool verify_full = false;  // open option "verify": "full": integrity_check on backups and restores
  // The backup file verify_backup last checked in full against its manifest (structure, rows,
  // digests) and the hash of the bytes it checked: restore proves its copy is those bytes
  // instead of checking the copy a second time.
  struct CheckedBackup {
    std::filesystem::path file;
    dbtool::sqlite::FileIdentity identity;
    uint64_t bytes_hash = 0;
  };
  std::optional<CheckedBackup> checked_backup;
};

struct dbtool_stage {
  dbtool_session* session = nullptr;
  std::filesystem::path file;
  dbtool::sqlite::Connection db;
  dbtool::sdk::PortableSchema schema;
  std::vector<std::string> index_ddl;  // run at commit
  // A restore stage (ABI 1.3): the file is a verified copy of a backup and loads append to it,
  // so the commit checks only the foreign keys of the tables loaded into, not the whole file.
  bool restored = false;
  std::set<std::string> loaded_tables;
  // The file's pages start for the disk while the stage loads and checks, so that the fsync
  // before the swap has little left to write (it would otherwise write the whole file).
  std::unique_ptr<dbtool::sqlite::BackgroundFlush> flushing;
};

namespace dbtool::sqlite {
// Every slot of the function table; make_backend_api<Backend>() (entry.cpp) puts each in the
// slot of the same name. Defined in session.cpp (open to read_table, backup, restore,
// verify_backup and describe_uri, ABI 1.2: what sqlite:///PATH or a plain path names),
// stage.cpp (stage_* and restore_stage, ABI 1.3) and source.cpp (ABI 1.1 reading slots).
struct Backend {
  static dbtool_status open(const char* options_json, dbtool_session** out, dbtool_error* error);
  static void close(dbtool_session* s);
  static dbtool_status cancel(dbtool_session* s, dbtool_error* error);
  static dbtool_status describe(dbtool_session* s, dbtool_text* out, dbtool_error* error);
  static dbtool_status read_table(dbtool_session* s, const char* table, ArrowArrayStream* out, dbtool_error* error);
  static dbtool_status backup(dbtool_session* s, const char* path, dbtool_text* report, dbtool_error* error);
  static dbtool_status restore(dbtool_session* s, const char* path, dbtool_text* report, dbtool_error* error);
  static dbtool_status verify_backup(dbtool_session* s, const char* path, dbtool_text* report, dbtool_error* error);
  static dbtool_status stage_begin(dbtool_session* s, const char* schema_json, dbtool_stage** out, dbtool_error* error);
  static dbtool_status stage_load(dbtool_stage* st, const char* table, ArrowArrayStream* stream, int64_t* rows,
                                  dbtool_error* error);
  static dbtool_status stage_count(dbtool_stage* st, const char* table, int64_t* rows, dbtool_error* error);
  static dbtool_status stage_commit(dbtool_stage* st, dbtool_text* report, dbtool_error* error);
  static void stage_abort(dbtool_stage* st);
  static dbtool_status snapshot_begin(dbtool_session* s, dbtool_error* error);
  static dbtool_status snapshot_end(dbtool_session* s, dbtool_error* error);
  static dbtool_status describe_schema(dbtool_session* s, dbtool_text* out, dbtool_error* error);
  static dbtool_status describe_uri(const char* uri, dbtool_text* out, dbtool_error* error);
  static dbtool_status restore_stage(dbtool_session* s, const char* path, const char* schema_json, dbtool_stage** out,
                                     dbtool_text* report, dbtool_error* error);
};

// Throws Failure(NOT_SUPPORTED) when `s` was opened read-only; `what` names the refused call.
void refuse_if_read_only(const dbtool_session* s, const std::string& what);
// The portable type (and max_length for text) of a column declared as `declared` (CONTRACT.md,
// README: SQLAlchemy's names first, then SQLite's affinity rules).
sdk::PortableColumn portable_column_of(const std::string& name, const std::string& declared);

// A new, empty file beside the target for a stage or a restore: ".<name>.dbtool-stage-<pid>-<n>".
std::filesystem::path new_stage_file(const std::filesystem::path& target);
// The target's data_version on the session's connection (-1 when there is no target file).
int64_t target_version(dbtool_session* s);
// Checks the backup `file` as restore must (relying on the session's verify_backup of the same,
// unchanged file when there was one) and copies it into a new file beside the target, proven
// or checked to hold exactly the backup's content, its marker and manifest removed. `stage`
// names the new file as soon as it exists, so the caller removes it on any failure. Sets the
// session's baseline (ABI 1.1) when it has none. Returns restore's report of the copy.
std::string copy_verified_backup(dbtool_session* s, const std::filesystem::path& file, std::filesystem::path& stage);
// Moves `stage` over the session's target in one rename, then reopens the session on it.
// Refuses with DBTOOL_ERR_CONFLICT, touching nothing, when the target changed since the
// session's baseline (unless allow_concurrent_writes).
void swap_in(dbtool_session* s, const std::filesystem::path& stage);
}  // namespace dbtool::sqlite
