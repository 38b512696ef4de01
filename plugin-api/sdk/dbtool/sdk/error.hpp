// C++ helpers for the edge of the plugin ABI: a typed exception inside a plugin, turned into a
// dbtool_error only where a C entry point returns. Header-only and optional: a third party may
// use it or write its own; it is not part of the ABI (plugin.h is).
#pragma once

#include <dbtool/plugin.h>

#include <cstdlib>
#include <cstring>
#include <new>
#include <stdexcept>
#include <string>

namespace dbtool::sdk {

// An error with everything dbtool_error can carry. Throw it inside a plugin; guard() turns it
// into a status and a filled dbtool_error at the boundary.
class Failure : public std::runtime_error {
 public:
  Failure(dbtool_status status, const std::string& message, std::string sqlstate = {}, int32_t vendor_code = 0,
          int32_t http_status = 0)
      : std::runtime_error(message),
        status_(status),
        sqlstate_(std::move(sqlstate)),
        vendor_code_(vendor_code),
        http_status_(http_status) {}

  dbtool_status status() const { return status_; }
  const std::string& sqlstate() const { return sqlstate_; }
  int32_t vendor_code() const { return vendor_code_; }
  int32_t http_status() const { return http_status_; }

 private:
  dbtool_status status_;
  std::string sqlstate_;
  int32_t vendor_code_;
  int32_t http_status_;
};

namespace detail {
inline void release_error(dbtool_error* error) {
  std::free(error->message);
  std::memset(error, 0, sizeof(*error));
}
inline void release_text(dbtool_text* text) {
  std::free(text->data);
  std::memset(text, 0, sizeof(*text));
}
inline char* copy_c_string(const std::string& s) {
  char* p = static_cast<char*>(std::malloc(s.size() + 1));
  if (p != nullptr) std::memcpy(p, s.c_str(), s.size() + 1);
  return p;
}
}  // namespace detail

// Fills `error` (which may be NULL) and returns `status`. Never throws.
inline dbtool_status set_error(dbtool_error* error, dbtool_status status, const std::string& message,
                               const std::string& sqlstate = {}, int32_t vendor_code = 0,
                               int32_t http_status = 0) noexcept {
  if (error == nullptr) return status;
  if (error->release != nullptr) error->release(error);
  std::memset(error, 0, sizeof(*error));
  error->status = status;
  try {
    error->message = detail::copy_c_string(message);
  } catch (...) {
    error->message = nullptr;
  }
  std::strncpy(error->sqlstate, sqlstate.c_str(), sizeof(error->sqlstate) - 1);
  error->vendor_code = vendor_code;
  error->http_status = http_status;
  error->release = detail::release_error;
  return status;
}

// Runs `body` and converts whatever it throws into a status and a filled error. Every C entry
// point of a C++ plugin goes through this, so no exception crosses the ABI.
template <class Body>
dbtool_status guard(dbtool_error* error, Body&& body) noexcept {
  try {
    body();
    return DBTOOL_OK;
  } catch (const Failure& f) {
    return set_error(error, f.status(), f.what(), f.sqlstate(), f.vendor_code(), f.http_status());
  } catch (const std::bad_alloc&) {
    return set_error(error, DBTOOL_ERR_INTERNAL, "out of memory");
  } catch (const std::exception& e) {
    return set_error(error, DBTOOL_ERR_INTERNAL, e.what());
  } catch (...) {
    return set_error(error, DBTOOL_ERR_INTERNAL, "unknown internal error");
  }
}

// Moves a string into a dbtool_text the receiver releases. Throws std::bad_alloc.
inline void set_text(dbtool_text* out, const std::string& s) {
  std::memset(out, 0, sizeof(*out));
  out->data = detail::copy_c_string(s);
  if (out->data == nullptr) throw std::bad_alloc();
  out->size = s.size();
  out->release = detail::release_text;
}

}  // namespace dbtool::sdk
