#include "common/digest.h"

#include <gtest/gtest.h>

#include <random>
#include <vector>

namespace berth {
namespace {

TEST(Digest, EmptySha256) {
  EXPECT_EQ(Digest::Of("").str(),
            "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
}

TEST(Digest, Sha512Of) {
  EXPECT_EQ(Digest::Of("abc", DigestAlgorithm::kSha512).hex().substr(0, 16), "ddaf35a193617aba");
}

TEST(Digest, ParseValid) {
  auto d = Digest::Parse("sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  ASSERT_TRUE(d.has_value());
  EXPECT_EQ(d->algorithm(), DigestAlgorithm::kSha256);
  auto d5 = Digest::Parse("sha512:" + std::string(128, 'a'));
  ASSERT_TRUE(d5.has_value());
  EXPECT_EQ(d5->algorithm(), DigestAlgorithm::kSha512);
}

TEST(Digest, ParseInvalidIsDigestInvalid) {
  for (const std::string& bad : std::vector<std::string>{"", "sha256", "sha256:", ":abc", "sha256:totallywrong",
                          "sha256:" + std::string(63, 'a'), "sha256:" + std::string(65, 'a'),
                          "sha256:" + std::string(64, 'A'), "md5:" + std::string(32, 'a'),
                          "sha512:" + std::string(64, 'a'), std::string("sha256:\0", 8)}) {
    auto d = Digest::Parse(bad);
    ASSERT_FALSE(d.has_value()) << bad;
    EXPECT_EQ(d.error().code, ErrorCode::kDigestInvalid) << bad;
  }
}

TEST(Digest, IncrementalEqualsOneShot) {
  std::string data(100000, 'x');
  Hasher h;
  for (size_t i = 0; i < data.size(); i += 777) h.Update(std::string_view(data).substr(i, 777));
  EXPECT_EQ(h.Current(), Digest::Of(data));
  EXPECT_EQ(h.bytes(), data.size());
  // Current() does not disturb the running state.
  h.Update("y");
  EXPECT_EQ(h.Current(), Digest::Of(data + "y"));
}

TEST(DigestFuzz, RandomInputNeverCrashes) {
  std::mt19937 rng(42);
  const std::string alphabet = "sha256512:0123456789abcdefABCDEF+._-\xff";
  for (int i = 0; i < 20000; ++i) {
    std::string s(rng() % 140, ' ');
    for (auto& c : s) c = alphabet[rng() % alphabet.size()];
    if (rng() % 3 == 0) s = "sha256:" + s;
    auto d = Digest::Parse(s);
    if (d) {
      EXPECT_EQ(d->str(), s);
    } else {
      EXPECT_EQ(d.error().code, ErrorCode::kDigestInvalid);
    }
  }
}

}  // namespace
}  // namespace berth
