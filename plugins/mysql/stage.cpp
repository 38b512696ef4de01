// Stages: a staging database beside the live one, loaded with array executions of a one-row
// INSERT (MariaDB), multi-row prepared INSERTs or LOAD DATA LOCAL INFILE (infile.cpp) in large
// transactions, foreign keys checked once at the end (but those the host guarantees), swapped
// in with one RENAME TABLE.
#include "mysql_backend.hpp"

#include <boost/json.hpp>

#include <mysqld_error.h>

#include <algorithm>
#include <cstring>

namespace dbtool::mysql {
using sdk::Failure;

namespace {

constexpr size_t kRowsPerStatement = 256;
// Rows per array execution (load=bulk), and the most bytes of text and binary values in one
// execution or multi-row statement (both paths): a whole batch in a round trip, well inside the
// server's max_allowed_packet (16 MiB by default).
constexpr int64_t kRowsPerBulk = 8192;
constexpr size_t kBytesPerBulk = 4u << 20;
constexpr int64_t kRowsPerTransaction = 50000;
// The load path when the URI has no load=; bench/mysql-load-bench measured both.
constexpr bool kInfileByDefault = false;

// What a failed execution of `st` is: a constraint (SQLSTATE 23xxx), bad data (22xxx), a
// cancel (the query killed), or the server's error.
Failure statement_failure(MYSQL_STMT* st, const std::string& what) {
  const unsigned err = mysql_stmt_errno(st);
  const std::string sqlstate = mysql_stmt_sqlstate(st);
  const dbtool_status status = sqlstate.rfind("23", 0) == 0   ? DBTOOL_ERR_CONSTRAINT
                               : sqlstate.rfind("22", 0) == 0 ? DBTOOL_ERR_DATA
                               : err == 1317                  ? DBTOOL_ERR_CANCELLED
                                                              : DBTOOL_ERR_BACKEND;
  return Failure(status, what + ": " + mysql_stmt_error(st), sqlstate, static_cast<int32_t>(err));
}

// `prefix` ("INSERT INTO t (a, b) VALUES ") with `rows` rows of parameters, prepared on `m`.
MYSQL_STMT* prepare_insert(MYSQL* m, const std::string& prefix, size_t columns, size_t rows) {
  std::string row = "(";
  for (size_t c = 0; c < columns; ++c) row += c ? ",?" : "?";
  row += ")";
  std::string sql = prefix;
  for (size_t r = 0; r < rows; ++r) sql += (r ? "," : "") + row;
  MYSQL_STMT* st = mysql_stmt_init(m);
  if (st != nullptr && mysql_stmt_prepare(st, sql.data(), sql.size()) == 0) return st;
  if (st != nullptr) mysql_stmt_close(st);
  fail(m, "preparing the insert");
}

// Whether the server takes arrays of parameters in one execution (COM_STMT_BULK_EXECUTE:
// MariaDB 10.2 and later; MySQL does not).
bool server_takes_bulk(MYSQL* m) {
  unsigned long caps = 0, extended = 0;
  if (mariadb_get_infov(m, MARIADB_CONNECTION_SERVER_CAPABILITIES, &caps) != 0) return false;
  if (mariadb_get_infov(m, MARIADB_CONNECTION_EXTENDED_SERVER_CAPABILITIES, &extended) != 0) return false;
  return (caps & CLIENT_MYSQL) == 0 && (extended & (MARIADB_CLIENT_STMT_BULK_OPERATIONS >> 32)) != 0;
}

}  // namespace

// A prepared INSERT of `rows` rows, with bind buffers that point into the Arrow batch.
class MultiInsert {
 public:
  MultiInsert(MYSQL* m, const std::string& prefix, size_t columns, size_t rows)
      : columns_(columns), rows_(rows), st_(prepare_insert(m, prefix, columns, rows)) {
    binds_.resize(columns * rows);
    nulls_.resize(columns * rows);
    ints_.resize(columns * rows);
    doubles_.resize(columns * rows);
    lengths_.resize(columns * rows);
  }
  ~MultiInsert() {
    if (st_ != nullptr) mysql_stmt_close(st_);
  }

