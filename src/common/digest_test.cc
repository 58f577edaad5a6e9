#include "common/digest.h"

#include <gtest/gtest.h>

#include <random>
#include <vector>

#include "common/random_testing.h"

namespace berth {
namespace {

TEST(Digest, EmptySha256) {
  EXPECT_EQ(Digest::Of("").str(),
            "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
}

TEST(Digest, Sha512Of) {
  EXPECT_EQ(Digest::Of("abc", DigestAlgorithm::kSha512).hex().substr(0, 16), "ddaf35a193617aba");
}

// Known answers from NIST FIPS 180-2 (appendices B and C): one-block, multi-block and the million
// 'a' message, fed both in one piece and in uneven pieces through the incremental Hasher.
struct KnownAnswer {
  DigestAlgorithm alg;
  std::string message;
  std::string hex;
};

std::vector<KnownAnswer> NistVectors() {
  std::string million(1'000'000, 'a');
  return {
      {DigestAlgorithm::kSha256, "abc",
       "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"},
      {DigestAlgorithm::kSha256, "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq",
       "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"},
      {DigestAlgorithm::kSha256, million,
       "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0"},
      {DigestAlgorithm::kSha512, "",
       "cf83e1357eefb8bdf1542850d66d8007d620e4050b5715dc83f4a921d36ce9ce"
       "47d0d13c5d85f2b0ff8318d2877eec2f63b931bd47417a81a538327af927da3e"},
      {DigestAlgorithm::kSha512, "abc",
       "ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a"
       "2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f"},
      {DigestAlgorithm::kSha512,
       "abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmnoijklmnopjklmnopqklmnopqrlmn"
       "o"
       "pqrsmnopqrstnopqrstu",
       "8e959b75dae313da8cf4f72814fc143f8f7779c6eb9f7fa17299aeadb6889018"
       "501d289e4900f7e4331b99dec4b5433ac7d329eeb6dd26545e96e55b874be909"},
      {DigestAlgorithm::kSha512, million,
       "e718483d0ce769644e2e42c7bc15b4638e1f98b13b2044285632a803afa973eb"
       "de0ff244877ea60a4cb0432ce577c31beb009c5c2c49aa2e4eadb217ad8cc09b"},
  };
}

TEST(Digest, NistKnownAnswers) {
  for (const KnownAnswer& k : NistVectors()) {
    std::string what =
        std::string(AlgorithmName(k.alg)) + " of " + std::to_string(k.message.size()) + " bytes";
    EXPECT_EQ(Digest::Of(k.message, k.alg).hex(), k.hex) << what;
    EXPECT_EQ(Digest::Of(k.message, k.alg).str(), std::string(AlgorithmName(k.alg)) + ":" + k.hex);
    Hasher h(k.alg);
    size_t step = 1;
    for (size_t off = 0; off < k.message.size(); off += step, step = step * 3 % 1000 + 1) {
      h.Update(std::string_view(k.message).substr(off, step));
    }
    EXPECT_EQ(h.Current().hex(), k.hex) << what << " (incremental)";
    EXPECT_EQ(h.bytes(), k.message.size());
  }
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
  for (const std::string& bad :
       std::vector<std::string>{"", "sha256", "sha256:", ":abc", "sha256:totallywrong",
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
  constexpr std::string_view kAlphabet = "sha256512:0123456789abcdefABCDEF+._-\xff";
  for (int i = 0; i < 20000; ++i) {
    std::string s = RandomString(rng, kAlphabet, 140);
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
