// Misuse of the embedded API is a Status, never undefined behaviour
// (include/mvdb/db.h, "Lifetimes and misuse"; issue 13): calls after Close,
// Close with open transactions and iterators, iterators outliving their
// transaction, the objects destroyed in every order, Result::value() on an
// error; and the errors the header documents for these paths, each
// produced here. Run under ASan, UBSan and LeakSanitizer in CI: a crash, a
// use after free or a leak fails the suite as surely as a wrong status.
#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "mvdb/db.h"
#include "mvdb/options.h"
#include "mvdb/status.h"
#include "tests/testing/temp_dir.h"

namespace mvdb {
namespace {

using ::mvdb::testing::TempDir;

constexpr char kTable[] = "t";

std::string_view Code(const Status& status) { return StatusCodeName(status.code()); }

bool Contains(std::string_view text, std::string_view part) {
  return text.find(part) != std::string_view::npos;
}

class MisuseTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(dir_.ok());
    Open();
    ASSERT_TRUE(db_->CreateTable(kTable).ok());
    auto txn = db_->Begin();
    ASSERT_TRUE(txn->Put(kTable, "a", "1").ok());
    ASSERT_TRUE(txn->Put(kTable, "b", "2").ok());
    ASSERT_TRUE(txn->Commit().ok());
  }

  void Open() {
    Options options;
    options.sync = SyncMode::kOff;  // durability is not what these tests are about
    options.cache_mb = 4;
    auto opened = Database::Open(dir_.path(), options);
    ASSERT_TRUE(opened.ok()) << opened.status().ToString();
    db_ = std::move(opened).value();
  }

  // The committed contents of kTable, read by a fresh transaction.
  std::vector<std::string> Keys() {
    std::vector<std::string> keys;
    auto txn = db_->Begin();
    auto it = txn->NewIterator(kTable);
    for (it->SeekToFirst(); it->Valid(); it->Next()) keys.emplace_back(it->key());
    EXPECT_TRUE(it->status().ok()) << it->status().ToString();
    return keys;
  }

  TempDir dir_;
  std::unique_ptr<Database> db_;
};

// An iterator that has ended: not Valid, the status, empty views, moves
// that do nothing.
void ExpectEnded(Iterator& it, std::string_view code) {
  EXPECT_FALSE(it.Valid());
  EXPECT_EQ(Code(it.status()), code) << it.status().ToString();
  EXPECT_TRUE(it.key().empty());
  EXPECT_TRUE(it.value().empty());
  it.Next();
  it.Prev();
  it.SeekToFirst();
  it.SeekToLast();
  it.Seek("a");
  it.SeekForPrev("b");
  EXPECT_FALSE(it.Valid());
  EXPECT_EQ(Code(it.status()), code) << it.status().ToString();
}

// Every call of a transaction answers `code`, its message containing
// `words`; Commit and Rollback included.
void ExpectEveryCallAnswers(Transaction& txn, std::string_view code, std::string_view words) {
  std::string value;
  const std::vector<Status> answers = {
      txn.Get(kTable, "a", &value),
      txn.GetForUpdate(kTable, "a", &value),
      txn.Put(kTable, "c", "3"),
      txn.Delete(kTable, "a"),
      txn.LockTable(kTable, TableLockMode::kAccessShare),
      txn.DropTable(kTable),
      txn.Commit(),
      txn.Rollback(),
  };
  for (const Status& answer : answers) {
    EXPECT_EQ(Code(answer), code) << answer.ToString();
    EXPECT_TRUE(Contains(answer.message(), words)) << answer.ToString();
  }
  auto it = txn.NewIterator(kTable);
  ASSERT_NE(it, nullptr);
  ExpectEnded(*it, code);
}

// ---- calls after Close ----

