#pragma once
// How the collector deletes anything a concurrent use may still revive (blob data, repository
// links, revision links, leases): never by deleting the live path. It renames the object aside
// (atomic), then checks whether it is still needed (its own modification time, a lease, data that
// reappeared), and either puts it back or deletes the renamed copy. A use that rewrote the live
// path after the rename is therefore never undone, and a use that read it before the rename left a
// lease the check sees (gc/lease.h). A crash between the two steps leaves the copy aside; the next
// collection puts it back (RestoreAside) before deciding again.
//
// Thread-safe (driver calls only).

#include <functional>
#include <optional>
#include <string>

#include "common/error.h"
#include "common/time.h"
#include "storage/driver/driver.h"

namespace berth::gc {

// The name an object is renamed to while it is checked. A `data` or `link` file is alone in a
// directory named after its digest (`.../<hex>/data`); its aside is that directory's name plus
// ".gc-quarantine", one level up (`.../<hex>.gc-quarantine`), so the listing of the digests that
// the collector reads anyway shows every object left aside, and nothing under a digest directory
// has to be read to find one. Anything else: "<path>.gc-quarantine".
std::string AsidePath(const std::string& live);
bool IsAsideName(std::string_view basename);
// The directory (digest) name an aside stands for: "<hex>" for "<hex>.gc-quarantine"; nullopt for
// any other name.
std::optional<std::string> AsideOf(std::string_view name);

// A driver error meaning the path is absent.
inline bool IsMissing(const Error& e) { return e.code == ErrorCode::kNotFound; }

enum class SweepOutcome { kDeleted, kKept, kGone };

// Renames `live` aside; keeps it (renames it back) when its modification time is after
// `young_after` or `still_needed()` says so; otherwise deletes the renamed copy. kGone when `live`
// was already absent. Errors: kIo from the driver (the object is then back in place, or aside for
// the next run's RestoreAside).
Result<SweepOutcome> SweepOne(storage::driver::StorageDriver& driver, const std::string& live,
                              SystemTime young_after, const std::function<bool()>& still_needed);

// Puts an object left aside by an interrupted sweep back (when `live` is absent) or drops the copy
// (when `live` exists again).
Status RestoreAside(storage::driver::StorageDriver& driver, const std::string& live);

}  // namespace berth::gc
