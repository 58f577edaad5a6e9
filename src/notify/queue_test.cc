#include "notify/queue.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>

#include "test/support/temp_dir.h"

namespace berth::notify {
namespace {

using testing::TempDir;

SystemTime T(int s) { return SystemTime(std::chrono::seconds(s)); }

std::vector<std::string> Drain(Queue& q) {
  std::vector<std::string> out;
  while (true) {
    auto f = q.Front();
    EXPECT_TRUE(f);
    if (!f || !*f) return out;
    out.push_back((*f)->payload);
    EXPECT_TRUE(q.Ack((*f)->seq));
  }
}

TEST(Queue, FifoAndAckSurviveReopen) {
  TempDir dir;
  {
    auto q = Queue::Open(dir.path(), 1 << 20);
    ASSERT_TRUE(q) << q.error().message;
    ASSERT_TRUE((*q)->Append({"a", "b", "c"}, T(5)));
    auto f = (*q)->Front();
    ASSERT_TRUE(f && *f);
    EXPECT_EQ((*f)->payload, "a");
    EXPECT_EQ((*f)->enqueued, T(5));
    ASSERT_TRUE((*q)->Ack((*f)->seq));
  }
  auto q = Queue::Open(dir.path(), 1 << 20);
  ASSERT_TRUE(q);
  EXPECT_EQ((*q)->Stats().pending, 2u);
  EXPECT_EQ((*q)->Stats().oldest, T(5));
  ASSERT_TRUE((*q)->Append({"d"}, T(6)));
  EXPECT_EQ(Drain(**q), (std::vector<std::string>{"b", "c", "d"}));
  auto again = Queue::Open(dir.path(), 1 << 20);
  ASSERT_TRUE(again);
  EXPECT_EQ((*again)->Stats().pending, 0u);
}

TEST(Queue, SequenceNumbersKeepGrowingAcrossReopen) {
  TempDir dir;
  uint64_t first;
  {
    auto q = Queue::Open(dir.path(), 1 << 20);
    ASSERT_TRUE((*q)->Append({"a"}, T(1)));
    first = (*(*q)->Front())->seq;
    ASSERT_TRUE((*q)->Ack(first));
  }
  auto q = Queue::Open(dir.path(), 1 << 20);
  ASSERT_TRUE((*q)->Append({"b"}, T(1)));
  EXPECT_GT((*(*q)->Front())->seq, first);
}

TEST(Queue, TornTailIsCutAndEarlierRecordsKept) {
  TempDir dir;
  {
    auto q = Queue::Open(dir.path(), 1 << 20);
    ASSERT_TRUE((*q)->Append({"first", "second"}, T(1)));
  }
  std::string log = dir.Path("queue.log");
  auto size = std::filesystem::file_size(log);
  std::filesystem::resize_file(log, size - 3);  // a crash in the middle of the second record
  {
    auto q = Queue::Open(dir.path(), 1 << 20);
    ASSERT_TRUE(q);
    EXPECT_EQ((*q)->Stats().pending, 1u);
    ASSERT_TRUE((*q)->Append({"third"}, T(2)));
    EXPECT_EQ(Drain(**q), (std::vector<std::string>{"first", "third"}));
  }
}

TEST(Queue, CorruptRecordStopsRecoveryThere) {
  TempDir dir;
  {
    auto q = Queue::Open(dir.path(), 1 << 20);
    ASSERT_TRUE((*q)->Append({"good", "flipped"}, T(1)));
  }
  std::string log = dir.Path("queue.log");
  int fd = ::open(log.c_str(), O_RDWR);
  auto size = std::filesystem::file_size(log);
  ASSERT_EQ(::pwrite(fd, "X", 1, static_cast<off_t>(size - 1)), 1);
  ::close(fd);
  auto q = Queue::Open(dir.path(), 1 << 20);
  ASSERT_TRUE(q);
  EXPECT_EQ(Drain(**q), (std::vector<std::string>{"good"}));
}

TEST(Queue, FullQueueDropsTheOldestAndCountsThem) {
  TempDir dir;
  auto q = Queue::Open(dir.path(), 100);
  ASSERT_TRUE(q);
  std::string forty(40, 'x');
  ASSERT_EQ(*(*q)->Append({forty + "1", forty + "2"}, T(1)), 0u);
  auto dropped = (*q)->Append({forty + "3"}, T(2));
  ASSERT_TRUE(dropped);
  EXPECT_EQ(*dropped, 1u);
  EXPECT_EQ((*q)->Stats().dropped_total, 1u);
  EXPECT_LE((*q)->Stats().pending_bytes, 100u);
  EXPECT_EQ(Drain(**q), (std::vector<std::string>{forty + "2", forty + "3"}));
}

TEST(Queue, CompactionShrinksTheLogAndKeepsPendingRecords) {
  TempDir dir;
  auto q = Queue::Open(dir.path(), 64 << 20);
  ASSERT_TRUE(q);
  std::string big(64 << 10, 'y');
  std::vector<std::string> batch(40, big);  // 2.5 MiB
  ASSERT_TRUE((*q)->Append(batch, T(1)));
  ASSERT_TRUE((*q)->Append({"tail"}, T(1)));
  for (int i = 0; i < 40; ++i) ASSERT_TRUE((*q)->Ack((*(*q)->Front())->seq));
  EXPECT_LT((*q)->Stats().log_bytes, 1u << 20);
  EXPECT_LT(std::filesystem::file_size(dir.Path("queue.log")), 1u << 20);
  auto reopened = Queue::Open(dir.path() + "/", 64 << 20);
  q->reset();
  ASSERT_TRUE(reopened);
  EXPECT_EQ(Drain(**reopened), (std::vector<std::string>{"tail"}));
}

}  // namespace
}  // namespace berth::notify
