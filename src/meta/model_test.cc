#include "meta/model.h"

#include <gtest/gtest.h>

namespace berth::meta {
namespace {

TEST(Model, ScopesParseAndFormat) {
  auto s = ParseScopeSpec("acme/*:pull,push");
  ASSERT_TRUE(s);
  EXPECT_EQ(s->glob, "acme/*");
  EXPECT_EQ(s->actions, (std::vector<std::string>{"pull", "push"}));
  EXPECT_EQ(FormatScope(*ParseScopeSpec("*:*")), "*:pull,push,delete");
  for (const char* bad : {"", "acme", ":pull", "acme/*:", "acme/*:write", "a b:pull", "x:pull,"}) {
    EXPECT_FALSE(ParseScopeSpec(bad)) << bad;
  }
}

TEST(Model, RolesAreCumulative) {
  EXPECT_EQ(ParseRole("write").value(), Role::kWrite);
  EXPECT_FALSE(ParseRole("owner"));
  EXPECT_GE(Role::kDelete, RoleFor("push"));
  EXPECT_LT(Role::kRead, RoleFor("push"));
  EXPECT_EQ(RoleFor("pull"), Role::kRead);
}

TEST(Model, SizesParse) {
  EXPECT_EQ(ParseBytes("10GiB").value(), uint64_t{10} << 30);
  EXPECT_EQ(ParseBytes("500 MB").value(), 500'000'000u);
  EXPECT_EQ(ParseBytes("1024").value(), 1024u);
  for (const char* bad : {"", "GiB", "-1", "1.2.3GiB", "10 parsecs", "1e30"}) {
    EXPECT_FALSE(ParseBytes(bad)) << bad;
  }
  EXPECT_EQ(FormatBytes(1536), "1.5 KiB");
}

TEST(Model, NamespaceIsTheFirstComponent) {
  EXPECT_EQ(NamespaceOf("acme/app/x"), "acme");
  EXPECT_EQ(NamespaceOf("ubuntu"), "");
}

}  // namespace
}  // namespace berth::meta
