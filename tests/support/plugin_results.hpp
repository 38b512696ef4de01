// What a plugin's C functions hand back to a test that calls them directly: the error a call
// fills and the text it returns, each released exactly once.
#pragma once

#include <dbtool/plugin.h>

#include <string>

namespace dbtool::testing {

// A zero-initialised dbtool_error to pass to a call; released when it goes.
struct Err {
  dbtool_error e{};
  Err() = default;
  Err(const Err&) = delete;
  Err& operator=(const Err&) = delete;
  ~Err() {
    if (e.release) e.release(&e);
  }
  std::string message() const { return e.message ? e.message : ""; }
};

// The text's bytes; releases it.
inline std::string take_text(dbtool_text& t) {
  std::string s = t.data ? std::string(t.data, t.size) : "";
  if (t.release) t.release(&t);
  return s;
}

}  // namespace dbtool::testing
