// The driver conformance suite: every behaviour promised by storage/driver/driver.h, run against
// every driver. A new driver joins by adding a line to kDrivers; a behaviour belongs here unless it
// is specific to one backend (those go in the driver's own tests).

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "storage/driver/driver.h"
#include "storage/driver/driver_testing.h"
#include "storage/driver/factory.h"
#include "storage/driver/faulty.h"
#include "storage/driver/filesystem.h"

namespace berth::storage::driver {
namespace {

struct DriverKind {
  const char* name;
  // `dir` is a fresh empty temp directory; `plan` is an empty fault plan owned by the fixture.
  StorageDriverPtr (*make)(const std::string& dir, FaultPlan* plan);
};

// The concrete drivers come from the factory by name, as `serve` makes them.
StorageDriverPtr MakeFilesystem(const std::string& dir, FaultPlan*) {
  auto driver = Create("filesystem", {{"rootdirectory", dir + "/root"}});
  return driver ? *driver : nullptr;
}
StorageDriverPtr MakeInMemory(const std::string&, FaultPlan*) {
  auto driver = Create("inmemory", {});
  return driver ? *driver : nullptr;
}
// The fault decorator with no rules must be invisible.
StorageDriverPtr MakeFaultyPassthrough(const std::string&, FaultPlan* plan) {
  return NewFaultyDriver(NewInMemoryDriver(), plan);
}
// So must the bare forwarding base every decorator is built on.
StorageDriverPtr MakeWrappedFilesystem(const std::string& dir, FaultPlan* plan) {
  StorageDriverPtr base = MakeFilesystem(dir, plan);
  return base ? std::make_shared<DriverWrapper>(base) : nullptr;
}

const DriverKind kDrivers[] = {
    {"filesystem", MakeFilesystem},
    {"inmemory", MakeInMemory},
    {"faulty_inmemory", MakeFaultyPassthrough},
    {"wrapped_filesystem", MakeWrappedFilesystem},
};

class DriverConformance : public ::testing::TestWithParam<DriverKind> {
 protected:
  void SetUp() override {
    ASSERT_FALSE(tmp_.path().empty());
    d_ = GetParam().make(tmp_.path(), &plan_);
    ASSERT_NE(d_, nullptr);
  }

  void Put(const std::string& path, const std::string& content) {
    auto st = d_->PutContent(path, content);
    ASSERT_TRUE(st.has_value()) << path << ": " << st.error().ToString();
  }

  std::string Get(const std::string& path) {
    auto got = d_->GetContent(path);
    EXPECT_TRUE(got.has_value()) << path << ": " << got.error().ToString();
    return got ? *got : std::string();
  }

  static std::string ReadAll(Reader& reader, size_t chunk = 4096) {
    std::string out;
    std::string buf(chunk, '\0');
    for (;;) {
      auto n = reader.Read(buf.data(), buf.size());
      EXPECT_TRUE(n.has_value()) << n.error().ToString();
      if (!n || *n == 0) return out;
      out.append(buf.data(), *n);
    }
  }

  std::vector<std::string> SortedList(const std::string& path) {
    auto list = d_->List(path);
    EXPECT_TRUE(list.has_value()) << path << ": " << list.error().ToString();
    if (!list) return {};
    std::sort(list->begin(), list->end());
    return *list;
  }

