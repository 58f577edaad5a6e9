// Filesystem-only behaviour: the exact files on disk (Distribution compatibility), temp-file
// hiding, modes, OS error mapping. Shared behaviour is in test/conformance.

#include "storage/driver/filesystem.h"

#include <dirent.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "storage/driver/driver.h"
#include "storage/driver/driver_testing.h"

namespace berth::storage::driver {
namespace {

class FilesystemDriverTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_FALSE(tmp_.path().empty());
    root_ = tmp_.path() + "/root";
    auto d = NewFilesystemDriver(root_);
    ASSERT_OK(d);
    d_ = *d;
  }

  // The bytes of a file as the OS sees them, bypassing the driver.
  static std::string ReadRaw(const std::string& os_path) {
    std::ifstream in(os_path, std::ios::binary);
    std::ostringstream out;
    out << in.rdbuf();
    return out.str();
  }

  static void WriteRaw(const std::string& os_path, const std::string& bytes) {
    std::filesystem::create_directories(std::filesystem::path(os_path).parent_path());
    std::ofstream out(os_path, std::ios::binary | std::ios::trunc);
    out << bytes;
  }

  // Every name in a directory, hidden ones included.
  static std::set<std::string> RawNames(const std::string& os_dir) {
    std::set<std::string> names;
    for (const auto& entry : std::filesystem::directory_iterator(os_dir)) {
      names.insert(entry.path().filename().string());
    }
    return names;
  }

  testing::TempDir tmp_;
  std::string root_;
  StorageDriverPtr d_;
};

constexpr char kHex[] = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

TEST_F(FilesystemDriverTest, LinkFileHoldsExactlyTheDigest) {
  std::string dir = std::string("/docker/registry/v2/repositories/x/_layers/sha256/") + kHex;
  std::string value = std::string("sha256:") + kHex;
  ASSERT_OK(d_->PutContent(dir + "/link", value));
  EXPECT_EQ(ReadRaw(root_ + dir + "/link"), value);  // no newline, no framing
  EXPECT_EQ(std::filesystem::file_size(root_ + dir + "/link"), 71u);
  EXPECT_EQ(RawNames(root_ + dir), (std::set<std::string>{"link"}));
}

TEST_F(FilesystemDriverTest, WriterProducesExactBytes) {
  auto w = d_->NewWriter("/docker/registry/v2/repositories/x/_uploads/u/data", false);
  ASSERT_OK(w);
  ASSERT_OK((*w)->Write("abc", 3));
  ASSERT_OK((*w)->Write("\0\n", 2));
  ASSERT_OK((*w)->Commit());
  EXPECT_EQ(ReadRaw(root_ + "/docker/registry/v2/repositories/x/_uploads/u/data"),
            std::string("abc\0\n", 5));
}

TEST_F(FilesystemDriverTest, ReserveAllocatesAheadWithoutChangingTheSize) {
  const std::string path = "/docker/registry/v2/repositories/x/_uploads/r/data";
  auto w = d_->NewWriter(path, false);
  ASSERT_OK(w);
  ASSERT_OK((*w)->Write("head", 4));
  (*w)->Reserve(8 << 20);
  struct stat st{};
  ASSERT_EQ(::stat((root_ + path).c_str(), &st), 0);
  EXPECT_EQ(st.st_size, 4);  // the resume offset is the size: it must not move
  EXPECT_EQ((*w)->Size(), 4u);
  // Where the filesystem can preallocate (ext4, xfs, tmpfs), the blocks are there already.
  int probe = ::open((tmp_.path() + "/probe").c_str(), O_WRONLY | O_CREAT, 0644);
  ASSERT_GE(probe, 0);
  const bool can = ::fallocate(probe, FALLOC_FL_KEEP_SIZE, 0, 4096) == 0;
  ::close(probe);
  if (can) {
    EXPECT_GE(static_cast<uint64_t>(st.st_blocks) * 512, uint64_t{8} << 20);
  }
  std::string more(3 << 20, 'z');
  ASSERT_OK((*w)->Write(more.data(), more.size()));
  ASSERT_OK((*w)->Commit());
  EXPECT_EQ(std::filesystem::file_size(root_ + path), 4u + more.size());
  EXPECT_EQ(ReadRaw(root_ + path), "head" + more);
  auto info = d_->Stat(path);
  ASSERT_OK(info);
  EXPECT_EQ(info->size, 4u + more.size());
  // An append continues at the size, not past the reservation.
  auto again = d_->NewWriter(path, true);
  ASSERT_OK(again);
  (*again)->Reserve(1 << 20);
  ASSERT_OK((*again)->Write("!", 1));
  ASSERT_OK((*again)->Commit());
  EXPECT_EQ(ReadRaw(root_ + path), "head" + more + "!");
}

