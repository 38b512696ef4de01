// The backup manifest and the checks made with it. A backup records, in a table of its own, the
// rows of every table it holds, and seals the file: once the copy has passed its checks
// (quick_check, or integrity_check on request, foreign keys, the rows against the database's),
// a hash of the file's bytes is written into a one-row table of its own. Verifying a backup is
// then one sequential hash of the file instead of a second check of its structure and a read of
// every row: equal bytes are the checked database. Manifests written before the seal (versions 1
// and 2) record a content digest per table (sdk/digest.hpp) instead, checked with one structural
// check and one read of the rows side by side; the bytes of a file so checked are hashed too, so
// that a copy of it can be proven byte-identical (restore) instead of being checked again.
#include "sqlite_backend.hpp"

#include <dbtool/sdk/digest.hpp>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <set>
#include <string_view>
#include <vector>

namespace dbtool::sqlite {
namespace fs = std::filesystem;
using sdk::Failure;

namespace {

// One value as the host's TableDigest would see it after read_table: by the column's portable
// type, dates and times in canonical form. A value read_table would refuse (text in an integer
// column, say) is hashed as its text, so it still counts.
void hash_value(sdk::RowHash& h, sqlite3_stmt* st, int col, sdk::ColumnType arrow, const std::string& type) {
  const int kind = sqlite3_column_type(st, col);
  if (kind == SQLITE_NULL) return h.null();
  auto text = [&] {
    const auto* p = reinterpret_cast<const char*>(sqlite3_column_text(st, col));
    return std::string_view(p, static_cast<size_t>(sqlite3_column_bytes(st, col)));
  };
  switch (arrow) {
    case sdk::ColumnType::Int64:
    case sdk::ColumnType::Bool:
      if (kind != SQLITE_INTEGER) return h.value(text());
      return h.integer(arrow == sdk::ColumnType::Bool ? sqlite3_column_int64(st, col) != 0
                                                      : sqlite3_column_int64(st, col));
    case sdk::ColumnType::Float64:
      if (kind != SQLITE_INTEGER && kind != SQLITE_FLOAT) return h.value(text());
      return h.real(sqlite3_column_double(st, col));
    case sdk::ColumnType::Binary:
      return h.value(std::string_view(static_cast<const char*>(sqlite3_column_blob(st, col)),
                                      static_cast<size_t>(sqlite3_column_bytes(st, col))));
    default:
      if (type == "date" || type == "datetime") {
        auto canonical = type == "date" ? sdk::canonical_date(text()) : sdk::canonical_datetime(text());
        if (canonical) return h.value(*canonical);
      }
      return h.value(text());
  }
}

TableContent digest_table(Connection& c, const std::string& table, int digest_version) {
  std::vector<sdk::ColumnType> arrow;
  std::vector<std::string> types;
  std::string select;
  {
    Statement info(c.get(), "SELECT name, type FROM pragma_table_info(?) ORDER BY cid");
    sqlite3_bind_text(info.get(), 1, table.c_str(), -1, SQLITE_TRANSIENT);
    while (sqlite3_step(info.get()) == SQLITE_ROW) {
      std::string name = reinterpret_cast<const char*>(sqlite3_column_text(info.get(), 0));
      const unsigned char* t = sqlite3_column_text(info.get(), 1);
      sdk::PortableColumn pc = portable_column_of(name, t ? reinterpret_cast<const char*>(t) : "");
      arrow.push_back(sdk::arrow_type_of(pc.type));
      types.push_back(pc.type);
      select += (select.empty() ? "" : ", ") + quote_identifier(name);
    }
  }
  // In storage order: the sum does not depend on it, and a sequential scan is the cheapest read.
  Statement st(c.get(), "SELECT " + select + " FROM " + quote_identifier(table));
  sdk::ContentDigest digest;
  sdk::RowHash h(digest_version);
  int rc;
  while ((rc = sqlite3_step(st.get())) == SQLITE_ROW) {
    h.reset();
    for (size_t i = 0; i < arrow.size(); ++i) hash_value(h, st.get(), static_cast<int>(i), arrow[i], types[i]);
    digest.add(h);
  }
  if (rc != SQLITE_DONE) fail(c.get(), rc, "reading " + table + " for its digest");
  return {digest.rows(), digest.checksum()};
}

// "users: 5 rows, digest 25fbef51e1a92214 recorded, 5 rows, digest a555dbe1402eaba7 found; ..."
// for the tables where `manifest` and `found` differ.
std::string differences(const Contents& manifest, const Contents& found) {
  auto side = [](const Contents& c, const std::string& name) {
    auto it = c.find(name);
    if (it == c.end()) return std::string("no table");
    const std::string rows = std::to_string(it->second.rows) + " rows";
    return it->second.checksum.empty() ? rows : rows + ", digest " + it->second.checksum;
  };
  std::set<std::string> names;
  for (const auto& kv : manifest) names.insert(kv.first);
  for (const auto& kv : found) names.insert(kv.first);
  std::string out;
  for (const auto& n : names) {
    std::string want = side(manifest, n), got = side(found, n);
    if (want != got) out += (out.empty() ? "" : "; ") + n + ": " + want + " recorded, " + got + " found";
  }
  return out;
}

}  // namespace

Contents digest_tables(Connection& c, int digest_version) {
  Contents out;
  for (const auto& t : user_tables(c)) out[t] = digest_table(c, t, digest_version);
  return out;
}

FileIdentity identify(const fs::path& file) {
  struct stat st {};
  if (::stat(file.c_str(), &st) != 0)
    throw Failure(DBTOOL_ERR_IO, "cannot stat " + file.string() + ": " + std::strerror(errno));
  return {static_cast<uint64_t>(st.st_dev), static_cast<uint64_t>(st.st_ino), static_cast<int64_t>(st.st_size),
          static_cast<int64_t>(st.st_mtim.tv_sec) * 1000000000 + st.st_mtim.tv_nsec,
          static_cast<int64_t>(st.st_ctim.tv_sec) * 1000000000 + st.st_ctim.tv_nsec};
}

namespace {

constexpr std::string_view kSealMarker = "dbtool-seal:";
constexpr size_t kSealDigits = 16;

// Hashes `n` bytes of `buffer`, which start at byte `at` of a file, with the seal's digits (16
// bytes at `mask_at`, when >= 0) read as "0". The buffer is left as it was.
void hash_piece(sdk::WideHash& h, char* buffer, size_t n, int64_t at, int64_t mask_at) {
  const int64_t from = std::max<int64_t>(mask_at, at), to = std::min<int64_t>(mask_at + kSealDigits, at + n);
  if (mask_at < 0 || from >= to) return h.update(buffer, n);
  char kept[kSealDigits];
  std::memcpy(kept, buffer + (from - at), static_cast<size_t>(to - from));
  std::memset(buffer + (from - at), '0', static_cast<size_t>(to - from));
  h.update(buffer, n);
  std::memcpy(buffer + (from - at), kept, static_cast<size_t>(to - from));
}

// Reads the SQLite varint at `at` (file format: big-endian groups of seven bits, the ninth byte
// whole) and moves `at` past it; false when it runs past the end of `b`.
bool read_varint(const std::string& b, size_t& at, uint64_t& v) {
  v = 0;
  for (int i = 0; i < 9; ++i) {
    if (at >= b.size()) return false;
    const auto c = static_cast<unsigned char>(b[at++]);
    if (i == 8) {
      v = (v << 8) | c;
      return true;
    }
    v = (v << 7) | (c & 0x7f);
    if ((c & 0x80) == 0) return true;
  }
  return true;
}

}  // namespace

uint64_t hash_file_bytes(const fs::path& file, const std::string& what, int64_t mask_at) {
  int in = ::open(file.c_str(), O_RDONLY | O_CLOEXEC);
  if (in < 0) throw Failure(DBTOOL_ERR_IO, what + ": cannot open " + file.string() + ": " + std::strerror(errno));
  sdk::WideHash h;
  std::vector<char> buffer(1 << 20);  // a multiple of eight: every piece but the last is whole words
  int64_t at = 0;
  ssize_t n;
  while ((n = ::read(in, buffer.data(), buffer.size())) > 0) {
    ssize_t more = 1;  // a short read: read on to whole words (or the end)
    while (n % 8 != 0 && (more = ::read(in, buffer.data() + n, buffer.size() - static_cast<size_t>(n))) > 0) n += more;
    if (more < 0) {
      n = -1;
      break;
    }
    hash_piece(h, buffer.data(), static_cast<size_t>(n), at, mask_at);
    at += n;
  }
  const int err = errno;
  ::close(in);
  if (n < 0) throw Failure(DBTOOL_ERR_IO, what + ": cannot read " + file.string() + ": " + std::strerror(err));
  return h.get();
}

Contents check_database_file(const fs::path& file, bool thorough, bool foreign_keys, const std::string& what,
                             int digest_version, uint64_t* bytes_hash) {
  // The structural check and the digest read the same pages; on two connections they run on two
  // cores, so the check costs about the longer of the two instead of their sum. The byte hash,
  // when asked, follows the structural check (the shorter of the two) on its thread.
  Contents found;
  side_by_side(
      [&] {
        Connection c(file, SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX);
        verify_database(c, what, thorough, foreign_keys);
        c.close();
        if (bytes_hash) *bytes_hash = hash_file_bytes(file, what);
      },
      [&] {
        Connection c(file, SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX);  // one thread each: no locking per call
        found = digest_tables(c, digest_version);
      });  // a structural failure says more than a failed read, so it is the one thrown
  return found;
}

void write_manifest(Connection& c, const Contents& tables) {
  // A database that was itself once a backup (copied into place by hand) brings the old
  // manifest and seal along in the copy: this backup's replace them.
  c.exec("BEGIN; DROP TABLE IF EXISTS " + quote_identifier(kManifestTable) + "; DROP TABLE IF EXISTS " +
             quote_identifier(kSealTable) + "; CREATE TABLE " + quote_identifier(kManifestTable) +
             " (table_name TEXT NOT NULL PRIMARY KEY, row_count INTEGER NOT NULL, checksum TEXT NOT NULL,"
             " digest_version INTEGER NOT NULL)",
         "writing the backup manifest");
  Statement st(c.get(), "INSERT INTO " + quote_identifier(kManifestTable) + " VALUES (?, ?, ?, ?)");
  for (const auto& [name, t] : tables) {
    sqlite3_reset(st.get());
    sqlite3_bind_text(st.get(), 1, name.c_str(), -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64(st.get(), 2, t.rows);
    sqlite3_bind_text(st.get(), 3, "", -1, SQLITE_STATIC);  // the seal proves the content
    sqlite3_bind_int64(st.get(), 4, kManifestSealed);
    if (int rc = sqlite3_step(st.get()); rc != SQLITE_DONE) fail(c.get(), rc, "writing the backup manifest");
  }
  // The placeholder is as long as the hash that replaces it, so filling it in rewrites 16 bytes
  // of one page and nothing else.
  c.exec("CREATE TABLE " + quote_identifier(kSealTable) + " (seal TEXT NOT NULL); INSERT INTO " +
             quote_identifier(kSealTable) + " VALUES ('" + std::string(kSealMarker) + std::string(kSealDigits, '0') +
             "')",
         "writing the backup seal");
  c.exec("COMMIT", "writing the backup manifest");
}

Seal read_seal(Connection& c, const fs::path& file, const std::string& what) {
  const auto malformed = [&](const std::string& why) {
    return Failure(DBTOOL_ERR_DATA,
                   what + " has a malformed seal (" + why + "): it was changed or damaged; refusing it");
  };
  if (c.scalar_int("SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = '" + std::string(kSealTable) +
                   "'") == 0)
    throw malformed("no " + std::string(kSealTable) + " table");
  if (c.scalar_int("SELECT count(*) FROM " + quote_identifier(kSealTable)) != 1) throw malformed("not one row");
  const std::string recorded = c.scalar_text("SELECT seal FROM " + quote_identifier(kSealTable));
  const int64_t page =
      c.scalar_int("SELECT rootpage FROM sqlite_master WHERE name = '" + std::string(kSealTable) + "'");
  const int64_t page_size = c.scalar_int("PRAGMA page_size");
  if (recorded.size() != kSealMarker.size() + kSealDigits ||
      recorded.compare(0, kSealMarker.size(), kSealMarker) != 0 ||
      recorded.find_first_not_of("0123456789abcdef", kSealMarker.size()) != std::string::npos)
    throw malformed("not a hash");
  // The one row of a one-row table lies whole on its root page, a table leaf. Its cell is found
  // through the page's header (file format, "B-tree pages"), not by searching the page: the
  // page's free space may still hold an older seal's bytes.
  std::string bytes(static_cast<size_t>(page_size), '\0');
  int in = ::open(file.c_str(), O_RDONLY | O_CLOEXEC);
  if (in < 0) throw Failure(DBTOOL_ERR_IO, what + ": cannot open " + file.string() + ": " + std::strerror(errno));
  const ssize_t n = page < 2 ? -1 : ::pread(in, bytes.data(), bytes.size(), (page - 1) * page_size);
  ::close(in);
  if (n != page_size) throw malformed("its page cannot be read");
  const auto byte = [&](size_t at) { return static_cast<unsigned char>(at < bytes.size() ? bytes[at] : 0); };
  if (byte(0) != 0x0d || (byte(3) << 8 | byte(4)) != 1) throw malformed("its page is not a table leaf of one row");
  size_t at = static_cast<size_t>(byte(8) << 8 | byte(9));
  uint64_t payload = 0, rowid = 0, header = 0, type = 0;
  const size_t record = (read_varint(bytes, at, payload) && read_varint(bytes, at, rowid)) ? at : bytes.size();
  if (!read_varint(bytes, at, header) || !read_varint(bytes, at, type) || type != 13 + 2 * recorded.size() ||
      record + header + recorded.size() > bytes.size() ||
      bytes.compare(record + header, recorded.size(), recorded) != 0)
    throw malformed("not where its table says");
  at = record + header;
  Seal out;
  out.offset = (page - 1) * page_size + static_cast<int64_t>(at + kSealMarker.size());
  out.value = std::stoull(recorded.substr(kSealMarker.size()), nullptr, 16);
  return out;
}

void require_sealed_bytes(uint64_t hash, const Seal& seal, const std::string& what) {
  if (hash != seal.value)
    throw Failure(DBTOOL_ERR_DATA, what +
                                       " is not the file its seal recorded at backup time (its bytes changed since): "
                                       "it was changed or damaged; refusing it");
}

void write_seal(const fs::path& file, const Seal& seal, uint64_t hash) {
  char digits[kSealDigits + 1];
  std::snprintf(digits, sizeof digits, "%016llx", static_cast<unsigned long long>(hash));
  int out = ::open(file.c_str(), O_WRONLY | O_CLOEXEC | O_NOFOLLOW);
  if (out < 0)
    throw Failure(DBTOOL_ERR_IO, "cannot open the backup " + file.string() + " to seal it: " + std::strerror(errno));
  const ssize_t n = ::pwrite(out, digits, kSealDigits, seal.offset);
  const int err = errno;
  ::close(out);
  if (n != static_cast<ssize_t>(kSealDigits))
    throw Failure(DBTOOL_ERR_IO, "cannot seal the backup " + file.string() + ": " + std::strerror(n < 0 ? err : EIO));
}

std::optional<Manifest> read_manifest(Connection& c) {
  if (c.scalar_int("SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = '" +
                   std::string(kManifestTable) + "'") == 0)
    return std::nullopt;
  // Manifests written before digest version 2 have no digest_version column: FNV-1a, version 1.
  const bool versioned = c.scalar_int("SELECT count(*) FROM pragma_table_info('" + std::string(kManifestTable) +
                                      "') WHERE name = 'digest_version'") > 0;
  Manifest out;
  out.digest_version = versioned ? 0 : sdk::kDigestFnv1a;
  Statement st(c.get(), "SELECT table_name, row_count, checksum, " + std::string(versioned ? "digest_version" : "1") +
                            " FROM " + quote_identifier(kManifestTable));
  int rc;
  while ((rc = sqlite3_step(st.get())) == SQLITE_ROW) {
    const unsigned char* name = sqlite3_column_text(st.get(), 0);
    const unsigned char* sum = sqlite3_column_text(st.get(), 2);
    if (name == nullptr || sum == nullptr || sqlite3_column_type(st.get(), 1) != SQLITE_INTEGER ||
        sqlite3_column_type(st.get(), 3) != SQLITE_INTEGER)
      throw Failure(DBTOOL_ERR_DATA, "the backup's manifest is malformed");
    const int64_t version = sqlite3_column_int64(st.get(), 3);
    if (version != sdk::kDigestFnv1a && version != sdk::kDigestWide && version != kManifestSealed)
      throw Failure(DBTOOL_ERR_DATA, "the backup's manifest records its digests with version " +
                                         std::to_string(version) +
                                         ", which this dbtool does not know (made by a newer dbtool?)");
    if (out.digest_version != 0 && out.digest_version != version)
      throw Failure(DBTOOL_ERR_DATA, "the backup's manifest is malformed (its tables name different digest versions)");
    out.digest_version = static_cast<int>(version);
    out.tables[reinterpret_cast<const char*>(name)] = {sqlite3_column_int64(st.get(), 1),
                                                       reinterpret_cast<const char*>(sum)};
  }
  if (rc != SQLITE_DONE) fail(c.get(), rc, "reading the backup manifest");
  if (out.digest_version == 0) out.digest_version = sdk::kDigestWide;  // no tables: nothing was digested
  return out;
}

void match_manifest(const Contents& manifest, const Contents& found, const std::string& what) {
  if (manifest == found) return;
  throw Failure(DBTOOL_ERR_DATA, what + " does not hold what its manifest recorded at backup time (" +
                                     differences(manifest, found) + "): it was changed or damaged since; refusing it");
}

void copy_file_bytes(const fs::path& from, const fs::path& to, const std::string& what, uint64_t* bytes_hash,
                     int64_t mask_at) {
  int in = ::open(from.c_str(), O_RDONLY | O_CLOEXEC);
  if (in < 0) throw Failure(DBTOOL_ERR_IO, what + ": cannot open " + from.string() + ": " + std::strerror(errno));
  int out = ::open(to.c_str(), O_WRONLY | O_TRUNC | O_CLOEXEC | O_NOFOLLOW);
  if (out < 0) {
    int err = errno;
    ::close(in);
    throw Failure(DBTOOL_ERR_IO, what + ": cannot open " + to.string() + ": " + std::strerror(err));
  }
  struct stat st {};
  ::fstat(in, &st);
  const int64_t total = st.st_size;
  int64_t done = 0;
  std::string error;
  // Hashing the bytes means reading them here; otherwise the kernel copies them.
  bool in_kernel = bytes_hash == nullptr;
  sdk::WideHash hash;
  std::vector<char> buffer;
  while (done < total) {
    const size_t chunk = static_cast<size_t>(std::min<int64_t>(total - done, 64 << 20));
    // copy_file_range stays in the kernel (and shares extents on file systems that can); where
    // the file system does not offer it, read and write.
    ssize_t n = -1;
    if (in_kernel) {
      n = ::copy_file_range(in, nullptr, out, nullptr, chunk, 0);
      if (n < 0 && (errno == EXDEV || errno == ENOSYS || errno == EOPNOTSUPP || errno == EINVAL)) in_kernel = false;
    }
    if (!in_kernel) {
      buffer.resize(1 << 20);  // a multiple of eight: WideHash takes it piece by piece
      n = ::pread(in, buffer.data(), std::min(chunk, buffer.size()), done);
      if (n > 0 && bytes_hash) {
        if (n % 8 != 0 && done + n < total) {  // a short read: keep the pieces whole words
          n -= n % 8;
          if (n == 0) n = -1, errno = EIO;
        }
        if (n > 0) hash_piece(hash, buffer.data(), static_cast<size_t>(n), done, mask_at);
      }
      for (ssize_t w = 0, k; n > 0 && w < n; w += k)
        if ((k = ::pwrite(out, buffer.data() + w, static_cast<size_t>(n - w), done + w)) < 0) n = -1;
    }
    if (n <= 0) {
      error = n == 0 ? "the file ended early" : std::strerror(errno);
      break;
    }
    done += n;
    sdk::progress(what.c_str(), done, total);
    if (cancelled()) {
      error = "cancelled";
      break;
    }
  }
  ::close(in);
  ::close(out);
  if (bytes_hash) *bytes_hash = hash.get();
  if (error == "cancelled") throw Failure(DBTOOL_ERR_CANCELLED, what + ": cancelled");
  if (!error.empty()) throw Failure(DBTOOL_ERR_IO, what + ": cannot copy " + from.string() + ": " + error);
}

}  // namespace dbtool::sqlite
