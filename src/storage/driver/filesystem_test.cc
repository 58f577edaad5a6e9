// Filesystem-only behaviour: the exact files on disk (Distribution compatibility), temp-file
// hiding, modes, OS error mapping. Shared behaviour is in test/conformance.

#include "storage/driver/filesystem.h"

#include <dirent.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <spdlog/sinks/ostream_sink.h>
#include <spdlog/spdlog.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
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

  static uint64_t RawSize(const std::string& os_path) {
    struct stat st {};
    EXPECT_EQ(::stat(os_path.c_str(), &st), 0) << os_path;
    return static_cast<uint64_t>(st.st_size);
  }

  // Bytes of storage the file holds (st_blocks), reserved blocks past the end included.
  static uint64_t Allocated(const std::string& os_path) {
    struct stat st {};
    EXPECT_EQ(::stat(os_path.c_str(), &st), 0) << os_path;
    return static_cast<uint64_t>(st.st_blocks) * 512;
  }

  // Whether the filesystem under the temp directory supports fallocate KEEP_SIZE.
  bool CanPreallocate() const {
    std::string probe = tmp_.path() + "/probe";
    int fd = ::open(probe.c_str(), O_WRONLY | O_CREAT, 0644);
    if (fd < 0) return false;
    bool can = ::fallocate(fd, FALLOC_FL_KEEP_SIZE, 0, 4096) == 0;
    ::close(fd);
    ::unlink(probe.c_str());
    return can;
  }

  // Allocation a file may hold beyond its data (the last block, extent metadata).
  static constexpr uint64_t kSlack = 64 << 10;

  testing::TempDir tmp_;
  std::string root_;
  StorageDriverPtr d_;
};

// The reservation tests: skipped where the filesystem under $TMPDIR cannot fallocate.
class FilesystemReserveTest : public FilesystemDriverTest {
 protected:
  void SetUp() override {
    FilesystemDriverTest::SetUp();
    if (!CanPreallocate()) GTEST_SKIP() << "the filesystem under $TMPDIR cannot fallocate";
  }

