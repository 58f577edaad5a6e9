#include "storage/cache/listing_index.h"

#include <algorithm>
#include <condition_variable>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <unordered_map>
#include <utility>
#include <vector>

#include "common/log.h"
#include "storage/wrappers.h"

namespace berth::storage::cache {
namespace {

using RepoSet = std::set<std::string, std::less<>>;
using TagList = std::shared_ptr<const std::vector<std::string>>;

// Lets the maps below be searched with a string_view (no key string built per lookup).
struct NameHash {
  using is_transparent = void;
  size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
};

// Per-repository tag lists. Guards against a slow load overwriting a newer write: a load marks its
// entry `loading`; a write meanwhile marks it `dirty`, and a dirty load is returned but not kept.
class TagLists {
 public:
  explicit TagLists(size_t max) : max_(max) {}

  // The cached list, or null after marking a load as started.
  TagList Find(std::string_view repo) {
    std::lock_guard lock(mu_);
    auto it = lists_.find(repo);
    if (it != lists_.end()) return it->second.tags;  // null while another load runs
    if (lists_.size() >= max_) lists_.clear();       // bounded; refills from storage
    lists_.emplace(std::string(repo), Entry{});
    return nullptr;
  }

  // Keeps a finished load unless a write raced with it.
  void Loaded(std::string_view repo, TagList tags) {
    std::lock_guard lock(mu_);
    auto it = lists_.find(repo);
    if (it == lists_.end() || it->second.tags) return;
    if (it->second.dirty || !tags) {
      lists_.erase(it);
    } else {
      it->second.tags = std::move(tags);
    }
  }

  // A tag now points somewhere (present) or is gone (!present).
  void Apply(std::string_view repo, std::string_view tag, bool present) {
    std::lock_guard lock(mu_);
    auto it = lists_.find(repo);
    if (it == lists_.end()) return;
    if (!it->second.tags) {
      it->second.dirty = true;
      return;
    }
    const auto& old = *it->second.tags;
    auto pos = std::lower_bound(old.begin(), old.end(), tag);
    bool has = pos != old.end() && *pos == tag;
    if (has == present) return;
    auto next = std::make_shared<std::vector<std::string>>();
    next->reserve(old.size() + 1);
    next->insert(next->end(), old.begin(), pos);
    if (present) next->emplace_back(tag);
    next->insert(next->end(), has ? pos + 1 : pos, old.end());
    it->second.tags = std::move(next);
  }

  // Forgets one repository's list (or every list): it is reloaded on the next List.
  void Drop(std::string_view repo) {
    std::lock_guard lock(mu_);
    auto it = lists_.find(repo);
    if (it != lists_.end()) DropLocked(it);
  }
  void DropAll() {
    std::lock_guard lock(mu_);
    for (auto it = lists_.begin(); it != lists_.end();) it = DropLocked(it);
  }

 private:
  struct Entry {
    TagList tags;  // null while loading
    bool dirty = false;
  };
  using Map = std::unordered_map<std::string, Entry, NameHash, std::equal_to<>>;

  Map::iterator DropLocked(Map::iterator it) {
    if (it->second.tags) return lists_.erase(it);
    it->second.dirty = true;
    return std::next(it);
  }

  const size_t max_;
  std::mutex mu_;
  Map lists_;  // Guarded by mu_.
};

using LookupHook = std::function<void(std::string_view listing, bool hit)>;

class IndexedTags : public TagServiceWrapper {
 public:
  IndexedTags(TagService& target, TagLists& lists, const LookupHook& on_lookup)
      : TagServiceWrapper(target), lists_(lists), on_lookup_(on_lookup) {}

  Status Tag(std::string_view repo, std::string_view tag, const Digest& d) override {
    auto st = target().Tag(repo, tag, d);
    if (st) {
      lists_.Apply(repo, tag, true);
    } else {
      lists_.Drop(repo);  // a failed write may have half-happened: re-read
    }
    return st;
  }
  Status Untag(std::string_view repo, std::string_view tag) override {
    auto st = target().Untag(repo, tag);
    if (st || st.error().code == ErrorCode::kManifestUnknown) {
      lists_.Apply(repo, tag, false);
    } else {
      lists_.Drop(repo);
    }
    return st;
  }
  Result<std::vector<std::string>> List(std::string_view repo) override {
    TagList cached = lists_.Find(repo);
    if (on_lookup_) on_lookup_("tags", cached != nullptr);
    if (cached) return *cached;
    auto tags = target().List(repo);
    lists_.Loaded(repo, tags ? std::make_shared<const std::vector<std::string>>(*tags) : nullptr);
    return tags;
  }

 private:
  TagLists& lists_;
  const LookupHook& on_lookup_;
};

class ListingIndex : public NamespaceWrapper {
 public:
  ListingIndex(NamespacePtr inner, ListingIndexOptions options)
      : NamespaceWrapper(inner),
        options_(options),
        tag_lists_(std::max<size_t>(options.max_tag_lists, 1)),
        tags_(inner->Tags(), tag_lists_, options_.on_lookup),
        manifests_(inner->Manifests(), *this) {
    thread_ = std::thread([this] { Run(); });
  }

