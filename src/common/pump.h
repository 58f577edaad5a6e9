#pragma once
// Copying a stream of unknown honesty: a source that announced a size may send less or more.
#include <cstddef>
#include <cstdint>
#include <functional>

#include "common/error.h"

namespace berth {

// Fills `buf` with up to `cap` bytes; 0 at the end.
using ReadFn = std::function<Result<size_t>(char* buf, size_t cap)>;
using WriteFn = std::function<Status(const char* data, size_t n)>;

// Copies from `read` to `write` in 1 MiB pieces until `read` returns 0, and returns how many bytes
// arrived. A source that sends more than `limit` is cut off: the piece that crosses the limit is
// not written, and the count returned is above `limit`. Errors: those of `read` and `write`.
Result<uint64_t> Pump(const ReadFn& read, uint64_t limit, const WriteFn& write);

}  // namespace berth
