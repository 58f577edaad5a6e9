#pragma once
// Repository-name globs, one syntax for every feature that selects repositories by pattern (the
// token service's access policy, retention and immutability rules).
//
// A glob matches a whole repository name: `*` matches any run of characters, '/' included; `?`
// matches one character; everything else matches itself. So `app/*` matches `app/x` and `app/x/y`
// but not `app`, and `*` matches every repository. Callers validate names first
// (common/names.h), so a name like `app/../x` never reaches a match. Thread-safe (pure function).

#include <string_view>

namespace berth {

bool GlobMatch(std::string_view pattern, std::string_view name);

}  // namespace berth
