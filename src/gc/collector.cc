#include "gc/collector.h"

#include <algorithm>
#include <atomic>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "common/log.h"
#include "gc/digest_set.h"
#include "gc/lease.h"
#include "gc/quarantine.h"
#include "gc/reachability.h"
#include "storage/manifest.h"
#include "storage/paths.h"

namespace berth::gc {
namespace {

namespace paths = storage::paths;
using storage::driver::FileInfo;
using storage::driver::StorageDriver;

std::string_view BaseName(std::string_view path) { return path.substr(path.rfind('/') + 1); }

// The last `n` components of `path` (fewer when it has fewer).
std::vector<std::string_view> Tail(std::string_view path, size_t n) {
  std::vector<std::string_view> out;
  while (out.size() < n && !path.empty()) {
    auto slash = path.rfind('/');
    out.push_back(path.substr(slash + 1));
    if (slash == std::string_view::npos) break;
    path = path.substr(0, slash);
  }
  std::reverse(out.begin(), out.end());
  return out;
}

std::optional<Digest> DigestOf(std::string_view alg, std::string_view hex) {
  auto d = Digest::Parse(std::string(alg) + ":" + std::string(hex));
  if (!d) return std::nullopt;
  return *d;
}

struct LinkFile {
  Digest digest;
  std::string path;
  SystemTime mtime;
};

class Run {
 public:
  Run(StorageDriver& driver, const Clock& clock, const CollectOptions& options, Progress* progress,
      std::function<bool()> stop)
      : driver_(driver),
        options_(options),
        progress_(progress ? *progress : no_progress_),
        stop_(std::move(stop)),
        young_after_(clock.Now() -
                     std::chrono::duration_cast<SystemTime::duration>(options.grace_period)) {}

  Result<CollectStats> Go() {
    auto started = std::chrono::steady_clock::now();
    BERTH_RETURN_IF_ERROR(LoadLeases());
    BERTH_ASSIGN_OR_RETURN(std::vector<std::string> repos, ListRepositories());
    stats_.repositories = repos.size();

    ForEach("mark", repos.size(), [&](size_t i) { MarkRepository(repos[i]); });
    marked_.Seal();
    stats_.blobs_marked = marked_.size();
    // Which repositories link each digest nothing marked: the sweep reads the age of those links
    // only for a blob it is about to delete (a young link keeps it).
    ForEach("links", repos.size(), [&](size_t i) { ListUnmarkedLinks(repos, i); });
    std::sort(unmarked_links_.begin(), unmarked_links_.end());

    if (!Stopped()) BERTH_RETURN_IF_ERROR(SweepBlobs(repos));
    deleted_.Seal();
    unmarked_links_ = {};

    if (options_.remove_links) {
      ForEach("dangling links", repos.size(), [&](size_t i) { SweepLinks(repos[i]); });
    }
    if (!options_.dry_run && !Stopped()) SweepLeases();
    stats_.duration = std::chrono::steady_clock::now() - started;
    return stats_;
  }

 private:
  bool Stopped() const { return stop_ && stop_(); }

  // Runs fn(0) .. fn(n - 1) on up to `parallelism` threads (this one included), each taking the
  // next index until none are left or the run is stopped. The phases' items (repositories, blob
  // prefixes) are independent; what they share goes through mu_. Collection is mostly waiting on
  // metadata I/O, so threads overlap those waits even on few cores.
  void ForEach(std::string_view phase, size_t n, const std::function<void(size_t)>& fn) {
    progress_.Phase(phase, n);
    std::atomic<size_t> next{0};
    size_t done = 0;  // Guarded by mu_.
    auto work = [&] {
      for (size_t i = next++; i < n && !Stopped(); i = next++) {
        fn(i);
        std::lock_guard lock(mu_);
        progress_.Step(++done);
      }
    };
    const size_t threads = std::min(n, std::max<size_t>(options_.parallelism, 1));
    std::vector<std::thread> pool;
    for (size_t t = 1; t < threads; ++t) pool.emplace_back(work);
    work();
    for (auto& t : pool) t.join();
  }

