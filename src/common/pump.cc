#include "common/pump.h"

#include <vector>

namespace berth {

Result<uint64_t> Pump(const ReadFn& read, uint64_t limit, const WriteFn& write) {
  std::vector<char> buf(1 << 20);
  uint64_t total = 0;
  for (;;) {
    BERTH_ASSIGN_OR_RETURN(size_t n, read(buf.data(), buf.size()));
    if (n == 0) return total;
    total += n;
    if (total > limit) return total;
    BERTH_RETURN_IF_ERROR(write(buf.data(), n));
  }
}

}  // namespace berth
