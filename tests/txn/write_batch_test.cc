// Writes without a read (issue 13): WriteBatch, Database::Write, Put and
// Delete through the public API. What a user relies on: a batch over
// several tables is all or nothing (also after a crash at any write or
// sync), the last operation on a key wins, an empty batch is a no-op, a
// missing table or a bad key applies nothing, a batch past
// max_transaction_bytes is refused, every call after Close answers
// InvalidArgument, and a snapshot-isolation transaction that read a key
// before a batch wrote it fails with Conflict when it writes it.
// Operations through table handles: mixed with names in one batch, the
// batch keeping the handle (a dropped table's, also once its name was
// created again, applies nothing: NotFound), default and other databases'
// handles (InvalidArgument), Clear forgetting them.
// The interactions with transactions on other threads are
// write_batch_concurrency_test.cc.
#include <gtest/gtest.h>

#include <chrono>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/logging.h"
#include "db/internal_options.h"
#include "io/fault_injection_file_system.h"
#include "io/file.h"
#include "tests/txn/txn_test_util.h"

namespace mvdb {
namespace {

constexpr char kOther[] = "u";

class WriteBatchTest : public TxnTest {
 protected:
  void SetUp() override {
    TxnTest::SetUp();
    ASSERT_TRUE(db_->CreateTable(kOther).ok());
  }

