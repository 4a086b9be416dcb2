// Damage in the middle of the log is not a torn tail, whatever the sync
// mode (issue 11, item 3): the open refuses and changes nothing, `check`
// says so, and DiscardDamagedLog cuts the log only on request, keeping
// every cut byte in a side file. Also: a failed open leaves no file it
// created, and CheckDatabase writes nothing (read-only media).
#include <gtest/gtest.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "btree/btree.h"
#include "common/logging.h"
#include "engine/engine.h"
#include "io/fault_injection_file_system.h"
#include "io/file.h"
#include "tests/engine/engine_test_util.h"
#include "wal/log_reader.h"

namespace mvdb {
namespace {

using testing_db::TempDir;
using testing_db::Value;
namespace fs = std::filesystem;

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

// Every file under `dir` with its bytes.
std::map<std::string, std::string> Snapshot(const std::string& dir) {
  std::map<std::string, std::string> files;
  for (const auto& entry : fs::recursive_directory_iterator(dir)) {
    files[entry.path().string()] = entry.is_regular_file() ? ReadFile(entry.path()) : "<dir>";
  }
  return files;
}

bool Contains(const Status& s, const std::string& text) {
  return std::string(s.message()).find(text) != std::string::npos;
}

// A file system that refuses every change: what read-only media give.
class ReadOnlyFileSystem final : public FileSystem {
 public:
  explicit ReadOnlyFileSystem(FileSystem* base) : base_(base) {}
  std::string_view name() const override { return "read-only"; }
  Result<std::unique_ptr<File>> Open(const std::string& path, const OpenOptions& options) override {
    if (!options.read_only || options.create) return Refuse("open for writing", path);
    return base_->Open(path, options);
  }
  Status Remove(const std::string& path) override { return Refuse("remove", path); }
  Status Rename(const std::string& from, const std::string&) override {
    return Refuse("rename", from);
  }
  Result<bool> Exists(const std::string& path) override { return base_->Exists(path); }
  Status CreateDir(const std::string& path) override { return Refuse("mkdir", path); }
  Result<std::vector<std::string>> ListDir(const std::string& path) override {
    return base_->ListDir(path);
  }
  Status SyncDir(const std::string& dir) override { return base_->SyncDir(dir); }
  Result<std::unique_ptr<FileLock>> LockFile(const std::string& path) override {
    return Refuse("create or write the lock file", path);
  }
  Result<std::unique_ptr<FileLock>> LockFileReadOnly(const std::string& path) override {
    return base_->LockFileReadOnly(path);
  }
  FileSystemStats stats() const override { return base_->stats(); }
  int refused() const { return refused_; }

 private:
  Status Refuse(const std::string& what, const std::string& path) {
    ++refused_;
    return Status::IOError(what + " " + path + ": Read-only file system");
  }
  FileSystem* base_;
  int refused_ = 0;
};

class LogDamageTest : public ::testing::Test {
 protected:
  void SetUp() override { SetLogLevel(LogLevel::kNone); }
  void TearDown() override { SetLogLevel(LogLevel::kWarning); }

  EngineOptions Options(SyncMode sync, uint64_t segment_bytes = 64ull << 20) {
    EngineOptions options;
    options.fs = fault_.get();
    options.cache_mb = 4;
    options.background_checkpoints = false;
    options.sync = sync;
    options.wal_segment_bytes = segment_bytes;
    return options;
  }

  // 100 acknowledged commits of one row each, then kill -9: the process
  // dies, what it wrote to the kernel stays (nothing is dropped), and
  // nothing more reaches the files (every later write and sync fails, so
  // Close neither flushes nor checkpoints).
  void CommitThenKill(SyncMode sync, uint64_t segment_bytes = 64ull << 20) {
    // A fresh wrapper: the last one remembers files a test removed since.
    fault_ = std::make_unique<FaultInjectionFileSystem>(posix_.get());
    auto engine = Engine::Open(dir(), Options(sync, segment_bytes));
    ASSERT_TRUE(engine.ok()) << engine.status().ToString();
    ASSERT_TRUE((*engine)->CreateTree("t").ok());
    for (int i = 0; i < 100; ++i) {
      TreeBatch batch;
      batch.Put("t", Key(i), Value(40, i));
      ASSERT_TRUE((*engine)->Write(batch).ok());
    }
    fault_->FailWrite(1, EIO, /*sticky=*/true);
    fault_->FailSync(1, EIO, /*sticky=*/true);
    engine->reset();
    fault_->ClearFaults();
  }

