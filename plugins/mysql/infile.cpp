// The LOAD DATA LOCAL INFILE load path: the Arrow stream is serialised into LOAD DATA's text
// format inside the client library's read callback, so no temporary file is ever written.
#include "mysql_backend.hpp"

#include <errmsg.h>
#include <mysqld_error.h>

#include <algorithm>
#include <charconv>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <optional>

namespace dbtool::mysql {
using sdk::ColumnType;
using sdk::Failure;

namespace {

// Rows per LOAD DATA statement, committed after each like the insert path's transactions.
constexpr int64_t kRowsPerStatement = 50000;
// Serialise about this much before handing bytes to the client library.
constexpr size_t kChunkBytes = 256 * 1024;

// The stream as LOAD DATA text, produced on demand by the read callback.
class Feed {
 public:
  Feed(sdk::StreamReader& reader, const sdk::PortableTable& schema, const std::string& table)
      : reader_(reader), schema_(schema), table_(table) {}

  // Starts a statement of at most `limit` rows.
  void start(int64_t limit) {
    limit_ = limit;
    sent_ = 0;
    opened_ = false;
  }
  bool done() const { return done_; }
  bool opened() const { return opened_; }
  int64_t sent() const { return sent_; }
  std::exception_ptr error() const { return error_; }

  static int init(void** ptr, const char*, void* userdata) {
    auto* f = static_cast<Feed*>(userdata);
    f->opened_ = true;
    *ptr = f;
    return 0;
  }
  static int read(void* ptr, char* out, unsigned int len) {
    auto* f = static_cast<Feed*>(ptr);
    try {
      if (f->pos_ == f->buf_.size() && !f->fill()) return 0;
      size_t n = std::min<size_t>(len, f->buf_.size() - f->pos_);
      std::memcpy(out, f->buf_.data() + f->pos_, n);
      f->pos_ += n;
      return static_cast<int>(n);
    } catch (const std::exception& e) {
      // Ends the statement with an error; the stored exception is what the caller reports.
      f->error_ = std::current_exception();
      f->error_text_ = e.what();
      return -1;
    }
  }
  static void end(void*) {}
  static int error(void* ptr, char* msg, unsigned int len) {
    std::snprintf(msg, len, "%s", static_cast<Feed*>(ptr)->error_text_.c_str());
    return CR_UNKNOWN_ERROR;
  }

 private:
  // Serialises whole rows into buf_; false once the statement has no more rows.
  bool fill() {
    buf_.clear();
    pos_ = 0;
    while (buf_.size() < kChunkBytes && sent_ < limit_) {
      if (!view_ || row_ >= view_->rows()) {
        view_.reset();
        if (done_) break;
        if (cancelled()) throw Failure(DBTOOL_ERR_CANCELLED, "loading " + table_ + ": cancelled");
        if (!reader_.next(batch_)) {
          done_ = true;
          break;
        }
        sdk::check_temporal_values(schema_, reader_.columns(), batch_.a);
        view_.emplace(reader_.columns(), batch_.a);
        row_ = 0;
        continue;
      }
      append_row(*view_, row_++);
      ++sent_;
    }
    return !buf_.empty();
  }

  void append_row(const sdk::BatchView& v, int64_t r) {
    for (size_t c = 0; c < v.columns(); ++c) {
      if (c) buf_ += '\t';
      if (v.is_null(c, r)) {
        buf_ += "\\N";
        continue;
      }
      char num[32];
      switch (v.spec(c).type) {
        case ColumnType::Int64:
          buf_.append(num, std::to_chars(num, num + sizeof num, v.get_int64(c, r)).ptr);
          break;
        case ColumnType::Bool:
          buf_ += v.get_bool(c, r) ? '1' : '0';
          break;
        case ColumnType::Float64: {
          // Same text as "%.17g": enough digits that the server parses back the exact double.
          auto res = std::to_chars(num, num + sizeof num, v.get_double(c, r), std::chars_format::general, 17);
          buf_.append(num, res.ptr);
          break;
        }
        case ColumnType::Utf8:
          append_escaped(v.get_bytes(c, r));
          break;
        case ColumnType::Binary:
          append_hex(v.get_bytes(c, r));
          break;
        case ColumnType::Null:
          buf_ += "\\N";
          break;
      }
    }
    buf_ += '\n';
  }

  // Backslash escapes for the bytes LOAD DATA would read as structure (tab, newline,
  // backslash), and for CR and NUL; everything else goes through untouched, in runs.
  void append_escaped(std::string_view s) {
    size_t run = 0;
    for (size_t i = 0; i < s.size(); ++i) {
      char e;
      switch (s[i]) {
        case '\\':
          e = '\\';
          break;
        case '\t':
          e = 't';
          break;
        case '\n':
          e = 'n';
          break;
        case '\r':
          e = 'r';
          break;
        case '\0':
          e = '0';
          break;
        default:
          continue;
      }
      buf_.append(s.data() + run, i - run);
      buf_ += '\\';
      buf_ += e;
      run = i + 1;
    }
    buf_.append(s.data() + run, s.size() - run);
  }

  // Blobs travel as hex and become bytes again through UNHEX(), so no character set ever
  // touches them.
  void append_hex(std::string_view s) {
    static const char digits[] = "0123456789ABCDEF";
    size_t at = buf_.size();
    buf_.resize(at + 2 * s.size());
    for (unsigned char b : s) {
      buf_[at++] = digits[b >> 4];
      buf_[at++] = digits[b & 15];
    }
  }