TEST_F(MisuseTest, EveryCallAfterCloseIsInvalidArgument) {
  ASSERT_TRUE(db_->Close().ok());
  constexpr std::string_view kClosed = "is closed";
  std::string value;
  std::string report;
  const std::vector<Status> answers = {
      db_->Close(),
      db_->CreateTable("u"),
      db_->DropTable(kTable),
      db_->ListTables().status(),
      db_->Get(kTable, "a", &value),
      db_->Flush(),
      db_->CollectGarbage(),
      db_->CheckIntegrity(&report),
      db_->health(),
      db_->DescribeTable(kTable).status(),
      db_->ListVersions(kTable, "a").status(),
  };
  for (const Status& answer : answers) {
    EXPECT_EQ(Code(answer), "InvalidArgument") << answer.ToString();
    EXPECT_TRUE(Contains(answer.message(), kClosed)) << answer.ToString();
  }
  EXPECT_EQ(db_->stats().commits, 0u);
  EXPECT_TRUE(db_->ListTransactions().empty());
  EXPECT_TRUE(db_->ListLocks().empty());

  // Begin answers a transaction born ended, never null.
  std::unique_ptr<Transaction> txn = db_->Begin();
  ASSERT_NE(txn, nullptr);
  EXPECT_EQ(txn->id(), 0u);
  EXPECT_EQ(txn->state(), TransactionState::kRolledBack);
  ExpectEveryCallAnswers(*txn, "InvalidArgument", kClosed);

  // Run does not call fn.
  bool called = false;
  const Status ran = db_->Run([&](Transaction&) {
    called = true;
    return Status::OK();
  });
  EXPECT_EQ(Code(ran), "InvalidArgument") << ran.ToString();
  EXPECT_FALSE(called);
}

// ---- Close with open transactions and iterators ----

TEST_F(MisuseTest, CloseWithAnOpenTransactionIsBusyAndChangesNothing) {
  auto txn = db_->Begin();
  ASSERT_TRUE(txn->Put(kTable, "c", "3").ok());
  const Status busy = db_->Close();
  EXPECT_EQ(Code(busy), "Busy") << busy.ToString();
  EXPECT_TRUE(Contains(busy.message(), "1 open transaction(s)")) << busy.ToString();

  // Everything goes on: the transaction, the database, other transactions.
  std::string value;
  EXPECT_TRUE(txn->Get(kTable, "c", &value).ok());
  EXPECT_EQ(value, "3");
  EXPECT_TRUE(db_->Get(kTable, "a", &value).ok());
  EXPECT_TRUE(db_->health().ok());
  ASSERT_TRUE(txn->Put(kTable, "d", "4").ok());
  ASSERT_TRUE(txn->Commit().ok());
  EXPECT_EQ(Keys(), (std::vector<std::string>{"a", "b", "c", "d"}));

  // Retried once it has ended: closes. The committed transaction outlives it.
  ASSERT_TRUE(db_->Close().ok());
  EXPECT_EQ(txn->state(), TransactionState::kCommitted);
  ExpectEveryCallAnswers(*txn, "InvalidArgument", "has ended");
  Open();
  EXPECT_EQ(Keys(), (std::vector<std::string>{"a", "b", "c", "d"}));
}

TEST_F(MisuseTest, CloseWithAFailedTransactionIsBusyUntilItIsRolledBack) {
  auto first = db_->Begin();
  auto second = db_->Begin();
  std::string value;
  ASSERT_TRUE(first->Get(kTable, "a", &value).ok());  // takes the snapshot
  ASSERT_TRUE(second->Put(kTable, "a", "new").ok());
  ASSERT_TRUE(second->Commit().ok());
  ASSERT_EQ(Code(first->Put(kTable, "a", "lost")), "Conflict");
  ASSERT_EQ(first->state(), TransactionState::kFailed);
  EXPECT_EQ(Code(db_->Close()), "Busy");
  ASSERT_TRUE(first->Rollback().ok());
  EXPECT_TRUE(db_->Close().ok());
}