  static std::string Key(int i) {
    char key[16];
    std::snprintf(key, sizeof(key), "k%03d", i);
    return key;
  }

  // Where each record of the log is: (segment path, offset).
  std::vector<std::pair<std::string, uint64_t>> RecordPlaces() {
    std::vector<std::pair<std::string, uint64_t>> places;
    auto segments = ListSegments(posix_.get(), dir() + "/wal");
    EXPECT_TRUE(segments.ok()) << segments.status().ToString();
    if (!segments.ok() || segments->empty()) return places;
    auto reader = LogReader::Open(posix_.get(), *segments, segments->front().start_lsn);
    EXPECT_TRUE(reader.ok());
    LogRecord record;
    while (true) {
      auto more = (*reader)->Next(&record);
      EXPECT_TRUE(more.ok()) << more.status().ToString();
      if (!more.ok() || !*more) break;
      const SegmentFile* holder = nullptr;
      for (const SegmentFile& s : *segments) {
        if (s.start_lsn <= record.lsn) holder = &s;
      }
      places.emplace_back(holder->path, 32 + record.lsn - holder->start_lsn);
    }
    return places;
  }

  int CountRows() {
    auto engine = Engine::Open(dir(), Options(SyncMode::kFull));
    EXPECT_TRUE(engine.ok()) << engine.status().ToString();
    if (!engine.ok()) return -1;
    auto tree = (*engine)->OpenTree("t");
    EXPECT_TRUE(tree.ok()) << tree.status().ToString();
    if (!tree.ok()) return -1;
    int rows = 0;
    const std::unique_ptr<BTreeCursor> cursor = (*tree)->NewCursor();
    for (cursor->SeekToFirst(); cursor->Valid(); cursor->Next()) ++rows;
    EXPECT_TRUE(cursor->status().ok()) << cursor->status().ToString();
    return rows;
  }

  std::string dir() const { return tmp_.path() + "/db"; }

