// GET /v2/<name>/tags/list and GET /v2/_catalog, with n/last pagination and Link headers.

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "test/api/api_test_util.h"

namespace berth::testing {
namespace {

using Catalog = ApiTest;
using Tags = ApiTest;

using nlohmann::json;

// Splits a path+query into its path and its decoded query parameters.
struct Target {
  std::string path;
  std::vector<std::pair<std::string, std::string>> params;
  std::string Param(std::string_view key) const {
    for (const auto& [k, v] : params) {
      if (k == key) return v;
    }
    return "<absent>";
  }
};

std::string Unescape(std::string_view s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%' && i + 2 < s.size()) {
      out += static_cast<char>(std::stoi(std::string(s.substr(i + 1, 2)), nullptr, 16));
      i += 2;
    } else if (s[i] == '+') {
      out += ' ';
    } else {
      out += s[i];
    }
  }
  return out;
}

Target ParseTarget(std::string_view t) {
  Target out;
  size_t q = t.find('?');
  out.path = std::string(t.substr(0, q));
  if (q == std::string_view::npos) return out;
  std::string_view rest = t.substr(q + 1);
  while (!rest.empty()) {
    size_t amp = rest.find('&');
    std::string_view kv = rest.substr(0, amp);
    size_t eq = kv.find('=');
    out.params.emplace_back(Unescape(kv.substr(0, eq)),
                            eq == std::string_view::npos ? "" : Unescape(kv.substr(eq + 1)));
    rest = amp == std::string_view::npos ? std::string_view() : rest.substr(amp + 1);
  }
  return out;
}

// Pushes one image and tags it with every name in `tags`.
void PushTags(HttpClient& c, std::string_view repo, const std::vector<std::string>& tags) {
  PushedImage img = PushImage(c, repo, tags.at(0), 1);
  for (size_t i = 1; i < tags.size(); ++i)
    PushManifest(c, repo, tags[i], kOciManifest, img.manifest);
}

std::vector<std::string> Strings(const json& j) {
  std::vector<std::string> out;
  if (!j.is_array()) return out;
  for (const auto& e : j) out.push_back(e.get<std::string>());
  return out;
}

TEST_F(Tags, ListIsLexical) {
  PushTags(c(), "lib/app", {"v9", "latest", "v10", "V1", "1.0", "a_b"});
  Response r = c().Request("GET", "/v2/lib/app/tags/list");
  ASSERT_STATUS(r, 200);
  EXPECT_TRUE(r.Header("Content-Type").starts_with("application/json")) << r.Header("Content-Type");
  auto j = JsonBody(r);
  ASSERT_TRUE(j);
  EXPECT_EQ((*j)["name"], "lib/app");
  EXPECT_EQ(Strings((*j)["tags"]),
            (std::vector<std::string>{"1.0", "V1", "a_b", "latest", "v10", "v9"}));
  EXPECT_FALSE(r.HasHeader("Link"));
}

TEST_F(Tags, PaginationFollowsLinkUntilExhausted) {
  PushTags(c(), "lib/app", {"c", "a", "e", "b", "d"});

  Response p1 = c().Request("GET", "/v2/lib/app/tags/list?n=2");
  ASSERT_STATUS(p1, 200);
  EXPECT_EQ(Strings(JsonBody(p1).value_or(json())["tags"]), (std::vector<std::string>{"a", "b"}));
  std::string next = NextLink(p1);
  ASSERT_FALSE(next.empty()) << "no Link rel=\"next\" on a partial page";
  Target t = ParseTarget(next);
  EXPECT_EQ(t.path, "/v2/lib/app/tags/list");
  EXPECT_EQ(t.Param("last"), "b");
  EXPECT_EQ(t.Param("n"), "2");

  Response p2 = c().Request("GET", next);
  ASSERT_STATUS(p2, 200);
  EXPECT_EQ(Strings(JsonBody(p2).value_or(json())["tags"]), (std::vector<std::string>{"c", "d"}));
  next = NextLink(p2);
  ASSERT_FALSE(next.empty());
  EXPECT_EQ(ParseTarget(next).Param("last"), "d");

  Response p3 = c().Request("GET", next);
  ASSERT_STATUS(p3, 200);
  EXPECT_EQ(Strings(JsonBody(p3).value_or(json())["tags"]), (std::vector<std::string>{"e"}));
  EXPECT_TRUE(NextLink(p3).empty()) << "Link on the last page: " << p3.Header("Link");
}

