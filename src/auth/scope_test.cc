#include "auth/scope.h"

#include <gtest/gtest.h>

namespace berth::auth {
namespace {

TEST(Scope, ParsesRepositoryScope) {
  auto a = ParseScope("repository:team/app:pull,push");
  ASSERT_TRUE(a) << a.error().ToString();
  EXPECT_EQ(*a, (std::vector<Access>{{"repository", "team/app", "pull"},
                                     {"repository", "team/app", "push"}}));
}

TEST(Scope, ParsesCatalogScope) {
  auto a = ParseScope("registry:catalog:*");
  ASSERT_TRUE(a);
  EXPECT_EQ(*a, (std::vector<Access>{{"registry", "catalog", "*"}}));
}

TEST(Scope, DropsResourceClass) {
  auto a = ParseScope("repository(plugin):x/y:pull");
  ASSERT_TRUE(a);
  EXPECT_EQ((*a)[0].type, "repository");
}

TEST(Scope, ParsesSeveralSpaceSeparatedAndDeduplicates) {
  auto a = ParseScopes("repository:a:pull repository:b:push,pull repository:a:pull");
  ASSERT_TRUE(a);
  EXPECT_EQ(a->size(), 3u);
}

TEST(Scope, MalformedIsAnError) {
  for (const char* bad :
       {"", "repository", "repository:app", "repository:app:", "repository::pull",
        "repository:app:pull,", "repository:App:pull", "repository:app:PULL",
        "repository:localhost:5000/app:pull", "repository:app/../system/core:pull",
        "repository:/app:pull", "repo sitory:app:pull", "repository(:app:pull"}) {
    EXPECT_FALSE(ParseScope(bad)) << bad;
  }
  EXPECT_EQ(ParseScope("repository:a/../b:pull").error().code, ErrorCode::kNameInvalid);
  EXPECT_EQ(ParseScope("repository:app").error().HttpStatus(), 400);
}

TEST(Scope, FormatGroupsByResource) {
  std::vector<Access> needed = {{"repository", "team/app", "pull"},
                                {"repository", "team/app", "push"},
                                {"repository", "base", "pull"},
                                {"registry", "catalog", "*"}};
  EXPECT_EQ(FormatScopes(needed),
            "repository:team/app:pull,push repository:base:pull registry:catalog:*");
  EXPECT_EQ(FormatScopes({}), "");
}

}  // namespace
}  // namespace berth::auth
