// The template backend's entry points over SQLite files: a stage is a new file beside the
// target, loaded in one transaction and renamed over it at commit (one atomic step); backups
// are made with SQLite's online backup API and checked before they count. Replace the SQLite
// calls with your database's and keep the promises each function's comment in plugin.h makes.
#include "template_backend.hpp"

#include <dbtool/sdk/handle.hpp>
#include <dbtool/sdk/plugin.hpp>

#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

namespace dbtool_template {
namespace {
namespace fs = std::filesystem;
namespace json = boost::json;
namespace sdk = dbtool::sdk;
using sdk::Failure;

// ---- SQLite helpers: the part a port replaces ----------------------------------------------

using Db = sdk::Handle<sqlite3, sqlite3_close_v2>;

// Throws the SQLite error `rc` as a Failure whose status says what the host may do about it.
[[noreturn]] void fail(sqlite3* db, int rc, const std::string& what) {
  const std::string message = what + ": " + (db != nullptr ? sqlite3_errmsg(db) : sqlite3_errstr(rc));
  switch (rc & 0xff) {
    case SQLITE_CONSTRAINT:
      throw Failure(DBTOOL_ERR_CONSTRAINT, message, "23000", rc);
    case SQLITE_CANTOPEN:
    case SQLITE_IOERR:
    case SQLITE_FULL:
    case SQLITE_READONLY:
    case SQLITE_PERM:
      throw Failure(DBTOOL_ERR_IO, message, "", rc);
    case SQLITE_NOTADB:
    case SQLITE_CORRUPT:
      throw Failure(DBTOOL_ERR_DATA, message, "", rc);
    default:
      throw Failure(DBTOOL_ERR_BACKEND, message, "", rc);
  }
}

Db open_db(const std::string& path, int flags) {
  sqlite3* raw = nullptr;
  int rc = sqlite3_open_v2(path.c_str(), &raw, flags | SQLITE_OPEN_NOMUTEX, nullptr);
  Db db(raw);
  if (rc != SQLITE_OK) fail(raw, rc, "cannot open " + path);
  sqlite3_extended_result_codes(raw, 1);
  return db;
}

void exec(sqlite3* db, const std::string& sql) {
  int rc = sqlite3_exec(db, sql.c_str(), nullptr, nullptr, nullptr);
  if (rc != SQLITE_OK) fail(db, rc, "SQL failed");
}

class Statement {
 public:
  Statement(sqlite3* db, const std::string& sql) : db_(db) {
    sqlite3_stmt* st = nullptr;
    int rc = sqlite3_prepare_v2(db, sql.c_str(), -1, &st, nullptr);
    st_.reset(st);
    if (rc != SQLITE_OK) fail(db, rc, "SQL failed");
  }
  sqlite3_stmt* get() const { return st_.get(); }
  // True while there is a row; throws on error.
  bool step() {
    int rc = sqlite3_step(st_.get());
    if (rc == SQLITE_ROW) return true;
    if (rc != SQLITE_DONE) fail(db_, rc, "SQL failed");
    return false;
  }

