// The memory a long snapshot and an oversized transaction really take
// (issue 11, item 9: at max_version_bytes = 256 MiB a process under a long
// snapshot stayed at about 580 MB, and a 1.1 GiB transaction took 3.4 GB
// before failing at COMMIT). Measured as the heap in use (mallinfo2's
// uordblks, exact for glibc's malloc and independent of what the kernel
// maps), relative to a baseline taken after the database was opened and
// loaded; Release only (tests/mvcc/CMakeLists.txt).
#include <gtest/gtest.h>
#include <malloc.h>

#include <algorithm>
#include <cstddef>
#include <memory>
#include <string>

#include "mvdb/db.h"
#include "mvdb/options.h"
#include "mvdb/status.h"
#include "tests/testing/temp_dir.h"

namespace mvdb {
namespace {

constexpr char kTable[] = "t";

size_t HeapInUse() { return mallinfo2().uordblks; }

std::string Key(int i) { return "key" + std::to_string(100000 + i); }

// 16 bytes that differ between rounds: a value just too long to live inside
// a std::string, where bookkeeping costs most relative to the data.
std::string Value(int round) {
  std::string value = "value-";
  value.append(std::to_string(1000000000 + round));
  return value;
}

class MemoryBoundTest : public ::testing::Test {
 protected:
  void Open(const Options& options) {
    ASSERT_TRUE(dir_.ok());
    auto opened = Database::Open(dir_.path(), options);
    ASSERT_TRUE(opened.ok()) << opened.status().ToString();
    db_ = std::move(opened).value();
    ASSERT_TRUE(db_->CreateTable(kTable).ok());
  }
  void TearDown() override {
    if (db_ != nullptr) EXPECT_TRUE(db_->Close().ok());
  }

  static Options SmallOptions() {
    Options options;
    options.sync = SyncMode::kOff;
    options.cache_mb = 1;  // allocated at Open, before the baseline
    return options;
  }

  testing::TempDir dir_{"memory", /*prefer_tmpfs=*/true};
  std::unique_ptr<Database> db_;
};

// A reporting job keeps a snapshot open (and takes a new one whenever its
// old one is reclaimed) while writers update every key many times: the old
// versions stay within max_version_bytes as counted, and the heap within
// that plus a small constant (the writers' own transactions, the log's
// buffer, the lock table). Before the count was honest, 16-byte values
// took about three times the budget.
TEST_F(MemoryBoundTest, ALongSnapshotUnderWritesStaysWithinMaxVersionBytes) {
  constexpr size_t kBudget = size_t{8} << 20;
  constexpr size_t kSlack = size_t{1} << 20;
  constexpr int kKeys = 20000;
  constexpr int kPerCommit = 100;
  constexpr int kCommits = 2000;  // 200,000 updates: several times the budget
  Options options = SmallOptions();
  options.max_version_bytes = kBudget;
  ASSERT_NO_FATAL_FAILURE(Open(options));
  for (int first = 0; first < kKeys; first += 1000) {
    auto loader = db_->Begin();
    for (int i = first; i < first + 1000; ++i)
      ASSERT_TRUE(loader->Put(kTable, Key(i), Value(0)).ok());
    ASSERT_TRUE(loader->Commit().ok());
  }
  ASSERT_TRUE(db_->CollectGarbage().ok());
  const size_t baseline = HeapInUse();

  TransactionOptions snapshot;
  snapshot.isolation = IsolationLevel::kSnapshot;
  auto reader = db_->Begin(snapshot);
  std::string value;
  ASSERT_TRUE(reader->Get(kTable, Key(0), &value).ok());
  int reclaimed = 0;
  size_t max_heap = 0;
  uint64_t max_counted = 0;
  int next = 0;
  for (int commit = 1; commit <= kCommits; ++commit) {
    auto writer = db_->Begin();
    for (int i = 0; i < kPerCommit; ++i, next = (next + 1) % kKeys) {
      ASSERT_TRUE(writer->Put(kTable, Key(next), Value(commit)).ok());
    }
    ASSERT_TRUE(writer->Commit().ok());
    max_counted = std::max(max_counted, db_->stats().old_version_bytes);
    max_heap = std::max(max_heap, HeapInUse() - std::min(baseline, HeapInUse()));
    const Status read = reader->Get(kTable, Key(next), &value);
    if (read.IsSnapshotTooOld()) {
      ++reclaimed;
      ASSERT_TRUE(reader->Rollback().ok());
      reader = db_->Begin(snapshot);
      ASSERT_TRUE(reader->Get(kTable, Key(0), &value).ok());
    } else {
      ASSERT_TRUE(read.ok()) << read.ToString();
    }
  }
  EXPECT_GE(reclaimed, 2) << "the snapshot must have been reclaimed to stay within the budget";
  EXPECT_LE(max_counted, kBudget);
  EXPECT_LE(max_heap, kBudget + kSlack) << "heap in use above the baseline peaked at " << max_heap
                                        << " bytes for a budget of " << kBudget;
}

// A transaction that grows without end fails at the write that crosses
// max_transaction_bytes, with the heap it holds then near the limit, and
// gives it all back when rolled back. Before, nothing stopped it until the
// commit's log record was refused (past 1 GiB).
TEST_F(MemoryBoundTest, AnOversizedTransactionFailsAtTheLimitWithItsHeapBounded) {
  constexpr size_t kLimit = size_t{8} << 20;
  constexpr size_t kSlack = size_t{1} << 20;
  Options options = SmallOptions();
  options.max_transaction_bytes = kLimit;
  ASSERT_NO_FATAL_FAILURE(Open(options));
  const size_t baseline = HeapInUse();
  const std::string value(1000, 'x');
  auto txn = db_->Begin();
  Status refused;
  size_t heap_at_refusal = 0;
  int accepted = 0;
  for (; accepted < 4 * 8192; ++accepted) {  // 32 MB of values: four times the limit
    refused = txn->Put(kTable, Key(accepted), value);
    if (!refused.ok()) {
      heap_at_refusal = HeapInUse() - std::min(baseline, HeapInUse());
      break;
    }
  }
  ASSERT_EQ(StatusCodeName(refused.code()), "InvalidArgument") << refused.ToString();
  EXPECT_NE(refused.message().find("max_transaction_bytes"), std::string_view::npos);
  EXPECT_LE(heap_at_refusal, kLimit + kSlack);
  EXPECT_GE(heap_at_refusal, kLimit - kSlack) << "the count should not be far above the heap";
  EXPECT_EQ(txn->state(), TransactionState::kActive);
  ASSERT_TRUE(txn->Rollback().ok());
  txn.reset();
  EXPECT_LE(HeapInUse() - std::min(baseline, HeapInUse()), kSlack);

  auto after = db_->Begin();  // the database goes on
  ASSERT_TRUE(after->Put(kTable, Key(0), "small").ok());
  ASSERT_TRUE(after->Commit().ok());
  std::string read;
  ASSERT_TRUE(db_->Get(kTable, Key(0), &read).ok());
  EXPECT_EQ(read, "small");
}

}  // namespace
}  // namespace mvdb
