#include "auth/basic.h"

#include <gtest/gtest.h>

#include <atomic>
#include <thread>

#include "auth/encoding.h"
#include "auth/test_util.h"

namespace berth::auth {
namespace {

using testing::TempDir;
using namespace std::chrono_literals;
using Verdict = CredentialVerifier::Verdict;

std::string Basic(std::string_view user, std::string_view pw) {
  return "Basic " + Base64Encode(std::string(user) + ":" + std::string(pw));
}

class BasicAuth : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(AddUser(dir_.Path("htpasswd"), "alice", "wonderland", 4));
    auto f = HtpasswdFile::Open(dir_.Path("htpasswd"), clock_);
    ASSERT_TRUE(f);
    file_ = *f;
    verifier_ = std::make_shared<CredentialVerifier>(file_, clock_);
  }
  TempDir dir_;
  FakeClock clock_{SystemTime(std::chrono::seconds(1'700'000'000))};
  HtpasswdFilePtr file_;
  CredentialVerifierPtr verifier_;
};

TEST(BasicParse, ParsesCredentials) {
  auto c = ParseBasicAuthorization(Basic("alice", "pa:ss"));
  ASSERT_TRUE(c);
  EXPECT_EQ(c->user, "alice");
  EXPECT_EQ(c->password, "pa:ss");  // only the first colon separates
  EXPECT_TRUE(ParseBasicAuthorization("basic " + Base64Encode("a:b")));
  EXPECT_TRUE(ParseBasicAuthorization(Basic("a", "")));
}

TEST(BasicParse, RefusesMalformed) {
  for (std::string bad :
       {std::string(""), std::string("Basic"), std::string("Basic "), std::string("Bearer abc"),
        std::string("Basic !!!"), "Basic " + Base64Encode("nocolon"),
        "Basic " + Base64Encode(":pw"), "Basic " + std::string(5000, 'A')}) {
    EXPECT_FALSE(ParseBasicAuthorization(bad)) << bad;
  }
}

TEST(BasicParse, RemoteIp) {
  EXPECT_EQ(RemoteIp("10.0.0.1:5555"), "10.0.0.1");
  EXPECT_EQ(RemoteIp("[::1]:5555"), "::1");
  EXPECT_EQ(RemoteIp("::1"), "::1");
  EXPECT_EQ(RemoteIp("host"), "host");
}

TEST_F(BasicAuth, NoCredentialsIs401WithChallenge) {
  HtpasswdAuthorizer authz("Registry Realm", verifier_);
  Decision d = authz.Authorize("", "1.2.3.4:1", {{"repository", "a", "pull"}});
  EXPECT_FALSE(d.allowed);
  EXPECT_EQ(d.status, 401);
  EXPECT_EQ(d.challenge, "Basic realm=\"Registry Realm\"");
  d = authz.Authorize("Basic %%%", "1.2.3.4:1", {});
  EXPECT_EQ(d.status, 401);
  EXPECT_EQ(d.challenge, "Basic realm=\"Registry Realm\"");
}

TEST_F(BasicAuth, WrongPasswordIs401) {
  HtpasswdAuthorizer authz("r", verifier_);
  Decision d = authz.Authorize(Basic("alice", "wrong"), "1.2.3.4:1", {});
  EXPECT_FALSE(d.allowed);
  EXPECT_EQ(d.status, 401);
  EXPECT_EQ(d.challenge, "Basic realm=\"r\"");
  d = authz.Authorize(Basic("nobody", "wonderland"), "1.2.3.4:1", {});
  EXPECT_EQ(d.status, 401);
}

TEST_F(BasicAuth, ValidUserMayDoEverything) {
  HtpasswdAuthorizer authz("r", verifier_);
  Decision d =
      authz.Authorize(Basic("alice", "wonderland"), "1.2.3.4:1",
                      {{"repository", "any/thing", "delete"}, {"registry", "catalog", "*"}});
  EXPECT_TRUE(d.allowed);
  EXPECT_EQ(d.subject, "alice");
}

TEST_F(BasicAuth, CacheHitAvoidsBcrypt) {
  EXPECT_EQ(verifier_->Verify("alice", "wonderland", "1.1.1.1:1"), Verdict::kOk);
  EXPECT_EQ(verifier_->Verify("alice", "wonderland", "1.1.1.1:2"), Verdict::kOk);
  EXPECT_EQ(verifier_->Verify("alice", "wonderland", "2.2.2.2:2"), Verdict::kOk);
  EXPECT_EQ(file_->bcrypt_calls(), 1u);
  // A different password is not a cache hit.
  EXPECT_EQ(verifier_->Verify("alice", "wonderlan", "1.1.1.1:1"), Verdict::kBadCredentials);
  EXPECT_EQ(file_->bcrypt_calls(), 2u);
  // The entry expires after the TTL.
  clock_.Advance(61s);
  EXPECT_EQ(verifier_->Verify("alice", "wonderland", "1.1.1.1:1"), Verdict::kOk);
  EXPECT_EQ(file_->bcrypt_calls(), 3u);
}

TEST_F(BasicAuth, CacheDiesWhenFileChanges) {
  EXPECT_EQ(verifier_->Verify("alice", "wonderland", "1.1.1.1:1"), Verdict::kOk);
  ASSERT_TRUE(AddUser(dir_.Path("htpasswd"), "alice", "new-password", 4));
  clock_.Advance(2s);
  EXPECT_EQ(verifier_->Verify("alice", "wonderland", "1.1.1.1:1"), Verdict::kBadCredentials);
  EXPECT_EQ(verifier_->Verify("alice", "new-password", "1.1.1.1:1"), Verdict::kOk);
}

TEST_F(BasicAuth, ThrottlesAfterFiveFailuresWithoutRunningBcrypt) {
  for (int i = 0; i < 5; ++i) {
    EXPECT_EQ(verifier_->Verify("alice", "guess" + std::to_string(i), "6.6.6.6:1000"),
              Verdict::kBadCredentials);
  }
  uint64_t calls = file_->bcrypt_calls();
  EXPECT_EQ(calls, 5u);
  // Locked out, even with the right password, and bcrypt does not run.
  EXPECT_EQ(verifier_->Verify("alice", "guess", "6.6.6.6:1001"), Verdict::kThrottled);
  EXPECT_EQ(verifier_->Verify("alice", "wonderland", "6.6.6.6:1002"), Verdict::kThrottled);
  EXPECT_EQ(file_->bcrypt_calls(), calls);
  // Other clients and other users are unaffected.
  EXPECT_EQ(verifier_->Verify("alice", "wonderland", "7.7.7.7:1"), Verdict::kOk);
  EXPECT_EQ(verifier_->Verify("bob", "x", "6.6.6.6:1"), Verdict::kBadCredentials);

  HtpasswdAuthorizer authz("r", verifier_);
  Decision d = authz.Authorize(Basic("alice", "wonderland"), "6.6.6.6:9", {});
  EXPECT_FALSE(d.allowed);
  EXPECT_EQ(d.status, 429);
  EXPECT_NE(d.message.find("too many failed logins"), std::string::npos);

  clock_.Advance(31s);
  EXPECT_EQ(verifier_->Verify("alice", "wonderland", "6.6.6.6:1"), Verdict::kOk);
}

TEST_F(BasicAuth, SlowFailuresAreNotThrottled) {
  for (int i = 0; i < 10; ++i) {
    EXPECT_EQ(verifier_->Verify("alice", "bad", "6.6.6.6:1"), Verdict::kBadCredentials);
    clock_.Advance(20s);
  }
}

TEST_F(BasicAuth, SuccessClearsFailureCount) {
  for (int i = 0; i < 4; ++i) verifier_->Verify("alice", "bad", "6.6.6.6:1");
  EXPECT_EQ(verifier_->Verify("alice", "wonderland", "6.6.6.6:1"), Verdict::kOk);
  for (int i = 0; i < 4; ++i) {
    EXPECT_EQ(verifier_->Verify("alice", "bad", "6.6.6.6:1"), Verdict::kBadCredentials);
  }
  EXPECT_EQ(verifier_->Verify("alice", "wonderland", "6.6.6.6:1"), Verdict::kOk);
}

TEST_F(BasicAuth, CacheIsBounded) {
  VerifierOptions o;
  o.cache_max_entries = 2;
  CredentialVerifier v(file_, clock_, o);
  ASSERT_TRUE(AddUser(dir_.Path("htpasswd"), "bob", "b", 4));
  ASSERT_TRUE(AddUser(dir_.Path("htpasswd"), "carol", "c", 4));
  clock_.Advance(2s);
  EXPECT_EQ(v.Verify("alice", "wonderland", "1.1.1.1:1"), Verdict::kOk);
  EXPECT_EQ(v.Verify("bob", "b", "1.1.1.1:1"), Verdict::kOk);
  EXPECT_EQ(v.Verify("carol", "c", "1.1.1.1:1"), Verdict::kOk);  // evicts
  uint64_t calls = file_->bcrypt_calls();
  EXPECT_EQ(v.Verify("carol", "c", "1.1.1.1:1"), Verdict::kOk);
  EXPECT_EQ(file_->bcrypt_calls(), calls);
}

TEST_F(BasicAuth, ConcurrentChecksAreSafe) {
  std::atomic<int> ok{0}, bad{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 50; ++i) {
        bool right = (i + t) % 2 == 0;
        auto v = verifier_->Verify("alice", right ? "wonderland" : "x",
                                   "10.0.0." + std::to_string(t) + ":1");
        (v == Verdict::kOk ? ok : bad)++;
        if (i % 10 == 0) clock_.Advance(1s);
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(ok.load(), 200);
  EXPECT_EQ(bad.load(), 200);  // interleaved successes keep every client under the limit
}

}  // namespace
}  // namespace berth::auth
