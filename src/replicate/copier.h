#pragma once
// Copies images from a Source to a Destination (replicate/endpoints.h: any OCI distribution
// registry over client/, or this registry's own storage): only what the destination lacks. For
// each manifest: ask the destination for it (present: done, apart from its referrers); otherwise
// its children first (index), then each blob — present at the destination, else a
// cross-repository mount from a repository this run already copied it to, else a streamed upload
// (chunked for large blobs) — then the manifest bytes unchanged, so digests never change; then its
// referrers (signatures, SBOMs), recursively. Operations that fail because a side is down
// (transport errors, 5xx, 429) are retried with exponential back-off; a run that still fails
// reports which images failed, and the next run copies what is missing (nothing already copied is
// copied again).
//
// Limits: CopyOptions::bandwidth throttles every blob stream (shared by all copiers given the same
// one); Sync copies up to CopyOptions::concurrency images at once.
//
// Errors: as the sides return them; DIGEST_INVALID when source bytes do not match their digest;
// kCancelled once CopyOptions::cancel is set.
// Not thread-safe: one Copier per thread (Sync runs its own per worker).

#include <atomic>
#include <chrono>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "common/digest.h"
#include "common/error.h"
#include "replicate/bandwidth.h"
#include "replicate/endpoints.h"
#include "transfer/progress.h"
#include "transfer/snapshot.h"

namespace berth::replicate {

struct CopyOptions {
  bool dry_run = false;  // report what would be copied, copy nothing
  int attempts = 5;      // per operation, for errors that mean "down" (client::IsUpstreamDown)
  std::chrono::milliseconds backoff{500};  // doubled after each failed attempt
  transfer::Progress* progress = nullptr;
  Bandwidth* bandwidth = nullptr;  // null: unlimited
  int concurrency = 1;             // Sync: images copied at once
  std::string dest_prefix;         // Sync: prepended to each repository name at the destination
  const std::atomic<bool>* cancel = nullptr;  // set: stop at the next chunk or image
};

struct CopyStats {
  size_t tags = 0;             // tags copied (or, dry run, that would be)
  size_t tags_up_to_date = 0;  // the destination had the same digest already
  size_t manifests = 0;        // manifests pushed
  size_t blobs_copied = 0;
  size_t blobs_mounted = 0;
  size_t blobs_present = 0;
  uint64_t bytes = 0;
  std::vector<std::string> failures;  // "repo:tag: message" for Sync

  void Add(const CopyStats& other);
};

class Copier {
 public:
  Copier(Source& src, Destination& dst, CopyOptions options)
      : src_(src), dst_(dst), options_(std::move(options)) {}

  // src_repo:src_ref (tag or digest) to dst_repo:dst_ref (tag, or "" to push by digest).
  Status CopyImage(const std::string& src_repo, const std::string& src_ref,
                   const std::string& dst_repo, const std::string& dst_ref);
  // Every tag of every source repository the selection matches, to the same names (after
  // dest_prefix). Continues past a failing image (listed in stats().failures); fails only when the
  // source cannot be listed, the selection is invalid, or the run was cancelled.
  Status Sync(const transfer::Selection& selection);

  const CopyStats& stats() const { return stats_; }

 private:
  Status CopyManifest(const std::string& src_repo, const Digest& d, const std::string& dst_repo,
                      const std::string& tag, const std::string& media_type,
                      const std::string& bytes, int depth);
  Status CopyByDigest(const std::string& src_repo, const Digest& d, const std::string& dst_repo,
                      int depth);
  Status CopyReferrers(const std::string& src_repo, const Digest& d, const std::string& dst_repo,
                       int depth);
  Status CopyBlob(const std::string& src_repo, const Digest& d, uint64_t size,
                  const std::string& dst_repo);
  Result<Manifest> FetchVerified(const std::string& repo, const std::string& ref);
  Result<std::optional<Digest>> DestinationHas(const std::string& repo, const std::string& ref);
  bool Cancelled() const { return options_.cancel && options_.cancel->load(); }

  Source& src_;
  Destination& dst_;
  CopyOptions options_;
  CopyStats stats_;
  std::map<Digest, std::string> copied_to_;  // blob -> a destination repository that has it
};

// Runs `op` up to `attempts` times while it fails with an error that means the other side is down.
template <typename F>
auto WithRetries(int attempts, std::chrono::milliseconds backoff, F&& op) -> decltype(op());

}  // namespace berth::replicate

#include "replicate/retry_inl.h"
