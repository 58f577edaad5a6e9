#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "archive/tar_reader.h"
#include "archive/tar_writer.h"

namespace berth::archive {
namespace {

namespace fs = std::filesystem;

struct Tmp {
  std::string dir;
  Tmp() {
    char t[] = "/tmp/berth-tar-test-XXXXXX";
    dir = ::mkdtemp(t);
  }
  ~Tmp() { fs::remove_all(dir); }
};

std::string ReadMember(const TarReader& r, std::string_view name) {
  auto m = r.OpenMember(name);
  EXPECT_TRUE(m.has_value()) << name;
  if (!m) return "";
  std::string out;
  char buf[7];  // odd size: reads cross block boundaries
  for (;;) {
    auto n = (*m)->Read(buf, sizeof buf);
    EXPECT_TRUE(n.has_value());
    if (!n || *n == 0) break;
    out.append(buf, *n);
  }
  return out;
}

TEST(Tar, WrittenArchiveReadsBackAndGnuTarAgrees) {
  Tmp t;
  const std::string path = t.dir + "/a.tar";
  auto w = TarWriter::Create(path);
  ASSERT_TRUE(w.has_value());
  ASSERT_TRUE((*w)->AddDirectory("blobs").has_value());
  ASSERT_TRUE((*w)->AddFile("oci-layout", "{}").has_value());
  std::string big(70000, 'x');
  big[512] = 'y';
  ASSERT_TRUE((*w)->AddFile("blobs/sha256/" + std::string(64, 'a'), big).has_value());
  std::string long_name = std::string(120, 'd') + "/" + std::string(90, 'f');
  ASSERT_TRUE((*w)->AddFile(long_name, "deep").has_value());
  ASSERT_TRUE((*w)->Finish().has_value());

  auto r = TarReader::Open(path);
  ASSERT_TRUE(r.has_value()) << r.error().ToString();
  EXPECT_EQ(ReadMember(**r, "oci-layout"), "{}");
  EXPECT_EQ(ReadMember(**r, "./blobs/sha256/" + std::string(64, 'a')), big);
  EXPECT_EQ(ReadMember(**r, long_name), "deep");
  EXPECT_FALSE((*r)->Stat("missing").has_value());
  // GNU tar reads what we wrote.
  ASSERT_EQ(std::system(("tar -C " + t.dir + " -xf " + path).c_str()), 0);
  std::ifstream f(t.dir + "/" + long_name);
  std::string content((std::istreambuf_iterator<char>(f)), {});
  EXPECT_EQ(content, "deep");
}

TEST(Tar, ReadsGnuTarOutputWithDotSlashAndLongNames) {
  Tmp t;
  fs::create_directories(t.dir + "/src/" + std::string(150, 'q'));
  std::ofstream(t.dir + "/src/" + std::string(150, 'q') + "/" + std::string(120, 'z')) << "long";
  std::ofstream(t.dir + "/src/index.json") << "{\"a\":1}";
  for (const char* fmt : {"gnu", "pax"}) {
    const std::string path = t.dir + "/" + fmt + ".tar";
    ASSERT_EQ(std::system(
                  ("tar --format=" + std::string(fmt) + " -C " + t.dir + "/src -cf " + path + " .")
                      .c_str()),
              0);
    auto r = TarReader::Open(path);
    ASSERT_TRUE(r.has_value()) << fmt << r.error().ToString();
    EXPECT_EQ(ReadMember(**r, "index.json"), "{\"a\":1}") << fmt;
    EXPECT_EQ(ReadMember(**r, std::string(150, 'q') + "/" + std::string(120, 'z')), "long") << fmt;
  }
}

TEST(Tar, CorruptOrTruncatedArchiveIsRefused) {
  Tmp t;
  const std::string path = t.dir + "/a.tar";
  auto w = TarWriter::Create(path);
  ASSERT_TRUE((*w)->AddFile("f", std::string(2000, 'z')).has_value());
  ASSERT_TRUE((*w)->Finish().has_value());
  // Truncated in the middle of the member's data.
  fs::resize_file(path, 1024);
  auto r = TarReader::Open(path);
  ASSERT_FALSE(r.has_value());
  EXPECT_NE(r.error().message.find("past the end"), std::string::npos) << r.error().message;
  // A header byte changed: checksum mismatch.
  std::fstream f(path, std::ios::in | std::ios::out | std::ios::binary);
  f.seekp(0);
  f.write("g", 1);
  f.close();
  r = TarReader::Open(path);
  ASSERT_FALSE(r.has_value());
  EXPECT_NE(r.error().message.find("checksum"), std::string::npos) << r.error().message;
}

TEST(Tar, StreamShorterThanAnnouncedPoisonsTheWriter) {
  Tmp t;
  auto w = TarWriter::Create(t.dir + "/a.tar");
  bool once = false;
  auto st = (*w)->AddStream("f", 100, [&](char* buf, size_t) -> Result<size_t> {
    if (once) return size_t{0};
    once = true;
    buf[0] = 'a';
    return size_t{1};
  });
  EXPECT_FALSE(st.has_value());
  EXPECT_FALSE((*w)->Finish().has_value());
}

}  // namespace
}  // namespace berth::archive