  // Adds to a counter of stats_ (workers share it).
  void Count(size_t CollectStats::*counter, size_t n = 1) {
    std::lock_guard lock(mu_);
    stats_.*counter += n;
  }

  void Failed(std::string_view what, const Error& e) {
    Count(&CollectStats::errors);
    spdlog::warn("garbage collection: {}: {} (kept)", what, e.ToString());
  }

  // The re-check after a rename aside: a lease written within the grace period. A storage error
  // counts as a lease (keep).
  bool LeaseFresh(const Digest& d) {
    auto fi = driver_.Stat(LeasePath(d));
    if (!fi) return !IsMissing(fi.error());
    return fi->mod_time > young_after_;
  }

  Status LoadLeases() {
    auto st = driver_.Walk(LeasesRoot(), [&](const FileInfo& fi) {
      if (fi.is_dir || fi.mod_time <= young_after_) return true;
      auto t = Tail(fi.path, 3);  // <alg>/<2 hex>/<hex>
      if (t.size() == 3) {
        if (auto d = DigestOf(t[0], t[2])) leased_.Add(*d);
      }
      return true;
    });
    leased_.Seal();
    if (!st && !IsMissing(st.error())) return st;
    return Ok();
  }

  Result<std::vector<std::string>> ListRepositories() {
    std::vector<std::string> repos;
    std::vector<std::string> pending{""};
    const std::string root = paths::RepositoriesRoot();
    while (!pending.empty()) {
      std::string rel = std::move(pending.back());
      pending.pop_back();
      auto kids = driver_.List(rel.empty() ? root : root + "/" + rel);
      if (!kids) {
        if (IsMissing(kids.error())) continue;
        if (rel.empty()) return std::unexpected(kids.error());
        Failed("listing repository directory " + rel, kids.error());
        continue;
      }
      bool is_repo = false;
      for (const std::string& k : *kids) {
        std::string_view base = BaseName(k);
        if (base.starts_with('_')) {
          is_repo = true;
        } else {
          pending.push_back(rel.empty() ? std::string(base) : rel + "/" + std::string(base));
        }
      }
      if (is_repo) repos.push_back(rel);
    }
    std::sort(repos.begin(), repos.end());
    return repos;
  }

  // Puts back what an interrupted run left aside in `dir` (a listing of digest directories, each
  // holding one `leaf` file), and returns the digests listed, restored ones included. Asides are
  // siblings of the digest directories (gc/quarantine.h), so this reads nothing below them.
  std::vector<std::string> ListDigestDirs(const std::string& dir, std::string_view leaf,
                                          std::vector<std::string>&& entries) {
    std::vector<std::string> names;
    std::vector<std::string> asides;
    names.reserve(entries.size());
    for (const std::string& e : entries) {
      std::string_view base = BaseName(e);
      if (auto hex = AsideOf(base)) {
        asides.push_back(std::move(*hex));
      } else {
        names.emplace_back(base);
      }
    }
    for (const std::string& hex : asides) {
      const std::string live = dir + "/" + hex + "/" + std::string(leaf);
      if (auto r = RestoreAside(driver_, live); !r) {
        Failed("restoring " + live, r.error());
      } else if (std::find(names.begin(), names.end(), hex) == names.end()) {
        names.push_back(hex);
      }
    }
    return names;
  }

  // Link files `<alg>/<hex>/link` under `dir`, from one List per algorithm (no Stat: mtime is
  // unset); links left aside by an interrupted run are put back first.
  std::vector<LinkFile> ListLinks(const std::string& dir) {
    std::vector<LinkFile> links;
    auto algs = driver_.List(dir);
    if (!algs) {
      if (!IsMissing(algs.error())) Failed("listing " + dir, algs.error());
      return links;
    }
    for (const std::string& alg_dir : *algs) {
      auto hexes = driver_.List(alg_dir);
      if (!hexes) continue;
      const std::string alg(BaseName(alg_dir));
      for (const std::string& hex : ListDigestDirs(alg_dir, "link", std::move(*hexes))) {
        if (auto d = DigestOf(alg, hex)) {
          links.push_back({*d, alg_dir + "/" + hex + "/link", SystemTime{}});
        }
      }
    }
    return links;
  }

