// Many committers at once: group commit, every record exactly once in LSN
// order, and the background syncer, segment switches and removal running
// alongside. Also run under ThreadSanitizer.
#include <gtest/gtest.h>

#include <atomic>
#include <map>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "common/coding.h"
#include "common/logging.h"
#include "wal/wal.h"
#include "wal_test_util.h"

namespace mvdb {
namespace {

namespace lf = log_format;
using testing_wal::ReadLog;
using testing_wal::ReadWholeLog;
using testing_wal::SyncControlFileSystem;
using testing_wal::TempDir;
using testing_wal::TestSeed;
using testing_wal::WaitUntil;

// A payload naming its committer and sequence number, padded to `size`.
std::vector<std::byte> Tagged(uint32_t thread, uint32_t seq, size_t size) {
  std::vector<std::byte> out(std::max<size_t>(size, 8), std::byte{0x5a});
  EncodeFixed32(out.data(), thread);
  EncodeFixed32(out.data() + 4, seq);
  return out;
}

// Checks that `records` holds, for each thread t < threads, the records
// (t, 0) .. (t, per_thread - 1), each exactly once, each thread's in order.
void ExpectEachOnceInOrder(const ReadLog& log, uint32_t threads, uint32_t per_thread) {
  std::vector<int64_t> last_seq(threads, -1);
  Lsn expect_lsn = log.records.empty() ? 0 : log.records.front().lsn;
  for (const testing_wal::ReadRecord& r : log.records) {
    ASSERT_EQ(r.lsn, expect_lsn) << "LSNs are contiguous";
    expect_lsn += lf::FramedSize(r.payload.size());
    ASSERT_GE(r.payload.size(), 8u);
    const uint32_t thread = DecodeFixed32(r.payload.data());
    const int64_t seq = DecodeFixed32(r.payload.data() + 4);
    ASSERT_LT(thread, threads);
    ASSERT_EQ(seq, last_seq[thread] + 1) << "thread " << thread << ": once each, in order";
    last_seq[thread] = seq;
  }
  for (uint32_t t = 0; t < threads; ++t) EXPECT_EQ(last_seq[t] + 1, int64_t{per_thread});
}

class WalConcurrencyTest : public ::testing::Test {
 protected:
  void SetUp() override { SetLogLevel(LogLevel::kNone); }
  void TearDown() override { SetLogLevel(LogLevel::kWarning); }

  std::string WalDir() const { return dir_.File("wal"); }

  TempDir dir_;
  std::unique_ptr<FileSystem> posix_ = NewPosixFileSystem();
  SyncControlFileSystem control_{posix_.get(), /*real_syncs=*/false};
};

TEST_F(WalConcurrencyTest, EightCommittersShareFsyncs) {
  constexpr uint32_t kThreads = 8;
  constexpr uint32_t kPerThread = 60;
  WalOptions options;
  options.segment_size = 16 << 10;
  Result<std::unique_ptr<Wal>> opened = Wal::Open(&control_, WalDir(), options);
  ASSERT_TRUE(opened.ok()) << opened.status().ToString();
  Wal& wal = **opened;
  const WalStats before = wal.stats();

  // An fdatasync that takes real time, as on a disk. Group commit forms on
  // its own then, but to make "fewer fsyncs than commits" certain rather
  // than likely, the first fdatasync is held until every committer has
  // appended: those seven then wait behind it and share the next one.
  control_.SetSyncDelay(std::chrono::microseconds(500));
  control_.CloseGate();
  std::vector<std::thread> threads;
  std::atomic<int> failures{0};
  for (uint32_t t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (uint32_t seq = 0; seq < kPerThread; ++seq) {
        Result<Lsn> lsn =
            wal.Commit(2, Tagged(t, seq, 40 + (seq * 37 + t * 11) % 300), Durability::kFull);
        if (!lsn.ok() || wal.durable_lsn() <= *lsn) failures.fetch_add(1);
      }
    });
  }
  EXPECT_TRUE(WaitUntil([&] { return wal.stats().records >= kThreads; }));
  control_.OpenGate();
  for (std::thread& t : threads) t.join();
  EXPECT_EQ(failures.load(), 0);

  const WalStats after = wal.stats();
  const uint64_t commits = uint64_t{kThreads} * kPerThread;
  const uint64_t fsyncs = after.fsyncs - before.fsyncs;
  EXPECT_EQ(after.records, commits);
  EXPECT_LT(fsyncs, commits) << "group commit: commits shared fdatasyncs";
  EXPECT_GE(after.max_group, kThreads - 1);
  EXPECT_EQ(after.durable_lsn, after.next_lsn);
  ASSERT_TRUE(wal.Close().ok());

  Result<ReadLog> read = ReadWholeLog(&control_, WalDir(), 0);
  ASSERT_TRUE(read.ok()) << read.status().ToString();
  ASSERT_EQ(read->records.size(), commits);
  ExpectEachOnceInOrder(*read, kThreads, kPerThread);
}

