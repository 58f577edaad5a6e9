// Path validation (including a fuzz loop over every driver method) and the default Walk.

#include "storage/driver/driver.h"

#include <gtest/gtest.h>

#include <atomic>
#include <mutex>
#include <random>
#include <regex>
#include <string>
#include <vector>

#include "storage/driver/driver_testing.h"
#include "storage/driver/factory.h"
#include "storage/driver/filesystem.h"

namespace berth::storage::driver {
namespace {

TEST(ValidatePath, AcceptsWellFormedPaths) {
  for (const char* p : {"/", "/a", "/a/b", "/docker/registry/v2/blobs/sha256/ab/abcd/data", "/...",
                        "/.hidden", "/a-b_c.d", "/A/Z/0/9", "/_uploads/0f9e-11/startedat"}) {
    EXPECT_OK(ValidatePath(p));
  }
}

TEST(ValidatePath, RejectsMalformedPaths) {
  for (const std::string& p : std::vector<std::string>{
           "", "a", "./a", "/a/", "//", "//a", "/a//b", "/.", "/..", "/a/..", "/../a", "/a/./b",
           "/a b", "/a:b", "/a+b", "/a\\b", "/a%2fb", "/\xff", std::string("/a\0", 3)}) {
    EXPECT_CODE(ValidatePath(p), ErrorCode::kInvalidPath);
  }
}

TEST(ValidatePath, TemporaryPrefixIsReservedInEveryComponent) {
  for (const char* p :
       {"/.berth-tmp-", "/.berth-tmp-0a1b", "/a/.berth-tmp-x/b", "/a/b/.berth-tmp-c"}) {
    SCOPED_TRACE(p);
    EXPECT_CODE(ValidatePath(p), ErrorCode::kInvalidPath);
  }
  for (const char* p : {"/berth-tmp-x", "/a/x.berth-tmp-", "/.berth-tmpx", "/a/.berth-tm"}) {
    SCOPED_TRACE(p);
    EXPECT_OK(ValidatePath(p));
  }
}

TEST(ValidatePath, MessageIsPrintableAndBounded) {
  std::string nasty = "/" + std::string(10000, '\x01') + "\"\n";
  auto st = ValidatePath(nasty);
  ASSERT_FALSE(st.has_value());
  const std::string& msg = st.error().message;
  EXPECT_LT(msg.size(), 1200u);
  for (char c : msg) EXPECT_GE(static_cast<unsigned char>(c), 0x20) << msg;
}

// An independent statement of the rules in driver.h, to check ValidatePath against.
bool OracleValid(const std::string& p) {
  static const std::regex kShape("^/$|^(/[A-Za-z0-9._-]+)+$");
  static const std::regex kDotComponent("(^|/)\\.\\.?(/|$)");
  static const std::regex kReserved("/\\.berth-tmp-");
  return std::regex_match(p, kShape) && !std::regex_search(p, kDotComponent) &&
         !std::regex_search(p, kReserved);
}

std::string RandomPath(std::mt19937_64& rng) {
  // Weighted toward the characters that matter to the rules.
  static const std::string kAlphabet = std::string("//////....aaabZ09-_ \\:%+\t\n\xff", 27) + '\0';
  std::uniform_int_distribution<size_t> len(0, 24);
  std::uniform_int_distribution<size_t> pick(0, kAlphabet.size() - 1);
  std::string p;
  if (rng() % 4 != 0) p = "/";  // mostly absolute, so many paths get past the first check
  for (size_t n = len(rng); n > 0; --n) p += kAlphabet[pick(rng)];
  return p;
}

TEST(ValidatePath, FuzzAgreesWithOracleAndDriversOnlySayInvalidPath) {
  testing::TempDir tmp;
  ASSERT_FALSE(tmp.path().empty());
  auto fs = NewFilesystemDriver(tmp.path() + "/root");
  ASSERT_OK(fs);
  std::vector<StorageDriverPtr> drivers = {*fs, NewInMemoryDriver()};
  std::mt19937_64 rng(20240601);
  int valid_seen = 0;
  for (int i = 0; i < 5000; ++i) {
    std::string p = RandomPath(rng);
    bool valid = OracleValid(p);
    valid_seen += valid;
    ASSERT_EQ(ValidatePath(p).has_value(), valid) << ::testing::PrintToString(p);
    for (const StorageDriverPtr& d : drivers) {
      // Each call either rejects the path (and only as kInvalidPath) or, for a valid path, does
      // whatever the store's state implies, which is never kInvalidPath.
      auto check = [&](const auto& r, const char* what) {
        bool invalid = !r.has_value() && r.error().Is(ErrorCode::kInvalidPath);
        EXPECT_EQ(invalid, !valid) << d->Name() << " " << what << " " << ::testing::PrintToString(p)
                                   << (r ? std::string() : ": " + r.error().ToString());
      };
      check(d->PutContent(p, "x"), "PutContent");
      check(d->GetContent(p), "GetContent");
      check(d->NewReader(p, 0), "NewReader");
      check(d->Stat(p), "Stat");
      check(d->List(p), "List");
      // Moving the root is refused as kInvalidPath although "/" is a valid path.
      if (p != "/") check(d->Move(p, "/fuzz-moved"), "Move");
      check(d->Delete(p), "Delete");
      check(d->Walk(p, [](const FileInfo&) { return true; }), "Walk");
      check(d->NewWriter(p, true), "NewWriter");
    }
  }
  EXPECT_GT(valid_seen, 100);  // the generator must exercise both sides
}

TEST(Walk, ToleratesEntriesVanishingMidWalk) {
  StorageDriverPtr d = NewInMemoryDriver();
  ASSERT_OK(d->PutContent("/w/a/x", "1"));
  ASSERT_OK(d->PutContent("/w/b/y", "2"));
  ASSERT_OK(d->PutContent("/w/c", "3"));
  std::vector<std::string> seen;
  ASSERT_OK(d->Walk("/w", [&](const FileInfo& info) {
    seen.push_back(info.path);
    // A concurrent GC removing a later sibling: the walk must skip it, not fail.
    if (info.path == "/w/a") EXPECT_OK(d->Delete("/w/b"));
    return true;
  }));
  EXPECT_EQ(seen, (std::vector<std::string>{"/w/a", "/w/a/x", "/w/c"}));
}

TEST(Walk, OnAFileIsNotFound) {
  StorageDriverPtr d = NewInMemoryDriver();
  ASSERT_OK(d->PutContent("/f", "1"));
  EXPECT_CODE(d->Walk("/f", [](const FileInfo&) { return true; }), ErrorCode::kNotFound);
}

TEST(Walk, DeepTreesDoNotRecurse) {
  StorageDriverPtr d = NewInMemoryDriver();
  std::string path;
  for (int i = 0; i < 2000; ++i) path += "/d";
  ASSERT_OK(d->PutContent(path + "/leaf", "x"));
  size_t count = 0;
  ASSERT_OK(d->Walk("/", [&](const FileInfo&) {
    ++count;
    return true;
  }));
  EXPECT_EQ(count, 2001u);
}

// Records every call that reaches it (op and path), then forwards. Built on DriverWrapper, as any
// decorator is, so it sits behind the validation choke point like a concrete driver does.
class RecordingDriver : public DriverWrapper {
 public:
  using DriverWrapper::DriverWrapper;

