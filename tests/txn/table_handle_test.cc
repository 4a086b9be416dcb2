// Table handles (include/mvdb/db.h, TableHandle; issue 13): every call that
// takes a table name (WriteBatch operations, DescribeTable and ListVersions
// included) does the same through a handle; a dropped table's
// handles answer NotFound ("was dropped"), also once a table of the same
// name exists again; a default handle, another database's handle and a
// handle after Close or after its database was destroyed answer a Status,
// never a crash (run under ASan and UBSan in CI); the handle path takes the
// table lock, so a drop still waits for a transaction that used the table
// through a handle.
#include <gtest/gtest.h>

#include <chrono>
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
constexpr char kOther[] = "other";  // for an iterator that opens whatever happens to kTable

std::string_view Code(const Status& status) { return StatusCodeName(status.code()); }

bool Contains(std::string_view text, std::string_view part) {
  return text.find(part) != std::string_view::npos;
}

std::unique_ptr<Database> OpenIn(const std::string& dir) {
  Options options;
  options.sync = SyncMode::kOff;
  options.cache_mb = 4;
  // A drop that should not wait but does fails the test instead of hanging it.
  options.lock_timeout = std::chrono::seconds(30);
  auto opened = Database::Open(dir, options);
  EXPECT_TRUE(opened.ok()) << opened.status().ToString();
  return opened.ok() ? std::move(opened).value() : nullptr;
}

class TableHandleTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(dir_.ok());
    db_ = OpenIn(dir_.path());
    ASSERT_NE(db_, nullptr);
    ASSERT_TRUE(db_->CreateTable(kTable).ok());
    ASSERT_TRUE(db_->CreateTable(kOther).ok());
    auto txn = db_->Begin();
    ASSERT_TRUE(txn->Put(kTable, "a", "1").ok());
    ASSERT_TRUE(txn->Put(kTable, "b", "2").ok());
    ASSERT_TRUE(txn->Commit().ok());
  }

  TableHandle Open(std::string_view name) {
    Result<TableHandle> opened = db_->OpenTable(name);
    EXPECT_TRUE(opened.ok()) << opened.status().ToString();
    return opened.ok() ? *opened : TableHandle();
  }

  std::vector<std::string> Scan(Transaction& txn, const TableHandle& table) {
    std::vector<std::string> keys;
    auto it = txn.NewIterator(table);
    for (it->SeekToFirst(); it->Valid(); it->Next()) keys.emplace_back(it->key());
    EXPECT_TRUE(it->status().ok()) << it->status().ToString();
    return keys;
  }

  // Every call that takes a table, through `table`, answers `code` (and a
  // message containing `message`), and the transaction stays active; a
  // batch with an operation through `table` applies none of its others.
  void ExpectEveryCallAnswers(const TableHandle& table, std::string_view code,
                              std::string_view message) {
    std::string value = "unchanged";
    std::vector<Status> answers;
    answers.push_back(db_->Get(table, "a", &value));
    answers.push_back(db_->DropTable(table));
    answers.push_back(db_->DescribeTable(table).status());
    answers.push_back(db_->ListVersions(table, "a").status());
    answers.push_back(db_->Put(table, "a", "x"));
    answers.push_back(db_->Delete(table, "a"));
    WriteBatch batch;
    batch.Put(kOther, "by-name", "x");  // a good table first: it is locked, then let go
    batch.Put(table, "a", "x");
    batch.Delete(table, "b");
    answers.push_back(db_->Write(batch));
    WriteBatch handle_first;
    handle_first.Delete(table, "a");
    handle_first.Put(kOther, "by-name", "x");
    answers.push_back(db_->Write(handle_first));
    std::string other;
    EXPECT_EQ(Code(db_->Get(kOther, "by-name", &other)), "NotFound") << other;
    EXPECT_TRUE(db_->ListLocks().empty());
    auto txn = db_->Begin();
    answers.push_back(txn->Get(table, "a", &value));
    answers.push_back(txn->GetForUpdate(table, "a", &value));
    answers.push_back(txn->Put(table, "a", "x"));
    answers.push_back(txn->Delete(table, "a"));
    answers.push_back(txn->LockTable(table, TableLockMode::kShare));
    answers.push_back(txn->DropTable(table));
    auto it = txn->NewIterator(table);
    it->SeekToFirst();
    EXPECT_FALSE(it->Valid());
    answers.push_back(it->status());
    auto good = txn->NewIterator(kOther);
    EXPECT_TRUE(good->status().ok()) << good->status().ToString();
    answers.push_back(txn->GetForUpdate(table, "a", &value, *good));
    for (const Status& answer : answers) {
      EXPECT_EQ(Code(answer), code) << answer.ToString();
      EXPECT_TRUE(Contains(answer.message(), message)) << answer.ToString();
    }
    EXPECT_EQ(txn->state(), TransactionState::kActive);
    EXPECT_EQ(value, "unchanged");
    good.reset();
    EXPECT_TRUE(txn->Commit().ok());
  }

  TempDir dir_;
  std::unique_ptr<Database> db_;
};

