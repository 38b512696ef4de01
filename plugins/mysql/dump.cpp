// Backups made by the plugin itself: a consistent snapshot written as a plain SQL script (one
// statement per line, which the `mariadb` client can also load), ending in a trailer with the
// row count of every table; restore replays it into a staging database, checks the counts and
// swaps it in like a stage.
#include "mysql_backend.hpp"

#include <boost/json.hpp>

#include <fcntl.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <fstream>
#include <map>
#include <sstream>

namespace dbtool::mysql {
namespace json = boost::json;
using sdk::Failure;

namespace {

constexpr const char* kHeader = "-- dbtool backup of database ";
constexpr const char* kTrailer = "-- dbtool-backup-end ";
constexpr size_t kRowsPerInsert = 500;
// A statement ends at kRowsPerInsert rows or once it holds this many bytes, so that restoring it
// (here or with the `mariadb` client) stays inside max_allowed_packet (16 MiB by default).
constexpr size_t kBytesPerInsert = 4u << 20;

class Output {
 public:
  explicit Output(const std::string& path) : path_(path) {
    fd_ = ::open(path.c_str(), O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC, 0600);
    if (fd_ < 0) throw Failure(DBTOOL_ERR_IO, "cannot create the backup " + path + ": " + std::strerror(errno));
  }
  ~Output() {
    if (fd_ >= 0) ::close(fd_);
  }
  void write(const std::string& s) {
    buf_ += s;
    if (buf_.size() > (1 << 20)) flush();
  }
  void flush() {
    size_t done = 0;
    while (done < buf_.size()) {
      ssize_t w = ::write(fd_, buf_.data() + done, buf_.size() - done);
      if (w < 0) {
        if (errno == EINTR) continue;
        throw Failure(DBTOOL_ERR_IO, "cannot write the backup " + path_ + ": " + std::strerror(errno));
      }
      done += static_cast<size_t>(w);
    }
    buf_.clear();
  }
  void finish() {
    flush();
    if (::fsync(fd_) != 0) throw Failure(DBTOOL_ERR_IO, "cannot sync the backup " + path_);
    ::close(fd_);
    fd_ = -1;
  }