  sdk::StreamReader& reader_;
  const sdk::PortableTable& schema_;
  const std::string& table_;
  sdk::ArrayHolder batch_;
  std::optional<sdk::BatchView> view_;
  int64_t row_ = 0;
  bool done_ = false;
  std::string buf_;
  size_t pos_ = 0;
  int64_t limit_ = 0, sent_ = 0;
  bool opened_ = false;
  std::exception_ptr error_;
  std::string error_text_;
};

// LOAD DATA LOCAL runs with IGNORE semantics (the server cannot stop the client mid-file), so
// duplicate keys and bad values arrive as warnings: every one of them fails the load.
[[noreturn]] void fail_on_warnings(MYSQL* m, const sdk::PortableTable& table, const std::string& what) {
  std::string text, duplicate;
  unsigned first = 0;
  if (mysql_query(m, "SHOW WARNINGS LIMIT 5") == 0)
    if (MYSQL_RES* r = mysql_store_result(m)) {
      while (MYSQL_ROW row = mysql_fetch_row(r)) {
        if (first == 0 && row[1]) {
          first = static_cast<unsigned>(std::strtoul(row[1], nullptr, 10));
          if (first == ER_DUP_ENTRY && row[2]) duplicate = duplicate_from_server(table, row[2]);
        }
        text += std::string(text.empty() ? "" : "; ") + (row[2] ? row[2] : "") + " (" + (row[1] ? row[1] : "?") + ")";
      }
      mysql_free_result(r);
    }
  if (text.empty()) text = std::to_string(mysql_warning_count(m)) + " warnings";
  dbtool_status st = DBTOOL_ERR_BACKEND;
  const char* sqlstate = "HY000";
  switch (first) {
    case ER_DUP_ENTRY:
    case ER_BAD_NULL_ERROR:
    case ER_WARN_NULL_TO_NOTNULL:
    case ER_NO_REFERENCED_ROW_2:
      st = DBTOOL_ERR_CONSTRAINT;
      sqlstate = "23000";
      break;
    case ER_WARN_DATA_OUT_OF_RANGE:
      st = DBTOOL_ERR_DATA;
      sqlstate = "22003";
      break;
    case ER_DATA_TOO_LONG:
      st = DBTOOL_ERR_DATA;
      sqlstate = "22001";
      break;
    case WARN_DATA_TRUNCATED:
    case ER_TRUNCATED_WRONG_VALUE_FOR_FIELD:
    case ER_TRUNCATED_WRONG_VALUE:
    case ER_WARN_TOO_FEW_RECORDS:
    case ER_WARN_TOO_MANY_RECORDS:
      st = DBTOOL_ERR_DATA;
      sqlstate = "22000";
      break;
    default:
      break;
  }
  throw Failure(st, what + ": " + (duplicate.empty() ? text : duplicate), sqlstate, static_cast<int32_t>(first));
}

}  // namespace

bool load_infile(dbtool_stage* st, Loader& loader, sdk::StreamReader& reader, const std::string& table,
                 int64_t& loaded) {
  MYSQL* m = loader.conn.get();
  std::string columns, sets;
  for (size_t c = 0; c < reader.columns().size(); ++c) {
    const std::string name = quote_identifier(reader.columns()[c].name);
    if (reader.columns()[c].type == ColumnType::Binary) {
      std::string var = "@v" + std::to_string(c);
      columns += (c ? ", " : "") + var;
      sets += (sets.empty() ? " SET " : ", ") + name + " = UNHEX(" + var + ")";
    } else {
      columns += (c ? ", " : "") + name;
    }
  }
  const std::string sql =
      "LOAD DATA LOCAL INFILE 'dbtool-stream' INTO TABLE " + quote_identifier(table) +
      " CHARACTER SET utf8mb4 FIELDS TERMINATED BY '\\t' ESCAPED BY '\\\\' LINES TERMINATED BY '\\n'"
      " (" +
      columns + ")" + sets;
  Feed feed(reader, st->schema.table(table), table);
  bool first = true;
  while (first || !feed.done()) {
    if (loader.uncommitted >= kRowsPerStatement) loader.commit("loading " + table);
    feed.start(kRowsPerStatement - loader.uncommitted);
    mysql_set_local_infile_handler(m, Feed::init, Feed::read, Feed::end, Feed::error, &feed);
    const std::string where =
        "loading " + table + " with LOAD DATA, from row " + std::to_string(loaded + 1) + " of this load";
    int rc = mysql_real_query(m, sql.data(), sql.size());
    mysql_set_local_infile_default(m);
    if (feed.error()) std::rethrow_exception(feed.error());  // the stream's own error
    if (rc != 0) {
      unsigned err = mysql_errno(m);
      if (first && !feed.opened() &&
          (err == ER_NOT_ALLOWED_COMMAND || err == ER_LOAD_INFILE_CAPABILITY_DISABLED || err == CR_UNKNOWN_ERROR)) {
        log(st->session->target.load == "infile" ? DBTOOL_LOG_WARN : DBTOOL_LOG_INFO,
            "LOAD DATA LOCAL INFILE refused (" + std::string(mysql_error(m)) +
                "); loading with multi-row INSERTs instead");
        return false;
      }
      fail(m, where);
    }
    if (mysql_warning_count(m) > 0) fail_on_warnings(m, st->schema.table(table), where);
    auto affected = static_cast<int64_t>(mysql_affected_rows(m));
    if (affected != feed.sent())
      throw Failure(DBTOOL_ERR_DATA, where + ": the server loaded " + std::to_string(affected) + " of " +
                                         std::to_string(feed.sent()) + " rows");
    loaded += feed.sent();
    loader.uncommitted += feed.sent();
    first = false;
  }
  if (loader.uncommitted >= kRowsPerStatement) loader.commit("loading " + table);
  return true;
}

}  // namespace dbtool::mysql
