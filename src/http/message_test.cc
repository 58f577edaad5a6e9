#include "http/message.h"

#include <gtest/gtest.h>

namespace berth::http {
namespace {

TEST(Headers, GetIsCaseInsensitiveAndReturnsFirstValue) {
  Headers h;
  h.Add("Content-Type", "application/json");
  h.Add("X-Multi", "a");
  h.Add("x-multi", "b");
  EXPECT_EQ(h.Get("content-type"), "application/json");
  EXPECT_EQ(h.Get("X-MULTI"), "a");
  EXPECT_TRUE(h.Has("CONTENT-TYPE"));
}

TEST(Headers, AbsentHeaderIsEmpty) {
  Headers h;
  EXPECT_EQ(h.Get("Missing"), "");
  EXPECT_FALSE(h.Has("Missing"));
  EXPECT_TRUE(h.GetAll("Missing").empty());
}

TEST(Headers, GetAllKeepsOrder) {
  Headers h;
  h.Add("Link", "1");
  h.Add("Other", "x");
  h.Add("LINK", "2");
  std::vector<std::string_view> all = h.GetAll("link");
  ASSERT_EQ(all.size(), 2u);
  EXPECT_EQ(all[0], "1");
  EXPECT_EQ(all[1], "2");
}

TEST(Headers, SetReplacesEveryValue) {
  Headers h;
  h.Add("A", "1");
  h.Add("a", "2");
  h.Add("B", "3");
  h.Set("A", "4");
  EXPECT_EQ(h.GetAll("a").size(), 1u);
  EXPECT_EQ(h.Get("a"), "4");
  EXPECT_EQ(h.Get("b"), "3");
}

TEST(Headers, RemoveDropsEveryValue) {
  Headers h;
  h.Add("A", "1");
  h.Add("B", "2");
  h.Add("a", "3");
  h.Remove("A");
  EXPECT_FALSE(h.Has("a"));
  ASSERT_EQ(h.items().size(), 1u);
  EXPECT_EQ(h.items()[0].first, "B");
}

}  // namespace
}  // namespace berth::http
