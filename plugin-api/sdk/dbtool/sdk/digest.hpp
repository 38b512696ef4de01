// dbtool's content digest of a table: a row count and a checksum that depend neither on row
// order nor on the backend. The host computes it from Arrow batches (`status`, `verify`, the
// run history); a backend may compute the same digest from its own rows (the SQLite backend's
// backup manifest), so both must hash a row the same way: this header is that one way.
// Header-only and optional, like the rest of the SDK; not part of the ABI.
//
// A row is its values in column order, each written in canonical form (integers and booleans as
// decimals, doubles in their shortest exact form, text and bytes as they are) behind a length
// prefix ("V<len>:"), NULL as "N". The checksum is the sum of the row hashes modulo 2^64. Two
// versions hash that same canonical row:
//   1 (kDigestFnv1a): 64-bit FNV-1a, one byte at a time. The run history, `status` and
//     `verify` record and compare this one, and backup manifests written before version 2.
//   2 (kDigestWide): WideHash below, eight bytes at a time (about eight times fewer steps);
//     the SQLite backend's backup manifests, which record the version they used.
// A checksum is only comparable with one of the same version. Neither is cryptographic: they
// catch changed, added and lost rows, not a deliberate forgery.
#pragma once

#include <charconv>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

namespace dbtool::sdk {

inline constexpr int kDigestFnv1a = 1;
inline constexpr int kDigestWide = 2;
// Version 1's FNV-1a, 64 bits: RowHash and fnv1a_rows must agree on both.
inline constexpr uint64_t kFnv1aBasis = 1469598103934665603ull;  // offset basis
inline constexpr uint64_t kFnv1aPrime = 1099511628211ull;

// A 64-bit hash of a byte string taken eight bytes (one little-endian word) at a time: each word
// is xored in, multiplied by an odd constant and folded (xor of the high bits into the low
// ones); the total length and a final avalanche close it. Fed in pieces through update(), every
// piece but the last a multiple of eight bytes long, it gives the hash of their concatenation.
class WideHash {
 public:
  void update(const void* data, size_t n) {
    const auto* p = static_cast<const unsigned char*>(data);
    length_ += n;
    for (; n >= 8; n -= 8, p += 8) step(load(p, 8));
    if (n > 0) step(load(p, n) ^ (static_cast<uint64_t>(n) << 59));  // the tail, its length marked
  }
  uint64_t get() const {
    uint64_t h = h_ ^ (length_ * kM2);
    h ^= h >> 32;
    h *= kM2;
    h ^= h >> 29;
    h *= kM1;
    return h ^ (h >> 32);
  }
  static uint64_t of(std::string_view bytes) {
    WideHash w;
    w.update(bytes.data(), bytes.size());
    return w.get();
  }

 private:
  static constexpr uint64_t kM1 = 0x9e3779b97f4a7c15ull;    // 2^64 / golden ratio, odd
  static constexpr uint64_t kM2 = 0xd6e8feb86659fd93ull;    // odd, bits well spread
  static uint64_t load(const unsigned char* p, size_t n) {  // n <= 8 bytes, little-endian
    if (n == 8) {
      uint64_t w;
      std::memcpy(&w, p, 8);
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
      w = __builtin_bswap64(w);
#endif
      return w;
    }
    uint64_t w = 0;
    for (size_t i = 0; i < n; ++i) w |= static_cast<uint64_t>(p[i]) << (8 * i);
    return w;
  }
  void step(uint64_t w) {
    h_ = (h_ ^ w) * kM1;
    h_ ^= h_ >> 29;
  }
  uint64_t h_ = 0x243f6a8885a308d3ull;  // fractional digits of pi: any fixed start
  uint64_t length_ = 0;
};

// The canonical form of a row's cells, the one definition the digests rest on: a null is "N", a
// value "V<length>:<text>", integers and reals in their shortest decimal text. `Out` takes the
// bytes (put), hashing them or writing them out.
template <class Out>
class CanonicalCells {
 public:
  void null() { out().put("N"); }
  void value(std::string_view canonical) {
    char len[24] = {'V'};
    char* end = std::to_chars(len + 1, len + sizeof(len) - 1, canonical.size()).ptr;
    *end++ = ':';
    out().put(std::string_view(len, static_cast<size_t>(end - len)));
    out().put(canonical);
  }
  void integer(int64_t v) {
    char buf[24];
    value(std::string_view(buf, static_cast<size_t>(std::to_chars(buf, buf + sizeof(buf), v).ptr - buf)));
  }
  void real(double v) {
    char buf[64];
    value(std::string_view(buf, static_cast<size_t>(std::to_chars(buf, buf + sizeof(buf), v).ptr - buf)));
  }