  // Binds rows [first, first + rows_) of `v` and executes.
  void run(const sdk::BatchView& v, int64_t first, const std::string& what) {
    std::memset(binds_.data(), 0, binds_.size() * sizeof(MYSQL_BIND));
    for (size_t r = 0; r < rows_; ++r)
      for (size_t c = 0; c < columns_; ++c) {
        size_t k = r * columns_ + c;
        MYSQL_BIND& b = binds_[k];
        int64_t row = first + static_cast<int64_t>(r);
        nulls_[k] = v.is_null(c, row);
        b.is_null = &nulls_[k];
        if (nulls_[k]) {
          b.buffer_type = MYSQL_TYPE_NULL;
          continue;
        }
        switch (v.spec(c).type) {
          case sdk::ColumnType::Int64:
            ints_[k] = v.get_int64(c, row);
            b.buffer_type = MYSQL_TYPE_LONGLONG;
            b.buffer = &ints_[k];
            break;
          case sdk::ColumnType::Bool:
            ints_[k] = v.get_bool(c, row) ? 1 : 0;
            b.buffer_type = MYSQL_TYPE_LONGLONG;
            b.buffer = &ints_[k];
            break;
          case sdk::ColumnType::Float64:
            doubles_[k] = v.get_double(c, row);
            b.buffer_type = MYSQL_TYPE_DOUBLE;
            b.buffer = &doubles_[k];
            break;
          case sdk::ColumnType::Utf8:
          case sdk::ColumnType::Binary: {
            auto s = v.get_bytes(c, row);
            b.buffer_type = v.spec(c).type == sdk::ColumnType::Utf8 ? MYSQL_TYPE_STRING : MYSQL_TYPE_BLOB;
            b.buffer = const_cast<char*>(s.data() ? s.data() : "");
            lengths_[k] = s.size();
            b.buffer_length = s.size();
            b.length = &lengths_[k];
            break;
          }
          case sdk::ColumnType::Null:
            b.buffer_type = MYSQL_TYPE_NULL;
            break;
        }
      }
    if (mysql_stmt_bind_param(st_, binds_.data()) != 0 || mysql_stmt_execute(st_) != 0)
      throw statement_failure(st_, what);
  }
  size_t rows() const { return rows_; }

 private:
  size_t columns_, rows_;
  MYSQL_STMT* st_ = nullptr;
  std::vector<MYSQL_BIND> binds_;
  std::vector<my_bool> nulls_;
  std::vector<long long> ints_;
  std::vector<double> doubles_;
  std::vector<unsigned long> lengths_;
};

// A one-row INSERT executed with arrays of parameters, one array per column (MariaDB's array
// binding): a whole run of rows in one round trip, the values taken from the Arrow batch's
// columns as they are.
class BulkInsert {
 public:
  BulkInsert(MYSQL* m, const std::string& prefix, size_t columns)
      : columns_(columns), st_(prepare_insert(m, prefix, columns, 1)) {
    binds_.resize(columns);
    cols_.resize(columns);
  }
  ~BulkInsert() {
    if (st_ != nullptr) mysql_stmt_close(st_);
  }

