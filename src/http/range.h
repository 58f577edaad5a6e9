#pragma once
// Byte ranges: the `Range` request header of blob GETs and the `Content-Range` header of upload
// PATCHes. Pure functions, safe on any input (fuzzed). Thread-safe.

#include <cstdint>
#include <optional>
#include <string_view>

#include "common/error.h"

namespace berth::http {

struct ByteRange {
  uint64_t first = 0;
  uint64_t last = 0;  // inclusive
  uint64_t length() const { return last - first + 1; }
};

// RFC 9110 single-range `Range: bytes=first-last | bytes=first- | bytes=-suffix` against an object
// of `size` bytes. Returns nullopt when the header should be ignored (absent, another unit, several
// ranges, or syntax the RFC says to ignore) and the whole object is served; kRangeInvalid when the
// range is syntactically fine but not satisfiable (416).
Result<std::optional<ByteRange>> ParseRange(std::string_view header, uint64_t size);

// Upload `Content-Range`, as clients send it: "first-last" (the distribution-spec form), also
// "bytes first-last/total", "bytes first-last/*" and "bytes=first-last". kRangeInvalid on anything
// else or when last < first.
Result<ByteRange> ParseContentRange(std::string_view header);

}  // namespace berth::http
