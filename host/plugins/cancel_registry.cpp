// See cancel_registry.hpp.
#include "plugins/cancel_registry.hpp"

#include <utility>

namespace dbtool {

CancelRegistry::Registration& CancelRegistry::Registration::operator=(Registration&& o) noexcept {
  if (this != &o) {
    reset();
    registry_ = std::exchange(o.registry_, nullptr);
    id_ = o.id_;
  }
  return *this;
}

void CancelRegistry::Registration::reset() {
  if (registry_ != nullptr) std::exchange(registry_, nullptr)->remove(id_);
}

CancelRegistry::Registration CancelRegistry::add(std::function<void()> cancel) {
  std::lock_guard<std::mutex> lock(mutex_);
  const uint64_t id = next_id_++;
  entries_.emplace(id, Entry{std::move(cancel), false});
  return Registration(this, id);
}

void CancelRegistry::remove(uint64_t id) {
  // Blocks while cancel_all() is inside a cancel function: after this returns, no cancel of
  // this registration runs or will run.
  std::lock_guard<std::mutex> lock(mutex_);
  entries_.erase(id);
}

size_t CancelRegistry::cancel_all() {
  std::lock_guard<std::mutex> lock(mutex_);
  size_t called = 0;
  for (auto& kv : entries_) {
    Entry& entry = kv.second;
    if (entry.cancelled) continue;
    entry.cancelled = true;
    entry.cancel();
    ++called;
  }
  return called;
}

size_t CancelRegistry::size() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return entries_.size();
}

CancelRegistry& session_cancels() {
  static CancelRegistry* registry = new CancelRegistry;  // leaked on purpose, see the header
  return *registry;
}

}  // namespace dbtool
