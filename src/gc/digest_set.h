#pragma once
// A compact set of digests for garbage collection's mark phase: each digest is kept as 32 raw bytes
// (the first 32 bytes of its hash; a sha512 digest is keyed by its first half, which can only make
// the collector keep something), in a vector that is sorted once after the last Add. A million
// digests take 32 MB, with no per-entry allocation.
//
//   DigestSet marked;
//   marked.Add(d);          // while marking, any order, duplicates fine
//   marked.Seal();          // sort + dedupe, once
//   marked.Contains(d);     // binary search; only after Seal
//
// Not thread-safe.

#include <array>
#include <cstdint>
#include <vector>

#include "common/digest.h"

namespace berth::gc {

using DigestKey = std::array<uint8_t, 32>;

// The key of `d` (hex decoded; a malformed hex digit decodes as 0, since digests reaching here were
// parsed).
DigestKey KeyOf(const Digest& d);

class DigestSet {
 public:
  void Add(const Digest& d) { Add(KeyOf(d)); }
  void Add(const DigestKey& k);
  // Sorts and removes duplicates; Add after Seal needs another Seal.
  void Seal();
  bool Contains(const Digest& d) const { return Contains(KeyOf(d)); }
  bool Contains(const DigestKey& k) const;
  size_t size() const { return keys_.size(); }

 private:
  std::vector<DigestKey> keys_;
  bool sealed_ = true;
};

}  // namespace berth::gc