  testing::TempDir tmp_;
  FaultPlan plan_;
  StorageDriverPtr d_;
};

// --- PutContent / GetContent ---

TEST_P(DriverConformance, PutThenGetReturnsExactBytes) {
  std::string binary("a\0b\nc\r\n\xff", 8);
  Put("/a/b/c", binary);
  EXPECT_EQ(Get("/a/b/c"), binary);
  Put("/empty", "");
  EXPECT_EQ(Get("/empty"), "");
}

TEST_P(DriverConformance, PutOverwritesWithShorterContent) {
  Put("/f", "a long original value");
  Put("/f", "short");
  EXPECT_EQ(Get("/f"), "short");
}

TEST_P(DriverConformance, GetMissingIsNotFound) {
  EXPECT_CODE(d_->GetContent("/missing"), ErrorCode::kNotFound);
  EXPECT_CODE(d_->GetContent("/no/such/dir/file"), ErrorCode::kNotFound);
  Put("/file", "x");
  EXPECT_CODE(d_->GetContent("/file/below"), ErrorCode::kNotFound);
}

TEST_P(DriverConformance, GetDirectoryIsNotFound) {
  Put("/dir/file", "x");
  EXPECT_CODE(d_->GetContent("/dir"), ErrorCode::kNotFound);
}

TEST_P(DriverConformance, PutCreatesParentDirectories) {
  Put("/p/q/r/file", "x");
  for (const char* dir : {"/p", "/p/q", "/p/q/r"}) {
    auto info = d_->Stat(dir);
    ASSERT_TRUE(info.has_value()) << dir;
    EXPECT_TRUE(info->is_dir) << dir;
  }
}

TEST_P(DriverConformance, PutOverDirectoryIsIo) {
  Put("/dir/file", "x");
  EXPECT_CODE(d_->PutContent("/dir", "y"), ErrorCode::kIo);
  EXPECT_EQ(Get("/dir/file"), "x");
}

TEST_P(DriverConformance, PutBelowFileIsIo) {
  Put("/file", "x");
  EXPECT_CODE(d_->PutContent("/file/child", "y"), ErrorCode::kIo);
  EXPECT_EQ(Get("/file"), "x");
}

// --- Reader ---

TEST_P(DriverConformance, ReaderStartsAtOffset) {
  Put("/r", "0123456789");
  struct Case {
    uint64_t offset;
    std::string want;
  };
  for (const Case& c : {Case{0, "0123456789"}, Case{5, "56789"}, Case{9, "9"}, Case{10, ""}}) {
    auto reader = d_->NewReader("/r", c.offset);
    ASSERT_TRUE(reader.has_value()) << c.offset << ": " << reader.error().ToString();
    EXPECT_EQ(ReadAll(**reader), c.want) << "offset " << c.offset;
  }
}

TEST_P(DriverConformance, ReaderPastEndIsInvalidOffset) {
  Put("/r", "0123456789");
  EXPECT_CODE(d_->NewReader("/r", 11), ErrorCode::kInvalidOffset);
  EXPECT_CODE(d_->NewReader("/r", UINT64_MAX), ErrorCode::kInvalidOffset);
  Put("/empty", "");
  EXPECT_OK(d_->NewReader("/empty", 0));
  EXPECT_CODE(d_->NewReader("/empty", 1), ErrorCode::kInvalidOffset);
}

TEST_P(DriverConformance, ReaderMissingOrDirectoryIsNotFound) {
  EXPECT_CODE(d_->NewReader("/missing", 0), ErrorCode::kNotFound);
  Put("/dir/file", "x");
  EXPECT_CODE(d_->NewReader("/dir", 0), ErrorCode::kNotFound);
}

TEST_P(DriverConformance, ReaderHandlesSmallBuffers) {
  Put("/r", "abcdefghij");
  auto reader = d_->NewReader("/r", 1);
  ASSERT_OK(reader);
  EXPECT_EQ(ReadAll(**reader, 3), "bcdefghij");
  auto again = (*reader)->Read(nullptr, 0);
  ASSERT_OK(again);
  EXPECT_EQ(*again, 0u);
}

// --- FileWriter ---

TEST_P(DriverConformance, WriterWithoutAppendTruncates) {
  Put("/w", "old content");
  auto writer = d_->NewWriter("/w", false);
  ASSERT_OK(writer);
  EXPECT_EQ((*writer)->Size(), 0u);
  ASSERT_OK((*writer)->Write("new", 3));
  EXPECT_EQ((*writer)->Size(), 3u);
  ASSERT_OK((*writer)->Commit());
  EXPECT_EQ(Get("/w"), "new");
}

TEST_P(DriverConformance, WriterWithAppendContinues) {
  Put("/w", "abc");
  auto writer = d_->NewWriter("/w", true);
  ASSERT_OK(writer);
  EXPECT_EQ((*writer)->Size(), 3u);
  ASSERT_OK((*writer)->Write("de", 2));
  ASSERT_OK((*writer)->Write("f", 1));
  EXPECT_EQ((*writer)->Size(), 6u);
  ASSERT_OK((*writer)->Commit());
  EXPECT_EQ(Get("/w"), "abcdef");
  auto info = d_->Stat("/w");
  ASSERT_OK(info);
  EXPECT_EQ(info->size, 6u);
}

TEST_P(DriverConformance, WriterCreatesMissingObjectAndParents) {
  for (bool append : {false, true}) {
    std::string path = append ? "/new/a/append" : "/new/b/trunc";
    auto writer = d_->NewWriter(path, append);
    ASSERT_OK(writer);
    EXPECT_EQ((*writer)->Size(), 0u);
    ASSERT_OK((*writer)->Write("xy", 2));
    ASSERT_OK((*writer)->Commit());
    EXPECT_EQ(Get(path), "xy");
  }
}

TEST_P(DriverConformance, WriterBytesVisibleBeforeCommit) {
  auto writer = d_->NewWriter("/uploads/u1/data", false);
  ASSERT_OK(writer);
  ASSERT_OK((*writer)->Write("partial", 7));
  EXPECT_EQ(Get("/uploads/u1/data"), "partial");
  ASSERT_OK((*writer)->Commit());
}

TEST_P(DriverConformance, WriterCancelDeletesObject) {
  auto writer = d_->NewWriter("/c/data", false);
  ASSERT_OK(writer);
  ASSERT_OK((*writer)->Write("doomed", 6));
  ASSERT_OK((*writer)->Cancel());
  EXPECT_CODE(d_->Stat("/c/data"), ErrorCode::kNotFound);
}

TEST_P(DriverConformance, WriterUseAfterCloseIsInvalidArgument) {
  auto writer = d_->NewWriter("/closed", false);
  ASSERT_OK(writer);
  ASSERT_OK((*writer)->Commit());
  EXPECT_CODE((*writer)->Write("x", 1), ErrorCode::kInvalidArgument);
  EXPECT_CODE((*writer)->Commit(), ErrorCode::kInvalidArgument);
  EXPECT_CODE((*writer)->Cancel(), ErrorCode::kInvalidArgument);
  EXPECT_EQ(Get("/closed"), "");
}

TEST_P(DriverConformance, UncommittedWriterKeepsBytesAndCanBeResumed) {
  {
    auto writer = d_->NewWriter("/resume/data", false);
    ASSERT_OK(writer);
    ASSERT_OK((*writer)->Write("first-", 6));
    // Destroyed without Commit or Cancel: an interrupted upload.
  }
  EXPECT_EQ(Get("/resume/data"), "first-");
  auto writer = d_->NewWriter("/resume/data", true);
  ASSERT_OK(writer);
  EXPECT_EQ((*writer)->Size(), 6u);
  ASSERT_OK((*writer)->Write("second", 6));
  ASSERT_OK((*writer)->Commit());
  EXPECT_EQ(Get("/resume/data"), "first-second");
}

TEST_P(DriverConformance, WriterOnDirectoryIsIo) {
  Put("/dir/file", "x");
  EXPECT_CODE(d_->NewWriter("/dir", false), ErrorCode::kIo);
  EXPECT_CODE(d_->NewWriter("/dir", true), ErrorCode::kIo);
  EXPECT_CODE(d_->NewWriter("/dir/file/below", false), ErrorCode::kIo);
}

// --- Stat ---

TEST_P(DriverConformance, StatFile) {
  auto before = std::chrono::system_clock::now();
  Put("/s/file", "12345");
  auto after = std::chrono::system_clock::now();
  auto info = d_->Stat("/s/file");
  ASSERT_OK(info);
  EXPECT_EQ(info->path, "/s/file");
  EXPECT_EQ(info->size, 5u);
  EXPECT_FALSE(info->is_dir);
  // Filesystem timestamps are coarser than the clock; allow for it.
  EXPECT_GE(info->mod_time, before - std::chrono::seconds(2));
  EXPECT_LE(info->mod_time, after + std::chrono::seconds(2));
}

TEST_P(DriverConformance, StatDirectory) {
  Put("/s/dir/file", "12345");
  auto info = d_->Stat("/s/dir");
  ASSERT_OK(info);
  EXPECT_EQ(info->path, "/s/dir");
  EXPECT_TRUE(info->is_dir);
  EXPECT_EQ(info->size, 0u);
  auto root = d_->Stat("/");
  ASSERT_OK(root);
  EXPECT_TRUE(root->is_dir);
}

TEST_P(DriverConformance, StatMissingIsNotFound) {
  EXPECT_CODE(d_->Stat("/missing"), ErrorCode::kNotFound);
  Put("/file", "x");
  EXPECT_CODE(d_->Stat("/file/below"), ErrorCode::kNotFound);
}

// --- List ---

TEST_P(DriverConformance, ListReturnsDirectChildrenAsFullPaths) {
  Put("/l/a/x", "1");
  Put("/l/a/y/z", "2");
  Put("/l/b", "3");
  Put("/l/a-c", "4");
  EXPECT_EQ(SortedList("/l"), (std::vector<std::string>{"/l/a", "/l/a-c", "/l/b"}));
  EXPECT_EQ(SortedList("/l/a"), (std::vector<std::string>{"/l/a/x", "/l/a/y"}));
  EXPECT_EQ(SortedList("/"), (std::vector<std::string>{"/l"}));
}

TEST_P(DriverConformance, ListEmptyRootIsEmpty) { EXPECT_TRUE(SortedList("/").empty()); }

TEST_P(DriverConformance, ListMissingOrFileIsNotFound) {
  EXPECT_CODE(d_->List("/missing"), ErrorCode::kNotFound);
  Put("/file", "x");
  EXPECT_CODE(d_->List("/file"), ErrorCode::kNotFound);
}

// --- Move ---

TEST_P(DriverConformance, MoveRenamesFile) {
  Put("/m/src", "content");
  ASSERT_OK(d_->Move("/m/src", "/m/dst"));
  EXPECT_EQ(Get("/m/dst"), "content");
  EXPECT_CODE(d_->Stat("/m/src"), ErrorCode::kNotFound);
}

TEST_P(DriverConformance, MoveReplacesDestination) {
  Put("/m/src", "new");
  Put("/m/dst", "old and longer");
  ASSERT_OK(d_->Move("/m/src", "/m/dst"));
  EXPECT_EQ(Get("/m/dst"), "new");
}

TEST_P(DriverConformance, MoveCreatesDestinationParents) {
  Put("/uploads/u/data", "blob");
  ASSERT_OK(d_->Move("/uploads/u/data", "/blobs/sha256/ab/abcd/data"));
  EXPECT_EQ(Get("/blobs/sha256/ab/abcd/data"), "blob");
}

TEST_P(DriverConformance, MoveMissingSourceIsNotFound) {
  EXPECT_CODE(d_->Move("/missing", "/dst"), ErrorCode::kNotFound);
  EXPECT_CODE(d_->Move("/no/such/dir/src", "/other/dst"), ErrorCode::kNotFound);
  EXPECT_CODE(d_->Stat("/dst"), ErrorCode::kNotFound);
}

TEST_P(DriverConformance, MoveDirectoryMovesSubtree) {
  Put("/md/src/a", "1");
  Put("/md/src/sub/b", "2");
  ASSERT_OK(d_->Move("/md/src", "/md/moved/here"));
  EXPECT_EQ(Get("/md/moved/here/a"), "1");
  EXPECT_EQ(Get("/md/moved/here/sub/b"), "2");
  EXPECT_CODE(d_->Stat("/md/src"), ErrorCode::kNotFound);
}

TEST_P(DriverConformance, MoveOntoItselfKeepsContent) {
  Put("/same", "x");
  ASSERT_OK(d_->Move("/same", "/same"));
  EXPECT_EQ(Get("/same"), "x");
}

TEST_P(DriverConformance, MoveFileOverDirectoryIsIo) {
  Put("/src", "x");
  Put("/dst/child", "y");
  EXPECT_CODE(d_->Move("/src", "/dst"), ErrorCode::kIo);
  EXPECT_EQ(Get("/src"), "x");
  EXPECT_EQ(Get("/dst/child"), "y");
}

TEST_P(DriverConformance, MoveRootIsInvalidPath) {
  Put("/x", "1");
  EXPECT_CODE(d_->Move("/", "/y"), ErrorCode::kInvalidPath);
  EXPECT_CODE(d_->Move("/x", "/"), ErrorCode::kInvalidPath);
}

// --- Delete ---

TEST_P(DriverConformance, DeleteFile) {
  Put("/d/file", "x");
  Put("/d/other", "y");
  ASSERT_OK(d_->Delete("/d/file"));
  EXPECT_CODE(d_->Stat("/d/file"), ErrorCode::kNotFound);
  EXPECT_EQ(Get("/d/other"), "y");
}

TEST_P(DriverConformance, DeleteTreeLeavesSiblingsWithSharedPrefix) {
  Put("/d/b/x", "1");
  Put("/d/b/y/z", "2");
  Put("/d/b-c", "3");
  Put("/d/bc/w", "4");
  Put("/d/b0", "5");
  ASSERT_OK(d_->Delete("/d/b"));
  EXPECT_CODE(d_->Stat("/d/b"), ErrorCode::kNotFound);
  EXPECT_CODE(d_->Stat("/d/b/y/z"), ErrorCode::kNotFound);
  EXPECT_EQ(Get("/d/b-c"), "3");
  EXPECT_EQ(Get("/d/bc/w"), "4");
  EXPECT_EQ(Get("/d/b0"), "5");
}

TEST_P(DriverConformance, DeleteMissingIsNotFound) {
  EXPECT_CODE(d_->Delete("/missing"), ErrorCode::kNotFound);
  Put("/file", "x");
  EXPECT_CODE(d_->Delete("/file/below"), ErrorCode::kNotFound);
}

TEST_P(DriverConformance, DeleteRootEmptiesStoreAndStaysUsable) {
  Put("/a/b", "1");
  Put("/c", "2");
  ASSERT_OK(d_->Delete("/"));
  EXPECT_TRUE(SortedList("/").empty());
  Put("/again", "3");
  EXPECT_EQ(Get("/again"), "3");
}

// --- Walk ---

std::vector<std::string> WalkPaths(StorageDriver& d, const std::string& path,
                                   const std::set<std::string>& skip = {}) {
  std::vector<std::string> seen;
  auto st = d.Walk(path, [&](const FileInfo& info) {
    seen.push_back(info.path + (info.is_dir ? "/" : ""));
    return !skip.contains(info.path);
  });
  EXPECT_TRUE(st.has_value()) << st.error().ToString();
  return seen;
}

TEST_P(DriverConformance, WalkIsDepthFirstLexicalParentsFirst) {
  Put("/w/b", "1");
  Put("/w/a/y", "2");
  Put("/w/a/x", "3");
  Put("/w/a-c", "4");
  Put("/w/a0/z", "5");
  // Per-directory lexical order, not a global sort of full paths ("/w/a-c" < "/w/a/x" globally).
  EXPECT_EQ(WalkPaths(*d_, "/w"), (std::vector<std::string>{"/w/a/", "/w/a/x", "/w/a/y", "/w/a-c",
                                                            "/w/a0/", "/w/a0/z", "/w/b"}));
}

TEST_P(DriverConformance, WalkReportsSizesAndKinds) {
  Put("/w/dir/file", "12345");
  std::vector<FileInfo> seen;
  ASSERT_OK(d_->Walk("/w", [&](const FileInfo& info) {
    seen.push_back(info);
    return true;
  }));
  ASSERT_EQ(seen.size(), 2u);
  EXPECT_TRUE(seen[0].is_dir);
  EXPECT_EQ(seen[0].path, "/w/dir");
  EXPECT_FALSE(seen[1].is_dir);
  EXPECT_EQ(seen[1].size, 5u);
}

TEST_P(DriverConformance, WalkCallbackFalseSkipsChildren) {
  Put("/w/a/x", "1");
  Put("/w/a/y/z", "2");
  Put("/w/b/x", "3");
  EXPECT_EQ(WalkPaths(*d_, "/w", {"/w/a"}), (std::vector<std::string>{"/w/a/", "/w/b/", "/w/b/x"}));
  // Returning false for a file is harmless.
  EXPECT_EQ(WalkPaths(*d_, "/w/b", {"/w/b/x"}), (std::vector<std::string>{"/w/b/x"}));
}

TEST_P(DriverConformance, WalkFromRootCoversEverything) {
  Put("/a/b", "1");
  Put("/c", "2");
  EXPECT_EQ(WalkPaths(*d_, "/"), (std::vector<std::string>{"/a/", "/a/b", "/c"}));
}

TEST_P(DriverConformance, WalkMissingIsNotFound) {
  EXPECT_CODE(d_->Walk("/missing", [](const FileInfo&) { return true; }), ErrorCode::kNotFound);
}

// --- Path validation ---

TEST_P(DriverConformance, InvalidPathsAreRejectedEverywhere) {
  Put("/ok", "keep");
  const std::vector<std::string> invalid = {
      "",
      "a",
      "a/b",
      "/a/",
      "//",
      "//a",
      "/a//b",
      "/.",
      "/..",
      "/a/.",
      "/a/..",
      "/a/../b",
      "/./a",
      "/a b",
      "/a\tb",
      "/a:b",
      "/a\\b",
      "/a?b",
      "/a*b",
      "/~",
      "/\xc3\xa9",
      "/a/b/",
      std::string("/a\0b", 4),
      std::string("/\0", 2),
      "/a/\n",
  };
  for (const std::string& p : invalid) testing::ExpectEveryCallRejectsPath(*d_, p);
  EXPECT_EQ(Get("/ok"), "keep");
  EXPECT_EQ(SortedList("/"), (std::vector<std::string>{"/ok"}));
}

TEST_P(DriverConformance, TemporaryNamesAreReservedEverywhere) {
  Put("/t/real", "x");
  for (const char* p : {"/t/.berth-tmp-0123", "/.berth-tmp-x/y", "/t/real/.berth-tmp-"}) {
    testing::ExpectEveryCallRejectsPath(*d_, p);
  }
  EXPECT_EQ(SortedList("/t"), (std::vector<std::string>{"/t/real"}));
}

TEST_P(DriverConformance, PurgeTemporariesLeavesObjectsAlone) {
  Put("/p/a", "1");
  Put("/p/q/b", "2");
  auto removed = d_->PurgeTemporaries(SystemClock().Now() + std::chrono::hours(1));
  ASSERT_OK(removed);
  EXPECT_EQ(*removed, 0u);
  EXPECT_EQ(Get("/p/a"), "1");
  EXPECT_EQ(Get("/p/q/b"), "2");
}

TEST_P(DriverConformance, ValidUnusualPathsWork) {
  for (const std::string p : {"/...", "/.a", "/a.", "/-", "/_", "/a/.../b", "/A-Z_0.9"}) {
    Put(p, p);
    EXPECT_EQ(Get(p), p);
  }
}

TEST_P(DriverConformance, RedirectURLIsEmptyOrAUrl) {
  Put("/r", "x");
  auto url = d_->RedirectURL("/r", "GET");
  ASSERT_OK(url);
  EXPECT_TRUE(url->empty() || url->starts_with("http")) << *url;
}

// --- Concurrency ---

constexpr int kThreads = 16;

// Thread i's value: one repeated letter, with a length unique to the thread, so a torn or mixed
// write shows up either as a wrong length or a foreign letter.
std::string ValueFor(int i) {
  return std::string(64 * 1024 + 1000 * i, static_cast<char>('a' + i));
}

bool IsCompleteValue(const std::string& v) {
  if (v.empty()) return false;
  int i = v[0] - 'a';
  return i >= 0 && i < kThreads && v == ValueFor(i);
}

TEST_P(DriverConformance, ConcurrentPutContentLeavesOneCompleteValue) {
  constexpr int kRounds = 8;
  std::atomic<bool> done{false};
  std::atomic<int> torn{0};
  std::atomic<int> errors{0};
  // A reader racing the writers must see only absent or complete values.
  std::thread reader([&] {
    while (!done.load()) {
      auto got = d_->GetContent("/race/target");
      if (got ? !IsCompleteValue(*got) : !got.error().Is(ErrorCode::kNotFound)) ++torn;
    }
  });
  std::vector<std::thread> writers;
  for (int i = 0; i < kThreads; ++i) {
    writers.emplace_back([&, i] {
      for (int r = 0; r < kRounds; ++r) {
        if (!d_->PutContent("/race/target", ValueFor(i))) ++errors;
      }
    });
  }
  for (auto& t : writers) t.join();
  done = true;
  reader.join();
  EXPECT_EQ(errors.load(), 0);
  EXPECT_EQ(torn.load(), 0);
  EXPECT_TRUE(IsCompleteValue(Get("/race/target")));
  EXPECT_EQ(SortedList("/race"), (std::vector<std::string>{"/race/target"}));
}

TEST_P(DriverConformance, ConcurrentMoveToSamePathLeavesOneCompleteValue) {
  std::atomic<int> errors{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < kThreads; ++i) {
    threads.emplace_back([&, i] {
      std::string src = "/uploads/u" + std::to_string(i) + "/data";
      if (!d_->PutContent(src, ValueFor(i))) ++errors;
      if (!d_->Move(src, "/blobs/ab/abcdef/data")) ++errors;
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(errors.load(), 0);
  EXPECT_TRUE(IsCompleteValue(Get("/blobs/ab/abcdef/data")));
  EXPECT_EQ(SortedList("/blobs/ab/abcdef"), (std::vector<std::string>{"/blobs/ab/abcdef/data"}));
  for (int i = 0; i < kThreads; ++i) {
    EXPECT_CODE(d_->Stat("/uploads/u" + std::to_string(i) + "/data"), ErrorCode::kNotFound);
  }
}

TEST_P(DriverConformance, ConcurrentWritesCreateSharedParents) {
  std::atomic<int> errors{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < kThreads; ++i) {
    threads.emplace_back([&, i] {
      std::string n = std::to_string(i);
      if (!d_->PutContent("/shared/deep/parent/put" + n, n)) ++errors;
      auto w = d_->NewWriter("/shared/other/deep/parent/w" + n, false);
      if (!w || !(*w)->Write(n.data(), n.size()) || !(*w)->Commit()) ++errors;
      if (!d_->PutContent("/shared/m/src" + n, n) ||
          !d_->Move("/shared/m/src" + n, "/shared/moved/deep/dst" + n)) {
        ++errors;
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(errors.load(), 0);
  EXPECT_EQ(SortedList("/shared/deep/parent").size(), static_cast<size_t>(kThreads));
  EXPECT_EQ(SortedList("/shared/other/deep/parent").size(), static_cast<size_t>(kThreads));
  EXPECT_EQ(SortedList("/shared/moved/deep").size(), static_cast<size_t>(kThreads));
}

// --- Large objects ---

// Deterministic bytes that differ per chunk and position, so a misplaced chunk is caught.
void FillChunk(std::string& buf, uint64_t chunk_index) {
  uint64_t x = 0x9e3779b97f4a7c15ULL * (chunk_index + 1);
  for (size_t i = 0; i < buf.size(); i += 8) {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    for (size_t b = 0; b < 8 && i + b < buf.size(); ++b)
      buf[i + b] = static_cast<char>(x >> (8 * b));
  }
}

TEST_P(DriverConformance, StreamedWriteAndReadOf64MiB) {
  constexpr size_t kChunk = 1 << 20;
  constexpr uint64_t kChunks = 64;
  std::string chunk(kChunk, '\0');
  {
    auto writer = d_->NewWriter("/big/data", false);
    ASSERT_OK(writer);
    for (uint64_t c = 0; c < kChunks; ++c) {
      FillChunk(chunk, c);
      ASSERT_OK((*writer)->Write(chunk.data(), chunk.size()));
    }
    EXPECT_EQ((*writer)->Size(), kChunk * kChunks);
    ASSERT_OK((*writer)->Commit());
  }
  auto info = d_->Stat("/big/data");
  ASSERT_OK(info);
  EXPECT_EQ(info->size, kChunk * kChunks);

  auto reader = d_->NewReader("/big/data", 0);
  ASSERT_OK(reader);
  std::string got(kChunk, '\0');
  for (uint64_t c = 0; c < kChunks; ++c) {
    size_t filled = 0;
    while (filled < kChunk) {
      auto n = (*reader)->Read(got.data() + filled, kChunk - filled);
      ASSERT_OK(n);
      ASSERT_GT(*n, 0u) << "early EOF in chunk " << c;
      filled += *n;
    }
    FillChunk(chunk, c);
    ASSERT_TRUE(got == chunk) << "chunk " << c << " differs";
  }
  auto eof = (*reader)->Read(got.data(), got.size());
  ASSERT_OK(eof);
  EXPECT_EQ(*eof, 0u);

  // A reader opened at the last chunk boundary sees exactly the last chunk.
  auto tail = d_->NewReader("/big/data", kChunk * (kChunks - 1));
  ASSERT_OK(tail);
  FillChunk(chunk, kChunks - 1);
  EXPECT_TRUE(ReadAll(**tail, kChunk) == chunk);
}

INSTANTIATE_TEST_SUITE_P(Drivers, DriverConformance, ::testing::ValuesIn(kDrivers),
                         [](const ::testing::TestParamInfo<DriverKind>& info) {
                           return std::string(info.param.name);
                         });

}  // namespace
}  // namespace berth::storage::driver