TEST_F(MisuseTest, CloseWithAnOpenIteratorIsBusyAndTheIteratorGoesOn) {
  TransactionOptions read_only;
  read_only.read_only = true;
  auto txn = db_->Begin(read_only);
  auto it = txn->NewIterator(kTable);
  it->SeekToFirst();
  ASSERT_TRUE(it->Valid());
  const Status busy = db_->Close();
  EXPECT_EQ(Code(busy), "Busy") << busy.ToString();
  EXPECT_TRUE(Contains(busy.message(), "1 open iterator(s)")) << busy.ToString();
  EXPECT_EQ(it->key(), "a");
  it->Next();
  ASSERT_TRUE(it->Valid());
  EXPECT_EQ(it->key(), "b");
  ASSERT_TRUE(txn->Commit().ok());
  ExpectEnded(*it, "Aborted");
  EXPECT_TRUE(db_->Close().ok());
  ExpectEnded(*it, "Aborted");  // and it outlives the database's Close
}

// ---- iterators after their transaction ----

TEST_F(MisuseTest, IteratorAfterItsTransactionEndedIsAborted) {
  for (const char* end : {"commit", "rollback", "destruction"}) {
    SCOPED_TRACE(end);
    auto txn = db_->Begin();
    ASSERT_TRUE(txn->Put(kTable, "c", "3").ok());
    auto it = txn->NewIterator(kTable);
    auto other = txn->NewIterator(kTable);
    it->Seek("b");
    ASSERT_TRUE(it->Valid());
    if (std::string_view(end) == "commit") {
      ASSERT_TRUE(txn->Commit().ok());
    } else if (std::string_view(end) == "rollback") {
      ASSERT_TRUE(txn->Rollback().ok());
    } else {
      txn.reset();
    }
    ExpectEnded(*it, "Aborted");
    ExpectEnded(*other, "Aborted");
    if (txn != nullptr) {
      // GetForUpdate through the ended iterator: the transaction's answer first.
      std::string value;
      EXPECT_EQ(Code(txn->GetForUpdate(kTable, "a", &value, *it)), "InvalidArgument");
    }
  }
  // The table is free again: no iterator is counted against DropTable.
  EXPECT_TRUE(db_->DropTable(kTable).ok());
}

TEST_F(MisuseTest, GetForUpdateWithAnEndedIteratorIsAborted) {
  auto reader = db_->Begin();
  auto it = reader->NewIterator(kTable);
  it->SeekToFirst();
  ASSERT_TRUE(reader->Commit().ok());
  auto txn = db_->Begin();
  std::string value;
  const Status status = txn->GetForUpdate(kTable, "a", &value, *it);
  EXPECT_EQ(Code(status), "Aborted") << status.ToString();
  ASSERT_TRUE(txn->Rollback().ok());
}

// ---- destruction in every order ----

// Database, Transaction and Iterator destroyed in each of the six orders,
// with the transaction holding an uncommitted write and the iterator
// positioned. Whatever outlives the database answers Aborted; the
// uncommitted write is gone after a reopen (which also shows the lock file
// was released); the sanitizers see no bad access and no leak.
TEST_F(MisuseTest, DestructionInEveryOrder) {
  enum Object { kDatabase, kTransaction, kIterator };
  std::array<Object, 3> order = {kDatabase, kTransaction, kIterator};
  int orders = 0;
  do {
    SCOPED_TRACE(::testing::Message() << "order " << order[0] << order[1] << order[2]);
    if (db_ == nullptr) Open();
    std::unique_ptr<Transaction> txn = db_->Begin();
    ASSERT_TRUE(txn->Put(kTable, "uncommitted", "x").ok());
    std::unique_ptr<Iterator> it = txn->NewIterator(kTable);
    it->SeekToFirst();
    ASSERT_TRUE(it->Valid());
    bool database_gone = false;
    for (const Object object : order) {
      switch (object) {
        case kDatabase:
          db_.reset();
          database_gone = true;
          if (txn != nullptr) {
            EXPECT_EQ(txn->state(), TransactionState::kRolledBack);
            ExpectEveryCallAnswers(*txn, "Aborted", "was destroyed with transaction");
          }
          if (it != nullptr) ExpectEnded(*it, "Aborted");
          break;
        case kTransaction:
          txn.reset();
          if (it != nullptr) ExpectEnded(*it, "Aborted");
          break;
        case kIterator:
          it.reset();
          if (txn != nullptr && !database_gone) {
            std::string value;
            EXPECT_TRUE(txn->Get(kTable, "uncommitted", &value).ok());
          }
          break;
      }
    }
    Open();
    EXPECT_EQ(Keys(), (std::vector<std::string>{"a", "b"}));
    ++orders;
  } while (std::next_permutation(order.begin(), order.end()));
  EXPECT_EQ(orders, 6);
}