TEST_F(FilesystemDriverTest, ReadsLayoutWrittenByAnotherRegistry) {
  std::string blob = std::string("/docker/registry/v2/blobs/sha256/e3/") + kHex + "/data";
  std::string tag = "/docker/registry/v2/repositories/team/app/_manifests/tags/latest/current/link";
  WriteRaw(root_ + blob, "");
  WriteRaw(root_ + tag, std::string("sha256:") + kHex);
  auto got = d_->GetContent(tag);
  ASSERT_OK(got);
  EXPECT_EQ(*got, std::string("sha256:") + kHex);
  auto info = d_->Stat(blob);
  ASSERT_OK(info);
  EXPECT_EQ(info->size, 0u);
  auto repos = d_->List("/docker/registry/v2/repositories/team");
  ASSERT_OK(repos);
  EXPECT_EQ(*repos, (std::vector<std::string>{"/docker/registry/v2/repositories/team/app"}));
}

TEST_F(FilesystemDriverTest, ModesMatchDistribution) {
  mode_t old = ::umask(022);
  ASSERT_OK(d_->PutContent("/m/a/file", "x"));
  auto w = d_->NewWriter("/m/b/data", false);
  ASSERT_OK(w);
  ASSERT_OK((*w)->Commit());
  ::umask(old);
  auto mode = [&](const std::string& p) {
    struct stat st;
    EXPECT_EQ(::stat((root_ + p).c_str(), &st), 0) << p;
    return st.st_mode & 0777;
  };
  EXPECT_EQ(mode("/m"), 0755u);
  EXPECT_EQ(mode("/m/a"), 0755u);
  EXPECT_EQ(mode("/m/a/file"), 0644u);
  EXPECT_EQ(mode("/m/b/data"), 0644u);
}