  // The modification time of a link; nullopt when it is gone. A storage error reads as "now"
  // (young: keep), and is counted.
  std::optional<SystemTime> LinkTime(const std::string& path) {
    auto fi = driver_.Stat(path);
    if (fi) return fi->mod_time;
    if (IsMissing(fi.error())) return std::nullopt;
    Failed("reading " + path, fi.error());
    return SystemTime::max();
  }

  // The references of a stored manifest; empty when its content is gone, too large or junk (it is
  // then kept or deleted by its links alone).
  ManifestRefs ReadReferences(const Digest& d) {
    const std::string data = paths::BlobData(d);
    auto fi = driver_.Stat(data);
    if (!fi || fi->size > storage::kMaxManifestBytes) return {};
    auto bytes = driver_.GetContent(data);
    if (!bytes) return {};
    auto refs = ExtractReferences(*bytes);
    if (!refs) return {};
    return std::move(*refs);
  }

  void MarkRepository(const std::string& repo) {
    std::vector<LinkFile> revisions = ListLinks(paths::ManifestsDir(repo) + "/revisions");
    Count(&CollectStats::manifests, revisions.size());
    std::vector<ManifestNode> nodes(revisions.size());
    for (size_t i = 0; i < revisions.size(); ++i) {
      nodes[i].digest = revisions[i].digest;
      nodes[i].young = leased_.Contains(revisions[i].digest);
      nodes[i].refs = ReadReferences(revisions[i].digest);
    }
    std::vector<std::string> tags;
    if (auto names = driver_.List(paths::TagsDir(repo))) {
      for (const std::string& p : *names) tags.emplace_back(BaseName(p));
    } else if (!IsMissing(names.error())) {
      // Without the tags nothing untagged can be told apart: keep every revision.
      Failed("listing tags of " + repo, names.error());
      for (auto& n : nodes) n.young = true;
    }
    for (const std::string& tag : tags) {
      auto content = driver_.GetContent(paths::TagCurrentLink(repo, tag));
      if (!content) {
        if (!IsMissing(content.error())) {
          Failed("reading tag " + repo + ":" + tag, content.error());
          for (auto& n : nodes) n.young = true;
        }
        continue;
      }
      auto d = paths::ParseLink(*content);
      if (!d) continue;
      for (auto& n : nodes) {
        if (n.digest == *d) n.tagged = true;
      }
    }

    const KeepRules keep{.delete_untagged = options_.delete_untagged};
    std::vector<bool> kept = KeptManifests(nodes, keep);
    if (options_.delete_untagged) {
      // A revision's age matters only when nothing else keeps it: stat just those. Youth only
      // adds to what is kept, and whatever it adds was not kept before, so was stat'ed here.
      bool young = false;
      for (size_t i = 0; i < nodes.size(); ++i) {
        if (kept[i] || nodes[i].young) continue;
        auto t = LinkTime(revisions[i].path);
        if (t && *t > young_after_) young = nodes[i].young = true;
      }
      if (young) kept = KeptManifests(nodes, keep);
      DeleteUntagged(repo, tags, nodes, revisions, kept);
    }
    std::vector<DigestKey> marks;
    for (size_t i = 0; i < nodes.size(); ++i) {
      if (!kept[i]) continue;
      marks.push_back(KeyOf(nodes[i].digest));
      for (const Digest& b : nodes[i].refs.blobs) marks.push_back(KeyOf(b));
      for (const Digest& c : nodes[i].refs.children) marks.push_back(KeyOf(c));
    }
    std::lock_guard lock(mu_);
    for (const DigestKey& k : marks) marked_.Add(k);
  }