// Without the leader's short wait, four committers in a loop alternate in
// two groups of about two; with it, an fdatasync serves about all four. The
// fdatasync here takes 10 ms, so the wait may last 5 ms: ample time for a
// released committer to append again.
TEST_F(WalConcurrencyTest, LeaderWaitsForReleasedCommitters) {
  constexpr uint32_t kThreads = 4;
  constexpr uint32_t kPerThread = 25;
  WalOptions options;
  options.group_commit_wait = std::chrono::seconds(1);
  Result<std::unique_ptr<Wal>> opened = Wal::Open(&control_, WalDir(), options);
  ASSERT_TRUE(opened.ok()) << opened.status().ToString();
  Wal& wal = **opened;
  control_.SetSyncDelay(std::chrono::milliseconds(10));
  const WalStats before = wal.stats();
  std::vector<std::thread> threads;
  for (uint32_t t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (uint32_t seq = 0; seq < kPerThread; ++seq) {
        EXPECT_TRUE(wal.Commit(2, Tagged(t, seq, 50), Durability::kFull).ok());
      }
    });
  }
  for (std::thread& t : threads) t.join();
  const uint64_t fsyncs = wal.stats().fsyncs - before.fsyncs;
  // About 26 with the wait, over 45 without.
  EXPECT_LE(fsyncs, 36u);
  ASSERT_TRUE(wal.Close().ok());
  Result<ReadLog> read = ReadWholeLog(&control_, WalDir(), 0);
  ASSERT_TRUE(read.ok()) << read.status().ToString();
  ExpectEachOnceInOrder(*read, kThreads, kPerThread);
}

TEST_F(WalConcurrencyTest, MixedDurabilityWithSwitchesAndRemoval) {
  const uint64_t seed = TestSeed();
  SCOPED_TRACE("seed=" + std::to_string(seed));
  constexpr uint32_t kThreads = 4;
  constexpr uint32_t kPerThread = 150;
  WalOptions options;
  options.segment_size = 4096;
  options.sync_interval = std::chrono::milliseconds(2);
  options.buffer_limit = 2048;  // some Appends write on their own
  Result<std::unique_ptr<Wal>> opened = Wal::Open(&control_, WalDir(), options);
  ASSERT_TRUE(opened.ok()) << opened.status().ToString();
  Wal& wal = **opened;
  control_.SetSyncDelay(std::chrono::microseconds(100));

  std::atomic<bool> done{false};
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (uint32_t t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      std::mt19937_64 rng(seed + t);
      for (uint32_t seq = 0; seq < kPerThread; ++seq) {
        const std::vector<std::byte> payload = Tagged(t, seq, rng() % 1500);
        Status s;
        switch (rng() % 4) {
          case 0:
            s = wal.Commit(2, payload, Durability::kFull).status();
            break;
          case 1:
            s = wal.Commit(2, payload, Durability::kNormal).status();
            break;
          case 2:
            s = wal.Commit(2, payload, Durability::kOff).status();
            break;
          default:
            s = wal.Append(2, payload).status();
            break;
        }
        if (!s.ok()) failures.fetch_add(1);
      }
    });
  }
  // A checkpointer that keeps only the last few segments, and a monitor.
  std::thread checkpointer([&] {
    while (!done.load()) {
      const Lsn durable = wal.durable_lsn();
      if (!wal.RemoveSegmentsBefore(durable > 8192 ? durable - 8192 : 0).ok()) {
        failures.fetch_add(1);
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
  });
  std::thread monitor([&] {
    while (!done.load()) {
      const WalStats s = wal.stats();
      if (!(s.durable_lsn <= s.written_lsn && s.written_lsn <= s.next_lsn)) failures.fetch_add(1);
      std::this_thread::yield();
    }
  });
  for (std::thread& t : threads) t.join();
  done = true;
  checkpointer.join();
  monitor.join();
  EXPECT_EQ(failures.load(), 0);
  ASSERT_TRUE(wal.SyncAll().ok());
  // One last checkpoint, so that removal happened however the threads ran.
  ASSERT_TRUE(wal.RemoveSegmentsBefore(wal.durable_lsn() - 8192).ok());
  const WalStats stats = wal.stats();
  EXPECT_GT(stats.segments_created, 10u);
  EXPECT_GT(stats.segments_removed, 0u);
  const Lsn oldest = wal.oldest_lsn();
  ASSERT_TRUE(wal.Close().ok());

  // Whatever was kept is contiguous and every record in it appears once.
  Result<ReadLog> read = ReadWholeLog(&control_, WalDir(), oldest);
  ASSERT_TRUE(read.ok()) << read.status().ToString();
  ASSERT_FALSE(read->records.empty());
  EXPECT_EQ(read->end.lsn, stats.next_lsn);
  std::map<std::pair<uint32_t, uint32_t>, int> seen;
  Lsn expect = oldest;
  for (const testing_wal::ReadRecord& r : read->records) {
    ASSERT_EQ(r.lsn, expect);
    expect += lf::FramedSize(r.payload.size());
    ++seen[{DecodeFixed32(r.payload.data()), DecodeFixed32(r.payload.data() + 4)}];
  }
  for (const auto& [key, count] : seen) EXPECT_EQ(count, 1);
}

}  // namespace
}  // namespace mvdb