TEST_F(TableHandleTest, OpenTableNamesTheTableOrAnswersNotFound) {
  const TableHandle table = Open(kTable);
  EXPECT_EQ(table.name(), kTable);
  const Result<TableHandle> missing = db_->OpenTable("absent");
  EXPECT_EQ(Code(missing.status()), "NotFound") << missing.status().ToString();
  EXPECT_TRUE(Contains(missing.status().message(), "no table 'absent'"));
  EXPECT_EQ(TableHandle().name(), "");
}

TEST_F(TableHandleTest, EveryCallThroughAHandleDoesWhatTheNameDoes) {
  const TableHandle table = Open(kTable);
  const TableHandle copy = table;  // copies name the same table
  std::string value;
  ASSERT_TRUE(db_->Get(table, "a", &value).ok());
  EXPECT_EQ(value, "1");
  EXPECT_EQ(Code(db_->Get(table, "absent", &value)), "NotFound");

  auto txn = db_->Begin();
  ASSERT_TRUE(txn->Get(copy, "b", &value).ok());
  EXPECT_EQ(value, "2");
  ASSERT_TRUE(txn->Put(table, "c", "3").ok());
  ASSERT_TRUE(txn->Delete(table, "a").ok());
  ASSERT_TRUE(txn->GetForUpdate(table, "c", &value).ok());
  EXPECT_EQ(value, "3");
  {
    auto it = txn->NewIterator(table);
    it->Seek("b");
    ASSERT_TRUE(it->Valid());
    ASSERT_TRUE(txn->GetForUpdate(table, "b", &value, *it).ok());
    EXPECT_EQ(value, "2");
  }
  EXPECT_EQ(Scan(*txn, table), (std::vector<std::string>{"b", "c"}));
  // The name and the handle reach the same table in the same transaction.
  ASSERT_TRUE(txn->Get(kTable, "c", &value).ok());
  EXPECT_EQ(value, "3");
  ASSERT_TRUE(txn->LockTable(table, TableLockMode::kShare).ok());
  ASSERT_TRUE(txn->Commit().ok());

  ASSERT_TRUE(db_->Get(kTable, "c", &value).ok());
  EXPECT_EQ(value, "3");
  EXPECT_EQ(Code(db_->Get(table, "a", &value)), "NotFound");

  // Inspection: the same tree and the same versions as by name.
  const Result<TableInfo> by_handle = db_->DescribeTable(table);
  const Result<TableInfo> by_name = db_->DescribeTable(kTable);
  ASSERT_TRUE(by_handle.ok()) << by_handle.status().ToString();
  ASSERT_TRUE(by_name.ok()) << by_name.status().ToString();
  EXPECT_EQ(by_handle->entries, by_name->entries);
  EXPECT_EQ(by_handle->leaf_pages, by_name->leaf_pages);
  EXPECT_EQ(by_handle->height, by_name->height);
  const Result<std::vector<VersionInfo>> versions = db_->ListVersions(table, "c");
  ASSERT_TRUE(versions.ok()) << versions.status().ToString();
  ASSERT_EQ(versions->size(), 1u);  // put once, by the transaction above
  EXPECT_EQ(versions->front().value, "3");
  EXPECT_TRUE(versions->front().in_tree);
  EXPECT_EQ(db_->ListVersions(kTable, "c")->front().commit_ts, versions->front().commit_ts);
  const Result<std::vector<VersionInfo>> never = db_->ListVersions(table, "never");
  ASSERT_TRUE(never.ok()) << never.status().ToString();
  EXPECT_TRUE(never->empty());

  // Writes without a read through the handle.
  ASSERT_TRUE(db_->Put(table, "d", "4").ok());
  ASSERT_TRUE(db_->Get(kTable, "d", &value).ok());
  EXPECT_EQ(value, "4");
  ASSERT_TRUE(db_->Delete(table, "d").ok());
  EXPECT_EQ(Code(db_->Get(kTable, "d", &value)), "NotFound");
}

