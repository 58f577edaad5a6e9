#pragma once
// Single-flight blob fetches for the pull-through cache.
//
// The first request for an uncached blob starts one fetch on a thread of its own: it reads the
// upstream's body straight into 1 MiB chunks in memory; a second thread writes each full chunk
// into an ordinary upload session of the local repository, which hashes it on the way; at the end
// the session is committed through the local stores' upload machinery (the digest checked against
// that running hash without reading the file back, published atomically, linked into the
// repository). Every request for the same digest from the same upstream while the fetch runs
// joins it instead of fetching again (from another mirrored repository only after the upstream
// confirms with a HEAD that this repository has the blob; it is then linked there too), and
// follows it: bytes still in memory come from the chunks (a fetch holds at most its window, 8 MiB
// by default: a disk slower than that holds the fetch back), older ones from the session's file
// (storage/paths.h's UploadData), and once the fetch commits, from the published blob; a request
// arriving when every byte is in waits for the commit and is served as a cached blob. So:
//   - one upstream GET per digest however many clients wait (the 21 requests registry:2 made for
//     20 clients become one);
//   - clients get bytes as they arrive, without waiting for the disk or the digest check (they
//     check digests themselves; the cache keeps only verified content);
//   - a client that leaves only drops its reader: the fetch goes on for the others and the cache;
//   - a fetch that breaks (upstream gone, short body, disk full, digest mismatch) cancels the
//     session, so nothing is cached; its readers get an error; the next request starts a new fetch.
//
// Thread-safety: all methods are thread-safe. Readers block on a condition variable (on the HTTP
// server's blocking pool, never an event loop) with a bound (`stall_timeout`) on waiting for bytes.

#include <chrono>
#include <condition_variable>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <utility>

#include "proxy/upstreams.h"
#include "storage/registry.h"

namespace berth::proxy {

class BlobFetcher {
 public:
  // `local` is the wrapped (cache) namespace; `driver` the driver under it (to tail session data).
  // At most `max_fetches` fetches run at once (each on a thread of its own, plus its file
  // writer); further ones queue in arrival order and start as running ones end, their clients
  // waiting (up to `stall_timeout` for the upstream's answer) rather than being refused. Each
  // fetch holds at most `window_bytes` (whole MiB, at least one) of the upstream's bytes in
  // memory: how far it may run ahead of the disk, and what waiting clients are served from.
  BlobFetcher(storage::Namespace& local, storage::driver::StorageDriverPtr driver,
              std::chrono::milliseconds stall_timeout = std::chrono::milliseconds(120'000),
              size_t max_fetches = kDefaultMaxFetches,
              uint64_t window_bytes = kDefaultFetchWindow);
  // Stops running fetches (they cancel their sessions) and joins their threads.
  ~BlobFetcher();
  BlobFetcher(const BlobFetcher&) = delete;
  BlobFetcher& operator=(const BlobFetcher&) = delete;

  // Joins or starts the fetch of `d` into `repo` from `m`, and waits for the upstream's answer:
  // the blob's size, or the upstream's error (BLOB_UNKNOWN, UNAVAILABLE...).
  Result<storage::BlobInfo> Stat(const Match& m, std::string_view repo, const Digest& d);
  // As Stat, then a reader from `offset` that follows the fetch (or the published blob).
  Result<storage::driver::ReaderPtr> Open(const Match& m, std::string_view repo, const Digest& d,
                                          uint64_t offset);

  // Fetches running or queued, and fetch threads alive (tests).
  size_t running() const;
  size_t threads() const;

  struct Fetch;  // blob_fetcher.cc

 private:
  // The running fetch of `d` from m's upstream, or a new one for `repo`; `*other_repo` when the
  // running one is another repository's that `repo` has not joined yet.
  std::shared_ptr<Fetch> Join(const Match& m, std::string_view repo, const Digest& d,
                              bool* other_repo);
  // Join, confirming upstream (HEAD) first when the fetch is another repository's.
  Result<std::shared_ptr<Fetch>> Acquire(const Match& m, std::string_view repo, const Digest& d);
  void Run(std::shared_ptr<Fetch> f, Match m);
  // Removes `f` from running_ unless a newer fetch took its key. mu_ held.
  void Forget(const std::shared_ptr<Fetch>& f);
  static void WriteChunks(Fetch& f, storage::UploadWriter& session);

  storage::Namespace& local_;
  storage::driver::StorageDriverPtr driver_;
  std::chrono::milliseconds stall_timeout_;
  mutable std::mutex mu_;
  std::condition_variable idle_;
  // By upstream and digest: one fetch however many repositories of that upstream ask (each one
  // but the first after the upstream confirms it has the blob). Guarded by mu_.
  std::map<std::string, std::shared_ptr<Fetch>> running_;
  const size_t max_fetches_;
  const size_t window_chunks_;  // chunks (of 1 MiB) a fetch may hold
  // Fetches waiting for a thread, oldest first. Guarded by mu_.
  std::deque<std::pair<std::shared_ptr<Fetch>, Match>> queue_;
  size_t threads_ = 0;     // fetch threads alive (detached; the destructor waits). Guarded by mu_.
  bool stopping_ = false;  // Guarded by mu_.
};

}  // namespace berth::proxy