  std::unique_ptr<FileSystem> posix_ = NewPosixFileSystem();
  std::unique_ptr<FaultInjectionFileSystem> fault_ =
      std::make_unique<FaultInjectionFileSystem>(posix_.get());
  TempDir tmp_;
};

// The scenario, in every sync mode: record 51 of 101 (the tree's
// creation, then 100 rows) has one bit flipped.
TEST_F(LogDamageTest, BitFlipInTheMiddleRefusesToOpenInEverySyncMode) {
  for (SyncMode sync : {SyncMode::kOff, SyncMode::kNormal, SyncMode::kFull}) {
    SCOPED_TRACE("sync mode " + std::to_string(static_cast<int>(sync)));
    fs::remove_all(dir());
    CommitThenKill(sync);
    const auto places = RecordPlaces();
    ASSERT_EQ(places.size(), 101u);
    const auto [segment, offset] = places[51];  // holds row 50
    const std::string bytes_before = ReadFile(segment);
    testing::FlipByte(segment, offset + 40);
    const auto files = Snapshot(dir());

    auto engine = Engine::Open(dir(), Options(SyncMode::kFull));
    ASSERT_TRUE(engine.status().IsCorruption()) << engine.status().ToString();
    const Status& s = engine.status();
    EXPECT_TRUE(Contains(s, segment + ": offset " + std::to_string(offset))) << s.ToString();
    EXPECT_TRUE(Contains(s, "49 valid records follow")) << s.ToString();
    EXPECT_TRUE(Contains(s, "nothing was changed")) << s.ToString();
    EXPECT_TRUE(Contains(s, "mvdb recover --discard-damaged-log " + dir())) << s.ToString();
    EXPECT_EQ(Snapshot(dir()), files) << "a refused open changed files";

    std::string report;
    const Status checked = CheckDatabase(dir(), &report, posix_.get());
    EXPECT_TRUE(checked.IsCorruption()) << report;
    EXPECT_TRUE(Contains(checked, "49 valid records follow")) << report;
    EXPECT_EQ(Snapshot(dir()), files) << "check changed files";

    // Accepting the loss, explicitly: the cut bytes stay in a side file.
    ASSERT_TRUE(DiscardDamagedLog(dir(), &report, posix_.get()).ok()) << report;
    const std::string side = segment + ".cut-at-" + std::to_string(offset);
    EXPECT_NE(report.find(side), std::string::npos) << report;
    EXPECT_NE(report.find("discarded 49 valid records"), std::string::npos) << report;
    std::string saved = ReadFile(side);
    ASSERT_EQ(saved.size(), bytes_before.size() - offset);
    saved[40] = static_cast<char>(saved[40] ^ 0x5a);  // FlipByte's change undone
    EXPECT_EQ(saved, bytes_before.substr(offset));
    EXPECT_EQ(fs::file_size(segment), offset);
    EXPECT_EQ(CountRows(), 50);  // rows 0..49
    EXPECT_TRUE(CheckDatabase(dir(), &report, posix_.get()).ok()) << report;
  }
}

// A side file an earlier recovery kept under the same name is never
// overwritten: the new one gets the next free name.
TEST_F(LogDamageTest, DiscardNeverOverwritesAnEarlierSideFile) {
  CommitThenKill(SyncMode::kOff);
  const auto places = RecordPlaces();
  ASSERT_EQ(places.size(), 101u);
  const auto [segment, offset] = places[51];
  testing::FlipByte(segment, offset + 40);
  const std::string earlier = segment + ".cut-at-" + std::to_string(offset);
  {
    std::ofstream kept(earlier, std::ios::binary);
    kept << "bytes an earlier recovery kept";
  }
  std::string report;
  ASSERT_TRUE(DiscardDamagedLog(dir(), &report, posix_.get()).ok()) << report;
  EXPECT_EQ(ReadFile(earlier), "bytes an earlier recovery kept");
  const std::string side = earlier + ".2";
  EXPECT_NE(report.find(side), std::string::npos) << report;
  EXPECT_GT(fs::file_size(side), 0u);
  EXPECT_EQ(CountRows(), 50);
}

TEST_F(LogDamageTest, DamageAcrossSegmentsCountsTheLaterSegments) {
  CommitThenKill(SyncMode::kOff, /*segment_bytes=*/1024);
  const auto places = RecordPlaces();
  ASSERT_EQ(places.size(), 101u);
  const std::vector<SegmentFile> segments = *ListSegments(posix_.get(), dir() + "/wal");
  ASSERT_GE(segments.size(), 4u);
  // A record in the newest segment that is not its last...
  const std::string newest = segments.back().path;
  size_t in_newest = 0;
  while (places[in_newest].first != newest) ++in_newest;
  ASSERT_LT(in_newest + 1, places.size());
  testing::FlipByte(places[in_newest].first, places[in_newest].second + 40);
  auto engine = Engine::Open(dir(), Options(SyncMode::kFull, 1024));
  ASSERT_TRUE(engine.status().IsCorruption()) << engine.status().ToString();
  EXPECT_TRUE(Contains(engine.status(), newest)) << engine.status().ToString();
  testing::FlipByte(places[in_newest].first, places[in_newest].second + 40);  // mended

  // ...and one in an older segment: the records of every later segment
  // would be lost too, and the message counts them.
  const auto [segment, offset] = places[30];
  ASSERT_NE(segment, newest);
  testing::FlipByte(segment, offset + 40);
  engine = Engine::Open(dir(), Options(SyncMode::kFull, 1024));
  ASSERT_TRUE(engine.status().IsCorruption()) << engine.status().ToString();
  EXPECT_TRUE(Contains(engine.status(), segment + ": offset " + std::to_string(offset)))
      << engine.status().ToString();
  EXPECT_TRUE(Contains(engine.status(), "later segment")) << engine.status().ToString();

  std::string report;
  ASSERT_TRUE(DiscardDamagedLog(dir(), &report, posix_.get()).ok()) << report;
  EXPECT_NE(report.find("discarded 70 valid records"), std::string::npos) << report;
  for (const SegmentFile& later : segments) {
    if (later.start_lsn <= ListSegments(posix_.get(), dir() + "/wal")->back().start_lsn) continue;
    EXPECT_TRUE(fs::exists(later.path + ".cut-at-0")) << later.path;
    EXPECT_FALSE(fs::exists(later.path)) << later.path;
  }
  EXPECT_EQ(CountRows(), 29);  // record 30 held row 29
}

TEST_F(LogDamageTest, TornTailsAreStillCut) {
  CommitThenKill(SyncMode::kOff);
  const auto places = RecordPlaces();
  const auto [segment, offset] = places.back();
  {
    // Half of the last record, then zeros: a write the crash interrupted
    // in a file that had been extended.
    const uint64_t size = fs::file_size(segment);
    fs::resize_file(segment, offset + (size - offset) / 2);
    fs::resize_file(segment, size + 8192);
  }
  EXPECT_EQ(CountRows(), 99);
  EXPECT_EQ(fs::file_size(segment), offset);
  std::string report;
  EXPECT_TRUE(CheckDatabase(dir(), &report, posix_.get()).ok()) << report;
}

TEST_F(LogDamageTest, DiscardWithoutDamageChangesNothing) {
  CommitThenKill(SyncMode::kFull);
  const auto files = Snapshot(dir());
  std::string report;
  ASSERT_TRUE(DiscardDamagedLog(dir(), &report, posix_.get()).ok()) << report;
  EXPECT_NE(report.find("nothing to discard"), std::string::npos) << report;
  EXPECT_EQ(Snapshot(dir()), files);
}

// Issue 11, item 10: a failed open must not leave files it created.
TEST_F(LogDamageTest, FailedOpenLeavesNoNewFiles) {
  // A directory that is not a database: "wal" is a plain file.
  fs::create_directories(dir());
  std::ofstream(dir() + "/wal") << "not a log directory\n";
  const auto before = Snapshot(dir());
  auto engine = Engine::Open(dir(), Options(SyncMode::kFull));
  ASSERT_FALSE(engine.ok());
  EXPECT_EQ(Snapshot(dir()), before) << engine.status().ToString();

  // A database that lost its data file and whose log is damaged: the open
  // fails at the replay, after it created data.mvdb.
  fs::remove_all(dir());
  CommitThenKill(SyncMode::kOff);
  const auto places = RecordPlaces();
  testing::FlipByte(places[51].first, places[51].second + 40);
  fs::remove(dir() + "/data.mvdb");
  fs::remove(dir() + "/LOCK");
  const auto damaged = Snapshot(dir());
  engine = Engine::Open(dir(), Options(SyncMode::kFull));
  ASSERT_TRUE(engine.status().IsCorruption()) << engine.status().ToString();
  EXPECT_EQ(Snapshot(dir()), damaged);

  // A new directory whose open fails: gone again.
  const std::string fresh = tmp_.path() + "/fresh";
  fault_->FailSync(1, EIO, /*sticky=*/false);  // while creating the data file
  engine = Engine::Open(fresh, Options(SyncMode::kFull));
  fault_->ClearFaults();
  ASSERT_FALSE(engine.ok());
  EXPECT_FALSE(fs::exists(fresh)) << engine.status().ToString();
}

// Issue 11, item 10: check writes nothing, so it works on read-only media.
TEST_F(LogDamageTest, CheckWorksOnAReadOnlyFileSystem) {
  CommitThenKill(SyncMode::kFull);
  {
    auto engine = Engine::Open(dir(), Options(SyncMode::kFull));  // replays, checkpoints
    ASSERT_TRUE(engine.ok()) << engine.status().ToString();
  }
  const auto files = Snapshot(dir());
  ReadOnlyFileSystem read_only(posix_.get());
  std::string report;
  const Status checked = CheckDatabase(dir(), &report, &read_only);
  EXPECT_TRUE(checked.ok()) << checked.ToString() << "\n" << report;
  EXPECT_EQ(read_only.refused(), 0) << report;
  EXPECT_NE(report.find("lock: free"), std::string::npos) << report;
  EXPECT_EQ(Snapshot(dir()), files);

  // Without a lock file (a copy that left it out) the check still runs.
  fs::remove(dir() + "/LOCK");
  EXPECT_TRUE(CheckDatabase(dir(), &report, &read_only).ok()) << report;
  EXPECT_NE(report.find("no lock file"), std::string::npos) << report;

  // A holder is still detected through the read-only lock.
  auto engine = Engine::Open(dir(), Options(SyncMode::kFull));
  ASSERT_TRUE(engine.ok()) << engine.status().ToString();
  EXPECT_TRUE(CheckDatabase(dir(), &report, &read_only).IsBusy()) << report;
}

// ---- Missing files (issue 11, adversarial cases wal-segment-deleted and
// data-deleted; engine.cc, invariant 8): a log that does not cover the
// checkpoint, or a data file whose loss the log cannot make good, is
// refused by the open and by check alike, and nothing is changed.

class MissingFilesTest : public LogDamageTest {
 protected:
  // Rows 0..49 committed and checkpointed by Close, then rows 50..99
  // committed and acknowledged (kFull) and the process killed: rows 50..99
  // live only in the log, after the checkpoint's LSN.
  void CheckpointThenCommitThenKill(uint64_t segment_bytes = 64ull << 20) {
    fault_ = std::make_unique<FaultInjectionFileSystem>(posix_.get());
    {
      auto engine = Engine::Open(dir(), Options(SyncMode::kFull, segment_bytes));
      ASSERT_TRUE(engine.ok()) << engine.status().ToString();
      ASSERT_TRUE((*engine)->CreateTree("t").ok());
      for (int i = 0; i < 50; ++i) Put(engine->get(), i);
      ASSERT_TRUE((*engine)->Close().ok());
    }
    auto engine = Engine::Open(dir(), Options(SyncMode::kFull, segment_bytes));
    ASSERT_TRUE(engine.ok()) << engine.status().ToString();
    checkpoint_lsn_ = (*engine)->stats().last_checkpoint_lsn;
    ASSERT_GT(checkpoint_lsn_, 0u);
    for (int i = 50; i < 100; ++i) Put(engine->get(), i);
    fault_->FailWrite(1, EIO, /*sticky=*/true);
    fault_->FailSync(1, EIO, /*sticky=*/true);
    engine->reset();
    fault_->ClearFaults();
  }

