#include "auth/htpasswd.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include "auth/test_util.h"

namespace berth::auth {
namespace {

using testing::ReadFile;
using testing::TempDir;
using testing::WriteFile;
using namespace std::chrono_literals;

// Cost 4 keeps the suite fast; the format is the same.
constexpr int kCost = 4;

std::string Hash(std::string_view pw) { return *BcryptHash(pw, kCost); }

TEST(Htpasswd, BcryptVerifiesRightPasswordOnly) {
  std::string h = Hash("s3cret");
  EXPECT_TRUE(h.starts_with("$2y$04$"));
  EXPECT_TRUE(BcryptVerify("s3cret", h));
  EXPECT_FALSE(BcryptVerify("s3cret ", h));
  EXPECT_FALSE(BcryptVerify("", h));
  EXPECT_FALSE(BcryptVerify(std::string_view("s3cret\0x", 8), h));
}

TEST(Htpasswd, AcceptsAllBcryptPrefixes) {
  std::string h = Hash("pw");
  for (const char* prefix : {"$2a$", "$2b$"}) {
    std::string other = prefix + h.substr(4);
    EXPECT_TRUE(BcryptVerify("pw", other)) << prefix;
    auto parsed = ParseHtpasswd("u:" + other + "\n");
    EXPECT_TRUE(parsed) << prefix;
  }
}

TEST(Htpasswd, RefusesOtherHashTypesNamingLineAndUser) {
  std::string content =
      "alice:" + Hash("a") + "\n# a comment\nbob:{SHA}W6ph5Mm5Pz8GgiULbPgzG37mj9g=\n";
  auto parsed = ParseHtpasswd(content);
  ASSERT_FALSE(parsed);
  EXPECT_EQ(parsed.error().message,
            "line 3 (bob): only bcrypt entries are supported; make them with htpasswd -B");
  for (const char* hash : {"$apr1$abc$def", "plain", "ab01FAX.bQRSU", "$6$salt$hash", "$5$x$y"}) {
    EXPECT_FALSE(ParseHtpasswd(std::string("carol:") + hash)) << hash;
  }
}

TEST(Htpasswd, RefusesMalformedLinesAndDuplicates) {
  EXPECT_FALSE(ParseHtpasswd("no-colon\n"));
  EXPECT_FALSE(ParseHtpasswd(":" + Hash("x")));
  std::string h = Hash("x");
  auto dup = ParseHtpasswd("a:" + h + "\na:" + h + "\n");
  ASSERT_FALSE(dup);
  EXPECT_NE(dup.error().message.find("line 2 (a)"), std::string::npos);
}

TEST(Htpasswd, ParsesCrlfBlankLinesAndComments) {
  auto parsed = ParseHtpasswd("\r\n# c\r\nalice:" + Hash("a") + "\r\n\r\n");
  ASSERT_TRUE(parsed);
  EXPECT_EQ(parsed->size(), 1u);
  EXPECT_TRUE(BcryptVerify("a", parsed->at("alice")));
}

TEST(Htpasswd, OpenNamesFileAndLine) {
  TempDir dir;
  WriteFile(dir.Path("htpasswd"), "bob:$apr1$xyz$abc\n");
  auto f = HtpasswdFile::Open(dir.Path("htpasswd"));
  ASSERT_FALSE(f);
  EXPECT_NE(f.error().message.find("line 1 (bob)"), std::string::npos);
  EXPECT_NE(f.error().message.find(dir.Path("htpasswd")), std::string::npos);
  EXPECT_EQ(HtpasswdFile::Open(dir.Path("missing")).error().code, ErrorCode::kIo);
}

TEST(Htpasswd, AddUserCreatesReplacesAndKeepsOtherLines) {
  TempDir dir;
  std::string path = dir.Path("htpasswd");
  WriteFile(path, "# users\ncarol:" + Hash("c") + "\n");
  ASSERT_TRUE(AddUser(path, "alice", "one", kCost));
  ASSERT_TRUE(AddUser(path, "alice", "two", kCost));
  auto entries = ParseHtpasswd(ReadFile(path));
  ASSERT_TRUE(entries);
  EXPECT_EQ(entries->size(), 2u);
  EXPECT_TRUE(BcryptVerify("two", entries->at("alice")));
  EXPECT_FALSE(BcryptVerify("one", entries->at("alice")));
  EXPECT_TRUE(BcryptVerify("c", entries->at("carol")));
  EXPECT_TRUE(ReadFile(path).starts_with("# users\n"));

  std::string fresh = dir.Path("new");
  ASSERT_TRUE(AddUser(fresh, "bob", "pw", kCost));
  struct stat st {};
  ASSERT_EQ(::stat(fresh.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  EXPECT_FALSE(AddUser(fresh, "a:b", "pw", kCost));
  EXPECT_FALSE(AddUser(fresh, "", "pw", kCost));
  EXPECT_FALSE(AddUser(fresh, "x\ny", "pw", kCost));
}

TEST(Htpasswd, AddUserDefaultsToCost10) {
  TempDir dir;
  ASSERT_TRUE(AddUser(dir.Path("h"), "u", "pw"));
  EXPECT_TRUE(ReadFile(dir.Path("h")).starts_with("u:$2y$10$"));
}

TEST(Htpasswd, VerifyKnownAndUnknownUsers) {
  TempDir dir;
  ASSERT_TRUE(AddUser(dir.Path("h"), "alice", "pw", kCost));
  auto f = HtpasswdFile::Open(dir.Path("h"));
  ASSERT_TRUE(f);
  EXPECT_TRUE((*f)->Verify("alice", "pw"));
  EXPECT_FALSE((*f)->Verify("alice", "nope"));
  EXPECT_FALSE((*f)->Verify("mallory", "pw"));
  EXPECT_EQ((*f)->bcrypt_calls(), 3u);  // the unknown user costs a bcrypt too
}

// An htpasswd file holding alice (password "pw"), opened on a fake clock so that tests decide when
// a reload is due.
class HtpasswdReload : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(AddUser(path, "alice", "pw", kCost));
    auto opened = HtpasswdFile::Open(path, clock);
    ASSERT_TRUE(opened);
    f = std::move(*opened);
  }
  TempDir dir;
  std::string path = dir.Path("h");
  FakeClock clock{SystemTime(std::chrono::seconds(1'700'000'000))};
  std::shared_ptr<HtpasswdFile> f;
};

TEST_F(HtpasswdReload, ReloadsChangedFileAtMostOncePerSecond) {
  ASSERT_TRUE(AddUser(path, "bob", "pw2", kCost));
  clock.Advance(500ms);
  EXPECT_FALSE(f->HasUser("bob"));  // not checked yet
  clock.Advance(600ms);
  EXPECT_TRUE(f->HasUser("bob"));
  EXPECT_TRUE(f->Verify("bob", "pw2"));
  EXPECT_EQ(f->generation(), 1u);
}

TEST_F(HtpasswdReload, InvalidReplacementKeepsPreviousContents) {
  WriteFile(path, "alice:$apr1$bad$hash\nmallory:plain\n");
  clock.Advance(2s);
  EXPECT_TRUE(f->Verify("alice", "pw"));
  EXPECT_FALSE(f->HasUser("mallory"));
  EXPECT_EQ(f->generation(), 0u);
  // A later good edit is picked up.
  ASSERT_TRUE(AddUser(dir.Path("h2"), "dave", "d", kCost));
  std::filesystem::rename(dir.Path("h2"), path);
  clock.Advance(2s);
  EXPECT_TRUE(f->HasUser("dave"));
  EXPECT_FALSE(f->HasUser("alice"));
}

}  // namespace
}  // namespace berth::auth