 private:
  sqlite3* db_;
  sdk::Handle<sqlite3_stmt, sqlite3_finalize> st_;
};

std::string quote(const std::string& name) {
  std::string out = "\"";
  for (char c : name) out += c == '"' ? std::string("\"\"") : std::string(1, c);
  return out + "\"";
}

std::string quote_list(const std::vector<std::string>& names) { return sdk::quoted_list(names, quote); }

std::vector<std::string> table_names(sqlite3* db) {
  Statement st(db, "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name");
  std::vector<std::string> out;
  while (st.step()) out.emplace_back(reinterpret_cast<const char*>(sqlite3_column_text(st.get(), 0)));
  return out;
}

int64_t count_rows(sqlite3* db, const std::string& table) {
  Statement st(db, "SELECT count(*) FROM " + quote(table));
  st.step();
  return sqlite3_column_int64(st.get(), 0);
}

json::array table_report(sqlite3* db) {
  json::array out;
  for (const auto& t : table_names(db)) out.push_back(json::object{{"name", t}, {"rows", count_rows(db, t)}});
  return out;
}

// Checks a database file the way a backup must be checked before it counts.
void verify(sqlite3* db, const std::string& path) {
  Statement st(db, "PRAGMA integrity_check");
  std::string result = st.step() ? reinterpret_cast<const char*>(sqlite3_column_text(st.get(), 0)) : "";
  if (result != "ok") throw Failure(DBTOOL_ERR_DATA, path + " is damaged: " + result);
}

// Copies the whole database `from` into `to` with the online backup API.
void copy_database(sqlite3* from, sqlite3* to, const std::string& what) {
  sqlite3_backup* b = sqlite3_backup_init(to, "main", from, "main");
  if (b == nullptr) fail(to, sqlite3_errcode(to), what);
  int rc = sqlite3_backup_step(b, -1);
  sqlite3_backup_finish(b);
  if (rc != SQLITE_DONE) fail(to, rc, what);
}

// The portable type as a declared SQLite type. The declared name sets SQLite's affinity (a
// name holding "TEXT" keeps text as text) and tells read_table the Arrow type to give back.
std::string declared_type(const std::string& portable) {
  if (portable == "int64") return "INTEGER";
  if (portable == "float64") return "REAL";
  if (portable == "bool") return "BOOLEAN";
  if (portable == "blob") return "BLOB";
  if (portable == "text") return "TEXT";
  return portable + "_TEXT";  // json, timestamp, date, datetime: text in their canonical form
}

sdk::ColumnType arrow_type(std::string declared) {
  if (declared == "INTEGER") return sdk::ColumnType::Int64;
  if (declared == "REAL") return sdk::ColumnType::Float64;
  if (declared == "BOOLEAN") return sdk::ColumnType::Bool;
  if (declared == "BLOB") return sdk::ColumnType::Binary;
  return sdk::ColumnType::Utf8;
}

std::string literal(const json::value& v) {
  if (v.is_bool()) return v.get_bool() ? "1" : "0";
  if (v.is_string()) {
    std::string out = "'";
    for (char c : v.get_string()) out += c == '\'' ? std::string("''") : std::string(1, c);
    return out + "'";
  }
  return json::serialize(v);  // numbers
}

std::string create_table(const sdk::PortableTable& t) {
  const bool rowid_key = t.primary_key.size() == 1 && t.column(t.primary_key[0])->auto_increment;
  std::string sql = "CREATE TABLE " + quote(t.name) + " (";
  bool first = true;
  for (const auto& c : t.columns) {
    sql += (first ? "" : ", ") + quote(c.name) + " " + declared_type(c.type);
    first = false;
    // AUTOINCREMENT never reuses an id and always goes above the highest, explicit ones included.
    if (rowid_key && c.name == t.primary_key[0]) sql += " PRIMARY KEY AUTOINCREMENT";
    if (!c.nullable) sql += " NOT NULL";
    if (!c.default_value.is_null()) sql += " DEFAULT " + literal(c.default_value);
  }
  if (!t.primary_key.empty() && !rowid_key) sql += ", PRIMARY KEY (" + quote_list(t.primary_key) + ")";
  for (const auto& u : t.unique) sql += ", CONSTRAINT " + quote(u.name) + " UNIQUE (" + quote_list(u.columns) + ")";
  for (const auto& f : t.foreign_keys) {
    std::string action = f.on_delete;
    for (char& ch : action) ch = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
    sql += ", CONSTRAINT " + quote(f.name) + " FOREIGN KEY (" + quote_list(f.columns) + ") REFERENCES " +
           quote(f.ref_table) + " (" + quote_list(f.ref_columns) + ") ON DELETE " + action;
  }
  return sql + ")";
}

// Removes a file on scope exit unless keep() was called: a failed backup leaves nothing.
struct RemoveUnlessKept {
  std::string path;
  bool kept = false;
  ~RemoveUnlessKept() {
    if (!kept) ::unlink(path.c_str());
  }
  void keep() { kept = true; }
};

// Stages of a run that was killed carry its pid; a new session removes those whose process
// is gone.
void remove_stale_stages(const std::string& path) {
  const fs::path target(path);
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(target.parent_path(), ec)) {
    const std::string name = e.path().filename().string();
    const std::string prefix = target.filename().string() + ".stage-";
    if (name.rfind(prefix, 0) != 0) continue;
    const long pid = std::strtol(name.c_str() + prefix.size(), nullptr, 10);
    if (pid > 0 && ::kill(static_cast<pid_t>(pid), 0) != 0 && errno == ESRCH) fs::remove(e.path(), ec);
  }
}

// The stage is deleted whatever happens to it; a committed stage's file has been renamed away.
struct StageDeleter {
  void operator()(dbtool_stage* st) const {
    if (st->db != nullptr) sqlite3_close_v2(st->db);
    ::unlink(st->path.c_str());
    ::unlink((st->path + "-journal").c_str());
    delete st;
  }
};

// The one reader of this backend's URIs, NAME:///ABSOLUTE/PATH: the path of the file.
std::string path_of(const char* uri_c) {
  const std::string uri = uri_c != nullptr ? uri_c : "";
  const std::string scheme = std::string(kName) + "://";
  if (uri.rfind(scheme, 0) != 0 || uri.size() <= scheme.size() + 1 || uri[scheme.size()] != '/')
    throw Failure(DBTOOL_ERR_INVALID_ARGUMENT, std::string("a ") + kName + " URI is " + kName + ":///PATH, not " + uri);
  return uri.substr(scheme.size());
}

}  // namespace

