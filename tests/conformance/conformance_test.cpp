// The backend conformance suite: what every backend .so must do, checked through the C ABI
// alone, exactly as the host calls it. It runs against our sqlite and mysql backends and,
// given DBTOOL_CONFORMANCE_PLUGIN, against a third party's (see README.md beside this file).
//
// Each test gets a fresh target: the URI template's "{db}" becomes a new database name.
// What legitimately differs between backends is declared in a small quirks file, never
// special-cased here by backend name.
#include <gtest/gtest.h>

#include <dbtool/plugin.h>
#include <dbtool/sdk/arrow.hpp>

#include <boost/json.hpp>

#include <dlfcn.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cfloat>
#include <cstdlib>
#include <fstream>
#include <future>
#include <limits>
#include <map>
#include <memory>
#include <random>
#include <regex>
#include <thread>

#include "plugins/host_services.hpp"
#include "plugins/plugin_registry.hpp"
#include "run_dbtool.hpp"
#include "sqlite_file.hpp"

namespace dbtool::conformance {
namespace {
namespace fs = std::filesystem;
namespace json = boost::json;
using sdk::ColumnSpec;
using sdk::ColumnType;

std::string env(const char* name) {
  const char* v = std::getenv(name);
  return v ? v : "";
}

bool in_ci() { return env("CI") == "true"; }

// ---- targets -----------------------------------------------------------------------------

struct Target {
  fs::path plugin;
  std::string uri_template;  // holds "{db}"
  std::string password;
  json::object quirks;
  std::string unavailable;  // why it cannot run here; fails in CI, skips elsewhere
};

json::object read_quirks(const fs::path& file) {
  if (file.empty()) return {};
  std::ifstream in(file);
  if (!in) throw std::runtime_error("cannot read quirks file " + file.string());
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  boost::system::error_code ec;
  json::value v = json::parse(text, ec);
  if (ec || !v.is_object()) throw std::runtime_error(file.string() + " is not a JSON object");
  return v.get_object();
}

fs::path our_plugin(const std::string& name) {
  return testing::dbtool_binary().parent_path() / ".." / "lib" / "dbtool" / "plugins" / ("libdbtool-" + name + ".so");
}

Target resolve(const std::string& label) {
  Target t;
  if (label == "third_party") {
    t.plugin = env("DBTOOL_CONFORMANCE_PLUGIN");
    t.uri_template = env("DBTOOL_CONFORMANCE_URI");
    t.password = env("DBTOOL_CONFORMANCE_PASSWORD");
    t.quirks = read_quirks(env("DBTOOL_CONFORMANCE_QUIRKS"));
    if (t.uri_template.find("{db}") == std::string::npos)
      t.unavailable = "DBTOOL_CONFORMANCE_URI must be a URI template holding {db}";
    return t;
  }
  // "mysql-insert" and "mysql-infile" are the mysql backend with one stage load path forced.
  const std::string backend = label.substr(0, label.find('-'));
  t.plugin = our_plugin(backend);
  t.quirks = read_quirks(fs::path(DBTOOL_CONFORMANCE_QUIRKS_DIR) / (label + ".json"));
  if (label == "sqlite") {
    static const fs::path dir = testing::make_temp_dir("dbtool-conformance");
    t.uri_template = "sqlite:///" + (dir / "{db}.db").string();  // SQLAlchemy style: 4 slashes = absolute
  } else if (backend == "postgresql") {
    const std::string uri = env("DBTOOL_TEST_PG_URI");
    t.password = env("DBTOOL_TEST_PG_PASSWORD");
    if (uri.empty())
      t.unavailable = "DBTOOL_TEST_PG_URI is not set (scripts/test starts a PostgreSQL server)";
    else
      t.uri_template = uri.substr(0, uri.rfind('/') + 1) + "{db}";
  } else if (backend == "mysql") {
    std::string uri = env("DBTOOL_TEST_MYSQL_URI");
    t.password = env("DBTOOL_TEST_MYSQL_PASSWORD");
    if (uri.empty()) {
      t.unavailable = "DBTOOL_TEST_MYSQL_URI is not set (scripts/test starts a MariaDB server)";
    } else {
      size_t slash = uri.find('/', uri.find("://") + 3);
      size_t query = uri.find('?', slash);
      t.uri_template = uri.substr(0, slash + 1) + "{db}" + (query == std::string::npos ? "" : uri.substr(query));
      if (label != backend)
        t.uri_template += (query == std::string::npos ? "?load=" : "&load=") + label.substr(backend.size() + 1);
    }
  }
  return t;
}

std::vector<std::string> labels() {
  if (!env("DBTOOL_CONFORMANCE_PLUGIN").empty()) return {"third_party"};
  return {"sqlite", "mysql", "mysql-insert", "mysql-infile", "postgresql"};
}

const LoadedPlugin& loaded(const fs::path& file) {
  static std::map<fs::path, LoadedPlugin> cache;
  auto it = cache.find(file);
  if (it == cache.end()) it = cache.emplace(file, load_plugin(file)).first;
  return it->second;
}

// ---- what a plugin writes -----------------------------------------------------------------

// Lines plugins logged through the host services, which is how a plugin speaks; kept apart
// from fds 1 and 2, where anything that arrives is the plugin printing by itself.
std::vector<std::string>& logged_lines() {
  static std::vector<std::string> lines;
  return lines;
}
void collect_log(int32_t, std::string_view message) { logged_lines().emplace_back(message); }

// Points fds 1 and 2 at a temporary file for as long as it lives; text() is what arrived.
class CapturedOutput {
 public:
  CapturedOutput() {
    char name[] = "/tmp/dbtool-conformance-out.XXXXXX";
    file_ = ::mkstemp(name);
    if (file_ < 0) throw std::runtime_error("cannot create a file to capture stdout/stderr");
    ::unlink(name);
    std::fflush(stdout);
    std::fflush(stderr);
    saved_out_ = ::dup(1);
    saved_err_ = ::dup(2);
    ::dup2(file_, 1);
    ::dup2(file_, 2);
  }
  CapturedOutput(const CapturedOutput&) = delete;
  ~CapturedOutput() {
    restore();
    ::close(file_);
  }
  // Puts fds 1 and 2 back and returns what was written to them meanwhile.
  std::string restore() {
    if (saved_out_ >= 0) {
      std::fflush(stdout);
      std::fflush(stderr);
      ::dup2(saved_out_, 1);
      ::dup2(saved_err_, 2);
      ::close(saved_out_);
      ::close(saved_err_);
      saved_out_ = saved_err_ = -1;
    }
    std::string text;
    char buf[4096];
    for (off_t at = 0;;) {
      ssize_t n = ::pread(file_, buf, sizeof buf, at);
      if (n <= 0) break;
      text.append(buf, static_cast<size_t>(n));
      at += n;
    }
    return text;
  }

 private:
  int file_ = -1;
  int saved_out_ = -1;
  int saved_err_ = -1;
};

// ---- calling the C ABI -------------------------------------------------------------------

struct Err {
  dbtool_error e{};
  Err() = default;
  Err(const Err&) = delete;
  ~Err() { clear(); }
  void clear() {
    if (e.release) e.release(&e);
  }
  std::string message() const { return e.message ? e.message : ""; }
};

// Thrown when a call that must succeed fails; GoogleTest reports it with the plugin's words.
[[noreturn]] void fail_call(const std::string& what, dbtool_status st, const Err& err) {
  throw std::runtime_error(what + " failed with status " + std::to_string(st) + ": " + err.message());
}

std::string take_text(dbtool_text& t) {
  std::string s = t.data ? std::string(t.data, t.size) : "";
  if (t.release) t.release(&t);
  return s;
}

json::object parse_object(const std::string& text) {
  if (text.empty()) return {};
  boost::system::error_code ec;
  json::value v = json::parse(text, ec);
  if (ec || !v.is_object()) throw std::runtime_error("report is not a JSON object: " + text);
  return v.get_object();
}

// A row as JSON: null, int64, double, bool, string; blobs as {"hex": "..."} so that they
// cannot be confused with text.
using Row = json::array;
using Rows = std::vector<Row>;

std::string hex(std::string_view bytes) {
  static const char* digits = "0123456789abcdef";
  std::string out;
  for (unsigned char c : bytes) {
    out += digits[c >> 4];
    out += digits[c & 15];
  }
  return out;
}

// ---- the schema under test ---------------------------------------------------------------

// Every portable type, a default, a unique, a foreign key, an index, and identifiers that are
// reserved words in SQL (the host allows them, so backends must quote them).
const char* kSchema = R"({
  "name": "conformance", "version": 1, "checksum": "0",
  "tables": [
    {"name": "parent",
     "columns": [{"name": "id", "type": "int64", "nullable": false},
                 {"name": "label", "type": "text", "max_length": 64, "nullable": false}],
     "primary_key": ["id"],
     "unique": [{"name": "uq_parent_label", "columns": ["label"]}]},
    {"name": "every_type",
     "columns": [{"name": "id", "type": "int64", "nullable": false},
                 {"name": "parent_id", "type": "int64"},
                 {"name": "i", "type": "int64"},
                 {"name": "f", "type": "float64"},
                 {"name": "b", "type": "bool"},
                 {"name": "t", "type": "text"},
                 {"name": "k", "type": "text", "max_length": 255},
                 {"name": "j", "type": "json"},
                 {"name": "bl", "type": "blob"},
                 {"name": "ts", "type": "timestamp"},
                 {"name": "da", "type": "date"},
                 {"name": "dt", "type": "datetime"},
                 {"name": "d", "type": "text", "max_length": 20, "nullable": false, "default": "User"}],
     "primary_key": ["id"],
     "foreign_keys": [{"name": "fk_every_type_parent", "columns": ["parent_id"],
                       "references": {"table": "parent", "columns": ["id"]}}],
     "indexes": [{"name": "ix_every_type_k", "columns": ["k"]}]},
    {"name": "order",
     "columns": [{"name": "select", "type": "int64", "nullable": false},
                 {"name": "from", "type": "text", "max_length": 10}],
     "primary_key": ["select"]}
  ]
})";

const std::vector<ColumnSpec> kParentColumns = {{"id", ColumnType::Int64}, {"label", ColumnType::Utf8}};

// every_type without `d`, which must take its default.
const std::vector<ColumnSpec> kEveryColumns = {
    {"id", ColumnType::Int64},  {"parent_id", ColumnType::Int64}, {"i", ColumnType::Int64}, {"f", ColumnType::Float64},
    {"b", ColumnType::Bool},    {"t", ColumnType::Utf8},          {"k", ColumnType::Utf8},  {"j", ColumnType::Utf8},
    {"bl", ColumnType::Binary}, {"ts", ColumnType::Utf8},         {"da", ColumnType::Utf8}, {"dt", ColumnType::Utf8}};

// One batch from rows given as JSON (see Row); {"hex"} cells are not used on input, blobs are
// passed as strings of raw bytes in a binary column.
void build_batch(const std::vector<ColumnSpec>& cols, const Rows& rows, ArrowArray* out) {
  sdk::BatchBuilder b(cols);
  for (const Row& r : rows) {
    for (size_t c = 0; c < cols.size(); ++c) {
      const json::value& v = r.at(c);
      if (v.is_null()) {
        b.append_null(c);
        continue;
      }
      switch (cols[c].type) {
        case ColumnType::Int64:
          b.append_int64(c, v.as_int64());
          break;
        case ColumnType::Float64:
          b.append_double(c, v.as_double());
          break;
        case ColumnType::Bool:
          b.append_bool(c, v.as_bool());
          break;
        default:
          b.append_bytes(c, v.as_string());
      }
    }
  }
  b.finish(out);
}

// A stream of the given batches; `fail_at` >= 0 makes get_next fail at that batch, as a
// broken source would.
void make_stream(const std::vector<ColumnSpec>& cols, std::vector<Rows> batches, ArrowArrayStream* out,
                 int fail_at = -1) {
  auto index = std::make_shared<size_t>(0);
  auto data = std::make_shared<std::vector<Rows>>(std::move(batches));
  sdk::export_stream(
      cols,
      [cols, data, index, fail_at](ArrowArray* o) {
        if (fail_at >= 0 && *index == static_cast<size_t>(fail_at))
          throw std::runtime_error("injected source failure at batch " + std::to_string(fail_at));
        if (*index >= data->size()) return false;
        build_batch(cols, (*data)[(*index)++], o);
        return true;
      },
      out);
}

json::value null_value() { return nullptr; }

