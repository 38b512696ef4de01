// The set of keys seen so far in one JSON object (or one array of look-up keys), cleared and
// refilled for every record. Records have a handful of keys, where comparing against a short
// list beats hashing and allocates nothing once warm; a hostile record with 200k keys switches
// it to a hash set, so it costs 200k look-ups, not 200k² comparisons.
#pragma once

#include <string>
#include <string_view>
#include <unordered_set>
#include <vector>

namespace dbtool {

class KeySet {
 public:
  void clear() {
    size_ = 0;
    hashed_.clear();
  }
  // Adds `key`; false when it was already there.
  bool insert(std::string_view key) {
    if (size_ < kLinear) {
      for (size_t i = 0; i < size_; ++i)
        if (keys_[i] == key) return false;
      if (keys_.size() == size_) keys_.emplace_back();
      keys_[size_++].assign(key.data(), key.size());  // reuses the string's buffer
      return true;
    }
    if (hashed_.empty())
      for (size_t i = 0; i < size_; ++i) hashed_.insert(keys_[i]);
    if (!hashed_.insert(std::string(key)).second) return false;
    ++size_;
    return true;
  }

 private:
  static constexpr size_t kLinear = 32;
  std::vector<std::string> keys_;  // the first kLinear keys; entries past size_ are spare buffers
  size_t size_ = 0;
  std::unordered_set<std::string> hashed_;  // all keys, once there are more than kLinear
};

}  // namespace dbtool