  // Inserts rows [first, first + n) of `v` in one execution.
  void run(const sdk::BatchView& v, int64_t first, int64_t n, const std::string& what) {
    std::memset(binds_.data(), 0, binds_.size() * sizeof(MYSQL_BIND));
    const size_t rows = static_cast<size_t>(n);
    for (size_t c = 0; c < columns_; ++c) {
      Column& col = cols_[c];
      col.indicators.assign(rows, STMT_INDICATOR_NONE);
      MYSQL_BIND& b = binds_[c];
      b.u.indicator = col.indicators.data();
      const sdk::ColumnType type = v.spec(c).type;
      if (type == sdk::ColumnType::Int64 || type == sdk::ColumnType::Bool) {
        col.ints.resize(rows);
        b.buffer_type = MYSQL_TYPE_LONGLONG;
        b.buffer = col.ints.data();
      } else if (type == sdk::ColumnType::Float64) {
        col.doubles.resize(rows);
        b.buffer_type = MYSQL_TYPE_DOUBLE;
        b.buffer = col.doubles.data();
      } else if (type == sdk::ColumnType::Utf8 || type == sdk::ColumnType::Binary) {
        col.texts.resize(rows);
        col.lengths.resize(rows);
        b.buffer_type = type == sdk::ColumnType::Utf8 ? MYSQL_TYPE_STRING : MYSQL_TYPE_BLOB;
        b.buffer = col.texts.data();
        b.length = col.lengths.data();
      } else {
        b.buffer_type = MYSQL_TYPE_NULL;
      }
      for (size_t r = 0; r < rows; ++r) {
        const int64_t row = first + static_cast<int64_t>(r);
        if (type == sdk::ColumnType::Null || v.is_null(c, row)) {
          col.indicators[r] = STMT_INDICATOR_NULL;
          continue;
        }
        switch (type) {
          case sdk::ColumnType::Int64:
            col.ints[r] = v.get_int64(c, row);
            break;
          case sdk::ColumnType::Bool:
            col.ints[r] = v.get_bool(c, row) ? 1 : 0;
            break;
          case sdk::ColumnType::Float64:
            col.doubles[r] = v.get_double(c, row);
            break;
          case sdk::ColumnType::Utf8:
          case sdk::ColumnType::Binary: {
            auto s = v.get_bytes(c, row);
            col.texts[r] = s.data() ? s.data() : "";
            col.lengths[r] = s.size();
            break;
          }
          case sdk::ColumnType::Null:
            break;
        }
      }
    }
    unsigned int size = static_cast<unsigned int>(rows);
    if (mysql_stmt_attr_set(st_, STMT_ATTR_ARRAY_SIZE, &size) != 0 || mysql_stmt_bind_param(st_, binds_.data()) != 0 ||
        mysql_stmt_execute(st_) != 0)
      throw statement_failure(st_, what);
    // Every row of the array is one inserted row; anything else is not a load to go on from.
    if (const my_ulonglong done = mysql_stmt_affected_rows(st_); done != static_cast<my_ulonglong>(rows))
      throw Failure(DBTOOL_ERR_BACKEND,
                    what + ": the server inserted " + std::to_string(done) + " of " + std::to_string(rows) + " rows");
  }