TEST_F(TableHandleTest, ADroppedTablesHandlesAnswerNotFoundAlsoAfterARecreate) {
  const TableHandle old_table = Open(kTable);
  ASSERT_TRUE(db_->DropTable(old_table).ok());
  ExpectEveryCallAnswers(old_table, "NotFound", "table 't' was dropped");

  // A new table of the same name is another table: the old handles stay
  // dropped, a new handle reaches it (empty).
  ASSERT_TRUE(db_->CreateTable(kTable).ok());
  ExpectEveryCallAnswers(old_table, "NotFound", "table 't' was dropped");
  const TableHandle new_table = Open(kTable);
  auto txn = db_->Begin();
  EXPECT_TRUE(Scan(*txn, new_table).empty());
  ASSERT_TRUE(txn->Put(new_table, "n", "new").ok());
  ASSERT_TRUE(txn->Commit().ok());
  std::string value;
  ASSERT_TRUE(db_->Get(kTable, "n", &value).ok());
  EXPECT_EQ(value, "new");
}

TEST_F(TableHandleTest, AStaleHandleKeepsNoLockOnTheNewTableOfItsName) {
  const TableHandle old_table = Open(kTable);
  ASSERT_TRUE(db_->DropTable(kTable).ok());
  ASSERT_TRUE(db_->CreateTable(kTable).ok());
  auto txn = db_->Begin();
  std::string value;
  EXPECT_EQ(Code(txn->Get(old_table, "a", &value)), "NotFound");
  EXPECT_EQ(Code(txn->LockTable(old_table, TableLockMode::kAccessExclusive)), "NotFound");
  // txn holds nothing on "t": a drop of the new table does not wait for it.
  TransactionOptions short_wait;
  short_wait.lock_timeout = std::chrono::milliseconds(100);
  auto dropper = db_->Begin(short_wait);
  EXPECT_TRUE(dropper->DropTable(kTable).ok());
  ASSERT_TRUE(dropper->Commit().ok());
  ASSERT_TRUE(txn->Commit().ok());
}

TEST_F(TableHandleTest, ADropWaitsForATransactionThatUsedTheTableThroughAHandle) {
  const TableHandle table = Open(kTable);
  auto reader = db_->Begin();
  std::string value;
  ASSERT_TRUE(reader->Get(table, "a", &value).ok());  // takes kAccessShare, held to its end

  TransactionOptions short_wait;
  short_wait.lock_timeout = std::chrono::milliseconds(50);
  auto dropper = db_->Begin(short_wait);
  const Status waited = dropper->DropTable(table);
  EXPECT_EQ(Code(waited), "LockTimeout") << waited.ToString();
  (void)dropper->Rollback();

  // The reader goes on through the handle; once it ends, the drop goes through.
  ASSERT_TRUE(reader->Get(table, "b", &value).ok());
  EXPECT_EQ(value, "2");
  ASSERT_TRUE(reader->Commit().ok());
  ASSERT_TRUE(db_->DropTable(table).ok());
  EXPECT_EQ(Code(db_->Get(table, "a", &value)), "NotFound");
}

TEST_F(TableHandleTest, DropThroughAHandleIsBusyWhileItsOwnIteratorIsOpen) {
  const TableHandle table = Open(kTable);
  auto txn = db_->Begin();
  auto it = txn->NewIterator(table);
  const Status busy = txn->DropTable(table);
  EXPECT_EQ(Code(busy), "Busy") << busy.ToString();
  it.reset();
  ASSERT_TRUE(txn->DropTable(table).ok());
  std::string value;
  EXPECT_EQ(Code(txn->Get(table, "a", &value)), "NotFound");
  ASSERT_TRUE(txn->Commit().ok());
  EXPECT_EQ(Code(db_->OpenTable(kTable).status()), "NotFound");
}

