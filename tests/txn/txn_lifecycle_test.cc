// Transactions through the public API, the second half (txn_test.cc has
// visibility, iterators and locks): garbage collection and SnapshotTooOld,
// Database::Run's retries, durability across a reopen, tables, argument
// errors, DescribeTable and ListVersions. The fixture is txn_test_util.h.
#include "tests/txn/txn_test_util.h"

namespace mvdb {
namespace {

using namespace std::chrono_literals;

// ---- Garbage collection ----

TEST_F(TxnTest, WithoutSnapshotsOldVersionsAreCollected) {
  for (int i = 0; i < 100; ++i) CommitPut("k", VersionValue(i));
  ASSERT_TRUE(db_->CollectGarbage().ok());
  const DatabaseStats stats = db_->stats();
  EXPECT_EQ(stats.old_versions, 0u);
  EXPECT_EQ(stats.old_version_bytes, 0u);
  auto versions = db_->ListVersions(kTable, "k");
  ASSERT_TRUE(versions.ok()) << versions.status().ToString();
  ASSERT_EQ(versions->size(), 1u);
  EXPECT_TRUE((*versions)[0].in_tree);
  EXPECT_EQ((*versions)[0].value, VersionValue(99));
}

TEST_F(TxnTest, OldSnapshotKeepsItsVersionsUntilItEnds) {
  CommitPut("k", "original");
  auto old_reader = Begin(kSnapshot);
  EXPECT_EQ(Read(*old_reader, "k"), "original");
  for (int i = 0; i < 50; ++i) CommitPut("k", VersionValue(i));
  ASSERT_TRUE(db_->CollectGarbage().ok());
  EXPECT_GT(db_->stats().old_versions, 0u);
  EXPECT_LE(db_->stats().oldest_snapshot_ts, db_->stats().visible_ts);
  EXPECT_EQ(Read(*old_reader, "k"), "original");
  auto versions = db_->ListVersions(kTable, "k");
  ASSERT_TRUE(versions.ok());
  ASSERT_GE(versions->size(), 2u);
  EXPECT_EQ(versions->back().value, "original");

  ASSERT_TRUE(old_reader->Commit().ok());
  ASSERT_TRUE(db_->CollectGarbage().ok());
  EXPECT_EQ(db_->stats().old_versions, 0u);
  versions = db_->ListVersions(kTable, "k");
  ASSERT_TRUE(versions.ok());
  EXPECT_EQ(versions->size(), 1u);
}

TEST_F(TxnTest, TombstonesAreRemovedOnceNoSnapshotNeedsThem) {
  CommitPut("k", "v");
  auto old_reader = Begin(kSnapshot);
  EXPECT_EQ(Read(*old_reader, "k"), "v");
  CommitDelete("k");
  const uint64_t removed_before = db_->stats().tombstones_removed;
  ASSERT_TRUE(db_->CollectGarbage().ok());
  auto versions = db_->ListVersions(kTable, "k");
  ASSERT_TRUE(versions.ok());
  ASSERT_EQ(versions->size(), 2u) << "the tombstone and the version the old snapshot reads";
  EXPECT_TRUE((*versions)[0].deleted);
  EXPECT_EQ((*versions)[1].value, "v");
  EXPECT_EQ(Read(*old_reader, "k"), "v");

  ASSERT_TRUE(old_reader->Commit().ok());
  ASSERT_TRUE(db_->CollectGarbage().ok());
  versions = db_->ListVersions(kTable, "k");
  ASSERT_TRUE(versions.ok());
  EXPECT_TRUE(versions->empty());
  EXPECT_GT(db_->stats().tombstones_removed, removed_before);
  EXPECT_EQ(ReadLatest("k"), "<NotFound>");
}

TEST_F(TxnTest, SnapshotTooOldWhenOldVersionsExceedTheLimit) {
  constexpr size_t kLimit = 64 << 10;
  constexpr int kKeys = 200;  // 200 KiB of old versions, three times the limit
  Options options = options_;
  options.max_version_bytes = kLimit;
  ASSERT_NO_FATAL_FAILURE(Reopen(options));
  auto key = [](int i) { return "key" + std::to_string(1000 + i); };
  {
    auto loader = db_->Begin();
    for (int i = 0; i < kKeys; ++i)
      ASSERT_TRUE(loader->Put(kTable, key(i), std::string(1024, 'a')).ok());
    ASSERT_TRUE(loader->Commit().ok());
  }
  const uint64_t too_old_before = db_->stats().aborts_snapshot_too_old;
  auto reader = Begin(kSnapshot);
  EXPECT_EQ(Read(*reader, key(0)), std::string(1024, 'a'));
  {
    auto writer = db_->Begin();
    for (int i = 0; i < kKeys; ++i)
      ASSERT_TRUE(writer->Put(kTable, key(i), std::string(1024, 'b')).ok());
    ASSERT_TRUE(writer->Commit().ok());
  }
  ASSERT_TRUE(db_->CollectGarbage().ok());
  const DatabaseStats stats = db_->stats();
  EXPECT_GE(stats.aborts_snapshot_too_old, too_old_before + 1);
  EXPECT_LE(stats.old_version_bytes, kLimit);

  std::string value;
  Status status = reader->Get(kTable, key(1), &value);
  EXPECT_EQ(Code(status), "SnapshotTooOld") << status.ToString();
  EXPECT_TRUE(status.IsRetryable());
  EXPECT_EQ(reader->state(), TransactionState::kFailed);
  auto fresh = Begin(kSnapshot);
  EXPECT_EQ(Read(*fresh, key(1)), std::string(1024, 'b'));
}

// ---- Database::Run ----

TEST_F(TxnTest, RunRetriesRetryableErrorsInNewTransactions) {
  int attempts = 0;
  RunOptions run;
  run.initial_backoff = 10us;
  Status status = db_->Run(
      [&](Transaction& txn) {
        ++attempts;
        MVDB_RETURN_IF_ERROR(txn.Put(kTable, "attempt" + std::to_string(attempts), "x"));
        if (attempts <= 2) return Status::Conflict("injected");
        return txn.Put(kTable, "done", "yes");
      },
      run);
  EXPECT_TRUE(status.ok()) << status.ToString();
  EXPECT_EQ(attempts, 3);
  EXPECT_EQ(ReadLatest("done"), "yes");
  EXPECT_EQ(ReadLatest("attempt1"), "<NotFound>");  // rolled back with its attempt
  EXPECT_EQ(ReadLatest("attempt2"), "<NotFound>");
  EXPECT_EQ(ReadLatest("attempt3"), "x");
}

TEST_F(TxnTest, RunStopsAtOnceOnNonRetryableError) {
  int attempts = 0;
  Status status = db_->Run([&](Transaction& txn) {
    ++attempts;
    MVDB_RETURN_IF_ERROR(txn.Put(kTable, "k", "x"));
    return Status::InvalidArgument("not retryable");
  });
  EXPECT_EQ(Code(status), "InvalidArgument") << status.ToString();
  EXPECT_EQ(attempts, 1);
  EXPECT_EQ(ReadLatest("k"), "<NotFound>");
}

TEST_F(TxnTest, RunGivesUpAfterMaxAttempts) {
  int attempts = 0;
  RunOptions run;
  run.max_attempts = 4;
  run.initial_backoff = 10us;
  run.max_backoff = 100us;
  Status status = db_->Run(
      [&](Transaction&) {
        ++attempts;
        return Status::Deadlock("injected");
      },
      run);
  EXPECT_EQ(Code(status), "Deadlock") << status.ToString();
  EXPECT_EQ(attempts, 4);
}

// ---- Durability ----

TEST_F(TxnTest, CommittedWritesSurviveReopenAndUncommittedDoNot) {
  Options options = options_;
  options.sync = SyncMode::kFull;
  ASSERT_NO_FATAL_FAILURE(Reopen(options));
  ASSERT_TRUE(db_->CreateTable("accounts").ok());
  ASSERT_TRUE(db_->CreateTable("audit").ok());
  {
    auto txn = db_->Begin();
    ASSERT_TRUE(txn->Put("accounts", "alice", "90").ok());
    ASSERT_TRUE(txn->Put("accounts", "bob", "110").ok());
    ASSERT_TRUE(txn->Put("audit", "0001", "alice->bob 10").ok());
    CommitOptions commit;
    commit.sync = SyncMode::kFull;
    ASSERT_TRUE(txn->Commit(commit).ok());
  }
  const uint64_t rollbacks_before = db_->stats().rollbacks;
  {
    auto abandoned = db_->Begin();
    ASSERT_TRUE(abandoned->Put("accounts", "alice", "0").ok());
    ASSERT_TRUE(abandoned->Put("audit", "0002", "never").ok());
  }  // destroyed without Commit: rolled back
  EXPECT_EQ(db_->stats().rollbacks, rollbacks_before + 1);
  ASSERT_NO_FATAL_FAILURE(Reopen(options));

  auto tables = db_->ListTables();
  ASSERT_TRUE(tables.ok());
  for (const char* table : {kTable, "accounts", "audit"}) {
    EXPECT_NE(std::find(tables->begin(), tables->end(), table), tables->end()) << table;
  }
  EXPECT_EQ(ReadLatest("alice", "accounts"), "90");
  EXPECT_EQ(ReadLatest("bob", "accounts"), "110");
  EXPECT_EQ(ReadLatest("0001", "audit"), "alice->bob 10");
  EXPECT_EQ(ReadLatest("0002", "audit"), "<NotFound>");
}

// With O_DIRECT the buffer pool is the only cache: a data set far larger
// than a 1 MiB pool must still be written back, checkpointed, evicted and
// read again correctly, across a reopen.
TEST_F(TxnTest, DirectIoDataLargerThanTheCacheSurvivesReopen) {
  Options options = options_;
  options.direct_io = true;
  options.cache_mb = 1;
  ASSERT_TRUE(db_->Close().ok());
  db_.reset();
  auto opened = Database::Open(dir_.path(), options);
  if (!opened.ok() && opened.status().message().find("Invalid argument") != std::string::npos) {
    GTEST_SKIP() << "this file system refuses O_DIRECT: " << opened.status().ToString();
  }
  ASSERT_TRUE(opened.ok()) << opened.status().ToString();
  db_ = std::move(opened).value();
  constexpr int kKeys = 20000;  // about 2.5 MiB of values: the pool must evict
  auto key = [](int i) { return "key" + std::to_string(1000000 + i); };
  auto value = [](int i) {
    return std::string(100, static_cast<char>('a' + i % 26)) + std::to_string(i);
  };
  for (int batch = 0; batch < kKeys; batch += 500) {
    auto txn = db_->Begin();
    for (int i = batch; i < batch + 500; ++i) ASSERT_TRUE(txn->Put(kTable, key(i), value(i)).ok());
    ASSERT_TRUE(txn->Commit().ok());
  }
  ASSERT_TRUE(db_->Flush().ok());
  ASSERT_NO_FATAL_FAILURE(Reopen(options));
  auto txn = db_->Begin();
  for (int i = 0; i < kKeys; i += 7) ASSERT_EQ(Read(*txn, key(i)), value(i)) << i;
  auto it = txn->NewIterator(kTable);
  it->SeekToFirst();
  EXPECT_EQ(Drain(*it).size(), static_cast<size_t>(kKeys));
}

// ---- Tables ----

TEST(TxnOpenTest, RefusesTreesWrittenWithoutVersionsAndChangesNothing) {
  testing::TempDir dir("txn-plain");
  ASSERT_TRUE(dir.ok());
  const std::string path = dir.path() + "/db";
  {
    EngineOptions options;
    options.background_checkpoints = false;
    auto engine = Engine::Open(path, options);
    ASSERT_TRUE(engine.ok()) << engine.status().ToString();
    ASSERT_TRUE((*engine)->CreateTree("plain").ok());
    TreeBatch batch;
    batch.Put("plain", "k", "a plain value, not a version");
    ASSERT_TRUE((*engine)->Write(batch).ok());
    ASSERT_TRUE((*engine)->Close().ok());
  }
  auto db = Database::Open(path);
  ASSERT_FALSE(db.ok());
  EXPECT_EQ(db.status().code(), StatusCode::kInvalidArgument) << db.status().ToString();
  EXPECT_NE(db.status().message().find("without versions"), std::string::npos);

  EngineOptions options;
  options.background_checkpoints = false;
  auto engine = Engine::Open(path, options);
  ASSERT_TRUE(engine.ok()) << engine.status().ToString();
  auto trees = (*engine)->ListTrees();
  ASSERT_TRUE(trees.ok());
  EXPECT_EQ(*trees, std::vector<std::string>{"plain"});  // no marker was added
  std::string value;
  ASSERT_TRUE((*engine)->Get("plain", "k", &value).ok());
  EXPECT_EQ(value, "a plain value, not a version");
}

TEST_F(TxnTest, TheVersionMarkerIsNoTable) {
  EXPECT_EQ(Code(db_->CreateTable("__mvdb_versioned")), "InvalidArgument");
  auto tables = db_->ListTables();
  ASSERT_TRUE(tables.ok());
  EXPECT_EQ(std::find(tables->begin(), tables->end(), "__mvdb_versioned"), tables->end());
  Reopen(options_);
  tables = db_->ListTables();
  ASSERT_TRUE(tables.ok());
  EXPECT_EQ(std::find(tables->begin(), tables->end(), "__mvdb_versioned"), tables->end());
}

TEST_F(TxnTest, DescribeTableAndLogStatsReportTheTreeAndTheLog) {
  auto txn = db_->Begin();
  for (int i = 0; i < 2000; ++i) {
    ASSERT_TRUE(txn->Put(kTable, "key" + std::to_string(10000 + i), std::string(100, 'v')).ok());
  }
  ASSERT_TRUE(txn->Commit().ok());
  Result<TableInfo> info = db_->DescribeTable(kTable);
  ASSERT_TRUE(info.ok()) << info.status().ToString();
  EXPECT_EQ(info->entries, 2000u);
  EXPECT_GE(info->height, 2u);  // 2000 entries of ~120 bytes do not fit one 8 KiB leaf
  EXPECT_GT(info->leaf_pages, 1u);
  EXPECT_GT(info->leaf_fill, 0.3);
  EXPECT_TRUE(db_->DescribeTable("missing").status().IsNotFound());

  const DatabaseStats before = db_->stats();
  EXPECT_GE(before.wal_segments, 1u);
  EXPECT_GT(before.wal_next_lsn, 0u);
  ASSERT_TRUE(db_->Flush().ok());
  const DatabaseStats after = db_->stats();
  EXPECT_EQ(after.last_checkpoint_lsn, after.wal_next_lsn);
  EXPECT_GT(after.checkpoints, before.checkpoints);
}

TEST_F(TxnTest, CreateListAndDropTables) {
  ASSERT_TRUE(db_->CreateTable("x").ok());
  EXPECT_EQ(Code(db_->CreateTable("x")), "InvalidArgument");
  EXPECT_EQ(Code(db_->CreateTable("")), "InvalidArgument");
  EXPECT_EQ(Code(db_->CreateTable(std::string(1025, 'n'))), "InvalidArgument");
  auto tables = db_->ListTables();
  ASSERT_TRUE(tables.ok());
  EXPECT_NE(std::find(tables->begin(), tables->end(), "x"), tables->end());
  CommitPut("row", "1", "x");
  ASSERT_TRUE(db_->DropTable("x").ok());
  tables = db_->ListTables();
  ASSERT_TRUE(tables.ok());
  EXPECT_EQ(std::find(tables->begin(), tables->end(), "x"), tables->end());
  EXPECT_TRUE(db_->DropTable("x").IsNotFound());
  ASSERT_TRUE(db_->CreateTable("x").ok());  // recreated empty
  EXPECT_EQ(ReadLatest("row", "x"), "<NotFound>");
}

TEST_F(TxnTest, MissingTableIsNotFound) {
  auto txn = Begin(kSnapshot);
  EXPECT_TRUE(txn->Put("missing", "k", "v").IsNotFound());
  std::string value;
  EXPECT_TRUE(txn->Get("missing", "k", &value).IsNotFound());
  auto it = txn->NewIterator("missing");
  it->SeekToFirst();
  EXPECT_FALSE(it->Valid());
  EXPECT_TRUE(it->status().IsNotFound()) << it->status().ToString();
  EXPECT_TRUE(db_->ListVersions("missing", "k").status().IsNotFound());
}

TEST_F(TxnTest, DropTableIsBusyWhileAnIteratorIsOpen) {
  ASSERT_TRUE(db_->CreateTable("x").ok());
  auto txn = Begin(kSnapshot);
  auto it = txn->NewIterator("x");
  // Its own transaction (another would wait for the table lock the
  // iterator's transaction holds: txn_ddl_test.cc).
  EXPECT_TRUE(txn->DropTable("x").IsBusy());
  it.reset();
  EXPECT_TRUE(txn->DropTable("x").ok());
}

TEST_F(TxnTest, ALockWaitHoldsUpNoDdlOfOtherTablesAndDropOfItsTableWaits) {
  auto t1 = Begin(kReadCommitted);
  ASSERT_TRUE(t1->Put(kTable, "k", "1").ok());
  auto t2 = Begin(kReadCommitted);
  Status waited;
  std::thread second([&] { waited = t2->Put(kTable, "k", "2"); });
  ASSERT_TRUE(WaitUntil([&] { return WaitingFor(t2->id()) == t1->id(); }));

  const auto start = std::chrono::steady_clock::now();
  ASSERT_TRUE(db_->CreateTable("other").ok());
  ASSERT_TRUE(db_->DropTable("other").ok());
  EXPECT_LT(std::chrono::steady_clock::now() - start, 1s);
  // The waiting Put uses kTable's tree: dropping it must not pull the tree
  // away underneath. It waits for t1 and t2 (their table locks) until its
  // lock timeout.
  TransactionOptions patient;
  patient.lock_timeout = 20ms;
  EXPECT_EQ(Code(db_->Begin(patient)->DropTable(kTable)), "LockTimeout");

  ASSERT_TRUE(t1->Commit().ok());
  second.join();
  EXPECT_TRUE(waited.ok()) << waited.ToString();
  ASSERT_TRUE(t2->Commit().ok());
  EXPECT_EQ(ReadLatest("k"), "2");
}

TEST_F(TxnTest, CommitToATableItDroppedFailsWithNotFound) {
  ASSERT_TRUE(db_->CreateTable("x").ok());
  auto txn = Begin(kSnapshot);
  ASSERT_TRUE(txn->Put("x", "k", "v").ok());
  ASSERT_TRUE(txn->Put(kTable, "k", "v").ok());
  // Another transaction's drop would wait for this one (txn_ddl_test.cc).
  ASSERT_TRUE(txn->DropTable("x").ok());
  EXPECT_TRUE(txn->Commit().IsNotFound());
  EXPECT_EQ(ReadLatest("k"), "<NotFound>");  // nothing of it, not even the other table
}

// ---- Argument errors ----

TEST_F(TxnTest, BadKeysAreInvalidArgumentAndLeaveTheTransactionActive) {
  auto txn = Begin(kSnapshot);
  EXPECT_EQ(Code(txn->Put(kTable, "", "v")), "InvalidArgument");
  EXPECT_EQ(Code(txn->Put(kTable, std::string(1025, 'k'), "v")), "InvalidArgument");
  EXPECT_EQ(Code(txn->Delete(kTable, "")), "InvalidArgument");
  EXPECT_EQ(txn->state(), TransactionState::kActive);
  ASSERT_TRUE(txn->Put(kTable, std::string(1024, 'k'), "longest").ok());
  ASSERT_TRUE(txn->Commit().ok());
  EXPECT_EQ(ReadLatest(std::string(1024, 'k')), "longest");
}

TEST_F(TxnTest, CommitOrRollbackOfAnEndedTransactionIsInvalidArgument) {
  auto txn = Begin(kSnapshot);
  ASSERT_TRUE(txn->Put(kTable, "k", "v").ok());
  ASSERT_TRUE(txn->Commit().ok());
  EXPECT_EQ(Code(txn->Commit()), "InvalidArgument");
  EXPECT_EQ(Code(txn->Rollback()), "InvalidArgument");
  EXPECT_EQ(txn->state(), TransactionState::kCommitted);
}

// ---- Memory limits ----

std::string LimitKey(int i) { return "key" + std::to_string(100000 + i); }

// Issue 11, item 9: a transaction of 1.1 GiB ran for 90 s and took 3.4 GB
// before its COMMIT failed. The write that crosses max_transaction_bytes
// fails now, changes nothing, and leaves the transaction usable.
TEST_F(TxnTest, TheWriteThatCrossesMaxTransactionBytesFailsAndChangesNothing) {
  constexpr size_t kLimit = 1 << 20;
  Options options = options_;
  options.max_transaction_bytes = kLimit;
  ASSERT_NO_FATAL_FAILURE(Reopen(options));
  auto txn = Begin(kSnapshot);
  const std::string value(1000, 'v');
  int accepted = 0;
  Status refused;
  for (int i = 0; i < 4096; ++i) {  // 4 MB of values, four times the limit
    refused = txn->Put(kTable, LimitKey(i), value);
    if (!refused.ok()) break;
    ++accepted;
  }
  ASSERT_EQ(Code(refused), "InvalidArgument") << refused.ToString();
  EXPECT_NE(refused.message().find("transaction is too large"), std::string_view::npos);
  EXPECT_NE(refused.message().find("max_transaction_bytes (1048576)"), std::string_view::npos);
  // The values alone are below the limit; each key costs more than its
  // value (nodes, names, its lock), but not several times more.
  EXPECT_LT(static_cast<size_t>(accepted) * value.size(), kLimit);
  EXPECT_GT(static_cast<size_t>(accepted) * value.size(), kLimit * 3 / 4);
  EXPECT_EQ(txn->state(), TransactionState::kActive);
  EXPECT_EQ(Read(*txn, LimitKey(accepted)), "<NotFound>");
  // The refused key was not left locked: another writer does not wait.
  {
    TransactionOptions other_options;
    other_options.lock_timeout = 5s;  // a wait would be a bug; the timeout only ends the test
    auto other = db_->Begin(other_options);
    ASSERT_TRUE(other->Put(kTable, LimitKey(accepted), "other").ok());
    ASSERT_TRUE(other->Commit().ok());
  }
  // Writes that do not grow the set still go through, and it commits.
  ASSERT_TRUE(txn->Delete(kTable, LimitKey(0)).ok());
  ASSERT_TRUE(txn->Commit().ok());
  EXPECT_EQ(ReadLatest(LimitKey(0)), "<NotFound>");
  EXPECT_EQ(ReadLatest(LimitKey(1)), value);
  EXPECT_EQ(ReadLatest(LimitKey(accepted - 1)), value);
  EXPECT_EQ(ReadLatest(LimitKey(accepted)), "other");
}

TEST_F(TxnTest, AValueGrownPastMaxTransactionBytesIsRefusedAndTheOldOneKept) {
  Options options = options_;
  options.max_transaction_bytes = 64 << 10;
  ASSERT_NO_FATAL_FAILURE(Reopen(options));
  auto txn = Begin(kSnapshot);
  ASSERT_TRUE(txn->Put(kTable, "k", std::string(10 << 10, 'a')).ok());
  const Status grown = txn->Put(kTable, "k", std::string(100 << 10, 'b'));
  EXPECT_EQ(Code(grown), "InvalidArgument") << grown.ToString();
  EXPECT_EQ(txn->state(), TransactionState::kActive);
  EXPECT_EQ(Read(*txn, "k"), std::string(10 << 10, 'a'));
  ASSERT_TRUE(txn->Rollback().ok());
  EXPECT_EQ(ReadLatest("k"), "<NotFound>");
  CommitPut("k", "after");  // the database goes on
  EXPECT_EQ(ReadLatest("k"), "after");
}

TEST_F(TxnTest, GetForUpdateCountsAgainstMaxTransactionBytes) {
  Options options = options_;
  options.max_transaction_bytes = 64 << 10;
  ASSERT_NO_FATAL_FAILURE(Reopen(options));
  auto txn = Begin(kReadCommitted);
  std::string value;
  Status status;
  int locked = 0;
  for (; locked < 10000; ++locked) {
    status = txn->GetForUpdate(kTable, LimitKey(locked), &value);
    if (!status.IsNotFound()) break;
  }
  EXPECT_EQ(Code(status), "InvalidArgument") << status.ToString();
  EXPECT_GT(locked, 100);  // each lock costs a few hundred bytes, not kilobytes
  EXPECT_EQ(txn->state(), TransactionState::kActive);
  ASSERT_TRUE(txn->Commit().ok());
}

// The same through the iterator a statement read with (the read committed
// re-check's GetForUpdate): SQL's UPDATE, DELETE and FOR UPDATE lock rows so.
TEST_F(TxnTest, GetForUpdateWithAnIteratorCountsAgainstMaxTransactionBytes) {
  Options options = options_;
  options.max_transaction_bytes = 64 << 10;
  ASSERT_NO_FATAL_FAILURE(Reopen(options));
  auto txn = Begin(kReadCommitted);
  auto it = txn->NewIterator(kTable);
  std::string value;
  Status status;
  int locked = 0;
  for (; locked < 10000; ++locked) {
    status = txn->GetForUpdate(kTable, LimitKey(locked), &value, *it);
    if (!status.IsNotFound()) break;
  }
  EXPECT_EQ(Code(status), "InvalidArgument") << status.ToString();
  EXPECT_GT(locked, 100);
  EXPECT_EQ(txn->state(), TransactionState::kActive);
  it.reset();
  ASSERT_TRUE(txn->Commit().ok());
}

// Old versions count what the heap holds for them, not only their values:
// with one-byte values, that is their chains, keys and work items.
TEST_F(TxnTest, OldVersionsCountTheirOverheadNotOnlyTheirValues) {
  for (int i = 0; i < 100; ++i) CommitPut(LimitKey(i), "a");
  auto reader = Begin(kSnapshot);
  EXPECT_EQ(Read(*reader, LimitKey(0)), "a");
  {
    auto writer = db_->Begin();
    for (int i = 0; i < 100; ++i) ASSERT_TRUE(writer->Put(kTable, LimitKey(i), "b").ok());
    ASSERT_TRUE(writer->Commit().ok());
  }
  const DatabaseStats stats = db_->stats();
  ASSERT_EQ(stats.old_versions, 100u);
  // A chain's table node (~80 bytes), its vector of versions (~64) and the
  // work item that collects it (~50) at the least.
  EXPECT_GE(stats.old_version_bytes, stats.old_versions * 150);
  ASSERT_TRUE(reader->Commit().ok());
  ASSERT_TRUE(db_->CollectGarbage().ok());
  EXPECT_EQ(db_->stats().old_version_bytes, 0u);
}

// ---- ListVersions ----

TEST_F(TxnTest, ListVersionsIsNewestFirstWhileSnapshotsNeedThem) {
  CommitPut("k", "v1");
  auto sees_v1 = Begin(kSnapshot);
  EXPECT_EQ(Read(*sees_v1, "k"), "v1");
  CommitPut("k", "v2");
  auto sees_v2 = Begin(kSnapshot);
  EXPECT_EQ(Read(*sees_v2, "k"), "v2");
  CommitPut("k", "v3");
  ASSERT_TRUE(db_->CollectGarbage().ok());
  auto versions = db_->ListVersions(kTable, "k");
  ASSERT_TRUE(versions.ok()) << versions.status().ToString();
  ASSERT_EQ(versions->size(), 3u);
  const std::vector<std::string> values = {"v3", "v2", "v1"};
  for (size_t i = 0; i < versions->size(); ++i) {
    EXPECT_EQ((*versions)[i].value, values[i]);
    EXPECT_FALSE((*versions)[i].deleted);
    EXPECT_EQ((*versions)[i].in_tree, i == 0);
    if (i > 0) {
      EXPECT_GT((*versions)[i - 1].commit_ts, (*versions)[i].commit_ts);
    }
  }
  EXPECT_GE(db_->stats().visible_ts, (*versions)[0].commit_ts);
}

}  // namespace
}  // namespace mvdb
