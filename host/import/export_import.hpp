// The import engine: streams legacy export files (JSON arrays of records, any size) through an
// ImportMapping into Arrow batches per table, with bounded memory. Parsing runs on a worker
// thread; batches reach the caller's sink on the calling thread through a small bounded queue,
// so parsing and loading overlap.
#pragma once

#include "import/import_mapping.hpp"

#include <dbtool/sdk/arrow.hpp>

#include <boost/json.hpp>

#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <ostream>
#include <string>
#include <vector>

namespace dbtool {

struct ImportBatch {
  std::string table;
  std::vector<sdk::ColumnSpec> columns;  // the table's full column list
  sdk::ArrayHolder array;
  int64_t first_record = 0;  // index (in its file) of the first record with a row here
  int64_t last_record = 0;
  std::string file;
};

struct ImportOptions {
  size_t batch_rows = 8192;
  // Gives the hash for records without one; asked once, at the first such record (it may
  // prompt). Unset, or returning nullopt: such a record cannot be mapped.
  std::function<std::optional<std::string>()> default_password_hash;
  // Where unmappable records go (one JSON line each). Null: the first one stops the import.
  std::ostream* reject_sink = nullptr;
  size_t queue_batches = 4;
};

inline constexpr size_t kUnknownFieldsListed = 100;

struct ImportReport {
  int64_t records_read = 0;
  int64_t records_loaded = 0;
  int64_t records_rejected = 0;
  int64_t records_skipped = 0;  // a later file's record whose key an earlier file loaded
  int64_t default_password_users = 0;
  int64_t duplicate_nested = 0;         // the same look-up key twice in one record: kept once
  std::map<std::string, int64_t> rows;  // per table
  // "field" or "sections.field": the first kUnknownFieldsListed names, each counted exactly;
  // occurrences of any further name are only counted, so hostile input cannot grow the report
  // (and the history row that keeps it).
  std::map<std::string, int64_t> unknown_fields;
  int64_t unknown_fields_not_listed = 0;
  std::map<std::string, int64_t> when_missing;  // records that lacked the field and got the mapping's value
  boost::json::object to_json() const;
};

// Imports `files` in order (an export, then default data), sharing look-up dictionaries and
// the id counter. Throws dbtool::Error: kDataError for a bad record without a reject sink
// ("record 12 (uid u0000011) of FILE: field 'uid': expected a string, got a number"), for
// malformed JSON ("bad JSON at byte N"); whatever the sink throws is rethrown after the
// worker stopped.
ImportReport import_files(const std::vector<std::filesystem::path>& files, const Schema& schema,
                          const ImportMapping& mapping, const ImportOptions& options,
                          const std::function<void(ImportBatch&&)>& sink);

// import_files begun ahead of its sink: the worker starts reading and mapping when the feed is
// made, and fills the bounded queue while the caller does something else (a migration backs up
// its target meanwhile), so the first batches are ready when drain is called. `schema`,
// `mapping` and `options` (and what it points to) must outlive the feed. Destroyed without
// being drained, it stops the worker.
class ImportFeed {
 public:
  ImportFeed(std::vector<std::filesystem::path> files, const Schema& schema, const ImportMapping& mapping,
             const ImportOptions& options);
  ~ImportFeed();
  ImportFeed(const ImportFeed&) = delete;
  ImportFeed& operator=(const ImportFeed&) = delete;
  // Hands every batch to `sink` on this thread; then, as import_files, the report or the error.
  // Once only.
  ImportReport drain(const std::function<void(ImportBatch&&)>& sink);

 private:
  struct Worker;
  std::unique_ptr<Worker> w_;
};

}  // namespace dbtool