Rows tricky_rows(size_t long_bytes) {
  std::string all_bytes;
  for (int i = 0; i < 256; ++i) all_bytes += static_cast<char>(i);
  std::string long_text;
  while (long_text.size() < long_bytes) long_text += "Lorem ipsum dolor sit amet, ünïcödé 😀 ";
  long_text.resize(long_bytes - long_bytes % 4);
  long_text = long_text.substr(0, long_text.find_last_of(' '));  // never cut a character
  std::string long_blob;
  while (long_blob.size() < long_bytes) long_blob += all_bytes;
  const json::value null = null_value();
  return {
      // id, parent_id, i, f, b, t, k, j, bl, ts, da, dt
      {1, null, null, null, null, null, null, null, null, null, null, null},
      {2, 1, 0, 0.0, false, "", "", "{}", "", "1970-01-01T00:00:00Z", "1970-01-01", "1970-01-01 00:00:00.000000"},
      {3, 2, std::numeric_limits<int64_t>::max(), 0.1, true, "Zoë 😀 𝄞 中文 Ω", "𝄞-key",
       R"({"a":[1,2.5,{"b":"ü😀"}],"c":null})", all_bytes, "2026-11-24T23:59:59Z", "9999-12-31",
       "2026-11-24 23:59:59.999999"},
      {4, 1, std::numeric_limits<int64_t>::min(), -1.7976931348623157e308, false,
       "It's \"quoted\" \\ back\\slash\\'; DROP TABLE parent; -- \t\r\n%_", "a'b\"c\\d", "[\"\\\\\",\"\\\"\"]",
       std::string("\0\0'\\\"\n", 6), "2000-02-29T12:00:00Z", "2000-02-29", "2000-02-29 12:34:56.000001"},
      {5, null, -1, 2.2250738585072014e-308, true, long_text, "long", "[]", long_blob, null, "0001-01-01", null},
      {6, 2, 4611686018427387904, 3.141592653589793, true, " leading and trailing ", "x", "\"just a string\"",
       std::string(1, '\0'), null, null, "1999-12-31 23:59:59.500000"},
  };
}

Rows parent_rows() { return {{1, "one"}, {2, "two 😀"}}; }
Rows parents_repeating_id_5_in_row_71() {
  Rows rows;
  for (int64_t i = 1; i <= 100; ++i) rows.push_back({i == 71 ? int64_t{5} : i, "p" + std::to_string(i)});
  return rows;
}

// What read_table must give back for rows loaded with build_batch: every column of the table,
// in table order, `d` filled by its default, blobs as {"hex"}.
Rows expected_every_type(const Rows& in) {
  Rows out;
  for (const Row& r : in) {
    Row e = r;
    if (!e.at(8).is_null()) e.at(8) = json::object{{"hex", hex(e.at(8).as_string())}};
    e.push_back("User");
    out.push_back(std::move(e));
  }
  return out;
}

// ---- the fixture -------------------------------------------------------------------------

class Conformance : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    target_ = resolve(GetParam());
    if (!target_.unavailable.empty()) {
      if (in_ci()) FAIL() << target_.unavailable;
      GTEST_SKIP() << target_.unavailable;
    }
    set_log_sink(collect_log);
    logged_lines().clear();
    // From here to TearDown everything the plugin does is watched for writes to fds 1 and 2.
    output_ = std::make_unique<CapturedOutput>();
    plugin_ = &loaded(target_.plugin);
    ASSERT_EQ(plugin_->kind, DBTOOL_KIND_BACKEND) << target_.plugin << " is not a backend";
    api_ = plugin_->backend;
    std::random_device rd;
    std::string name = "dbtool_conf_" + std::to_string(rd() % 100000000);
    uri_ = target_.uri_template;
    uri_.replace(uri_.find("{db}"), 4, name);
    db_name_ = name;
  }

  void TearDown() override {
    if (!output_) return;
    const std::string printed = output_->restore();
    output_.reset();
    if (printed.empty()) return;
    // GoogleTest's own messages about a failure or a skip land here too; only a test that is
    // otherwise clean can blame the plugin for what was printed.
    std::fwrite(printed.data(), 1, printed.size(), stdout);
    if (!HasFailure() && !IsSkipped())
      ADD_FAILURE() << target_.plugin.filename().string()
                    << " wrote to stdout or stderr; a plugin never prints (it logs through the host services): "
                    << printed.substr(0, 500);
  }

  bool quirk(const char* key, bool fallback) const {
    const json::value* v = target_.quirks.if_contains(key);
    return v && v->is_bool() ? v->get_bool() : fallback;
  }
  int64_t quirk_int(const char* key, int64_t fallback) const {
    const json::value* v = target_.quirks.if_contains(key);
    return v && v->is_int64() ? v->get_int64() : fallback;
  }

  std::string open_options(bool create = true, bool read_only = false) const {
    json::object o{{"uri", uri_}, {"create", create}};
    if (read_only) o["read_only"] = true;
    if (!target_.password.empty()) o["password"] = target_.password;
    return json::serialize(o);
  }

  struct SessionCloser {
    const dbtool_backend_api* api;
    void operator()(dbtool_session* s) const { api->close(s); }
  };
  using Session = std::unique_ptr<dbtool_session, SessionCloser>;
  struct StageAborter {
    const dbtool_backend_api* api;
    void operator()(dbtool_stage* s) const { api->stage_abort(s); }
  };
  using Stage = std::unique_ptr<dbtool_stage, StageAborter>;

  Session open(bool read_only = false) {
    Err err;
    dbtool_session* s = nullptr;
    std::string opts = open_options(!read_only, read_only);
    dbtool_status st = api_->open(opts.c_str(), &s, &err.e);
    if (st != DBTOOL_OK) fail_call("open " + uri_, st, err);
    if (s == nullptr) throw std::runtime_error("open succeeded without a session");
    return Session(s, SessionCloser{api_});
  }

  Stage begin(dbtool_session* s, const char* schema = kSchema) {
    Err err;
    dbtool_stage* stage = nullptr;
    dbtool_status st = api_->stage_begin(s, schema, &stage, &err.e);
    if (st != DBTOOL_OK) fail_call("stage_begin", st, err);
    return Stage(stage, StageAborter{api_});
  }

  int64_t load(dbtool_stage* stage, const char* table, const std::vector<ColumnSpec>& cols, std::vector<Rows> batches) {
    ArrowArrayStream stream;
    make_stream(cols, std::move(batches), &stream);
    Err err;
    int64_t rows = -1;
    dbtool_status st = api_->stage_load(stage, table, &stream, &rows, &err.e);
    EXPECT_EQ(stream.release, nullptr) << "stage_load must release the stream it was given";
    if (st != DBTOOL_OK) fail_call(std::string("stage_load ") + table, st, err);
    return rows;
  }

  int64_t count(dbtool_stage* stage, const char* table) {
    Err err;
    int64_t rows = -1;
    dbtool_status st = api_->stage_count(stage, table, &rows, &err.e);
    if (st != DBTOOL_OK) fail_call(std::string("stage_count ") + table, st, err);
    return rows;
  }

  json::object commit(Stage& stage) {
    Err err;
    dbtool_text report{};
    dbtool_status st = api_->stage_commit(stage.release(), &report, &err.e);
    std::string text = take_text(report);
    if (st != DBTOOL_OK) fail_call("stage_commit", st, err);
    return parse_object(text);
  }

  // Commits parent + the tricky rows (or `rows`) as the target's data.
  json::object commit_data(dbtool_session* s, const Rows& rows) {
    Stage stage = begin(s);
    load(stage.get(), "parent", kParentColumns, {parent_rows()});
    load(stage.get(), "every_type", kEveryColumns, {rows});
    return commit(stage);
  }

  json::object describe(dbtool_session* s) {
    Err err;
    dbtool_text text{};
    dbtool_status st = api_->describe(s, &text, &err.e);
    std::string t = take_text(text);
    if (st != DBTOOL_OK) fail_call("describe", st, err);
    return parse_object(t);
  }

  std::map<std::string, int64_t> table_rows(dbtool_session* s) {
    std::map<std::string, int64_t> out;
    json::object d = describe(s);
    for (const auto& t : d.at("tables").as_array())
      out[std::string(t.at("name").as_string())] = t.at("rows").to_number<int64_t>();
    return out;
  }

  // Every row of a table, read through the backend, with the stream's column specs.
  Rows read_rows(dbtool_session* s, const char* table, std::vector<ColumnSpec>* columns = nullptr) {
    if (!DBTOOL_HAS_SLOT(api_, read_table)) throw std::runtime_error("the backend cannot read tables back");
    ArrowArrayStream raw{};
    Err err;
    dbtool_status st = api_->read_table(s, table, &raw, &err.e);
    if (st != DBTOOL_OK) fail_call(std::string("read_table ") + table, st, err);
    sdk::StreamReader reader(&raw);
    if (columns) *columns = reader.columns();
    Rows out;
    sdk::ArrayHolder batch;
    while (reader.next(batch)) {
      sdk::BatchView v(reader.columns(), batch.a);
      for (int64_t r = 0; r < v.rows(); ++r) {
        Row row;
        for (size_t c = 0; c < v.columns(); ++c) {
          if (v.is_null(c, r)) {
            row.emplace_back(nullptr);
            continue;
          }
          switch (v.spec(c).type) {
            case ColumnType::Int64:
              row.emplace_back(v.get_int64(c, r));
              break;
            case ColumnType::Float64:
              row.emplace_back(v.get_double(c, r));
              break;
            case ColumnType::Bool:
              row.emplace_back(v.get_bool(c, r));
              break;
            case ColumnType::Binary:
              row.emplace_back(json::object{{"hex", hex(v.get_bytes(c, r))}});
              break;
            default:
              row.emplace_back(json::string(v.get_bytes(c, r)));
          }
        }
        out.push_back(std::move(row));
      }
    }
    return out;
  }

  // Compares row by row and cell by cell, so a failure names the exact value that changed.
  static void expect_rows(const Rows& want, const Rows& got, const std::string& what) {
    ASSERT_EQ(got.size(), want.size()) << what << ": row count";
    for (size_t r = 0; r < want.size(); ++r) {
      ASSERT_EQ(got[r].size(), want[r].size()) << what << ": columns of row " << r;
      for (size_t c = 0; c < want[r].size(); ++c) {
        const json::value& w = want[r][c];
        const json::value& g = got[r][c];
        if (w.is_double() && g.is_double()) {
          // Bit-exact: a double must survive the trip unrounded.
          const double wd = w.get_double(), gd = g.get_double();
          EXPECT_EQ(std::memcmp(&wd, &gd, sizeof(double)), 0)
              << what << " row " << r << " column " << c << ": " << w << " came back as " << g;
          continue;
        }
        std::string ws = json::serialize(w), gs = json::serialize(g);
        if (ws.size() > 200) ws = ws.substr(0, 200) + "... (" + std::to_string(ws.size()) + " bytes)";
        if (gs.size() > 200) gs = gs.substr(0, 200) + "... (" + std::to_string(gs.size()) + " bytes)";
        EXPECT_TRUE(w == g) << what << " row " << r << " column " << c << ": want " << ws << ", got " << gs;
      }
    }
  }

  size_t long_bytes() const { return static_cast<size_t>(quirk_int("long_value_bytes", 1 << 20)); }

  // For a file-based target (a file URI), every file in its folder that belongs to it.
  std::map<std::string, std::string> target_files() const {
    std::map<std::string, std::string> out;
    const std::string scheme = "sqlite:///";
    if (uri_.rfind(scheme, 0) != 0) return out;
    fs::path file = uri_.substr(scheme.size());
    for (const auto& e : fs::directory_iterator(file.parent_path()))
      if (e.path().filename().string().rfind(file.filename().string(), 0) == 0 ||
          e.path().filename().string().rfind("." + file.filename().string(), 0) == 0)
        out[e.path().filename().string()] = testing::read_bytes(e.path());
    return out;
  }

  Target target_;
  std::unique_ptr<CapturedOutput> output_;
  const LoadedPlugin* plugin_ = nullptr;
  const dbtool_backend_api* api_ = nullptr;
  std::string uri_;
  std::string db_name_;  // what "{db}" became
};

// ---- the tests ---------------------------------------------------------------------------

