#pragma once
// A counting decorator over every storage service (storage/registry.h), for API tests that check
// which store calls a request makes. Built on the forwarding bases of storage/wrappers.h: each
// override counts "<Service>.<Method>" and forwards. Thread-safe.

#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "storage/wrappers.h"

namespace berth::testing {

class CallCounts {
 public:
  void Add(const std::string& name) {
    std::lock_guard lock(mu_);
    ++counts_[name];
  }
  int Get(const std::string& name) const {
    std::lock_guard lock(mu_);
    auto it = counts_.find(name);
    return it == counts_.end() ? 0 : it->second;
  }
  std::map<std::string, int> All() const {
    std::lock_guard lock(mu_);
    return counts_;
  }
  void Reset() {
    std::lock_guard lock(mu_);
    counts_.clear();
  }

 private:
  mutable std::mutex mu_;
  std::map<std::string, int> counts_;  // Guarded by mu_.
};

// Wraps `inner`; every call through it (and through the services it hands out) is counted in
// `counts`, which must outlive it.
storage::NamespacePtr NewCountingNamespace(storage::NamespacePtr inner, CallCounts& counts);

}  // namespace berth::testing