  // A new writer at `path` that has been told `bytes` are coming (nullptr, with a failure, if
  // none).
  FileWriterPtr ReservingWriter(const std::string& path, uint64_t bytes) {
    auto w = d_->NewWriter(path, false);
    EXPECT_TRUE(w.has_value()) << path;
    if (!w) return nullptr;
    (*w)->Reserve(bytes);
    return std::move(*w);
  }
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
  EXPECT_EQ(RawSize(root_ + path), 4u);  // the resume offset is the size: it must not move
  EXPECT_EQ((*w)->Size(), 4u);
  // Where the filesystem can preallocate (ext4, xfs, tmpfs), the first step (1 MiB) is there.
  if (CanPreallocate()) {
    EXPECT_GE(Allocated(root_ + path), uint64_t{1} << 20);
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

TEST_F(FilesystemReserveTest, ReservationStaysWithinAWindowOfTheBytesReceived) {
  const std::string path = "/up/window";
  auto w = d_->NewWriter(path, false);
  ASSERT_OK(w);
  ASSERT_OK((*w)->Write("hello", 5));
  // A 256 MiB claim after 5 bytes: only the first step is allocated.
  (*w)->Reserve(uint64_t{256} << 20);
  EXPECT_LE(Allocated(root_ + path), (uint64_t{1} << 20) + kSlack);
  // As bytes arrive the allocation runs ahead of them, but never more than the window.
  std::string chunk(1 << 20, 'c');
  for (int i = 0; i < 96; ++i) {
    ASSERT_OK((*w)->Write(chunk.data(), chunk.size()));
    uint64_t allocated = Allocated(root_ + path);
    ASSERT_LE(allocated, (*w)->Size() + (uint64_t{64} << 20) + kSlack) << "after " << i + 1;
  }
  EXPECT_GE(Allocated(root_ + path), (*w)->Size() + (uint64_t{16} << 20));
}

TEST_F(FilesystemReserveTest, DestroyedWriterGivesBackTheReservation) {
  const std::string path = "/up/abandoned";
  {
    FileWriterPtr w = ReservingWriter(path, uint64_t{200} << 20);
    ASSERT_TRUE(w);
    ASSERT_OK(w->Write("12345", 5));
  }  // the client hung up: the writer is destroyed uncommitted
  EXPECT_EQ(RawSize(root_ + path), 5u);
  EXPECT_LE(Allocated(root_ + path), kSlack);
}

TEST_F(FilesystemReserveTest, HangUpMidWayKeepsOnlyTheDataAndStaysResumable) {
  const std::string path = "/up/halfway";
  const uint64_t sent = uint64_t{40} << 20;
  {
    FileWriterPtr w = ReservingWriter(path, uint64_t{1} << 30);
    ASSERT_TRUE(w);
    std::string chunk(1 << 20, 'h');
    for (uint64_t done = 0; done < sent; done += chunk.size()) {
      ASSERT_OK(w->Write(chunk.data(), chunk.size()));
    }
    EXPECT_GT(Allocated(root_ + path), sent + (uint64_t{8} << 20));  // it was reserving ahead
  }
  EXPECT_EQ(RawSize(root_ + path), sent);
  EXPECT_LE(Allocated(root_ + path), sent + kSlack);
  auto resumed = d_->NewWriter(path, true);
  ASSERT_OK(resumed);
  EXPECT_EQ((*resumed)->Size(), sent);
}

TEST_F(FilesystemReserveTest, CommitGivesBackTheReservation) {
  const std::string path = "/up/committed";
  FileWriterPtr w = ReservingWriter(path, uint64_t{100} << 20);
  ASSERT_TRUE(w);
  std::string data(3 << 20, 'd');
  ASSERT_OK(w->Write(data.data(), data.size()));
  ASSERT_OK(w->Commit());
  EXPECT_EQ(RawSize(root_ + path), data.size());
  EXPECT_LE(Allocated(root_ + path), data.size() + kSlack);
}

TEST_F(FilesystemReserveTest, AppendTakesBackAReservationLeftByAKilledWriter) {
  const std::string path = "/up/killed";
  ASSERT_OK(d_->PutContent(path, "12345"));
  // What a writer killed with the process leaves: blocks reserved past the end.
  int fd = ::open((root_ + path).c_str(), O_WRONLY);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(::fallocate(fd, FALLOC_FL_KEEP_SIZE, 5, 50 << 20), 0);
  ::close(fd);
  ASSERT_GE(Allocated(root_ + path), uint64_t{50} << 20);
  auto w = d_->NewWriter(path, true);
  ASSERT_OK(w);
  EXPECT_LE(Allocated(root_ + path), kSlack);
  ASSERT_OK((*w)->Write("6", 1));
  ASSERT_OK((*w)->Commit());
  EXPECT_EQ(ReadRaw(root_ + path), "123456");
}

TEST_F(FilesystemDriverTest, ReadsLayoutWrittenByAnotherRegistry) {
  std::string blob = std::string("/docker/registry/v2/blobs/sha256/e3/") + kHex + "/data";
  std::string tag = "/docker/registry/v2/repositories/team/app/_manifests/tags/latest/current/link";
  WriteRaw(root_ + blob, "");
  WriteRaw(root_ + tag, std::string("sha256:") + kHex);
  EXPECT_CONTENT(*d_, tag, std::string("sha256:") + kHex);
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

// A small filesystem mounted under a temp directory for the length of a test, so "disk full" is
// real and cannot touch the machine's disk. Needs root (CAP_SYS_ADMIN); ok() is false otherwise
// and the test skips saying why.
class ScopedMount {
 public:
  // tmpfs of `size` bytes.
  static std::unique_ptr<ScopedMount> Tmpfs(const std::string& dir, uint64_t size) {
    std::filesystem::create_directories(dir);
    std::string opts = "size=" + std::to_string(size);
    if (::mount("tmpfs", dir.c_str(), "tmpfs", 0, opts.c_str()) != 0) return nullptr;
    return std::unique_ptr<ScopedMount>(new ScopedMount(dir));
  }
  // ext4 in a loop-mounted image of `size` bytes (ext4 keeps what a failed fallocate got, as a
  // real disk does; tmpfs rolls it back).
  static std::unique_ptr<ScopedMount> LoopExt4(const std::string& dir, const std::string& image,
                                               uint64_t size) {
    std::filesystem::create_directories(dir);
    if (::truncate(image.c_str(), 0) != 0 && errno != ENOENT) return nullptr;
    std::string cmd = "truncate -s " + std::to_string(size) + " '" + image +
                      "' && mkfs.ext4 -q -F '" + image + "' >/dev/null 2>&1 && mount -o loop '" +
                      image + "' '" + dir + "' >/dev/null 2>&1";
    if (std::system(cmd.c_str()) != 0) return nullptr;
    return std::unique_ptr<ScopedMount>(new ScopedMount(dir));
  }
  ~ScopedMount() { ::umount2(dir_.c_str(), MNT_DETACH); }
  ScopedMount(const ScopedMount&) = delete;
  ScopedMount& operator=(const ScopedMount&) = delete;

 private:
  explicit ScopedMount(std::string dir) : dir_(std::move(dir)) {}
  std::string dir_;
};

// Captures what the process-wide logger writes at error level while alive.
class ErrorLogCapture {
 public:
  ErrorLogCapture() : previous_(spdlog::default_logger()) {
    sink_ = std::make_shared<spdlog::sinks::ostream_sink_mt>(out_);
    sink_->set_level(spdlog::level::err);
    auto logger = std::make_shared<spdlog::logger>("capture", sink_);
    logger->set_level(spdlog::level::trace);
    spdlog::set_default_logger(logger);
  }
  ~ErrorLogCapture() { spdlog::set_default_logger(previous_); }
  size_t Count(const std::string& needle) {
    sink_->flush();
    std::string text = out_.str();
    size_t n = 0;
    for (size_t pos = text.find(needle); pos != std::string::npos;
         pos = text.find(needle, pos + 1)) {
      ++n;
    }
    return n;
  }

 private:
  std::ostringstream out_;
  std::shared_ptr<spdlog::sinks::ostream_sink_mt> sink_;
  std::shared_ptr<spdlog::logger> previous_;
};

TEST(FilesystemDiskFull, AnnouncedTebibyteCannotFillTheDisk) {
  testing::TempDir tmp;
  ASSERT_FALSE(tmp.path().empty());
  auto mnt = ScopedMount::LoopExt4(tmp.path() + "/mnt", tmp.path() + "/disk.img", 48 << 20);
  if (!mnt) GTEST_SKIP() << "cannot loop-mount an ext4 image here (needs root and mkfs.ext4)";
  auto d = NewFilesystemDriver(tmp.path() + "/mnt/root");
  ASSERT_OK(d);
  const std::string os_path = tmp.path() + "/mnt/root/up/liar";
  struct statvfs before {};
  ASSERT_EQ(::statvfs((tmp.path() + "/mnt").c_str(), &before), 0);
  {
    auto liar = (*d)->NewWriter("/up/liar", false);
    ASSERT_OK(liar);
    (*liar)->Reserve(uint64_t{1} << 40);  // Content-Length: 1 TiB
    ASSERT_OK((*liar)->Write("12345", 5));
    // Meanwhile an honest upload still finds room for 24 MiB.
    auto honest = (*d)->NewWriter("/up/honest", false);
    ASSERT_OK(honest);
    std::string chunk(1 << 20, 'x');
    for (int i = 0; i < 24; ++i) ASSERT_OK((*honest)->Write(chunk.data(), chunk.size()));
    ASSERT_OK((*honest)->Commit());
  }  // the liar hangs up
  struct stat st {};
  ASSERT_EQ(::stat(os_path.c_str(), &st), 0);
  EXPECT_EQ(st.st_size, 5);
  EXPECT_LE(static_cast<uint64_t>(st.st_blocks) * 512, uint64_t{64} << 10);
  ASSERT_OK((*d)->Delete("/up/honest"));
  // Commit the journal so freed blocks count as free.
  int mfd = ::open((tmp.path() + "/mnt").c_str(), O_RDONLY | O_DIRECTORY);
  ASSERT_GE(mfd, 0);
  ::syncfs(mfd);
  ::close(mfd);
  struct statvfs after {};
  ASSERT_EQ(::statvfs((tmp.path() + "/mnt").c_str(), &after), 0);
  // Everything but the liar's one block is free again.
  EXPECT_GE((after.f_bavail + 16) * after.f_frsize, before.f_bavail * before.f_frsize);
}

TEST(FilesystemDiskFull, SaysStorageIsFullCountsEachAndLogsOncePerEpisode) {
  testing::TempDir tmp;
  ASSERT_FALSE(tmp.path().empty());
  auto mnt = ScopedMount::Tmpfs(tmp.path() + "/mnt", 2 << 20);
  if (!mnt) GTEST_SKIP() << "cannot mount a tmpfs here (needs root)";
  auto d = NewFilesystemDriver(tmp.path() + "/mnt/root");
  ASSERT_OK(d);
  ErrorLogCapture log;
  std::string chunk(256 << 10, 'f');
  auto fill = [&](const std::string& path) -> Status {
    BERTH_ASSIGN_OR_RETURN(FileWriterPtr w, (*d)->NewWriter(path, false));
    for (int i = 0; i < 16; ++i) BERTH_RETURN_IF_ERROR(w->Write(chunk.data(), chunk.size()));
    return w->Commit();
  };
  auto st = fill("/up/a/data");
  ASSERT_FALSE(st.has_value()) << "4 MiB fit in a 2 MiB tmpfs?";
  EXPECT_EQ(st.error().code, ErrorCode::kIo);
  EXPECT_NE(st.error().message.find("no space left on storage writing " + tmp.path() +
                                    "/mnt/root/up/a/data"),
            std::string::npos)
      << st.error().message;
  EXPECT_EQ((*d)->Counters().storage_full, 1u);
  // Still full: a small atomic write fails too, is counted, and is not logged again.
  auto put = (*d)->PutContent("/up/b/link", std::string(64 << 10, 'l'));
  ASSERT_FALSE(put.has_value());
  EXPECT_EQ(put.error().code, ErrorCode::kIo);
  EXPECT_NE(put.error().message.find("no space left on storage writing"), std::string::npos)
      << put.error().message;
  EXPECT_EQ((*d)->Counters().storage_full, 2u);
  EXPECT_EQ(log.Count("no space left on storage"), 1u);
  // Space comes back and a write succeeds: the episode is over, the next failure logs again.
  ASSERT_OK((*d)->Delete("/up/a"));
  ASSERT_OK((*d)->PutContent("/up/c/link", "ok"));
  EXPECT_EQ(log.Count("no space left on storage"), 1u);
  EXPECT_FALSE(fill("/up/d/data").has_value());
  EXPECT_EQ((*d)->Counters().storage_full, 3u);
  EXPECT_EQ(log.Count("no space left on storage"), 2u);
}

TEST_F(FilesystemDriverTest, PurgeTemporariesRemovesOnlyStaleOnes) {
  ASSERT_OK(d_->PutContent("/docker/registry/v2/repositories/a/_manifests/tags/t/current/link",
                           "sha256:x"));
  const std::string tag_dir =
      root_ + "/docker/registry/v2/repositories/a/_manifests/tags/t/current";
  const auto now = std::chrono::system_clock::now();
  auto write_aged = [&](const std::string& os_path, std::chrono::seconds age) {
    WriteRaw(os_path, "half");
    auto t = std::chrono::duration_cast<std::chrono::nanoseconds>((now - age).time_since_epoch());
    struct timespec times[2];
    times[0].tv_sec = times[1].tv_sec = static_cast<time_t>(t.count() / 1000000000);
    times[0].tv_nsec = times[1].tv_nsec = static_cast<long>(t.count() % 1000000000);
    ASSERT_EQ(::utimensat(AT_FDCWD, os_path.c_str(), times, AT_SYMLINK_NOFOLLOW), 0) << os_path;
  };
  write_aged(tag_dir + "/.berth-tmp-00aa", std::chrono::hours(2));        // a kill -9 left it
  write_aged(root_ + "/.berth-tmp-11bb", std::chrono::hours(30));         // at the root too
  write_aged(tag_dir + "/.berth-tmp-22cc", std::chrono::seconds(5));      // a write in flight
  write_aged(tag_dir + "/old-but-not-temporary", std::chrono::hours(2));  // not ours to judge
  std::filesystem::create_symlink(tmp_.path() + "/outside", tag_dir + "/.berth-tmp-33dd");
  WriteRaw(tmp_.path() + "/outside", "keep");

  auto removed = d_->PurgeTemporaries(SystemTime(now - std::chrono::hours(1)));
  ASSERT_OK(removed);
  EXPECT_EQ(*removed, 2u);
  EXPECT_EQ(RawNames(tag_dir), (std::set<std::string>{"link", ".berth-tmp-22cc", ".berth-tmp-33dd",
                                                      "old-but-not-temporary"}));
  EXPECT_FALSE(std::filesystem::exists(root_ + "/.berth-tmp-11bb"));
  EXPECT_EQ(ReadRaw(tmp_.path() + "/outside"), "keep");
  EXPECT_CONTENT(*d_, "/docker/registry/v2/repositories/a/_manifests/tags/t/current/link",
                 "sha256:x");
  // Nothing stale is left: a second pass removes nothing.
  auto again = d_->PurgeTemporaries(SystemTime(now - std::chrono::hours(1)));
  ASSERT_OK(again);
  EXPECT_EQ(*again, 0u);
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