TEST_P(Conformance, DescriptorAndNegotiationFollowTheContract) {
  EXPECT_TRUE(std::regex_match(plugin_->name, std::regex("[a-z0-9-]+"))) << plugin_->name;
  EXPECT_FALSE(plugin_->version.empty());
  EXPECT_EQ(DBTOOL_ABI_MAJOR_OF(plugin_->abi_version), DBTOOL_ABI_VERSION_MAJOR);
  for (auto [slot, set] : std::initializer_list<std::pair<const char*, bool>>{
           {"open", DBTOOL_HAS_SLOT(api_, open)},
           {"close", DBTOOL_HAS_SLOT(api_, close)},
           {"describe", DBTOOL_HAS_SLOT(api_, describe)},
           {"stage_begin", DBTOOL_HAS_SLOT(api_, stage_begin)},
           {"stage_load", DBTOOL_HAS_SLOT(api_, stage_load)},
           {"stage_count", DBTOOL_HAS_SLOT(api_, stage_count)},
           {"stage_commit", DBTOOL_HAS_SLOT(api_, stage_commit)},
           {"stage_abort", DBTOOL_HAS_SLOT(api_, stage_abort)},
           {"read_table (the suite reads data back with it)", DBTOOL_HAS_SLOT(api_, read_table)}})
    EXPECT_TRUE(set) << "required slot " << slot << " is missing";
  // A capability is a promise that the slot is there.
  const uint64_t caps = plugin_->capabilities;
  EXPECT_TRUE(!(caps & DBTOOL_CAP_BACKUP) || DBTOOL_HAS_SLOT(api_, backup));
  EXPECT_TRUE(!(caps & DBTOOL_CAP_RESTORE) || DBTOOL_HAS_SLOT(api_, restore));
  EXPECT_TRUE(!(caps & DBTOOL_CAP_CANCEL) || DBTOOL_HAS_SLOT(api_, cancel));
  EXPECT_TRUE(!(caps & DBTOOL_CAP_READ) ||
              (DBTOOL_HAS_SLOT(api_, snapshot_begin) && DBTOOL_HAS_SLOT(api_, snapshot_end) &&
               DBTOOL_HAS_SLOT(api_, describe_schema)));
  EXPECT_TRUE(!(caps & DBTOOL_CAP_RESTORE) || (caps & DBTOOL_CAP_BACKUP))
      << "RESTORE restores what backup wrote, so it comes with BACKUP";

  // A host of another major is refused, and the plugin still says who it is.
  void* handle = ::dlopen(target_.plugin.c_str(), RTLD_NOW | RTLD_LOCAL);
  ASSERT_NE(handle, nullptr) << ::dlerror();
  auto init = reinterpret_cast<dbtool_plugin_init_fn>(::dlsym(handle, DBTOOL_PLUGIN_ENTRY_SYMBOL));
  ASSERT_NE(init, nullptr);
  dbtool_host_services host{};
  host.struct_size = sizeof host;
  host.abi_version = DBTOOL_ABI_MAKE(DBTOOL_ABI_VERSION_MAJOR + 1, 0);
  dbtool_plugin desc{};
  desc.struct_size = sizeof desc;
  Err err;
  EXPECT_EQ(init(host.abi_version, &host, &desc, &err.e), DBTOOL_ERR_INCOMPATIBLE);
  EXPECT_EQ(DBTOOL_ABI_MAJOR_OF(desc.abi_version), DBTOOL_ABI_VERSION_MAJOR);
  EXPECT_NE(desc.name, nullptr);
}

// describe_uri (ABI 1.2): the backend alone reads its URIs; the host asks it what one names.
TEST_P(Conformance, DescribeUriSaysWhatItsOwnUriNamesAndRefusesOthers) {
  if (!DBTOOL_HAS_SLOT(api_, describe_uri))
    GTEST_SKIP() << "describe_uri is optional (ABI 1.2); the host reads the URI as opaque";
  auto describe_uri = [&](const std::string& uri, dbtool_status want) {
    Err err;
    dbtool_text out{};
    dbtool_status st = api_->describe_uri(uri.c_str(), &out, &err.e);
    std::string text = take_text(out);
    EXPECT_EQ(st, want) << uri << ": " << err.message();
    if (st != DBTOOL_OK) {
      EXPECT_FALSE(err.message().empty()) << "a refused URI needs a message saying the form";
    }
    return st == DBTOOL_OK ? parse_object(text) : json::object{};
  };
  const json::object facts = describe_uri(uri_, DBTOOL_OK);
  for (const char* key : {"uri", "location", "name", "password"})
    ASSERT_TRUE(facts.contains(key) && facts.at(key).is_string() && !facts.at(key).as_string().empty())
        << "\"" << key << "\" missing in " << json::serialize(facts);
  const std::string name(facts.at("name").as_string());
  EXPECT_TRUE(std::regex_match(name, std::regex("[A-Za-z0-9._-]+"))) << name;
  EXPECT_NE(name.find(db_name_), std::string::npos) << "the backup name " << name << " says nothing of " << db_name_;
  const std::string password(facts.at("password").as_string());
  EXPECT_TRUE(password == "none" || password == "optional" || password == "required") << password;
  if (!target_.password.empty()) {
    EXPECT_EQ(json::serialize(facts).find(target_.password), std::string::npos) << "describe_uri shows the password";
  }
  if (const json::value* file = facts.if_contains("file")) {
    ASSERT_TRUE(file->is_string());
    EXPECT_TRUE(fs::path(std::string(file->as_string())).is_absolute()) << *file;
    EXPECT_FALSE(fs::exists(std::string(file->as_string()))) << "describe_uri created " << *file;
  }
  // Its normal form is a fixed point, and opens the same database as the URI it came from.
  const std::string normal(facts.at("uri").as_string());
  EXPECT_EQ(describe_uri(normal, DBTOOL_OK), facts);
  {
    Session s = open();
    commit_data(s.get(), {});
  }
  {
    const std::string given = uri_;
    uri_ = normal;
    Session s = open();
    uri_ = given;
    const json::object d = describe(s.get());
    bool has_parent = false;
    for (const auto& t : d.at("tables").as_array()) has_parent |= t.at("name") == "parent";
    EXPECT_TRUE(has_parent) << normal << " does not open the database " << uri_ << " named: " << json::serialize(d);
  }
  // Every scheme it claims is its own; a scheme it does not claim is refused.
  const std::string rest = uri_.substr(uri_.find("://"));
  for (const auto& scheme : plugin_->uri_schemes) describe_uri(scheme + rest, DBTOOL_OK);
  describe_uri("not-" + plugin_->name + rest, DBTOOL_ERR_INVALID_ARGUMENT);
  describe_uri(plugin_->name + "://", DBTOOL_ERR_INVALID_ARGUMENT);
}

TEST_P(Conformance, CreatesEveryPortableTypeWithDefaultsKeysAndReservedWordNames) {
  Session s = open();
  Stage stage = begin(s.get());
  for (const char* t : {"parent", "every_type", "order"}) EXPECT_EQ(count(stage.get(), t), 0) << t;
  load(stage.get(), "order", {{"select", ColumnType::Int64}, {"from", ColumnType::Utf8}},
       std::vector<Rows>{Rows{{1, "where"}, {2, "group by"}}});
  commit(stage);

  auto tables = table_rows(s.get());
  EXPECT_EQ(tables, (std::map<std::string, int64_t>{{"every_type", 0}, {"order", 2}, {"parent", 0}}));
  std::vector<ColumnSpec> cols;
  read_rows(s.get(), "every_type", &cols);
  std::vector<std::pair<std::string, ColumnType>> got,
      want = {{"id", ColumnType::Int64},  {"parent_id", ColumnType::Int64}, {"i", ColumnType::Int64},
              {"f", ColumnType::Float64}, {"b", ColumnType::Bool},          {"t", ColumnType::Utf8},
              {"k", ColumnType::Utf8},    {"j", ColumnType::Utf8},          {"bl", ColumnType::Binary},
              {"ts", ColumnType::Utf8},   {"da", ColumnType::Utf8},         {"dt", ColumnType::Utf8},
              {"d", ColumnType::Utf8}};
  for (const auto& c : cols) got.emplace_back(c.name, c.type);
  EXPECT_EQ(got, want) << "read_table gives every column in table order with the type's Arrow format";
  expect_rows({{1, "where"}, {2, "group by"}}, read_rows(s.get(), "order"), "order");
}

TEST_P(Conformance, RoundTripsEveryKindOfValueExactly) {
  Session s = open();
  Rows rows = tricky_rows(long_bytes());
  commit_data(s.get(), rows);
  expect_rows(expected_every_type(rows), read_rows(s.get(), "every_type"), "every_type");
  expect_rows(parent_rows(), read_rows(s.get(), "parent"), "parent");
}

TEST_P(Conformance, LoadsAMultiBatchStreamAndRepeatedLoadsOfOneTable) {
  Session s = open();
  Stage stage = begin(s.get());
  load(stage.get(), "parent", kParentColumns, {parent_rows()});
  const std::vector<ColumnSpec> cols = {{"id", ColumnType::Int64}, {"i", ColumnType::Int64}, {"t", ColumnType::Utf8}};
  std::vector<Rows> batches;
  int64_t id = 0, sum = 0;
  for (int b = 0; b < 9; ++b) {
    Rows batch;
    for (int r = 0; r < (b == 4 ? 1 : 2500); ++r, ++id) {  // uneven sizes on purpose
      batch.push_back({id, id * 7, "row " + std::to_string(id)});
      sum += id * 7;
    }
    batches.push_back(std::move(batch));
  }
  batches.insert(batches.begin() + 3, Rows{});  // an empty batch is legal
  EXPECT_EQ(load(stage.get(), "every_type", cols, batches), id);
  EXPECT_EQ(load(stage.get(), "every_type", cols, std::vector<Rows>{Rows{{id, 1, "last"}}}), 1);
  sum += 1;
  EXPECT_EQ(count(stage.get(), "every_type"), id + 1);
  commit(stage);

  Rows back = read_rows(s.get(), "every_type");
  ASSERT_EQ(static_cast<int64_t>(back.size()), id + 1);
  int64_t got_sum = 0;
  for (int64_t r = 0; r < id + 1; ++r) {
    ASSERT_EQ(back[r].at(0).as_int64(), r) << "rows come back in primary-key order";
    got_sum += back[r].at(2).as_int64();
  }
  EXPECT_EQ(got_sum, sum);
  EXPECT_EQ(back[id].at(5).as_string(), "last");
}

// Whenever BACKUP is announced, whether or not RESTORE is: dbtool prints "(verified)" after
// every backup, so the report must account for every row of every table.
TEST_P(Conformance, BackupIsCompleteOwnerOnlyAndNeverOverwrites) {
  if (!(plugin_->capabilities & DBTOOL_CAP_BACKUP)) GTEST_SKIP() << plugin_->name << " does not announce backup";
  Session s = open();
  commit_data(s.get(), tricky_rows(1024));
  fs::path dir = testing::make_temp_dir("dbtool-conformance-backup");
  fs::path file = dir / "backup";
  Err err;
  dbtool_text report{};
  dbtool_status st = api_->backup(s.get(), file.c_str(), &report, &err.e);
  json::object r = parse_object(take_text(report));
  ASSERT_EQ(st, DBTOOL_OK) << err.message();
  struct stat info {};
  ASSERT_EQ(::stat(file.c_str(), &info), 0);
  EXPECT_EQ(info.st_mode & 0777, 0600u) << "a backup is owner-only";
  EXPECT_EQ(r.at("bytes").to_number<int64_t>(), static_cast<int64_t>(info.st_size));
  EXPECT_FALSE(r.at("format").as_string().empty());
  std::map<std::string, int64_t> counted;
  for (const auto& t : r.at("tables").as_array())
    counted[std::string(t.at("name").as_string())] = t.at("rows").to_number<int64_t>();
  EXPECT_EQ(counted, (std::map<std::string, int64_t>{{"every_type", 6}, {"order", 0}, {"parent", 2}}))
      << "the report counts the rows the backup holds: " << json::serialize(r);

  // A backup never overwrites a file.
  const std::string bytes = testing::read_bytes(file);
  Err exists;
  dbtool_text ignored{};
  EXPECT_NE(api_->backup(s.get(), file.c_str(), &ignored, &exists.e), DBTOOL_OK);
  take_text(ignored);
  EXPECT_FALSE(exists.message().empty());
  EXPECT_EQ(testing::read_bytes(file), bytes);

  // A backup that cannot be written fails and leaves nothing behind.
  Err nowhere;
  dbtool_text none{};
  const fs::path missing = dir / "no-such-folder" / "backup";
  EXPECT_NE(api_->backup(s.get(), missing.c_str(), &none, &nowhere.e), DBTOOL_OK);
  take_text(none);
  EXPECT_FALSE(nowhere.message().empty());
  EXPECT_FALSE(fs::exists(missing));
  fs::remove_all(dir);
}