 private:
  struct Column {
    std::vector<char> indicators;
    std::vector<long long> ints;
    std::vector<double> doubles;
    std::vector<const char*> texts;
    std::vector<unsigned long> lengths;
  };
  size_t columns_;
  MYSQL_STMT* st_ = nullptr;
  std::vector<MYSQL_BIND> binds_;
  std::vector<Column> cols_;
};

Loader::Loader(dbtool_stage* st, bool infile)
    : conn(st->session->target, st->session->password, st->database, infile), stage(st) {
  // Keys are checked once at commit; unique and primary keys stay enforced row by row.
  conn.query("SET SESSION foreign_key_checks = 0", "preparing the load");
  conn.query("SET SESSION sql_mode = 'STRICT_ALL_TABLES,NO_ENGINE_SUBSTITUTION,NO_AUTO_VALUE_ON_ZERO'",
             "preparing the load");
  conn.query("SET autocommit = 0", "preparing the load");
  std::lock_guard<std::mutex> lock(st->session->load_threads_mutex);
  st->session->load_threads.insert(mysql_thread_id(conn.get()));
}

Loader::~Loader() {
  {
    std::lock_guard<std::mutex> lock(stage->session->load_threads_mutex);
    stage->session->load_threads.erase(mysql_thread_id(conn.get()));
  }
  inserts.clear();
  bulk_inserts.clear();
  // Closing with a transaction open rolls it back: the stage is being dropped then.
  conn.close();
}

void Loader::commit(const std::string& what) {
  conn.query("COMMIT", what);
  uncommitted = 0;
  {
    std::lock_guard<std::mutex> lock(stage->loaders_mutex);
    pending = loading;
  }
  stage->loader_freed.notify_all();
}

namespace {

// The loader a stage_load of `table` uses, marked busy: the one whose transaction holds rows of
// the table (so a repeated key meets its first row on the same connection, at once); else an
// idle one holding none; else a new connection, up to kMostLoaders (fewer when the server
// refuses one); else an idle one, its transaction committed first; else the first one freed.
// A transaction thus only ever holds one table's rows.
Loader& acquire_loader(dbtool_stage* st, const std::string& table) {
  std::unique_lock<std::mutex> lock(st->loaders_mutex);
  for (;;) {
    Loader* holder = nullptr;
    Loader* idle = nullptr;
    for (const auto& l : st->loaders) {
      if (l->pending == table) holder = l.get();
      if (!l->busy && (idle == nullptr || (l->pending.empty() && !idle->pending.empty()))) idle = l.get();
    }
    Loader* pick = nullptr;
    bool commit_first = false;
    if (holder != nullptr && holder->busy && holder->loading == table)
      throw Failure(DBTOOL_ERR_INVALID_ARGUMENT,
                    "loading " + table +
                        ": another stage_load of this table is running (loads of one table never "
                        "overlap: CONTRACT.md, \"Threads\")");
    if (holder != nullptr) {
      pick = holder->busy ? nullptr : holder;  // busy committing for another table: wait for it
    } else if (idle != nullptr && idle->pending.empty()) {
      pick = idle;
    } else if (st->loaders.size() < st->most_loaders) {
      try {
        st->loaders.push_back(std::make_unique<Loader>(st, st->infile));
        pick = st->loaders.back().get();
      } catch (const Failure& f) {
        // A server at its max_connections (or a user at max_user_connections) refuses the
        // extra connection: load on those there are, one table after another if need be.
        const int code = f.vendor_code();
        if (st->loaders.empty() ||
            (code != ER_CON_COUNT_ERROR && code != ER_TOO_MANY_USER_CONNECTIONS && code != ER_USER_LIMIT_REACHED))
          throw;
        st->most_loaders = st->loaders.size();
        log(DBTOOL_LOG_INFO, "the server refused another load connection (" + std::string(f.what()) + "); loading on " +
                                 std::to_string(st->most_loaders) + " of them");
        continue;
      }
    } else if (idle != nullptr) {
      pick = idle;
      commit_first = true;
    }
    if (pick == nullptr) {
      st->loader_freed.wait(lock);
      continue;
    }
    pick->busy = true;
    pick->loading = table;
    if (commit_first) {
      lock.unlock();
      try {
        pick->commit("loading " + table);
      } catch (...) {
        lock.lock();
        pick->busy = false;
        pick->loading.clear();
        st->loader_freed.notify_all();
        throw;
      }
      return *pick;
    }
    pick->pending = table;
    return *pick;
  }
}

void release_loader(dbtool_stage* st, Loader& l) {
  {
    std::lock_guard<std::mutex> lock(st->loaders_mutex);
    l.busy = false;
    l.loading.clear();
  }
  st->loader_freed.notify_all();
}

// Commits every loader's open transaction, so that the stage's own connection sees every row.
// Only between loads (the contract keeps stage_count and stage_commit apart from them).
void commit_loaders(dbtool_stage* st, const std::string& what) {
  std::vector<Loader*> open;
  {
    std::lock_guard<std::mutex> lock(st->loaders_mutex);
    for (const auto& l : st->loaders) {
      if (l->busy)
        throw Failure(DBTOOL_ERR_INVALID_ARGUMENT, what + " while a stage_load is running (CONTRACT.md, \"Threads\")");
      if (l->uncommitted > 0 || !l->pending.empty()) open.push_back(l.get());
    }
  }
  for (Loader* l : open) l->commit(what);
}

// The loader's prepared INSERT of `rows` rows into the table `prefix` names, prepared on first use.
MultiInsert& multi_insert(Loader& l, const std::string& prefix, size_t columns, size_t rows) {
  std::unique_ptr<MultiInsert>& statement = l.inserts[{prefix, rows}];
  if (!statement) statement = std::make_unique<MultiInsert>(l.conn.get(), prefix, columns, rows);
  return *statement;
}

// After a statement of rows [first, first + n) of `v` hit a duplicate key (ER_DUP_ENTRY): inserts
// them one at a time to find the row, and throws the duplicate named by table, key, columns and
// the row's values. The stage is thrown away after this, so the rows inserted on the way do not
// matter. Rethrows `original` when the key cannot be told.
[[noreturn]] void name_duplicate(dbtool_stage* st, Loader& l, const std::string& table, const std::string& prefix,
                                 const sdk::BatchView& v, int64_t first, int64_t n, int64_t loaded,
                                 const Failure& original) {
  const std::string where = "loading " + table;
  MultiInsert& one = multi_insert(l, prefix, v.columns(), 1);
  for (int64_t r = first; r < first + n; ++r) {
    try {
      one.run(v, r, where);
    } catch (const Failure& f) {
      if (f.vendor_code() != ER_DUP_ENTRY) throw;
      const DuplicatedKey key = duplicated_key(st->schema.table(table), f.what());
      if (key.columns == nullptr) throw;
      std::vector<std::string> values;
      for (const auto& c : *key.columns)
        for (size_t i = 0; i < v.columns(); ++i)
          if (v.spec(i).name == c) values.push_back(sdk::shown_value(v, i, r));
      if (values.size() != key.columns->size()) values.clear();
      throw Failure(DBTOOL_ERR_CONSTRAINT,
                    where + ", row " + std::to_string(loaded + r - first + 1) +
                        " of this load: " + sdk::duplicate_key_message(table, key.shown_name(), *key.columns, values),
                    f.sqlstate(), f.vendor_code());
    }
  }
  throw original;
}

// The size in bytes of the text and binary values of row `row` of `v`.
size_t value_bytes(const sdk::BatchView& v, int64_t row) {
  size_t n = 0;
  for (size_t c = 0; c < v.columns(); ++c) {
    const sdk::ColumnType t = v.spec(c).type;
    if ((t == sdk::ColumnType::Utf8 || t == sdk::ColumnType::Binary) && !v.is_null(c, row))
      n += v.get_bytes(c, row).size();
  }
  return n;
}

void drop(dbtool_stage* st) {
  // Close the load connections first: their open transactions hold metadata locks on the stage's
  // tables, and DROP DATABASE from the session connection would wait on them forever.
  st->loaders.clear();
  if (st->session->conn)
    mysql_query(st->session->conn.get(), ("DROP DATABASE IF EXISTS " + quote_identifier(st->database)).c_str());
  st->session->has_stage = false;
}

}  // namespace

}  // namespace dbtool::mysql