// ---- misuse: a Status each time, never a crash ----

TEST_F(TableHandleTest, ADefaultHandleAnswersInvalidArgument) {
  ExpectEveryCallAnswers(TableHandle(), "InvalidArgument", "the table handle names no table");
}

TEST_F(TableHandleTest, AnotherDatabasesHandleAnswersInvalidArgument) {
  TempDir other_dir;
  ASSERT_TRUE(other_dir.ok());
  std::unique_ptr<Database> other = OpenIn(other_dir.path());
  ASSERT_NE(other, nullptr);
  ASSERT_TRUE(other->CreateTable(kTable).ok());
  Result<TableHandle> foreign = other->OpenTable(kTable);
  ASSERT_TRUE(foreign.ok());
  ExpectEveryCallAnswers(*foreign, "InvalidArgument",
                         "table handle 't' belongs to another database");
  // And after the other database is gone.
  ASSERT_TRUE(other->Close().ok());
  other.reset();
  EXPECT_EQ(foreign->name(), kTable);
  ExpectEveryCallAnswers(*foreign, "InvalidArgument", "belongs to another database");
}

TEST_F(TableHandleTest, AHandleAfterCloseAndAfterTheDatabaseWasDestroyed) {
  const TableHandle table = Open(kTable);
  auto open_txn = db_->Begin();
  std::string value;
  ASSERT_TRUE(open_txn->Get(table, "a", &value).ok());
  EXPECT_EQ(Code(db_->Close()), "Busy");  // nothing changes
  ASSERT_TRUE(open_txn->Get(table, "b", &value).ok());
  ASSERT_TRUE(open_txn->Commit().ok());
  ASSERT_TRUE(db_->Close().ok());

  // After Close: the database's answer.
  const Status closed = db_->Get(table, "a", &value);
  EXPECT_EQ(Code(closed), "InvalidArgument") << closed.ToString();
  EXPECT_TRUE(Contains(closed.message(), "is closed")) << closed.ToString();
  EXPECT_EQ(Code(db_->OpenTable(kTable).status()), "InvalidArgument");
  EXPECT_EQ(Code(db_->DropTable(table)), "InvalidArgument");
  auto born_ended = db_->Begin();
  EXPECT_EQ(Code(born_ended->Put(table, "a", "x")), "InvalidArgument");
  EXPECT_EQ(Code(born_ended->NewIterator(table)->status()), "InvalidArgument");
  WriteBatch batch;
  batch.Put(table, "a", "x");
  for (const Status& answer :
       {db_->DescribeTable(table).status(), db_->ListVersions(table, "a").status(),
        db_->Put(table, "a", "x"), db_->Delete(table, "a"), db_->Write(batch)}) {
    EXPECT_EQ(Code(answer), "InvalidArgument") << answer.ToString();
    EXPECT_TRUE(Contains(answer.message(), "is closed")) << answer.ToString();
  }

  // The Database destroyed: the handle lives on; the same directory
  // reopened is another database, whose tables need new handles.
  db_.reset();
  EXPECT_EQ(table.name(), kTable);
  db_ = OpenIn(dir_.path());
  ASSERT_NE(db_, nullptr);
  ExpectEveryCallAnswers(table, "InvalidArgument", "belongs to another database");
  const TableHandle reopened = Open(kTable);
  ASSERT_TRUE(db_->Get(reopened, "a", &value).ok());
  EXPECT_EQ(value, "1");
}

TEST_F(TableHandleTest, ATransactionOutlivingItsDatabaseAnswersAbortedThroughAHandle) {
  const TableHandle table = Open(kTable);
  auto txn = db_->Begin();
  std::string value;
  ASSERT_TRUE(txn->Put(table, "a", "uncommitted").ok());
  auto it = txn->NewIterator(table);
  db_.reset();  // rolls txn back and ends its iterator
  EXPECT_EQ(Code(txn->Get(table, "a", &value)), "Aborted");
  EXPECT_EQ(Code(txn->Put(table, "a", "x")), "Aborted");
  EXPECT_EQ(Code(txn->NewIterator(table)->status()), "Aborted");
  EXPECT_FALSE(it->Valid());
  EXPECT_EQ(Code(it->status()), "Aborted");
}

}  // namespace
}  // namespace mvdb