// ---- the entry points ------------------------------------------------------------------------

dbtool_status Backend::describe_uri(const char* uri, dbtool_text* out, dbtool_error* error) {
  return sdk::guard(error, [&] {
    // The real file, so that dbtool keeps its backups beside the data, not beside a link.
    const fs::path file = fs::weakly_canonical(path_of(uri));
    json::object o{{"uri", std::string(kName) + "://" + file.string()},
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
    json::value v = json::parse(options_json != nullptr ? options_json : "", ec);
    if (ec || !v.is_object()) throw Failure(DBTOOL_ERR_INVALID_ARGUMENT, "open: the options are not a JSON object");
    const json::value* uri = v.get_object().if_contains("uri");
    if (uri == nullptr || !uri->is_string()) throw Failure(DBTOOL_ERR_INVALID_ARGUMENT, "open: \"uri\" is missing");
    const bool create = v.get_object().if_contains("create") && v.at("create").is_bool() && v.at("create").get_bool();
    auto s = std::make_unique<dbtool_session>();
    s->path = path_of(uri->get_string().c_str());
    s->location = s->path;
    if (create) fs::create_directories(fs::path(s->path).parent_path());
    remove_stale_stages(s->path);
    *out = s.release();
  });
}

void Backend::close(dbtool_session* session) { delete session; }

dbtool_status Backend::describe(dbtool_session* s, dbtool_text* out, dbtool_error* error) {
  return sdk::guard(error, [&] {
    json::object o{{"exists", fs::exists(s->path)}, {"location", s->location}, {"backup_extension", ".db"}};
    o["tables"] = json::array();
    if (fs::exists(s->path)) o["tables"] = table_report(open_db(s->path, SQLITE_OPEN_READONLY).get());
    sdk::set_text(out, json::serialize(o));
  });
}

dbtool_status Backend::read_table(dbtool_session* s, const char* table_c, ArrowArrayStream* out, dbtool_error* error) {
  return sdk::guard(error, [&] {
    const std::string table = table_c != nullptr ? table_c : "";
    if (!fs::exists(s->path))
      throw Failure(DBTOOL_ERR_NOT_FOUND, "no table \"" + table + "\": " + s->location + " does not exist");
    // The stream owns its connection and statement; both go when the host releases it.
    struct Reader {
      Db db;
      std::unique_ptr<Statement> rows;
      std::vector<sdk::ColumnSpec> columns;
      bool done = false;  // a finished SQLite statement stepped again would start over
    };
    auto r = std::make_shared<Reader>();
    r->db = open_db(s->path, SQLITE_OPEN_READONLY);
    const auto names = table_names(r->db.get());
    if (std::find(names.begin(), names.end(), table) == names.end())
      throw Failure(DBTOOL_ERR_NOT_FOUND, "no table \"" + table + "\" in " + s->location);
    std::vector<std::pair<int, std::string>> key;  // (position in the key, column)
    {
      Statement info(r->db.get(), "SELECT name, type, pk FROM pragma_table_info(?) ORDER BY cid");
      sqlite3_bind_text(info.get(), 1, table.c_str(), -1, SQLITE_TRANSIENT);
      while (info.step()) {
        std::string name = reinterpret_cast<const char*>(sqlite3_column_text(info.get(), 0));
        r->columns.push_back({name, arrow_type(reinterpret_cast<const char*>(sqlite3_column_text(info.get(), 1)))});
        if (int pk = sqlite3_column_int(info.get(), 2); pk > 0) key.emplace_back(pk, name);
      }
    }
    std::sort(key.begin(), key.end());
    std::string order;
    for (const auto& k : key) order += (order.empty() ? "" : ", ") + quote(k.second);
    r->rows = std::make_unique<Statement>(
        r->db.get(), "SELECT * FROM " + quote(table) + " ORDER BY " + (order.empty() ? "rowid" : order));
    sdk::export_stream(
        r->columns,
        [r](ArrowArray* batch) {
          sdk::BatchBuilder b(r->columns);
          int64_t n = 0;
          sqlite3_stmt* st = r->rows->get();
          for (; n < 4096 && !r->done; ++n) {
            if (!r->rows->step()) {
              r->done = true;
              break;
            }
            for (size_t c = 0; c < r->columns.size(); ++c) {
              const int i = static_cast<int>(c);
              if (sqlite3_column_type(st, i) == SQLITE_NULL) {
                b.append_null(c);
                continue;
              }
              switch (r->columns[c].type) {
                case sdk::ColumnType::Int64:
                  b.append_int64(c, sqlite3_column_int64(st, i));
                  break;
                case sdk::ColumnType::Float64:
                  b.append_double(c, sqlite3_column_double(st, i));
                  break;
                case sdk::ColumnType::Bool:
                  b.append_bool(c, sqlite3_column_int(st, i) != 0);
                  break;
                case sdk::ColumnType::Binary: {
                  const void* p = sqlite3_column_blob(st, i);
                  b.append_bytes(c, std::string_view(static_cast<const char*>(p), sqlite3_column_bytes(st, i)));
                  break;
                }
                default: {
                  const unsigned char* p = sqlite3_column_text(st, i);
                  b.append_bytes(c, std::string_view(reinterpret_cast<const char*>(p), sqlite3_column_bytes(st, i)));
                }
              }
            }
          }
          if (n == 0) return false;
          b.finish(batch);
          return true;
        },
        out);
  });
}

dbtool_status Backend::backup(dbtool_session* s, const char* path_c, dbtool_text* report, dbtool_error* error) {
  return sdk::guard(error, [&] {
    const std::string path = path_c != nullptr ? path_c : "";
    if (!fs::exists(s->path)) throw Failure(DBTOOL_ERR_NOT_FOUND, s->location + " does not exist");
    // O_EXCL: a backup never replaces a file; 0600: it holds the users' data.
    int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0)
      throw Failure(errno == EEXIST ? DBTOOL_ERR_ALREADY_EXISTS : DBTOOL_ERR_IO,
                    "cannot create the backup " + path + ": " + std::strerror(errno));
    ::close(fd);
    RemoveUnlessKept guard_file{path};
    {
      Db from = open_db(s->path, SQLITE_OPEN_READONLY);
      Db to = open_db(path, SQLITE_OPEN_READWRITE);
      copy_database(from.get(), to.get(), "backing up " + s->location);
    }
    Db check = open_db(path, SQLITE_OPEN_READONLY);
    verify(check.get(), path);
    json::object r{{"bytes", static_cast<int64_t>(fs::file_size(path))},
                   {"format", "sqlite3"},
                   {"tables", table_report(check.get())}};
    sdk::set_text(report, json::serialize(r));
    guard_file.keep();
  });
}