TEST_F(Tags, LastStartsAfterTheGivenTag) {
  PushTags(c(), "lib/app", {"a", "b", "c", "d"});
  Response r = c().Request("GET", "/v2/lib/app/tags/list?last=b");
  ASSERT_STATUS(r, 200);
  EXPECT_EQ(Strings(JsonBody(r).value_or(json())["tags"]), (std::vector<std::string>{"c", "d"}));
  // `last` need not be an existing tag.
  Response between = c().Request("GET", "/v2/lib/app/tags/list?last=bb&n=1");
  ASSERT_STATUS(between, 200);
  EXPECT_EQ(Strings(JsonBody(between).value_or(json())["tags"]), (std::vector<std::string>{"c"}));
  Response past = c().Request("GET", "/v2/lib/app/tags/list?last=z");
  ASSERT_STATUS(past, 200);
  EXPECT_TRUE(Strings(JsonBody(past).value_or(json())["tags"]).empty());
}

TEST_F(Tags, LargeNReturnsEverythingWithoutLink) {
  PushTags(c(), "lib/app", {"a", "b", "c"});
  Response r = c().Request("GET", "/v2/lib/app/tags/list?n=100");
  ASSERT_STATUS(r, 200);
  EXPECT_EQ(Strings(JsonBody(r).value_or(json())["tags"]),
            (std::vector<std::string>{"a", "b", "c"}));
  EXPECT_TRUE(NextLink(r).empty());
}

TEST_F(Tags, NZeroIsAnEmptyList) {
  PushTags(c(), "lib/app", {"a", "b"});
  Response r = c().Request("GET", "/v2/lib/app/tags/list?n=0");
  ASSERT_STATUS(r, 200);
  auto j = JsonBody(r);
  ASSERT_TRUE(j);
  EXPECT_EQ((*j)["name"], "lib/app");
  EXPECT_TRUE((*j)["tags"].is_array() && (*j)["tags"].empty()) << r.body;
}

TEST_F(Tags, InvalidNIsPaginationNumberInvalid) {
  PushTags(c(), "lib/app", {"a"});
  for (std::string n : {"-1", "abc", "1x", ""}) {
    Response r = c().Request("GET", "/v2/lib/app/tags/list?n=" + n);
    if (n.empty() && r.status == 200) continue;  // "n=" may read as absent
    EXPECT_ERROR(r, 400, "PAGINATION_NUMBER_INVALID") << "n=" << n;
  }
}

TEST_F(Tags, UnknownRepositoryIsNameUnknown) {
  EXPECT_ERROR(c().Request("GET", "/v2/no/such/repo/tags/list"), 404, "NAME_UNKNOWN");
}

TEST_F(Catalog, EmptyRegistryHasNoRepositories) {
  Response r = c().Request("GET", "/v2/_catalog");
  ASSERT_STATUS(r, 200);
  auto j = JsonBody(r);
  ASSERT_TRUE(j);
  EXPECT_TRUE((*j)["repositories"].is_array() && (*j)["repositories"].empty()) << r.body;
}

TEST_F(Catalog, ListsRepositoriesLexically) {
  for (const char* repo : {"zeta", "alpha/two", "beta", "alpha/one", "gamma/x/y"}) {
    PushImage(c(), repo, "latest", 1);
  }
  Response r = c().Request("GET", "/v2/_catalog");
  ASSERT_STATUS(r, 200);
  EXPECT_TRUE(r.Header("Content-Type").starts_with("application/json"));
  auto j = JsonBody(r);
  ASSERT_TRUE(j);
  EXPECT_EQ(Strings((*j)["repositories"]),
            (std::vector<std::string>{"alpha/one", "alpha/two", "beta", "gamma/x/y", "zeta"}));
}

TEST_F(Catalog, PaginationFollowsLinkUntilExhausted) {
  for (const char* repo : {"e/e", "c", "a/a", "d", "b"}) PushImage(c(), repo, "latest", 1);

  std::vector<std::string> seen;
  std::string target = "/v2/_catalog?n=2";
  std::vector<size_t> page_sizes;
  for (int page = 0; page < 10 && !target.empty(); ++page) {
    Response r = c().Request("GET", target);
    ASSERT_STATUS(r, 200);
    auto got = Strings(JsonBody(r).value_or(json())["repositories"]);
    page_sizes.push_back(got.size());
    seen.insert(seen.end(), got.begin(), got.end());
    target = NextLink(r);
    if (!target.empty()) {
      Target t = ParseTarget(target);
      EXPECT_EQ(t.path, "/v2/_catalog");
      EXPECT_EQ(t.Param("n"), "2");
      ASSERT_FALSE(got.empty());
      EXPECT_EQ(t.Param("last"), got.back());
    }
  }
  EXPECT_EQ(seen, (std::vector<std::string>{"a/a", "b", "c", "d", "e/e"}));
  EXPECT_EQ(page_sizes, (std::vector<size_t>{2, 2, 1}));
}

