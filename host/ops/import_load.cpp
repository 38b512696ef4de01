// import_into_stage: the import engine's batches go straight into the backend stage.
#include "ops/import_load.hpp"

#include "import/export_import.hpp"
#include "plugins/host_services.hpp"
#include "util/error.hpp"
#include "util/fault.hpp"
#include "util/private_file.hpp"

#include <optional>

namespace dbtool {

LoadOutcome import_into_stage(BackendStage& stage, const Schema& schema, const ImportRun& run) {
  ImportMapping mapping = load_mapping(run.mapping_file, schema);
  ImportOptions options;
  options.batch_rows = run.batch_rows;
  options.default_password_hash = run.default_password_hash;
  // Rejected records carry password hashes: the file is owner-only and never a planted link.
  std::optional<PrivateFileStream> rejects;
  if (run.reject_file) {
    rejects.emplace(*run.reject_file, "reject file");
    options.reject_sink = &*rejects;
  }
  bool first = true;
  ImportReport report = import_files(run.files, schema, mapping, options, [&](ImportBatch&& b) {
    if (cancel_requested()) throw Error("cancelled while loading; nothing was changed", ExitCode::kCancelled);
    try {
      load_batch(stage, b.table, b.columns, std::move(b.array));
    } catch (const Error& e) {
      throw Error(std::string(e.what()) + " (in the batch of " + b.table + " rows from records " +
                      std::to_string(b.first_record) + "–" + std::to_string(b.last_record) + " of " + b.file +
                      "); nothing was changed",
                  e.code());
    }
    if (first) fault_point("mid-load");
    first = false;
  });
  if (rejects) {
    if (!rejects->close()) throw Error("cannot write the reject file " + run.reject_file->string());
  }
  LoadOutcome out;
  for (const auto& [table, rows] : report.rows) out.expected_rows[table] = rows;
  boost::json::object imp = report.to_json();
  if (run.reject_file) imp["reject_file"] = run.reject_file->string();
  boost::json::array files;
  for (const auto& f : run.files) files.push_back(boost::json::value(f.string()));
  imp["files"] = std::move(files);
  out.details["import"] = std::move(imp);
  return out;
}

}  // namespace dbtool