dbtool_status Backend::restore(dbtool_session* s, const char* path_c, dbtool_text* report, dbtool_error* error) {
  return sdk::guard(error, [&] {
    const std::string path = path_c != nullptr ? path_c : "";
    Db backup = open_db(path, SQLITE_OPEN_READONLY);
    verify(backup.get(), path);
    // Rebuilt beside the target, checked, then renamed over it: the target is untouched until then.
    const std::string next = s->path + ".stage-" + std::to_string(::getpid());
    RemoveUnlessKept guard_file{next};
    {
      Db to = open_db(next, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE);
      copy_database(backup.get(), to.get(), "restoring " + path);
      verify(to.get(), next);
    }
    if (std::rename(next.c_str(), s->path.c_str()) != 0)
      throw Failure(DBTOOL_ERR_IO,
                    "cannot move the restored database into place: " + std::string(std::strerror(errno)));
    guard_file.keep();
    json::object r{{"bytes", static_cast<int64_t>(fs::file_size(s->path))},
                   {"format", "sqlite3"},
                   {"tables", table_report(open_db(s->path, SQLITE_OPEN_READONLY).get())}};
    sdk::set_text(report, json::serialize(r));
  });
}

dbtool_status Backend::stage_begin(dbtool_session* s, const char* schema_json, dbtool_stage** out,
                                   dbtool_error* error) {
  return sdk::guard(error, [&] {
    *out = nullptr;
    std::unique_ptr<dbtool_stage, StageDeleter> st(new dbtool_stage);
    st->schema = sdk::parse_portable_schema(schema_json != nullptr ? schema_json : "");
    st->session = s;
    st->path = s->path + ".stage-" + std::to_string(::getpid());
    ::unlink(st->path.c_str());
    st->db = open_db(st->path, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE).release();
    // Foreign keys are checked once, at commit, so tables may load in any order.
    exec(st->db, "PRAGMA foreign_keys = OFF; BEGIN");
    for (const auto& t : st->schema.tables) {
      exec(st->db, create_table(t));
      for (const auto& ix : t.indexes)
        exec(st->db, "CREATE INDEX " + quote(ix.name) + " ON " + quote(t.name) + " (" + quote_list(ix.columns) + ")");
    }
    *out = st.release();
  });
}