  // After marking: the repository links to digests nothing marked (links to marked digests need
  // no look, their blobs are kept anyway). Listing only: an age is read in the sweep, and only for
  // a blob about to be deleted, so links left dangling by earlier runs cost nothing but their
  // names.
  void ListUnmarkedLinks(const std::vector<std::string>& repos, size_t i) {
    std::vector<LinkRef> mine;
    for (const LinkFile& l : ListLinks(paths::LayersDir(repos[i]))) {
      if (!marked_.Contains(l.digest)) mine.push_back({KeyOf(l.digest), static_cast<uint32_t>(i)});
    }
    std::lock_guard lock(mu_);
    unmarked_links_.insert(unmarked_links_.end(), mine.begin(), mine.end());
  }

  // Whether a repository link to `d` changed within the grace period (it keeps the blob: a push or
  // mount by a process that takes no leases). A link that cannot be read counts as young.
  bool LinkedRecently(const std::vector<std::string>& repos, const Digest& d) {
    const LinkRef lo{KeyOf(d), 0};
    for (auto it = std::lower_bound(unmarked_links_.begin(), unmarked_links_.end(), lo);
         it != unmarked_links_.end() && it->key == lo.key; ++it) {
      auto t = LinkTime(paths::LayerLink(repos[it->repo], d));
      if (t && *t > young_after_) return true;
    }
    return false;
  }

  // Deletes the revisions not kept; a revision found in use during its re-check is kept with
  // everything it keeps (children, referrers). Indexes go first and referrers last, so a rescued
  // index or subject rescues its children and referrers before their turn.
  void DeleteUntagged(const std::string& repo, const std::vector<std::string>& tags,
                      const std::vector<ManifestNode>& nodes,
                      const std::vector<LinkFile>& revisions, std::vector<bool>& kept) {
    std::vector<size_t> order;
    for (size_t i = 0; i < nodes.size(); ++i) {
      if (!kept[i]) order.push_back(i);
    }
    auto rank = [&](size_t i) {
      if (!nodes[i].refs.children.empty()) return 0;
      return nodes[i].refs.subject ? 2 : 1;
    };
    std::stable_sort(order.begin(), order.end(),
                     [&](size_t a, size_t b) { return rank(a) < rank(b); });

    std::function<void(size_t)> rescue = [&](size_t i) {
      if (kept[i]) return;
      kept[i] = true;
      for (size_t j = 0; j < nodes.size(); ++j) {
        bool child = std::find(nodes[i].refs.children.begin(), nodes[i].refs.children.end(),
                               nodes[j].digest) != nodes[i].refs.children.end();
        if (child || nodes[j].refs.subject == nodes[i].digest) rescue(j);
      }
    };

    HistoryEntries history(*this);
    for (size_t i : order) {
      if (kept[i]) continue;
      const Digest& d = nodes[i].digest;
      const std::string what = repo + "@" + d.str();
      if (options_.dry_run) {
        ManifestDeleted(what);
        continue;
      }
      auto r = SweepOne(driver_, revisions[i].path, young_after_, [&] { return LeaseFresh(d); });
      if (!r) {
        Failed("deleting manifest " + what, r.error());
        rescue(i);
        continue;
      }
      if (*r == SweepOutcome::kKept) {
        rescue(i);
        continue;
      }
      if (*r == SweepOutcome::kGone) continue;
      ManifestDeleted(what);
      // Derived entries: the referrers index and the tags' history.
      if (nodes[i].refs.subject) {
        auto st = driver_.Delete(paths::ReferrerLinkDir(repo, *nodes[i].refs.subject, d));
        if (!st && !IsMissing(st.error())) Failed("deleting referrer entry " + what, st.error());
      }
      for (const std::string& tag : tags) {
        std::string link = paths::TagIndexLink(repo, tag, d);
        std::string entry = link.substr(0, link.rfind('/'));  // .../index/<alg>/<hex>
        if (!history.Has(entry)) continue;
        auto st = driver_.Delete(entry);
        if (!st && !IsMissing(st.error())) Failed("deleting tag history " + what, st.error());
      }
    }
  }

