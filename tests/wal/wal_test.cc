// The log on disk: round trips across segments and reopens, torn tails,
// damage, gaps, removal of old segments, and the writer's argument checks.
#include "wal/wal.h"

#include <gtest/gtest.h>

#include <fstream>
#include <random>
#include <string>
#include <vector>

#include "common/logging.h"
#include "wal/log_reader.h"
#include "wal_test_util.h"

namespace mvdb {
namespace {

namespace lf = log_format;
using testing_wal::Payload;
using testing_wal::ReadLog;
using testing_wal::ReadWholeLog;
using testing_wal::SyncControlFileSystem;
using testing_wal::TempDir;
using testing_wal::TestSeed;

using testing_wal::Contains;

struct Written {
  Lsn lsn;
  uint8_t type;
  std::vector<std::byte> payload;
};

class WalTest : public ::testing::Test {
 protected:
  void SetUp() override { SetLogLevel(LogLevel::kNone); }
  void TearDown() override { SetLogLevel(LogLevel::kWarning); }

  static WalOptions SmallSegments() {
    WalOptions options;
    options.segment_size = 64 << 10;
    return options;
  }

  std::string WalDir() const { return dir_.File("wal"); }

  std::unique_ptr<Wal> OpenWal(const WalOptions& options = SmallSegments()) {
    Result<std::unique_ptr<Wal>> wal = Wal::Open(fs_, WalDir(), options);
    EXPECT_TRUE(wal.ok()) << wal.status().ToString();
    return wal.ok() ? std::move(*wal) : nullptr;
  }

  // Commits `payload` (full durability) and remembers it.
  void Commit(Wal& wal, std::vector<Written>& log, std::vector<std::byte> payload,
              uint8_t type = 3) {
    Result<Lsn> lsn = wal.Commit(type, payload, Durability::kFull);
    ASSERT_TRUE(lsn.ok()) << lsn.status().ToString();
    log.push_back({*lsn, type, std::move(payload)});
  }

  std::vector<SegmentFile> Segments() {
    Result<std::vector<SegmentFile>> segments = ListSegments(fs_, WalDir());
    EXPECT_TRUE(segments.ok()) << segments.status().ToString();
    return segments.ok() ? *segments : std::vector<SegmentFile>{};
  }

  ReadLog ReadAll(Lsn start = 0) {
    Result<ReadLog> log = ReadWholeLog(fs_, WalDir(), start);
    EXPECT_TRUE(log.ok()) << log.status().ToString();
    return log.ok() ? *log : ReadLog{};
  }

  static void ExpectSameRecords(const std::vector<testing_wal::ReadRecord>& got,
                                const std::vector<Written>& want) {
    ASSERT_EQ(got.size(), want.size());
    for (size_t i = 0; i < want.size(); ++i) {
      EXPECT_EQ(got[i].lsn, want[i].lsn) << "record " << i;
      EXPECT_EQ(got[i].type, want[i].type) << "record " << i;
      EXPECT_TRUE(got[i].payload == want[i].payload) << "record " << i;
    }
  }

  static std::vector<char> FileBytes(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
  }
  static void WriteFileBytes(const std::string& path, const std::vector<char>& bytes) {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  }
  static void FlipByte(const std::string& path, uint64_t offset) {
    std::vector<char> bytes = FileBytes(path);
    ASSERT_LT(offset, bytes.size());
    bytes[offset] = static_cast<char>(bytes[offset] ^ 0x20);
    WriteFileBytes(path, bytes);
  }
  static void TruncateFile(const std::string& path, uint64_t size) {
    std::filesystem::resize_file(path, size);
  }

  // The file offset of the record at `lsn` in `segment`.
  static uint64_t OffsetOf(const SegmentFile& segment, Lsn lsn) {
    return lf::kSegmentHeaderSize + (lsn - segment.start_lsn);
  }