// A backend that lists verification levels (describe's "backup_verify") names only "quick" and
// "full", offers "quick", and backs up under each level it lists (the "verify" open option);
// what a backup records for itself (a manifest) is not a table of the database it restores.
TEST_P(Conformance, BackupVerifyLevelsAreHonouredWhenAnnounced) {
  if (!(plugin_->capabilities & DBTOOL_CAP_BACKUP)) GTEST_SKIP() << plugin_->name << " does not announce backup";
  json::array levels;
  {
    Session s = open();
    commit_data(s.get(), tricky_rows(64));
    json::object d = describe(s.get());
    if (!d.if_contains("backup_verify")) GTEST_SKIP() << plugin_->name << " lists no backup_verify levels";
    ASSERT_TRUE(d.at("backup_verify").is_array()) << json::serialize(d);
    levels = d.at("backup_verify").as_array();
  }
  bool quick = false;
  fs::path dir = testing::make_temp_dir("dbtool-conformance-verify");
  for (const auto& level : levels) {
    ASSERT_TRUE(level.is_string() && (level.as_string() == "quick" || level.as_string() == "full")) << level;
    quick = quick || level.as_string() == "quick";
    json::object o = json::parse(open_options(false)).as_object();
    o["verify"] = level;
    const std::string opts = json::serialize(o);
    Err err;
    dbtool_session* raw = nullptr;
    ASSERT_EQ(api_->open(opts.c_str(), &raw, &err.e), DBTOOL_OK) << err.message();
    Session s(raw, SessionCloser{api_});
    const auto tables = table_rows(s.get());
    fs::path file = dir / ("backup-" + std::string(level.as_string()));
    Err berr;
    dbtool_text report{};
    EXPECT_EQ(api_->backup(s.get(), file.c_str(), &report, &berr.e), DBTOOL_OK) << berr.message();
    take_text(report);
    if (DBTOOL_HAS_SLOT(api_, verify_backup)) {
      Err verr;
      dbtool_text vreport{};
      EXPECT_EQ(api_->verify_backup(s.get(), file.c_str(), &vreport, &verr.e), DBTOOL_OK) << verr.message();
      take_text(vreport);
    }
    if (plugin_->capabilities & DBTOOL_CAP_RESTORE) {
      Err rerr;
      dbtool_text rreport{};
      EXPECT_EQ(api_->restore(s.get(), file.c_str(), &rreport, &rerr.e), DBTOOL_OK) << rerr.message();
      take_text(rreport);
      EXPECT_EQ(table_rows(s.get()), tables) << "a restore brings back the tables of the database, no more";
    }
  }
  EXPECT_TRUE(quick) << "\"quick\", the default level, is always offered";
  fs::remove_all(dir);
}

// Whenever RESTORE is announced.
TEST_P(Conformance, RestoreReturnsTheExactDataOfABackupAndRefusesADamagedOne) {
  if (!(plugin_->capabilities & DBTOOL_CAP_RESTORE)) GTEST_SKIP() << plugin_->name << " does not announce restore";
  ASSERT_TRUE(plugin_->capabilities & DBTOOL_CAP_BACKUP) << "restore needs a backup to restore";
  Session s = open();
  Rows before = tricky_rows(long_bytes());
  commit_data(s.get(), before);

  fs::path dir = testing::make_temp_dir("dbtool-conformance-backup");
  fs::path file = dir / "backup";
  Err err;
  dbtool_text report{};
  dbtool_status st = api_->backup(s.get(), file.c_str(), &report, &err.e);
  take_text(report);
  ASSERT_EQ(st, DBTOOL_OK) << err.message();

  // Other data replaces it; the restore must bring back exactly the data of the backup.
  commit_data(s.get(), {{7, 2, 70, 7.5, true, "after", "after", "{}", "x", null_value(), null_value(), null_value()}});
  Err rerr;
  dbtool_text rreport{};
  st = api_->restore(s.get(), file.c_str(), &rreport, &rerr.e);
  take_text(rreport);
  ASSERT_EQ(st, DBTOOL_OK) << rerr.message();
  expect_rows(expected_every_type(before), read_rows(s.get(), "every_type"), "every_type after restore");
  expect_rows(parent_rows(), read_rows(s.get(), "parent"), "parent after restore");

  // A damaged backup is refused and the target stays as it is.
  fs::path cut = dir / "cut";
  std::string bytes = testing::read_bytes(file);
  testing::write_bytes(cut, bytes.substr(0, bytes.size() / 2));
  Err cerr;
  dbtool_text creport{};
  EXPECT_NE(api_->restore(s.get(), cut.c_str(), &creport, &cerr.e), DBTOOL_OK);
  take_text(creport);
  EXPECT_FALSE(cerr.message().empty());
  expect_rows(expected_every_type(before), read_rows(s.get(), "every_type"), "every_type after a refused restore");
  fs::remove_all(dir);
}

TEST_P(Conformance, AStageIsInvisibleUntilCommitAndAbortLeavesNoTrace) {
  Session s = open();
  Rows a = {{1, 1, 10, 1.5, true, "A", "a", "{}", "a", null_value(), null_value(), null_value()}};
  commit_data(s.get(), a);
  auto tables_before = table_rows(s.get());
  {
    Stage stage = begin(s.get());
    load(stage.get(), "parent", kParentColumns, {parent_rows()});
    load(
        stage.get(), "every_type", kEveryColumns,
        std::vector<Rows>{Rows{{2, 2, 20, 2.5, false, "B", "b", "{}", "b", null_value(), null_value(), null_value()}}});
    expect_rows(expected_every_type(a), read_rows(s.get(), "every_type"), "target while a stage is loaded");
  }  // aborted here
  EXPECT_EQ(table_rows(s.get()), tables_before);
  expect_rows(expected_every_type(a), read_rows(s.get(), "every_type"), "target after abort");

  // The session is still good for a new stage, which then replaces the data in one step.
  Rows c = {
      {3, 2, 30, 3.5, true, "C", "c", "[]", "c", "2026-01-01T00:00:00Z", "2026-01-01", "2026-01-01 08:00:00.000000"}};
  json::object report = commit_data(s.get(), c);
  if (quirk("reports_retired", false)) {
    EXPECT_TRUE(report.contains("retired")) << "the report names where the old data went: " << json::serialize(report);
  }
  expect_rows(expected_every_type(c), read_rows(s.get(), "every_type"), "target after commit");

  // A new session sees the committed state too (and finds no stale stage to trip over).
  s.reset();
  Session again = open();
  expect_rows(expected_every_type(c), read_rows(again.get(), "every_type"), "target from a new session");
}

// The host calls `cancel` from its watcher thread, not the session's, at any moment while the
// session is open (CONTRACT.md, "Cancellation"), and most often nothing is running then. Without
// a statement blocked in a server the suite checks what it can: cancel from another thread on an
// idle session and on one with an open stage returns DBTOOL_OK and leaves both fully usable (a
// cancel that found nothing to stop is not held against the next call); a backend without
// DBTOOL_CAP_CANCEL is skipped.
TEST_P(Conformance, CancelFromAnotherThreadWhileIdleIsHarmless) {
  if ((plugin_->capabilities & DBTOOL_CAP_CANCEL) == 0)
    GTEST_SKIP() << "the backend does not announce DBTOOL_CAP_CANCEL";
  ASSERT_TRUE(DBTOOL_HAS_SLOT(api_, cancel)) << "DBTOOL_CAP_CANCEL is announced but the cancel slot is not set";
  Session s = open();
  auto cancel_from_another_thread = [&](const char* when) {
    dbtool_status st = DBTOOL_ERR_INTERNAL;
    Err err;
    std::thread([&] { st = api_->cancel(s.get(), &err.e); }).join();
    EXPECT_EQ(st, DBTOOL_OK) << "cancel " << when << ": " << err.message();
  };
  cancel_from_another_thread("on a fresh session");
  Rows a = {{1, 1, 10, 1.5, true, "A", "a", "{}", "a", null_value(), null_value(), null_value()}};
  commit_data(s.get(), a);
  cancel_from_another_thread("after a commit");
  expect_rows(expected_every_type(a), read_rows(s.get(), "every_type"), "target read after an idle cancel");

  Rows b = {{2, 2, 20, 2.5, false, "B", "b", "[]", "b", null_value(), null_value(), null_value()}};
  Stage stage = begin(s.get());
  cancel_from_another_thread("with a stage open");
  load(stage.get(), "parent", kParentColumns, {parent_rows()});
  cancel_from_another_thread("between two loads");
  EXPECT_EQ(load(stage.get(), "every_type", kEveryColumns, {b}), 1);
  EXPECT_EQ(count(stage.get(), "every_type"), 1);
  cancel_from_another_thread("before the commit");
  commit(stage);
  expect_rows(expected_every_type(b), read_rows(s.get(), "every_type"), "target after a stage cancelled while idle");
  cancel_from_another_thread("right before close");
}

TEST_P(Conformance, AFailingSourceStreamMidLoadLeavesTheTargetIntact) {
  Session s = open();
  Rows a = tricky_rows(1024);
  commit_data(s.get(), a);
  Stage stage = begin(s.get());
  load(stage.get(), "parent", kParentColumns, {parent_rows()});
  std::vector<Rows> batches;
  for (int b = 0; b < 5; ++b)
    batches.push_back({{100 + b, 1, b, 0.5, true, "x", "y", "{}", "z", null_value(), null_value(), null_value()}});
  ArrowArrayStream stream;
  make_stream(kEveryColumns, batches, &stream, /*fail_at=*/3);
  Err err;
  int64_t rows = 0;
  dbtool_status st = api_->stage_load(stage.get(), "every_type", &stream, &rows, &err.e);
  EXPECT_EQ(stream.release, nullptr) << "stage_load releases the stream on failure too";
  EXPECT_NE(st, DBTOOL_OK);
  EXPECT_NE(err.message().find("injected source failure"), std::string::npos)
      << "the stream's own error reaches the user; got: " << err.message();
  stage.reset();
  expect_rows(expected_every_type(a), read_rows(s.get(), "every_type"), "target after a failed load");
}

// Large values: 100 rows of a 300 kB text and a 50 kB blob each, 35 MB in one batch — more
// than a server takes in one statement by default (MariaDB's max_allowed_packet: 16 MiB), so a
// backend that puts many rows in one statement must size its statements by their bytes too, in
// its loads and in its backups. Every row arrives whole, and comes back whole from a backup.
TEST_P(Conformance, LargeValuesInOneBatchLoadWhole) {
  Session s = open();
  Rows rows;
  for (int i = 1; i <= 100; ++i) {
    std::string blob(50000, '\0');
    for (size_t k = 0; k < blob.size(); ++k) blob[k] = static_cast<char>((k * 7 + static_cast<size_t>(i)) % 256);
    rows.push_back({i, null_value(), i, 0.5, true, std::string(300000, static_cast<char>('a' + i % 26)),
                    "k" + std::to_string(i), "{}", blob, null_value(), null_value(), null_value()});
  }
  Stage stage = begin(s.get());
  load(stage.get(), "parent", kParentColumns, {parent_rows()});
  EXPECT_EQ(load(stage.get(), "every_type", kEveryColumns, {rows}), 100);
  EXPECT_EQ(count(stage.get(), "every_type"), 100);
  commit(stage);
  if (!DBTOOL_HAS_SLOT(api_, read_table) || !(plugin_->capabilities & DBTOOL_CAP_READ)) return;
  auto expect_whole = [&](const std::string& when) {
    const Rows back = read_rows(s.get(), "every_type");
    ASSERT_EQ(back.size(), 100u) << when;
    for (const Row& r : back) {
      const int64_t id = r.at(0).as_int64();
      EXPECT_EQ(r.at(5).as_string(), std::string(300000, static_cast<char>('a' + id % 26))) << when << ", row " << id;
    }
  };
  expect_whole("loaded");
  if (!(plugin_->capabilities & DBTOOL_CAP_BACKUP) || !(plugin_->capabilities & DBTOOL_CAP_RESTORE)) return;
  fs::path dir = testing::make_temp_dir("dbtool-conformance-large");
  const fs::path file = dir / "backup";
  Err err;
  dbtool_text report{};
  ASSERT_EQ(api_->backup(s.get(), file.c_str(), &report, &err.e), DBTOOL_OK) << err.message();
  take_text(report);
  commit_data(s.get(), {{7, 2, 70, 7.5, true, "after", "after", "{}", "x", null_value(), null_value(), null_value()}});
  Err rerr;
  dbtool_text rreport{};
  ASSERT_EQ(api_->restore(s.get(), file.c_str(), &rreport, &rerr.e), DBTOOL_OK) << rerr.message();
  take_text(rreport);
  expect_whole("restored from a backup");
  fs::remove_all(dir);
}

