// The json-file source: a local export file (by default instance/data.json, which successful
// downloads refresh). It checks the file is there and readable; the host then validates the
// JSON before any of it counts.
#include <dbtool/plugin.h>
#include <dbtool/sdk/error.hpp>
#include <dbtool/sdk/plugin.hpp>

#include <boost/json.hpp>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace {
namespace json = boost::json;
using dbtool::sdk::Failure;

dbtool_status fetch(const char* options_json, dbtool_text* report, dbtool_error* error) {
  return dbtool::sdk::guard(error, [&] {
    boost::system::error_code ec;
    json::value opts = json::parse(options_json ? options_json : "", ec);
    if (ec || !opts.is_object()) throw Failure(DBTOOL_ERR_INVALID_ARGUMENT, "options must be a JSON object");
    const json::value* p = opts.get_object().if_contains("path");
    if (p == nullptr || !p->is_string() || p->get_string().empty())
      throw Failure(DBTOOL_ERR_INVALID_ARGUMENT, "json-file needs a \"path\" (--json-file)");
    std::string path(p->get_string());
    int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
      int err = errno;
      throw Failure(err == ENOENT ? DBTOOL_ERR_NOT_FOUND : DBTOOL_ERR_IO,
                    "cannot read " + path + ": " + std::strerror(err));
    }
    struct stat st {};
    int rc = ::fstat(fd, &st);
    ::close(fd);
    if (rc != 0 || !S_ISREG(st.st_mode)) throw Failure(DBTOOL_ERR_IO, path + " is not a regular file");
    if (st.st_size == 0) throw Failure(DBTOOL_ERR_DATA, path + " is empty");
    json::object r{{"path", path}, {"bytes", static_cast<int64_t>(st.st_size)}, {"cacheable", false}};
    dbtool::sdk::set_text(report, json::serialize(r));
  });
}

const dbtool_source_api kApi = {sizeof(dbtool_source_api), fetch};

const dbtool::sdk::PluginInfo kInfo = {DBTOOL_KIND_SOURCE,
                                       "json-file",
                                       "0.1.0",
                                       "a local JSON export (the fallback, and the cache downloads refresh)",
                                       0,
                                       nullptr,
                                       &kApi};

}  // namespace

DBTOOL_SDK_EXPORT_PLUGIN(kInfo)