  TempDir dir_;
  std::unique_ptr<FileSystem> posix_ = NewPosixFileSystem();
  SyncControlFileSystem fast_{posix_.get(), /*real_syncs=*/false};
  FileSystem* fs_ = &fast_;
};

TEST_F(WalTest, RoundTripAcrossSegmentsAndReopens) {
  const uint64_t seed = TestSeed();
  SCOPED_TRACE("seed=" + std::to_string(seed));
  std::mt19937_64 rng(seed);
  fs_ = posix_.get();  // real fdatasync here, to exercise the real path once
  std::vector<Written> log;
  auto append_some = [&](Wal& wal, int n) {
    for (int i = 0; i < n; ++i) {
      // Mostly small, some larger than a whole segment, and both extremes.
      size_t size = rng() % 8 == 0 ? rng() % (200 << 10) : rng() % 3000;
      if (i == 0) size = 0;
      if (i == 1) size = 200 << 10;
      std::vector<std::byte> payload = Payload(size, log.size());
      const uint8_t type = static_cast<uint8_t>(1 + rng() % 200);
      Result<Lsn> lsn = wal.Append(type, payload);
      ASSERT_TRUE(lsn.ok()) << lsn.status().ToString();
      if (!log.empty()) {
        ASSERT_EQ(*lsn, log.back().lsn + lf::FramedSize(log.back().payload.size()))
            << "LSNs are contiguous";
      }
      log.push_back({*lsn, type, std::move(payload)});
    }
    ASSERT_TRUE(wal.SyncAll().ok());
  };

  {
    std::unique_ptr<Wal> wal = OpenWal();
    ASSERT_NE(wal, nullptr);
    EXPECT_EQ(wal->next_lsn(), 0u);
    append_some(*wal, 120);
    ASSERT_TRUE(wal->Close().ok());
  }
  ExpectSameRecords(ReadAll().records, log);
  std::vector<SegmentFile> segments = Segments();
  EXPECT_GT(segments.size(), 4u);
  // A segment exceeds the nominal size only to hold a single large record.
  for (size_t i = 0; i + 1 < segments.size(); ++i) {
    if (segments[i].size <= (64 << 10)) continue;
    const Lsn start = segments[i].start_lsn;
    const Lsn end = segments[i + 1].start_lsn;
    size_t inside = 0;
    for (const Written& w : log) inside += w.lsn >= start && w.lsn < end ? 1 : 0;
    EXPECT_EQ(inside, 1u) << segments[i].path;
  }

  {
    std::unique_ptr<Wal> wal = OpenWal();
    ASSERT_NE(wal, nullptr);
    EXPECT_EQ(wal->next_lsn(), log.back().lsn + lf::FramedSize(log.back().payload.size()));
    EXPECT_EQ(wal->opened_end().torn_reason, "");
    append_some(*wal, 40);
    ASSERT_TRUE(wal->Close().ok());
  }
  ReadLog all = ReadAll();
  ExpectSameRecords(all.records, log);
  EXPECT_EQ(all.end.lsn, log.back().lsn + lf::FramedSize(log.back().payload.size()));

  // Reading from the middle gives the suffix; LSNs that are not a record's
  // start, or lie past the end, are refused.
  const size_t mid = log.size() / 2;
  ExpectSameRecords(ReadAll(log[mid].lsn).records,
                    std::vector<Written>(log.begin() + static_cast<ptrdiff_t>(mid), log.end()));
  Result<ReadLog> inside = ReadWholeLog(fs_, WalDir(), log[mid].lsn + 8);
  EXPECT_EQ(inside.status().code(), StatusCode::kInvalidArgument) << inside.status().ToString();
  Result<ReadLog> past = ReadWholeLog(fs_, WalDir(), all.end.lsn + 8);
  EXPECT_EQ(past.status().code(), StatusCode::kInvalidArgument) << past.status().ToString();
  EXPECT_TRUE(ReadAll(all.end.lsn).records.empty());
}

TEST_F(WalTest, EmptyDirectoryIsAnEmptyLog) {
  ASSERT_TRUE(fs_->CreateDir(WalDir()).ok());
  ReadLog log = ReadAll(0);
  EXPECT_TRUE(log.records.empty());
  EXPECT_EQ(log.end.segment_path, "");
}

TEST_F(WalTest, NewLogStartsAtInitialLsn) {
  WalOptions options = SmallSegments();
  options.initial_lsn = 1 << 20;
  std::unique_ptr<Wal> wal = OpenWal(options);
  ASSERT_NE(wal, nullptr);
  Result<Lsn> lsn = wal->Commit(1, Payload(10, 1), Durability::kFull);
  ASSERT_TRUE(lsn.ok());
  EXPECT_EQ(*lsn, Lsn{1} << 20);
  ASSERT_TRUE(wal->Close().ok());
  EXPECT_EQ(Segments().front().path, WalDir() + "/0000000000100000.log");
  EXPECT_EQ(ReadAll(1 << 20).records.size(), 1u);
  EXPECT_TRUE(ReadWholeLog(fs_, WalDir(), 0).status().IsNotFound());
}

TEST_F(WalTest, TornTailAtEveryOffsetOfTheLastRecord) {
  std::vector<Written> log;
  {
    std::unique_ptr<Wal> wal = OpenWal();
    for (int i = 0; i < 5; ++i) Commit(*wal, log, Payload(50 + i, i));
    ASSERT_TRUE(wal->Close().ok());
  }
  const SegmentFile newest = Segments().back();
  const std::vector<char> original = FileBytes(newest.path);
  const uint64_t last = OffsetOf(newest, log.back().lsn);
  const std::vector<Written> kept(log.begin(), log.end() - 1);
  for (uint64_t cut = last; cut < original.size(); ++cut) {
    SCOPED_TRACE("cut=" + std::to_string(cut));
    WriteFileBytes(newest.path, original);
    TruncateFile(newest.path, cut);

    ReadLog read = ReadAll();
    ExpectSameRecords(read.records, kept);
    EXPECT_EQ(read.end.lsn, log.back().lsn);
    EXPECT_EQ(read.end.valid_size, last);

    // The writer cuts the torn bytes and continues right there.
    std::unique_ptr<Wal> wal = OpenWal();
    ASSERT_NE(wal, nullptr);
    EXPECT_EQ(wal->next_lsn(), log.back().lsn);
    EXPECT_EQ(wal->opened_end().valid_size, last);
    std::vector<Written> now = kept;
    Commit(*wal, now, Payload(7, 99), 9);
    ASSERT_TRUE(wal->Close().ok());
    ExpectSameRecords(ReadAll().records, now);
  }
}

TEST_F(WalTest, FlippedByteInTheLastRecordEndsTheLog) {
  std::vector<Written> log;
  {
    std::unique_ptr<Wal> wal = OpenWal();
    for (int i = 0; i < 4; ++i) Commit(*wal, log, Payload(200, i));
    ASSERT_TRUE(wal->Close().ok());
  }
  const SegmentFile newest = Segments().back();
  FlipByte(newest.path, OffsetOf(newest, log.back().lsn) + 100);
  log.pop_back();
  ReadLog read = ReadAll();
  ExpectSameRecords(read.records, log);
  EXPECT_NE(read.end.torn_reason.find("checksum mismatch"), std::string::npos);

  std::unique_ptr<Wal> wal = OpenWal();
  ASSERT_NE(wal, nullptr);
  Commit(*wal, log, Payload(3, 42));
  ASSERT_TRUE(wal->Close().ok());
  ExpectSameRecords(ReadAll().records, log);
}

TEST_F(WalTest, FlippedByteInAMiddleRecordOfTheNewestSegmentIsCorruption) {
  std::vector<Written> log;
  {
    std::unique_ptr<Wal> wal = OpenWal();
    // One full commit at a time: each record was durable before the next
    // was written, and the next one's synced LSN says so.
    for (int i = 0; i < 6; ++i) Commit(*wal, log, Payload(120, i));
    ASSERT_TRUE(wal->Close().ok());
  }
  const SegmentFile newest = Segments().back();
  const uint64_t damaged = OffsetOf(newest, log[2].lsn);
  FlipByte(newest.path, damaged + 40);

  Result<ReadLog> read = ReadWholeLog(fs_, WalDir(), 0);
  ASSERT_TRUE(read.status().IsCorruption()) << read.status().ToString();
  EXPECT_TRUE(Contains(read.status(), newest.path + ": offset " + std::to_string(damaged)))
      << read.status().ToString();
  Result<std::unique_ptr<Wal>> wal = Wal::Open(fs_, WalDir(), SmallSegments());
  ASSERT_TRUE(wal.status().IsCorruption()) << wal.status().ToString();
  EXPECT_TRUE(Contains(wal.status(), newest.path)) << wal.status().ToString();
}

TEST_F(WalTest, DamageInsideTheLastUnsyncedBatchIsCorruption) {
  std::vector<Written> log;
  {
    std::unique_ptr<Wal> wal = OpenWal();
    Commit(*wal, log, Payload(10, 0));
    // Appended together and written by one round, so their synced LSNs
    // prove nothing: with `--sync off` every record of a log looks so.
    for (int i = 1; i < 6; ++i) {
      std::vector<std::byte> payload = Payload(120, i);
      Result<Lsn> lsn = wal->Append(3, payload);
      ASSERT_TRUE(lsn.ok());
      log.push_back({*lsn, 3, std::move(payload)});
    }
    ASSERT_TRUE(wal->SyncAll().ok());
    ASSERT_TRUE(wal->Close().ok());
  }
  const SegmentFile newest = Segments().back();
  const uint64_t damaged = OffsetOf(newest, log[3].lsn);
  FlipByte(newest.path, damaged + 40);
  const uint64_t size = newest.size;

  // Valid records follow the bad one, so it is damage (issue 11): the
  // reader says where and how many follow, and the writer refuses to open
  // rather than cut them.
  Result<ReadLog> read = ReadWholeLog(fs_, WalDir(), 0);
  ASSERT_TRUE(read.status().IsCorruption()) << read.status().ToString();
  EXPECT_TRUE(Contains(read.status(), newest.path + ": offset " + std::to_string(damaged)))
      << read.status().ToString();
  EXPECT_TRUE(Contains(read.status(), "2 valid records follow")) << read.status().ToString();
  Result<std::unique_ptr<Wal>> wal = Wal::Open(fs_, WalDir(), SmallSegments());
  ASSERT_TRUE(wal.status().IsCorruption()) << wal.status().ToString();
  EXPECT_EQ(Segments().back().size, size) << "a refused open must not cut the log";
}

TEST_F(WalTest, DamagedRecordInAnOlderSegmentIsCorruption) {
  std::vector<Written> log;
  {
    std::unique_ptr<Wal> wal = OpenWal();
    for (int i = 0; i < 40; ++i) Commit(*wal, log, Payload(5000, i));
    ASSERT_TRUE(wal->Close().ok());
  }
  std::vector<SegmentFile> segments = Segments();
  ASSERT_GE(segments.size(), 3u);
  const SegmentFile& older = segments[1];
  const uint64_t damaged = lf::kSegmentHeaderSize + lf::FramedSize(5000);  // its second record
  FlipByte(older.path, damaged + 300);
  Result<ReadLog> read = ReadWholeLog(fs_, WalDir(), 0);
  ASSERT_TRUE(read.status().IsCorruption()) << read.status().ToString();
  EXPECT_TRUE(Contains(read.status(), older.path + ": offset " + std::to_string(damaged)))
      << read.status().ToString();
  EXPECT_TRUE(Contains(read.status(), "not the newest segment")) << read.status().ToString();
  // So is a torn-looking tail in a segment that is not the newest.
  FlipByte(older.path, damaged + 300);
  TruncateFile(segments[0].path, segments[0].size - 3);
  EXPECT_TRUE(ReadWholeLog(fs_, WalDir(), 0).status().IsCorruption());
}

TEST_F(WalTest, MissingMiddleSegmentIsAGap) {
  {
    std::unique_ptr<Wal> wal = OpenWal();
    std::vector<Written> log;
    for (int i = 0; i < 40; ++i) Commit(*wal, log, Payload(5000, i));
    ASSERT_TRUE(wal->Close().ok());
  }
  std::vector<SegmentFile> segments = Segments();
  ASSERT_GE(segments.size(), 3u);
  ASSERT_TRUE(fs_->Remove(segments[1].path).ok());
  Result<std::vector<SegmentFile>> listed = ListSegments(fs_, WalDir());
  ASSERT_TRUE(listed.status().IsCorruption()) << listed.status().ToString();
  EXPECT_TRUE(Contains(listed.status(), "gap")) << listed.status().ToString();
  EXPECT_TRUE(Contains(listed.status(), segments[0].path)) << listed.status().ToString();
  EXPECT_TRUE(ReadWholeLog(fs_, WalDir(), 0).status().IsCorruption());
  EXPECT_TRUE(Wal::Open(fs_, WalDir(), SmallSegments()).status().IsCorruption());
}

TEST_F(WalTest, TornHeaderOfANewSegmentIsRewritten) {
  std::vector<Written> log;
  {
    std::unique_ptr<Wal> wal = OpenWal();
    for (int i = 0; i < 3; ++i) Commit(*wal, log, Payload(100, i));
    ASSERT_TRUE(wal->Close().ok());
  }
  // A crash while creating the next segment left part of its header.
  const Lsn end = log.back().lsn + lf::FramedSize(100);
  const std::string torn = WalDir() + "/" + lf::SegmentFileName(end);
  WriteFileBytes(torn, std::vector<char>{'m', 'v', 'd', 'b', 'w'});
  ReadLog read = ReadAll();
  ExpectSameRecords(read.records, log);
  EXPECT_FALSE(read.end.header_valid);
  EXPECT_EQ(read.end.segment_path, torn);
  EXPECT_EQ(read.end.lsn, end);

  std::unique_ptr<Wal> wal = OpenWal();
  ASSERT_NE(wal, nullptr);
  EXPECT_EQ(wal->next_lsn(), end);
  Commit(*wal, log, Payload(10, 50));
  ASSERT_TRUE(wal->Close().ok());
  ExpectSameRecords(ReadAll().records, log);
  EXPECT_EQ(Segments().back().path, torn);
}

TEST_F(WalTest, RemoveSegmentsBeforeKeepsWhatIsNeeded) {
  std::vector<Written> log;
  std::unique_ptr<Wal> wal = OpenWal();
  for (int i = 0; i < 60; ++i) Commit(*wal, log, Payload(4000, i));
  std::vector<SegmentFile> segments = Segments();
  ASSERT_GE(segments.size(), 4u);
  // Keep everything from a record in the middle of the third segment on.
  const Lsn cut = segments[2].start_lsn + lf::FramedSize(4000);
  ASSERT_TRUE(wal->RemoveSegmentsBefore(cut).ok());
  EXPECT_EQ(wal->oldest_lsn(), segments[2].start_lsn);
  EXPECT_EQ(wal->stats().segments_removed, 2u);
  EXPECT_EQ(Segments().size(), segments.size() - 2);
  EXPECT_TRUE(ReadWholeLog(fs_, WalDir(), segments[1].start_lsn).status().IsNotFound());
  std::vector<Written> kept;
  for (const Written& w : log) {
    if (w.lsn >= segments[2].start_lsn) kept.push_back(w);
  }
  ExpectSameRecords(ReadAll(wal->oldest_lsn()).records, kept);

  // Even past the end, the newest segment stays.
  ASSERT_TRUE(wal->RemoveSegmentsBefore(wal->next_lsn() + 4096).ok());
  ASSERT_EQ(Segments().size(), 1u);
  Commit(*wal, log, Payload(10, 1000));
  ASSERT_TRUE(wal->Close().ok());
  ReadLog read = ReadAll(Segments().front().start_lsn);
  ASSERT_FALSE(read.records.empty());
  EXPECT_EQ(read.records.back().lsn, log.back().lsn);
}

TEST_F(WalTest, ArgumentsAreChecked) {
  WalOptions bad = SmallSegments();
  bad.segment_size = 100;
  EXPECT_EQ(Wal::Open(fs_, WalDir(), bad).status().code(), StatusCode::kInvalidArgument);
  bad = SmallSegments();
  bad.initial_lsn = 12;
  EXPECT_EQ(Wal::Open(fs_, WalDir(), bad).status().code(), StatusCode::kInvalidArgument);

  WalOptions options = SmallSegments();
  options.max_payload = 1000;
  std::unique_ptr<Wal> wal = OpenWal(options);
  ASSERT_NE(wal, nullptr);
  EXPECT_EQ(wal->Append(lf::kInvalidType, Payload(1, 1)).status().code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(wal->Append(1, Payload(1001, 1)).status().code(), StatusCode::kInvalidArgument);
  EXPECT_TRUE(wal->Append(1, Payload(1000, 1)).ok());
  EXPECT_EQ(wal->Sync(wal->next_lsn()).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(wal->Write(wal->next_lsn()).code(), StatusCode::kInvalidArgument);
  EXPECT_TRUE(wal->health().ok());

  ASSERT_TRUE(wal->Close().ok());
  EXPECT_TRUE(wal->Close().ok()) << "Close is idempotent";
  EXPECT_EQ(wal->Append(1, Payload(1, 1)).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(wal->SyncAll().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(ReadAll().records.size(), 1u) << "Close made the appended record durable";
}

TEST_F(WalTest, StatsCountRecordsAndSyncs) {
  std::unique_ptr<Wal> wal = OpenWal();
  const WalStats before = wal->stats();
  std::vector<Written> log;
  for (int i = 0; i < 10; ++i) Commit(*wal, log, Payload(10, i));
  const WalStats after = wal->stats();
  EXPECT_EQ(after.records, 10u);
  EXPECT_EQ(after.payload_bytes, 100u);
  EXPECT_EQ(after.bytes_appended, 10 * lf::FramedSize(10));
  EXPECT_EQ(after.next_lsn, after.durable_lsn);
  EXPECT_EQ(after.written_lsn, after.durable_lsn);
  EXPECT_EQ(after.fsyncs - before.fsyncs, 10u) << "one commit at a time: one fsync each";
  EXPECT_EQ(after.durable_records, 10u);
  EXPECT_EQ(after.max_group, 1u);
  EXPECT_EQ(after.segments, 1u);
  EXPECT_EQ(DurabilityName(Durability::kNormal), "normal");
  EXPECT_EQ(ParseDurability("off"), Durability::kOff);
  EXPECT_EQ(ParseDurability("fsync"), std::nullopt);
}

}  // namespace
}  // namespace mvdb