// ABI 1.4, DBTOOL_CAP_CONCURRENT_LOAD: the host loads different tables of a stage from threads
// of its own at the same time (CONTRACT.md, "Threads"). Three threads load the three tables in
// many calls each, all at once; every row arrives, each table's count is right before and after
// the commit, and the foreign keys between rows loaded by different threads hold.
namespace {
const std::vector<ColumnSpec> kChildColumns = {
    {"id", ColumnType::Int64}, {"parent_id", ColumnType::Int64}, {"i", ColumnType::Int64}, {"t", ColumnType::Utf8}};
const std::vector<ColumnSpec> kOrderColumns = {{"select", ColumnType::Int64}, {"from", ColumnType::Utf8}};
}  // namespace

TEST_P(Conformance, ConcurrentLoadsOfDifferentTablesLoadEveryRow) {
  if (!(plugin_->capabilities & DBTOOL_CAP_CONCURRENT_LOAD))
    GTEST_SKIP() << plugin_->name << " does not announce DBTOOL_CAP_CONCURRENT_LOAD";
  constexpr int64_t kCalls = 12, kRows = 700, kAll = kCalls * kRows;
  Session s = open();
  Stage stage = begin(s.get());
  // Each thread makes its call's batch itself, so that the calls of the three overlap.
  auto load_all = [&](const char* table, const std::vector<ColumnSpec>& cols, auto row) {
    return std::async(std::launch::async, [&, table, row] {
      int64_t loaded = 0;
      for (int64_t c = 0; c < kCalls; ++c) {
        Rows batch;
        for (int64_t r = 0; r < kRows; ++r) batch.push_back(row(c * kRows + r + 1));
        loaded += load(stage.get(), table, cols, {batch});
      }
      return loaded;
    });
  };
  auto parents = load_all("parent", kParentColumns, [](int64_t id) { return Row{id, "p" + std::to_string(id)}; });
  auto children = load_all("every_type", kChildColumns, [](int64_t id) {
    return Row{id, (id * 7) % kAll + 1, id * 3, "row " + std::to_string(id)};
  });
  auto orders = load_all("order", kOrderColumns, [](int64_t id) { return Row{id, "f" + std::to_string(id % 97)}; });
  EXPECT_EQ(parents.get(), kAll);
  EXPECT_EQ(children.get(), kAll);
  EXPECT_EQ(orders.get(), kAll);
  EXPECT_EQ(count(stage.get(), "parent"), kAll);
  EXPECT_EQ(count(stage.get(), "every_type"), kAll);
  EXPECT_EQ(count(stage.get(), "order"), kAll);
  commit(stage);

  EXPECT_EQ(table_rows(s.get())["order"], kAll);
  const Rows back = read_rows(s.get(), "every_type");
  ASSERT_EQ(static_cast<int64_t>(back.size()), kAll);
  for (int64_t r = 0; r < kAll; ++r) {
    const int64_t id = r + 1;
    ASSERT_EQ(back[r].at(0).as_int64(), id) << "rows come back in primary-key order";
    ASSERT_EQ(back[r].at(1).as_int64(), (id * 7) % kAll + 1) << "row " << id;
    ASSERT_EQ(back[r].at(2).as_int64(), id * 3) << "row " << id;
  }
  const Rows labels = read_rows(s.get(), "parent");
  ASSERT_EQ(static_cast<int64_t>(labels.size()), kAll);
  EXPECT_EQ(labels.back().at(1).as_string(), "p" + std::to_string(kAll));
}

// One table's calls may come from different threads one after the other while other tables
// load: a key that repeats one loaded by an earlier call (from another thread) is refused at
// once as the constraint it is, not after a wait on the backend's own locks; the load of the
// other table beside it goes through; the aborted stage leaves the target as it was.
TEST_P(Conformance, AKeyRepeatedAcrossThreadsIsRefusedAtOnce) {
  if (!(plugin_->capabilities & DBTOOL_CAP_CONCURRENT_LOAD))
    GTEST_SKIP() << plugin_->name << " does not announce DBTOOL_CAP_CONCURRENT_LOAD";
  Session s = open();
  commit_data(s.get(), {{1, 1, 10, 1.5, true, "A", "a", "{}", "a", null_value(), null_value(), null_value()}});
  const auto before = table_rows(s.get());
  Stage stage = begin(s.get());
  auto rows = [](int64_t from, int64_t to) {
    Rows out;
    for (int64_t id = from; id <= to; ++id) out.push_back({id, "p" + std::to_string(id)});
    return out;
  };
  auto orders = [](int64_t from, int64_t to) {
    Rows out;
    for (int64_t id = from; id <= to; ++id) out.push_back({id, "o"});
    return out;
  };
  // Round one: parent and order side by side, each on a thread of its own.
  auto first =
      std::async(std::launch::async, [&] { return load(stage.get(), "parent", kParentColumns, {rows(1, 500)}); });
  auto beside =
      std::async(std::launch::async, [&] { return load(stage.get(), "order", kOrderColumns, {orders(1, 500)}); });
  EXPECT_EQ(first.get(), 500);
  EXPECT_EQ(beside.get(), 500);
  // Round two, on new threads: parent's next call ends with id 7 again; order loads on.
  auto repeat = std::async(std::launch::async, [&] {
    Rows batch = rows(501, 1000);
    batch.push_back({int64_t{7}, "seven again"});
    ArrowArrayStream stream;
    make_stream(kParentColumns, {batch}, &stream);
    Err err;
    int64_t loaded = 0;
    const auto t0 = std::chrono::steady_clock::now();
    dbtool_status st = api_->stage_load(stage.get(), "parent", &stream, &loaded, &err.e);
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    return std::make_tuple(st, err.message(), seconds);
  });
  auto more =
      std::async(std::launch::async, [&] { return load(stage.get(), "order", kOrderColumns, {orders(501, 1500)}); });
  auto [status, message, seconds] = repeat.get();
  EXPECT_EQ(more.get(), 1000);
  EXPECT_EQ(status, DBTOOL_ERR_CONSTRAINT) << message;
  EXPECT_LT(seconds, 10.0) << "the repeated key waited for a lock: " << message;
  stage.reset();  // aborted
  EXPECT_EQ(table_rows(s.get()), before);
}

// A cancel while two tables load at once reaches both: each load ends (loaded whole, or
// DBTOOL_ERR_CANCELLED), the aborted stage leaves the target as it was, and the session goes on.
TEST_P(Conformance, ACancelDuringConcurrentLoadsEndsThemAll) {
  if (!(plugin_->capabilities & DBTOOL_CAP_CONCURRENT_LOAD) || !(plugin_->capabilities & DBTOOL_CAP_CANCEL))
    GTEST_SKIP() << plugin_->name << " does not announce both DBTOOL_CAP_CONCURRENT_LOAD and DBTOOL_CAP_CANCEL";
  Session s = open();
  commit_data(s.get(), {{1, 1, 10, 1.5, true, "A", "a", "{}", "a", null_value(), null_value(), null_value()}});
  const auto before = table_rows(s.get());
  Stage stage = begin(s.get());
  auto big = [&](const char* table, const std::vector<ColumnSpec>& cols, auto row) {
    return std::async(std::launch::async, [&, table, row] {
      std::vector<Rows> batches(40);
      for (int64_t b = 0; b < 40; ++b)
        for (int64_t r = 0; r < 2500; ++r) batches[b].push_back(row(b * 2500 + r + 1));
      ArrowArrayStream stream;
      make_stream(cols, std::move(batches), &stream);
      Err err;
      int64_t loaded = 0;
      dbtool_status st = api_->stage_load(stage.get(), table, &stream, &loaded, &err.e);
      return std::make_pair(st, err.message());
    });
  };
  auto a = big("parent", kParentColumns, [](int64_t id) { return Row{id, "p" + std::to_string(id)}; });
  auto b = big("order", kOrderColumns, [](int64_t id) { return Row{id, "o"}; });
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  Err cerr;
  EXPECT_EQ(api_->cancel(s.get(), &cerr.e), DBTOOL_OK) << cerr.message();
  for (auto* f : {&a, &b}) {
    ASSERT_EQ(f->wait_for(std::chrono::seconds(60)), std::future_status::ready) << "a load did not end after cancel";
    auto [st, message] = f->get();
    EXPECT_TRUE(st == DBTOOL_OK || st == DBTOOL_ERR_CANCELLED) << "status " << st << ": " << message;
  }
  stage.reset();
  EXPECT_EQ(table_rows(s.get()), before);
  Rows c = {{3, 2, 30, 3.5, true, "C", "c", "[]", "c", null_value(), null_value(), null_value()}};
  commit_data(s.get(), c);
  expect_rows(expected_every_type(c), read_rows(s.get(), "every_type"), "target after a cancelled concurrent load");
}

TEST_P(Conformance, ConstraintViolationsAreRefusedWithStatusAndSqlstate) {
  Session s = open();
  Rows a = {{1, 1, 10, 1.5, true, "A", "a", "{}", "a", null_value(), null_value(), null_value()}};
  commit_data(s.get(), a);

  // A duplicate primary key, a duplicate unique value, an orphan foreign key: each is caught at
  // load or at commit, never cut over.
  struct Case {
    const char* what;
    Rows parents;
    Rows every;
    const char* named;  // how a backend with the quirk "names_duplicate_keys" words it
  } cases[] = {
      {"duplicate primary key", {{1, "one"}, {1, "uno"}}, {}, "duplicate key in table parent: primary key (id) = 1 "},
      // Deep inside a batch, where a backend that puts many rows in one statement must still
      // find the row that repeats the key.
      {"duplicate primary key in row 71 of 100",
       parents_repeating_id_5_in_row_71(),
       {},
       "duplicate key in table parent: primary key (id) = 5 "},
      {"duplicate unique value",
       {{1, "same"}, {2, "same"}},
       {},
       R"(duplicate key in table parent: uq_parent_label (label) = "same" )"},
      {"orphan foreign key",
       parent_rows(),
       {{9, 99, 0, 0.0, false, "", "", "{}", "", null_value(), null_value(), null_value()}},
       nullptr},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.what);
    Stage stage = begin(s.get());
    Err err;
    ArrowArrayStream p;
    make_stream(kParentColumns, {c.parents}, &p);
    int64_t rows = 0;
    dbtool_status st = api_->stage_load(stage.get(), "parent", &p, &rows, &err.e);
    if (st == DBTOOL_OK && !c.every.empty()) {
      ArrowArrayStream e;
      make_stream(kEveryColumns, {c.every}, &e);
      st = api_->stage_load(stage.get(), "every_type", &e, &rows, &err.e);
    }
    if (st == DBTOOL_OK) {
      dbtool_text report{};
      st = api_->stage_commit(stage.release(), &report, &err.e);
      take_text(report);
    }
    EXPECT_EQ(st, DBTOOL_ERR_CONSTRAINT) << err.message();
    EXPECT_FALSE(err.message().empty());
    if (quirk("names_duplicate_keys", false) && c.named != nullptr) {
      EXPECT_NE(err.message().find(c.named), std::string::npos) << err.message();
    }
    if (quirk("sqlstate", true)) {
      EXPECT_EQ(std::string(err.e.sqlstate).substr(0, 2), "23") << "SQLSTATE class 23 (integrity constraint)";
    }
    err.clear();
    EXPECT_EQ(err.e.message, nullptr) << "release leaves the error zeroed";
    stage.reset();
    expect_rows(expected_every_type(a), read_rows(s.get(), "every_type"), "target after a refused stage");
  }
}

