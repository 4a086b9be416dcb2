// Transactions through the public API (include/mvdb/db.h), one behaviour per
// test: what each isolation level sees, iterators (also against a model),
// read-your-writes, first updater wins, lock waits, deadlocks and timeouts,
// GetForUpdate and read-only transactions. txn_lifecycle_test.cc has the
// rest; the fixture is txn_test_util.h.
//
// Most tests interleave two or three transactions on one thread; threads
// appear only where a call must block (a lock wait), and the test then
// watches the wait through ListTransactions before it lets it end.
#include "tests/txn/txn_test_util.h"

namespace mvdb {
namespace {

using namespace std::chrono_literals;

// ---- Visibility ----

TEST_F(TxnTest, SnapshotIsTakenAtFirstOperationNotAtBegin) {
  CommitPut("k", "v1");
  auto reader = Begin(kSnapshot);
  CommitPut("k", "v2");  // between Begin and the first operation: seen
  EXPECT_EQ(Read(*reader, "k"), "v2");
  CommitPut("k", "v3");    // after the first operation: not seen
  CommitPut("new", "n1");  // nor a key created after it
  EXPECT_EQ(Read(*reader, "k"), "v2");
  EXPECT_EQ(Read(*reader, "new"), "<NotFound>");
  EXPECT_TRUE(reader->Commit().ok());
}

TEST_F(TxnTest, ReadCommittedSeesEachNewCommitPerGet) {
  CommitPut("k", "v1");
  auto reader = Begin(kReadCommitted);
  EXPECT_EQ(Read(*reader, "k"), "v1");
  CommitPut("k", "v2");
  EXPECT_EQ(Read(*reader, "k"), "v2");
  CommitDelete("k");
  EXPECT_EQ(Read(*reader, "k"), "<NotFound>");
  CommitPut("k", "v3");
  EXPECT_EQ(Read(*reader, "k"), "v3");
}

TEST_F(TxnTest, UncommittedWritesAreNeverSeenByOthers) {
  CommitPut("k", "committed");
  auto writer = Begin(kSnapshot);
  ASSERT_TRUE(writer->Put(kTable, "k", "uncommitted").ok());
  ASSERT_TRUE(writer->Put(kTable, "fresh", "uncommitted").ok());
  ASSERT_TRUE(writer->Delete(kTable, "gone").ok());
  for (IsolationLevel level : {kSnapshot, kReadCommitted}) {
    auto reader = Begin(level);
    EXPECT_EQ(Read(*reader, "k"), "committed") << IsolationLevelName(level);
    EXPECT_EQ(Read(*reader, "fresh"), "<NotFound>") << IsolationLevelName(level);
    auto it = reader->NewIterator(kTable);
    it->SeekToFirst();
    EXPECT_EQ(Drain(*it), (KeyValues{{"k", "committed"}})) << IsolationLevelName(level);
  }
  ASSERT_TRUE(writer->Rollback().ok());
  EXPECT_EQ(ReadLatest("k"), "committed");
  EXPECT_EQ(ReadLatest("fresh"), "<NotFound>");
}

// Database::Get: the newest committed value, never an uncommitted one, and
// no snapshot left behind (old versions are collected right after).
TEST_F(TxnTest, DatabaseGetReadsTheNewestCommitAndHoldsNoSnapshot) {
  std::string value;
  EXPECT_TRUE(db_->Get(kTable, "k", &value).IsNotFound());
  CommitPut("k", "v1");
  CommitPut("k", "v2");
  ASSERT_TRUE(db_->Get(kTable, "k", &value).ok());
  EXPECT_EQ(value, "v2");
  auto writer = Begin(kSnapshot);
  ASSERT_TRUE(writer->Put(kTable, "k", "uncommitted").ok());
  ASSERT_TRUE(db_->Get(kTable, "k", &value).ok());
  EXPECT_EQ(value, "v2");
  ASSERT_TRUE(writer->Commit().ok());
  ASSERT_TRUE(db_->Get(kTable, "k", &value).ok());
  EXPECT_EQ(value, "uncommitted");
  ASSERT_TRUE(db_->CollectGarbage().ok());
  EXPECT_EQ(db_->stats().old_versions, 0u);
  CommitDelete("k");
  EXPECT_TRUE(db_->Get(kTable, "k", &value).IsNotFound());
  EXPECT_TRUE(db_->Get("missing", "k", &value).IsNotFound());
}

TEST_F(TxnTest, DeleteDisappearsOnlyForSnapshotsAfterItsCommit) {
  CommitPut("k", "v");
  auto before = Begin(kSnapshot);
  EXPECT_EQ(Read(*before, "k"), "v");
  auto deleter = Begin(kSnapshot);
  ASSERT_TRUE(deleter->Delete(kTable, "k").ok());
  auto during = Begin(kSnapshot);  // snapshot taken while the delete is uncommitted
  EXPECT_EQ(Read(*during, "k"), "v");
  ASSERT_TRUE(deleter->Commit().ok());
  auto after = Begin(kSnapshot);
  EXPECT_EQ(Read(*after, "k"), "<NotFound>");
  EXPECT_EQ(Read(*before, "k"), "v");
  EXPECT_EQ(Read(*during, "k"), "v");
}

// ---- Iterators ----

TEST_F(TxnTest, IteratorMergesSnapshotWithOwnWrites) {
  for (const char* key : {"a", "b", "c", "d"}) CommitPut(key, std::string("old-") + key);
  auto txn = Begin(kSnapshot);
  ASSERT_TRUE(txn->Put(kTable, "b", "own-b").ok());  // overwrite of a committed key
  ASSERT_TRUE(txn->Delete(kTable, "c").ok());        // hides a committed key
  ASSERT_TRUE(txn->Put(kTable, "aa", "own-aa").ok());
  ASSERT_TRUE(txn->Put(kTable, "e", "own-e").ok());
  CommitPut("f", "after-snapshot");  // not in the snapshot
  CommitPut("a", "after-snapshot");
  const KeyValues expected = {
      {"a", "old-a"}, {"aa", "own-aa"}, {"b", "own-b"}, {"d", "old-d"}, {"e", "own-e"}};
  auto it = txn->NewIterator(kTable);
  it->SeekToFirst();
  EXPECT_EQ(Drain(*it), expected);
  it->SeekToLast();
  EXPECT_EQ(Drain(*it, /*forward=*/false), KeyValues(expected.rbegin(), expected.rend()));
}

TEST_F(TxnTest, IteratorSeesOwnWritesMadeAfterItWasCreated) {
  CommitPut("a", "1");
  CommitPut("c", "3");
  auto txn = Begin(kSnapshot);
  auto it = txn->NewIterator(kTable);
  ASSERT_TRUE(txn->Put(kTable, "b", "own").ok());
  ASSERT_TRUE(txn->Delete(kTable, "c").ok());
  it->SeekToFirst();
  EXPECT_EQ(Drain(*it), (KeyValues{{"a", "1"}, {"b", "own"}}));
}

TEST_F(TxnTest, IteratorAtSnapshotIgnoresCommitsAfterTheSnapshot) {
  CommitPut("a", "1");
  auto txn = Begin(kSnapshot);
  EXPECT_EQ(Read(*txn, "a"), "1");  // takes the snapshot
  CommitPut("b", "2");
  CommitDelete("a");
  auto it = txn->NewIterator(kTable);  // created after those commits
  it->SeekToFirst();
  EXPECT_EQ(Drain(*it), (KeyValues{{"a", "1"}}));
}

TEST_F(TxnTest, IteratorRespectsBoundsBothWays) {
  for (const char* key : {"a", "b", "c", "d", "e"}) CommitPut(key, key);
  auto txn = Begin(kSnapshot);
  ASSERT_TRUE(txn->Put(kTable, "bb", "own").ok());  // inside the bounds
  ASSERT_TRUE(txn->Put(kTable, "d0", "own").ok());  // at or past upper: hidden
  ASSERT_TRUE(txn->Put(kTable, "a9", "own").ok());  // below lower: hidden
  IteratorOptions bounds;
  bounds.lower_bound = "b";
  bounds.upper_bound = "d";
  auto it = txn->NewIterator(kTable, bounds);
  it->SeekToFirst();
  EXPECT_EQ(Drain(*it), (KeyValues{{"b", "b"}, {"bb", "own"}, {"c", "c"}}));
  it->SeekToLast();
  EXPECT_EQ(Drain(*it, false), (KeyValues{{"c", "c"}, {"bb", "own"}, {"b", "b"}}));
  it->Seek("a");  // below the lower bound: the first key within
  ASSERT_TRUE(it->Valid());
  EXPECT_EQ(it->key(), "b");
  it->SeekForPrev("z");  // past the upper bound: the last key within
  ASSERT_TRUE(it->Valid());
  EXPECT_EQ(it->key(), "c");
  it->Seek("d");  // the upper bound itself is excluded
  EXPECT_FALSE(it->Valid());
  EXPECT_TRUE(it->status().ok()) << it->status().ToString();
}

TEST_F(TxnTest, SeekAndSeekForPrevFindNeighbours) {
  for (const char* key : {"b", "d", "f"}) CommitPut(key, key);
  auto txn = Begin(kSnapshot);
  ASSERT_TRUE(txn->Put(kTable, "e", "own").ok());
  auto it = txn->NewIterator(kTable);
  it->Seek("d");  // exact
  ASSERT_TRUE(it->Valid());
  EXPECT_EQ(it->key(), "d");
  it->Seek("dd");  // between: the own write comes next
  ASSERT_TRUE(it->Valid());
  EXPECT_EQ(it->key(), "e");
  EXPECT_EQ(it->value(), "own");
  it->Seek("g");
  EXPECT_FALSE(it->Valid());
  it->SeekForPrev("c");
  ASSERT_TRUE(it->Valid());
  EXPECT_EQ(it->key(), "b");
  it->SeekForPrev("f");  // exact
  ASSERT_TRUE(it->Valid());
  EXPECT_EQ(it->key(), "f");
  it->Prev();
  ASSERT_TRUE(it->Valid());
  EXPECT_EQ(it->key(), "e");
  it->SeekForPrev("a");
  EXPECT_FALSE(it->Valid());
  EXPECT_TRUE(it->status().ok()) << it->status().ToString();
}

TEST_F(TxnTest, IteratorIsAbortedOnceItsTransactionCommits) {
  CommitPut("a", "1");
  CommitPut("b", "2");
  auto txn = Begin(kSnapshot);
  auto it = txn->NewIterator(kTable);
  it->SeekToFirst();
  ASSERT_TRUE(it->Valid());
  ASSERT_TRUE(txn->Commit().ok());
  it->Next();
  EXPECT_FALSE(it->Valid());
  EXPECT_EQ(Code(it->status()), "Aborted") << it->status().ToString();
  it->SeekToFirst();
  EXPECT_FALSE(it->Valid());
  EXPECT_EQ(Code(it->status()), "Aborted") << it->status().ToString();
}

// ---- Read your writes ----

TEST_F(TxnTest, ReadYourWritesThroughGetAndIterator) {
  for (IsolationLevel level : {kSnapshot, kReadCommitted}) {
    SCOPED_TRACE(IsolationLevelName(level));
    const std::string key = std::string("k-") + IsolationLevelName(level);
    CommitPut(key, "committed");
    auto txn = Begin(level);
    ASSERT_TRUE(txn->Put(kTable, key, "mine").ok());
    EXPECT_EQ(Read(*txn, key), "mine");
    ASSERT_TRUE(txn->Delete(kTable, key).ok());
    EXPECT_EQ(Read(*txn, key), "<NotFound>");
    {
      auto it = txn->NewIterator(kTable);
      it->Seek(key);
      EXPECT_TRUE(!it->Valid() || it->key() != key);
    }
    ASSERT_TRUE(txn->Put(kTable, key, "again").ok());
    EXPECT_EQ(Read(*txn, key), "again");
    {
      auto it = txn->NewIterator(kTable);
      it->Seek(key);
      ASSERT_TRUE(it->Valid());
      EXPECT_EQ(it->key(), key);
      EXPECT_EQ(it->value(), "again");
    }
    ASSERT_TRUE(txn->Commit().ok());
    EXPECT_EQ(ReadLatest(key), "again");
  }
}

// ---- First updater wins ----

// One way for a snapshot-isolation transaction to touch a key that another
// transaction changed after its snapshot.
struct WriteOp {
  const char* name;
  std::function<Status(Transaction&)> apply;
};
void PrintTo(const WriteOp& op, std::ostream* os) { *os << op.name; }

class FirstUpdaterWinsTest : public TxnTest, public ::testing::WithParamInterface<WriteOp> {};

TEST_P(FirstUpdaterWinsTest, SnapshotWriterOfKeyChangedAfterSnapshotFailsWithConflict) {
  CommitPut("k", "v0");
  const uint64_t conflicts_before = db_->stats().aborts_conflict;
  auto t1 = Begin(kSnapshot);
  ASSERT_TRUE(t1->Put(kTable, "t1-own", "x").ok());  // takes the snapshot
  CommitPut("k", "v1");
  Status status = GetParam().apply(*t1);
  EXPECT_EQ(Code(status), "Conflict") << status.ToString();
  EXPECT_TRUE(status.IsRetryable());
  EXPECT_EQ(t1->state(), TransactionState::kFailed);
  std::string value;
  EXPECT_EQ(Code(t1->Get(kTable, "k", &value)), "Aborted");
  EXPECT_EQ(Code(t1->Put(kTable, "other", "x")), "Aborted");
  Status commit = t1->Commit();
  EXPECT_EQ(Code(commit), "Conflict")
      << "Commit returns the error that failed the transaction; " << commit.ToString();
  EXPECT_NE(t1->state(), TransactionState::kCommitted);
  EXPECT_EQ(ReadLatest("k"), "v1");
  EXPECT_EQ(ReadLatest("t1-own"), "<NotFound>");
  EXPECT_EQ(ReadLatest("other"), "<NotFound>");
  EXPECT_GE(db_->stats().aborts_conflict, conflicts_before + 1);
}

TEST_P(FirstUpdaterWinsTest, ReadCommittedWriterGoesOnFromTheNewestVersion) {
  CommitPut("k", "v0");
  auto t1 = Begin(kReadCommitted);
  ASSERT_TRUE(t1->Put(kTable, "t1-own", "x").ok());
  CommitPut("k", "v1");
  Status status = GetParam().apply(*t1);
  EXPECT_TRUE(status.ok()) << status.ToString();
  EXPECT_EQ(t1->state(), TransactionState::kActive);
  ASSERT_TRUE(t1->Commit().ok());
  EXPECT_EQ(ReadLatest("t1-own"), "x");
}

INSTANTIATE_TEST_SUITE_P(
    Ops, FirstUpdaterWinsTest,
    ::testing::Values(WriteOp{"Put", [](Transaction& t) { return t.Put(kTable, "k", "t1"); }},
                      WriteOp{"Delete", [](Transaction& t) { return t.Delete(kTable, "k"); }},
                      WriteOp{"GetForUpdate",
                              [](Transaction& t) {
                                std::string value;
                                Status status = t.GetForUpdate(kTable, "k", &value);
                                // At read committed the answer must be the newest commit.
                                if (status.ok() && value != "v1")
                                  return Status::Corruption("read " + value);
                                return status;
                              }}),
    [](const ::testing::TestParamInfo<WriteOp>& info) { return std::string(info.param.name); });

// ---- Lock waits ----

struct LockWaitCase {
  IsolationLevel level;
  bool first_commits;  // else it rolls back
};
void PrintTo(const LockWaitCase& c, std::ostream* os) {
  *os << IsolationLevelName(c.level)
      << (c.first_commits ? ", first commits" : ", first rolls back");
}

class LockWaitTest : public TxnTest, public ::testing::WithParamInterface<LockWaitCase> {};

// T1 writes k; T2 writes k on another thread and waits for T1, visibly in
// ListTransactions and ListLocks. When T1 commits, T2 fails with Conflict at
// snapshot isolation and goes on at read committed; when T1 rolls back, T2
// goes on at both.
TEST_P(LockWaitTest, SecondWriterWaitsForTheFirstThenFollowsTheContract) {
  const LockWaitCase c = GetParam();
  CommitPut("k", "v0");
  const uint64_t waits_before = db_->stats().lock_waits;
  auto t1 = Begin(kSnapshot);
  ASSERT_TRUE(t1->Put(kTable, "k", "first").ok());
  auto t2 = Begin(c.level);
  EXPECT_EQ(Read(*t2, "other"), "<NotFound>");  // t2's snapshot predates t1's commit
  std::atomic<bool> t2_returned{false};
  Status t2_status;
  std::thread second([&] {
    t2_status = t2->Put(kTable, "k", "second");
    t2_returned = true;
  });
  const bool waiting = WaitUntil([&] { return WaitingFor(t2->id()) == t1->id(); });
  EXPECT_TRUE(waiting) << "ListTransactions never showed t2 waiting for t1";
  EXPECT_FALSE(t2_returned.load());
  EXPECT_EQ(WaitingFor(t1->id()), 0u);
  bool lock_listed = false;
  for (const LockInfo& lock : db_->ListLocks()) {
    if (lock.table != kTable || lock.key != "k") continue;
    lock_listed = true;
    EXPECT_EQ(lock.holder, t1->id());
    EXPECT_NE(std::find(lock.waiters.begin(), lock.waiters.end(), t2->id()), lock.waiters.end());
  }
  EXPECT_TRUE(lock_listed);
  EXPECT_GE(db_->stats().lock_waits, waits_before + 1);

  if (c.first_commits) {
    ASSERT_TRUE(t1->Commit().ok());
  } else {
    ASSERT_TRUE(t1->Rollback().ok());
  }
  second.join();
  const bool t2_should_fail = c.level == kSnapshot && c.first_commits;
  if (t2_should_fail) {
    EXPECT_EQ(Code(t2_status), "Conflict") << t2_status.ToString();
    EXPECT_EQ(t2->state(), TransactionState::kFailed);
    EXPECT_EQ(ReadLatest("k"), "first");
  } else {
    ASSERT_TRUE(t2_status.ok()) << t2_status.ToString();
    ASSERT_TRUE(t2->Commit().ok());
    EXPECT_EQ(ReadLatest("k"), "second");  // the later commit wins
  }
}

INSTANTIATE_TEST_SUITE_P(
    Cases, LockWaitTest,
    ::testing::Values(LockWaitCase{kSnapshot, true}, LockWaitCase{kSnapshot, false},
                      LockWaitCase{kReadCommitted, true}, LockWaitCase{kReadCommitted, false}),
    [](const ::testing::TestParamInfo<LockWaitCase>& info) {
      return std::string(info.param.level == kSnapshot ? "Snapshot" : "ReadCommitted") +
             (info.param.first_commits ? "FirstCommits" : "FirstRollsBack");
    });

TEST_F(TxnTest, DeadlockFailsOneTransactionAndTheOtherGoesOn) {
  const uint64_t deadlocks_before = db_->stats().aborts_deadlock;
  // A timeout far above any real wait, so that a missed deadlock fails the
  // test instead of hanging it.
  TransactionOptions options;
  options.lock_timeout = 10s;
  auto t1 = db_->Begin(options);
  auto t2 = db_->Begin(options);
  ASSERT_TRUE(t1->Put(kTable, "a", "t1").ok());
  ASSERT_TRUE(t2->Put(kTable, "b", "t2").ok());
  Status t1_status;
  TransactionState t1_state_after = TransactionState::kActive;
  std::thread first([&] {
    t1_status = t1->Put(kTable, "b", "t1");  // waits for t2
    t1_state_after = t1->state();
    if (!t1_status.ok()) {
      EXPECT_TRUE(t1->Rollback().ok());
    }
  });
  ASSERT_TRUE(WaitUntil([&] { return WaitingFor(t1->id()) == t2->id(); }))
      << "t1 never waited for t2";
  Status t2_status = t2->Put(kTable, "a", "t2");  // closes the cycle
  TransactionState t2_state_after = t2->state();
  if (!t2_status.ok()) {
    EXPECT_TRUE(t2->Rollback().ok());
  }
  first.join();

  const int victims = (t1_status.code() == StatusCode::kDeadlock ? 1 : 0) +
                      (t2_status.code() == StatusCode::kDeadlock ? 1 : 0);
  EXPECT_EQ(victims, 1) << "t1 " << t1_status.ToString() << ", t2 " << t2_status.ToString();
  // db.h: the transaction whose wait would close the cycle is the victim.
  EXPECT_EQ(Code(t2_status), "Deadlock") << t2_status.ToString();
  EXPECT_TRUE(t1_status.ok()) << t1_status.ToString();
  EXPECT_EQ(t2_state_after, TransactionState::kFailed);
  EXPECT_EQ(db_->stats().aborts_deadlock, deadlocks_before + 1);
  if (t1_status.ok()) {
    EXPECT_EQ(t1_state_after, TransactionState::kActive);
    ASSERT_TRUE(t1->Commit().ok());
    EXPECT_EQ(ReadLatest("a"), "t1");
    EXPECT_EQ(ReadLatest("b"), "t1");
  }
}

TEST_F(TxnTest, LockWaitTimesOut) {
  const uint64_t timeouts_before = db_->stats().aborts_lock_timeout;
  auto holder = Begin(kSnapshot);
  ASSERT_TRUE(holder->Put(kTable, "k", "holder").ok());
  TransactionOptions options;
  options.lock_timeout = 50ms;
  auto waiter = db_->Begin(options);
  const auto start = std::chrono::steady_clock::now();
  Status status = waiter->Put(kTable, "k", "waiter");
  const auto waited = std::chrono::steady_clock::now() - start;
  EXPECT_EQ(Code(status), "LockTimeout") << status.ToString();
  EXPECT_TRUE(status.IsRetryable());
  EXPECT_EQ(waiter->state(), TransactionState::kFailed);
  EXPECT_GE(waited, 45ms);
  EXPECT_LT(waited, 5s);
  EXPECT_EQ(db_->stats().aborts_lock_timeout, timeouts_before + 1);
  ASSERT_TRUE(holder->Commit().ok());
  EXPECT_EQ(ReadLatest("k"), "holder");
}

TEST_F(TxnTest, DatabaseLockTimeoutAppliesWhenTransactionHasNone) {
  Options options = options_;
  options.lock_timeout = 30ms;
  ASSERT_NO_FATAL_FAILURE(Reopen(options));
  auto holder = Begin(kSnapshot);
  ASSERT_TRUE(holder->Put(kTable, "k", "holder").ok());
  auto waiter = Begin(kReadCommitted);
  std::string value;
  Status status = waiter->GetForUpdate(kTable, "k", &value);
  EXPECT_EQ(Code(status), "LockTimeout") << status.ToString();
}

// ---- GetForUpdate ----

TEST_F(TxnTest, GetForUpdateAtReadCommittedReturnsTheValueCommittedDuringTheWait) {
  CommitPut("k", "v0");
  auto t1 = Begin(kSnapshot);
  ASSERT_TRUE(t1->Put(kTable, "k", "v1").ok());
  auto t2 = Begin(kReadCommitted);
  Status status;
  std::string value;
  std::thread reader([&] { status = t2->GetForUpdate(kTable, "k", &value); });
  EXPECT_TRUE(WaitUntil([&] { return WaitingFor(t2->id()) == t1->id(); }));
  ASSERT_TRUE(t1->Commit().ok());
  reader.join();
  ASSERT_TRUE(status.ok()) << status.ToString();
  EXPECT_EQ(value, "v1");
}

TEST_F(TxnTest, GetForUpdateTakesTheLockEvenWhenTheKeyIsMissing) {
  auto t1 = Begin(kSnapshot);
  std::string value;
  EXPECT_TRUE(t1->GetForUpdate(kTable, "missing", &value).IsNotFound());
  EXPECT_EQ(t1->state(), TransactionState::kActive);
  TransactionOptions options;
  options.lock_timeout = 20ms;
  auto t2 = db_->Begin(options);
  EXPECT_EQ(Code(t2->Put(kTable, "missing", "x")), "LockTimeout");
}

// Two threads increment one counter 200 times each with GetForUpdate + Put
// at read committed: every increment survives.
TEST_F(TxnTest, GetForUpdateAtReadCommittedPreventsLostUpdates) {
  constexpr int kIncrements = 200;
  CommitPut("counter", "0");
  RunOptions run;
  run.transaction.isolation = kReadCommitted;
  std::atomic<int> failures{0};
  auto increment = [&] {
    for (int i = 0; i < kIncrements; ++i) {
      Status status = db_->Run(
          [](Transaction& txn) {
            std::string value;
            MVDB_RETURN_IF_ERROR(txn.GetForUpdate(kTable, "counter", &value));
            return txn.Put(kTable, "counter", std::to_string(std::stoi(value) + 1));
          },
          run);
      if (!status.ok()) ++failures;
    }
  };
  std::thread a(increment);
  std::thread b(increment);
  a.join();
  b.join();
  EXPECT_EQ(failures.load(), 0);
  EXPECT_EQ(ReadLatest("counter"), std::to_string(2 * kIncrements));
}

// ---- Read-only transactions ----

TEST_F(TxnTest, ReadOnlyTransactionRefusesWritesButReads) {
  CommitPut("k", "v");
  const uint64_t read_only_before = db_->stats().read_only_commits;
  TransactionOptions options;
  options.read_only = true;
  auto txn = db_->Begin(options);
  EXPECT_TRUE(txn->read_only());
  EXPECT_EQ(Code(txn->Put(kTable, "k", "w")), "InvalidArgument");
  EXPECT_EQ(Code(txn->Delete(kTable, "k")), "InvalidArgument");
  std::string value;
  EXPECT_EQ(Code(txn->GetForUpdate(kTable, "k", &value)), "InvalidArgument");
  EXPECT_EQ(txn->state(), TransactionState::kActive);
  EXPECT_EQ(Read(*txn, "k"), "v");
  ASSERT_TRUE(txn->Commit().ok());
  EXPECT_EQ(txn->state(), TransactionState::kCommitted);
  EXPECT_EQ(db_->stats().read_only_commits, read_only_before + 1);
  EXPECT_EQ(ReadLatest("k"), "v");
}

// The iterator against a model: committed keys (some overwritten and
// deleted after the snapshot by another transaction), own puts and deletes,
// random bounds, and random walks that change direction.
TEST_F(TxnTest, IteratorMatchesAModelOfSnapshotPlusOwnWrites) {
  const uint64_t seed = testing::TestSeed(20261127);
  SCOPED_TRACE("MVDB_SEED=" + std::to_string(seed));
  std::mt19937_64 rng(seed);
  auto key = [](int i) {
    char buf[8];
    std::snprintf(buf, sizeof(buf), "k%03d", i);
    return std::string(buf);
  };
  for (int round = 0; round < 20; ++round) {
    const std::string table = "model" + std::to_string(round);
    ASSERT_TRUE(db_->CreateTable(table).ok());
    std::map<std::string, std::string> model;  // what the reader must see
    {
      auto loader = db_->Begin();
      for (int i = 0; i < 60; ++i) {
        if (rng() % 2 == 0) continue;
        model[key(i)] = "committed" + std::to_string(i);
        ASSERT_TRUE(loader->Put(table, key(i), model[key(i)]).ok());
      }
      ASSERT_TRUE(loader->Commit().ok());
    }
    auto reader = Begin(kSnapshot);
    std::string ignored;
    (void)reader->Get(table, key(0), &ignored);  // takes the snapshot
    {
      auto other = db_->Begin();  // changes the reader must not see
      for (int i = 0; i < 60; i += 3) {
        ASSERT_TRUE(
            (rng() % 2 == 0 ? other->Put(table, key(i), "later") : other->Delete(table, key(i)))
                .ok());
      }
      ASSERT_TRUE(other->Commit().ok());
    }
    for (int n = 0; n < 25; ++n) {  // own writes, of keys `other` left alone (first updater wins)
      const int i = static_cast<int>(rng() % 20) * 3 + 1 + static_cast<int>(rng() % 2);
      if (rng() % 3 == 0) {
        ASSERT_TRUE(reader->Delete(table, key(i)).ok());
        model.erase(key(i));
      } else {
        model[key(i)] = "own" + std::to_string(n);
        ASSERT_TRUE(reader->Put(table, key(i), model[key(i)]).ok());
      }
    }
    IteratorOptions bounds;
    if (rng() % 2 == 0) bounds.lower_bound = key(static_cast<int>(rng() % 30));
    if (rng() % 2 == 0) bounds.upper_bound = key(30 + static_cast<int>(rng() % 31));
    std::map<std::string, std::string> visible;
    for (const auto& [k, v] : model) {
      if ((!bounds.lower_bound || k >= *bounds.lower_bound) &&
          (!bounds.upper_bound || k < *bounds.upper_bound)) {
        visible[k] = v;
      }
    }
    auto it = reader->NewIterator(table, bounds);
    // Whole scans both ways.
    std::map<std::string, std::string> seen;
    for (it->SeekToFirst(); it->Valid(); it->Next()) seen[std::string(it->key())] = it->value();
    ASSERT_TRUE(it->status().ok()) << it->status().ToString();
    EXPECT_EQ(seen, visible) << "round " << round;
    std::vector<std::string> backward;
    for (it->SeekToLast(); it->Valid(); it->Prev()) backward.emplace_back(it->key());
    std::vector<std::string> expected_backward;
    for (auto m = visible.rbegin(); m != visible.rend(); ++m) expected_backward.push_back(m->first);
    EXPECT_EQ(backward, expected_backward) << "round " << round;
    // Random walks: seek anywhere, then step both ways.
    for (int walk = 0; walk < 20; ++walk) {
      const std::string target = key(static_cast<int>(rng() % 62) - 1);
      std::optional<std::map<std::string, std::string>::iterator> at;
      if (rng() % 2 == 0) {
        it->Seek(target);
        auto m = visible.lower_bound(target);
        if (m != visible.end()) at = m;
      } else {
        it->SeekForPrev(target);
        auto m = visible.upper_bound(target);
        if (m != visible.begin()) at = std::prev(m);
      }
      for (int step = 0; step < 8; ++step) {
        ASSERT_EQ(it->Valid(), at.has_value()) << "round " << round << " walk " << walk;
        if (!at) break;
        ASSERT_EQ(it->key(), (*at)->first);
        ASSERT_EQ(it->value(), (*at)->second);
        if (rng() % 2 == 0) {
          it->Next();
          auto next = std::next(*at);
          at = next == visible.end() ? std::nullopt : std::optional(next);
        } else {
          it->Prev();
          at = *at == visible.begin() ? std::nullopt : std::optional(std::prev(*at));
        }
      }
    }
    it.reset();
    ASSERT_TRUE(reader->Rollback().ok());
  }
}

}  // namespace
}  // namespace mvdb
