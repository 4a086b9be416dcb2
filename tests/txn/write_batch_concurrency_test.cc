// Writes without a read against transactions on other threads (issue 13):
// a batch takes the row locks like any writer, so it waits for a
// transaction holding one of its keys, a read-committed transaction waiting
// for the batch goes on with the batch's value, and a snapshot-isolation
// one waiting for it fails with Conflict; batches that share keys never
// deadlock with each other and are seen whole. Waits are observed through
// ListTransactions (waiting_for), never through sleeps. Also under TSan.
#include <gtest/gtest.h>

#include <future>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "tests/txn/txn_test_util.h"

namespace mvdb {
namespace {

class WriteBatchConcurrencyTest : public TxnTest {
 protected:
  // The id of the transaction that waits for `holder` (a batch's own
  // transaction shows in ListTransactions like any other), once there is one.
  uint64_t WaiterOf(uint64_t holder) {
    uint64_t waiter = 0;
    EXPECT_TRUE(WaitUntil([&] {
      for (const TransactionInfo& info : db_->ListTransactions()) {
        if (info.waiting_for == holder) waiter = info.id;
      }
      return waiter != 0;
    })) << "nobody waits for transaction "
        << holder;
    return waiter;
  }

  // A batch putting `value` under "a" and "b", written on another thread.
  std::future<Status> WriteAsync(const std::string& value) {
    return std::async(std::launch::async, [this, value] {
      WriteBatch batch;
      batch.Put(kTable, "b", value);  // locked second: keys go in key order
      batch.Put(kTable, "a", value);
      return db_->Write(batch);
    });
  }
};

TEST_F(WriteBatchConcurrencyTest, ABatchWaitsForATransactionHoldingItsKey) {
  for (const IsolationLevel level : {kReadCommitted, kSnapshot}) {
    SCOPED_TRACE(IsolationLevelName(level));
    CommitPut("a", "0");
    auto holder = Begin(level);
    ASSERT_TRUE(holder->Put(kTable, "a", "holder").ok());
    std::future<Status> batch = WriteAsync("batch");
    WaiterOf(holder->id());
    ASSERT_TRUE(holder->Commit().ok());
    ASSERT_TRUE(batch.get().ok());  // a batch is blind: no conflict for it
    EXPECT_EQ(ReadLatest("a"), "batch");
    EXPECT_EQ(ReadLatest("b"), "batch");
  }
}

TEST_F(WriteBatchConcurrencyTest, ABatchThatWaitsGoesOnWhenTheHolderRollsBack) {
  auto holder = Begin(kReadCommitted);
  ASSERT_TRUE(holder->Put(kTable, "b", "holder").ok());
  std::future<Status> batch = WriteAsync("batch");
  WaiterOf(holder->id());
  ASSERT_TRUE(holder->Rollback().ok());
  ASSERT_TRUE(batch.get().ok());
  EXPECT_EQ(ReadLatest("b"), "batch");
}

// The batch locks "a", then waits for "b", which `blocker` holds; a
// transaction that wants "a" meanwhile waits for the batch.
TEST_F(WriteBatchConcurrencyTest, AReadCommittedWaiterSeesTheBatchsValue) {
  CommitPut("a", "before");
  auto blocker = Begin(kReadCommitted);
  ASSERT_TRUE(blocker->Put(kTable, "b", "blocker").ok());
  std::future<Status> batch = WriteAsync("batch");
  const uint64_t batch_id = WaiterOf(blocker->id());
  auto rc = Begin(kReadCommitted);
  std::future<std::string> read = std::async(std::launch::async, [&] {
    std::string value;
    const Status status = rc->GetForUpdate(kTable, "a", &value);
    return status.ok() ? value : status.ToString();
  });
  ASSERT_EQ(WaiterOf(batch_id), rc->id());
  ASSERT_TRUE(blocker->Commit().ok());
  ASSERT_TRUE(batch.get().ok());
  EXPECT_EQ(read.get(), "batch");  // PostgreSQL's read committed: the newest version
  ASSERT_TRUE(rc->Put(kTable, "a", "batch+rc").ok());
  ASSERT_TRUE(rc->Commit().ok());
  EXPECT_EQ(ReadLatest("a"), "batch+rc");
}

TEST_F(WriteBatchConcurrencyTest, ASnapshotWaiterThatReadTheKeyGetsItsConflict) {
  CommitPut("a", "before");
  auto rr = Begin(kSnapshot);
  EXPECT_EQ(Read(*rr, "a"), "before");  // its snapshot predates the batch
  auto blocker = Begin(kReadCommitted);
  ASSERT_TRUE(blocker->Put(kTable, "b", "blocker").ok());
  std::future<Status> batch = WriteAsync("batch");
  const uint64_t batch_id = WaiterOf(blocker->id());
  std::future<Status> write =
      std::async(std::launch::async, [&] { return rr->Put(kTable, "a", "rr"); });
  ASSERT_EQ(WaiterOf(batch_id), rr->id());
  ASSERT_TRUE(blocker->Commit().ok());
  ASSERT_TRUE(batch.get().ok());
  const Status status = write.get();
  EXPECT_TRUE(status.IsConflict()) << status.ToString();
  EXPECT_EQ(rr->state(), TransactionState::kFailed);
  EXPECT_TRUE(rr->Rollback().ok());
  EXPECT_EQ(ReadLatest("a"), "batch");
}

// Two threads write batches over the same keys, listed in opposite orders;
// a third reads them all in one snapshot. Keys are locked in key order, so
// no batch deadlocks, and each snapshot sees one batch whole.
TEST_F(WriteBatchConcurrencyTest, BatchesSharingKeysNeverDeadlockAndAreSeenWhole) {
  constexpr int kKeys = 16;
  constexpr int kBatches = 150;
  for (int k = 0; k < kKeys; ++k) CommitPut("k" + std::to_string(k + 10), "init");
  std::atomic<bool> writing{true};
  auto writer = [&](int id) {
    WriteBatch batch;
    for (int i = 0; i < kBatches; ++i) {
      batch.Clear();
      const std::string value = std::to_string(id) + "-" + std::to_string(i);
      for (int k = 0; k < kKeys; ++k) {
        const int key = id == 0 ? k : kKeys - 1 - k;
        batch.Put(kTable, "k" + std::to_string(key + 10), value);
      }
      const Status status = db_->Write(batch);
      if (!status.ok()) return status;
    }
    return Status::OK();
  };
  std::future<Status> first = std::async(std::launch::async, writer, 0);
  std::future<Status> second = std::async(std::launch::async, writer, 1);
  std::thread reader([&] {
    while (writing.load()) {
      auto txn = Begin(kSnapshot);
      auto it = txn->NewIterator(kTable);
      it->SeekToFirst();
      const KeyValues seen = Drain(*it);
      ASSERT_EQ(seen.size(), static_cast<size_t>(kKeys));
      for (const auto& [key, value] : seen) ASSERT_EQ(value, seen.front().second) << key;
      it.reset();
      ASSERT_TRUE(txn->Commit().ok());
    }
  });
  const Status a = first.get();
  const Status b = second.get();
  writing = false;
  reader.join();
  EXPECT_TRUE(a.ok()) << a.ToString();
  EXPECT_TRUE(b.ok()) << b.ToString();
  EXPECT_EQ(db_->stats().aborts_deadlock, 0u);
}

}  // namespace
}  // namespace mvdb