// A key the host vouches for ("guaranteed_by_host", ABI 1.3) may go unchecked, but no other:
// a broken key without the flag is refused whether it sits in the same table as a guaranteed
// one or in another, and the target keeps its data.
TEST_P(Conformance, GuaranteedForeignKeysLeaveTheOtherKeysChecked) {
  if (!(plugin_->capabilities & DBTOOL_CAP_HOST_GUARANTEED_KEYS))
    GTEST_SKIP() << plugin_->name << " does not announce host-guaranteed keys";
  const char* schema = R"({"name": "conformance", "version": 1, "checksum": "0", "tables": [
    {"name": "parent", "columns": [{"name": "id", "type": "int64", "nullable": false},
                                   {"name": "label", "type": "text", "max_length": 64, "nullable": false}],
     "primary_key": ["id"]},
    {"name": "child", "columns": [{"name": "id", "type": "int64", "nullable": false},
                                  {"name": "vouched_id", "type": "int64"}, {"name": "checked_id", "type": "int64"}],
     "primary_key": ["id"],
     "foreign_keys": [{"name": "fk_child_vouched", "columns": ["vouched_id"],
                       "references": {"table": "parent", "columns": ["id"]}, "guaranteed_by_host": true},
                      {"name": "fk_child_checked", "columns": ["checked_id"],
                       "references": {"table": "parent", "columns": ["id"]}, "guaranteed_by_host": false}]},
    {"name": "other", "columns": [{"name": "id", "type": "int64", "nullable": false},
                                  {"name": "parent_id", "type": "int64"}],
     "primary_key": ["id"],
     "foreign_keys": [{"name": "fk_other_parent", "columns": ["parent_id"],
                       "references": {"table": "parent", "columns": ["id"]}}]}]})";
  const std::vector<ColumnSpec> child_columns = {
      {"id", ColumnType::Int64}, {"vouched_id", ColumnType::Int64}, {"checked_id", ColumnType::Int64}};
  const std::vector<ColumnSpec> other_columns = {{"id", ColumnType::Int64}, {"parent_id", ColumnType::Int64}};
  Session s = open();
  {
    Stage stage = begin(s.get(), schema);
    load(stage.get(), "parent", kParentColumns, {parent_rows()});
    load(stage.get(), "child", child_columns, {Rows{{1, 1, 2}, {2, 2, null_value()}}});
    load(stage.get(), "other", other_columns, {Rows{{1, 2}}});
    commit(stage);
  }
  struct Case {
    const char* what;
    Rows child, other;
  } cases[] = {
      {"a broken key beside a guaranteed one", {{3, 1, 99}}, {}},
      {"a broken key in another table", {{3, 1, 1}}, {{2, 99}}},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.what);
    Stage stage = begin(s.get(), schema);
    load(stage.get(), "parent", kParentColumns, {parent_rows()});
    Err err;
    int64_t rows = 0;
    ArrowArrayStream in;
    make_stream(child_columns, {c.child}, &in);
    dbtool_status st = api_->stage_load(stage.get(), "child", &in, &rows, &err.e);
    if (st == DBTOOL_OK && !c.other.empty()) {
      make_stream(other_columns, {c.other}, &in);
      st = api_->stage_load(stage.get(), "other", &in, &rows, &err.e);
    }
    if (st == DBTOOL_OK) {
      dbtool_text report{};
      st = api_->stage_commit(stage.release(), &report, &err.e);
      take_text(report);
    }
    EXPECT_EQ(st, DBTOOL_ERR_CONSTRAINT) << err.message();
    stage.reset();
    EXPECT_EQ(read_rows(s.get(), "child").size(), 2u) << "the target keeps its rows";
    EXPECT_EQ(read_rows(s.get(), "other").size(), 1u);
  }
}

// The host copies dbtool_history rows with their ids, then appends one without: generated ids
// continue above the explicit ones, within one stage and across loads.
TEST_P(Conformance, AutoIncrementContinuesAfterExplicitIds) {
  const char* schema = R"({"name": "conformance", "version": 1, "checksum": "0", "tables": [
    {"name": "runs", "columns": [{"name": "id", "type": "int64", "nullable": false, "auto_increment": true},
                                 {"name": "what", "type": "text", "max_length": 40, "nullable": false}],
     "primary_key": ["id"]}]})";
  Session s = open();
  Stage stage = begin(s.get(), schema);
  const std::vector<ColumnSpec> with_id = {{"id", ColumnType::Int64}, {"what", ColumnType::Utf8}};
  const std::vector<ColumnSpec> without_id = {{"what", ColumnType::Utf8}};
  EXPECT_EQ(load(stage.get(), "runs", with_id, std::vector<Rows>{Rows{{1, "one"}, {2, "two"}, {40, "forty"}}}), 3);
  EXPECT_EQ(load(stage.get(), "runs", without_id, std::vector<Rows>{Rows{{"new a"}, {"new b"}}}), 2);
  commit(stage);
  Rows back = read_rows(s.get(), "runs");
  ASSERT_EQ(back.size(), 5u);
  EXPECT_EQ(back[2].at(0).as_int64(), 40);
  EXPECT_GT(back[3].at(0).as_int64(), 40) << "a generated id comes after the explicit ones";
  EXPECT_GT(back[4].at(0).as_int64(), back[3].at(0).as_int64());
  EXPECT_EQ(back[3].at(1).as_string(), "new a");
  EXPECT_EQ(back[4].at(1).as_string(), "new b");
}

TEST_P(Conformance, BadInputGetsAClearErrorNotACrash) {
  {
    Err err;
    dbtool_session* s = nullptr;
    EXPECT_EQ(api_->open("{not json", &s, &err.e), DBTOOL_ERR_INVALID_ARGUMENT);
    EXPECT_EQ(s, nullptr);
    EXPECT_FALSE(err.message().empty());
  }
  Session s = open();
  {
    Err err;
    ArrowArrayStream out{};
    EXPECT_EQ(api_->read_table(s.get(), "no_such_table", &out, &err.e), DBTOOL_ERR_NOT_FOUND);
    EXPECT_NE(err.message().find("no_such_table"), std::string::npos) << err.message();
  }
  {
    Err err;
    dbtool_stage* stage = nullptr;
    EXPECT_EQ(
        api_->stage_begin(s.get(), R"({"tables": [{"name": "x", "columns": [{"name": "c", "type": "decimal"}]}]})",
                          &stage, &err.e),
        DBTOOL_ERR_INVALID_ARGUMENT);
    EXPECT_NE(err.message().find("decimal"), std::string::npos) << err.message();
  }
  Stage stage = begin(s.get());
  struct Case {
    const char* what;
    const char* table;
    std::vector<ColumnSpec> cols;
    Row row;
  } cases[] = {
      {"unknown table", "nope", kParentColumns, {1, "x"}},
      {"unknown column", "parent", {{"id", ColumnType::Int64}, {"colour", ColumnType::Utf8}}, {1, "x"}},
      {"text into an int64 column", "parent", {{"id", ColumnType::Utf8}, {"label", ColumnType::Utf8}}, {"1", "x"}},
  };
  for (const auto& [what, table, cols, row] : cases) {
    SCOPED_TRACE(what);
    ArrowArrayStream stream;
    make_stream(cols, std::vector<Rows>{Rows{row}}, &stream);
    Err err;
    int64_t rows = 0;
    EXPECT_NE(api_->stage_load(stage.get(), table, &stream, &rows, &err.e), DBTOOL_OK);
    EXPECT_EQ(stream.release, nullptr);
    EXPECT_FALSE(err.message().empty());
  }
  // Dates and datetimes travel only in their canonical text; anything else is bad data, named.
  const std::vector<ColumnSpec> temporal = {
      {"id", ColumnType::Int64}, {"da", ColumnType::Utf8}, {"dt", ColumnType::Utf8}};
  const std::pair<Row, std::string> bad[] = {
      {{60, "2024-1-02", null_value()}, "every_type.da"},
      {{61, "2023-02-29", null_value()}, "every_type.da"},
      {{62, "2024-01-02T00:00:00", null_value()}, "every_type.da"},
      {{63, null_value(), "2024-01-02 03:04:05"}, "every_type.dt"},
      {{64, null_value(), "2024-01-02 24:00:00.000000"}, "every_type.dt"},
  };
  for (const auto& [row, column] : bad) {
    const std::string value(row.at(1).is_null() ? row.at(2).as_string() : row.at(1).as_string());
    SCOPED_TRACE(value);
    ArrowArrayStream stream;
    make_stream(temporal, std::vector<Rows>{Rows{row}}, &stream);
    Err err;
    int64_t rows = 0;
    EXPECT_EQ(api_->stage_load(stage.get(), "every_type", &stream, &rows, &err.e), DBTOOL_ERR_DATA) << err.message();
    EXPECT_NE(err.message().find(column), std::string::npos) << err.message();
    EXPECT_NE(err.message().find(value), std::string::npos) << err.message();
  }
}

// ---- reading a database as a source (ABI 1.1, DBTOOL_CAP_READ) -----------------------------

// Every portable type, defaults of each kind, a composite primary key, single and composite
// uniques, plain and composite indexes, and a foreign key with each on_delete (one composite).
// A lone int64 key is auto_increment: SQLite numbers such a key itself whatever the schema says.
const char* kReadSchema = R"({
  "name": "conformance_read", "version": 1, "checksum": "0",
  "tables": [
    {"name": "parent",
     "columns": [{"name": "id", "type": "int64", "nullable": false, "auto_increment": true},
                 {"name": "code", "type": "text", "max_length": 16, "nullable": false}],
     "primary_key": ["id"],
     "unique": [{"name": "uq_parent_code", "columns": ["code"]}]},
    {"name": "kind",
     "columns": [{"name": "a", "type": "int64", "nullable": false},
                 {"name": "b", "type": "text", "max_length": 20, "nullable": false},
                 {"name": "note", "type": "text"}],
     "primary_key": ["a", "b"]},
    {"name": "every",
     "columns": [{"name": "id", "type": "int64", "nullable": false, "auto_increment": true},
                 {"name": "p1", "type": "int64"}, {"name": "p2", "type": "int64"},
                 {"name": "p3", "type": "int64"}, {"name": "p4", "type": "int64"},
                 {"name": "kind_a", "type": "int64"}, {"name": "kind_b", "type": "text", "max_length": 20},
                 {"name": "f", "type": "float64", "default": 2.5},
                 {"name": "flag", "type": "bool", "nullable": false, "default": false},
                 {"name": "t", "type": "text"},
                 {"name": "k", "type": "text", "max_length": 255, "default": "It's"},
                 {"name": "j", "type": "json"},
                 {"name": "bl", "type": "blob"},
                 {"name": "ts", "type": "timestamp"},
                 {"name": "d", "type": "date"},
                 {"name": "dt", "type": "datetime", "nullable": false},
                 {"name": "n", "type": "int64", "default": 7}],
     "primary_key": ["id"],
     "unique": [{"name": "uq_every_k_n", "columns": ["k", "n"]}, {"name": "uq_every_t", "columns": ["kind_b"]}],
     "indexes": [{"name": "ix_every_d", "columns": ["d"]}, {"name": "ix_every_f_dt", "columns": ["f", "dt"]}],
     "foreign_keys": [
       {"name": "fk_every_p1", "columns": ["p1"], "references": {"table": "parent", "columns": ["id"]}},
       {"name": "fk_every_p2", "columns": ["p2"], "references": {"table": "parent", "columns": ["id"]},
        "on_delete": "cascade"},
       {"name": "fk_every_p3", "columns": ["p3"], "references": {"table": "parent", "columns": ["id"]},
        "on_delete": "set null"},
       {"name": "fk_every_p4", "columns": ["p4"], "references": {"table": "parent", "columns": ["id"]},
        "on_delete": "restrict"},
       {"name": "fk_every_kind", "columns": ["kind_a", "kind_b"],
        "references": {"table": "kind", "columns": ["a", "b"]}, "on_delete": "cascade"}]}
  ]
})";

// A schema as describe_schema must give it back: stage_begin's keys with every default the
// contract names filled in (nullable true, on_delete "no action", empty key lists), keys sorted
// by name and tables keyed by name, since only "parents first" is promised about their order.
json::object normalised(const json::value& schema) {
  auto sorted = [](const json::value* v) {
    json::array a = v ? v->as_array() : json::array{};
    std::sort(a.begin(), a.end(), [](const json::value& x, const json::value& y) {
      return x.at("name").as_string() < y.at("name").as_string();
    });
    return a;
  };
  json::object out;
  for (const auto& tv : schema.at("tables").as_array()) {
    const json::object& t = tv.as_object();
    json::array cols;
    for (const auto& cv : t.at("columns").as_array()) {
      // Rebuilt in one key order, so that two equal columns serialise alike.
      const json::object& in = cv.as_object();
      json::object c{{"name", in.at("name")}, {"type", in.at("type")}};
      if (const json::value* m = in.if_contains("max_length")) c["max_length"] = *m;
      const json::value* n = in.if_contains("nullable");
      c["nullable"] = n ? n->as_bool() : true;
      if (const json::value* ai = in.if_contains("auto_increment"); ai && ai->as_bool()) c["auto_increment"] = true;
      if (const json::value* d = in.if_contains("default"); d && !d->is_null()) c["default"] = *d;
      cols.push_back(std::move(c));
    }
    json::array fks = sorted(t.if_contains("foreign_keys"));
    for (auto& fk : fks)
      if (!fk.as_object().contains("on_delete")) fk.as_object()["on_delete"] = "no action";
    const json::value* pk = t.if_contains("primary_key");
    out[t.at("name").as_string()] = json::object{{"columns", std::move(cols)},
                                                 {"primary_key", pk ? *pk : json::array{}},
                                                 {"unique", sorted(t.if_contains("unique"))},
                                                 {"indexes", sorted(t.if_contains("indexes"))},
                                                 {"foreign_keys", std::move(fks)}};
  }
  return out;
}

