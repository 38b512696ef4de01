// Ctrl-C reaching the backends. A session whose backend can interrupt its running call
// (DBTOOL_CAP_CANCEL and the `cancel` slot) is registered here while it is open; when SIGINT or
// SIGTERM arrives, the watcher thread that install_cancel_handler() starts (never the signal
// handler: a plugin's cancel opens connections and takes locks, nothing async-signal-safe) calls
// cancel_all() on the process's registry.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>

namespace dbtool {

class CancelRegistry {
 public:
  // Keeps a cancel function registered for its lifetime. Its destructor waits until a cancel
  // running on another thread has returned, so the object the function refers to may be
  // destroyed right after it.
  class Registration {
   public:
    Registration() = default;
    Registration(Registration&& o) noexcept : registry_(o.registry_), id_(o.id_) { o.registry_ = nullptr; }
    Registration& operator=(Registration&& o) noexcept;
    Registration(const Registration&) = delete;
    Registration& operator=(const Registration&) = delete;
    ~Registration() { reset(); }
    void reset();

   private:
    friend class CancelRegistry;
    Registration(CancelRegistry* registry, uint64_t id) : registry_(registry), id_(id) {}
    CancelRegistry* registry_ = nullptr;
    uint64_t id_ = 0;
  };

  CancelRegistry() = default;
  CancelRegistry(const CancelRegistry&) = delete;
  CancelRegistry& operator=(const CancelRegistry&) = delete;

  // `cancel` is called at most once, from the thread that runs cancel_all(), never after the
  // Registration is gone. It must not throw.
  [[nodiscard]] Registration add(std::function<void()> cancel);

  // Calls the cancel function of every registration that has not been cancelled yet, one after
  // the other, holding the registry's lock throughout. Returns how many it called.
  size_t cancel_all();

  size_t size() const;

 private:
  struct Entry {
    std::function<void()> cancel;
    bool cancelled = false;
  };
  void remove(uint64_t id);

  mutable std::mutex mutex_;
  std::map<uint64_t, Entry> entries_;  // guarded by mutex_
  uint64_t next_id_ = 1;               // guarded by mutex_
};

// The registry of the process, which the Ctrl-C watcher sweeps. Never destroyed, so the watcher
// may still reach it while the process exits.
CancelRegistry& session_cancels();

}  // namespace dbtool
