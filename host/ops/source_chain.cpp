// Source chain, export validation and cache installation.
#include "ops/source_chain.hpp"

#include "import/record_reader.hpp"
#include "ops/db_source.hpp"
#include "plugins/host_services.hpp"
#include "plugins/plugin_error.hpp"
#include "util/environment.hpp"
#include "util/error.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fstream>
#include <memory>

namespace dbtool {
namespace fs = std::filesystem;
namespace json = boost::json;

namespace {

std::string plugin_failure(const std::string& name, dbtool_status st, const PluginErrorHolder& err) {
  std::string msg = err.message_or(status_name(st));
  if (err.e.http_status != 0 && msg.find(std::to_string(err.e.http_status)) == std::string::npos)
    msg += " (HTTP " + std::to_string(err.e.http_status) + ")";
  (void)name;
  return msg;
}

void fsync_dir(const fs::path& dir) {
  int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY);
  if (fd >= 0) {
    ::fsync(fd);
    ::close(fd);
  }
}

// A database serves once it is open read-only, inside its snapshot, with its schema described;
// one that cannot get that far did not serve and the chain moves on. Usage errors and Ctrl-C
// stop the run instead.
bool serve_database(const PluginRegistry& plugins, const std::string& uri, SourceAttempt& attempt,
                    ChainResult& result) {
  log_info("source " + attempt.source + ": opening read-only");
  try {
    auto db = std::make_shared<DatabaseSource>(plugins, uri);
    attempt.served = true;
    attempt.report["backend"] = db->backend();
    attempt.report["tables"] = static_cast<int64_t>(db->schema().tables.size());
    result.source = db->display();
    result.database = std::move(db);
    log_info("source " + attempt.source + " serves (one read-only snapshot)");
    result.attempts.push_back(std::move(attempt));
    return true;
  } catch (const Error& e) {
    if (e.code() == ExitCode::kUsage || e.code() == ExitCode::kCancelled) throw;
    attempt.reason = e.what();
    log_warn("source " + attempt.source + " failed: " + attempt.reason);
    result.attempts.push_back(std::move(attempt));
    return false;
  }
}

}  // namespace

json::array ChainResult::to_json() const {
  json::array out;
  for (const auto& a : attempts) {
    json::object o{{"source", a.source}, {"served", a.served}};
    if (!a.served) o["reason"] = a.reason;
    for (auto& kv : a.report)
      if (kv.key() != "path") o[kv.key()] = kv.value();
    out.push_back(std::move(o));
  }
  return out;
}

int64_t validate_export(const fs::path& file, const std::string& record_key) {
  // The same reader the import uses, so a download is judged by exactly the rules it will
  // be loaded by; the records themselves are dropped as they come. Only the shape is checked
  // here (a record the mapping cannot map is the import's to reject): what matters is that
  // something which is not an export never replaces one that is.
  int64_t records = 0;
  read_records(file, [&](json::value& v, int64_t index, const std::string&) {
    if (!v.is_object())
      throw Error("not an export: record " + std::to_string(index) + " is " + std::string(json::to_string(v.kind())) +
                      ", not an object",
                  ExitCode::kDataError);
    if (!record_key.empty()) {
      auto* key = v.get_object().if_contains(record_key);
      if (key == nullptr || key->is_null())
        throw Error("not an export: record " + std::to_string(index) + " has no \"" + record_key + "\"",
                    ExitCode::kDataError);
    }
    ++records;
  });
  if (records == 0) throw Error("not an export: it holds no records", ExitCode::kDataError);
  return records;
}

std::optional<fs::path> install_cache(const fs::path& fresh, const fs::path& cache) {
  std::optional<fs::path> bak;
  std::error_code ec;
  if (fs::exists(cache, ec)) {
    fs::path b = cache.string() + "." + utc_stamp_compact() + ".bak";
    for (int i = 2; fs::exists(b, ec); ++i)
      b = cache.string() + "." + utc_stamp_compact() + "-" + std::to_string(i) + ".bak";
    // A hard link keeps the old cache under its .bak name while the rename below replaces
    // the cache in one step, so there is never a moment without a cache.
    if (::link(cache.c_str(), b.c_str()) != 0)
      throw Error("cannot keep the previous cache as " + b.string() + ": " + std::strerror(errno));
    // The export holds password hashes: the kept copy is owner-only, whatever the cache was.
    if (int fd = ::open(b.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC); fd >= 0) {
      ::fchmod(fd, 0600);
      ::close(fd);
    }
    bak = b;
  }
  if (::rename(fresh.c_str(), cache.c_str()) != 0)
    throw Error("cannot install the download as " + cache.string() + ": " + std::strerror(errno));
  fsync_dir(cache.parent_path());
  return bak;
}

