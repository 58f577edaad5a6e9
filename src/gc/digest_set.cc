#include "gc/digest_set.h"

#include <algorithm>
#include <cassert>

namespace berth::gc {
namespace {

uint8_t Nibble(char c) {
  if (c >= '0' && c <= '9') return static_cast<uint8_t>(c - '0');
  if (c >= 'a' && c <= 'f') return static_cast<uint8_t>(c - 'a' + 10);
  return 0;
}

}  // namespace

DigestKey KeyOf(const Digest& d) {
  DigestKey k{};
  const std::string& hex = d.hex();
  for (size_t i = 0; i < k.size() && 2 * i + 1 < hex.size(); ++i) {
    k[i] = static_cast<uint8_t>(Nibble(hex[2 * i]) << 4 | Nibble(hex[2 * i + 1]));
  }
  return k;
}

void DigestSet::Add(const DigestKey& k) {
  keys_.push_back(k);
  sealed_ = false;
}

void DigestSet::Seal() {
  std::sort(keys_.begin(), keys_.end());
  keys_.erase(std::unique(keys_.begin(), keys_.end()), keys_.end());
  keys_.shrink_to_fit();
  sealed_ = true;
}

bool DigestSet::Contains(const DigestKey& k) const {
  assert(sealed_);
  return std::binary_search(keys_.begin(), keys_.end(), k);
}

}  // namespace berth::gc