TEST_F(MisuseTest, DatabaseDestroyedWithAFailedTransactionAndAnEndedOne) {
  auto failed = db_->Begin();
  auto done = db_->Begin();
  std::string value;
  ASSERT_TRUE(failed->Get(kTable, "a", &value).ok());
  ASSERT_TRUE(done->Put(kTable, "a", "new").ok());
  ASSERT_TRUE(done->Commit().ok());
  ASSERT_EQ(Code(failed->Put(kTable, "a", "lost")), "Conflict");
  db_.reset();
  EXPECT_EQ(failed->state(), TransactionState::kRolledBack);
  ExpectEveryCallAnswers(*failed, "Aborted", "was destroyed");
  EXPECT_EQ(done->state(), TransactionState::kCommitted);
  ExpectEveryCallAnswers(*done, "InvalidArgument", "has ended");
  Open();
  ASSERT_TRUE(db_->Get(kTable, "a", &value).ok());
  EXPECT_EQ(value, "new");
}

// ---- Result::value() on an error ----

TEST(MisuseDeathTest, ValueOfAnErrorAbortsWithTheStatusMessage) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  Result<int> error(Status::NotFound("no such thing"));
  EXPECT_DEATH((void)error.value(), "value\\(\\) of a Result holding NotFound: no such thing");
  EXPECT_DEATH((void)*error, "NotFound: no such thing");
  TempDir dir;
  ASSERT_TRUE(dir.ok());
  Options options;
  options.create_if_missing = false;
  EXPECT_DEATH((void)Database::Open(dir.path() + "/absent", options).value()->Close(),
               "value\\(\\) of a Result holding NotFound");
}

// ---- the words of the header ----

// An empty value is a value (db.h, Put): stored, read back, told apart from
// a missing key. Empty and oversized keys are InvalidArgument.
TEST_F(MisuseTest, EmptyValueIsAValueAndBadKeysAreInvalidArgument) {
  auto txn = db_->Begin();
  ASSERT_TRUE(txn->Put(kTable, "empty", "").ok());
  EXPECT_EQ(Code(txn->Put(kTable, "", "x")), "InvalidArgument");
  EXPECT_EQ(Code(txn->Put(kTable, std::string(1025, 'k'), "x")), "InvalidArgument");
  EXPECT_TRUE(txn->Put(kTable, std::string(1024, 'k'), "x").ok());
  ASSERT_TRUE(txn->Commit().ok());
  std::string value = "stale";
  ASSERT_TRUE(db_->Get(kTable, "empty", &value).ok());
  EXPECT_EQ(value, "");
  EXPECT_EQ(Code(db_->Get(kTable, "absent", &value)), "NotFound");
}