  void Put(Engine* engine, int i) {
    TreeBatch batch;
    batch.Put("t", Key(i), Value(40, i));
    ASSERT_TRUE(engine->Write(batch).ok());
  }

  // The open and check both refuse with Corruption containing `text`, and
  // neither changes a file.
  void ExpectRefused(const std::string& text) {
    const auto files = Snapshot(dir());
    auto engine = Engine::Open(dir(), Options(SyncMode::kFull));
    ASSERT_TRUE(engine.status().IsCorruption()) << engine.status().ToString();
    EXPECT_TRUE(Contains(engine.status(), text)) << engine.status().ToString();
    EXPECT_TRUE(Contains(engine.status(), "nothing was changed")) << engine.status().ToString();
    EXPECT_EQ(Snapshot(dir()), files) << "a refused open changed files";
    std::string report;
    const Status checked = CheckDatabase(dir(), &report, posix_.get());
    EXPECT_TRUE(checked.IsCorruption()) << report;
    EXPECT_TRUE(Contains(checked, text)) << report;
    EXPECT_EQ(Snapshot(dir()), files) << "check changed files";
  }

  void RemoveSegments() {
    const auto segments = ListSegments(posix_.get(), dir() + "/wal");
    ASSERT_TRUE(segments.ok()) << segments.status().ToString();
    for (const SegmentFile& s : *segments) fs::remove(s.path);
  }