  // The entries of tags' history directories (`<tag>/index/<alg>/`), each listed once, on first
  // asking: a repository's deleted revisions are looked up in every tag's history, and most are in
  // none.
  class HistoryEntries {
   public:
    explicit HistoryEntries(Run& run) : run_(run) {}
    // Whether `entry` (`.../index/<alg>/<hex>`) is listed; a directory that cannot be listed for
    // another reason than absence answers yes (the delete then says what is wrong).
    bool Has(const std::string& entry) {
      const std::string dir = entry.substr(0, entry.rfind('/'));
      auto it = dirs_.find(dir);
      if (it == dirs_.end()) {
        std::optional<std::set<std::string>> names;
        auto listed = run_.driver_.List(dir);
        if (listed) {
          names.emplace(std::make_move_iterator(listed->begin()),
                        std::make_move_iterator(listed->end()));
        } else if (IsMissing(listed.error())) {
          names.emplace();
        }
        it = dirs_.emplace(dir, std::move(names)).first;
      }
      return !it->second || it->second->contains(entry);
    }

   private:
    Run& run_;
    std::map<std::string, std::optional<std::set<std::string>>> dirs_;
  };

  void ManifestDeleted(const std::string& what) {
    std::lock_guard lock(mu_);
    ++stats_.manifests_deleted;
    progress_.Deleted("manifest", what, 0);
  }

  Status SweepBlobs(const std::vector<std::string>& repos) {
    auto algs = driver_.List(paths::BlobsRoot());
    if (!algs) return IsMissing(algs.error()) ? Ok() : Status(std::unexpected(algs.error()));
    std::vector<std::string> prefixes;
    for (const std::string& alg : *algs) {
      auto p = driver_.List(alg);
      if (!p) {
        Failed("listing " + alg, p.error());
        continue;
      }
      prefixes.insert(prefixes.end(), p->begin(), p->end());
    }
    std::sort(prefixes.begin(), prefixes.end());
    ForEach("sweep", prefixes.size(), [&](size_t i) { SweepPrefix(repos, prefixes[i]); });
    return Ok();
  }

  // One blob prefix directory (`blobs/<alg>/<2 hex>`). Marked digests cost nothing past the
  // prefix's listing (what an interrupted run left aside shows in it, and is put back first);
  // each other blob is stat'ed and, when neither young, nor leased, nor linked within the grace
  // period, deleted by the aside protocol.
  void SweepPrefix(const std::vector<std::string>& repos, const std::string& prefix) {
    const std::string alg(Tail(prefix, 2).front());
    auto entries = driver_.List(prefix);  // <prefix>/<hex> directories and their asides
    if (!entries) {
      if (!IsMissing(entries.error())) Failed("listing " + prefix, entries.error());
      return;
    }
    std::vector<std::string> hexes = ListDigestDirs(prefix, "data", std::move(*entries));
    std::sort(hexes.begin(), hexes.end());
    size_t seen = 0;
    for (const std::string& hex : hexes) {
      auto d = DigestOf(alg, hex);
      if (!d) continue;
      if (marked_.Contains(*d)) {
        ++seen;
        continue;
      }
      const std::string data = prefix + "/" + hex + "/data";
      auto fi = driver_.Stat(data);
      if (!fi) {
        // An empty directory left by an earlier deletion, or unreadable (counted, kept).
        if (!IsMissing(fi.error())) Failed("reading " + data, fi.error());
        continue;
      }
      ++seen;
      if (fi->mod_time > young_after_ || leased_.Contains(*d) || LinkedRecently(repos, *d)) {
        Count(&CollectStats::blobs_young);
        continue;
      }
      if (!options_.dry_run) {
        auto r = SweepOne(driver_, data, young_after_, [&] { return LeaseFresh(*d); });
        if (!r) {
          Failed("deleting blob " + d->str(), r.error());
          continue;
        }
        if (*r == SweepOutcome::kKept) Count(&CollectStats::blobs_young);
        if (*r != SweepOutcome::kDeleted) continue;
      }
      std::lock_guard lock(mu_);
      deleted_.Add(*d);
      ++stats_.blobs_deleted;
      stats_.bytes_freed += fi->size;
      progress_.Deleted("blob", d->str(), fi->size);
    }
    Count(&CollectStats::blobs, seen);
  }