// The errors db.h documents for table names, opening, read-only
// transactions and iterators that never opened, each produced.
TEST_F(MisuseTest, DocumentedErrorsOfTablesOpenAndReadOnlyTransactions) {
  for (const std::string& name : {std::string(), std::string(1025, 'n'), std::string(kTable),
                                  std::string("__mvdb_versioned")}) {
    const Status created = db_->CreateTable(name);
    EXPECT_EQ(Code(created), "InvalidArgument") << name.size() << ": " << created.ToString();
  }
  EXPECT_TRUE(db_->CreateTable(std::string(1024, 'n')).ok());
  EXPECT_EQ(Code(db_->DropTable("absent")), "NotFound");
  EXPECT_EQ(Code(db_->DescribeTable("absent").status()), "NotFound");
  EXPECT_EQ(Code(db_->ListVersions("absent", "k").status()), "NotFound");

  Options options;
  options.create_if_missing = false;
  const auto missing = Database::Open(dir_.path() + "/absent", options);
  EXPECT_EQ(Code(missing.status()), "NotFound") << missing.status().ToString();
  const auto second = Database::Open(dir_.path());
  EXPECT_EQ(Code(second.status()), "Busy") << second.status().ToString();

  TransactionOptions read_only;
  read_only.read_only = true;
  auto txn = db_->Begin(read_only);
  std::string value;
  EXPECT_EQ(Code(txn->Put(kTable, "a", "x")), "InvalidArgument");
  EXPECT_EQ(Code(txn->Delete(kTable, "a")), "InvalidArgument");
  EXPECT_EQ(Code(txn->GetForUpdate(kTable, "a", &value)), "InvalidArgument");
  EXPECT_EQ(txn->state(), TransactionState::kActive);
  EXPECT_EQ(Code(txn->LockTable("absent", TableLockMode::kAccessShare)), "NotFound");
  auto never_opened = txn->NewIterator("absent");
  ExpectEnded(*never_opened, "NotFound");
  EXPECT_EQ(Code(txn->GetForUpdate(kTable, "a", &value, *never_opened)), "NotFound");
  ASSERT_TRUE(txn->Get(kTable, "a", &value).ok());
  EXPECT_EQ(value, "1");
  ASSERT_TRUE(txn->Commit().ok());
}

// status.h lists LockTimeout as retryable, as IsRetryable and Run treat it.
TEST_F(MisuseTest, LockTimeoutIsRetryableAndRunRetriesIt) {
  EXPECT_TRUE(Status::LockTimeout("x").IsRetryable());
  auto holder = db_->Begin();
  ASSERT_TRUE(holder->Put(kTable, "a", "held").ok());
  int attempts = 0;
  RunOptions options;
  options.max_attempts = 3;
  options.transaction.lock_timeout = std::chrono::milliseconds(1);
  const Status ran = db_->Run(
      [&](Transaction& txn) {
        ++attempts;
        return txn.Put(kTable, "a", "mine");
      },
      options);
  EXPECT_EQ(Code(ran), "LockTimeout") << ran.ToString();
  EXPECT_EQ(attempts, 3);
  ASSERT_TRUE(holder->Rollback().ok());
}

// A failed transaction's later calls answer Aborted in the key-value API's
// words, naming the cause, not in SQL's ("current transaction is aborted,
// commands ignored until end of transaction block" is the SQL layer's).
TEST_F(MisuseTest, AbortedAfterAFailureDoesNotSpeakSql) {
  auto first = db_->Begin();
  auto second = db_->Begin();
  std::string value;
  ASSERT_TRUE(first->Get(kTable, "a", &value).ok());
  ASSERT_TRUE(second->Put(kTable, "a", "new").ok());
  ASSERT_TRUE(second->Commit().ok());
  ASSERT_EQ(Code(first->Put(kTable, "a", "lost")), "Conflict");
  const Status aborted = first->Get(kTable, "b", &value);
  EXPECT_EQ(Code(aborted), "Aborted") << aborted.ToString();
  EXPECT_TRUE(Contains(aborted.message(), "failed earlier and can only be rolled back"))
      << aborted.ToString();
  EXPECT_TRUE(Contains(aborted.message(), "Conflict: could not serialize access"))
      << aborted.ToString();
  EXPECT_FALSE(Contains(aborted.message(), "transaction block")) << aborted.ToString();
  EXPECT_FALSE(Contains(aborted.message(), "commands ignored")) << aborted.ToString();
  // Commit answers the cause and rolls back.
  EXPECT_EQ(Code(first->Commit()), "Conflict");
  EXPECT_EQ(first->state(), TransactionState::kRolledBack);
}

// Flush (the checkpoint) makes kOff commits durable and lets the log go.
TEST_F(MisuseTest, FlushTakesACheckpoint) {
  const uint64_t before = db_->stats().checkpoints;
  ASSERT_TRUE(db_->Flush().ok());
  const DatabaseStats after = db_->stats();
  EXPECT_EQ(after.checkpoints, before + 1);
  EXPECT_EQ(after.last_checkpoint_lsn, after.wal_next_lsn);
}

}  // namespace
}  // namespace mvdb