dbtool_stage::~dbtool_stage() = default;

namespace dbtool::mysql {

dbtool_status Backend::stage_begin(dbtool_session* s, const char* schema_json, dbtool_stage** out,
                                   dbtool_error* error) {
  auto st = std::make_unique<dbtool_stage>();
  bool created = false;
  dbtool_status status = sdk::guard(error, [&] {
    *out = nullptr;
    refuse_if_read_only(s, "stage_begin");
    if (s->has_stage) throw Failure(DBTOOL_ERR_INVALID_ARGUMENT, "this session already has a stage");
    if (!s->exists) throw Failure(DBTOOL_ERR_NOT_FOUND, "database " + s->target.database + " does not exist");
    st->session = s;
    if (!s->baseline) s->baseline = target_state(s);
    // MySQL refuses to move a table that has triggers into another database, which the
    // cut-over does with the live tables: say so before anything is loaded.
    if (auto triggers = triggers_json(s->conn, s->target.database); !triggers.empty()) {
      std::string names;
      for (const auto& t : triggers)
        names += std::string(names.empty() ? "" : ", ") + std::string(t.at("name").as_string()) + " on " +
                 std::string(t.at("table").as_string());
      throw Failure(DBTOOL_ERR_NOT_SUPPORTED,
                    "database " + s->target.database + " has triggers (" + names +
                        "): MySQL cannot set a table with triggers aside at the cut-over; keep their definitions "
                        "(SHOW CREATE TRIGGER), drop them, and run again");
    }
    st->schema = sdk::parse_portable_schema(schema_json ? schema_json : "");
    const std::vector<std::string> ddl = schema_to_ddl(s->conn.get(), st->schema, s->collation);
    st->database = new_stage_database(s->target.database);
    s->conn.query(
        "CREATE DATABASE " + quote_identifier(st->database) + " CHARACTER SET utf8mb4 COLLATE " + s->collation,
        "creating the staging database");
    created = true;
    st->infile = s->target.load == "infile" || (s->target.load.empty() && kInfileByDefault);
    // The first load connection is also the stage's own: it creates the tables (foreign keys
    // checked as they are declared), counts them and checks the keys at the end. Three
    // connections in all for a run (the session's, this one, a read of the run history), as
    // before loads ran side by side; more only where the server allows them.
    st->loaders.push_back(std::make_unique<Loader>(st.get(), st->infile));
    Connection& c = st->control();
    // Array executions where the server takes them (MariaDB), unless another path was asked for;
    // load=bulk on a server without them loads with multi-row INSERTs.
    st->bulk = !st->infile && s->target.load != "insert" && server_takes_bulk(c.get());
    c.query("SET SESSION foreign_key_checks = 1", "creating the tables");
    for (size_t i = 0; i < ddl.size(); ++i) c.query(ddl[i], "creating table " + st->schema.tables[i].name);
    c.query("SET SESSION foreign_key_checks = 0", "preparing the load");
    s->has_stage = true;
  });
  if (status != DBTOOL_OK) {
    st->loaders.clear();
    if (created) mysql_query(s->conn.get(), ("DROP DATABASE IF EXISTS " + quote_identifier(st->database)).c_str());
    return status;
  }
  *out = st.release();
  return DBTOOL_OK;
}

dbtool_status Backend::stage_load(dbtool_stage* st, const char* table_c, ArrowArrayStream* stream, int64_t* rows,
                                  dbtool_error* error) {
  int64_t loaded = 0;
  dbtool_status status = sdk::guard(error, [&] {
    sdk::StreamReader reader(stream);
    const std::string table = table_c ? table_c : "";
    sdk::check_columns(st->schema.table(table), reader.columns());
    std::string names;
    for (const auto& c : reader.columns()) names += (names.empty() ? "" : ", ") + quote_identifier(c.name);
    const std::string prefix = "INSERT INTO " + quote_identifier(table) + " (" + names + ") VALUES ";
    const size_t ncols = reader.columns().size();
    Loader& loader = acquire_loader(st, table);
    struct Release {
      dbtool_stage* st;
      Loader& l;
      ~Release() { release_loader(st, l); }
    } release{st, loader};
    if (st->infile && ncols > 0) {
      if (load_infile(st, loader, reader, table, loaded)) return;
      st->infile = false;  // refused by the server: this load and later ones use INSERTs
    }
    BulkInsert* bulk = nullptr;
    if (st->bulk && ncols > 0) {
      std::unique_ptr<BulkInsert>& b = loader.bulk_inserts[prefix];
      if (!b) b = std::make_unique<BulkInsert>(loader.conn.get(), prefix, ncols);
      bulk = b.get();
    }
    MultiInsert* full = bulk ? nullptr : &multi_insert(loader, prefix, ncols, kRowsPerStatement);
    sdk::ArrayHolder batch;
    while (reader.next(batch)) {
      if (cancelled()) throw Failure(DBTOOL_ERR_CANCELLED, "loading " + table + ": cancelled");
      sdk::check_temporal_values(st->schema.table(table), reader.columns(), batch.a);
      sdk::BatchView v(reader.columns(), batch.a);
      int64_t r = 0;
      // Rows [r, r + n) through `insert`, a repeated key named by the row that repeats it.
      auto run = [&](int64_t n, const auto& insert) {
        try {
          insert("loading " + table + ", rows " + std::to_string(loaded + 1) + "-" + std::to_string(loaded + n) +
                 " of this load");
        } catch (const Failure& f) {
          if (f.vendor_code() != ER_DUP_ENTRY) throw;
          name_duplicate(st, loader, table, prefix, v, r, n, loaded, f);
        }
        loaded += n;
        r += n;
      };
      while (r < v.rows()) {
        if (bulk) {
          // Runs of at most kRowsPerBulk rows and kBytesPerBulk bytes of values, one execution each.
          int64_t n = 0;
          for (size_t bytes = 0; r + n < v.rows() && n < kRowsPerBulk && (n == 0 || bytes < kBytesPerBulk); ++n)
            bytes += value_bytes(v, r + n);
          run(n, [&](const std::string& where) { bulk->run(v, r, n, where); });
          continue;
        }
        // Statements of kRowsPerStatement rows, the batch's last rows one of their own; rows whose
        // values pass kBytesPerBulk together (a statement of them would outgrow the server's
        // packet limit, 16 MiB by default) one per statement.
        const int64_t n = std::min<int64_t>(static_cast<int64_t>(kRowsPerStatement), v.rows() - r);
        size_t bytes = 0;
        for (int64_t k = r; k < r + n; ++k) bytes += value_bytes(v, k);
        if (bytes > kBytesPerBulk) {
          MultiInsert& one = multi_insert(loader, prefix, ncols, 1);
          for (const int64_t end = r + n; r < end;) run(1, [&](const std::string& where) { one.run(v, r, where); });
        } else if (n == static_cast<int64_t>(kRowsPerStatement)) {
          run(n, [&](const std::string& where) { full->run(v, r, where); });
        } else {
          MultiInsert tail(loader.conn.get(), prefix, ncols, static_cast<size_t>(n));
          run(n, [&](const std::string& where) { tail.run(v, r, where); });
        }
      }
      loader.uncommitted += v.rows();
      if (loader.uncommitted >= kRowsPerTransaction) loader.commit("loading " + table);
    }
  });
  if (rows != nullptr) *rows = loaded;
  return status;
}

dbtool_status Backend::stage_count(dbtool_stage* st, const char* table_c, int64_t* rows, dbtool_error* error) {
  return sdk::guard(error, [&] {
    const std::string table = table_c ? table_c : "";
    st->schema.table(table);  // only tables of the schema
    commit_loaders(st, "counting " + table);
    // The loads are over when the host counts (it counts only between loads): the extra load
    // connections go, so that what the run does next (reading the run history on a connection of
    // its own) finds the server's connections as a run one table at a time would.
    {
      std::lock_guard<std::mutex> lock(st->loaders_mutex);
      st->loaders.resize(1);
    }
    // A new read view, so that the count sees what the other load connections committed since
    // this connection's last read.
    st->control().query("COMMIT", "counting " + table);
    *rows = st->control().scalar_int("SELECT COUNT(*) FROM " + quote_identifier(table));
  });
}

dbtool_status Backend::stage_commit(dbtool_stage* st_raw, dbtool_text* report, dbtool_error* error) {
  std::unique_ptr<dbtool_stage> st(st_raw);
  dbtool_status status = sdk::guard(error, [&] {
    commit_loaders(st.get(), "finishing the staging database");
    st->control().query("COMMIT", "finishing the staging database");
    // The foreign keys were not checked while loading: check every one now, but those the host
    // vouches for (its importer built their values from rows it loaded; CONTRACT.md).
    for (const auto& t : st->schema.tables)
      for (const auto& fk : t.foreign_keys) {
        if (fk.guaranteed_by_host) continue;
        std::string on, not_null;
        for (size_t i = 0; i < fk.columns.size(); ++i) {
          on += (i ? " AND " : "") + std::string("c.") + quote_identifier(fk.columns[i]) + " = p." +
                quote_identifier(fk.ref_columns[i]);
          not_null += (i ? " AND " : "") + std::string("c.") + quote_identifier(fk.columns[i]) + " IS NOT NULL";
        }
        int64_t orphans = st->control().scalar_int(
            "SELECT COUNT(*) FROM " + quote_identifier(t.name) + " c LEFT JOIN " + quote_identifier(fk.ref_table) +
            " p ON " + on + " WHERE " + not_null + " AND p." + quote_identifier(fk.ref_columns[0]) + " IS NULL");
        if (orphans > 0)
          throw Failure(DBTOOL_ERR_CONSTRAINT,
                        std::to_string(orphans) + " rows of " + t.name + " refer to missing rows of " + fk.ref_table,
                        "23000", 1452);
      }
    st->loaders.clear();
    refuse_if_changed(st->session);
    std::string retired = swap_databases(st->session->conn, st->session->target.database, st->database);
    st->session->has_stage = false;
    st->session->baseline.reset();
    boost::json::object o{{"database", st->session->target.database}};
    if (!retired.empty()) o["retired"] = retired;
    sdk::set_text(report, boost::json::serialize(o));
  });
  if (status != DBTOOL_OK) drop(st.get());
  return status;
}

void Backend::stage_abort(dbtool_stage* st) {
  if (st == nullptr) return;
  drop(st);
  delete st;
}

}  // namespace dbtool::mysql