  // Every key and value of `table`, read in a new snapshot.
  KeyValues Contents(std::string_view table) {
    auto txn = Begin(kSnapshot);
    auto it = txn->NewIterator(table);
    it->SeekToFirst();
    KeyValues out = Drain(*it);
    it.reset();
    EXPECT_TRUE(txn->Commit().ok());
    return out;
  }
};

TEST_F(WriteBatchTest, CountSizeAndClear) {
  WriteBatch batch;
  EXPECT_EQ(batch.Count(), 0u);
  EXPECT_EQ(batch.ApproximateSize(), 0u);
  batch.Put(kTable, "key", "value");
  batch.Delete(kOther, "gone");
  EXPECT_EQ(batch.Count(), 2u);
  // Both operations' bytes are there (13 bytes of header each).
  EXPECT_EQ(batch.ApproximateSize(), 2 * 13 + 1 + 3 + 5 + 1 + 4);
  WriteBatch copy = batch;
  batch.Clear();
  EXPECT_EQ(batch.Count(), 0u);
  EXPECT_EQ(batch.ApproximateSize(), 0u);
  EXPECT_EQ(copy.Count(), 2u);
  ASSERT_TRUE(db_->Write(copy).ok());
  EXPECT_EQ(ReadLatest("key"), "value");
}

TEST_F(WriteBatchTest, CommitsAtomicallyOverTwoTables) {
  CommitPut("old", "1");
  auto before = Begin(kSnapshot);
  EXPECT_EQ(Read(*before, "old"), "1");  // takes its snapshot

  WriteBatch batch;
  batch.Put(kTable, "a", "1");
  batch.Put(kOther, "b", "2");
  batch.Delete(kTable, "old");
  batch.Put(kOther, "c", "3");
  const uint64_t commits = db_->stats().commits;
  ASSERT_TRUE(db_->Write(batch).ok());
  EXPECT_EQ(db_->stats().commits, commits + 1);  // one commit for the whole batch

  EXPECT_EQ(Contents(kTable), (KeyValues{{"a", "1"}}));
  EXPECT_EQ(Contents(kOther), (KeyValues{{"b", "2"}, {"c", "3"}}));
  // The snapshot taken before sees none of it.
  EXPECT_EQ(Read(*before, "a"), "<NotFound>");
  EXPECT_EQ(Read(*before, "b", kOther), "<NotFound>");
  EXPECT_EQ(Read(*before, "old"), "1");
  ASSERT_TRUE(before->Commit().ok());
}

TEST_F(WriteBatchTest, TheLastOperationOnAKeyWins) {
  CommitPut("deleted-then-put", "old");
  WriteBatch batch;
  batch.Put(kTable, "put-twice", "first");
  batch.Put(kTable, "put-twice", "second");
  batch.Put(kTable, "put-then-deleted", "x");
  batch.Delete(kTable, "put-then-deleted");
  batch.Delete(kTable, "deleted-then-put");
  batch.Put(kTable, "deleted-then-put", "new");
  ASSERT_TRUE(db_->Write(batch).ok());
  EXPECT_EQ(Contents(kTable), (KeyValues{{"deleted-then-put", "new"}, {"put-twice", "second"}}));
}

TEST_F(WriteBatchTest, AnEmptyBatchIsANoOp) {
  const uint64_t commits = db_->stats().commits;
  const uint64_t lsn = db_->stats().wal_next_lsn;
  EXPECT_TRUE(db_->Write(WriteBatch()).ok());
  WriteBatch cleared;
  cleared.Put(kTable, "k", "v");
  cleared.Clear();
  EXPECT_TRUE(db_->Write(cleared).ok());
  EXPECT_EQ(db_->stats().commits, commits);
  EXPECT_EQ(db_->stats().wal_next_lsn, lsn);  // nothing logged
  EXPECT_EQ(ReadLatest("k"), "<NotFound>");
}

TEST_F(WriteBatchTest, AMissingTableAppliesNothing) {
  WriteBatch batch;
  batch.Put(kTable, "a", "1");
  batch.Put("missing", "b", "2");
  batch.Put(kOther, "c", "3");
  const Status status = db_->Write(batch);
  EXPECT_TRUE(status.IsNotFound()) << status.ToString();
  EXPECT_NE(status.ToString().find("missing"), std::string::npos) << status.ToString();
  EXPECT_TRUE(Contents(kTable).empty());
  EXPECT_TRUE(Contents(kOther).empty());
  EXPECT_TRUE(db_->ListLocks().empty());  // nothing left locked
  EXPECT_EQ(db_->stats().active_transactions, 0u);
  // An empty table name is no table either.
  WriteBatch unnamed;
  unnamed.Put("", "a", "1");
  EXPECT_TRUE(db_->Write(unnamed).IsNotFound());
}

TEST_F(WriteBatchTest, ABadKeyOrValueAppliesNothing) {
  for (const std::string& key : {std::string(), std::string(1025, 'k')}) {
    WriteBatch batch;
    batch.Put(kTable, "a", "1");
    batch.Put(kOther, key, "2");
    const Status status = db_->Write(batch);
    EXPECT_TRUE(status.code() == StatusCode::kInvalidArgument) << status.ToString();
    EXPECT_NE(status.ToString().find("operation 1"), std::string::npos) << status.ToString();
    WriteBatch deletes;
    deletes.Delete(kTable, key);
    EXPECT_TRUE(db_->Write(deletes).code() == StatusCode::kInvalidArgument);
  }
  // A key of 1,024 bytes and an empty value are fine.
  WriteBatch edge;
  edge.Put(kTable, std::string(1024, 'k'), "");
  ASSERT_TRUE(db_->Write(edge).ok());
  EXPECT_EQ(ReadLatest(std::string(1024, 'k')), "");
  EXPECT_EQ(ReadLatest("a"), "<NotFound>");
}

// A batch holds the row lock of every key it took until it ends, whether
// it committed or stopped at a key another transaction holds: then none
// is left, so transactions that cannot wait (a 1 ms lock timeout) take
// every one of its keys right after.
TEST_F(WriteBatchTest, ABatchReleasesEveryLockItTookWhenItEnds) {
  options_.lock_timeout = std::chrono::milliseconds(1);
  ASSERT_NO_FATAL_FAILURE(Reopen(options_));
  const std::vector<std::string> keys = {"a", "b", "m", "z"};
  WriteBatch batch;
  for (const std::string& key : keys) batch.Put(kTable, key, "batch");
  auto holder = Begin(kReadCommitted);
  ASSERT_TRUE(holder->Put(kTable, "m", "holder").ok());
  const Status failed = db_->Write(batch);  // takes a and b, times out on m
  EXPECT_TRUE(failed.IsLockTimeout()) << failed.ToString();
  ASSERT_TRUE(holder->Rollback().ok());
  auto after = Begin(kReadCommitted);
  for (const std::string& key : keys) {
    EXPECT_TRUE(after->Put(kTable, key, "after").ok()) << key;
  }
  ASSERT_TRUE(after->Commit().ok());
  ASSERT_TRUE(db_->Write(batch).ok());
  auto last = Begin(kReadCommitted);
  for (const std::string& key : keys) {
    EXPECT_TRUE(last->Put(kTable, key, "last").ok()) << key;
  }
  ASSERT_TRUE(last->Commit().ok());
  for (const std::string& key : keys) EXPECT_EQ(ReadLatest(key), "last") << key;
}

TEST_F(WriteBatchTest, ABatchPastMaxTransactionBytesIsRefusedWhole) {
  Options small = options_;
  small.max_transaction_bytes = 64 << 10;
  ASSERT_NO_FATAL_FAILURE(Reopen(small));
  WriteBatch batch;
  const std::string value(1000, 'v');
  for (int i = 0; i < 200; ++i) batch.Put(kTable, "key" + std::to_string(i), value);
  const Status status = db_->Write(batch);
  EXPECT_TRUE(status.code() == StatusCode::kInvalidArgument) << status.ToString();
  EXPECT_NE(status.ToString().find("max_transaction_bytes"), std::string::npos);
  EXPECT_TRUE(Contents(kTable).empty());
  EXPECT_TRUE(db_->ListLocks().empty());
  // A batch that fits goes through.
  WriteBatch fits;
  for (int i = 0; i < 20; ++i) fits.Put(kTable, "key" + std::to_string(i), value);
  ASSERT_TRUE(db_->Write(fits).ok());
  EXPECT_EQ(Contents(kTable).size(), 20u);
}

TEST_F(WriteBatchTest, PutAndDeleteAreOneStatementTransactions) {
  ASSERT_TRUE(db_->Put(kTable, "k", "v1").ok());
  EXPECT_EQ(ReadLatest("k"), "v1");
  ASSERT_TRUE(db_->Put(kTable, "k", "v2", CommitOptions{.sync = SyncMode::kFull}).ok());
  std::string value;
  ASSERT_TRUE(db_->Get(kTable, "k", &value).ok());
  EXPECT_EQ(value, "v2");
  ASSERT_TRUE(db_->Delete(kTable, "k").ok());
  EXPECT_EQ(ReadLatest("k"), "<NotFound>");
  EXPECT_TRUE(db_->Delete(kTable, "never-there").ok());
  EXPECT_TRUE(db_->Put("missing", "k", "v").IsNotFound());
  EXPECT_TRUE(db_->Delete("missing", "k").IsNotFound());
  const Status empty_key = db_->Put(kTable, "", "v");
  EXPECT_TRUE(empty_key.code() == StatusCode::kInvalidArgument) << empty_key.ToString();
  EXPECT_EQ(empty_key.ToString().find("batch"), std::string::npos) << empty_key.ToString();
  EXPECT_TRUE(db_->Delete(kTable, std::string(1025, 'k')).code() == StatusCode::kInvalidArgument);
}

TEST_F(WriteBatchTest, EveryCallAfterCloseIsInvalidArgument) {
  WriteBatch batch;
  batch.Put(kTable, "k", "v");
  ASSERT_TRUE(db_->Close().ok());
  for (const Status& status : {db_->Write(batch), db_->Write(WriteBatch()),
                               db_->Put(kTable, "k", "v"), db_->Delete(kTable, "k")}) {
    EXPECT_TRUE(status.code() == StatusCode::kInvalidArgument) << status.ToString();
    EXPECT_NE(status.ToString().find("is closed"), std::string::npos) << status.ToString();
  }
  db_.reset();  // TearDown would close it again
}

// A snapshot-isolation transaction that read a key before a batch wrote it
// (and holds no lock on it) fails with Conflict when it writes it later:
// the batch installed a version newer than its snapshot (PostgreSQL's
// 40001). A read-committed one goes on from the batch's value.
TEST_F(WriteBatchTest, ASnapshotThatReadTheKeyGetsItsConflict) {
  CommitPut("row", "before");
  auto rr = Begin(kSnapshot);
  auto rc = Begin(kReadCommitted);
  EXPECT_EQ(Read(*rr, "row"), "before");
  EXPECT_EQ(Read(*rc, "row"), "before");
  ASSERT_TRUE(db_->Put(kTable, "row", "batch").ok());
  EXPECT_EQ(Read(*rr, "row"), "before");  // its snapshot
  const Status put = rr->Put(kTable, "row", "rr");
  EXPECT_TRUE(put.IsConflict()) << put.ToString();
  EXPECT_NE(put.ToString().find("could not serialize access due to concurrent update"),
            std::string::npos);
  EXPECT_TRUE(rr->Rollback().ok());
  std::string value;
  ASSERT_TRUE(rc->GetForUpdate(kTable, "row", &value).ok());
  EXPECT_EQ(value, "batch");
  ASSERT_TRUE(rc->Put(kTable, "row", value + "+rc").ok());
  ASSERT_TRUE(rc->Commit().ok());
  EXPECT_EQ(ReadLatest("row"), "batch+rc");
  // A batch's delete is a concurrent delete to such a snapshot.
  auto later = Begin(kSnapshot);
  EXPECT_EQ(Read(*later, "row"), "batch+rc");
  ASSERT_TRUE(db_->Delete(kTable, "row").ok());
  const Status del = later->Delete(kTable, "row");
  EXPECT_TRUE(del.IsConflict()) << del.ToString();
  EXPECT_NE(del.ToString().find("concurrent delete"), std::string::npos) << del.ToString();
}

// ---- through table handles ----

// `status` is `code` and its message holds `words`.
void ExpectError(const Status& status, std::string_view code, std::string_view words) {
  EXPECT_EQ(Code(status), code) << status.ToString();
  EXPECT_NE(status.ToString().find(words), std::string::npos) << status.ToString();
}

TEST_F(WriteBatchTest, HandlesAndNamesMixInOneBatch) {
  Result<TableHandle> table = db_->OpenTable(kTable);
  Result<TableHandle> other = db_->OpenTable(kOther);
  ASSERT_TRUE(table.ok() && other.ok());
  CommitPut("gone", "old");
  WriteBatch batch;
  batch.Put(*table, "a", "1");
  batch.Put(kOther, "b", "2");
  batch.Delete(*table, "gone");
  batch.Put(*other, "c", "3");
  // One key by name and by handle: the batch's order decides, as for names.
  batch.Put(kTable, "k", "by-name");
  batch.Put(*table, "k", "by-handle");
  batch.Put(*other, "j", "by-handle");
  batch.Delete(kOther, "j");
  const TableHandle copy = *table;  // a copy names the same table
  batch.Put(copy, "copy", "x");
  EXPECT_EQ(batch.Count(), 9u);
  const uint64_t commits = db_->stats().commits;
  ASSERT_TRUE(db_->Write(batch).ok());
  EXPECT_EQ(db_->stats().commits, commits + 1);  // one commit for the whole batch
  EXPECT_EQ(Contents(kTable), (KeyValues{{"a", "1"}, {"copy", "x"}, {"k", "by-handle"}}));
  EXPECT_EQ(Contents(kOther), (KeyValues{{"b", "2"}, {"c", "3"}}));
}

TEST_F(WriteBatchTest, AnOperationThroughAHandleHoldsNoNameAndClearForgetsIt) {
  Result<TableHandle> table = db_->OpenTable(kTable);
  ASSERT_TRUE(table.ok());
  WriteBatch batch;
  batch.Put(*table, "key", "value");
  batch.Delete(*table, "gone");
  EXPECT_EQ(batch.Count(), 2u);
  EXPECT_EQ(batch.ApproximateSize(), 2 * 13 + 3 + 5 + 4);  // no table bytes
  // A bad key through a handle is found as by name, naming the operation.
  batch.Put(*table, "", "v");
  ExpectError(db_->Write(batch), "InvalidArgument", "write batch operation 2");
  EXPECT_EQ(ReadLatest("key"), "<NotFound>");

  // Cleared, the batch holds no handle: the table dropped afterwards does
  // not concern it.
  batch.Clear();
  EXPECT_EQ(batch.Count(), 0u);
  ASSERT_TRUE(db_->DropTable(*table).ok());
  batch.Put(kOther, "o", "1");
  ASSERT_TRUE(db_->Write(batch).ok());
  EXPECT_EQ(Contents(kOther), (KeyValues{{"o", "1"}}));
}

// The batch holds the handle, not its name: the table dropped (and a new
// one created under the name) after the batch was built, Write answers what
// every call through the handle answers, and applies nothing.
TEST_F(WriteBatchTest, ABatchOnADroppedTablesHandleAppliesNothing) {
  TableHandle table;
  {
    Result<TableHandle> opened = db_->OpenTable(kTable);
    ASSERT_TRUE(opened.ok());
    table = *opened;
  }
  WriteBatch batch;
  batch.Put(kOther, "o", "1");
  batch.Put(table, "a", "1");
  WriteBatch copy = batch;  // a copy holds the handle too
  WriteBatch moved_from = copy;
  WriteBatch moved = std::move(moved_from);
  table = TableHandle();  // the batches' own copies are what counts
  ASSERT_TRUE(db_->DropTable(kTable).ok());
  ExpectError(db_->Write(batch), "NotFound", "table 't' was dropped");

  ASSERT_TRUE(db_->CreateTable(kTable).ok());  // the same name, another table
  for (const WriteBatch* stale : {&batch, &copy, &moved}) {
    ExpectError(db_->Write(*stale), "NotFound", "table 't' was dropped");
  }
  EXPECT_TRUE(Contents(kTable).empty());
  EXPECT_TRUE(Contents(kOther).empty());
  EXPECT_TRUE(db_->ListLocks().empty());
  EXPECT_EQ(db_->stats().active_transactions, 0u);
  // Through a new handle the new table takes the batch.
  Result<TableHandle> fresh = db_->OpenTable(kTable);
  ASSERT_TRUE(fresh.ok());
  WriteBatch renewed;
  renewed.Put(*fresh, "a", "new");
  ASSERT_TRUE(db_->Write(renewed).ok());
  EXPECT_EQ(ReadLatest("a"), "new");
}

TEST_F(WriteBatchTest, ADefaultOrAnotherDatabasesHandleIsInvalidArgument) {
  WriteBatch none;
  none.Put(kOther, "o", "1");
  none.Put(TableHandle(), "a", "1");
  ExpectError(db_->Write(none), "InvalidArgument", "the table handle names no table");

  testing::TempDir other_dir("batch-other", /*prefer_tmpfs=*/true);
  ASSERT_TRUE(other_dir.ok());
  auto opened = Database::Open(other_dir.path(), options_);
  ASSERT_TRUE(opened.ok()) << opened.status().ToString();
  std::unique_ptr<Database> other = std::move(opened).value();
  ASSERT_TRUE(other->CreateTable(kTable).ok());
  Result<TableHandle> foreign = other->OpenTable(kTable);
  ASSERT_TRUE(foreign.ok());
  WriteBatch batch;
  batch.Put(kTable, "a", "1");
  batch.Delete(*foreign, "a");
  ExpectError(db_->Write(batch), "InvalidArgument", "belongs to another database");
  // The batch, and the handle in it, outlive the other database.
  ASSERT_TRUE(other->Close().ok());
  other.reset();
  ExpectError(db_->Write(batch), "InvalidArgument", "belongs to another database");
  EXPECT_TRUE(Contents(kTable).empty());
  EXPECT_TRUE(Contents(kOther).empty());
}

// ---- crashes ----

// table -> key -> value
using State = std::map<std::string, std::map<std::string, std::string>>;

State ReadState(Database* db) {
  State state;
  auto tables = db->ListTables();
  EXPECT_TRUE(tables.ok());
  auto txn = db->Begin();
  for (const std::string& table : *tables) {
    auto& rows = state[table];
    auto it = txn->NewIterator(table);
    for (it->SeekToFirst(); it->Valid(); it->Next()) {
      rows[std::string(it->key())] = std::string(it->value());
    }
    EXPECT_TRUE(it->status().ok());
  }
  EXPECT_TRUE(txn->Commit().ok());
  return state;
}

// Creates two tables, then writes three batches over both at kFull, each
// moving the whole state on: every crash must recover a state after some
// prefix of them that holds every acknowledged one.
struct CrashRun {
  std::vector<State> states;  // states[i]: after step i (0: nothing)
  size_t acknowledged = 0;
  uint64_t operations = 0;
};

CrashRun RunBatches(const std::string& dir, FaultInjectionFileSystem* fault) {
  CrashRun run;
  run.states.emplace_back();
  const uint64_t start = fault->write_count() + fault->sync_count();
  Options options;
  options.cache_mb = 1;
  InternalOptions internal;
  internal.file_system = fault;
  auto db = DatabaseInternal::Open(dir, options, internal);
  if (db.ok()) {
    for (int step = 0; step < 4; ++step) {
      State next = run.states.back();
      Status status;
      if (step == 0) {
        next[kTable];
        next[kOther];
        status = (*db)->CreateTable(kTable);
        if (status.ok()) status = (*db)->CreateTable(kOther);
      } else {
        WriteBatch batch;
        for (int i = 0; i < 50; ++i) {
          const std::string key = "k" + std::to_string(i);
          const std::string value = std::to_string(step) + "-" + std::to_string(i);
          batch.Put(kTable, key, value);
          next[kTable][key] = value;
          if (i % 3 == static_cast<int>(step % 3)) {
            batch.Delete(kOther, key);
            next[kOther].erase(key);
          } else {
            batch.Put(kOther, key, value);
            next[kOther][key] = value;
          }
        }
        status = (*db)->Write(batch, CommitOptions{.sync = SyncMode::kFull});
      }
      run.states.push_back(std::move(next));
      if (!status.ok()) break;
      run.acknowledged = run.states.size() - 1;
    }
    (void)(*db)->Close();
  }
  run.operations = fault->write_count() + fault->sync_count() - start;
  return run;
}

TEST(WriteBatchCrashTest, ACrashAtEveryWriteAndSyncKeepsEachBatchWholeOrAbsent) {
  SetLogLevel(LogLevel::kNone);
  std::unique_ptr<FileSystem> posix = NewPosixFileSystem();
  uint64_t total = 0;
  {
    testing::TempDir dir("batch-crash", /*prefer_tmpfs=*/true);
    FaultInjectionFileSystem fault(posix.get());
    const CrashRun complete = RunBatches(dir.path(), &fault);
    ASSERT_EQ(complete.acknowledged, 4u);
    total = complete.operations;
  }
  ASSERT_GT(total, 8u);
  for (uint64_t k = 1; k <= total; ++k) {
    SCOPED_TRACE("crash after " + std::to_string(k) + " of " + std::to_string(total));
    testing::TempDir dir("batch-crash", /*prefer_tmpfs=*/true);
    FaultInjectionFileSystem fault(posix.get());
    fault.SetCrashAfter(k);
    const CrashRun run = RunBatches(dir.path(), &fault);
    ASSERT_TRUE(fault.DropUnsyncedData().ok());
    auto db = Database::Open(dir.path());
    ASSERT_TRUE(db.ok()) << db.status().ToString();
    const State recovered = ReadState(db->get());
    // Compared without empty tables: a crash may fall between the two
    // CreateTable calls.
    const auto rows = [](State state) {
      std::erase_if(state, [](const auto& table) { return table.second.empty(); });
      return state;
    };
    bool allowed = false;
    for (size_t i = run.acknowledged; i < run.states.size() && !allowed; ++i) {
      allowed = rows(run.states[i]) == rows(recovered);
    }
    EXPECT_TRUE(allowed) << run.acknowledged << " of " << run.states.size() - 1
                         << " steps acknowledged";
    ASSERT_TRUE((*db)->Close().ok());
  }
}

}  // namespace
}  // namespace mvdb
