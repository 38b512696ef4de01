// The http-legacy source: logs in to the old deployment's web API and downloads its users
// export with libcurl into a file the host gave it. The session cookie lives only in curl's
// in-memory cookie engine; the password is never logged. Transient failures are retried with
// backoff; anything partial is deleted.
#include <dbtool/plugin.h>
#include <dbtool/sdk/error.hpp>
#include <dbtool/sdk/plugin.hpp>

#include <curl/curl.h>
#include <boost/json.hpp>

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <mutex>
#include <thread>

namespace {
namespace json = boost::json;
using dbtool::sdk::Failure;

using dbtool::sdk::log;

struct Options {
  std::string url, login_path = "/api/authenticate", data_path = "/api/user";
  std::string uid, password, output_path, ca_file;
  double connect_timeout_s = 10, timeout_s = 300;  // fractions count: curl gets milliseconds
  long low_speed_limit = 1024, low_speed_time_s = 30;
  int retries = 3;
  int64_t max_body_bytes = int64_t{2} << 30;
  bool insecure = false;
};

Options parse_options(const char* text) {
  boost::system::error_code ec;
  json::value v = json::parse(text ? text : "", ec);
  if (ec || !v.is_object()) throw Failure(DBTOOL_ERR_INVALID_ARGUMENT, "options must be a JSON object");
  const json::object& o = v.get_object();
  Options opt;
  auto str = [&](const char* k, std::string& out, bool required) {
    const json::value* x = o.if_contains(k);
    if (x == nullptr || x->is_null()) {
      if (required) throw Failure(DBTOOL_ERR_INVALID_ARGUMENT, std::string("http-legacy needs \"") + k + "\"");
      return;
    }
    if (!x->is_string()) throw Failure(DBTOOL_ERR_INVALID_ARGUMENT, std::string("\"") + k + "\" must be a string");
    out = std::string(x->get_string());
  };
  auto num = [&](const char* k, auto& out) {
    if (const json::value* x = o.if_contains(k); x && x->is_number())
      out = static_cast<std::remove_reference_t<decltype(out)>>(x->to_number<double>());
  };
  str("url", opt.url, true);
  str("uid", opt.uid, true);
  str("password", opt.password, true);
  str("output_path", opt.output_path, true);
  str("login_path", opt.login_path, false);
  str("data_path", opt.data_path, false);
  str("ca_file", opt.ca_file, false);
  num("connect_timeout_s", opt.connect_timeout_s);
  num("timeout_s", opt.timeout_s);
  num("low_speed_limit", opt.low_speed_limit);
  num("low_speed_time_s", opt.low_speed_time_s);
  num("retries", opt.retries);
  num("max_body_bytes", opt.max_body_bytes);
  if (const json::value* x = o.if_contains("insecure"); x && x->is_bool()) opt.insecure = x->get_bool();
  // curl reads 0 as "no limit": a timeout that rounds to nothing would hang on a stalled server.
  if (!(opt.connect_timeout_s >= 0.001) || !(opt.timeout_s >= 0.001))
    throw Failure(DBTOOL_ERR_INVALID_ARGUMENT, "timeouts must be at least 0.001 seconds");
  while (!opt.url.empty() && opt.url.back() == '/') opt.url.pop_back();
  if (opt.url.rfind("http://", 0) != 0 && opt.url.rfind("https://", 0) != 0)
    throw Failure(DBTOOL_ERR_INVALID_ARGUMENT, "the legacy URL must start with http:// or https://: " + opt.url);
  return opt;
}

bool loopback(const std::string& url) {
  std::string rest = url.substr(url.find("://") + 3);
  std::string host = rest.substr(0, rest.find_first_of(":/"));
  return host == "localhost" || host.rfind("127.", 0) == 0 || rest.rfind("[::1]", 0) == 0;
}

// One transfer's outcome.
struct Transfer {
  CURLcode code = CURLE_OK;
  long status = 0;
  int64_t bytes = 0;
  curl_off_t content_length = -1;
  bool too_big = false;
  bool write_failed = false;
  std::string body;  // small bodies only (login answers, error messages)
  std::string curl_error;
};

struct Sink {
  int fd = -1;  // the download's file, or -1 to keep the body in memory
  Transfer* t = nullptr;
  int64_t limit = 0;
};

size_t on_data(char* data, size_t size, size_t n, void* user) {
  auto* s = static_cast<Sink*>(user);
  size_t len = size * n;
  s->t->bytes += static_cast<int64_t>(len);
  if (s->t->bytes > s->limit) {
    s->t->too_big = true;
    return 0;  // aborts the transfer
  }
  if (s->fd < 0) {
    if (s->t->body.size() < 64 * 1024) s->t->body.append(data, len);
    return len;
  }
  size_t done = 0;
  while (done < len) {
    ssize_t w = ::write(s->fd, data + done, len - done);
    if (w < 0) {
      if (errno == EINTR) continue;
      s->t->write_failed = true;
      return 0;
    }
    done += static_cast<size_t>(w);
  }
  return len;
}

int on_progress(void*, curl_off_t dltotal, curl_off_t dlnow, curl_off_t, curl_off_t) {
  dbtool::sdk::progress("download", dlnow, dltotal > 0 ? dltotal : -1);
  return dbtool::sdk::cancelled() ? 1 : 0;
}

class Client {
 public:
  explicit Client(const Options& o) : o_(o), curl_(curl_easy_init()) {
    if (curl_ == nullptr) throw Failure(DBTOOL_ERR_INTERNAL, "cannot start libcurl");
    curl_easy_setopt(curl_, CURLOPT_COOKIEFILE, "");  // in-memory cookie engine, never a file
    curl_easy_setopt(curl_, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(curl_, CURLOPT_CONNECTTIMEOUT_MS, std::lround(o.connect_timeout_s * 1000));
    curl_easy_setopt(curl_, CURLOPT_TIMEOUT_MS, std::lround(o.timeout_s * 1000));
    curl_easy_setopt(curl_, CURLOPT_LOW_SPEED_LIMIT, o.low_speed_limit);
    curl_easy_setopt(curl_, CURLOPT_LOW_SPEED_TIME, o.low_speed_time_s);
    curl_easy_setopt(curl_, CURLOPT_SSL_VERIFYPEER, o.insecure ? 0L : 1L);
    curl_easy_setopt(curl_, CURLOPT_SSL_VERIFYHOST, o.insecure ? 0L : 2L);
    if (!o.ca_file.empty()) curl_easy_setopt(curl_, CURLOPT_CAINFO, o.ca_file.c_str());
    curl_easy_setopt(curl_, CURLOPT_NOPROGRESS, 0L);
    curl_easy_setopt(curl_, CURLOPT_XFERINFOFUNCTION, on_progress);
    curl_easy_setopt(curl_, CURLOPT_WRITEFUNCTION, on_data);
    curl_easy_setopt(curl_, CURLOPT_ERRORBUFFER, error_buffer_);
    curl_easy_setopt(curl_, CURLOPT_USERAGENT, "dbtool-http-legacy/0.1");
    headers_ = curl_slist_append(headers_, "Content-Type: application/json");
    headers_ = curl_slist_append(headers_, "X-Origin: client");
    curl_easy_setopt(curl_, CURLOPT_HTTPHEADER, headers_);
  }
  ~Client() {
    curl_slist_free_all(headers_);
    curl_easy_cleanup(curl_);
  }

  Transfer perform(const std::string& path, const std::string* post_body, int fd, int64_t limit) {
    Transfer t;
    Sink sink{fd, &t, limit};
    error_buffer_[0] = '\0';
    curl_easy_setopt(curl_, CURLOPT_URL, (o_.url + path).c_str());
    if (post_body != nullptr) {
      curl_easy_setopt(curl_, CURLOPT_POSTFIELDS, post_body->c_str());
      curl_easy_setopt(curl_, CURLOPT_POSTFIELDSIZE, static_cast<long>(post_body->size()));
    } else {
      curl_easy_setopt(curl_, CURLOPT_HTTPGET, 1L);
    }
    curl_easy_setopt(curl_, CURLOPT_WRITEDATA, &sink);
    t.code = curl_easy_perform(curl_);
    curl_easy_getinfo(curl_, CURLINFO_RESPONSE_CODE, &t.status);
    curl_easy_getinfo(curl_, CURLINFO_CONTENT_LENGTH_DOWNLOAD_T, &t.content_length);
    t.curl_error = error_buffer_[0] ? error_buffer_ : curl_easy_strerror(t.code);
    return t;
  }

 private:
  const Options& o_;
  CURL* curl_;
  curl_slist* headers_ = nullptr;
  char error_buffer_[CURL_ERROR_SIZE];
};

bool transient(const Transfer& t) {
  switch (t.code) {
    case CURLE_COULDNT_CONNECT:
    case CURLE_RECV_ERROR:
    case CURLE_SEND_ERROR:
    case CURLE_GOT_NOTHING:
    case CURLE_PARTIAL_FILE:
      return true;
    case CURLE_OK:
      return t.status == 502 || t.status == 503 || t.status == 504;
    default:
      return false;
  }
}

// The server's {"message": ...} when it sent one.
std::string server_message(const std::string& body) {
  boost::system::error_code ec;
  json::value v = json::parse(body, ec);
  if (!ec && v.is_object())
    if (auto* m = v.get_object().if_contains("message"); m && m->is_string())
      return ": " + std::string(m->get_string());
  return "";
}

// Turns a failed transfer into the error the user reads.
[[noreturn]] void fail_transfer(const Options& o, const Transfer& t, const std::string& what) {
  if (t.too_big)
    throw Failure(DBTOOL_ERR_DATA,
                  what + ": body larger than " + std::to_string(o.max_body_bytes) + " bytes (--max-body-bytes)");
  if (t.write_failed) throw Failure(DBTOOL_ERR_IO, what + ": cannot write " + o.output_path + " (disk full?)");
  switch (t.code) {
    case CURLE_OK:
      break;
    case CURLE_OPERATION_TIMEDOUT:
      throw Failure(DBTOOL_ERR_TIMEOUT, what + ": timed out (" + t.curl_error + ")");
    case CURLE_ABORTED_BY_CALLBACK:
      throw Failure(DBTOOL_ERR_CANCELLED, what + ": cancelled");
    case CURLE_PARTIAL_FILE:
      throw Failure(DBTOOL_ERR_NETWORK, what + ": truncated body: got " + std::to_string(t.bytes) + " of " +
                                            std::to_string(static_cast<int64_t>(t.content_length)) + " bytes");
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_CONNECT:
    case CURLE_RECV_ERROR:
    case CURLE_SEND_ERROR:
    case CURLE_GOT_NOTHING:
      throw Failure(DBTOOL_ERR_NETWORK, what + ": " + t.curl_error, {}, 0, static_cast<int32_t>(t.status));
    default:
      throw Failure(DBTOOL_ERR_NETWORK, what + ": " + t.curl_error, {}, 0, static_cast<int32_t>(t.status));
  }
  std::string msg = what + ": HTTP " + std::to_string(t.status) + server_message(t.body);
  dbtool_status st = DBTOOL_ERR_NETWORK;
  if (t.status == 401 || t.status == 403) {
    st = DBTOOL_ERR_AUTH;
    msg += " (wrong uid or password?)";
  } else if (t.status == 404) {
    st = what == "login" ? DBTOOL_ERR_AUTH : DBTOOL_ERR_NOT_FOUND;
    if (what == "login") msg += " (unknown user?)";
  }
  throw Failure(st, msg, {}, 0, static_cast<int32_t>(t.status));
}

bool failed(const Transfer& t) {
  return t.code != CURLE_OK || t.too_big || t.write_failed || t.status < 200 || t.status >= 300;
}

// Runs `attempt` until it succeeds, fails for good, or the retries are spent.
template <class Attempt>
Transfer with_retries(const Options& o, const std::string& what, int& attempts, Attempt attempt) {
  for (int i = 0;; ++i) {
    ++attempts;
    Transfer t = attempt();
    if (!failed(t)) return t;
    if (i >= o.retries || !transient(t) || t.too_big) return t;
    auto wait = std::chrono::milliseconds(500 << i);
    log(DBTOOL_LOG_INFO, what + " failed (" + (t.code != CURLE_OK ? t.curl_error : "HTTP " + std::to_string(t.status)) +
                             "), retrying in " + std::to_string(wait.count()) + " ms");
    std::this_thread::sleep_for(wait);
  }
}

dbtool_status fetch(const char* options_json, dbtool_text* report, dbtool_error* error) {
  std::string output;
  bool created = false;
  dbtool_status st = dbtool::sdk::guard(error, [&] {
    static std::once_flag once;
    std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
    Options o = parse_options(options_json);
    output = o.output_path;
    if (o.insecure) log(DBTOOL_LOG_WARN, "TLS verification is off (--insecure): the server's identity is not checked");
    if (o.url.rfind("http://", 0) == 0 && !loopback(o.url))
      log(DBTOOL_LOG_WARN,
          "plain http:// to a non-loopback host: the session cookie is Secure and will not be sent "
          "back, and the password crosses the network in clear");
    Client client(o);
    int attempts = 0;

    const std::string login = json::serialize(json::object{{"uid", o.uid}, {"password", o.password}});
    Transfer t = with_retries(o, "login", attempts, [&] { return client.perform(o.login_path, &login, -1, 1 << 20); });
    if (failed(t)) fail_transfer(o, t, "login");

    int fd = -1;
    t = with_retries(o, "download", attempts, [&] {
      if (fd >= 0) ::close(fd);
      fd = ::open(o.output_path.c_str(), O_CREAT | O_TRUNC | O_WRONLY | O_CLOEXEC | O_NOFOLLOW | (created ? 0 : O_EXCL),
                  0600);
      if (fd < 0) throw Failure(DBTOOL_ERR_IO, "cannot create " + o.output_path + ": " + std::strerror(errno));
      created = true;
      return client.perform(o.data_path, nullptr, fd, o.max_body_bytes);
    });
    bool synced = ::fsync(fd) == 0;
    ::close(fd);
    if (failed(t)) {
      if (t.code == CURLE_OK && t.status >= 300) {
        // The error body went to the file; read a little of it back for the message.
        FILE* f = std::fopen(o.output_path.c_str(), "rb");
        if (f) {
          char buf[4096];
          size_t n = std::fread(buf, 1, sizeof(buf), f);
          std::fclose(f);
          t.body.assign(buf, n);
        }
      }
      fail_transfer(o, t, "download");
    }
    if (!synced) throw Failure(DBTOOL_ERR_IO, "cannot write " + o.output_path + " to disk");
    if (t.content_length >= 0 && t.bytes != t.content_length)
      throw Failure(DBTOOL_ERR_NETWORK, "download: truncated body: got " + std::to_string(t.bytes) + " of " +
                                            std::to_string(static_cast<int64_t>(t.content_length)) + " bytes");
    json::object r{{"path", o.output_path},   {"bytes", t.bytes},           {"cacheable", true},
                   {"http_status", t.status}, {"url", o.url + o.data_path}, {"attempts", attempts}};
    dbtool::sdk::set_text(report, json::serialize(r));
  });
  if (st != DBTOOL_OK && created) ::unlink(output.c_str());
  return st;
}

const dbtool_source_api kApi = {sizeof(dbtool_source_api), fetch};

const dbtool::sdk::PluginInfo kInfo = {DBTOOL_KIND_SOURCE,
                                       "http-legacy",
                                       "0.1.0",
                                       "the old deployment's web API (login, then GET /api/user) over libcurl",
                                       DBTOOL_CAP_NETWORK | DBTOOL_CAP_CACHEABLE,
                                       nullptr,
                                       &kApi};

}  // namespace

DBTOOL_SDK_EXPORT_PLUGIN(kInfo)
