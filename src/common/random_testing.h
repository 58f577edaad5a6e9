#pragma once
// For tests that feed parsers random input: strings drawn from an alphabet biased toward the
// grammar under test, reproducible from the generator's seed. Test-only (header-only).

#include <random>
#include <string>
#include <string_view>

namespace berth {

// A string of 0 to max_len - 1 characters, each drawn uniformly from `alphabet`.
inline std::string RandomString(std::mt19937& rng, std::string_view alphabet, size_t max_len) {
  std::string s(rng() % max_len, ' ');
  for (char& c : s) c = alphabet[rng() % alphabet.size()];
  return s;
}

}  // namespace berth