 private:
  Out& out() { return static_cast<Out&>(*this); }
};

class RowHash : public CanonicalCells<RowHash> {
 public:
  explicit RowHash(int version = kDigestFnv1a) : version_(version) {}
  // Empties the row for the next one (same version), keeping what was allocated.
  void reset() {
    h_ = kFnv1aBasis;
    row_.clear();
  }
  uint64_t get() const { return version_ == kDigestWide ? WideHash::of(row_) : h_; }
  int version() const { return version_; }

 private:
  friend class CanonicalCells<RowHash>;
  void put(std::string_view bytes) {
    if (version_ == kDigestWide) {
      row_.append(bytes.data(), bytes.size());  // hashed whole, eight bytes at a time, by get()
      return;
    }
    for (unsigned char c : bytes) {
      h_ ^= c;
      h_ *= kFnv1aPrime;
    }
  }
  int version_;
  uint64_t h_ = kFnv1aBasis;
  std::string row_;  // version 2: the canonical row
};

// Version 1's row hashes of `count` canonical rows laid end to end in `bytes` (row i is
// [ends[i-1], ends[i]), row 0 from 0), into `out`: each is the FNV-1a that RowHash gives the same
// bytes, four rows taken side by side so that their chains of multiplications overlap (one
// chain waits on each multiplication; four keep the multiplier busy).
inline void fnv1a_rows(const unsigned char* bytes, const size_t* ends, size_t count, uint64_t* out) {
  size_t r = 0;
  for (; r + 4 <= count; r += 4) {
    const unsigned char* p[4];
    size_t n[4];
    uint64_t h[4];
    for (size_t k = 0; k < 4; ++k) {
      size_t begin = r + k == 0 ? 0 : ends[r + k - 1];
      p[k] = bytes + begin;
      n[k] = ends[r + k] - begin;
      h[k] = kFnv1aBasis;
    }
    size_t common = n[0];
    for (size_t k = 1; k < 4; ++k) common = n[k] < common ? n[k] : common;
    for (size_t i = 0; i < common; ++i)
      for (size_t k = 0; k < 4; ++k) h[k] = (h[k] ^ p[k][i]) * kFnv1aPrime;
    for (size_t k = 0; k < 4; ++k) {
      for (size_t i = common; i < n[k]; ++i) h[k] = (h[k] ^ p[k][i]) * kFnv1aPrime;
      out[r + k] = h[k];
    }
  }
  for (; r < count; ++r) {
    uint64_t h = kFnv1aBasis;
    for (size_t i = r == 0 ? 0 : ends[r - 1]; i < ends[r]; ++i) h = (h ^ bytes[i]) * kFnv1aPrime;
    out[r] = h;
  }
}

// A row's canonical bytes as RowHash mixes them, written out for fnv1a_rows.
class CanonicalRows : public CanonicalCells<CanonicalRows> {
 public:
  void clear() {
    bytes_.clear();
    ends_.clear();
  }
  void end_row() { ends_.push_back(bytes_.size()); }
  size_t rows() const { return ends_.size(); }
  // Each row's version-1 hash, in row order.
  void hash(std::vector<uint64_t>& out) const {
    out.resize(ends_.size());
    fnv1a_rows(reinterpret_cast<const unsigned char*>(bytes_.data()), ends_.data(), ends_.size(), out.data());
  }

 private:
  friend class CanonicalCells<CanonicalRows>;
  void put(std::string_view bytes) { bytes_.append(bytes); }
  std::string bytes_;
  std::vector<size_t> ends_;
};

class ContentDigest {
 public:
  void add(const RowHash& row) { add(row.get()); }
  void add(uint64_t row_hash) {  // a row hash made another way with the same result (version 1: fnv1a_rows)
    sum_ += row_hash;
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
