#pragma once
// Names of enumerations, kept as data: one array per enumeration, indexed by the value. The
// enumerations this serves number their values 0..N-1 in declaration order; each caller checks
// with a static_assert that its array covers exactly the values it declares.
#include <array>
#include <cstddef>
#include <string_view>

namespace berth {

// names[value], or `otherwise` for a value outside the array (a cast from bad data).
template <typename E, std::size_t N>
constexpr std::string_view EnumName(E value, const std::array<std::string_view, N>& names,
                                    std::string_view otherwise) {
  const auto i = static_cast<std::size_t>(value);
  return i < N ? names[i] : otherwise;
}

}  // namespace berth
