// Shared snapshots (Database::GetSnapshot, include/mvdb/db.h Snapshot):
// what one sees and keeps seeing, how copies and iterators share it, the
// watermark that keeps its versions, the memory bound that reclaims it
// (SnapshotTooOld, in key-value words), and its misuse: Close while one
// lives (Busy), the database destroyed before it, its copies and its
// iterators in every order (Aborted, never a crash). The misuse cases'
// worth is under ASan, UBSan and LeakSanitizer (the asan flavour).
#include <gtest/gtest.h>

#include <optional>
#include <string>
#include <vector>

#include "tests/txn/txn_test_util.h"

namespace mvdb {
namespace {

bool Contains(std::string_view text, std::string_view part) {
  return text.find(part) != std::string_view::npos;
}

// The value of `key` as the snapshot sees it (TxnTest::Read for a transaction), "<NotFound>", or
// "<status>".
std::string ReadAt(const Snapshot& snapshot, std::string_view key,
                   std::string_view table = kTable) {
  std::string value;
  const Status status = snapshot.Get(table, key, &value);
  if (status.ok()) return value;
  if (status.IsNotFound()) return "<NotFound>";
  return "<" + status.ToString() + ">";
}

KeyValues Scan(const Snapshot& snapshot, std::string_view table = kTable) {
  std::unique_ptr<Iterator> it = snapshot.NewIterator(table);
  it->SeekToFirst();
  return Drain(*it);
}

Snapshot Take(Database& db) {
  Result<Snapshot> snapshot = db.GetSnapshot();
  EXPECT_TRUE(snapshot.ok()) << snapshot.status().ToString();
  return std::move(snapshot).value();
}

// ---- what it sees ----

TEST_F(TxnTest, SnapshotSeesExactlyTheCommitsBeforeItWasTaken) {
  CommitPut("a", "1");
  CommitPut("b", "1");
  const uint64_t visible = db_->stats().visible_ts;
  const Snapshot snapshot = Take(*db_);
  EXPECT_EQ(snapshot.sequence(), visible);
  CommitPut("a", "2");
  CommitDelete("b");
  CommitPut("c", "3");

  EXPECT_EQ(ReadAt(snapshot, "a"), "1");
  EXPECT_EQ(ReadAt(snapshot, "b"), "1");
  EXPECT_EQ(ReadAt(snapshot, "c"), "<NotFound>");
  EXPECT_EQ(Scan(snapshot), (KeyValues{{"a", "1"}, {"b", "1"}}));
  // Backward and within bounds too.
  IteratorOptions bounds;
  bounds.upper_bound = "b";
  std::unique_ptr<Iterator> it = snapshot.NewIterator(kTable, bounds);
  it->SeekToLast();
  EXPECT_EQ(Drain(*it, /*forward=*/false), (KeyValues{{"a", "1"}}));

  // A later snapshot sees the later commits; the first still does not.
  const Snapshot later = Take(*db_);
  EXPECT_GT(later.sequence(), snapshot.sequence());
  EXPECT_GT(later.id(), snapshot.id());
  EXPECT_EQ(Scan(later), (KeyValues{{"a", "2"}, {"c", "3"}}));
  EXPECT_EQ(ReadAt(snapshot, "a"), "1");
}

TEST_F(TxnTest, SnapshotReadsAreRepeatableAcrossCollections) {
  CommitPut("k", VersionValue(0));
  const Snapshot snapshot = Take(*db_);
  for (int i = 1; i <= 20; ++i) {
    CommitPut("k", VersionValue(i));
    ASSERT_TRUE(db_->CollectGarbage().ok());
    EXPECT_EQ(ReadAt(snapshot, "k"), VersionValue(0));
  }
}

TEST_F(TxnTest, SnapshotOfAMissingOrDroppedTableAnswersNotFound) {
  const Snapshot snapshot = Take(*db_);
  EXPECT_EQ(ReadAt(snapshot, "k", "nope"), "<NotFound>");
  std::unique_ptr<Iterator> it = snapshot.NewIterator("nope");
  EXPECT_FALSE(it->Valid());
  EXPECT_EQ(Code(it->status()), "NotFound") << it->status().ToString();

  // Tables are not versioned: one dropped since reads as absent, one
  // created since as empty.
  ASSERT_TRUE(db_->CreateTable("later").ok());
  CommitPut("x", "1", "later");
  EXPECT_EQ(ReadAt(snapshot, "x", "later"), "<NotFound>");
  EXPECT_EQ(Scan(snapshot, "later"), KeyValues{});
  ASSERT_TRUE(db_->DropTable("later").ok());
  EXPECT_EQ(ReadAt(snapshot, "x", "later"), "<NotFound>");
}

TEST_F(TxnTest, DropTableIsBusyWhileASnapshotIteratorIsOpen) {
  CommitPut("a", "1");
  const Snapshot snapshot = Take(*db_);
  std::unique_ptr<Iterator> it = snapshot.NewIterator(kTable);
  const Status busy = db_->DropTable(kTable);
  EXPECT_EQ(Code(busy), "Busy") << busy.ToString();
  it->SeekToFirst();
  EXPECT_EQ(Drain(*it), (KeyValues{{"a", "1"}}));
  it.reset();
  EXPECT_TRUE(db_->DropTable(kTable).ok());
  EXPECT_EQ(ReadAt(snapshot, "a"), "<NotFound>");
}

TEST_F(TxnTest, SnapshotReadsThroughATableHandle) {
  CommitPut("a", "1");
  Result<TableHandle> table = db_->OpenTable(kTable);
  ASSERT_TRUE(table.ok()) << table.status().ToString();
  const Snapshot snapshot = Take(*db_);
  CommitPut("a", "2");
  std::string value;
  ASSERT_TRUE(snapshot.Get(*table, "a", &value).ok());
  EXPECT_EQ(value, "1");
  std::unique_ptr<Iterator> it = snapshot.NewIterator(*table);
  // The handle's iterator keeps the drop out as the name's does.
  const Status busy = db_->DropTable(kTable);
  EXPECT_EQ(Code(busy), "Busy") << busy.ToString();
  it->SeekToFirst();
  EXPECT_EQ(Drain(*it), (KeyValues{{"a", "1"}}));
  it.reset();
  ASSERT_TRUE(db_->DropTable(kTable).ok());
  const Status dropped = snapshot.Get(*table, "a", &value);
  EXPECT_EQ(Code(dropped), "NotFound") << dropped.ToString();
  EXPECT_TRUE(Contains(dropped.ToString(), "was dropped")) << dropped.ToString();
  it = snapshot.NewIterator(*table);
  EXPECT_FALSE(it->Valid());
  EXPECT_EQ(Code(it->status()), "NotFound") << it->status().ToString();
  const Status none = snapshot.Get(TableHandle(), "a", &value);
  EXPECT_EQ(Code(none), "InvalidArgument") << none.ToString();
}

// ---- copies, iterators and the watermark ----

TEST_F(TxnTest, SnapshotCopiesShareOneRegistrationReleasedWithTheLast) {
  CommitPut("k", "1");
  std::optional<Snapshot> first(Take(*db_));
  const uint64_t ts = first->sequence();
  std::optional<Snapshot> copy(*first);
  EXPECT_EQ(copy->sequence(), ts);
  EXPECT_EQ(copy->id(), first->id());
  CommitPut("k", "2");
  EXPECT_EQ(db_->stats().oldest_snapshot_ts, ts);
  first.reset();
  EXPECT_EQ(db_->stats().oldest_snapshot_ts, ts);  // the copy holds it
  EXPECT_EQ(ReadAt(*copy, "k"), "1");
  Snapshot assigned = Take(*db_);  // a newer one, then assigned the old one
  assigned = *copy;
  copy.reset();
  EXPECT_EQ(db_->stats().oldest_snapshot_ts, ts);
  EXPECT_EQ(ReadAt(assigned, "k"), "1");
}

// DatabaseStats::open_snapshots counts each snapshot once while a copy or
// an iterator of it lives; transactions (also one begun at a snapshot) are
// not snapshots.
TEST_F(TxnTest, OpenSnapshotsCountsEachLiveSnapshotOnce) {
  CommitPut("k", "1");
  EXPECT_EQ(db_->stats().open_snapshots, 0u);
  std::optional<Snapshot> first(Take(*db_));
  EXPECT_EQ(db_->stats().open_snapshots, 1u);
  std::optional<Snapshot> copy(*first);
  EXPECT_EQ(db_->stats().open_snapshots, 1u);  // a copy is the same snapshot
  std::optional<Snapshot> second(Take(*db_));
  EXPECT_EQ(db_->stats().open_snapshots, 2u);
  auto txn = db_->Begin();
  EXPECT_EQ(Read(*txn, "k"), "1");  // a transaction's snapshot is not counted
  TransactionOptions at;
  at.snapshot = &*second;
  auto at_snapshot = db_->Begin(at);
  EXPECT_EQ(Read(*at_snapshot, "k"), "1");
  EXPECT_EQ(db_->stats().open_snapshots, 2u);
  std::unique_ptr<Iterator> it = first->NewIterator(kTable);
  first.reset();
  copy.reset();
  EXPECT_EQ(db_->stats().open_snapshots, 2u);  // the iterator keeps the first alive
  it.reset();
  EXPECT_EQ(db_->stats().open_snapshots, 1u);
  second.reset();
  EXPECT_EQ(db_->stats().open_snapshots, 0u);  // the transaction at it holds its own claim
  EXPECT_EQ(Read(*at_snapshot, "k"), "1");
  ASSERT_TRUE(at_snapshot->Commit().ok());
  ASSERT_TRUE(txn->Commit().ok());
  EXPECT_EQ(db_->stats().open_snapshots, 0u);
}

TEST_F(TxnTest, SnapshotIsReleasedWhenItsLastCopyGoes) {
  CommitPut("k", "1");
  { const Snapshot snapshot = Take(*db_); }
  CommitPut("k", "2");
  const DatabaseStats stats = db_->stats();
  EXPECT_EQ(stats.oldest_snapshot_ts, stats.visible_ts);
}

TEST_F(TxnTest, WatermarkKeepsTheVersionsASnapshotSeesUntilItIsReleased) {
  CommitPut("k", VersionValue(1));
  std::optional<Snapshot> snapshot(Take(*db_));
  CommitPut("k", VersionValue(2));
  CommitPut("k", VersionValue(3));
  ASSERT_TRUE(db_->CollectGarbage().ok());
  EXPECT_EQ(db_->stats().oldest_snapshot_ts, snapshot->sequence());
  Result<std::vector<VersionInfo>> versions = db_->ListVersions(kTable, "k");
  ASSERT_TRUE(versions.ok()) << versions.status().ToString();
  // v3 in the tree; v1 kept for the snapshot (v2, which no snapshot sees,
  // may go).
  ASSERT_GE(versions->size(), 2u);
  EXPECT_EQ(versions->front().value, VersionValue(3));
  EXPECT_EQ(versions->back().value, VersionValue(1));
  EXPECT_EQ(ReadAt(*snapshot, "k"), VersionValue(1));

  snapshot.reset();
  ASSERT_TRUE(db_->CollectGarbage().ok());
  versions = db_->ListVersions(kTable, "k");
  ASSERT_TRUE(versions.ok()) << versions.status().ToString();
  ASSERT_EQ(versions->size(), 1u);
  EXPECT_EQ(versions->front().value, VersionValue(3));
}

TEST_F(TxnTest, SnapshotIteratorKeepsItsSnapshotAlive) {
  CommitPut("a", "1");
  CommitPut("b", "1");
  std::unique_ptr<Iterator> it;
  uint64_t ts = 0;
  {
    const Snapshot snapshot = Take(*db_);
    ts = snapshot.sequence();
    it = snapshot.NewIterator(kTable);
  }
  CommitPut("a", "2");
  CommitDelete("b");
  ASSERT_TRUE(db_->CollectGarbage().ok());
  EXPECT_EQ(db_->stats().oldest_snapshot_ts, ts);
  it->SeekToFirst();
  EXPECT_EQ(Drain(*it), (KeyValues{{"a", "1"}, {"b", "1"}}));
  it.reset();
  const DatabaseStats stats = db_->stats();
  EXPECT_EQ(stats.oldest_snapshot_ts, stats.visible_ts);
}

// ---- the memory bound ----

TEST_F(TxnTest, SnapshotReclaimedByTheMemoryBoundAnswersSnapshotTooOld) {
  constexpr size_t kLimit = 64 << 10;
  constexpr int kKeys = 200;  // 200 KiB of old versions, three times the limit
  Options options = options_;
  options.max_version_bytes = kLimit;
  ASSERT_NO_FATAL_FAILURE(Reopen(options));
  auto key = [](int i) { return "key" + std::to_string(1000 + i); };
  auto write_all = [&](char fill) {
    auto writer = db_->Begin();
    for (int i = 0; i < kKeys; ++i) {
      ASSERT_TRUE(writer->Put(kTable, key(i), std::string(1024, fill)).ok());
    }
    ASSERT_TRUE(writer->Commit().ok());
  };
  ASSERT_NO_FATAL_FAILURE(write_all('a'));
  const Snapshot snapshot = Take(*db_);
  std::unique_ptr<Iterator> before = snapshot.NewIterator(kTable);
  before->SeekToFirst();
  ASSERT_TRUE(before->Valid());
  EXPECT_EQ(before->value(), std::string(1024, 'a'));
  const uint64_t too_old_before = db_->stats().aborts_snapshot_too_old;

  ASSERT_NO_FATAL_FAILURE(write_all('b'));
  ASSERT_TRUE(db_->CollectGarbage().ok());
  const DatabaseStats stats = db_->stats();
  EXPECT_GE(stats.aborts_snapshot_too_old, too_old_before + 1);
  EXPECT_LE(stats.old_version_bytes, kLimit);
  EXPECT_EQ(stats.oldest_snapshot_ts, stats.visible_ts);  // no longer registered
  EXPECT_EQ(stats.open_snapshots, 1u);                    // but alive until it goes

  std::string value = "stale";
  const Status status = snapshot.Get(kTable, key(1), &value);
  EXPECT_EQ(Code(status), "SnapshotTooOld") << status.ToString();
  EXPECT_TRUE(status.IsRetryable());
  EXPECT_TRUE(value.empty());
  // Key-value words, naming the snapshot and the limit, not SQL's.
  EXPECT_TRUE(Contains(status.message(), "snapshot " + std::to_string(snapshot.sequence())))
      << status.ToString();
  EXPECT_TRUE(Contains(status.message(), "max_version_bytes")) << status.ToString();
  EXPECT_FALSE(Contains(status.message(), "transaction")) << status.ToString();
  // Every later read, and both the iterator that was open and a new one.
  EXPECT_EQ(Code(snapshot.Get(kTable, key(2), &value)), "SnapshotTooOld");
  before->Next();
  EXPECT_FALSE(before->Valid());
  EXPECT_EQ(Code(before->status()), "SnapshotTooOld") << before->status().ToString();
  EXPECT_TRUE(before->key().empty());
  std::unique_ptr<Iterator> after = snapshot.NewIterator(kTable);
  EXPECT_EQ(Code(after->status()), "SnapshotTooOld") << after->status().ToString();
  after->SeekToFirst();
  EXPECT_FALSE(after->Valid());

  // A new snapshot is the remedy.
  EXPECT_EQ(ReadAt(Take(*db_), key(1)), std::string(1024, 'b'));
}

// ---- transactions begun at a snapshot (TransactionOptions::snapshot) ----

std::unique_ptr<Transaction> BeginAt(Database& db, const Snapshot& snapshot,
                                     std::optional<IsolationLevel> isolation = std::nullopt) {
  TransactionOptions options;
  options.snapshot = &snapshot;
  options.isolation = isolation;
  return db.Begin(options);
}

TEST_F(TxnTest, TransactionsBegunAtASnapshotReadItAndKeepItsVersions) {
  CommitPut("a", "1");
  CommitPut("b", "1");
  std::optional<Snapshot> snapshot(Take(*db_));
  const uint64_t ts = snapshot->sequence();
  CommitPut("a", "2");
  auto first = BeginAt(*db_, *snapshot);
  auto second = BeginAt(*db_, *snapshot);
  EXPECT_EQ(first->isolation(), kSnapshot);
  bool listed = false;
  for (const TransactionInfo& info : db_->ListTransactions()) {
    if (info.id == first->id()) listed = info.has_snapshot && info.snapshot_ts == ts;
  }
  EXPECT_TRUE(listed);
  snapshot.reset();  // the transactions hold their own claims
  CommitPut("b", "2");
  ASSERT_TRUE(db_->CollectGarbage().ok());
  EXPECT_EQ(db_->stats().oldest_snapshot_ts, ts);
  EXPECT_EQ(Read(*first, "a"), "1");
  EXPECT_EQ(Read(*second, "b"), "1");
  // Own writes merge with the snapshot; a key changed after it conflicts.
  ASSERT_TRUE(first->Put(kTable, "c", "3").ok());
  std::unique_ptr<Iterator> it = first->NewIterator(kTable);
  it->SeekToFirst();
  EXPECT_EQ(Drain(*it), (KeyValues{{"a", "1"}, {"b", "1"}, {"c", "3"}}));
  it.reset();
  EXPECT_TRUE(first->Commit().ok());
  const Status conflict = second->Put(kTable, "a", "x");
  EXPECT_EQ(Code(conflict), "Conflict") << conflict.ToString();
  EXPECT_TRUE(second->Rollback().ok());
  const DatabaseStats stats = db_->stats();
  EXPECT_EQ(stats.oldest_snapshot_ts, stats.visible_ts);
  EXPECT_EQ(ReadLatest("c"), "3");
}

TEST_F(TxnTest, TransactionAtASnapshotItCannotUseIsBornEndedOrFailed) {
  const Snapshot snapshot = Take(*db_);
  auto read_committed = BeginAt(*db_, snapshot, kReadCommitted);
  EXPECT_EQ(read_committed->id(), 0u);
  EXPECT_EQ(read_committed->state(), TransactionState::kRolledBack);
  const Status needs = read_committed->Put(kTable, "k", "v");
  EXPECT_EQ(Code(needs), "InvalidArgument") << needs.ToString();
  EXPECT_TRUE(Contains(needs.message(), "snapshot isolation")) << needs.ToString();

  // A snapshot of another database.
  testing::TempDir other_dir{"txn-other", /*prefer_tmpfs=*/true};
  ASSERT_TRUE(other_dir.ok());
  Result<std::unique_ptr<Database>> other = Database::Open(other_dir.path(), options_);
  ASSERT_TRUE(other.ok()) << other.status().ToString();
  auto foreign = BeginAt(**other, snapshot);
  std::string value;
  const Status not_ours = foreign->Get(kTable, "k", &value);
  EXPECT_EQ(Code(not_ours), "InvalidArgument") << not_ours.ToString();
  EXPECT_TRUE(Contains(not_ours.message(), "is not of database " + other_dir.path()))
      << not_ours.ToString();
  EXPECT_TRUE((*other)->Close().ok());
}

TEST_F(TxnTest, TransactionAtAReclaimedSnapshotFailsWithSnapshotTooOld) {
  Options options = options_;
  options.max_version_bytes = 16 << 10;
  ASSERT_NO_FATAL_FAILURE(Reopen(options));
  CommitPut("k", std::string(1024, 'a'));
  const Snapshot snapshot = Take(*db_);
  for (int i = 0; i < 40; ++i) CommitPut("k", std::string(1024, 'b' + i % 20));
  ASSERT_TRUE(db_->CollectGarbage().ok());
  std::string value;
  ASSERT_EQ(Code(snapshot.Get(kTable, "k", &value)), "SnapshotTooOld");
  // Its first call answers the cause (and fails it), as for any reclaimed
  // transaction; later ones Aborted; Commit the cause.
  auto txn = BeginAt(*db_, snapshot);
  const Status first = txn->Get(kTable, "k", &value);
  EXPECT_EQ(Code(first), "SnapshotTooOld") << first.ToString();
  EXPECT_TRUE(first.IsRetryable());
  EXPECT_EQ(txn->state(), TransactionState::kFailed);
  EXPECT_EQ(Code(txn->Get(kTable, "k", &value)), "Aborted");
  const Status commit = txn->Commit();
  EXPECT_EQ(Code(commit), "SnapshotTooOld") << commit.ToString();

  // Run at that snapshot gives the cause back at once: every attempt would
  // begin at the same reclaimed snapshot.
  RunOptions run;
  run.transaction.snapshot = &snapshot;
  int calls = 0;
  const Status ran = db_->Run(
      [&](Transaction& t) {
        ++calls;
        return t.Get(kTable, "k", &value);
      },
      run);
  EXPECT_EQ(Code(ran), "SnapshotTooOld") << ran.ToString();
  EXPECT_EQ(calls, 1);
}

// ---- misuse: Close, destruction orders ----

TEST_F(TxnTest, CloseIsBusyWhileASnapshotLivesAndNothingBreaks) {
  CommitPut("k", "1");
  std::optional<Snapshot> snapshot(Take(*db_));
  const Status busy = db_->Close();
  EXPECT_EQ(Code(busy), "Busy") << busy.ToString();
  EXPECT_TRUE(Contains(busy.message(), "1 open snapshot(s)")) << busy.ToString();
  EXPECT_EQ(db_->stats().open_snapshots, 1u);  // what Close was Busy for
  // Nothing changed: the snapshot reads, the database writes.
  CommitPut("k", "2");
  EXPECT_EQ(ReadAt(*snapshot, "k"), "1");
  EXPECT_EQ(Scan(*snapshot), (KeyValues{{"k", "1"}}));
  snapshot.reset();
  EXPECT_TRUE(db_->Close().ok());
  EXPECT_EQ(db_->stats().open_snapshots, 0u);  // after Close: all zero
  db_.reset();
}

TEST_F(TxnTest, CloseIsBusyWhileAnIteratorOfAReleasedSnapshotLives) {
  CommitPut("k", "1");
  std::unique_ptr<Iterator> it = Take(*db_).NewIterator(kTable);
  const Status busy = db_->Close();
  EXPECT_EQ(Code(busy), "Busy") << busy.ToString();
  EXPECT_TRUE(Contains(busy.message(), "1 open iterator(s)")) << busy.ToString();
  it->SeekToFirst();
  EXPECT_EQ(Drain(*it), (KeyValues{{"k", "1"}}));
  it.reset();
  EXPECT_TRUE(db_->Close().ok());
  db_.reset();
}

TEST_F(TxnTest, MovedFromSnapshotIsEmptyAndAnswersInvalidArgument) {
  CommitPut("k", "1");
  Result<Snapshot> taken = db_->GetSnapshot();
  ASSERT_TRUE(taken.ok());
  Snapshot snapshot = std::move(taken).value();  // the Result keeps nothing
  const uint64_t ts = snapshot.sequence();
  Snapshot moved = std::move(snapshot);
  EXPECT_EQ(moved.sequence(), ts);
  EXPECT_EQ(snapshot.sequence(), 0u);  // NOLINT(bugprone-use-after-move): the point
  EXPECT_EQ(snapshot.id(), 0u);        // NOLINT(bugprone-use-after-move)
  std::string value = "stale";
  const Status empty = snapshot.Get(kTable, "k", &value);  // NOLINT(bugprone-use-after-move)
  EXPECT_EQ(Code(empty), "InvalidArgument") << empty.ToString();
  EXPECT_TRUE(Contains(empty.message(), "moved from")) << empty.ToString();
  std::unique_ptr<Iterator> it = snapshot.NewIterator(kTable);  // NOLINT(bugprone-use-after-move)
  it->SeekToFirst();
  EXPECT_FALSE(it->Valid());
  EXPECT_EQ(Code(it->status()), "InvalidArgument") << it->status().ToString();
  auto txn = BeginAt(*db_, snapshot);  // NOLINT(bugprone-use-after-move)
  EXPECT_EQ(Code(txn->Get(kTable, "k", &value)), "InvalidArgument");
  // Assigned again, it is a snapshot again; the moved one still reads.
  snapshot = moved;
  CommitPut("k", "2");
  EXPECT_EQ(ReadAt(snapshot, "k"), "1");
  EXPECT_EQ(ReadAt(moved, "k"), "1");
  moved = std::move(snapshot);  // the same one: still registered once
  EXPECT_EQ(db_->stats().oldest_snapshot_ts, ts);
}

TEST_F(TxnTest, GetSnapshotAfterCloseIsInvalidArgument) {
  ASSERT_TRUE(db_->Close().ok());
  const Result<Snapshot> snapshot = db_->GetSnapshot();
  EXPECT_EQ(Code(snapshot.status()), "InvalidArgument") << snapshot.status().ToString();
  EXPECT_TRUE(Contains(snapshot.status().message(), "is closed"));
  db_.reset();
}

void ExpectDetached(const Snapshot& snapshot, const std::string& dir) {
  std::string value;
  const Status status = snapshot.Get(kTable, "k", &value);
  EXPECT_EQ(Code(status), "Aborted") << status.ToString();
  EXPECT_TRUE(Contains(status.message(), "database " + dir + " was destroyed with snapshot"))
      << status.ToString();
  std::unique_ptr<Iterator> it = snapshot.NewIterator(kTable);
  EXPECT_FALSE(it->Valid());
  EXPECT_EQ(Code(it->status()), "Aborted") << it->status().ToString();
  it->SeekToFirst();
  EXPECT_FALSE(it->Valid());
}

void ExpectEndedIterator(Iterator& it) {
  EXPECT_FALSE(it.Valid());
  EXPECT_EQ(Code(it.status()), "Aborted") << it.status().ToString();
  EXPECT_TRUE(it.key().empty());
  EXPECT_TRUE(it.value().empty());
  it.SeekToFirst();
  it.Next();
  it.SeekToLast();
  it.Prev();
  EXPECT_FALSE(it.Valid());
}

// The three objects destroyed in each of their six orders (the database
// first detaches the others: Aborted afterwards).
class SnapshotDestructionTest : public TxnTest, public ::testing::WithParamInterface<int> {};

TEST_P(SnapshotDestructionTest, AnyOrderIsSafe) {
  CommitPut("k", "1");
  CommitPut("l", "1");
  std::optional<Snapshot> snapshot(Take(*db_));
  std::unique_ptr<Iterator> it = snapshot->NewIterator(kTable);
  it->SeekToFirst();  // resting on a copied leaf when the database goes
  ASSERT_TRUE(it->Valid());
  std::vector<int> order = {0, 1, 2};  // database, snapshot, iterator
  for (int n = 0; n < GetParam(); ++n) std::next_permutation(order.begin(), order.end());
  bool database_gone = false;
  for (const int which : order) {
    switch (which) {
      case 0:
        db_.reset();  // not closed: the destructor detaches what lives
        database_gone = true;
        if (snapshot.has_value()) ExpectDetached(*snapshot, dir_.path());
        if (it != nullptr) ExpectEndedIterator(*it);
        break;
      case 1:
        if (!database_gone) {
          EXPECT_EQ(ReadAt(*snapshot, "k"), "1");
        }
        snapshot.reset();
        break;
      default:
        if (!database_gone) {
          it->Next();
          EXPECT_TRUE(it->Valid());
        }
        it.reset();
        break;
    }
  }
}

INSTANTIATE_TEST_SUITE_P(AllOrders, SnapshotDestructionTest, ::testing::Range(0, 6));

}  // namespace
}  // namespace mvdb
