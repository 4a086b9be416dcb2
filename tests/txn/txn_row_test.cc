// Rows through the public API (include/mvdb/db.h, "Rows"): which versions
// start a new row (VersionInfo::new_row), and GetForUpdate with the
// iterator that read a key, which follows a row only along its own
// versions (txn/transaction.cc, invariant 8; mvcc/version_store.cc,
// invariant 7). The SQL behaviour this serves, PostgreSQL's read committed
// re-check, is tests/isolation/specs/recheck-new-row.spec. The fixture is
// txn_test_util.h.
#include "common/coding.h"
#include "mvcc/version_store.h"
#include "tests/txn/txn_test_util.h"

namespace mvdb {
namespace {

// The new_row flags of the kept versions of `key`, newest first, as "n"
// (new row), "c" (continues) or "d" (tombstone).
std::string RowFlags(Database& db, std::string_view key) {
  auto versions = db.ListVersions(kTable, key);
  EXPECT_TRUE(versions.ok()) << versions.status().ToString();
  std::string flags;
  if (!versions.ok()) return flags;
  for (const VersionInfo& version : *versions) {
    flags += version.deleted ? 'd' : version.new_row ? 'n' : 'c';
  }
  return flags;
}

// What GetForUpdate(read_by) answers: the value, "<NotFound>" or "<Code>".
std::string LockRead(Transaction& txn, const Iterator& read_by, std::string_view key) {
  std::string value;
  const Status status = txn.GetForUpdate(kTable, key, &value, read_by);
  if (status.ok()) return value;
  return "<" + std::string(Code(status)) + ">";
}

// An iterator of `txn` positioned on `key`, as a statement that read it.
std::unique_ptr<Iterator> ReadThrough(Transaction& txn, std::string_view key) {
  auto it = txn.NewIterator(kTable);
  it->Seek(key);
  EXPECT_TRUE(it->Valid() && it->key() == key) << "the iterator should see " << key;
  return it;
}

// ---- The flag in the tree entry (mvcc/version_format.md) ----

TEST(VersionEntryTest, TheNewRowFlagIsBit62AndNeverOnATombstone) {
  const std::string entry = EncodeEntry(12345, false, "row", /*new_row=*/true);
  ASSERT_EQ(entry.size(), 8u + 3u);
  EXPECT_EQ(DecodeFixed64(reinterpret_cast<const std::byte*>(entry.data())),
            (uint64_t{1} << 62) | 12345);
  auto decoded = DecodeEntry(entry, "k");
  ASSERT_TRUE(decoded.ok()) << decoded.status().ToString();
  EXPECT_EQ(decoded->ts, 12345u);
  EXPECT_TRUE(decoded->new_row);
  EXPECT_FALSE(decoded->tombstone);
  EXPECT_EQ(decoded->value, "row");
  // An entry written before the flag existed reads as continuing its row.
  auto plain = DecodeEntry(EncodeEntry(7, false, "v"), "k");
  ASSERT_TRUE(plain.ok());
  EXPECT_FALSE(plain->new_row);
  // A tombstone flagged as a new row is damage.
  std::string bad(8, '\0');
  EncodeFixed64(reinterpret_cast<std::byte*>(bad.data()), (uint64_t{3} << 62) | 7);
  EXPECT_TRUE(DecodeEntry(bad, "k").status().IsCorruption());
}

// ---- Which versions start a row ----

TEST_F(TxnTest, VersionsSayWhetherTheyStartARow) {
  // A snapshot from before the first version keeps every version after it.
  auto keeper = Begin(kSnapshot);
  EXPECT_EQ(Read(*keeper, "k"), "<NotFound>");
  CommitPut("k", "inserted");
  CommitPut("k", "updated");
  CommitDelete("k");
  CommitPut("k", "reinserted");
  {
    auto txn = db_->Begin();
    ASSERT_TRUE(txn->Delete(kTable, "k").ok());
    ASSERT_TRUE(txn->Put(kTable, "k", "deleted and put in one transaction").ok());
    ASSERT_TRUE(txn->Commit().ok());
  }
  {
    auto txn = db_->Begin();
    ASSERT_TRUE(txn->Delete(kTable, "k").ok());
    ASSERT_TRUE(txn->Put(kTable, "k", "x").ok());
    ASSERT_TRUE(txn->Put(kTable, "k", "put twice after the delete").ok());
    ASSERT_TRUE(txn->Commit().ok());
  }
  CommitPut("k", "updated again");
  EXPECT_EQ(RowFlags(*db_, "k"), "cnnndcn");
  ASSERT_TRUE(keeper->Commit().ok());
}

TEST_F(TxnTest, APutOverAValueOfTheSameTransactionStillContinuesTheRow) {
  CommitPut("k", "v0");
  auto txn = db_->Begin();
  ASSERT_TRUE(txn->Put(kTable, "k", "v1").ok());
  ASSERT_TRUE(txn->Put(kTable, "k", "v2").ok());
  ASSERT_TRUE(txn->Commit().ok());
  EXPECT_EQ(RowFlags(*db_, "k").front(), 'c');
}

// ---- GetForUpdate with the iterator that read the key ----

TEST_F(TxnTest, RowReadUnchangedIsReturned) {
  CommitPut("k", "v0");
  auto txn = Begin(kReadCommitted);
  auto it = ReadThrough(*txn, "k");
  EXPECT_EQ(LockRead(*txn, *it, "k"), "v0");
}

TEST_F(TxnTest, RowUpdatedSinceTheIteratorIsFollowedToItsNewestVersion) {
  CommitPut("k", "v0");
  auto txn = Begin(kReadCommitted);
  auto it = ReadThrough(*txn, "k");
  CommitPut("k", "v1");
  CommitPut("k", "v2");
  EXPECT_EQ(LockRead(*txn, *it, "k"), "v2");
}

TEST_F(TxnTest, RowDeletedAndReinsertedInOneTransactionIsNotFollowed) {
  CommitPut("k", "old row");
  auto txn = Begin(kReadCommitted);
  auto it = ReadThrough(*txn, "k");
  {
    auto other = db_->Begin();
    ASSERT_TRUE(other->Delete(kTable, "k").ok());
    ASSERT_TRUE(other->Put(kTable, "k", "new row").ok());
    ASSERT_TRUE(other->Commit().ok());
  }
  EXPECT_EQ(LockRead(*txn, *it, "k"), "<NotFound>");
  // The key is locked and the transaction goes on; a plain read sees the
  // new row.
  EXPECT_EQ(txn->state(), TransactionState::kActive);
  std::string value;
  ASSERT_TRUE(txn->GetForUpdate(kTable, "k", &value).ok());
  EXPECT_EQ(value, "new row");
}

TEST_F(TxnTest, RowDeletedByOneCommitAndReinsertedByAnotherIsNotFollowed) {
  CommitPut("k", "old row");
  auto txn = Begin(kReadCommitted);
  auto it = ReadThrough(*txn, "k");
  CommitDelete("k");
  CommitPut("k", "new row");
  EXPECT_EQ(LockRead(*txn, *it, "k"), "<NotFound>");
}

TEST_F(TxnTest, ANewRowUpdatedAfterwardsIsStillNotTheRowRead) {
  CommitPut("k", "old row");
  auto txn = Begin(kReadCommitted);
  auto it = ReadThrough(*txn, "k");
  {
    auto other = db_->Begin();
    ASSERT_TRUE(other->Delete(kTable, "k").ok());
    ASSERT_TRUE(other->Put(kTable, "k", "new row").ok());
    ASSERT_TRUE(other->Commit().ok());
  }
  CommitPut("k", "new row, updated");       // the newest version continues the new row
  ASSERT_TRUE(db_->CollectGarbage().ok());  // the iterator keeps what it needs
  EXPECT_EQ(LockRead(*txn, *it, "k"), "<NotFound>");
}

TEST_F(TxnTest, AKeyTheIteratorDidNotSeeHasNoRowToFollow) {
  auto txn = Begin(kReadCommitted);
  auto it = txn->NewIterator(kTable);
  CommitPut("k", "inserted after the snapshot");
  EXPECT_EQ(LockRead(*txn, *it, "k"), "<NotFound>");
}

TEST_F(TxnTest, TheTransactionsOwnWriteIsReturnedAsItIs) {
  CommitPut("k", "v0");
  auto txn = Begin(kReadCommitted);
  ASSERT_TRUE(txn->Delete(kTable, "k").ok());
  ASSERT_TRUE(txn->Put(kTable, "k", "own").ok());
  auto it = ReadThrough(*txn, "k");
  EXPECT_EQ(LockRead(*txn, *it, "k"), "own");
}

TEST_F(TxnTest, RowDeletedAndReinsertedDuringTheWaitIsNotFollowed) {
  CommitPut("k", "old row");
  auto writer = Begin(kReadCommitted);
  ASSERT_TRUE(writer->Delete(kTable, "k").ok());
  ASSERT_TRUE(writer->Put(kTable, "k", "new row").ok());
  auto waiter = Begin(kReadCommitted);
  auto it = ReadThrough(*waiter, "k");
  std::string answer;
  std::thread locker([&] { answer = LockRead(*waiter, *it, "k"); });
  EXPECT_TRUE(WaitUntil([&] { return WaitingFor(waiter->id()) == writer->id(); }));
  ASSERT_TRUE(writer->Commit().ok());
  locker.join();
  EXPECT_EQ(answer, "<NotFound>");
}

TEST_F(TxnTest, AtSnapshotIsolationAnyChangeSinceTheSnapshotIsAConflict) {
  CommitPut("k", "old row");
  auto txn = Begin(kSnapshot);
  auto it = ReadThrough(*txn, "k");
  CommitDelete("k");
  CommitPut("k", "new row");
  EXPECT_EQ(LockRead(*txn, *it, "k"), "<Conflict>");
}

TEST_F(TxnTest, AnIteratorOfAnotherTransactionIsRefused) {
  CommitPut("k", "v0");
  auto txn = Begin(kReadCommitted);
  auto other = Begin(kReadCommitted);
  auto it = ReadThrough(*other, "k");
  EXPECT_EQ(LockRead(*txn, *it, "k"), "<InvalidArgument>");
  EXPECT_EQ(txn->state(), TransactionState::kActive);
  auto missing = txn->NewIterator("no such table");
  EXPECT_EQ(LockRead(*txn, *missing, "k"), "<NotFound>");
}

}  // namespace
}  // namespace mvdb
