// DDL against running transactions (issue 11, item 4): a transaction keeps
// the tables it has used (table locks, include/mvdb/db.h "Tables and
// transactions"), so DropTable waits for it, a newcomer waits behind a
// waiting drop, and the waits time out and find deadlocks as row lock waits
// do. The expected behaviour is PostgreSQL's (DROP TABLE takes an ACCESS
// EXCLUSIVE lock; tests/isolation/specs/ddl-*.spec hold its transcripts).
#include "tests/txn/txn_test_util.h"
#include "txn/lock_manager.h"

namespace mvdb {
namespace {

using namespace std::chrono_literals;

class TxnDdlTest : public TxnTest {
 protected:
  // The transaction waiting for `holder` (0 if none yet).
  uint64_t WaiterFor(uint64_t holder) const {
    for (const TransactionInfo& info : db_->ListTransactions()) {
      if (info.waiting_for == holder) return info.id;
    }
    return 0;
  }
  bool HasTable(std::string_view name) {
    auto tables = db_->ListTables();
    EXPECT_TRUE(tables.ok());
    return std::find(tables->begin(), tables->end(), name) != tables->end();
  }
};

TEST_F(TxnDdlTest, DropTableWaitsForAReaderWhichKeepsReadingTheSameTable) {
  CommitPut("k", "old");
  auto reader = Begin(kSnapshot);
  ASSERT_EQ(Read(*reader, "k"), "old");

  std::atomic<bool> dropped{false};
  Status drop;
  std::thread dropper([&] {
    drop = db_->DropTable(kTable);
    if (drop.ok()) drop = db_->CreateTable(kTable);  // a new, empty t
    dropped = true;
  });
  ASSERT_TRUE(WaitUntil([&] { return WaiterFor(reader->id()) != 0; }));
  EXPECT_FALSE(dropped);
  // Still the old table, however often it is read.
  EXPECT_EQ(Read(*reader, "k"), "old");
  auto it = reader->NewIterator(kTable);
  it->SeekToFirst();
  EXPECT_EQ(Drain(*it), (KeyValues{{"k", "old"}}));
  it.reset();
  EXPECT_TRUE(HasTable(kTable));
  ASSERT_TRUE(reader->Commit().ok());
  dropper.join();
  ASSERT_TRUE(drop.ok()) << drop.ToString();
  EXPECT_EQ(ReadLatest("k"), "<NotFound>");  // the new table
}

TEST_F(TxnDdlTest, DropTableWaitsForAWriterWhoseCommitKeepsAllItsWrites) {
  ASSERT_TRUE(db_->CreateTable("other").ok());
  auto writer = Begin(kReadCommitted);
  ASSERT_TRUE(writer->Put(kTable, "k", "v").ok());
  ASSERT_TRUE(writer->Put("other", "k", "v").ok());

  Status drop;
  std::thread dropper([&] { drop = db_->DropTable(kTable); });
  ASSERT_TRUE(WaitUntil([&] { return WaiterFor(writer->id()) != 0; }));
  // The writer holds the table: it goes on writing it (ahead of the drop).
  ASSERT_TRUE(writer->Put(kTable, "k2", "v2").ok());
  const Status committed = writer->Commit();
  dropper.join();
  EXPECT_TRUE(committed.ok()) << committed.ToString();
  EXPECT_TRUE(drop.ok()) << drop.ToString();
  EXPECT_EQ(ReadLatest("k", "other"), "v");
  EXPECT_FALSE(HasTable(kTable));
}

TEST_F(TxnDdlTest, ARollbackLetsAWaitingDropGoOn) {
  auto writer = Begin(kSnapshot);
  ASSERT_TRUE(writer->Delete(kTable, "k").ok());
  Status drop;
  std::thread dropper([&] { drop = db_->DropTable(kTable); });
  ASSERT_TRUE(WaitUntil([&] { return WaiterFor(writer->id()) != 0; }));
  ASSERT_TRUE(writer->Rollback().ok());
  dropper.join();
  EXPECT_TRUE(drop.ok()) << drop.ToString();
}

TEST_F(TxnDdlTest, ANewcomerWaitsBehindAWaitingDropThenFindsNoTable) {
  CommitPut("k", "v");
  auto reader = Begin(kReadCommitted);
  ASSERT_EQ(Read(*reader, "k"), "v");
  Status drop;
  std::thread dropper([&] { drop = db_->DropTable(kTable); });
  uint64_t drop_id = 0;
  ASSERT_TRUE(WaitUntil([&] { return (drop_id = WaiterFor(reader->id())) != 0; }));

  auto newcomer = Begin(kReadCommitted);
  std::string late;
  Status read;
  std::thread reading([&] { read = newcomer->Get(kTable, "k", &late); });
  // PostgreSQL's lock queue: the newcomer waits for the drop, not past it.
  ASSERT_TRUE(WaitUntil([&] { return WaitingFor(newcomer->id()) == drop_id; }));
  ASSERT_TRUE(reader->Commit().ok());
  dropper.join();
  reading.join();
  EXPECT_TRUE(drop.ok()) << drop.ToString();
  EXPECT_TRUE(read.IsNotFound()) << read.ToString();
  EXPECT_EQ(newcomer->state(), TransactionState::kActive);
  EXPECT_TRUE(newcomer->Commit().ok());
}

TEST_F(TxnDdlTest, DropWaitEndsWithLockTimeoutAndChangesNothing) {
  options_.lock_timeout = 50ms;
  ASSERT_NO_FATAL_FAILURE(Reopen(options_));
  CommitPut("k", "v");
  auto reader = Begin(kSnapshot);
  ASSERT_EQ(Read(*reader, "k"), "v");
  const Status drop = db_->DropTable(kTable);
  EXPECT_EQ(Code(drop), "LockTimeout") << drop.ToString();
  EXPECT_TRUE(HasTable(kTable));
  EXPECT_EQ(Read(*reader, "k"), "v");
  ASSERT_TRUE(reader->Commit().ok());
  EXPECT_TRUE(db_->DropTable(kTable).ok());
}

TEST_F(TxnDdlTest, ATransactionMayDropATableItUsesAndSeesItGone) {
  ASSERT_TRUE(db_->CreateTable("x").ok());
  auto txn = Begin(kSnapshot);
  std::string value;
  EXPECT_TRUE(txn->Get("x", "k", &value).IsNotFound());
  ASSERT_TRUE(txn->DropTable("x").ok());  // its own lock does not stand in the way
  EXPECT_TRUE(txn->Get("x", "k", &value).IsNotFound());
  EXPECT_FALSE(HasTable("x"));
  ASSERT_TRUE(txn->Rollback().ok());  // not transactional: stays dropped
  EXPECT_FALSE(HasTable("x"));
}

TEST_F(TxnDdlTest, ACycleOfTableLockWaitsIsADeadlock) {
  ASSERT_TRUE(db_->CreateTable("a").ok());
  ASSERT_TRUE(db_->CreateTable("b").ok());
  auto t1 = Begin(kSnapshot);
  auto t2 = Begin(kSnapshot);
  std::string value;
  ASSERT_TRUE(t1->Get("a", "k", &value).IsNotFound());
  ASSERT_TRUE(t2->Get("b", "k", &value).IsNotFound());
  Status first;
  std::thread waiting([&] { first = t1->DropTable("b"); });
  ASSERT_TRUE(WaitUntil([&] { return WaitingFor(t1->id()) == t2->id(); }));
  // t2 waiting for t1 would close the cycle: t2 is the victim, and its
  // failure releases "b", so t1's drop goes on.
  const Status second = t2->DropTable("a");
  EXPECT_EQ(Code(second), "Deadlock") << second.ToString();
  EXPECT_EQ(t2->state(), TransactionState::kFailed);
  waiting.join();
  EXPECT_TRUE(first.ok()) << first.ToString();
  EXPECT_TRUE(HasTable("a"));
  EXPECT_FALSE(HasTable("b"));
  ASSERT_TRUE(t1->Commit().ok());
  EXPECT_GE(db_->stats().aborts_deadlock, 1u);
}

TEST_F(TxnDdlTest, ACycleThroughARowLockAndATableLockIsADeadlock) {
  auto t1 = Begin(kReadCommitted);
  auto t2 = Begin(kReadCommitted);
  ASSERT_TRUE(db_->CreateTable("x").ok());
  std::string value;
  ASSERT_TRUE(t1->Get("x", "k", &value).IsNotFound());  // t1 holds x
  ASSERT_TRUE(t2->Put(kTable, "k", "2").ok());          // t2 holds row k
  Status first;
  std::thread waiting([&] { first = t1->Put(kTable, "k", "1"); });  // t1 waits for t2
  ASSERT_TRUE(WaitUntil([&] { return WaitingFor(t1->id()) == t2->id(); }));
  EXPECT_EQ(Code(t2->DropTable("x")), "Deadlock");
  waiting.join();
  EXPECT_TRUE(first.ok()) << first.ToString();
  ASSERT_TRUE(t1->Commit().ok());
  EXPECT_EQ(ReadLatest("k"), "1");
}

TEST_F(TxnDdlTest, ShareLockKeepsWritersOutButNotReaders) {
  CommitPut("k", "v");
  auto builder = Begin(kReadCommitted);
  ASSERT_TRUE(builder->LockTable(kTable, TableLockMode::kShare).ok());
  auto reader = Begin(kReadCommitted);
  EXPECT_EQ(Read(*reader, "k"), "v");  // does not wait
  auto writer = Begin(kReadCommitted);
  Status wrote;
  std::thread writing([&] { wrote = writer->Put(kTable, "k", "w"); });
  ASSERT_TRUE(WaitUntil([&] { return WaitingFor(writer->id()) == builder->id(); }));
  ASSERT_TRUE(builder->Commit().ok());
  writing.join();
  EXPECT_TRUE(wrote.ok()) << wrote.ToString();
  ASSERT_TRUE(writer->Commit().ok());
  ASSERT_TRUE(reader->Commit().ok());
  EXPECT_EQ(ReadLatest("k"), "w");
}

// A use of a table the transaction itself dropped finds no table and gives
// back only the mode that use took: the drop's ACCESS EXCLUSIVE stays.
TEST_F(TxnDdlTest, AMissingTableGivesBackOnlyTheModeJustTaken) {
  options_.lock_timeout = 50ms;
  ASSERT_NO_FATAL_FAILURE(Reopen(options_));
  ASSERT_TRUE(db_->CreateTable("x").ok());
  auto txn = Begin(kReadCommitted);
  ASSERT_TRUE(txn->DropTable("x").ok());
  std::string value;
  EXPECT_TRUE(txn->Get("x", "k", &value).IsNotFound());
  auto other = Begin(kReadCommitted);
  const Status waited = other->LockTable("x", TableLockMode::kAccessShare);
  EXPECT_EQ(Code(waited), "LockTimeout") << waited.ToString();
  ASSERT_TRUE(txn->Commit().ok());
  auto after = Begin(kReadCommitted);
  EXPECT_TRUE(after->LockTable("x", TableLockMode::kAccessShare).IsNotFound());
  ASSERT_TRUE(after->Commit().ok());
}

TEST_F(TxnDdlTest, LockTableOfAMissingTableIsNotFoundAndKeepsNoLock) {
  auto txn = Begin(kReadCommitted);
  EXPECT_TRUE(txn->LockTable("nope", TableLockMode::kAccessExclusive).IsNotFound());
  EXPECT_EQ(txn->state(), TransactionState::kActive);
  ASSERT_TRUE(db_->CreateTable("nope").ok());
  EXPECT_TRUE(db_->DropTable("nope").ok());  // would wait if the lock were kept
  ASSERT_TRUE(txn->Commit().ok());
}

TEST(TableLockModes, ConflictAsInPostgreSql) {
  // PostgreSQL 15 documentation, "Table-Level Lock Modes" (table 13.2).
  using M = TableLockMode;
  const M modes[] = {M::kAccessShare, M::kRowShare, M::kRowExclusive, M::kShare,
                     M::kAccessExclusive};
  const bool expected[5][5] = {
      {false, false, false, false, true},  // ACCESS SHARE
      {false, false, false, false, true},  // ROW SHARE
      {false, false, false, true, true},   // ROW EXCLUSIVE
      {false, false, true, false, true},   // SHARE
      {true, true, true, true, true},      // ACCESS EXCLUSIVE
  };
  for (int a = 0; a < 5; ++a) {
    for (int b = 0; b < 5; ++b) {
      EXPECT_EQ(LockManager::Conflicts(modes[a], modes[b]), expected[a][b]) << a << " vs " << b;
    }
  }
}

}  // namespace
}  // namespace mvdb