  ~ListingIndex() override {
    {
      std::lock_guard lock(mu_);
      stopping_ = true;
    }
    stop_cv_.notify_all();
    thread_.join();
  }

  Result<std::vector<std::string>> Catalog(std::string_view last, size_t n, bool* more) override {
    std::unique_lock lock(mu_);
    built_cv_.wait(lock, [&] { return built_ || first_build_failed_; });
    const bool hit = built_;
    std::vector<std::string> page;
    if (hit) {
      auto it = last.empty() ? repos_.begin() : repos_.upper_bound(last);
      for (; it != repos_.end() && page.size() < n; ++it) page.push_back(*it);
      if (more) *more = it != repos_.end();
    }
    lock.unlock();
    if (options_.on_lookup) options_.on_lookup("catalog", hit);
    if (!hit) return target().Catalog(last, n, more);
    return page;
  }

  Status Reconcile() override {
    std::lock_guard serial(reconcile_mu_);
    {
      std::lock_guard lock(mu_);
      journalling_ = true;
      journal_.clear();
    }
    auto start = std::chrono::steady_clock::now();
    auto all = target().Catalog("", SIZE_MAX, nullptr);
    RepoSet fresh;
    if (all)
      fresh.insert(std::make_move_iterator(all->begin()), std::make_move_iterator(all->end()));
    tag_lists_.DropAll();
    std::unique_lock lock(mu_);
    journalling_ = false;
    if (!all) {
      journal_.clear();
      if (!built_) first_build_failed_ = true;
      lock.unlock();
      built_cv_.notify_all();
      return std::unexpected(all.error());
    }
    // Writes that raced with the walk may be missing from it: replay them.
    for (auto& repo : journal_) fresh.insert(std::move(repo));
    journal_.clear();
    repos_.swap(fresh);
    const bool first = !built_;
    built_ = true;
    lock.unlock();
    built_cv_.notify_all();
    auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(
        std::chrono::steady_clock::now() - start);
    if (first)
      spdlog::info("catalog index built: {} repositories in {} ms", all->size(), ms.count());
    return Ok();  // `fresh` (the old set) is freed outside the lock
  }

  TagService& Tags() override { return tags_; }
  ManifestService& Manifests() override { return manifests_; }

  // A manifest was stored in `repo`: it is in the catalog from now on.
  void NoteRepository(std::string_view repo) {
    std::lock_guard lock(mu_);
    if (journalling_) journal_.emplace_back(repo);
    if (repos_.find(repo) == repos_.end()) repos_.emplace(repo);
  }
  TagLists& tag_lists() { return tag_lists_; }

 private:
  class IndexedManifests : public ManifestServiceWrapper {
   public:
    IndexedManifests(ManifestService& target, ListingIndex& index)
        : ManifestServiceWrapper(target), index_(index) {}

    Result<PutManifestResult> Put(std::string_view repo, const Reference& reference,
                                  std::string_view content_type, std::string bytes) override {
      auto put = target().Put(repo, reference, content_type, std::move(bytes));
      if (put) {
        index_.NoteRepository(repo);
        if (!reference.is_digest()) index_.tag_lists().Apply(repo, reference.tag, true);
      } else if (put.error().code == ErrorCode::kIo) {
        index_.tag_lists().Drop(repo);  // may have half-happened: re-read
      }
      return put;
    }
    Status Delete(std::string_view repo, const Digest& d) override {
      auto st = target().Delete(repo, d);
      index_.tag_lists().Drop(repo);  // its tags went with it
      return st;
    }

   private:
    ListingIndex& index_;
  };

  void Run() {
    auto st = Reconcile();
    if (!st) spdlog::warn("catalog index: first build failed: {}", st.error().ToString());
    if (options_.reconcile_every.count() <= 0) return;
    std::unique_lock lock(mu_);
    while (!stop_cv_.wait_for(lock, options_.reconcile_every, [&] { return stopping_; })) {
      lock.unlock();
      if (auto r = Reconcile(); !r) {
        spdlog::warn("catalog index: reconcile failed: {}", r.error().ToString());
      }
      lock.lock();
    }
  }

  const ListingIndexOptions options_;
  TagLists tag_lists_;
  IndexedTags tags_;
  IndexedManifests manifests_;

  std::mutex reconcile_mu_;  // one Reconcile at a time
  std::mutex mu_;
  std::condition_variable built_cv_;
  std::condition_variable stop_cv_;
  RepoSet repos_;                     // Guarded by mu_.
  bool built_ = false;                // Guarded by mu_.
  bool first_build_failed_ = false;   // Guarded by mu_.
  bool journalling_ = false;          // Guarded by mu_.
  std::vector<std::string> journal_;  // Guarded by mu_.
  bool stopping_ = false;             // Guarded by mu_.
  std::thread thread_;
};

}  // namespace

NamespacePtr WithListingIndex(NamespacePtr inner, ListingIndexOptions options) {
  return std::make_shared<ListingIndex>(std::move(inner), options);
}

}  // namespace berth::storage::cache
