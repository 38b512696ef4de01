// Stages: a new database file beside the target, loaded fast (no journal: the file is thrown
// away unless it is finished), verified, then renamed over the target in one atomic step. A
// restore stage (ABI 1.3) starts as the verified copy of a backup, to which loads append.
#include "sqlite_backend.hpp"

#include <boost/json.hpp>

#include <algorithm>

namespace dbtool::sqlite {
namespace fs = std::filesystem;
using sdk::Failure;

namespace {

constexpr size_t kRowsPerStatement = 32;

// Binds cell (c, r) of `v` to parameter p of `ins`; text and blobs point into the batch.
void bind_cell(sqlite3_stmt* ins, int p, const sdk::BatchView& v, size_t c, int64_t r) {
  if (v.is_null(c, r)) {
    sqlite3_bind_null(ins, p);
    return;
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
    case sdk::ColumnType::Utf8: {
      auto s = v.get_bytes(c, r);
      sqlite3_bind_text64(ins, p, s.data(), s.size(), SQLITE_STATIC, SQLITE_UTF8);
      break;
    }
    case sdk::ColumnType::Binary: {
      auto s = v.get_bytes(c, r);
      sqlite3_bind_blob64(ins, p, s.empty() ? "" : s.data(), s.size(), SQLITE_STATIC);
      break;
    }
    case sdk::ColumnType::Null:
      sqlite3_bind_null(ins, p);
      break;
  }
}

// The tables with a foreign key the host does not vouch for (CONTRACT.md, "guaranteed_by_host"):
// PRAGMA foreign_key_check works per table, so a table with one such key is checked whole.
std::vector<std::string> tables_to_check_for_foreign_keys(const sdk::PortableSchema& schema) {
  std::vector<std::string> out;
  for (const auto& t : schema.tables)
    for (const auto& fk : t.foreign_keys)
      if (!fk.guaranteed_by_host) {
        out.push_back(t.name);
        break;
      }
  return out;
}

// quick_check reads the whole new file and the foreign-key check the tables with a key the host
// does not vouch for, and nothing else runs at this point of a migration: quick_check on the
// stage's connection, the foreign keys on a second (read-only) one, side by side on two cores.
// Both must pass.
void verify_new_database(dbtool_stage* st) {
  const std::string what = "the new database";
  const std::vector<std::string> tables = tables_to_check_for_foreign_keys(st->schema);
  if (tables.empty()) return check_integrity(st->db, what, /*thorough=*/false);
  side_by_side([&] { check_integrity(st->db, what, /*thorough=*/false); },
               [&] {
                 Connection reader(st->file, SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX);
                 for (const auto& t : tables) check_foreign_keys(reader, what, t);
               });
}

void drop_stage(dbtool_stage* st) {
  st->flushing.reset();
  st->db.close();
  std::error_code ec;
  fs::remove(st->file, ec);
  st->session->has_stage = false;
}

// Makes a stage with `build` (which sets its file first thing it creates one) and hands it out;
// on failure the file `build` created is removed and nothing is handed out.
dbtool_status make_stage(dbtool_stage** out, dbtool_error* error, const std::function<void(dbtool_stage&)>& build) {
  auto st = std::make_unique<dbtool_stage>();
  dbtool_status status = sdk::guard(error, [&] {
    *out = nullptr;
    build(*st);
  });
  if (status != DBTOOL_OK) {
    if (!st->file.empty()) {
      st->db.close();
      std::error_code ec;
      fs::remove(st->file, ec);
    }
    return status;
  }
  *out = st.release();
  return DBTOOL_OK;
}

// Opens the stage's file for loading inside one transaction: no journal and no flushes, as a
// failure throws the file away, and foreign keys checked once at commit, not row by row. One
// thread at a time uses a stage (the ABI's rule), so no per-call connection mutex.
void open_for_loading(dbtool_stage& st, const std::string& what) {
  st.db = Connection(st.file, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX);
  st.db.exec("PRAGMA journal_mode=OFF; PRAGMA synchronous=OFF; PRAGMA foreign_keys=OFF; PRAGMA cache_size=-16384",
             what);
  st.db.exec("BEGIN", what);
  st.flushing = std::make_unique<BackgroundFlush>(st.file);
}

}  // namespace

dbtool_status Backend::stage_begin(dbtool_session* s, const char* schema_json, dbtool_stage** out,
                                   dbtool_error* error) {
  return make_stage(out, error, [&](dbtool_stage& st) {
    refuse_if_read_only(s, "stage_begin");
    if (s->has_stage) throw Failure(DBTOOL_ERR_INVALID_ARGUMENT, "this session already has a stage");
    std::vector<std::string> ddl;
    st.schema = sdk::parse_portable_schema(schema_json ? schema_json : "");
    schema_to_ddl(st.schema, ddl, st.index_ddl);
    st.session = s;
    if (!s->baseline_version) s->baseline_version = target_version(s);
    if (!fs::is_directory(s->path.parent_path()))
      throw Failure(DBTOOL_ERR_NOT_FOUND, "the folder " + s->path.parent_path().string() + " does not exist");
    st.file = new_stage_file(s->path);
    open_for_loading(st, "preparing the new database");
    for (const auto& statement : ddl) st.db.exec(statement, "creating the schema");
    s->has_stage = true;
  });
}

dbtool_status Backend::restore_stage(dbtool_session* s, const char* path, const char* schema_json, dbtool_stage** out,
                                     dbtool_text* report, dbtool_error* error) {
  return make_stage(out, error, [&](dbtool_stage& st) {
    refuse_if_read_only(s, "restore_stage");
    if (s->has_stage) throw Failure(DBTOOL_ERR_INVALID_ARGUMENT, "this session already has a stage");
    // Parsed before the copy: a bad schema costs nothing.
    st.schema = sdk::parse_portable_schema(schema_json ? schema_json : "");
    st.session = s;
    st.restored = true;
    const std::string copied = copy_verified_backup(s, fs::path(path ? path : ""), st.file);
    open_for_loading(st, "preparing the restored copy");
    // The backup's tables stay as it holds them; only the ones it lacks are created, with their
    // indexes built at commit like any stage's.
    sdk::PortableSchema missing;
    for (const auto& t : st.schema.tables)
      if (!table_exists(st.db, t.name)) missing.tables.push_back(t);
    std::vector<std::string> ddl;
    schema_to_ddl(missing, ddl, st.index_ddl);
    for (const auto& statement : ddl) st.db.exec(statement, "creating the tables the backup lacks");
    s->has_stage = true;
    sdk::set_text(report, copied);
  });
}

dbtool_status Backend::stage_load(dbtool_stage* st, const char* table_c, ArrowArrayStream* stream, int64_t* rows,
                                  dbtool_error* error) {
  int64_t loaded = 0;
  dbtool_status status = sdk::guard(error, [&] {
    sdk::StreamReader reader(stream);  // owns the stream from here on, whatever happens
    const std::string table = table_c ? table_c : "";
    sdk::check_columns(st->schema.table(table), reader.columns());
    st->loaded_tables.insert(table);
    const size_t ncols = reader.columns().size();
    std::string names, marks;
    for (const auto& c : reader.columns()) {
      names += (names.empty() ? "" : ", ") + quote_identifier(c.name);
      marks += marks.empty() ? "?" : ", ?";
    }
    // Rows go in kRowsPerStatement at a time (a multi-row VALUES costs SQLite far less per row
    // than one statement per row), the rest one by one. OR FAIL keeps the rows a failing
    // statement put in before the failing one (with the journal off, plain ABORT leaves them
    // too, but undefined), so the changes it made say which row failed.
    const auto max_parameters = static_cast<size_t>(sqlite3_limit(st->db.get(), SQLITE_LIMIT_VARIABLE_NUMBER, -1));
    const size_t per_statement =
        ncols == 0 ? 1 : std::max<size_t>(1, std::min(kRowsPerStatement, max_parameters / ncols));
    const std::string prefix = "INSERT OR FAIL INTO " + quote_identifier(table) + " (" + names + ") VALUES ";
    std::string many_values;
    for (size_t k = 0; k < per_statement; ++k) many_values += (k ? ", (" : "(") + marks + ")";
    Statement one(st->db.get(), prefix + "(" + marks + ")");
    Statement many(st->db.get(), prefix + many_values);
    st->session->busy = st->db.get();
    struct Idle {
      dbtool_session* s;
      ~Idle() { s->busy = nullptr; }
    } idle{st->session};
    // The primary key's columns in the batch, to name a duplicated key by its values.
    const sdk::PortableTable& schema_table = st->schema.table(table);
    std::vector<size_t> pk_in_batch;
    for (const auto& k : schema_table.primary_key)
      for (size_t c = 0; c < ncols; ++c)
        if (reader.columns()[c].name == k) pk_in_batch.push_back(c);
    sdk::ArrayHolder batch;
    while (reader.next(batch)) {
      if (cancelled()) throw Failure(DBTOOL_ERR_CANCELLED, "loading " + table + ": cancelled");
      sdk::check_temporal_values(schema_table, reader.columns(), batch.a);
      sdk::BatchView v(reader.columns(), batch.a);
      // Rows [first, first + n) of the batch into `ins`, whose parameters hold n rows.
      auto insert = [&](sqlite3_stmt* ins, int64_t first, int64_t n) {
        int p = 1;
        for (int64_t r = first; r < first + n; ++r)
          for (size_t c = 0; c < ncols; ++c, ++p) bind_cell(ins, p, v, c, r);
        const int64_t changes_before = sqlite3_total_changes64(st->db.get());
        const int rc = sqlite3_step(ins);
        sqlite3_reset(ins);
        if (rc == SQLITE_DONE) {
          loaded += n;
          return;
        }
        const int64_t put_in = sqlite3_total_changes64(st->db.get()) - changes_before;
        const int64_t r = first + std::clamp<int64_t>(put_in, 0, n - 1);
        const std::string where =
            "loading " + table + ", row " + std::to_string(loaded + r - first + 1) + " of this load";
        // Unique keys are built at commit, so a key that fails here is the primary key.
        if (sqlite3_extended_errcode(st->db.get()) == SQLITE_CONSTRAINT_PRIMARYKEY &&
            pk_in_batch.size() == schema_table.primary_key.size()) {
          std::vector<std::string> values;
          for (size_t c : pk_in_batch) values.push_back(sdk::shown_value(v, c, r));
          throw Failure(
              DBTOOL_ERR_CONSTRAINT,
              where + ": " + sdk::duplicate_key_message(table, "primary key", schema_table.primary_key, values),
              "23000", SQLITE_CONSTRAINT_PRIMARYKEY);
        }
        fail(st->db.get(), rc, where);
      };
      const auto step = static_cast<int64_t>(per_statement);
      int64_t r = 0;
      for (; r + step <= v.rows(); r += step) insert(many.get(), r, step);
      for (; r < v.rows(); ++r) insert(one.get(), r, 1);
    }
  });
  if (rows != nullptr) *rows = loaded;
  return status;
}

dbtool_status Backend::stage_count(dbtool_stage* st, const char* table_c, int64_t* rows, dbtool_error* error) {
  return sdk::guard(error, [&] {
    const std::string table = table_c ? table_c : "";
    st->schema.table(table);  // only tables of the schema
    *rows = st->db.scalar_int("SELECT count(*) FROM " + quote_identifier(table));
  });
}

dbtool_status Backend::stage_commit(dbtool_stage* st_raw, dbtool_text* report, dbtool_error* error) {
  std::unique_ptr<dbtool_stage> st(st_raw);
  dbtool_status status = sdk::guard(error, [&] {
    try {
      for (const auto& statement : st->index_ddl) st->db.exec(statement, "building the indexes");
    } catch (const Failure& f) {
      if (f.status() != DBTOOL_ERR_CONSTRAINT) throw;
      const std::string dup = find_duplicate_key(st->db, st->schema);
      if (dup.empty()) throw;
      throw Failure(DBTOOL_ERR_CONSTRAINT, "building the indexes: " + dup, f.sqlstate(), f.vendor_code());
    }
    st->db.exec("COMMIT", "finishing the new database");
    if (st->restored) {
      // The rest of the file is a copy proven identical to the verified backup: only what was
      // appended needs checking, and a row can only break the foreign keys of its own table.
      for (const auto& table : st->loaded_tables) check_foreign_keys(st->db, "the restored database", table);
    } else {
      verify_new_database(st.get());
    }
    st->db.exec("PRAGMA journal_mode=DELETE", "finishing the new database");
    st->db.close();
    st->flushing.reset();
    swap_in(st->session, st->file);
    st->session->has_stage = false;
    boost::json::object o{{"path", st->session->path.string()}};
    sdk::set_text(report, boost::json::serialize(o));
  });
  if (status != DBTOOL_OK) drop_stage(st.get());
  return status;
}

void Backend::stage_abort(dbtool_stage* st) {
  if (st == nullptr) return;
  drop_stage(st);
  delete st;
}

}  // namespace dbtool::sqlite
