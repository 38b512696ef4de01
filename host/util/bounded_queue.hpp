// The hand-over between a producer thread and the thread that loads (the export importer's
// parser, the database source's reader): a queue of a few items that blocks the producer when
// full, so memory stays bounded whatever the input's size, and that either side can end.
#pragma once

#include <condition_variable>
#include <cstddef>
#include <deque>
#include <mutex>
#include <optional>

namespace dbtool {

template <class T>
class BoundedQueue {
 public:
  explicit BoundedQueue(size_t capacity) : capacity_(capacity < 1 ? 1 : capacity) {}

  // Waits for room; false when the consumer gave up (the item is dropped).
  bool push(T&& item) {
    std::unique_lock<std::mutex> lock(m_);
    cv_.wait(lock, [&] { return q_.size() < capacity_ || abandoned_; });
    if (abandoned_) return false;
    q_.push_back(std::move(item));
    cv_.notify_all();
    return true;
  }

  // Waits for an item; nullopt once the producer closed the queue and it is empty.
  std::optional<T> pop() {
    std::unique_lock<std::mutex> lock(m_);
    cv_.wait(lock, [&] { return !q_.empty() || closed_; });
    if (q_.empty()) return std::nullopt;
    T item = std::move(q_.front());
    q_.pop_front();
    cv_.notify_all();
    return item;
  }

  // The producer is done (or failed): pop drains what is queued, then returns nullopt.
  void close() {
    std::lock_guard<std::mutex> lock(m_);
    closed_ = true;
    cv_.notify_all();
  }

  // The consumer gives up: queued items are dropped and every push from now on fails.
  void abandon() {
    std::deque<T> dropped;
    {
      std::lock_guard<std::mutex> lock(m_);
      abandoned_ = true;
      dropped.swap(q_);
      cv_.notify_all();
    }
  }

 private:
  std::mutex m_;
  std::condition_variable cv_;
  std::deque<T> q_;
  size_t capacity_;
  bool closed_ = false;
  bool abandoned_ = false;
};

}  // namespace dbtool
