// Durability modes, sticky failures, and crashes at every write and sync of
// a scripted workload (through FaultInjectionFileSystem).
#include <gtest/gtest.h>

#include <atomic>
#include <cerrno>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "common/logging.h"
#include "io/fault_injection_file_system.h"
#include "wal/wal.h"
#include "wal_test_util.h"

namespace mvdb {
namespace {

namespace lf = log_format;
using testing_wal::Payload;
using testing_wal::ReadLog;
using testing_wal::ReadWholeLog;
using testing_wal::SyncControlFileSystem;
using testing_wal::TempDir;
using testing_wal::WaitUntil;

using testing_wal::Contains;

class WalDurabilityTest : public ::testing::Test {
 protected:
  void SetUp() override { SetLogLevel(LogLevel::kNone); }
  void TearDown() override { SetLogLevel(LogLevel::kWarning); }

  std::string WalDir() const { return dir_.File("wal"); }

  std::unique_ptr<Wal> OpenWal(FileSystem* fs, const WalOptions& options) {
    Result<std::unique_ptr<Wal>> wal = Wal::Open(fs, WalDir(), options);
    EXPECT_TRUE(wal.ok()) << wal.status().ToString();
    return wal.ok() ? std::move(*wal) : nullptr;
  }

  TempDir dir_;
  std::unique_ptr<FileSystem> posix_ = NewPosixFileSystem();
  SyncControlFileSystem control_{posix_.get(), /*real_syncs=*/false};
};

TEST_F(WalDurabilityTest, NormalCommitReturnsBeforeTheFsyncThatFollowsWithinTheInterval) {
  WalOptions options;
  options.sync_interval = std::chrono::milliseconds(20);
  std::unique_ptr<Wal> wal = OpenWal(&control_, options);
  ASSERT_NE(wal, nullptr);
  const uint64_t syncs_before = wal->stats().fsyncs;

  control_.CloseGate();  // any fdatasync now blocks
  Result<Lsn> lsn = wal->Commit(4, Payload(100, 1), Durability::kNormal);
  ASSERT_TRUE(lsn.ok()) << lsn.status().ToString();
  EXPECT_LE(wal->durable_lsn(), *lsn) << "a normal commit does not wait for fdatasync";
  EXPECT_GT(wal->stats().written_lsn, *lsn) << "but it is written";

  // The background thread reaches the fdatasync after the interval.
  EXPECT_TRUE(WaitUntil([&] { return control_.blocked() == 1; }));
  control_.OpenGate();
  EXPECT_TRUE(WaitUntil([&] { return wal->durable_lsn() > *lsn; }));
  const WalStats stats = wal->stats();
  EXPECT_EQ(stats.fsyncs - syncs_before, 1u);
  EXPECT_EQ(stats.background_syncs, 1u);
  ASSERT_TRUE(wal->Close().ok());
}

TEST_F(WalDurabilityTest, NormalCommitsAreSyncedWithoutAnyoneAsking) {
  WalOptions options;
  options.sync_interval = std::chrono::milliseconds(50);
  std::unique_ptr<Wal> wal = OpenWal(posix_.get(), options);
  ASSERT_NE(wal, nullptr);
  Lsn last = 0;
  for (int i = 0; i < 20; ++i) {
    Result<Lsn> lsn = wal->Commit(4, Payload(64, i), Durability::kNormal);
    ASSERT_TRUE(lsn.ok());
    last = *lsn;
  }
  // Generous: the bound is the interval plus two fdatasyncs; this only
  // checks that the sync comes by itself.
  EXPECT_TRUE(WaitUntil([&] { return wal->durable_lsn() > last; }));
  EXPECT_GE(wal->stats().background_syncs, 1u);
}

TEST_F(WalDurabilityTest, OffCommitsAreWrittenButNeverSyncedOnTheirOwn) {
  WalOptions options;
  options.sync_interval = std::chrono::milliseconds(5);
  std::unique_ptr<Wal> wal = OpenWal(&control_, options);
  ASSERT_NE(wal, nullptr);
  const uint64_t syncs_before = control_.file_syncs();
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(wal->Commit(4, Payload(10, i), Durability::kOff).ok());
  std::this_thread::sleep_for(std::chrono::milliseconds(100));  // 20 intervals
  EXPECT_EQ(control_.file_syncs(), syncs_before);
  Result<ReadLog> read = ReadWholeLog(&control_, WalDir(), 0);
  ASSERT_TRUE(read.ok());
  EXPECT_EQ(read->records.size(), 3u) << "written to the kernel at commit";
  ASSERT_TRUE(wal->SyncAll().ok());
  EXPECT_EQ(control_.file_syncs(), syncs_before + 1);
}

TEST_F(WalDurabilityTest, FullCommitReturnsOnlyAfterItsFsync) {
  std::unique_ptr<Wal> wal = OpenWal(&control_, WalOptions{});
  ASSERT_NE(wal, nullptr);
  control_.CloseGate();
  std::atomic<bool> returned{false};
  std::thread committer([&] {
    EXPECT_TRUE(wal->Commit(4, Payload(10, 1), Durability::kFull).ok());
    returned = true;
  });
  ASSERT_TRUE(WaitUntil([&] { return control_.blocked() == 1; }));
  EXPECT_FALSE(returned.load());
  EXPECT_EQ(wal->durable_lsn(), 0u);
  control_.OpenGate();
  committer.join();
  EXPECT_TRUE(returned.load());
  EXPECT_EQ(wal->durable_lsn(), wal->next_lsn());
}

class WalFaultTest : public WalDurabilityTest {
 protected:
  FaultInjectionFileSystem fault_{&control_};
};

TEST_F(WalFaultTest, FailedFsyncIsSticky) {
  std::unique_ptr<Wal> wal = OpenWal(&fault_, WalOptions{});
  ASSERT_NE(wal, nullptr);
  std::vector<Lsn> acked;
  for (int i = 0; i < 3; ++i) {
    Result<Lsn> lsn = wal->Commit(4, Payload(30, i), Durability::kFull);
    ASSERT_TRUE(lsn.ok());
    acked.push_back(*lsn);
  }
  fault_.FailSync(1, EIO, /*sticky=*/false);
  Result<Lsn> failed = wal->Commit(4, Payload(30, 3), Durability::kFull);
  ASSERT_TRUE(failed.status().IsIOError()) << failed.status().ToString();
  const Status sticky = failed.status();
  EXPECT_TRUE(Contains(sticky, "write-ahead log failed: fdatasync")) << sticky.ToString();
  EXPECT_TRUE(Contains(sticky, "Input/output error")) << sticky.ToString();
  EXPECT_TRUE(Contains(sticky, "no further commits are acknowledged; reopen the database"))
      << sticky.ToString();

  // The file system works again, but the log does not pretend it does.
  EXPECT_EQ(wal->Append(4, Payload(1, 1)).status().ToString(), sticky.ToString());
  EXPECT_EQ(wal->Commit(4, Payload(1, 1), Durability::kNormal).status().ToString(),
            sticky.ToString());
  EXPECT_EQ(wal->Sync(acked.front()).ToString(), sticky.ToString());
  EXPECT_EQ(wal->SyncAll().ToString(), sticky.ToString());
  EXPECT_EQ(wal->RemoveSegmentsBefore(acked.back()).ToString(), sticky.ToString());
  EXPECT_EQ(wal->health().ToString(), sticky.ToString());
  EXPECT_EQ(wal->Close().ToString(), sticky.ToString());
  wal.reset();

  // A power loss now, then reopening: what was acknowledged is there.
  ASSERT_TRUE(fault_.DropUnsyncedData().ok());
  wal = OpenWal(&fault_, WalOptions{});
  ASSERT_NE(wal, nullptr);
  Result<ReadLog> read = ReadWholeLog(&fault_, WalDir(), 0);
  ASSERT_TRUE(read.ok()) << read.status().ToString();
  ASSERT_GE(read->records.size(), acked.size());
  EXPECT_LE(read->records.size(), acked.size() + 1);
  for (size_t i = 0; i < acked.size(); ++i) EXPECT_EQ(read->records[i].lsn, acked[i]);
  EXPECT_TRUE(wal->Commit(4, Payload(5, 9), Durability::kFull).ok()) << "reopened log works";
}

TEST_F(WalFaultTest, NoSpaceOnWriteFailsTheCommitAndLosesNothingAcknowledged) {
  WalOptions options;
  options.segment_size = 4096;
  std::unique_ptr<Wal> wal = OpenWal(&fault_, options);
  ASSERT_NE(wal, nullptr);
  std::vector<std::vector<std::byte>> acked;
  for (int i = 0; i < 10; ++i) {
    acked.push_back(Payload(700, i));
    ASSERT_TRUE(wal->Commit(4, acked.back(), Durability::kFull).ok());
  }
  fault_.FailWrite(1, ENOSPC, /*sticky=*/false);
  Result<Lsn> failed = wal->Commit(4, Payload(700, 10), Durability::kFull);
  ASSERT_TRUE(failed.status().IsIOError());
  EXPECT_TRUE(Contains(failed.status(), "No space left on device")) << failed.status().ToString();
  EXPECT_TRUE(wal->Commit(4, Payload(1, 1), Durability::kFull).status().IsIOError());
  wal.reset();

  ASSERT_TRUE(fault_.DropUnsyncedData().ok());
  wal = OpenWal(&fault_, options);
  ASSERT_NE(wal, nullptr);
  Result<ReadLog> read = ReadWholeLog(&fault_, WalDir(), 0);
  ASSERT_TRUE(read.ok()) << read.status().ToString();
  ASSERT_EQ(read->records.size(), acked.size()) << "the failed write wrote nothing";
  for (size_t i = 0; i < acked.size(); ++i) EXPECT_TRUE(read->records[i].payload == acked[i]);
  EXPECT_TRUE(wal->Commit(4, Payload(5, 9), Durability::kFull).ok());
}

// One step of the scripted workload.
struct Step {
  enum Kind { kCommit, kRemove, kSyncAll } kind = kCommit;
  size_t size = 0;
  Durability durability = Durability::kFull;
};

std::vector<Step> Script() {
  using D = Durability;
  const Step c = {Step::kCommit, 0, D::kFull};
  std::vector<Step> steps;
  // Segments of 512 bytes: most commits switch segments; 900 does not fit
  // in any and gets one of its own.
  for (size_t size : {0, 10, 200, 300, 900, 40, 150}) steps.push_back({c.kind, size, D::kFull});
  steps.push_back({Step::kCommit, 100, D::kNormal});
  steps.push_back({Step::kCommit, 60, D::kOff});
  steps.push_back({Step::kRemove});
  steps.push_back({Step::kCommit, 20, D::kFull});
  steps.push_back({Step::kCommit, 450, D::kOff});
  steps.push_back({Step::kSyncAll});
  steps.push_back({Step::kCommit, 8, D::kFull});
  return steps;
}

struct ScriptResult {
  std::vector<Lsn> attempted_lsns;  // every record appended, acknowledged or not
  size_t acked_full = 0;            // records up to the last acknowledged kFull commit
  std::optional<Lsn> removed_before;
  bool failed = false;
};

// Runs the script until the first failure.
ScriptResult RunScript(FileSystem* fs, const std::string& dir, const WalOptions& options) {
  ScriptResult out;
  Result<std::unique_ptr<Wal>> opened = Wal::Open(fs, dir, options);
  if (!opened.ok()) {
    out.failed = true;
    return out;
  }
  Wal& wal = **opened;
  for (const Step& step : Script()) {
    Status s;
    if (step.kind == Step::kCommit) {
      const size_t index = out.attempted_lsns.size();
      Result<Lsn> lsn = wal.Append(5, Payload(step.size, index));
      if (lsn.ok()) {
        out.attempted_lsns.push_back(*lsn);
        s = step.durability == Durability::kFull ? wal.Sync(*lsn) : wal.Write(*lsn);
        if (s.ok() && step.durability == Durability::kFull) out.acked_full = index + 1;
      } else {
        s = lsn.status();
      }
    } else if (step.kind == Step::kRemove) {
      // A checkpoint made the records before the fourth one unnecessary.
      out.removed_before = out.attempted_lsns[3];
      s = wal.RemoveSegmentsBefore(*out.removed_before);
    } else {
      s = wal.SyncAll();
      if (s.ok()) out.acked_full = out.attempted_lsns.size();
    }
    if (!s.ok()) {
      out.failed = true;
      return out;
    }
  }
  out.failed = !wal.Close().ok();
  if (!out.failed) out.acked_full = out.attempted_lsns.size();
  return out;
}

// Crash at every write and sync the script issues, lose what was not
// synced (with and without tearing the last write), reopen, and compare.
TEST_F(WalFaultTest, CrashAtEveryWriteAndSyncPoint) {
  WalOptions options;
  options.segment_size = 512;
  options.sync_interval = std::chrono::hours(1);  // no background syncs: deterministic counts
  uint64_t total_ops = 0;
  {
    TempDir dir;
    FaultInjectionFileSystem fault(&control_);
    ScriptResult clean = RunScript(&fault, dir.File("wal"), options);
    ASSERT_FALSE(clean.failed);
    total_ops = fault.write_count() + fault.sync_count();
  }
  ASSERT_GT(total_ops, 30u);

  for (bool tear : {false, true}) {
    for (uint64_t k = 0; k <= total_ops; ++k) {
      SCOPED_TRACE("crash after " + std::to_string(k) + " ops, tear=" + std::to_string(tear));
      TempDir dir;
      const std::string wal_dir = dir.File("wal");
      FaultInjectionFileSystem fault(&control_);
      fault.SetCrashAfter(k);
      ScriptResult run = RunScript(&fault, wal_dir, options);
      EXPECT_EQ(run.failed, k < total_ops);
      ASSERT_TRUE(fault.DropUnsyncedData(CrashOptions{.tear_last_write = tear}).ok());

      Result<std::unique_ptr<Wal>> reopened = Wal::Open(&fault, wal_dir, options);
      ASSERT_TRUE(reopened.ok()) << reopened.status().ToString();
      Wal& wal = **reopened;
      Result<ReadLog> read = ReadWholeLog(&fault, wal_dir, wal.oldest_lsn());
      ASSERT_TRUE(read.ok()) << read.status().ToString();

      // What survives is a contiguous run of the appended records, in
      // order, from no later than the removal's cut, ending no earlier than
      // the last acknowledged full commit and no later than the last record
      // appended (the one in flight).
      const Lsn survived_from = read->records.empty() ? wal.next_lsn() : read->records.front().lsn;
      size_t first = 0;
      while (first < run.attempted_lsns.size() && run.attempted_lsns[first] < survived_from) {
        ++first;
      }
      EXPECT_LE(first, run.removed_before.has_value() ? 3u : 0u) << "needed records removed";
      ASSERT_LE(first + read->records.size(), run.attempted_lsns.size());
      for (size_t i = 0; i < read->records.size(); ++i) {
        ASSERT_EQ(read->records[i].lsn, run.attempted_lsns[first + i]) << "record " << i;
        EXPECT_TRUE(read->records[i].payload ==
                    Payload(read->records[i].payload.size(), first + i));
      }
      EXPECT_GE(first + read->records.size(), run.acked_full) << "an acknowledged commit was lost";

      // The reopened log continues right after what survived.
      Result<Lsn> next = wal.Commit(6, Payload(33, 777), Durability::kFull);
      ASSERT_TRUE(next.ok()) << next.status().ToString();
      Result<ReadLog> again = ReadWholeLog(&fault, wal_dir, wal.oldest_lsn());
      ASSERT_TRUE(again.ok()) << again.status().ToString();
      ASSERT_EQ(again->records.size(), read->records.size() + 1);
      EXPECT_EQ(again->records.back().lsn, *next);
      EXPECT_EQ(again->records.back().type, 6);
    }
  }
}

}  // namespace
}  // namespace mvdb