TEST_F(Catalog, LastStartsAfterTheGivenRepository) {
  for (const char* repo : {"a", "b", "c"}) PushImage(c(), repo, "latest", 1);
  Response r = c().Request("GET", "/v2/_catalog?last=a&n=5");
  ASSERT_STATUS(r, 200);
  EXPECT_EQ(Strings(JsonBody(r).value_or(json())["repositories"]),
            (std::vector<std::string>{"b", "c"}));
}

TEST_F(Catalog, NZeroIsAnEmptyList) {
  PushImage(c(), "a", "latest", 1);
  Response r = c().Request("GET", "/v2/_catalog?n=0");
  ASSERT_STATUS(r, 200);
  auto j = JsonBody(r);
  ASSERT_TRUE(j);
  EXPECT_TRUE((*j)["repositories"].is_array() && (*j)["repositories"].empty()) << r.body;
}

TEST_F(Catalog, InvalidNIsPaginationNumberInvalid) {
  for (std::string n : {"-1", "abc"}) {
    EXPECT_ERROR(c().Request("GET", "/v2/_catalog?n=" + n), 400, "PAGINATION_NUMBER_INVALID")
        << "n=" << n;
  }
}

// catalog.maxentries caps both the default page and an `n` asking for more.
TEST_F(Catalog, MaxEntriesCapsEveryPageAndTheNextLinkWalksTheRest) {
  ASSERT_TRUE(Restart(WithYaml("catalog:\n  maxentries: 2\n")));
  for (int i = 1; i <= 5; ++i) PushImage(c(), "repo" + std::to_string(i), "v1", i);
  std::vector<std::string> seen;
  std::string next = "/v2/_catalog?n=100";
  for (int pages = 0; !next.empty() && pages < 10; ++pages) {
    Response r = c().Request("GET", next);
    ASSERT_STATUS(r, 200);
    auto j = JsonBody(r);
    ASSERT_TRUE(j);
    EXPECT_LE((*j)["repositories"].size(), 2u) << r.body;
    for (const auto& name : (*j)["repositories"]) seen.push_back(name);
    next = NextLink(r);
  }
  EXPECT_EQ(seen, (std::vector<std::string>{"repo1", "repo2", "repo3", "repo4", "repo5"}));
  auto first = JsonBody(c().Request("GET", "/v2/_catalog"));
  ASSERT_TRUE(first);
  EXPECT_EQ((*first)["repositories"].size(), 2u);
}

using Search = ApiTest;

// /v1/search pages by `n` and `page`; num_results and num_pages count every match.
TEST_F(Search, PagesByNAndPageAndCountsEveryMatch) {
  for (int i = 1; i <= 5; ++i) PushImage(c(), "team/app" + std::to_string(i), "v1", i);
  PushImage(c(), "other/thing", "v1", 9);
  std::vector<std::string> seen;
  for (int page = 1; page <= 3; ++page) {
    auto j = JsonBody(c().Request("GET", "/v1/search?q=APP&n=2&page=" + std::to_string(page)));
    ASSERT_TRUE(j);
    EXPECT_EQ((*j)["num_results"], 5);
    EXPECT_EQ((*j)["num_pages"], 3);
    EXPECT_EQ((*j)["page"], page);
    EXPECT_EQ((*j)["page_size"], 2);
    EXPECT_EQ((*j)["results"].size(), page < 3 ? 2u : 1u);
    for (const auto& r : (*j)["results"]) seen.push_back(r["name"]);
  }
  EXPECT_EQ(seen, (std::vector<std::string>{"team/app1", "team/app2", "team/app3", "team/app4",
                                            "team/app5"}));
  auto beyond = JsonBody(c().Request("GET", "/v1/search?q=app&n=2&page=4"));
  ASSERT_TRUE(beyond);
  EXPECT_TRUE((*beyond)["results"].empty());
  EXPECT_ERROR(c().Request("GET", "/v1/search?q=app&page=0"), 400, "PAGINATION_NUMBER_INVALID");
}

}  // namespace
}  // namespace berth::testing
