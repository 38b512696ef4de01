// Loading a stage one table per thread, where the backend takes concurrent loads.
#pragma once

#include "plugins/backend.hpp"

#include <dbtool/sdk/arrow.hpp>

#include <exception>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace dbtool {

// Hands batches to a stage. For a backend announcing DBTOOL_CAP_CONCURRENT_LOAD (ABI 1.4) each
// table gets a thread of its own with a short queue, so a server that gives each connection a
// core loads the tables side by side while the caller reads on; for any other backend each batch
// is loaded at once on the caller's thread. A table's batches keep their order either way.
class TableLoaders {
 public:
  explicit TableLoaders(BackendStage& stage);
  ~TableLoaders();  // stops every thread (dropping what is queued) and waits for them
  TableLoaders(const TableLoaders&) = delete;
  TableLoaders& operator=(const TableLoaders&) = delete;

  // Loads `batch` into `table`, now or on the table's thread. `context` is added to a failure's
  // message: where the batch came from. Throws the first failure of any table, wherever it
  // happened; after one, nothing more is loaded.
  void load(const std::string& table, const std::vector<sdk::ColumnSpec>& columns, sdk::ArrayHolder&& batch,
            std::function<std::string()> context);
  // Waits until every batch is loaded; throws the first failure.
  void finish();

 private:
  struct Lane;
  void run(Lane& lane);
  void fail(std::exception_ptr e);
  void halt(Lane& lane);
  void stop();
  void join();
  [[noreturn]] void rethrow();

  BackendStage& stage_;
  const bool concurrent_;
  std::mutex mutex_;
  std::exception_ptr failure_;                          // the first, under mutex_
  std::map<std::string, std::unique_ptr<Lane>> lanes_;  // added under mutex_, by the caller's thread
};

}  // namespace dbtool
