// BackendSession/BackendStage: every call into a backend goes through here.
#include "plugins/backend.hpp"

#include "plugins/host_services.hpp"
#include "plugins/plugin_error.hpp"
#include "util/environment.hpp"
#include "util/error.hpp"

namespace dbtool {
namespace json = boost::json;

namespace {
struct TextHolder {
  dbtool_text t{};
  ~TextHolder() {
    if (t.release != nullptr) t.release(&t);
  }
};
}  // namespace

json::object parse_report(const std::string& plugin, dbtool_text& text) {
  if (text.data == nullptr || text.size == 0) return {};
  boost::system::error_code ec;
  json::value v = json::parse(std::string_view(text.data, text.size), ec);
  if (ec || !v.is_object()) throw Error(plugin + ": returned a report that is not a JSON object");
  return std::move(v.get_object());
}

namespace {

// A URI as nobody but its backend can read it: only the generic shape SCHEME://[USER@]HOST/PATH.
UriFacts opaque_uri(const LoadedPlugin& plugin, const std::string& uri) {
  const size_t sep = uri.find("://");
  if (sep == std::string::npos)
    throw Error("the " + plugin.name + " backend needs a URI (" + plugin.name + "://...), not " + uri,
                ExitCode::kUsage);
  std::string rest = uri.substr(sep + 3);
  rest = rest.substr(0, rest.find_first_of("?#"));
  const size_t slash = rest.find('/');
  const std::string authority = rest.substr(0, slash);
  const std::string path = slash == std::string::npos ? "" : rest.substr(slash + 1);
  UriFacts f;
  f.uri = uri;
  f.location = redact_uri(uri);
  // A backend of files ("NAME:///folder/app.db") names its backups after the file, never with
  // the folders in it.
  f.name = std::filesystem::path(path).stem().string();
  if (f.name.empty()) f.name = std::filesystem::path(path).filename().string();
  if (f.name.empty()) throw Error("the URI names no database: " + f.location, ExitCode::kUsage);
  f.password = authority.find('@') != std::string::npos ? UriFacts::Password::kRequired : UriFacts::Password::kOptional;
  return f;
}

std::string text_field(const json::object& o, const char* key, const std::string& plugin) {
  const json::value* v = o.if_contains(key);
  if (v == nullptr || !v->is_string() || v->get_string().empty())
    throw Error(plugin + ": describe_uri returned no \"" + key + "\"");
  return std::string(v->get_string());
}

}  // namespace

UriFacts describe_uri(const LoadedPlugin& plugin, const std::string& uri) {
  if (!DBTOOL_HAS_SLOT(plugin.backend, describe_uri)) return opaque_uri(plugin, uri);
  PluginErrorHolder err;
  TextHolder text;
  dbtool_status st = plugin.backend->describe_uri(uri.c_str(), &text.t, &err.e);
  if (st != DBTOOL_OK) {
    if (st == DBTOOL_ERR_INVALID_ARGUMENT) throw Error(err.message_or("bad URI"), ExitCode::kUsage);
    throw_plugin_error(plugin.name, "describe_uri", st, err);
  }
  const json::object o = parse_report(plugin.name, text.t);
  UriFacts f;
  f.uri = text_field(o, "uri", plugin.name);
  f.location = text_field(o, "location", plugin.name);
  f.name = text_field(o, "name", plugin.name);
  if (f.name.find_first_not_of("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._-") !=
          std::string::npos ||
      f.name == "." || f.name == "..")
    throw Error(plugin.name + ": describe_uri returned a name unfit for a file: \"" + f.name + "\"");
  if (o.contains("file")) {
    f.file = std::filesystem::path(text_field(o, "file", plugin.name));
    if (!f.file->is_absolute()) throw Error(plugin.name + ": describe_uri returned a relative \"file\"");
  }
  const json::value* pw = o.if_contains("password");
  const std::string_view mode = pw != nullptr && pw->is_string() ? std::string_view(pw->get_string()) : "";
  if (mode == "none")
    f.password = UriFacts::Password::kNone;
  else if (mode == "optional")
    f.password = UriFacts::Password::kOptional;
  else if (mode == "required")
    f.password = UriFacts::Password::kRequired;
  else
    throw Error(plugin.name + ": describe_uri returned no \"password\" (none, optional or required)");
  return f;
}

BackendSession::BackendSession(const LoadedPlugin& plugin, const json::object& options) : plugin_(plugin) {
  PluginErrorHolder err;
  std::string opts = json::serialize(options);
  dbtool_status st = plugin_.backend->open(opts.c_str(), &session_, &err.e);
  if (st != DBTOOL_OK) fail("open", st, err);
  if (can_cancel()) cancel_registration_ = session_cancels().add([this] { cancel(); });
}

BackendSession::~BackendSession() {
  // First out of the registry, which waits for a cancel running on the watcher thread: the
  // plugin never sees cancel on a closed session.
  cancel_registration_.reset();
  if (session_ != nullptr) plugin_.backend->close(session_);
}

void BackendSession::fail(const std::string& what, dbtool_status st, const PluginErrorHolder& err) const {
  throw_plugin_error(plugin_.name, what, st, err);
}

json::object BackendSession::describe() {
  PluginErrorHolder err;
  TextHolder text;
  dbtool_status st = plugin_.backend->describe(session_, &text.t, &err.e);
  if (st != DBTOOL_OK) fail("describe", st, err);
  return parse_report(plugin_.name, text.t);
}

namespace {
// Calls one of the slots that take a file and answer with a JSON report (backup, restore,
// verify_backup); a failure names the call as `what`.
using FileReportSlot = dbtool_status (*)(dbtool_session*, const char*, dbtool_text*, dbtool_error*);
json::object call_with_file(const LoadedPlugin& plugin, dbtool_session* session, FileReportSlot slot,
                            const std::filesystem::path& file, const std::string& what) {
  PluginErrorHolder err;
  TextHolder text;
  dbtool_status st = slot(session, file.c_str(), &text.t, &err.e);
  if (st != DBTOOL_OK) throw_plugin_error(plugin.name, what, st, err);
  return parse_report(plugin.name, text.t);
}
}  // namespace

json::object BackendSession::backup(const std::filesystem::path& file) {
  if (!can(DBTOOL_CAP_BACKUP) || !DBTOOL_HAS_SLOT(plugin_.backend, backup))
    throw Error("the " + plugin_.name + " backend cannot make backups");
  return call_with_file(plugin_, session_, plugin_.backend->backup, file, "backup");
}

json::object BackendSession::restore(const std::filesystem::path& file) {
  if (!can(DBTOOL_CAP_RESTORE) || !DBTOOL_HAS_SLOT(plugin_.backend, restore))
    throw Error("the " + plugin_.name + " backend cannot restore backups");
  return call_with_file(plugin_, session_, plugin_.backend->restore, file, "restore");
}

json::object BackendSession::verify_backup(const std::filesystem::path& file) {
  if (!DBTOOL_HAS_SLOT(plugin_.backend, verify_backup)) return {};
  return call_with_file(plugin_, session_, plugin_.backend->verify_backup, file, "checking the backup");
}

bool BackendSession::can_read_tables() const { return DBTOOL_HAS_SLOT(plugin_.backend, read_table); }

void BackendSession::read_table(const std::string& table, ArrowArrayStream* out) {
  if (!can_read_tables()) throw Error("the " + plugin_.name + " backend cannot read tables back");
  PluginErrorHolder err;
  dbtool_status st = plugin_.backend->read_table(session_, table.c_str(), out, &err.e);
  if (st != DBTOOL_OK) fail("reading table " + table, st, err);
}

bool BackendSession::can_read_database() const {
  const dbtool_backend_api* api = plugin_.backend;
  return can(DBTOOL_CAP_READ) && DBTOOL_HAS_SLOT(api, read_table) && DBTOOL_HAS_SLOT(api, snapshot_begin) &&
         DBTOOL_HAS_SLOT(api, snapshot_end) && DBTOOL_HAS_SLOT(api, describe_schema);
}

void BackendSession::snapshot_begin() {
  if (!can_read_database()) throw Error("the " + plugin_.name + " backend cannot read a database as a source");
  PluginErrorHolder err;
  dbtool_status st = plugin_.backend->snapshot_begin(session_, &err.e);
  if (st != DBTOOL_OK) fail("starting a read snapshot", st, err);
}

void BackendSession::snapshot_end() {
  if (!can_read_database()) return;
  PluginErrorHolder err;
  dbtool_status st = plugin_.backend->snapshot_end(session_, &err.e);
  if (st != DBTOOL_OK) fail("ending the read snapshot", st, err);
}

json::object BackendSession::describe_schema() {
  if (!can_read_database()) throw Error("the " + plugin_.name + " backend cannot describe a database's schema");
  PluginErrorHolder err;
  TextHolder text;
  dbtool_status st = plugin_.backend->describe_schema(session_, &text.t, &err.e);
  if (st != DBTOOL_OK) fail("describing the schema", st, err);
  return parse_report(plugin_.name, text.t);
}

bool BackendSession::can_cancel() const { return can(DBTOOL_CAP_CANCEL) && DBTOOL_HAS_SLOT(plugin_.backend, cancel); }

void BackendSession::cancel() noexcept {
  if (!can_cancel() || session_ == nullptr) return;
  try {
    PluginErrorHolder err;
    if (plugin_.backend->cancel(session_, &err.e) != DBTOOL_OK)
      log_debug(plugin_.name + ": cancel failed: " + err.message_or("no message"));
  } catch (...) {  // only a failed allocation of the message: nothing to do about it
  }
}

std::unique_ptr<BackendStage> BackendSession::begin_stage(const std::string& schema_json) {
  PluginErrorHolder err;
  dbtool_stage* stage = nullptr;
  dbtool_status st = plugin_.backend->stage_begin(session_, schema_json.c_str(), &stage, &err.e);
  if (st != DBTOOL_OK) fail("creating the new schema", st, err);
  return std::unique_ptr<BackendStage>(new BackendStage(*this, stage));
}

bool BackendSession::can_restore_stage() const {
  return can(DBTOOL_CAP_RESTORE) && DBTOOL_HAS_SLOT(plugin_.backend, restore_stage);
}

std::unique_ptr<BackendStage> BackendSession::restore_stage(const std::filesystem::path& file,
                                                            const std::string& schema_json, json::object& report) {
  if (!can_restore_stage()) throw Error("the " + plugin_.name + " backend cannot restore into a stage");
  PluginErrorHolder err;
  TextHolder text;
  dbtool_stage* stage = nullptr;
  dbtool_status st =
      plugin_.backend->restore_stage(session_, file.c_str(), schema_json.c_str(), &stage, &text.t, &err.e);
  if (st != DBTOOL_OK) {
    // The contract leaves no stage on failure; one handed back anyway is not left open.
    if (stage != nullptr) plugin_.backend->stage_abort(stage);
    try {
      fail("restore", st, err);
    } catch (const Error& e) {
      throw e.with_target_untouched();
    }
  }
  auto owned = std::unique_ptr<BackendStage>(new BackendStage(*this, stage));
  report = parse_report(plugin_.name, text.t);
  return owned;
}

BackendStage::~BackendStage() { abort(); }

int64_t BackendStage::load(const std::string& table, ArrowArrayStream* stream) {
  if (stage_ == nullptr) throw Error("internal: load on a finished stage");
  PluginErrorHolder err;
  int64_t rows = 0;
  dbtool_status st = session_.plugin_.backend->stage_load(stage_, table.c_str(), stream, &rows, &err.e);
  if (st != DBTOOL_OK) session_.fail("loading " + table, st, err);
  return rows;
}

int64_t BackendStage::count(const std::string& table) {
  PluginErrorHolder err;
  int64_t rows = 0;
  dbtool_status st = session_.plugin_.backend->stage_count(stage_, table.c_str(), &rows, &err.e);
  if (st != DBTOOL_OK) session_.fail("counting " + table, st, err);
  return rows;
}

json::object BackendStage::commit() {
  PluginErrorHolder err;
  TextHolder text;
  dbtool_stage* stage = stage_;
  stage_ = nullptr;  // gone after the call, success or not
  dbtool_status st = session_.plugin_.backend->stage_commit(stage, &text.t, &err.e);
  if (st != DBTOOL_OK) session_.fail("cut-over", st, err);
  return parse_report(session_.plugin_.name, text.t);
}

void BackendStage::abort() {
  if (stage_ == nullptr) return;
  session_.plugin_.backend->stage_abort(stage_);
  stage_ = nullptr;
}

}  // namespace dbtool