 private:
  std::string path_;
  std::string buf_;
  int fd_ = -1;
};

std::string one_line(std::string s) {
  for (auto& c : s)
    if (c == '\n' || c == '\r') c = ' ';
  return s;
}

bool numeric(enum_field_types t) {
  switch (t) {
    case MYSQL_TYPE_TINY:
    case MYSQL_TYPE_SHORT:
    case MYSQL_TYPE_LONG:
    case MYSQL_TYPE_INT24:
    case MYSQL_TYPE_LONGLONG:
    case MYSQL_TYPE_FLOAT:
    case MYSQL_TYPE_DOUBLE:
    case MYSQL_TYPE_NEWDECIMAL:
    case MYSQL_TYPE_DECIMAL:
      return true;
    default:
      return false;
  }
}

// "users=12,sections=5" in the trailer <-> a map.
std::string counts_text(const std::map<std::string, int64_t>& counts) {
  std::string s;
  for (const auto& [t, n] : counts) s += (s.empty() ? "" : ",") + t + "=" + std::to_string(n);
  return s;
}

// Reads the trailer; throws when the file is not a complete dbtool backup.
// Checks that `path` is a complete backup made by `backup` (its header line, then its trailer)
// and returns the row counts the trailer lists.
std::map<std::string, int64_t> read_trailer(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Failure(DBTOOL_ERR_NOT_FOUND, "cannot read the backup " + path);
  std::string first;
  std::getline(in, first);
  if (first.rfind(kHeader, 0) != 0)
    throw Failure(DBTOOL_ERR_DATA, path + (first.empty() && in.eof() ? " is empty" : " was not made by dbtool backup") +
                                       " (no \"" + kHeader + "\" header line): not a dbtool MySQL backup");
  in.clear();
  in.seekg(0, std::ios::end);
  std::streamoff size = in.tellg();
  std::streamoff from = size > 65536 ? size - 65536 : 0;
  in.seekg(from);
  std::string tail((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  size_t at = tail.rfind(kTrailer);
  if (at == std::string::npos || tail.find('\n', at) != tail.size() - 1)
    throw Failure(DBTOOL_ERR_DATA, path + " is not a complete dbtool MySQL backup (no trailer: truncated?)");
  std::string list = tail.substr(at + std::strlen(kTrailer));
  list.pop_back();
  if (list.rfind("rows ", 0) != 0) throw Failure(DBTOOL_ERR_DATA, path + ": malformed trailer");
  list = list.substr(5);
  std::map<std::string, int64_t> counts;
  std::stringstream ss(list);
  std::string item;
  while (std::getline(ss, item, ',')) {
    size_t eq = item.find('=');
    if (eq == std::string::npos) throw Failure(DBTOOL_ERR_DATA, path + ": malformed trailer");
    counts[item.substr(0, eq)] = std::stoll(item.substr(eq + 1));
  }
  return counts;
}

std::string report(int64_t bytes, const std::map<std::string, int64_t>& counts) {
  json::array tables;
  for (const auto& [t, n] : counts) tables.push_back(json::object{{"name", t}, {"rows", n}});
  return json::serialize(json::object{{"bytes", bytes}, {"format", "sql"}, {"tables", std::move(tables)}});
}

}  // namespace

dbtool_status Backend::backup(dbtool_session* s, const char* path_c, dbtool_text* out, dbtool_error* error) {
  const std::string path = path_c ? path_c : "";
  bool created = false;
  dbtool_status status = sdk::guard(error, [&] {
    refuse_if_read_only(s, "backup");
    if (!s->exists) throw Failure(DBTOOL_ERR_NOT_FOUND, "nothing to back up: " + s->target.display + " does not exist");
    const std::string& db = s->target.database;
    // Taken before the snapshot: a write between the two is in the backup, and still makes
    // the cut-over refuse (safe); none after the snapshot can slip through.
    s->baseline = target_state(s);
    Connection c(s->target, s->password, db);
    c.query("SET SESSION TRANSACTION ISOLATION LEVEL REPEATABLE READ", "backup");
    c.query("START TRANSACTION WITH CONSISTENT SNAPSHOT", "backup");
    Output file(path);
    created = true;
    file.write(kHeader + db +
               " (format 1: one statement per line)\n"
               "SET NAMES utf8mb4;\nSET foreign_key_checks = 0;\nSET unique_checks = 0;\n"
               "SET sql_mode = 'NO_AUTO_VALUE_ON_ZERO';\n");
    std::map<std::string, int64_t> counts;
    s->busy_thread = mysql_thread_id(c.get());
    for (const auto& table : tables_of(c, db)) {
      const std::string qt = quote_identifier(table);
      std::string create;
      {
        std::string sql = "SHOW CREATE TABLE " + qt;
        if (mysql_real_query(c.get(), sql.data(), sql.size()) != 0) fail(c.get(), "backup of " + table);
        MYSQL_RES* r = mysql_store_result(c.get());
        MYSQL_ROW row = r ? mysql_fetch_row(r) : nullptr;
        if (row == nullptr || row[1] == nullptr) {
          if (r) mysql_free_result(r);
          fail(c.get(), "backup of " + table);
        }
        create = row[1];
        mysql_free_result(r);
      }
      file.write("DROP TABLE IF EXISTS " + qt + ";\n" + one_line(create) + ";\n");
      std::string sql = "SELECT * FROM " + qt;
      if (mysql_real_query(c.get(), sql.data(), sql.size()) != 0) fail(c.get(), "backup of " + table);
      MYSQL_RES* r = mysql_use_result(c.get());
      if (r == nullptr) fail(c.get(), "backup of " + table);
      unsigned n = mysql_num_fields(r);
      MYSQL_FIELD* fields = mysql_fetch_fields(r);
      int64_t rows = 0;
      size_t in_statement = 0;
      std::string line;
      std::string escaped;
      while (MYSQL_ROW row = mysql_fetch_row(r)) {
        unsigned long* len = mysql_fetch_lengths(r);
        line += in_statement == 0 ? "INSERT INTO " + qt + " VALUES (" : ",(";
        for (unsigned i = 0; i < n; ++i) {
          if (i) line += ',';
          if (row[i] == nullptr) {
            line += "NULL";
          } else if (numeric(fields[i].type)) {
            line.append(row[i], len[i]);
          } else if (fields[i].charsetnr == 63) {  // binary: hex keeps every byte exact
            static const char* hex = "0123456789ABCDEF";
            line += len[i] == 0 ? "''" : "0x";
            for (unsigned long k = 0; k < len[i]; ++k) {
              line += hex[static_cast<unsigned char>(row[i][k]) >> 4];
              line += hex[static_cast<unsigned char>(row[i][k]) & 15];
            }
          } else {
            escaped.resize(len[i] * 2 + 1);
            unsigned long e = mysql_real_escape_string(c.get(), escaped.data(), row[i], len[i]);
            line += '\'';
            line.append(escaped.data(), e);
            line += '\'';
          }
        }
        line += ')';
        ++rows;
        if (++in_statement == kRowsPerInsert || line.size() >= kBytesPerInsert) {
          file.write(line + ";\n");
          line.clear();
          in_statement = 0;
        }
      }
      if (mysql_errno(c.get()) != 0) {
        mysql_free_result(r);
        fail(c.get(), "backup of " + table);
      }
      mysql_free_result(r);
      if (!line.empty()) file.write(line + ";\n");
      counts[table] = rows;
      if (cancelled()) throw Failure(DBTOOL_ERR_CANCELLED, "backup cancelled");
    }
    s->busy_thread = 0;
    c.query("COMMIT", "backup");
    file.write(std::string(kTrailer) + "rows " + counts_text(counts) + "\n");
    file.finish();
    // Verify: the file is complete and agrees with what the snapshot held.
    if (read_trailer(path) != counts) throw Failure(DBTOOL_ERR_DATA, "backup verification failed: trailer mismatch");
    std::ifstream in(path, std::ios::binary | std::ios::ate);
    sdk::set_text(out, report(static_cast<int64_t>(in.tellg()), counts));
  });
  s->busy_thread = 0;
  if (status != DBTOOL_OK && created) ::unlink(path.c_str());
  return status;
}

dbtool_status Backend::verify_backup(dbtool_session*, const char* path_c, dbtool_text* out, dbtool_error* error) {
  return sdk::guard(error, [&] {
    const std::string path = path_c ? path_c : "";
    std::map<std::string, int64_t> counts = read_trailer(path);
    std::ifstream in(path, std::ios::binary | std::ios::ate);
    sdk::set_text(out, report(static_cast<int64_t>(in.tellg()), counts));
  });
}

dbtool_status Backend::restore(dbtool_session* s, const char* path_c, dbtool_text* out, dbtool_error* error) {
  std::string stage;
  dbtool_status status = sdk::guard(error, [&] {
    refuse_if_read_only(s, "restore");
    const std::string path = path_c ? path_c : "";
    std::map<std::string, int64_t> counts = read_trailer(path);
    if (!s->baseline) s->baseline = target_state(s);
    if (!s->exists) {
      s->conn.query("CREATE DATABASE IF NOT EXISTS " + quote_identifier(s->target.database) +
                        " CHARACTER SET utf8mb4 COLLATE " + s->collation,
                    "creating database");
      s->exists = true;
    }
    stage = new_stage_database(s->target.database);
    s->conn.query("CREATE DATABASE " + quote_identifier(stage) + " CHARACTER SET utf8mb4 COLLATE " + s->collation,
                  "creating the staging database");
    {
      Connection c(s->target, s->password, stage);
      s->busy_thread = mysql_thread_id(c.get());
      std::ifstream in(path, std::ios::binary);
      std::string line;
      int64_t number = 0;
      while (std::getline(in, line)) {
        ++number;
        if (line.empty() || line.rfind("--", 0) == 0) continue;
        if (mysql_real_query(c.get(), line.data(), line.size()) != 0)
          fail(c.get(), "restore, line " + std::to_string(number) + " of " + path);
        if (MYSQL_RES* r = mysql_store_result(c.get())) mysql_free_result(r);
        if (cancelled()) throw Failure(DBTOOL_ERR_CANCELLED, "restore cancelled");
      }
      s->busy_thread = 0;
      for (const auto& [t, n] : counts)
        if (c.scalar_int("SELECT COUNT(*) FROM " + quote_identifier(t)) != n)
          throw Failure(DBTOOL_ERR_DATA,
                        "restore verification failed: " + t + " does not hold " + std::to_string(n) + " rows");
      if (tables_of(c, stage).size() != counts.size())
        throw Failure(DBTOOL_ERR_DATA,
                      "restore verification failed: the backup holds other tables than its trailer lists");
    }
    refuse_if_changed(s);
    swap_databases(s->conn, s->target.database, stage);
    stage.clear();
    s->baseline.reset();
    std::ifstream in(path, std::ios::binary | std::ios::ate);
    sdk::set_text(out, report(static_cast<int64_t>(in.tellg()), counts));
  });
  s->busy_thread = 0;
  if (!stage.empty()) mysql_query(s->conn.get(), ("DROP DATABASE IF EXISTS " + quote_identifier(stage)).c_str());
  return status;
}

}  // namespace dbtool::mysql
