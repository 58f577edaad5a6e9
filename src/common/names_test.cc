#include "common/names.h"

#include <gtest/gtest.h>

#include <random>
#include <vector>

#include "common/random_testing.h"

namespace berth {
namespace {

TEST(Names, ValidRepositoryNames) {
  for (const char* n : {"a", "library/busybox", "team/app", "a/b/c/d", "my-app", "my__app",
                        "my.app", "a--b", "0", "x9/y_z"}) {
    EXPECT_TRUE(ValidateRepositoryName(n).has_value()) << n;
  }
}

TEST(Names, InvalidRepositoryNamesAreNameInvalid) {
  for (const std::string& n : std::vector<std::string>{
           "", "Upper", "a//b", "/a", "a/", "..", "a/../b", "app/../system/core", ".a", "a.",
           "a___b", "a_-b", "a b", "a%2fb", "-a", "a/-b", std::string(256, 'a')}) {
    auto st = ValidateRepositoryName(n);
    ASSERT_FALSE(st.has_value()) << n;
    EXPECT_EQ(st.error().code, ErrorCode::kNameInvalid) << n;
  }
}

TEST(Names, Tags) {
  EXPECT_TRUE(ValidateTag("latest").has_value());
  EXPECT_TRUE(ValidateTag("v1.2.3-rc_1").has_value());
  EXPECT_TRUE(ValidateTag("_x").has_value());
  EXPECT_TRUE(ValidateTag(std::string(128, 'a')).has_value());
  for (const std::string& t :
       std::vector<std::string>{"", ".x", "-x", "a/b", "a:b", std::string(129, 'a'), "a b"}) {
    auto st = ValidateTag(t);
    ASSERT_FALSE(st.has_value()) << t;
    EXPECT_EQ(st.error().code, ErrorCode::kTagInvalid);
  }
}

TEST(Names, References) {
  auto r = ParseReference("latest");
  ASSERT_TRUE(r.has_value());
  EXPECT_FALSE(r->is_digest());
  auto d = ParseReference("sha256:" + std::string(64, '0'));
  ASSERT_TRUE(d.has_value());
  EXPECT_TRUE(d->is_digest());
  auto bad = ParseReference("sha256:totallywrong");
  ASSERT_FALSE(bad.has_value());
  EXPECT_EQ(bad.error().code, ErrorCode::kDigestInvalid);
}

TEST(NamesFuzz, RandomNamesNeverCrash) {
  std::mt19937 rng(7);
  constexpr std::string_view kAlphabet = "abcXYZ019._-/:% \x01";
  for (int i = 0; i < 20000; ++i) {
    std::string s = RandomString(rng, kAlphabet, 40);
    auto st = ValidateRepositoryName(s);
    if (!st) {
      EXPECT_EQ(st.error().code, ErrorCode::kNameInvalid);
    }
    auto ref = ParseReference(s);
    if (!ref) {
      EXPECT_TRUE(ref.error().code == ErrorCode::kTagInvalid ||
                  ref.error().code == ErrorCode::kDigestInvalid);
    }
  }
}

}  // namespace
}  // namespace berth

TEST(HostPort, AcceptsNamesAddressesAndPorts) {
  for (const char* ok : {"localhost", "127.0.0.1:5000", "registry.example.com", "[::1]:443",
                         "[::1]", "a-b.c:1", "x:65535"}) {
    EXPECT_TRUE(berth::IsValidHostPort(ok)) << ok;
  }
}

TEST(HostPort, RejectsAnythingThatCouldInjectIntoHeaders) {
  for (const char* bad : {"", "evil.com\"", "a b", "a/b", "user@host", "host:", "host:99999",
                          "host:12a", "[::1", "[zz::1]", "a\r\nb", "\"", "[::1]x", ":80"}) {
    EXPECT_FALSE(berth::IsValidHostPort(bad)) << bad;
  }
}