  // With remove_links: repository links to blobs that are gone (deleted by this run, or earlier;
  // Distribution's collector leaves them, and so does Berth's by default). What the sweep needs is
  // the digests (SweepOne re-checks the one it removes).
  void SweepLinks(const std::string& repo) {
    for (const LinkFile& l : ListLinks(paths::LayersDir(repo))) {
      if (marked_.Contains(l.digest)) continue;
      const std::string data = paths::BlobData(l.digest);
      if (!deleted_.Contains(l.digest)) {
        auto fi = driver_.Stat(data);
        if (fi || !IsMissing(fi.error())) continue;  // present (young or leased), or unknown
      }
      if (options_.dry_run) {
        Count(&CollectStats::links_deleted);
        continue;
      }
      auto r = SweepOne(driver_, l.path, young_after_, [&] {
        auto fi = driver_.Stat(data);
        return fi || !IsMissing(fi.error());  // the blob came back (uploaded again): keep
      });
      if (!r) {
        Failed("deleting link " + l.path, r.error());
      } else if (*r == SweepOutcome::kDeleted) {
        Count(&CollectStats::links_deleted);
      }
    }
  }

  void SweepLeases() {
    std::vector<std::string> old, asides;
    auto st = driver_.Walk(LeasesRoot(), [&](const FileInfo& fi) {
      if (fi.is_dir) return true;
      std::string_view base = BaseName(fi.path);
      if (IsAsideName(base)) {
        asides.push_back(fi.path.substr(0, fi.path.size() - base.size()) +
                         std::string(base.substr(0, base.find('.'))));
      } else if (fi.mod_time <= young_after_) {
        old.push_back(fi.path);
      }
      return true;
    });
    if (!st && !IsMissing(st.error())) Failed("walking leases", st.error());
    for (const std::string& live : asides) {
      if (auto r = RestoreAside(driver_, live); !r) Failed("restoring " + live, r.error());
    }
    for (const std::string& path : old) {
      auto r = SweepOne(driver_, path, young_after_, [] { return false; });
      if (!r) {
        Failed("deleting lease " + path, r.error());
      } else if (*r == SweepOutcome::kDeleted) {
        ++stats_.leases_deleted;
      }
    }
  }

  StorageDriver& driver_;
  const CollectOptions options_;
  Progress no_progress_;
  Progress& progress_;
  std::function<bool()> stop_;
  const SystemTime young_after_;
  DigestSet leased_;  // read-only after LoadLeases
  std::mutex mu_;     // for the workers of ForEach
  DigestSet marked_;  // Guarded by mu_ while marking; read-only after.
  // (digest, index of a repository linking it) for digests nothing marked, sorted after listing.
  struct LinkRef {
    DigestKey key;
    uint32_t repo;
    auto operator<=>(const LinkRef&) const = default;
  };
  std::vector<LinkRef> unmarked_links_;  // Guarded by mu_ while listing; read-only after.
  DigestSet deleted_;                    // Guarded by mu_ while sweeping; read-only after.
  CollectStats stats_;                   // Guarded by mu_ while workers run.
};

}  // namespace

Result<CollectStats> Collect(StorageDriver& driver, const Clock& clock,
                             const CollectOptions& options, Progress* progress,
                             const std::function<bool()>& stop) {
  Run run(driver, clock, options, progress, stop);
  return run.Go();
}

}  // namespace berth::gc
