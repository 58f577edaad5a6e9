#pragma once
// Berth's version. CMake checks at configure time that it equals project(VERSION ...) in the top
// CMakeLists.txt, so the two cannot drift apart.

#include <string_view>

namespace berth {

inline constexpr std::string_view kVersion = "0.1.0";

}  // namespace berth
