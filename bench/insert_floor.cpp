// The insert floor: the fastest way to put a given set of rows into a fresh SQLite file, as a
// yardstick for `dbtool migrate`. It takes a database dbtool produced, reads every row of every
// table into memory first (not timed), then times only what any importer must do: create the
// same tables, insert the rows with one prepared statement per table inside one transaction
// (journal off, synchronous off, as dbtool's stage), build the indexes afterwards, commit and
// fsync. No parsing, no mapping, no checks: what is left is SQLite's own cost.
//
// With ROWS > 1, ROWS rows go in one multi-row INSERT (as dbtool's SQLite stage does, 32 rows),
// which costs SQLite far less per row: the floor of that technique, beside the plain one.
//
// usage: insert-floor FROM.db TO.db [ROWS]      prints "<seconds> <rows>" for the timed part
#include <sqlite3.h>

#include <fcntl.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <variant>
#include <vector>

namespace {

using Value = std::variant<std::monostate, int64_t, double, std::string, std::vector<unsigned char>>;

struct TableRows {
  std::string name;
  std::string create_sql;
  size_t columns = 0;
  std::vector<Value> cells;  // row-major
};

[[noreturn]] void die(sqlite3* db, const std::string& what) {
  std::fprintf(stderr, "insert-floor: %s: %s\n", what.c_str(), db ? sqlite3_errmsg(db) : "");
  std::exit(1);
}

void exec(sqlite3* db, const std::string& sql) {
  if (sqlite3_exec(db, sql.c_str(), nullptr, nullptr, nullptr) != SQLITE_OK) die(db, sql);
}

std::string quoted(const std::string& name) {
  std::string out = "\"";
  for (char c : name) out += c == '"' ? std::string("\"\"") : std::string(1, c);
  return out + "\"";
}

// Every table with its rows, and the index statements, read from `from` (untimed).
void read_all(sqlite3* db, std::vector<TableRows>& tables, std::vector<std::string>& indexes) {
  sqlite3_stmt* st = nullptr;
  if (sqlite3_prepare_v2(db, "SELECT type, name, sql FROM sqlite_master WHERE sql IS NOT NULL ORDER BY rowid", -1, &st,
                         nullptr) != SQLITE_OK)
    die(db, "listing tables");
  while (sqlite3_step(st) == SQLITE_ROW) {
    std::string type = reinterpret_cast<const char*>(sqlite3_column_text(st, 0));
    std::string name = reinterpret_cast<const char*>(sqlite3_column_text(st, 1));
    std::string sql = reinterpret_cast<const char*>(sqlite3_column_text(st, 2));
    if (type == "index") indexes.push_back(sql);
    if (type == "table" && name.rfind("sqlite_", 0) != 0) tables.push_back({name, sql, 0, {}});
  }
  sqlite3_finalize(st);
  for (auto& t : tables) {
    if (sqlite3_prepare_v2(db, ("SELECT * FROM " + quoted(t.name)).c_str(), -1, &st, nullptr) != SQLITE_OK)
      die(db, "reading " + t.name);
    t.columns = static_cast<size_t>(sqlite3_column_count(st));
    while (sqlite3_step(st) == SQLITE_ROW)
      for (int i = 0; i < static_cast<int>(t.columns); ++i) switch (sqlite3_column_type(st, i)) {
          case SQLITE_INTEGER:
            t.cells.emplace_back(static_cast<int64_t>(sqlite3_column_int64(st, i)));
            break;
          case SQLITE_FLOAT:
            t.cells.emplace_back(sqlite3_column_double(st, i));
            break;
          case SQLITE_TEXT:
            t.cells.emplace_back(std::string(reinterpret_cast<const char*>(sqlite3_column_text(st, i)),
                                             static_cast<size_t>(sqlite3_column_bytes(st, i))));
            break;
          case SQLITE_BLOB: {
            auto* p = static_cast<const unsigned char*>(sqlite3_column_blob(st, i));
            t.cells.emplace_back(std::vector<unsigned char>(p, p + sqlite3_column_bytes(st, i)));
            break;
          }
          default:
            t.cells.emplace_back(std::monostate{});
        }
    sqlite3_finalize(st);
  }
}

}  // namespace

