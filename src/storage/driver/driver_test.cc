// Path validation (including a fuzz loop over every driver method) and the default Walk.

#include "storage/driver/driver.h"

#include <gtest/gtest.h>

#include <random>
#include <regex>
#include <string>
#include <vector>

#include "storage/driver/driver_testing.h"
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
  return std::regex_match(p, kShape) && !std::regex_search(p, kDotComponent);
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

}  // namespace
}  // namespace berth::storage::driver
