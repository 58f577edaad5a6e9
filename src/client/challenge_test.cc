#include "client/challenge.h"

#include <gtest/gtest.h>

namespace berth::client {
namespace {

TEST(Challenge, ParsesBearerWithQuotedParameters) {
  auto cs = ParseChallenges(
      R"(Bearer realm="https://auth.example/token",service="registry.example",scope="repository:a/b:pull,push")");
  ASSERT_EQ(cs.size(), 1u);
  EXPECT_EQ(cs[0].scheme, "bearer");
  EXPECT_EQ(cs[0].Param("realm"), "https://auth.example/token");
  EXPECT_EQ(cs[0].Param("service"), "registry.example");
  EXPECT_EQ(cs[0].Param("scope"), "repository:a/b:pull,push");
}

TEST(Challenge, ParsesSeveralChallengesEscapesAndTokens) {
  auto cs =
      ParseChallenges(R"(Basic realm="a \"quoted\" realm", Bearer realm=x,error=invalid_token)");
  ASSERT_EQ(cs.size(), 2u);
  EXPECT_EQ(cs[0].scheme, "basic");
  EXPECT_EQ(cs[0].Param("realm"), "a \"quoted\" realm");
  EXPECT_EQ(cs[1].scheme, "bearer");
  EXPECT_EQ(cs[1].Param("realm"), "x");
  EXPECT_EQ(cs[1].Param("error"), "invalid_token");
}

TEST(Challenge, MalformedInputNeverThrowsOrLoops) {
  for (const char* s : {"", ",,,", "Bearer realm=\"unterminated", "=", "Bearer ,=,", "\"x\"",
                        "Bearer realm", "Basic ===="}) {
    auto cs = ParseChallenges(s);
    EXPECT_LE(cs.size(), 2u) << s;
  }
  EXPECT_TRUE(ParseChallenges("").empty());
}

}  // namespace
}  // namespace berth::client