  std::vector<std::string> calls() const {
    std::lock_guard lock(mu_);
    return calls_;
  }

 protected:
  Result<std::string> DoGetContent(std::string_view p) override {
    Record("GetContent", p);
    return DriverWrapper::DoGetContent(p);
  }
  Status DoPutContent(std::string_view p, std::string_view c) override {
    Record("PutContent", p);
    return DriverWrapper::DoPutContent(p, c);
  }
  Result<ReaderPtr> DoNewReader(std::string_view p, uint64_t o) override {
    Record("NewReader", p);
    return DriverWrapper::DoNewReader(p, o);
  }
  Result<FileWriterPtr> DoNewWriter(std::string_view p, bool a) override {
    Record("NewWriter", p);
    return DriverWrapper::DoNewWriter(p, a);
  }
  Result<FileInfo> DoStat(std::string_view p) override {
    Record("Stat", p);
    return DriverWrapper::DoStat(p);
  }
  Result<std::vector<std::string>> DoList(std::string_view p) override {
    Record("List", p);
    return DriverWrapper::DoList(p);
  }
  Status DoMove(std::string_view s, std::string_view d) override {
    Record("Move", std::string(s) + " " + std::string(d));
    return DriverWrapper::DoMove(s, d);
  }
  Status DoDelete(std::string_view p) override {
    Record("Delete", p);
    return DriverWrapper::DoDelete(p);
  }
  Result<std::string> DoRedirectURL(std::string_view p, std::string_view m) override {
    Record("RedirectURL", p);
    return DriverWrapper::DoRedirectURL(p, m);
  }
  Status DoWalk(std::string_view p, const std::function<bool(const FileInfo&)>& fn) override {
    Record("Walk", p);
    return DriverWrapper::DoWalk(p, fn);
  }