dbtool_status Backend::stage_load(dbtool_stage* st, const char* table_c, ArrowArrayStream* stream, int64_t* rows_loaded,
                                  dbtool_error* error) {
  int64_t loaded = 0;
  dbtool_status status = sdk::guard(error, [&] {
    sdk::StreamReader reader(stream);  // owns the stream from here on, whatever happens
    const std::string table = table_c != nullptr ? table_c : "";
    sdk::check_columns(st->schema.table(table), reader.columns());
    std::vector<std::string> names;
    std::string marks;
    for (const auto& c : reader.columns()) {
      names.push_back(c.name);
      marks += marks.empty() ? "?" : ", ?";
    }
    Statement insert(st->db, "INSERT INTO " + quote(table) + " (" + quote_list(names) + ") VALUES (" + marks + ")");
    sqlite3_stmt* ins = insert.get();
    sdk::ArrayHolder batch;
    while (reader.next(batch)) {
      if (sdk::cancelled()) throw Failure(DBTOOL_ERR_CANCELLED, "loading " + table + ": cancelled");
      // Dates and datetimes arrive as text: only their canonical forms are data (CONTRACT.md).
      sdk::check_temporal_values(st->schema.table(table), reader.columns(), batch.a);
      sdk::BatchView v(reader.columns(), batch.a);
      for (int64_t r = 0; r < v.rows(); ++r) {
        for (size_t c = 0; c < v.columns(); ++c) {
          const int p = static_cast<int>(c) + 1;
          if (v.is_null(c, r)) {
            sqlite3_bind_null(ins, p);
            continue;
          }
          switch (v.spec(c).type) {
            case sdk::ColumnType::Int64:
              sqlite3_bind_int64(ins, p, v.get_int64(c, r));
              break;
            case sdk::ColumnType::Bool:
              sqlite3_bind_int(ins, p, v.get_bool(c, r) ? 1 : 0);
              break;
            case sdk::ColumnType::Float64:
              sqlite3_bind_double(ins, p, v.get_double(c, r));
              break;
            case sdk::ColumnType::Binary: {
              std::string_view b = v.get_bytes(c, r);
              sqlite3_bind_blob64(ins, p, b.data(), b.size(), SQLITE_TRANSIENT);
              break;
            }
            default: {
              std::string_view t = v.get_bytes(c, r);
              sqlite3_bind_text64(ins, p, t.data(), t.size(), SQLITE_TRANSIENT, SQLITE_UTF8);
            }
          }
        }
        insert.step();
        sqlite3_reset(ins);
        ++loaded;
      }
    }
  });
  if (rows_loaded != nullptr) *rows_loaded = loaded;
  return status;
}

dbtool_status Backend::stage_count(dbtool_stage* st, const char* table, int64_t* rows, dbtool_error* error) {
  return sdk::guard(error, [&] { *rows = count_rows(st->db, st->schema.table(table != nullptr ? table : "").name); });
}

dbtool_status Backend::stage_commit(dbtool_stage* raw, dbtool_text* report, dbtool_error* error) {
  std::unique_ptr<dbtool_stage, StageDeleter> st(raw);  // gone after this call, success or not
  return sdk::guard(error, [&] {
    {
      Statement orphans(st->db, "PRAGMA foreign_key_check");
      if (orphans.step())
        throw Failure(DBTOOL_ERR_CONSTRAINT,
                      std::string("a row of ") + reinterpret_cast<const char*>(sqlite3_column_text(orphans.get(), 0)) +
                          " references a row of " +
                          reinterpret_cast<const char*>(sqlite3_column_text(orphans.get(), 2)) + " that does not exist",
                      "23000");
    }
    exec(st->db, "COMMIT");
    verify(st->db, st->path);
    int rc = sqlite3_close(st->db);
    st->db = nullptr;
    if (rc != SQLITE_OK) fail(nullptr, rc, "closing the new database");
    // The cut-over: one rename, atomic on POSIX file systems.
    if (std::rename(st->path.c_str(), st->session->path.c_str()) != 0)
      throw Failure(DBTOOL_ERR_IO, "cannot move the new database into place: " + std::string(std::strerror(errno)));
    sdk::set_text(report, "{}");
  });
}

void Backend::stage_abort(dbtool_stage* st) {
  if (st != nullptr) StageDeleter()(st);
}

}  // namespace dbtool_template
