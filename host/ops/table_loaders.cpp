#include "ops/table_loaders.hpp"

#include "ops/rebuild.hpp"
#include "util/bounded_queue.hpp"
#include "util/error.hpp"

#include <optional>
#include <thread>

namespace dbtool {

namespace {

// Batches queued per table: enough that a table's thread never waits for the caller between two
// batches, few enough that memory stays flat (a batch is a few thousand rows).
constexpr size_t kQueuedPerTable = 2;

struct Job {
  std::vector<sdk::ColumnSpec> columns;
  sdk::ArrayHolder batch;
  std::function<std::string()> context;
};

// `e` (a failure of loading one batch) with the batch's origin added; the stage is aborted after
// any such failure, so the target is untouched.
std::exception_ptr in_context(const Error& e, const std::function<std::string()>& context) {
  return std::make_exception_ptr(Error::untouched(std::string(e.what()) + context(), e.code()));
}

}  // namespace

struct TableLoaders::Lane {
  std::string table;
  BoundedQueue<Job> queue{kQueuedPerTable};
  std::thread thread;
};

TableLoaders::TableLoaders(BackendStage& stage) : stage_(stage), concurrent_(stage.takes_concurrent_loads()) {}

TableLoaders::~TableLoaders() { stop(); }

void TableLoaders::load(const std::string& table, const std::vector<sdk::ColumnSpec>& columns, sdk::ArrayHolder&& batch,
                        std::function<std::string()> context) {
  if (!concurrent_) {
    try {
      load_batch(stage_, table, columns, std::move(batch));
    } catch (const Error& e) {
      std::rethrow_exception(in_context(e, context));
    }
    return;
  }
  Lane* lane = nullptr;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (failure_) std::rethrow_exception(failure_);
    std::unique_ptr<Lane>& l = lanes_[table];
    if (!l) {
      l = std::make_unique<Lane>();
      l->table = table;
      l->thread = std::thread([this, p = l.get()] { run(*p); });
    }
    lane = l.get();
  }
  // False once a table's thread failed and abandoned every queue: its failure is the one to tell.
  if (!lane->queue.push(Job{columns, std::move(batch), std::move(context)})) rethrow();
}

void TableLoaders::run(Lane& lane) {
  while (std::optional<Job> job = lane.queue.pop()) {
    try {
      load_batch(stage_, lane.table, job->columns, std::move(job->batch));
    } catch (const Error& e) {
      fail(in_context(e, job->context));
      return;
    } catch (...) {
      fail(std::current_exception());
      return;
    }
  }
}

// Keeps the first failure and makes every other thread stop at its next batch: the stage is
// thrown away now, and whatever a thread is loading at this moment it finishes or fails on its
// own (a cancel interrupts it).
void TableLoaders::fail(std::exception_ptr e) {
  std::lock_guard<std::mutex> lock(mutex_);
  if (!failure_) failure_ = std::move(e);
  for (auto& [table, lane] : lanes_) halt(*lane);
}

void TableLoaders::rethrow() {
  stop();
  std::lock_guard<std::mutex> lock(mutex_);
  if (failure_) std::rethrow_exception(failure_);
  throw Error::untouched("internal error: a table's loader stopped without a failure");
}

void TableLoaders::finish() {
  for (auto& [table, lane] : lanes_) lane->queue.close();
  join();
  std::lock_guard<std::mutex> lock(mutex_);
  if (failure_) std::rethrow_exception(failure_);
}

// Drops what the lane has queued, refuses what comes, and ends its thread's wait for more.
void TableLoaders::halt(Lane& lane) {
  lane.queue.abandon();
  lane.queue.close();
}

void TableLoaders::stop() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    for (auto& [table, lane] : lanes_) halt(*lane);
  }
  join();
}

// Only the caller's thread adds lanes, and it is here: no lock needed to walk them.
void TableLoaders::join() {
  for (auto& [table, lane] : lanes_)
    if (lane->thread.joinable()) lane->thread.join();
}

}  // namespace dbtool
