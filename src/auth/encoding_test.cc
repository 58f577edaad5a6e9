#include "auth/encoding.h"

#include <gtest/gtest.h>

namespace berth::auth {
namespace {

TEST(Encoding, Base64RoundTripsEveryLength) {
  std::string bytes;
  for (int i = 0; i < 40; ++i) {
    EXPECT_EQ(Base64Decode(Base64Encode(bytes)), bytes);
    EXPECT_EQ(Base64UrlDecode(Base64UrlEncode(bytes)), bytes);
    bytes += static_cast<char>(i * 37 + 250);
  }
}

TEST(Encoding, Base64KnownValues) {
  EXPECT_EQ(Base64Encode("user:pass"), "dXNlcjpwYXNz");
  EXPECT_EQ(Base64Encode("a"), "YQ==");
  EXPECT_EQ(Base64Decode("YQ=="), "a");
  EXPECT_EQ(Base64Decode("YQ"), "a");
  EXPECT_EQ(Base64UrlEncode("\xfb\xff"), "-_8");
}

TEST(Encoding, StrictDecodingRefusesJunk) {
  EXPECT_FALSE(Base64UrlDecode("YQ=="));  // padding never appears in JWS
  EXPECT_FALSE(Base64UrlDecode("Y"));     // impossible length
  EXPECT_FALSE(Base64UrlDecode("YR"));    // non-zero trailing bits
  EXPECT_FALSE(Base64UrlDecode("a+b/"));  // standard alphabet in base64url
  EXPECT_FALSE(Base64Decode("YQ=a"));
  EXPECT_FALSE(Base64Decode("Y Q=="));
  EXPECT_FALSE(Base64Decode("=YQ="));
  EXPECT_EQ(Base64UrlDecode(""), "");
}

TEST(Encoding, Base32) {
  EXPECT_EQ(Base32Encode("foobar"), "MZXW6YTBOI======");
  EXPECT_EQ(Base32Encode(std::string(30, '\0')).size(), 48u);
}

}  // namespace
}  // namespace berth::auth