class ConformanceRead : public Conformance {
 protected:
  void SetUp() override {
    Conformance::SetUp();
    if (IsSkipped() || HasFatalFailure()) return;
    if (!(plugin_->capabilities & DBTOOL_CAP_READ))
      GTEST_SKIP() << plugin_->name << " does not announce DBTOOL_CAP_READ";
  }

  void snapshot(dbtool_session* s, bool begin) {
    Err err;
    dbtool_status st = begin ? api_->snapshot_begin(s, &err.e) : api_->snapshot_end(s, &err.e);
    if (st != DBTOOL_OK) fail_call(begin ? "snapshot_begin" : "snapshot_end", st, err);
  }

  json::value describe_schema(dbtool_session* s) {
    Err err;
    dbtool_text text{};
    dbtool_status st = api_->describe_schema(s, &text, &err.e);
    std::string t = take_text(text);
    if (st != DBTOOL_OK) fail_call("describe_schema", st, err);
    return json::parse(t);
  }
};

TEST_P(ConformanceRead, DescribeSchemaGivesBackTheSchemaAStageWasBuiltFrom) {
  Session s = open();
  Stage stage = begin(s.get(), kReadSchema);
  const std::vector<ColumnSpec> cols = {
      {"id", ColumnType::Int64}, {"d", ColumnType::Utf8}, {"dt", ColumnType::Utf8}, {"f", ColumnType::Float64}};
  std::vector<ColumnSpec> with_k = cols;
  with_k.push_back({"k", ColumnType::Utf8});
  load(stage.get(), "every", with_k, {Rows{{1, "2024-02-29", "2024-02-29 23:59:59.123456", 0.1, "first"}}});
  load(stage.get(), "every", cols, {Rows{{2, null_value(), "1999-12-31 00:00:00.000000", 2.5}}});
  commit(stage);

  json::value got = describe_schema(s.get());
  ASSERT_TRUE(got.is_object());
  for (const char* absent : {"name", "version", "checksum"})
    EXPECT_FALSE(got.as_object().contains(absent)) << absent << " must be absent: " << got;
  // Parents first.
  std::vector<std::string> order;
  for (const auto& t : got.at("tables").as_array()) order.emplace_back(t.at("name").as_string());
  auto pos = [&](const char* n) { return std::find(order.begin(), order.end(), n) - order.begin(); };
  ASSERT_EQ(order.size(), 3u) << got;
  EXPECT_LT(pos("parent"), pos("every"));
  EXPECT_LT(pos("kind"), pos("every"));

  json::object want = normalised(json::parse(kReadSchema)), have = normalised(got);
  for (const auto& [table, spec] : want) {
    ASSERT_TRUE(have.contains(table)) << table << " is missing from " << got;
    for (const char* part : {"columns", "primary_key", "unique", "indexes", "foreign_keys"})
      EXPECT_EQ(json::serialize(have.at(table).at(part)), json::serialize(spec.at(part))) << table << "." << part;
  }
  // The description is a schema stage_begin takes as it is.
  Stage again = begin(s.get(), json::serialize(got).c_str());
  again.reset();

  // date and datetime come back in their canonical text forms.
  std::vector<ColumnSpec> read_cols;
  Rows rows = read_rows(s.get(), "every", &read_cols);
  ASSERT_EQ(rows.size(), 2u);
  std::map<std::string, size_t> at;
  for (size_t i = 0; i < read_cols.size(); ++i) at[read_cols[i].name] = i;
  EXPECT_EQ(read_cols[at["d"]].type, ColumnType::Utf8);
  EXPECT_EQ(read_cols[at["dt"]].type, ColumnType::Utf8);
  EXPECT_EQ(rows[0][at["d"]], "2024-02-29");
  EXPECT_EQ(rows[0][at["dt"]], "2024-02-29 23:59:59.123456");
  EXPECT_TRUE(rows[1][at["d"]].is_null());
  EXPECT_EQ(rows[1][at["dt"]], "1999-12-31 00:00:00.000000");
  EXPECT_EQ(rows[1][at["k"]], "It's") << "a column left out takes its default";
  EXPECT_EQ(rows[1][at["n"]], 7);
}

TEST_P(ConformanceRead, ASnapshotSeesNoneOfTheRowsAnotherSessionCommitsAfterItBegan) {
  const char* schema = R"({"tables": [
    {"name": "a", "columns": [{"name": "id", "type": "int64", "nullable": false, "auto_increment": true},
                              {"name": "v", "type": "text"}], "primary_key": ["id"]},
    {"name": "b", "columns": [{"name": "id", "type": "int64", "nullable": false, "auto_increment": true},
                              {"name": "v", "type": "text"}], "primary_key": ["id"]}]})";
  const std::vector<ColumnSpec> cols = {{"id", ColumnType::Int64}, {"v", ColumnType::Utf8}};
  auto rows_of = [](int n, const char* v) {
    Rows r;
    for (int i = 1; i <= n; ++i) r.push_back({i, v});
    return r;
  };
  {
    Session w = open();
    Stage stage = begin(w.get(), schema);
    load(stage.get(), "a", cols, {rows_of(10000, "old")});  // more than one batch
    load(stage.get(), "b", cols, {rows_of(3, "old")});
    commit(stage);
  }
  Session s = open(true);
  snapshot(s.get(), true);
  // Another, normal session replaces both tables while the source is read: after part of `a`
  // has been streamed, before `b` is read. A backend may make the writer wait for the snapshot
  // (MySQL holds the tables' metadata locks), so it runs on its own thread.
  std::future<void> writer;
  auto write = [&, schema] {
    Session w = open();
    Stage stage = begin(w.get(), schema);
    load(stage.get(), "a", cols, {rows_of(10001, "new")});
    load(stage.get(), "b", cols, {rows_of(4, "new")});
    commit(stage);
  };
  ArrowArrayStream raw{};
  {
    Err err;
    dbtool_status st = api_->read_table(s.get(), "a", &raw, &err.e);
    ASSERT_EQ(st, DBTOOL_OK) << err.message();
  }
  Rows a;
  {
    sdk::StreamReader reader(&raw);
    sdk::ArrayHolder batch;
    while (reader.next(batch)) {
      sdk::BatchView v(reader.columns(), batch.a);
      for (int64_t r = 0; r < v.rows(); ++r) a.push_back({v.get_int64(0, r), json::string(v.get_bytes(1, r))});
      if (!writer.valid()) {
        writer = std::async(std::launch::async, write);
        writer.wait_for(std::chrono::seconds(5));  // done by now unless the backend makes it wait
      }
    }
  }
  ASSERT_TRUE(writer.valid()) << "table a came in no batch at all";
  Rows b = read_rows(s.get(), "b");
  snapshot(s.get(), false);
  writer.get();  // the writer's commit went through (after the snapshot at the latest)

  expect_rows(rows_of(10000, "old"), a, "a read in the snapshot");
  expect_rows(rows_of(3, "old"), b, "b read in the snapshot");
  // Outside the snapshot, a new read sees what the writer committed.
  Session fresh = open(true);
  EXPECT_EQ(read_rows(fresh.get(), "b"), rows_of(4, "new"));
}

TEST_P(ConformanceRead, AReadOnlySessionCreatesNothingWritesNothingAndRefusesChanges) {
  {
    Err err;
    dbtool_session* s = nullptr;
    std::string opts = open_options(true, true);  // even with "create": true
    EXPECT_EQ(api_->open(opts.c_str(), &s, &err.e), DBTOOL_ERR_NOT_FOUND) << err.message();
    EXPECT_EQ(s, nullptr);
    EXPECT_FALSE(err.message().empty());
    EXPECT_TRUE(target_files().empty()) << "a read-only open of a missing database created a file";
    dbtool_session* probe = nullptr;
    Err perr;
    std::string popts = open_options(false);
    ASSERT_EQ(api_->open(popts.c_str(), &probe, &perr.e), DBTOOL_OK) << perr.message();
    Session closer(probe, SessionCloser{api_});
    EXPECT_FALSE(describe(probe).at("exists").as_bool()) << "a read-only open of a missing database created it";
  }
  {
    Session w = open();
    commit_data(w.get(), tricky_rows(1000));
  }
  const auto files = target_files();
  Rows every_before, parent_before;
  std::map<std::string, int64_t> tables_before;
  {
    Session w = open();
    every_before = read_rows(w.get(), "every_type");
    parent_before = read_rows(w.get(), "parent");
    tables_before = table_rows(w.get());
  }
  {
    Session s = open(true);
    fs::path dir = testing::make_temp_dir("dbtool-conformance-read-only");
    {
      Err err;
      dbtool_stage* stage = nullptr;
      EXPECT_EQ(api_->stage_begin(s.get(), kSchema, &stage, &err.e), DBTOOL_ERR_NOT_SUPPORTED) << err.message();
      EXPECT_EQ(stage, nullptr);
    }
    if (DBTOOL_HAS_SLOT(api_, backup)) {
      Err err;
      dbtool_text report{};
      EXPECT_EQ(api_->backup(s.get(), (dir / "backup").c_str(), &report, &err.e), DBTOOL_ERR_NOT_SUPPORTED);
      take_text(report);
      EXPECT_FALSE(fs::exists(dir / "backup"));
    }
    if (DBTOOL_HAS_SLOT(api_, restore)) {
      testing::write_bytes(dir / "not-a-backup", "x");
      Err err;
      dbtool_text report{};
      EXPECT_EQ(api_->restore(s.get(), (dir / "not-a-backup").c_str(), &report, &err.e), DBTOOL_ERR_NOT_SUPPORTED);
      take_text(report);
    }
    snapshot(s.get(), true);
    describe_schema(s.get());
    expect_rows(every_before, read_rows(s.get(), "every_type"), "every_type read-only");
    snapshot(s.get(), false);
    fs::remove_all(dir);
  }
  EXPECT_EQ(target_files(), files) << "a read-only session changed the database's files";
  Session w = open();
  EXPECT_EQ(table_rows(w.get()), tables_before);
  expect_rows(every_before, read_rows(w.get(), "every_type"), "every_type after a read-only session");
  expect_rows(parent_before, read_rows(w.get(), "parent"), "parent after a read-only session");
}

// ---- restoring into a stage (ABI 1.3, restore_stage) --------------------------------------

// The table the host appends to (as dbtool_history): generated ids, a foreign key to `parent`
// so that an appended row can break one.
const char* kRunsTable = R"({"name": "runs",
  "columns": [{"name": "id", "type": "int64", "nullable": false, "auto_increment": true},
              {"name": "what", "type": "text", "max_length": 40, "nullable": false},
              {"name": "parent_id", "type": "int64"}],
  "primary_key": ["id"],
  "foreign_keys": [{"name": "fk_runs_parent", "columns": ["parent_id"],
                    "references": {"table": "parent", "columns": ["id"]}}]})";

const std::vector<ColumnSpec> kRunsWithId = {{"id", ColumnType::Int64}, {"what", ColumnType::Utf8}};
const std::vector<ColumnSpec> kRunsAppended = {{"what", ColumnType::Utf8}, {"parent_id", ColumnType::Int64}};

// Whenever DBTOOL_CAP_RESTORE is announced and restore_stage is set.
class ConformanceRestoreStage : public Conformance {
 protected:
  void SetUp() override {
    Conformance::SetUp();
    if (IsSkipped() || HasFatalFailure()) return;
    if (!(plugin_->capabilities & DBTOOL_CAP_RESTORE) || !DBTOOL_HAS_SLOT(api_, restore_stage))
      GTEST_SKIP() << plugin_->name << " does not restore into a stage (restore_stage is optional, ABI 1.3)";
    ASSERT_TRUE(plugin_->capabilities & DBTOOL_CAP_BACKUP) << "restore needs a backup to restore";
    dir_ = testing::make_temp_dir("dbtool-conformance-restore-stage");
  }
  void TearDown() override {
    if (!dir_.empty()) fs::remove_all(dir_);
    Conformance::TearDown();
  }