ChainResult run_source_chain(const PluginRegistry& plugins, const std::vector<std::string>& chain,
                             const SourceSettings& s) {
  ChainResult result;
  const fs::path cache = fs::absolute(s.cache_file).lexically_normal();
  for (const auto& name : chain) {
    SourceAttempt attempt;
    attempt.source = name;
    if (is_database_uri(name)) {
      attempt.source = redact_uri(name);
      if (serve_database(plugins, name, attempt, result)) return result;
      continue;
    }
    const LoadedPlugin& plugin = plugins.get(name, DBTOOL_KIND_SOURCE);
    const auto given = s.plugins.find(name);
    const SourcePluginOptions none;
    const SourcePluginOptions& mine = given != s.plugins.end() ? given->second : none;
    if (!mine.missing.empty()) {
      attempt.reason = mine.missing;
      log_warn("source " + name + " skipped: " + attempt.reason);
      result.attempts.push_back(std::move(attempt));
      continue;
    }
    json::object options = mine.options;
    std::string lacking;
    for (const auto& secret : mine.secrets) {
      if (auto value = find_secret(secret.env, secret.prompt, true))
        options[secret.key] = *value;
      else
        lacking += (lacking.empty() ? "" : " and ") + secret.env.front();
    }
    if (!lacking.empty()) {
      attempt.reason = "no credentials (set " + lacking + ", in .env or the environment)";
      log_warn("source " + name + " skipped: " + attempt.reason);
      result.attempts.push_back(std::move(attempt));
      continue;
    }
    fs::path download;
    // A source that downloads gets a file of the host's to download into (output_path, the
    // host's own option), beside the cache so that keeping it as the cache is one rename.
    if ((plugin.capabilities & DBTOOL_CAP_NETWORK) != 0) {
      const fs::path folder = s.scratch_dir ? *s.scratch_dir : cache.parent_path();
      fs::create_directories(folder);
      download = folder / ("." + cache.filename().string() + ".download-" + std::to_string(::getpid()));
      fs::remove(download);
      options["output_path"] = download.string();
    }
    log_info("source " + name + ": fetching");
    PluginErrorHolder err;
    dbtool_text text{};
    std::string opts = json::serialize(options);
    dbtool_status st = plugin.source->fetch(opts.c_str(), &text, &err.e);
    if (st != DBTOOL_OK) {
      if (text.release) text.release(&text);
      if (!download.empty()) fs::remove(download);
      if (st == DBTOOL_ERR_CANCELLED) throw Error("cancelled while fetching from " + name, ExitCode::kCancelled);
      attempt.reason = plugin_failure(name, st, err);
      if (err.e.http_status != 0) attempt.report["http_status"] = err.e.http_status;
      log_warn("source " + name + " failed: " + attempt.reason);
      result.attempts.push_back(std::move(attempt));
      continue;
    }
    try {
      struct TextGuard {
        dbtool_text* t;
        ~TextGuard() {
          if (t->release) t->release(t);
        }
      } guard{&text};
      std::string pname = plugin.name;
      attempt.report = [&] {
        if (text.data == nullptr || text.size == 0) return json::object{};
        boost::system::error_code ec;
        json::value v = json::parse(std::string_view(text.data, text.size), ec);
        if (ec || !v.is_object()) throw Error(pname + " returned a report that is not a JSON object");
        return std::move(v.get_object());
      }();
      auto* p = attempt.report.if_contains("path");
      if (p == nullptr || !p->is_string()) throw Error(name + " reported no \"path\"");
      fs::path delivered(std::string(p->get_string()));
      // A download counts only once it is complete and parses as an export: checked here,
      // whatever the plugin says, before it may replace the cache. A local file is checked by the import
      // itself, which stops before the cut-over at the first bad byte.
      // Read once: adding keys to the report below may move its values (ASan found the pointer
      // into it used after the report grew).
      const auto* c = attempt.report.if_contains("cacheable");
      const bool cacheable = c && c->is_bool() && c->get_bool();
      if (cacheable) attempt.report["records"] = validate_export(delivered, s.record_key);
      if (cacheable && !s.scratch_dir) {
        if (auto bak = install_cache(delivered, cache)) attempt.report["cache_backup"] = bak->string();
        attempt.report["cache"] = cache.string();
        delivered = cache;
      }
      attempt.served = true;
      result.export_file = delivered;
      result.source = name;
      log_info("source " + name + " served " + delivered.string());
      result.attempts.push_back(std::move(attempt));
      return result;
    } catch (const Error& e) {
      if (!download.empty()) fs::remove(download);
      attempt.reason = e.what();
      log_warn("source " + name + " failed: " + attempt.reason);
      result.attempts.push_back(std::move(attempt));
    }
  }
  std::string listing = ":";
  for (const auto& a : result.attempts) listing += "\n  " + a.source + ": " + a.reason;
  throw Error::untouched("no source delivered the data", ExitCode::kFailure, listing);
}

}  // namespace dbtool
