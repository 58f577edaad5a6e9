#include "auth/basic.h"

#include <gtest/gtest.h>
#include <time.h>

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
  EXPECT_EQ(v.cache_entries(), 2u);
  EXPECT_EQ(v.Verify("carol", "c", "1.1.1.1:1"), Verdict::kOk);  // evicts
  EXPECT_LE(v.cache_entries(), 2u);
  uint64_t calls = file_->bcrypt_calls();
  EXPECT_EQ(v.Verify("carol", "c", "1.1.1.1:1"), Verdict::kOk);  // the newest stays
  EXPECT_EQ(file_->bcrypt_calls(), calls);
  // Something older was evicted: checking all three again costs bcrypt at least once.
  EXPECT_EQ(v.Verify("alice", "wonderland", "1.1.1.1:1"), Verdict::kOk);
  EXPECT_EQ(v.Verify("bob", "b", "1.1.1.1:1"), Verdict::kOk);
  EXPECT_GT(file_->bcrypt_calls(), calls);
  for (int i = 0; i < 20; ++i) {
    std::string user = "u" + std::to_string(i);
    ASSERT_TRUE(AddUser(dir_.Path("htpasswd"), user, "p", 4));
  }
  clock_.Advance(2s);
  for (int i = 0; i < 20; ++i) {
    EXPECT_EQ(v.Verify("u" + std::to_string(i), "p", "1.1.1." + std::to_string(i) + ":1"),
              Verdict::kOk);
    EXPECT_LE(v.cache_entries(), 2u);
  }
}

using Stopwatch = std::chrono::steady_clock;

// CPU time of the calling thread. bcrypt is pure computation, so comparing its cost in CPU time
// holds on a loaded machine, where other processes inflate wall time by different amounts.
std::chrono::nanoseconds ThreadCpuTime() {
  timespec ts{};
  ::clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return std::chrono::seconds(ts.tv_sec) + std::chrono::nanoseconds(ts.tv_nsec);
}

// The fastest of `n` runs of `f`, timed by `now`: the least disturbed by whatever else the machine
// is doing.
template <typename Now, typename F>
auto Fastest(int n, Now now, F f) {
  auto best = decltype(now() - now())::max();
  for (int i = 0; i < n; ++i) {
    auto start = now();
    f();
    best = std::min(best, now() - start);
  }
  return best;
}

TEST(BasicAuthCost, UnknownUserCostsTheSameAsAWrongPassword) {
  // A cost other than the default, so a fixed dummy hash of the default cost would show.
  TempDir dir;
  ASSERT_TRUE(AddUser(dir.Path("htpasswd"), "alice", "wonderland", 12));
  auto file = HtpasswdFile::Open(dir.Path("htpasswd"));
  ASSERT_TRUE(file);
  EXPECT_EQ((*file)->dummy_cost(), 12);
  auto wrong = Fastest(5, ThreadCpuTime, [&] { EXPECT_FALSE((*file)->Verify("alice", "guess")); });
  auto unknown =
      Fastest(5, ThreadCpuTime, [&] { EXPECT_FALSE((*file)->Verify("nobody", "guess")); });
  double ratio = std::chrono::duration<double>(unknown) / std::chrono::duration<double>(wrong);
  EXPECT_GT(ratio, 0.6) << "unknown user is cheaper than a wrong password";
  EXPECT_LT(ratio, 1.67) << "unknown user is dearer than a wrong password";
}

// 64 requests from one address, each with a new unknown user (so the per-user throttle never
// fires), at the same moment as a valid login from elsewhere: the valid login must not wait for
// the flood's bcrypt.
TEST(BasicAuthCost, UnknownUserFloodDoesNotStarveAValidLogin) {
  TempDir dir;
  ASSERT_TRUE(AddUser(dir.Path("htpasswd"), "alice", "wonderland", kDefaultBcryptCost));
  auto file = HtpasswdFile::Open(dir.Path("htpasswd"));
  ASSERT_TRUE(file);
  auto one_bcrypt = Fastest(3, Stopwatch::now, [&] { (*file)->Verify("alice", "wonderland"); });
  auto verifier = std::make_shared<CredentialVerifier>(*file);
  HtpasswdAuthorizer authz("r", verifier);

  constexpr int kFlood = 64;
  std::atomic<int> ready{0}, busy{0}, unauthorized{0};
  std::atomic<bool> go{false};
  std::vector<std::thread> flood;
  for (int i = 0; i < kFlood; ++i) {
    flood.emplace_back([&, i] {
      ++ready;
      while (!go.load()) std::this_thread::yield();
      auto d = authz.Authorize(Basic("ghost" + std::to_string(i), "x"), "203.0.113.9:4000", {});
      (d.status == 429 ? busy : unauthorized)++;
    });
  }
  while (ready.load() < kFlood) std::this_thread::yield();
  go = true;
  // Start the valid login once the flood is hashing.
  auto deadline = Stopwatch::now() + 10s;
  auto underway = [&] {
    uint64_t calls = (*file)->bcrypt_calls();
    return calls >= 8 || (calls >= 1 && busy.load() >= 1);
  };
  while (!underway() && Stopwatch::now() < deadline) std::this_thread::yield();
  auto start = Stopwatch::now();
  auto d = authz.Authorize(Basic("alice", "wonderland"), "198.51.100.1:5000", {});
  auto valid = Stopwatch::now() - start;
  for (auto& t : flood) t.join();
  EXPECT_TRUE(d.allowed) << d.status << " " << d.message;
  EXPECT_LT(valid, 8 * one_bcrypt + 250ms)
      << "valid login took " << std::chrono::duration<double, std::milli>(valid).count()
      << " ms; one bcrypt takes " << std::chrono::duration<double, std::milli>(one_bcrypt).count()
      << " ms";
  EXPECT_GE(busy.load(), kFlood - 8) << "most of the flood must be refused with 429";
  EXPECT_EQ(busy.load() + unauthorized.load(), kFlood);
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
