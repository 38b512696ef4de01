// dbtool's content digest of a table: a row count and a checksum that depend neither on row
// order nor on the backend. The host computes it from Arrow batches (`status`, `verify`, the
// run history); a backend may compute the same digest from its own rows (the SQLite backend's
// backup manifest), so both must hash a row the same way: this header is that one way.
// Header-only and optional, like the rest of the SDK; not part of the ABI.
//
// A row is its values in column order, each written in canonical form (integers and booleans as
// decimals, doubles in their shortest exact form, text and bytes as they are) behind a length
// prefix ("V<len>:"), NULL as "N", hashed with 64-bit FNV-1a; the checksum is the sum of the
// row hashes modulo 2^64. Not cryptographic: it catches changed, added and lost rows, not a
// deliberate forgery.
#pragma once

#include <charconv>
#include <cstdint>
#include <cstdio>
#include <string>
#include <string_view>

namespace dbtool::sdk {

class RowHash {
 public:
  void null() { mix("N"); }
  void value(std::string_view canonical) {
    char len[24] = {'V'};
    char* end = std::to_chars(len + 1, len + sizeof(len) - 1, canonical.size()).ptr;
    *end++ = ':';
    mix(std::string_view(len, static_cast<size_t>(end - len)));
    mix(canonical);
  }
  void integer(int64_t v) {
    char buf[24];
    value(std::string_view(buf, static_cast<size_t>(std::to_chars(buf, buf + sizeof(buf), v).ptr - buf)));
  }
  void real(double v) {
    char buf[64];
    value(std::string_view(buf, static_cast<size_t>(std::to_chars(buf, buf + sizeof(buf), v).ptr - buf)));
  }
  uint64_t get() const { return h_; }

 private:
  void mix(std::string_view bytes) {
    for (unsigned char c : bytes) {
      h_ ^= c;
      h_ *= 1099511628211ull;  // FNV-1a 64-bit prime
    }
  }
  uint64_t h_ = 1469598103934665603ull;  // FNV-1a 64-bit offset basis
};

class ContentDigest {
 public:
  void add(const RowHash& row) {
    sum_ += row.get();
    ++rows_;
  }
  int64_t rows() const { return rows_; }
  std::string checksum() const {  // 16 hex digits
    char buf[17];
    std::snprintf(buf, sizeof(buf), "%016llx", static_cast<unsigned long long>(sum_));
    return buf;
  }

 private:
  int64_t rows_ = 0;
  uint64_t sum_ = 0;
};

}  // namespace dbtool::sdk