TEST_F(FilesystemDriverTest, TempFilesAreNeverListedOrLeftBehind) {
  std::vector<std::thread> threads;
  for (int i = 0; i < 8; ++i) {
    threads.emplace_back([&, i] {
      for (int r = 0; r < 50; ++r) EXPECT_OK(d_->PutContent("/t/target", std::to_string(i)));
    });
  }
  // List concurrently with the writers: temp files exist at this moment but must not show.
  for (int r = 0; r < 200; ++r) {
    auto list = d_->List("/t");
    if (!list) continue;  // the directory may not exist yet
    for (const std::string& p : *list) EXPECT_EQ(p, "/t/target");
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(RawNames(root_ + "/t"), (std::set<std::string>{"target"}));
}

TEST_F(FilesystemDriverTest, StaleTempFilesAreHidden) {
  ASSERT_OK(d_->PutContent("/s/real", "x"));
  WriteRaw(root_ + "/s/.berth-tmp-0123456789abcdef", "half");
  auto list = d_->List("/s");
  ASSERT_OK(list);
  EXPECT_EQ(*list, (std::vector<std::string>{"/s/real"}));
  std::vector<std::string> walked;
  ASSERT_OK(d_->Walk("/", [&](const FileInfo& info) {
    walked.push_back(info.path);
    return true;
  }));
  EXPECT_EQ(walked, (std::vector<std::string>{"/s", "/s/real"}));
}

TEST_F(FilesystemDriverTest, ReservedTempNamesAreInvalidPaths) {
  EXPECT_CODE(d_->PutContent("/a/.berth-tmp-x", "x"), ErrorCode::kInvalidPath);
  EXPECT_CODE(d_->GetContent("/.berth-tmp-x"), ErrorCode::kInvalidPath);
  EXPECT_CODE(d_->Stat("/.berth-tmp-x/b"), ErrorCode::kInvalidPath);
  EXPECT_CODE(d_->Move("/a", "/.berth-tmp-y"), ErrorCode::kInvalidPath);
  EXPECT_OK(d_->PutContent("/a/berth-tmp-x", "not reserved: no leading dot"));
}

TEST_F(FilesystemDriverTest, ForeignUnaddressableNamesAreNotListed) {
  std::filesystem::create_directories(root_ + "/lost+found");
  WriteRaw(root_ + "/with space", "x");
  ASSERT_OK(d_->PutContent("/ok", "x"));
  auto list = d_->List("/");
  ASSERT_OK(list);
  EXPECT_EQ(*list, (std::vector<std::string>{"/ok"}));
}

TEST_F(FilesystemDriverTest, DiskFullIsIoNamingThePath) {
  if (::access("/dev/full", W_OK) != 0) GTEST_SKIP() << "no /dev/full";
  // /dev/full fails every write with ENOSPC: a real disk-full error through the real write path.
  std::filesystem::create_symlink("/dev/full", root_ + "/full");
  auto w = d_->NewWriter("/full", false);
  ASSERT_OK(w);
  auto st = (*w)->Write("data", 4);
  ASSERT_FALSE(st.has_value());
  EXPECT_EQ(st.error().code, ErrorCode::kIo);
  EXPECT_NE(st.error().message.find("No space left on device"), std::string::npos)
      << st.error().message;
  EXPECT_NE(st.error().message.find(root_ + "/full"), std::string::npos) << st.error().message;
  EXPECT_EQ((*w)->Size(), 0u);
}

TEST_F(FilesystemDriverTest, OsErrorsAreIoNamingThePath) {
  ASSERT_OK(d_->PutContent("/file", "x"));
  auto st = d_->PutContent("/file/child", "y");
  ASSERT_FALSE(st.has_value());
  EXPECT_EQ(st.error().code, ErrorCode::kIo);
  EXPECT_NE(st.error().message.find(root_ + "/file"), std::string::npos) << st.error().message;
  EXPECT_NE(st.error().message.find("Not a directory"), std::string::npos) << st.error().message;
}

TEST_F(FilesystemDriverTest, GetContentRefusesObjectsOver64MiB) {
  // Sparse files: cheap to make at any size.
  ASSERT_OK(d_->PutContent("/big/over", ""));
  ASSERT_EQ(::truncate((root_ + "/big/over").c_str(), kMaxGetContentSize + 1), 0);
  EXPECT_CODE(d_->GetContent("/big/over"), ErrorCode::kIo);
  ASSERT_OK(d_->PutContent("/big/limit", ""));
  ASSERT_EQ(::truncate((root_ + "/big/limit").c_str(), kMaxGetContentSize), 0);
  auto got = d_->GetContent("/big/limit");
  ASSERT_OK(got);
  EXPECT_EQ(got->size(), kMaxGetContentSize);
}

TEST_F(FilesystemDriverTest, ReaderExposesPositionedFd) {
  ASSERT_OK(d_->PutContent("/r", "0123456789"));
  auto r = d_->NewReader("/r", 4);
  ASSERT_OK(r);
  int fd = (*r)->NativeFd();
  ASSERT_GE(fd, 0);
  EXPECT_EQ(::lseek(fd, 0, SEEK_CUR), 4);
  EXPECT_EQ(::fcntl(fd, F_GETFD) & FD_CLOEXEC, FD_CLOEXEC);
}

TEST_F(FilesystemDriverTest, DeleteLeavesParentDirectories) {
  ASSERT_OK(d_->PutContent("/a/b/c", "x"));
  ASSERT_OK(d_->Delete("/a/b/c"));
  auto info = d_->Stat("/a/b");
  ASSERT_OK(info);
  EXPECT_TRUE(info->is_dir);
}

TEST_F(FilesystemDriverTest, DeleteDoesNotFollowSymlinks) {
  testing::TempDir outside;
  WriteRaw(outside.path() + "/precious", "keep");
  ASSERT_OK(d_->PutContent("/tree/file", "x"));
  std::filesystem::create_directory_symlink(outside.path(), root_ + "/tree/link");
  ASSERT_OK(d_->Delete("/tree"));
  EXPECT_FALSE(std::filesystem::exists(root_ + "/tree"));
  EXPECT_EQ(ReadRaw(outside.path() + "/precious"), "keep");
}

TEST_F(FilesystemDriverTest, ConcurrentDeletesOfOneTreeBothSucceedOrSayNotFound) {
  for (int i = 0; i < 200; ++i) {
    ASSERT_OK(d_->PutContent("/gc/dir" + std::to_string(i % 10) + "/f" + std::to_string(i), "x"));
  }
  std::vector<std::thread> threads;
  std::atomic<int> bad{0};
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&] {
      auto st = d_->Delete("/gc");
      if (!st && !st.error().Is(ErrorCode::kNotFound)) ++bad;
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(bad.load(), 0);
  EXPECT_FALSE(std::filesystem::exists(root_ + "/gc"));
}

TEST_F(FilesystemDriverTest, CancelledWriterRemovesOnlyItsFile) {
  auto w = d_->NewWriter("/up/data", false);
  ASSERT_OK(w);
  ASSERT_OK((*w)->Write("x", 1));
  ASSERT_OK((*w)->Cancel());
  EXPECT_EQ(RawNames(root_ + "/up"), std::set<std::string>{});
}

TEST_F(FilesystemDriverTest, SyncOnCommitOptionWorks) {
  auto d = NewFilesystemDriver(root_, FilesystemOptions{.sync_on_commit = true});
  ASSERT_OK(d);
  auto w = (*d)->NewWriter("/synced", false);
  ASSERT_OK(w);
  ASSERT_OK((*w)->Write("abc", 3));
  ASSERT_OK((*w)->Commit());
  EXPECT_EQ(ReadRaw(root_ + "/synced"), "abc");
}

TEST(FilesystemDriverRoot, CreatedIfAbsentAndTrailingSlashIgnored) {
  testing::TempDir tmp;
  auto d = NewFilesystemDriver(tmp.path() + "/x/y/z/");
  ASSERT_OK(d);
  EXPECT_TRUE(std::filesystem::is_directory(tmp.path() + "/x/y/z"));
  ASSERT_OK((*d)->PutContent("/f", "1"));
  EXPECT_TRUE(std::filesystem::exists(tmp.path() + "/x/y/z/f"));
}

TEST(FilesystemDriverRoot, FileOrEmptyRootIsIo) {
  testing::TempDir tmp;
  std::ofstream(tmp.path() + "/file") << "x";
  EXPECT_CODE(NewFilesystemDriver(tmp.path() + "/file"), ErrorCode::kIo);
  EXPECT_CODE(NewFilesystemDriver(tmp.path() + "/file/below"), ErrorCode::kIo);
  EXPECT_CODE(NewFilesystemDriver(""), ErrorCode::kIo);
}

}  // namespace
}  // namespace berth::storage::driver