 private:
  void Record(std::string_view op, std::string_view path) {
    std::lock_guard lock(mu_);
    calls_.push_back(std::string(op) + " " + std::string(path));
  }

  mutable std::mutex mu_;
  std::vector<std::string> calls_;  // Guarded by mu_.
};

// A decorator that changes one thing (Stat reports sizes plus 1000) and counts what it sees.
class StatOnlyDecorator : public DriverWrapper {
 public:
  using DriverWrapper::DriverWrapper;
  std::atomic<int> stats{0};

 protected:
  Result<FileInfo> DoStat(std::string_view p) override {
    ++stats;
    BERTH_ASSIGN_OR_RETURN(FileInfo info, DriverWrapper::DoStat(p));
    info.size += 1000;
    return info;
  }
};

TEST(DriverWrapper, DecoratorSeesOnlyWhatItOverridesAndTheRestForwards) {
  auto recorder = std::make_shared<RecordingDriver>(NewInMemoryDriver());
  auto deco = std::make_shared<StatOnlyDecorator>(recorder);
  StorageDriverPtr d = deco;
  EXPECT_EQ(d->Name(), "inmemory");
  ASSERT_OK(d->PutContent("/a/b", "hello"));
  EXPECT_CONTENT(*d, "/a/b", "hello");
  auto w = d->NewWriter("/a/w", false);
  ASSERT_OK(w);
  ASSERT_OK((*w)->Write("xy", 2));
  ASSERT_OK((*w)->Commit());
  auto r = d->NewReader("/a/w", 1);
  ASSERT_OK(r);
  char buf[4];
  auto n = (*r)->Read(buf, sizeof buf);
  ASSERT_OK(n);
  EXPECT_EQ(std::string(buf, *n), "y");
  auto info = d->Stat("/a/b");
  ASSERT_OK(info);
  EXPECT_EQ(info->size, 1005u);  // the one override applies
  auto list = d->List("/a");
  ASSERT_OK(list);
  EXPECT_EQ(list->size(), 2u);
  ASSERT_OK(d->Move("/a/w", "/a/v"));
  auto url = d->RedirectURL("/a/v", "GET");
  ASSERT_OK(url);
  EXPECT_EQ(*url, "");
  // The walk is the target's (forwarded whole), so it does not pass through the override.
  std::vector<uint64_t> sizes;
  ASSERT_OK(d->Walk("/a", [&](const FileInfo& fi) {
    sizes.push_back(fi.size);
    return true;
  }));
  EXPECT_EQ(sizes, (std::vector<uint64_t>{5, 2}));
  ASSERT_OK(d->Delete("/a/v"));
  auto purged = d->PurgeTemporaries(SystemClock().Now());
  ASSERT_OK(purged);
  EXPECT_EQ(*purged, 0u);
  EXPECT_EQ(d->Counters().storage_full, 0u);

  EXPECT_EQ(deco->stats.load(), 1);
  std::vector<std::string> calls = recorder->calls();
  // Walk reaches the recorder as one Walk; its inner List/Stat run inside the in-memory target.
  EXPECT_EQ(calls,
            (std::vector<std::string>{"PutContent /a/b", "GetContent /a/b", "NewWriter /a/w",
                                      "NewReader /a/w", "Stat /a/b", "List /a", "Move /a/w /a/v",
                                      "RedirectURL /a/v", "Walk /a", "Delete /a/v"}));
}

TEST(DriverWrapper, InvalidPathsNeverReachTheDriverBehindTheChokePoint) {
  auto recorder = std::make_shared<RecordingDriver>(NewInMemoryDriver());
  StorageDriverPtr d = recorder;
  std::mt19937_64 rng(7);
  int invalid_seen = 0;
  for (int i = 0; i < 3000; ++i) {
    std::string p = RandomPath(rng);
    if (ValidatePath(p)) continue;
    ++invalid_seen;
    testing::ExpectEveryCallRejectsPath(*d, p);
  }
  for (const char* p : {"/.berth-tmp-x", "/a/.berth-tmp-y/z", "/a/../b", "relative"}) {
    testing::ExpectEveryCallRejectsPath(*d, p);
  }
  EXPECT_GT(invalid_seen, 1000);
  EXPECT_TRUE(recorder->calls().empty()) << recorder->calls().front();
}

TEST(DriverFactory, CreatesEachRegisteredDriverByName) {
  EXPECT_EQ(DriverNames(), (std::vector<std::string_view>{"filesystem", "inmemory"}));
  auto mem = Create("inmemory", {});
  ASSERT_OK(mem);
  EXPECT_EQ((*mem)->Name(), "inmemory");
  testing::TempDir tmp;
  ASSERT_FALSE(tmp.path().empty());
  auto fs = Create("filesystem", {{"rootdirectory", tmp.path() + "/root"}, {"maxthreads", "10"}});
  ASSERT_OK(fs);
  EXPECT_EQ((*fs)->Name(), "filesystem");
  ASSERT_OK((*fs)->PutContent("/x", "y"));
  EXPECT_TRUE(std::filesystem::exists(tmp.path() + "/root/x"));
}

TEST(DriverFactory, UnknownNameIsAnErrorNamingIt) {
  for (std::string name : {"s4", "", "Filesystem", "file system"}) {
    auto d = Create(name, {});
    ASSERT_FALSE(d.has_value()) << name;
    EXPECT_EQ(d.error().code, ErrorCode::kInvalidArgument);
    EXPECT_NE(d.error().message.find("storage driver \"" + name + "\" is not known"),
              std::string::npos)
        << d.error().message;
    EXPECT_NE(d.error().message.find("filesystem, inmemory"), std::string::npos);
  }
  auto ctl = Create(std::string("evil\n\x01"), {});
  ASSERT_FALSE(ctl.has_value());
  for (char c : ctl.error().message) EXPECT_GE(static_cast<unsigned char>(c), 0x20);
}

TEST(DriverFactory, FilesystemWithoutRootIsAnErrorNamingTheKey) {
  auto d = Create("filesystem", {});
  ASSERT_FALSE(d.has_value());
  EXPECT_EQ(d.error().code, ErrorCode::kInvalidArgument);
  EXPECT_NE(d.error().message.find("rootdirectory"), std::string::npos) << d.error().message;
}

}  // namespace
}  // namespace berth::storage::driver