int main(int argc, char** argv) {
  const size_t per_statement = argc == 4 ? static_cast<size_t>(std::atoi(argv[3])) : 1;
  if ((argc != 3 && argc != 4) || per_statement < 1 || per_statement > 1000) {
    std::fprintf(stderr, "usage: insert-floor FROM.db TO.db [ROWS PER STATEMENT, 1-1000]\n");
    return 2;
  }
  sqlite3* from = nullptr;
  if (sqlite3_open_v2(argv[1], &from, SQLITE_OPEN_READONLY, nullptr) != SQLITE_OK) die(from, argv[1]);
  std::vector<TableRows> tables;
  std::vector<std::string> indexes;
  read_all(from, tables, indexes);
  sqlite3_close(from);
  ::unlink(argv[2]);

  const auto t0 = std::chrono::steady_clock::now();
  sqlite3* db = nullptr;
  if (sqlite3_open_v2(argv[2], &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, nullptr) !=
      SQLITE_OK)
    die(db, argv[2]);
  exec(db, "PRAGMA journal_mode=OFF; PRAGMA synchronous=OFF; PRAGMA cache_size=-16384; BEGIN");
  int64_t rows = 0;
  for (const auto& t : tables) {
    exec(db, t.create_sql);
    std::string marks;
    for (size_t i = 0; i < t.columns; ++i) marks += i ? ",?" : "?";
    const std::string prefix = "INSERT INTO " + quoted(t.name) + " VALUES ";
    std::string many;
    for (size_t k = 0; k < per_statement; ++k) many += (k ? ",(" : "(") + marks + ")";
    sqlite3_stmt* ins = nullptr;  // per_statement rows
    sqlite3_stmt* one = nullptr;  // the rest
    if (sqlite3_prepare_v2(db, (prefix + many).c_str(), -1, &ins, nullptr) != SQLITE_OK ||
        sqlite3_prepare_v2(db, (prefix + "(" + marks + ")").c_str(), -1, &one, nullptr) != SQLITE_OK)
      die(db, "preparing " + t.name);
    auto bind_row = [&](sqlite3_stmt* st, size_t row, int first_parameter) {
      for (size_t i = 0; i < t.columns; ++i) {
        const Value& v = t.cells[row * t.columns + i];
        const int col = first_parameter + static_cast<int>(i);
        if (auto* n = std::get_if<int64_t>(&v))
          sqlite3_bind_int64(st, col, *n);
        else if (auto* d = std::get_if<double>(&v))
          sqlite3_bind_double(st, col, *d);
        else if (auto* s = std::get_if<std::string>(&v))
          sqlite3_bind_text(st, col, s->data(), static_cast<int>(s->size()), SQLITE_STATIC);
        else if (auto* b = std::get_if<std::vector<unsigned char>>(&v))
          sqlite3_bind_blob(st, col, b->data(), static_cast<int>(b->size()), SQLITE_STATIC);
        else
          sqlite3_bind_null(st, col);
      }
    };
    auto run = [&](sqlite3_stmt* st, size_t n) {
      if (sqlite3_step(st) != SQLITE_DONE) die(db, "inserting into " + t.name);
      sqlite3_reset(st);
      rows += static_cast<int64_t>(n);
    };
    const size_t n_rows = t.columns == 0 ? 0 : t.cells.size() / t.columns;
    size_t row = 0;
    for (; row + per_statement <= n_rows; row += per_statement) {
      for (size_t k = 0; k < per_statement; ++k) bind_row(ins, row + k, static_cast<int>(k * t.columns) + 1);
      run(ins, per_statement);
    }
    for (; row < n_rows; ++row) {
      bind_row(one, row, 1);
      run(one, 1);
    }
    sqlite3_finalize(one);
    sqlite3_finalize(ins);
  }
  for (const auto& sql : indexes) exec(db, sql);
  exec(db, "COMMIT");
  sqlite3_close(db);
  int fd = ::open(argv[2], O_RDONLY);
  if (fd >= 0) {
    ::fsync(fd);
    ::close(fd);
  }
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  std::printf("%.3f %lld\n", secs, static_cast<long long>(rows));
  return 0;
}