  // kSchema with `runs` appended (`with_runs`), or `parent` and `runs` alone: what the host
  // sends to restore_stage (the tables it appends to, and what their keys refer to).
  static std::string schema(bool full, bool with_runs = true) {
    json::object o = json::parse(kSchema).as_object();
    json::array& tables = o.at("tables").as_array();
    if (!full) tables.erase(tables.begin() + 1, tables.end());
    if (with_runs) tables.push_back(json::parse(kRunsTable));
    return json::serialize(o);
  }

  // The target: parent, the tricky rows, and (`with_runs`) runs 1, 2 and 40; then its backup.
  fs::path data_and_backup(dbtool_session* s, bool with_runs = true) {
    Stage stage = begin(s, schema(true, with_runs).c_str());
    load(stage.get(), "parent", kParentColumns, {parent_rows()});
    load(stage.get(), "every_type", kEveryColumns, {tricky_rows(1024)});
    if (with_runs)
      load(stage.get(), "runs", kRunsWithId, std::vector<Rows>{Rows{{1, "one"}, {2, "two"}, {40, "forty"}}});
    commit(stage);
    fs::path file = dir_ / "backup";
    fs::remove(file);
    Err err;
    dbtool_text report{};
    dbtool_status st = api_->backup(s, file.c_str(), &report, &err.e);
    take_text(report);
    if (st != DBTOOL_OK) fail_call("backup", st, err);
    return file;
  }

  // Other data in place of what was backed up: one every_type row, no runs table.
  Rows replace_data(dbtool_session* s) {
    Rows other = {{7, 2, 70, 7.5, true, "after", "after", "{}", "x", null_value(), null_value(), null_value()}};
    commit_data(s, other);
    return other;
  }

  dbtool_status try_restore_stage(dbtool_session* s, const fs::path& file, const std::string& schema_json, Stage& out,
                                  Err& err, json::object* report = nullptr) {
    dbtool_stage* raw = nullptr;
    dbtool_text text{};
    dbtool_status st = api_->restore_stage(s, file.c_str(), schema_json.c_str(), &raw, &text, &err.e);
    std::string t = take_text(text);
    if (st == DBTOOL_OK && report != nullptr) *report = parse_object(t);
    EXPECT_TRUE(st == DBTOOL_OK ? raw != nullptr : raw == nullptr) << "a stage exactly when restore_stage succeeds";
    out = Stage(raw, StageAborter{api_});
    return st;
  }
  Stage restore_stage(dbtool_session* s, const fs::path& file, const std::string& schema_json,
                      json::object* report = nullptr) {
    Err err;
    Stage stage(nullptr, StageAborter{api_});
    dbtool_status st = try_restore_stage(s, file, schema_json, stage, err, report);
    if (st != DBTOOL_OK) fail_call("restore_stage", st, err);
    return stage;
  }

  // What the target holds, to compare before and after a refused or aborted restore.
  std::pair<std::map<std::string, int64_t>, Rows> target_state(dbtool_session* s) {
    return {table_rows(s), read_rows(s, "every_type")};
  }

  fs::path dir_;
};

TEST_P(ConformanceRestoreStage, StartsAsTheBackupAppendsAfterTheHighestIdAndSwapsInAtCommit) {
  Session s = open();
  const fs::path file = data_and_backup(s.get());
  const Rows other = replace_data(s.get());

  json::object report;
  Stage stage = restore_stage(s.get(), file, schema(false), &report);
  std::map<std::string, int64_t> reported;
  for (const auto& t : report.at("tables").as_array())
    reported[std::string(t.at("name").as_string())] = t.at("rows").to_number<int64_t>();
  EXPECT_EQ(reported, (std::map<std::string, int64_t>{{"every_type", 6}, {"order", 0}, {"parent", 2}, {"runs", 3}}))
      << "restore's report, of the backup's tables: " << json::serialize(report);
  EXPECT_EQ(count(stage.get(), "runs"), 3) << "the stage starts as the backup";
  EXPECT_EQ(load(stage.get(), "runs", kRunsAppended, std::vector<Rows>{Rows{{"new a", 1}, {"new b", null_value()}}}),
            2);
  EXPECT_EQ(count(stage.get(), "runs"), 5);
  expect_rows(expected_every_type(other), read_rows(s.get(), "every_type"), "the target while the stage is open");

  commit(stage);
  expect_rows(expected_every_type(tricky_rows(1024)), read_rows(s.get(), "every_type"), "every_type after the commit");
  expect_rows(parent_rows(), read_rows(s.get(), "parent"), "parent after the commit");
  Rows runs = read_rows(s.get(), "runs");
  ASSERT_EQ(runs.size(), 5u);
  EXPECT_EQ(runs[2].at(0).as_int64(), 40);
  EXPECT_GT(runs[3].at(0).as_int64(), 40) << "an appended id comes after the highest in the backup";
  EXPECT_GT(runs[4].at(0).as_int64(), runs[3].at(0).as_int64());
  EXPECT_EQ(runs[3].at(1).as_string(), "new a");
  EXPECT_EQ(runs[4].at(1).as_string(), "new b");
  EXPECT_EQ(table_rows(s.get()),
            (std::map<std::string, int64_t>{{"every_type", 6}, {"order", 0}, {"parent", 2}, {"runs", 5}}))
      << "the backup's tables, no more (its marker or manifest is no table)";
  {
    // The restored database backs up as any other.
    Err err;
    dbtool_text again_report{};
    const fs::path again_file = dir_ / "backup-of-the-restored";
    EXPECT_EQ(api_->backup(s.get(), again_file.c_str(), &again_report, &err.e), DBTOOL_OK) << err.message();
    take_text(again_report);
  }

  // A backup without the table: restore_stage creates it, and the commit brings it in.
  s.reset();
  Session again = open();
  fs::remove(file);
  const fs::path without = data_and_backup(again.get(), /*with_runs=*/false);
  replace_data(again.get());
  Stage created = restore_stage(again.get(), without, schema(false));
  EXPECT_EQ(count(created.get(), "runs"), 0);
  EXPECT_EQ(load(created.get(), "runs", kRunsAppended, std::vector<Rows>{Rows{{"first", 2}}}), 1);
  commit(created);
  Rows back = read_rows(again.get(), "runs");
  ASSERT_EQ(back.size(), 1u);
  EXPECT_EQ(back[0].at(1).as_string(), "first");
  expect_rows(expected_every_type(tricky_rows(1024)), read_rows(again.get(), "every_type"), "every_type restored");
}

TEST_P(ConformanceRestoreStage, AbortLeavesTheTargetAsItWasAndNoStage) {
  Session s = open();
  const fs::path file = data_and_backup(s.get());
  replace_data(s.get());
  const auto before = target_state(s.get());
  const auto files = target_files();
  {
    Stage stage = restore_stage(s.get(), file, schema(false));
    load(stage.get(), "runs", kRunsAppended, std::vector<Rows>{Rows{{"never", 1}}});
  }  // aborted here
  EXPECT_EQ(target_state(s.get()), before);
  EXPECT_EQ(target_files(), files) << "no stage (nor anything else) is left beside the target";
  // The session is free for the next stage.
  commit_data(s.get(), {{5, 1, 5, 0.5, false, "again", "again", "{}", "", null_value(), null_value(), null_value()}});
}

TEST_P(ConformanceRestoreStage, ANonBackupOrATruncatedOneIsRefusedWithNoStageAndTheTargetUntouched) {
  Session s = open();
  const fs::path file = data_and_backup(s.get());
  replace_data(s.get());
  const auto before = target_state(s.get());
  const auto files = target_files();
  const std::string bytes = testing::read_bytes(file);
  testing::write_bytes(dir_ / "cut", bytes.substr(0, bytes.size() / 2));
  testing::write_bytes(dir_ / "garbage", std::string(4096, 'x'));
  testing::write_bytes(dir_ / "empty", "");
  for (const char* name : {"cut", "garbage", "empty", "missing"}) {
    SCOPED_TRACE(name);
    Err err;
    Stage stage(nullptr, StageAborter{api_});
    EXPECT_NE(try_restore_stage(s.get(), dir_ / name, schema(false), stage, err), DBTOOL_OK);
    EXPECT_FALSE(err.message().empty());
    EXPECT_EQ(target_state(s.get()), before);
    EXPECT_EQ(target_files(), files);
  }
  // A schema that is not one is refused too, before anything is copied.
  Err err;
  Stage stage(nullptr, StageAborter{api_});
  EXPECT_EQ(try_restore_stage(s.get(), file, "{not json", stage, err), DBTOOL_ERR_INVALID_ARGUMENT) << err.message();
  EXPECT_EQ(target_files(), files);
}

TEST_P(ConformanceRestoreStage, AnAppendedRowBreakingAForeignKeyFailsTheCommitAndChangesNothing) {
  Session s = open();
  const fs::path file = data_and_backup(s.get());
  replace_data(s.get());
  const auto before = target_state(s.get());
  Stage stage = restore_stage(s.get(), file, schema(false));
  load(stage.get(), "runs", kRunsAppended, std::vector<Rows>{Rows{{"orphan", 99}}});
  Err err;
  dbtool_text report{};
  EXPECT_EQ(api_->stage_commit(stage.release(), &report, &err.e), DBTOOL_ERR_CONSTRAINT) << err.message();
  take_text(report);
  EXPECT_FALSE(err.message().empty());
  EXPECT_EQ(target_state(s.get()), before);
}

// The ABI 1.1 rule holds for the commit of a restore stage as for restore: a target another
// program wrote to after the session's backup is not replaced.
TEST_P(ConformanceRestoreStage, TheCommitIsRefusedWhenAnotherWriterChangedTheTargetAfterTheBackup) {
  Session s = open();
  const fs::path file = data_and_backup(s.get());
  // Another writer: a second session of the backend when it allows one beside the first, else
  // (a backend that locks its target per session, quirk "external_writer") the database written
  // directly, as an application would.
  const std::string external = [&] {
    const json::value* v = target_.quirks.if_contains("external_writer");
    return v && v->is_string() ? std::string(v->as_string()) : std::string();
  }();
  if (external == "sqlite_file") {
    testing::sqlite_exec(fs::path(uri_.substr(std::string("sqlite:///").size())),
                         "INSERT INTO parent (id, label) VALUES (3, 'written by another program')");
  } else {
    Err err;
    dbtool_session* raw = nullptr;
    const std::string opts = open_options(false);
    if (api_->open(opts.c_str(), &raw, &err.e) != DBTOOL_OK)
      GTEST_SKIP() << "a second session cannot open beside the first (" << err.message()
                   << ") and the quirks name no external_writer";
    Session other(raw, SessionCloser{api_});
    Stage stage = begin(other.get(), schema(true).c_str());
    load(stage.get(), "parent", kParentColumns, {Rows{{3, "written by another session"}}});
    commit(stage);
  }
  const auto before = target_state(s.get());
  Stage stage = restore_stage(s.get(), file, schema(false));
  load(stage.get(), "runs", kRunsAppended, std::vector<Rows>{Rows{{"late", 1}}});
  Err err;
  dbtool_text report{};
  EXPECT_EQ(api_->stage_commit(stage.release(), &report, &err.e), DBTOOL_ERR_CONFLICT) << err.message();
  take_text(report);
  EXPECT_EQ(target_state(s.get()), before) << "the other writer's change stays";
}

INSTANTIATE_TEST_SUITE_P(Backends, ConformanceRestoreStage, ::testing::ValuesIn(labels()),
                         [](const ::testing::TestParamInfo<std::string>& info) {
                           std::string name = info.param;
                           std::replace(name.begin(), name.end(), '-', '_');
                           return name;
                         });

INSTANTIATE_TEST_SUITE_P(Backends, ConformanceRead, ::testing::ValuesIn(labels()),
                         [](const ::testing::TestParamInfo<std::string>& info) {
                           std::string name = info.param;
                           std::replace(name.begin(), name.end(), '-', '_');
                           return name;
                         });

INSTANTIATE_TEST_SUITE_P(Backends, Conformance, ::testing::ValuesIn(labels()),
                         [](const ::testing::TestParamInfo<std::string>& info) {
                           std::string name = info.param;  // test names take no '-'
                           std::replace(name.begin(), name.end(), '-', '_');
                           return name;
                         });

}  // namespace
}  // namespace dbtool::conformance
