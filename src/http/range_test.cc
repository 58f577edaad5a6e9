#include "http/range.h"

#include <gtest/gtest.h>

#include <optional>
#include <random>
#include <string>

namespace berth::http {
namespace {

// Expects `r` (what parsing `input` gave, if a range) to name bytes first..last.
void ExpectBytes(std::string_view input, const std::optional<ByteRange>& r, uint64_t first,
                 uint64_t last) {
  ASSERT_TRUE(r.has_value()) << input;
  EXPECT_EQ(r->first, first) << input;
  EXPECT_EQ(r->last, last) << input;
}

bool Ignored(std::string_view header, uint64_t size) {
  auto r = ParseRange(header, size);
  return r.has_value() && !r->has_value();
}

bool Unsatisfiable(std::string_view header, uint64_t size) {
  auto r = ParseRange(header, size);
  return !r.has_value() && r.error().code == ErrorCode::kRangeInvalid;
}

// Expects `header` over an object of `size` bytes to select bytes first..last.
void ExpectRange(std::string_view header, uint64_t size, uint64_t first, uint64_t last) {
  auto r = ParseRange(header, size);
  ExpectBytes(header, r ? *r : std::nullopt, first, last);
}

TEST(ParseRange, FirstLast) {
  ExpectRange("bytes=0-99", 1000, 0, 99);
  EXPECT_EQ(ParseRange("bytes=0-99", 1000)->value().length(), 100u);
}

TEST(ParseRange, OpenEndedRunsToTheEnd) { ExpectRange("bytes=500-", 1000, 500, 999); }

TEST(ParseRange, LastBeyondSizeIsClamped) {
  ExpectRange("bytes=10-5000", 1000, 10, 999);
  ExpectRange("bytes=10-99999999999999999999999999", 1000, 10, 999);
}

TEST(ParseRange, SuffixSelectsTheLastBytes) { ExpectRange("bytes=-100", 1000, 900, 999); }

TEST(ParseRange, SuffixLongerThanObjectSelectsAll) { ExpectRange("bytes=-5000", 1000, 0, 999); }

TEST(ParseRange, UnitIsCaseInsensitiveAndSpacesAreTolerated) {
  ExpectRange("  Bytes=1-2 ", 10, 1, 2);
  ExpectRange("bytes= 3-4 ,", 10, 3, 4);
}

TEST(ParseRange, IgnoredForms) {
  // "bytes=5-1": first > last is invalid, so ignored.
  for (std::string_view h :
       {"", "items=0-1", "bytes=0-1,3-4", "bytes=", "bytes=-", "bytes=a-b", "bytes=5-1", "bytes=1",
        "bytes=+1-2", "bytes=1-2-3", "bytes 0-1", "bytes=-1x"}) {
    EXPECT_TRUE(Ignored(h, 10)) << h;
  }
}

TEST(ParseRange, UnsatisfiableIsRangeInvalid) {
  const std::pair<std::string_view, uint64_t> cases[] = {{"bytes=1000-", 1000},
                                                         {"bytes=1000-2000", 1000},
                                                         {"bytes=0-0", 0},
                                                         {"bytes=-0", 1000},
                                                         {"bytes=99999999999999999999999-", 1000}};
  for (const auto& [header, size] : cases) EXPECT_TRUE(Unsatisfiable(header, size)) << header;
}

TEST(ParseRange, SuffixOfEmptyObjectServesItWhole) { EXPECT_TRUE(Ignored("bytes=-5", 0)); }

TEST(ParseRange, LastByte) {
  ExpectRange("bytes=999-999", 1000, 999, 999);
  EXPECT_EQ(ParseRange("bytes=999-999", 1000)->value().length(), 1u);
}

// Expects the Content-Range value `value` to name bytes first..last.
void ExpectContentRange(std::string_view value, uint64_t first, uint64_t last) {
  auto r = ParseContentRange(value);
  ExpectBytes(value, r ? std::optional<ByteRange>(*r) : std::nullopt, first, last);
}

TEST(ParseContentRange, DistributionForm) { ExpectContentRange("0-1023", 0, 1023); }

TEST(ParseContentRange, RfcForms) {
  ExpectContentRange("bytes 10-19/100", 10, 19);
  ExpectContentRange("bytes 10-19/*", 10, 19);
  ExpectContentRange("bytes=5-6", 5, 6);
}

TEST(ParseContentRange, SingleByte) {
  ExpectContentRange("7-7", 7, 7);
  EXPECT_EQ(ParseContentRange("7-7")->length(), 1u);
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
