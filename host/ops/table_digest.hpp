// A cheap, portable fingerprint of a table's content: rows and a checksum that do not depend on
// row order or on the backend, so the batches the importer loads, a SQLite file and a MySQL
// database holding the same rows all give the same digest. Used to record a run, to say what
// drifted since (`status`) and to compare a source with the live database (`verify`).
#pragma once

#include "plugins/backend.hpp"
#include "schema/schema.hpp"

#include <dbtool/sdk/arrow.hpp>
#include <dbtool/sdk/digest.hpp>

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace dbtool {

// Each row is the schema's columns in schema order, each value by its portable type, hashed as
// sdk/digest.hpp says (the one row hash the SQLite backend's backup manifest uses too); the
// checksum is the order-free sum of the row hashes. Not cryptographic: it catches changed,
// added and lost rows, not a deliberate forgery.
class TableDigest {
 public:
  // Adds every row of `batch`, whose columns are `columns` (matched to `table` by name; a
  // schema column the batch lacks counts as NULL, a batch column the schema lacks is ignored).
  void add(const PortableTable& table, const std::vector<sdk::ColumnSpec>& columns, const ArrowArray& batch);
  int64_t rows() const { return digest_.rows(); }
  std::string checksum() const { return digest_.checksum(); }  // 16 hex digits

 private:
  sdk::ContentDigest digest_;
  // Scratch for add, kept from batch to batch so that its buffers grow once, not per batch.
  sdk::CanonicalRows rows_;
  std::vector<uint64_t> hashes_;
};

// The digests of the live tables `schema` names that `session` holds (read through read_table),
// and the column names each holds, for drift reports.
struct LiveTable {
  TableDigest digest;
  std::vector<std::string> columns;
};
std::map<std::string, LiveTable> digest_live_tables(BackendSession& session, const Schema& schema,
                                                    const std::vector<std::string>& tables);

}  // namespace dbtool