  Lsn checkpoint_lsn_ = 0;
};

// The adversarial case: every segment removed after acknowledged commits.
// Before the fix the open made a new segment at the checkpoint's LSN and
// returned 50 rows, and check said OK.
TEST_F(MissingFilesTest, AllSegmentsGoneRefusesUntilTheLossIsAccepted) {
  CheckpointThenCommitThenKill();
  RemoveSegments();
  ExpectRefused("holds no log segment, but the checkpoint in " + dir() +
                "/data.mvdb needs the log from its LSN " + std::to_string(checkpoint_lsn_));
  fs::remove_all(dir() + "/wal");
  ExpectRefused(dir() + "/wal is missing, but the checkpoint in " + dir() +
                "/data.mvdb needs the log from its LSN " + std::to_string(checkpoint_lsn_));

  // Accepting the loss, explicitly: a new log at the checkpoint's LSN.
  std::string report;
  ASSERT_TRUE(DiscardDamagedLog(dir(), &report, posix_.get()).ok()) << report;
  EXPECT_NE(report.find("started a new log at that LSN"), std::string::npos) << report;
  const auto segments = ListSegments(posix_.get(), dir() + "/wal");
  ASSERT_TRUE(segments.ok() && segments->size() == 1u);
  EXPECT_EQ(segments->front().start_lsn, checkpoint_lsn_);
  EXPECT_TRUE(CheckDatabase(dir(), &report, posix_.get()).ok()) << report;
  EXPECT_EQ(CountRows(), 50);
}

// Even with no checkpoint after the commits (its LSN is 0): a data file
// never exists without a segment, since a new database's first segment is
// made before its data file.
TEST_F(MissingFilesTest, AllSegmentsGoneBeforeAnyCheckpointRefuses) {
  CommitThenKill(SyncMode::kFull);
  RemoveSegments();
  ExpectRefused("holds no log segment, but the checkpoint in " + dir() +
                "/data.mvdb needs the log from its LSN 0");
}

TEST_F(MissingFilesTest, MissingMiddleSegmentRefuses) {
  CommitThenKill(SyncMode::kFull, /*segment_bytes=*/1024);
  const auto segments = *ListSegments(posix_.get(), dir() + "/wal");
  ASSERT_GE(segments.size(), 3u);
  fs::remove(segments[1].path);
  ExpectRefused("a segment is missing or truncated (a gap in the log)");
}

// The newest segment removed while the checkpoint's LSN lies in it: the
// older segments a crash kept (between the checkpoint's meta slot and the
// removal of what precedes it) end before that LSN.
TEST_F(MissingFilesTest, MissingNewestSegmentRefuses) {
  CommitThenKill(SyncMode::kFull, /*segment_bytes=*/1024);
  const auto before = *ListSegments(posix_.get(), dir() + "/wal");
  ASSERT_GE(before.size(), 3u);
  std::map<std::string, std::string> older;
  for (size_t i = 0; i + 1 < before.size(); ++i) older[before[i].path] = ReadFile(before[i].path);
  Lsn checkpoint = 0;
  {
    auto engine = Engine::Open(dir(), Options(SyncMode::kFull, 1024));  // replays, checkpoints
    ASSERT_TRUE(engine.ok()) << engine.status().ToString();
    checkpoint = (*engine)->stats().last_checkpoint_lsn;
  }
  const auto after = *ListSegments(posix_.get(), dir() + "/wal");
  ASSERT_EQ(after.size(), 1u);
  ASSERT_GT(checkpoint, after.front().start_lsn);
  for (const auto& [path, bytes] : older) std::ofstream(path, std::ios::binary) << bytes;
  fs::remove(after.front().path);
  ExpectRefused("before the checkpoint's LSN " + std::to_string(checkpoint));
}

// The adversarial case data-deleted with the whole log: replaying it from
// LSN 0 is a complete recovery, and check says so too.
TEST_F(MissingFilesTest, DataFileGoneWithTheWholeLogRebuildsIt) {
  CommitThenKill(SyncMode::kFull);
  ASSERT_EQ(ListSegments(posix_.get(), dir() + "/wal")->front().start_lsn, 0u);
  fs::remove(dir() + "/data.mvdb");
  std::string report;
  EXPECT_TRUE(CheckDatabase(dir(), &report, posix_.get()).ok()) << report;
  EXPECT_NE(report.find("the log starts at LSN 0"), std::string::npos) << report;
  EXPECT_EQ(CountRows(), 100);
}

// A log that no longer starts at LSN 0 cannot rebuild a lost data file:
// refused, and no new data.mvdb is left behind.
TEST_F(MissingFilesTest, DataFileGoneWithATruncatedLogRefuses) {
  CheckpointThenCommitThenKill(/*segment_bytes=*/1024);
  const auto segments = *ListSegments(posix_.get(), dir() + "/wal");
  ASSERT_GT(segments.front().start_lsn, 0u);
  fs::remove(dir() + "/data.mvdb");
  ExpectRefused(dir() + "/data.mvdb is missing, but the log " + dir() + "/wal starts at LSN " +
                std::to_string(segments.front().start_lsn));
  EXPECT_FALSE(fs::exists(dir() + "/data.mvdb"));
}

}  // namespace
}  // namespace mvdb
