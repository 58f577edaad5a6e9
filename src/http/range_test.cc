#include "http/range.h"

#include <gtest/gtest.h>

#include <random>
#include <string>

namespace berth::http {
namespace {

// Unwraps a ParseRange result that must be a range.
ByteRange MustRange(std::string_view header, uint64_t size) {
  auto r = ParseRange(header, size);
  EXPECT_TRUE(r.has_value()) << header;
  if (!r) return {};
  EXPECT_TRUE(r->has_value()) << header;
  return r->value_or(ByteRange{});
}

bool Ignored(std::string_view header, uint64_t size) {
  auto r = ParseRange(header, size);
  return r.has_value() && !r->has_value();
}

bool Unsatisfiable(std::string_view header, uint64_t size) {
  auto r = ParseRange(header, size);
  return !r.has_value() && r.error().code == ErrorCode::kRangeInvalid;
}

TEST(ParseRange, FirstLast) {
  ByteRange r = MustRange("bytes=0-99", 1000);
  EXPECT_EQ(r.first, 0u);
  EXPECT_EQ(r.last, 99u);
  EXPECT_EQ(r.length(), 100u);
}

TEST(ParseRange, OpenEndedRunsToTheEnd) {
  ByteRange r = MustRange("bytes=500-", 1000);
  EXPECT_EQ(r.first, 500u);
  EXPECT_EQ(r.last, 999u);
}

TEST(ParseRange, LastBeyondSizeIsClamped) {
  ByteRange r = MustRange("bytes=10-5000", 1000);
  EXPECT_EQ(r.first, 10u);
  EXPECT_EQ(r.last, 999u);
  r = MustRange("bytes=10-99999999999999999999999999", 1000);
  EXPECT_EQ(r.last, 999u);
}

TEST(ParseRange, SuffixSelectsTheLastBytes) {
  ByteRange r = MustRange("bytes=-100", 1000);
  EXPECT_EQ(r.first, 900u);
  EXPECT_EQ(r.last, 999u);
}

TEST(ParseRange, SuffixLongerThanObjectSelectsAll) {
  ByteRange r = MustRange("bytes=-5000", 1000);
  EXPECT_EQ(r.first, 0u);
  EXPECT_EQ(r.last, 999u);
}

TEST(ParseRange, UnitIsCaseInsensitiveAndSpacesAreTolerated) {
  ByteRange r = MustRange("  Bytes=1-2 ", 10);
  EXPECT_EQ(r.first, 1u);
  EXPECT_EQ(r.last, 2u);
  r = MustRange("bytes= 3-4 ,", 10);
  EXPECT_EQ(r.first, 3u);
}

TEST(ParseRange, IgnoredForms) {
  EXPECT_TRUE(Ignored("", 10));
  EXPECT_TRUE(Ignored("items=0-1", 10));
  EXPECT_TRUE(Ignored("bytes=0-1,3-4", 10));
  EXPECT_TRUE(Ignored("bytes=", 10));
  EXPECT_TRUE(Ignored("bytes=-", 10));
  EXPECT_TRUE(Ignored("bytes=a-b", 10));
  EXPECT_TRUE(Ignored("bytes=5-1", 10));  // first > last: invalid, so ignored
  EXPECT_TRUE(Ignored("bytes=1", 10));
  EXPECT_TRUE(Ignored("bytes=+1-2", 10));
  EXPECT_TRUE(Ignored("bytes=1-2-3", 10));
  EXPECT_TRUE(Ignored("bytes 0-1", 10));
  EXPECT_TRUE(Ignored("bytes=-1x", 10));
}

TEST(ParseRange, UnsatisfiableIsRangeInvalid) {
  EXPECT_TRUE(Unsatisfiable("bytes=1000-", 1000));
  EXPECT_TRUE(Unsatisfiable("bytes=1000-2000", 1000));
  EXPECT_TRUE(Unsatisfiable("bytes=0-0", 0));
  EXPECT_TRUE(Unsatisfiable("bytes=-0", 1000));
  EXPECT_TRUE(Unsatisfiable("bytes=99999999999999999999999-", 1000));
}

TEST(ParseRange, SuffixOfEmptyObjectServesItWhole) { EXPECT_TRUE(Ignored("bytes=-5", 0)); }

TEST(ParseRange, LastByte) {
  ByteRange r = MustRange("bytes=999-999", 1000);
  EXPECT_EQ(r.length(), 1u);
}

TEST(ParseContentRange, DistributionForm) {
  auto r = ParseContentRange("0-1023");
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->first, 0u);
  EXPECT_EQ(r->last, 1023u);
}

TEST(ParseContentRange, RfcForms) {
  auto r = ParseContentRange("bytes 10-19/100");
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->first, 10u);
  EXPECT_EQ(r->last, 19u);
  r = ParseContentRange("bytes 10-19/*");
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->last, 19u);
  r = ParseContentRange("bytes=5-6");
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->first, 5u);
  EXPECT_EQ(r->last, 6u);
}

TEST(ParseContentRange, SingleByte) {
  auto r = ParseContentRange("7-7");
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->length(), 1u);
}

TEST(ParseContentRange, InvalidFormsAreRangeInvalid) {
  for (std::string_view bad :
       {"", "-", "1-", "-1", "5-4", "a-b", "1-2/3", "bytes 1-2", "bytes 1-2/x", "bytes 1-5/5",
        "bytes=1-", "0-99999999999999999999999", "+1-2", "1 - 2", "bytes */100", "1-2-3"}) {
    auto r = ParseContentRange(bad);
    ASSERT_FALSE(r.has_value()) << bad;
    EXPECT_EQ(r.error().code, ErrorCode::kRangeInvalid) << bad;
  }
}

// Random strings over an alphabet biased toward the grammar: never a crash, never another code.
TEST(RangeFuzz, RandomInputOnlyYieldsRangeInvalid) {
  std::mt19937_64 rng(12345);
  const std::string alphabet = "0123456789-=,/* bytesBYTES\t+x";
  const std::vector<std::string> seeds = {"bytes=", "bytes ", "", "bytes=-", "bytes=0-"};
  for (int i = 0; i < 50000; ++i) {
    std::string s = seeds[rng() % seeds.size()];
    size_t len = rng() % 40;
    for (size_t j = 0; j < len; ++j) {
      if (rng() % 16 == 0) {
        s.push_back(static_cast<char>(rng() % 256));
      } else {
        s.push_back(alphabet[rng() % alphabet.size()]);
      }
    }
    uint64_t size = (rng() % 4 == 0) ? 0 : rng() % 100000;
    if (rng() % 8 == 0) size = rng();
    auto r = ParseRange(s, size);
    if (r.has_value()) {
      if (r->has_value()) {
        ASSERT_LE((*r)->first, (*r)->last) << s;
        ASSERT_LT((*r)->last, size) << s;
      }
    } else {
      ASSERT_EQ(r.error().code, ErrorCode::kRangeInvalid) << s;
    }
    auto c = ParseContentRange(s);
    if (c.has_value()) {
      ASSERT_LE(c->first, c->last) << s;
    } else {
      ASSERT_EQ(c.error().code, ErrorCode::kRangeInvalid) << s;
    }
  }
}

}  // namespace
}  // namespace berth::http
