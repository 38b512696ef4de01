// import_into_stage: the import engine's batches go straight into the backend stage.
#include "ops/import_load.hpp"

#include "import/export_import.hpp"
#include "import/record_mapper.hpp"
#include "ops/table_digest.hpp"
#include "ops/table_loaders.hpp"
#include "plugins/host_services.hpp"
#include "util/error.hpp"
#include "util/fault.hpp"
#include "util/private_file.hpp"

#include <optional>

namespace dbtool {

struct BegunImport::State {
  const Schema& schema;
  const ImportRun& run;
  ImportMapping mapping;
  // Rejected records carry password hashes: the file is owner-only and never a planted link.
  std::optional<PrivateFileStream> rejects;
  ImportOptions options;
  std::optional<ImportFeed> feed;  // last: stopped before what its worker uses goes
  State(const Schema& s, const ImportRun& r) : schema(s), run(r), mapping(load_mapping(r.mapping_file, s)) {}
};

BegunImport::BegunImport(const Schema& schema, const ImportRun& run) : s_(std::make_unique<State>(schema, run)) {
  s_->options.batch_rows = run.batch_rows;
  s_->options.default_password_hash = run.default_password_hash;
  if (run.reject_file) {
    s_->rejects.emplace(*run.reject_file, "reject file");
    s_->options.reject_sink = &*s_->rejects;
  }
  s_->feed.emplace(run.files, schema, s_->mapping, s_->options);
}

BegunImport::~BegunImport() = default;

LoadOutcome BegunImport::finish(const char* phase, const std::function<void(ImportBatch&)>& consume) {
  const Schema& schema = s_->schema;
  const ImportRun& run = s_->run;
  // Digested on the loading thread: with SQLite's multi-row inserts the parsing thread is the
  // one the run waits for, and the loader has time to spare between batches.
  std::map<std::string, TableDigest> digests;
  int64_t done = 0;
  ImportReport report = s_->feed->drain([&](ImportBatch&& b) {
    if (cancel_requested()) throw Error::untouched("cancelled while loading", ExitCode::kCancelled);
    const int64_t rows = b.array.a.length;
    if (const PortableTable* t = schema.find_table(b.table)) digests[b.table].add(*t, b.columns, b.array.a);
    consume(b);
    report_progress(phase, done += rows, -1);
  });
  end_progress();
  if (s_->rejects) {
    if (!s_->rejects->close()) throw Error("cannot write the reject file " + run.reject_file->string());
  }
  // Rejects are data not migrated: past the ceiling the run is a failure, not a summary line.
  const int64_t ceiling = run.max_rejects ? *run.max_rejects : (run.reject_file ? report.records_read / 100 : 0);
  if (report.records_rejected > ceiling)
    throw Error::untouched(std::to_string(report.records_rejected) + " of " + std::to_string(report.records_read) +
                               " records could not be mapped (see " + run.reject_file->string() + "), more than the " +
                               std::to_string(ceiling) + " --max-rejects allows" +
                               (run.max_rejects ? "" : " (1% by default)"),
                           ExitCode::kDataError);
  LoadOutcome out;
  for (const auto& [table, rows] : report.rows) out.expected_rows[table] = rows;
  for (const auto& [table, digest] : digests) out.checksums[table] = digest.checksum();
  boost::json::object imp = report.to_json();
  if (run.reject_file) imp["reject_file"] = run.reject_file->string();
  imp["max_rejects"] = ceiling;
  boost::json::array files;
  for (const auto& f : run.files) files.push_back(boost::json::value(f.string()));
  imp["files"] = std::move(files);
  out.details["import"] = std::move(imp);
  return out;
}

LoadOutcome BegunImport::into_stage(BackendStage& stage) {
  bool first = true;
  TableLoaders loaders(stage);
  LoadOutcome out = finish("load", [&](ImportBatch& b) {
    loaders.load(b.table, b.columns, std::move(b.array),
                 [table = b.table, first_record = b.first_record, last_record = b.last_record, file = b.file] {
                   return " (in the batch of " + table + " rows from records " + std::to_string(first_record) + "–" +
                          std::to_string(last_record) + " of " + file + ")";
                 });
    if (first) fault_point("mid-load");
    first = false;
  });
  loaders.finish();
  return out;
}

LoadOutcome BegunImport::without_loading() {
  return finish("map", [](ImportBatch&) {});
}

LoadOutcome import_into_stage(BackendStage& stage, const Schema& schema, const ImportRun& run) {
  return BegunImport(schema, run).into_stage(stage);
}

std::set<std::string> foreign_keys_the_import_builds(const Schema& schema, const ImportRun& run) {
  return foreign_keys_built_by(load_mapping(run.mapping_file, schema), schema);
}

LoadOutcome import_without_loading(const Schema& schema, const ImportRun& run) {
  return BegunImport(schema, run).without_loading();
}

}  // namespace dbtool
