#pragma once
// A fixed table of mutexes picked by hashing a key, for the few store operations that must not
// interleave on one name (a tag rewritten while it is removed; a manifest tagged while it is
// deleted). Operations on one key serialise; two keys that share a slot only wait for each other
// briefly. In process only: another process writing the same root is not excluded. Thread-safe.

#include <array>
#include <functional>
#include <mutex>
#include <string_view>

namespace berth::storage::fs {

class KeyLocks {
 public:
  // Locks the slot of the key (`scope`, `name`), e.g. (repository, tag).
  [[nodiscard]] std::unique_lock<std::mutex> Lock(std::string_view scope, std::string_view name) {
    size_t h = std::hash<std::string_view>{}(scope)*31 + std::hash<std::string_view>{}(name);
    return std::unique_lock(slots_[h % slots_.size()]);
  }

 private:
  std::array<std::mutex, 64> slots_;
};

}  // namespace berth::storage::fs
