// Feeding the import engine's batches into a backend stage: the bridge between host/import/
// (which knows the export and the mapping) and the backend (which knows the database).
#pragma once

#include "ops/rebuild.hpp"
#include "schema/schema.hpp"

#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

namespace dbtool {

struct ImportBatch;  // import/export_import.hpp

struct ImportRun {
  std::filesystem::path mapping_file;
  std::vector<std::filesystem::path> files;  // an export, then (optionally) the default data
  // The hash for users without one, asked for only when the first such user appears.
  std::function<std::optional<std::string>()> default_password_hash;
  std::optional<std::filesystem::path> reject_file;
  // The most records that may be rejected before the run fails and changes nothing; unset:
  // 1% of the records read with a reject file, none without.
  std::optional<int64_t> max_rejects;
  size_t batch_rows = 8192;
};

// Loads the files through the mapping into the stage and returns the rows each table should
// hold and the import report. Throws dbtool::Error (kDataError for unmappable records).
LoadOutcome import_into_stage(BackendStage& stage, const Schema& schema, const ImportRun& run);

// import_into_stage begun before its stage exists: the mapping loaded, the reject file open,
// the files read and mapped on a thread of their own into a small bounded queue (ImportFeed).
// A migration begins it once the run is confirmed and then backs up the target, so the first
// batches are ready when the stage opens. `schema` and `run` must outlive it; destroyed without
// into_stage, it stops the reading.
class BegunImport {
 public:
  BegunImport(const Schema& schema, const ImportRun& run);
  ~BegunImport();
  BegunImport(const BegunImport&) = delete;
  BegunImport& operator=(const BegunImport&) = delete;
  LoadOutcome into_stage(BackendStage& stage);  // once
  LoadOutcome without_loading();                // or this, once

 private:
  LoadOutcome finish(const char* phase, const std::function<void(ImportBatch&)>& consume);
  struct State;
  std::unique_ptr<State> s_;
};

// The foreign keys every row of this import satisfies by construction (foreign_keys_built_by:
// the mapping's parent and look-up links), default data included: what RebuildOptions::
// guaranteed_foreign_keys may hold for it.
std::set<std::string> foreign_keys_the_import_builds(const Schema& schema, const ImportRun& run);

// The same import with every record mapped, counted and digested but loaded nowhere (for plan
// and verify): the rows and checksums a run would load. A reject file is still written when
// `run` names one.
LoadOutcome import_without_loading(const Schema& schema, const ImportRun& run);

// The hash of the password given to users that have none: DBTOOL_DEFAULT_PASSWORD, else (when
// `builtin` is set) that built-in test password, else a no-echo prompt, else nullopt.
std::optional<std::string> default_password_hash(const char* builtin);

}  // namespace dbtool
