// An owning handle to an object of a C library (a connection, a prepared statement, a result),
// released exactly once by the library's own function: std::unique_ptr with that function as
// its deleter, so moving, resetting and closing need no hand-written code in each plugin.
//   using Db = dbtool::sdk::Handle<sqlite3, sqlite3_close_v2>;
//   Db db(raw);           // sqlite3_close_v2(raw) when db goes, unless it was moved away
//   db.reset();           // closes now
// Header-only and optional, like the rest of the SDK; C++17 or newer.
#pragma once

#include <memory>

namespace dbtool::sdk {

// A deleter calling `Release` (any function taking the pointer; its result is ignored).
template <auto Release>
struct ReleaseWith {
  template <class T>
  void operator()(T* p) const noexcept {
    Release(p);
  }
};

template <class T, auto Release>
using Handle = std::unique_ptr<T, ReleaseWith<Release>>;

}  // namespace dbtool::sdk
