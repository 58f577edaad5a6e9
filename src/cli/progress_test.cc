#include "cli/progress.h"

#include <gtest/gtest.h>

#include <sstream>
#include <thread>
#include <vector>

namespace berth::cli {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

struct FakeTime {
  std::chrono::steady_clock::time_point t{};
  Progress::Clock clock() {
    return [this] { return t; };
  }
};

// Output into `out`, time from `ft`; Tty() for a terminal of `width` columns (0: the default).
class ProgressTest : public ::testing::Test {
 protected:
  Progress::Options Plain() {
    Progress::Options o;
    o.out = &out;
    o.now = ft.clock();
    return o;
  }
  Progress::Options Tty(int width = 0) {
    Progress::Options o = Plain();
    o.tty = true;
    if (width > 0) o.width = width;
    return o;
  }
  std::ostringstream out;
  FakeTime ft;
};

std::vector<std::string> Lines(const std::string& s) {
  std::vector<std::string> out;
  std::istringstream in(s);
  for (std::string l; std::getline(in, l);) out.push_back(l);
  return out;
}

TEST(Progress, FormatsBytesAndDurations) {
  EXPECT_EQ(Progress::FormatBytes(0), "0 B");
  EXPECT_EQ(Progress::FormatBytes(1023), "1023 B");
  EXPECT_EQ(Progress::FormatBytes(1536), "1.5 KiB");
  EXPECT_EQ(Progress::FormatBytes(3ull << 30), "3.0 GiB");
  EXPECT_EQ(Progress::FormatBytes(UINT64_MAX), "16.0 EiB");
  EXPECT_EQ(Progress::FormatDuration(seconds(7)), "0:07");
  EXPECT_EQ(Progress::FormatDuration(seconds(62)), "1:02");
  EXPECT_EQ(Progress::FormatDuration(seconds(3723)), "1:02:03");
}

TEST_F(ProgressTest, PlainModePrintsOneLinePerTenthAndAFinalLine) {
  {
    Progress::Options o = Plain();
    o.noun = "blobs";
    Progress p("gc: sweep", 100, o);
    for (int i = 0; i < 100; ++i) {
      ft.t += milliseconds(100);
      p.Add(1);
    }
    p.Finish("deleted 100 blobs");
  }
  auto lines = Lines(out.str());
  ASSERT_EQ(lines.size(), 10u) << out.str();
  EXPECT_EQ(lines[0], "gc: sweep: 10% (10/100 blobs, 10/s)");
  EXPECT_EQ(lines[8], "gc: sweep: 90% (90/100 blobs, 10/s)");
  EXPECT_EQ(lines[9], "gc: sweep: deleted 100 blobs in 0:10");
  EXPECT_EQ(out.str().find('\r'), std::string::npos) << "no terminal control in plain mode";
}

TEST_F(ProgressTest, PlainModeWithUnknownTotalPrintsEveryInterval) {
  Progress::Options o = Plain();
  o.unit = Progress::Unit::kBytes;
  o.line_every = milliseconds(5000);
  Progress p("export", 0, o);
  for (int i = 0; i < 12; ++i) {
    ft.t += seconds(1);
    p.Add(1 << 20);
  }
  p.Finish();
  auto lines = Lines(out.str());
  ASSERT_EQ(lines.size(), 3u) << out.str();
  EXPECT_EQ(lines[0], "export: 5.0 MiB (1.0 MiB/s)");
  EXPECT_EQ(lines[1], "export: 10.0 MiB (1.0 MiB/s)");
  EXPECT_EQ(lines[2], "export: 12.0 MiB in 0:12");
}

TEST_F(ProgressTest, TerminalModeRedrawsInPlaceAtMostEveryInterval) {
  Progress::Options o = Tty(60);
  o.redraw = milliseconds(100);
  Progress p("copy", 1000, o);
  for (int i = 0; i < 1000; ++i) {
    ft.t += milliseconds(1);
    p.Add(1);
  }
  p.Finish();
  std::string s = out.str();
  size_t draws = 0;
  for (size_t at = s.find("\r\x1b[K"); at != std::string::npos; at = s.find("\r\x1b[K", at + 1)) {
    ++draws;
  }
  // One draw per 100 ms of a one-second run (+ the first, + the clear before the final line).
  EXPECT_GE(draws, 10u);
  EXPECT_LE(draws, 13u);
  EXPECT_EQ(Lines(s).size(), 1u) << "the bar stays on one line until Finish";
  EXPECT_NE(s.find("[#"), std::string::npos) << s;
  EXPECT_NE(s.find(" 50%"), std::string::npos) << s;
  EXPECT_NE(s.find("ETA 0:"), std::string::npos) << s;
  EXPECT_TRUE(s.ends_with("\r\x1b[Kcopy: 1000/1000 in 0:01\n")) << s;
  // No drawn line is wider than the terminal (the last column stays free).
  size_t from = 0;
  while ((from = s.find("\r\x1b[K", from)) != std::string::npos) {
    from += 4;
    size_t end = s.find_first_of("\r\n", from);
    EXPECT_LE(end - from, 59u) << s.substr(from, end - from);
  }
}

TEST_F(ProgressTest, TerminalNotePrintsAboveTheBarAndRedrawsIt) {
  Progress p("gc", 4, Tty());
  p.Add(1);
  p.Note("skipped team/app:old");
  std::string s = out.str();
  size_t note = s.find("\r\x1b[Kskipped team/app:old\n");
  ASSERT_NE(note, std::string::npos) << s;
  EXPECT_NE(s.find("25%", note), std::string::npos) << "bar redrawn after the note: " << s;
}

TEST_F(ProgressTest, NarrowTerminalDropsTheBarNotTheNumbers) {
  Progress p("replicate", 10, Tty(30));
  p.Add(5);
  std::string s = out.str();
  EXPECT_EQ(s.find(" ["), std::string::npos) << s;
  EXPECT_NE(s.find("50%"), std::string::npos) << s;
}

TEST_F(ProgressTest, FinishIsIdempotentAndTheDestructorFinishes) {
  {
    Progress p("x", 2, Plain());
    p.Add(2);
    p.Finish("done");
    p.Finish("again");
  }
  EXPECT_EQ(out.str(), "x: done in 0:00\n");
  std::ostringstream out2;
  {
    Progress::Options o;
    o.out = &out2;
    Progress p("y", 0, o);
  }
  EXPECT_EQ(out2.str(), "y: 0 in 0:00\n");
}

TEST_F(ProgressTest, ConcurrentAddsAreAllCounted) {
  Progress p("par", 0, Plain());
  std::vector<std::thread> ts;
  for (int t = 0; t < 4; ++t) {
    ts.emplace_back([&] {
      for (int i = 0; i < 10000; ++i) p.Add(1);
    });
  }
  for (auto& t : ts) t.join();
  p.Finish();
  EXPECT_NE(out.str().find("par: 40000 in"), std::string::npos) << out.str();
}

}  // namespace
}  // namespace berth::cli
