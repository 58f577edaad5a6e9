#pragma once
// Garbage collection of a registry's storage: mark, then sweep, with the grace period and leases
// that make it safe while `berth serve` uses the same storage (docs/gc.md has the protocol). The
// same function serves `berth garbage-collect` and the online job.
//
// Works on the driver and Distribution's layout (storage/paths.h) directly, so it collects trees
// written by Distribution as well as by Berth, in one streaming pass over repositories and one over
// blobs; memory grows with the number of digests kept (32 bytes each, gc/digest_set.h) and with the
// largest repository's manifest count, never with blob sizes.
//
// Phases:
//   1. leases: which digests were used within the grace period (gc/lease.h);
//   2. mark, per repository: tags, revisions (and their content), referrers; with
//      delete_untagged, revisions not kept (gc/reachability.h) are deleted, each by the aside
//      protocol (gc/quarantine.h): its revision link, referrers-index entry and tag-history
//      entries;
//   3. links: per repository, a listing of the links (`_layers`) to digests nothing marked;
//   4. sweep blobs: data neither marked, nor younger than the grace period, nor leased, nor linked
//      within the grace period (the age of its links is read now, for these blobs only) is deleted
//      by the aside protocol, re-checking the lease after the rename; a marked blob costs nothing
//      past its prefix directory's listing (which also shows anything an interrupted run left
//      aside: gc/quarantine.h);
//   5. with remove_links: repository links to blobs deleted now or before are removed the same
//      way (by default they stay, as Distribution leaves them: a read through a link checks the
//      blob data, and each removal frees one more file);
//   6. leases older than the grace period are removed.
// Empty directories are left. Upload sessions are not touched (the upload-purge job owns them); an
// upload needs no stored blob until its commit, which takes a lease.
//
// Thread-safe: concurrent runs (another process's included) are safe with each other; one may then
// keep what the other would have deleted.

#include <chrono>
#include <cstdint>
#include <functional>
#include <string_view>

#include "common/error.h"
#include "common/time.h"
#include "storage/driver/driver.h"

namespace berth::gc {

struct CollectOptions {
  bool dry_run = false;          // decide and report, delete nothing
  bool delete_untagged = false;  // Distribution's --delete-untagged
  std::chrono::nanoseconds grace_period = std::chrono::hours(1);
  // Threads marking repositories and sweeping blob prefixes at once (1: all on the caller's).
  size_t parallelism = 8;
  // Also remove the repository links (`_layers/<alg>/<hex>/link`) of blobs that are gone.
  bool remove_links = false;
};

struct CollectStats {
  size_t repositories = 0;
  size_t manifests = 0;          // revisions seen
  size_t manifests_deleted = 0;  // (dry run: that would be)
  size_t blobs =
      0;  // blobs seen (layers, configs, manifests): marked digests listed, others stored
  size_t blobs_marked = 0;   // distinct digests a kept manifest needs
  size_t blobs_young = 0;    // unmarked but kept: young, leased, or linked within the grace period
  size_t blobs_deleted = 0;  // (dry run: that would be)
  uint64_t bytes_freed = 0;  // (dry run: that would be)
  size_t links_deleted = 0;  // repository links to deleted blobs (remove_links only)
  size_t leases_deleted = 0;
  size_t errors = 0;  // objects skipped after a storage error (logged, kept)
  std::chrono::nanoseconds duration{0};
};

// What the command line shows. Calls are serialised (never two at once), but may come from any of
// the collection's threads.
class Progress {
 public:
  virtual ~Progress() = default;
  // A phase starts: "mark", "links" (total = repositories), "sweep" (total = blob prefix
  // directories), "dangling links" (remove_links only; total = repositories).
  virtual void Phase(std::string_view name, size_t total) {}
  virtual void Step(size_t done) {}
  // `kind` is "manifest" (what = "repo@digest") or "blob" (what = digest, bytes = its size).
  virtual void Deleted(std::string_view kind, std::string_view what, uint64_t bytes) {}
};

// Runs one collection. `stop`, when set and true, ends it early (between repositories or prefixes);
// what is done stays done; it is called from the collection's threads, concurrently. Errors: kIo
// when the storage cannot be listed at all; failures on single objects are counted in `errors` and
// the object kept.
Result<CollectStats> Collect(storage::driver::StorageDriver& driver, const Clock& clock,
                             const CollectOptions& options, Progress* progress = nullptr,
                             const std::function<bool()>& stop = nullptr);

}  // namespace berth::gc
