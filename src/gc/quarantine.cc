#include "gc/quarantine.h"

namespace berth::gc {
namespace {

constexpr std::string_view kAside = "gc-quarantine";

}  // namespace

std::string AsidePath(const std::string& live) {
  auto slash = live.rfind('/');
  std::string_view base = std::string_view(live).substr(slash + 1);
  if ((base == "data" || base == "link") && slash != std::string::npos && slash > 0) {
    return live.substr(0, slash) + "." + std::string(kAside);
  }
  return live + "." + std::string(kAside);
}

std::optional<std::string> AsideOf(std::string_view name) {
  const std::string suffix = "." + std::string(kAside);
  if (name.size() <= suffix.size() || !name.ends_with(suffix)) return std::nullopt;
  return std::string(name.substr(0, name.size() - suffix.size()));
}

bool IsAsideName(std::string_view basename) {
  return basename == kAside || basename.ends_with("." + std::string(kAside));
}

Result<SweepOutcome> SweepOne(storage::driver::StorageDriver& driver, const std::string& live,
                              SystemTime young_after, const std::function<bool()>& still_needed) {
  const std::string aside = AsidePath(live);
  if (auto mv = driver.Move(live, aside); !mv) {
    if (IsMissing(mv.error())) return SweepOutcome::kGone;
    return std::unexpected(mv.error());
  }
  auto info = driver.Stat(aside);
  if (!info) return std::unexpected(info.error());
  if (info->mod_time > young_after || still_needed()) {
    BERTH_RETURN_IF_ERROR(driver.Move(aside, live));
    return SweepOutcome::kKept;
  }
  auto del = driver.Delete(aside);
  if (!del && !IsMissing(del.error())) return std::unexpected(del.error());
  return SweepOutcome::kDeleted;
}

Status RestoreAside(storage::driver::StorageDriver& driver, const std::string& live) {
  const std::string aside = AsidePath(live);
  auto st = driver.Stat(live);
  if (st) {
    auto del = driver.Delete(aside);
    if (!del && !IsMissing(del.error())) return del;
    return Ok();
  }
  if (!IsMissing(st.error())) return std::unexpected(st.error());
  auto mv = driver.Move(aside, live);
  if (!mv && !IsMissing(mv.error())) return mv;
  return Ok();
}

}  // namespace berth::gc
