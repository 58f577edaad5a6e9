#include "common/strings.h"

#include <gtest/gtest.h>

namespace berth {
namespace {

TEST(Strings, ParseUint64Strict) {
  EXPECT_EQ(ParseUint64("0"), 0u);
  EXPECT_EQ(ParseUint64("18446744073709551615"), UINT64_MAX);
  EXPECT_FALSE(ParseUint64("18446744073709551616"));
  EXPECT_FALSE(ParseUint64("-1"));
  EXPECT_FALSE(ParseUint64(""));
  EXPECT_FALSE(ParseUint64("1a"));
  EXPECT_FALSE(ParseUint64(" 1"));
}

TEST(Strings, UrlDecode) {
  EXPECT_EQ(UrlDecode("a%2Fb"), "a/b");
  EXPECT_EQ(UrlDecode("a+b"), "a b");
  EXPECT_EQ(UrlDecode("a+b", false), "a+b");
  EXPECT_FALSE(UrlDecode("a%2"));
  EXPECT_FALSE(UrlDecode("a%zz"));
  EXPECT_FALSE(UrlDecode("%"));
}

TEST(Strings, UuidShape) {
  auto u = NewUuid();
  ASSERT_EQ(u.size(), 36u);
  EXPECT_EQ(u[14], '4');
  EXPECT_NE(NewUuid(), u);
}

TEST(Strings, SplitAndCase) {
  auto parts = Split("a/b//c", '/');
  ASSERT_EQ(parts.size(), 4u);
  EXPECT_EQ(parts[2], "");
  EXPECT_TRUE(IEquals("Content-Type", "content-type"));
  EXPECT_EQ(ToLower("AbC"), "abc");
}

}  // namespace
}  // namespace berth

TEST(Strings, QuoteEscapeKeepsAQuotedStringClosed) {
  EXPECT_EQ(berth::QuoteEscape("plain"), "plain");
  EXPECT_EQ(berth::QuoteEscape("a\"b\\c"), "a\\\"b\\\\c");
}
