// table_handles: tables opened once and used through handles. An example of
// mvdb's embedded API (mvdb/db.h) and nothing else, built against an
// installed mvdb (README.md here).
//
//   table_handles
//
// In a temporary database (removed at the end): opens two tables as
// handles, writes and reads through them in transactions and with
// Database::Get, shows that a drop waits for a transaction using the table
// through a handle, that a dropped table's handles answer NotFound (also
// once a table of the same name exists again), that a WriteBatch keeps the
// handles it names (a batch built before the drop applies nothing after
// it) and that a default handle answers InvalidArgument. Prints what it
// sees; exit status 1 if anything is not as described.
#include <stdlib.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <string>
#include <string_view>

#include "mvdb/db.h"

namespace {

int failures = 0;

[[noreturn]] void Die(const char* what, const mvdb::Status& status) {
  std::fprintf(stderr, "table_handles: %s: %s\n", what, status.ToString().c_str());
  std::exit(1);
}

void Check(bool holds, const char* what) {
  if (!holds) {
    std::fprintf(stderr, "table_handles: NOT AS EXPECTED: %s\n", what);
    ++failures;
  }
}

std::string Show(const mvdb::Status& status) { return status.ToString(); }

int Run(const std::string& dir) {
  mvdb::Options options;
  options.sync = mvdb::SyncMode::kOff;  // an example: durability is not the point
  mvdb::Result<std::unique_ptr<mvdb::Database>> opened = mvdb::Database::Open(dir, options);
  if (!opened.ok()) Die("open", opened.status());
  std::unique_ptr<mvdb::Database> db = std::move(opened).value();
  for (const char* name : {"users", "orders"}) {
    if (const mvdb::Status s = db->CreateTable(name); !s.ok()) Die("create table", s);
  }

  // Look each table up once; every later call goes straight to it.
  mvdb::Result<mvdb::TableHandle> users_or = db->OpenTable("users");
  mvdb::Result<mvdb::TableHandle> orders_or = db->OpenTable("orders");
  if (!users_or.ok()) Die("open table", users_or.status());
  if (!orders_or.ok()) Die("open table", orders_or.status());
  const mvdb::TableHandle users = *users_or;
  const mvdb::TableHandle orders = *orders_or;
  std::printf("opened handles on '%s' and '%s'\n", users.name().c_str(), orders.name().c_str());
  std::printf("OpenTable(\"missing\"): %s\n", Show(db->OpenTable("missing").status()).c_str());

  mvdb::Status s = db->Run([&](mvdb::Transaction& txn) {
    MVDB_RETURN_IF_ERROR(txn.Put(users, "alice", "Alice Liddell"));
    MVDB_RETURN_IF_ERROR(txn.Put(users, "bob", "Bob Cratchit"));
    MVDB_RETURN_IF_ERROR(txn.Put(orders, "0001", "alice: 3 teacups"));
    return txn.Put(orders, "0002", "bob: 1 goose");
  });
  if (!s.ok()) Die("write", s);

  std::string value;
  s = db->Get(users, "alice", &value);  // no transaction, no catalog lookup
  std::printf("Database::Get(users, alice): %s\n", s.ok() ? value.c_str() : Show(s).c_str());
  Check(s.ok() && value == "Alice Liddell", "Get through a handle reads the committed value");
  {
    std::unique_ptr<mvdb::Transaction> txn = db->Begin();
    std::unique_ptr<mvdb::Iterator> it = txn->NewIterator(orders);
    int count = 0;
    for (it->SeekToFirst(); it->Valid(); it->Next(), ++count) {
      std::printf("  orders: %.*s = %.*s\n", static_cast<int>(it->key().size()), it->key().data(),
                  static_cast<int>(it->value().size()), it->value().data());
    }
    Check(it->status().ok() && count == 2, "the scan through a handle sees both orders");
  }

  // A batch names its tables by handle too, and keeps the handles: this
  // one is written after orders was dropped (below), and applies nothing.
  mvdb::WriteBatch late;
  late.Put(users, "carol", "Carol Danvers");
  late.Put(orders, "0003", "carol: 2 hats");

  // A handle takes the table lock as a name does: a drop waits for the
  // transaction that used the table (here it gives up after 100 ms).
  std::unique_ptr<mvdb::Transaction> reader = db->Begin();
  s = reader->Get(orders, "0001", &value);
  Check(s.ok(), "a reader reads through the handle");
  mvdb::TransactionOptions short_wait;
  short_wait.lock_timeout = std::chrono::milliseconds(100);
  std::unique_ptr<mvdb::Transaction> dropper = db->Begin(short_wait);
  s = dropper->DropTable(orders);
  std::printf("DropTable(orders) while a reader holds it: %s\n", Show(s).c_str());
  Check(s.IsLockTimeout(), "the drop waits for the reader");
  (void)dropper->Rollback();
  s = reader->Commit();
  Check(s.ok(), "the reader commits");

  s = db->DropTable(orders);
  std::printf("DropTable(orders) once the reader ended: %s\n", Show(s).c_str());
  Check(s.ok(), "the drop goes through");
  s = db->Get(orders, "0001", &value);
  std::printf("Get through the dropped table's handle: %s\n", Show(s).c_str());
  Check(s.IsNotFound(), "a dropped table's handle answers NotFound");

  // A new table of the same name is another table: old handles stay dropped.
  if (const mvdb::Status c = db->CreateTable("orders"); !c.ok()) Die("create table", c);
  std::unique_ptr<mvdb::Transaction> txn = db->Begin();
  s = txn->Put(orders, "0003", "carol: 2 hats");
  std::printf("Put through the old handle after CREATE TABLE orders: %s\n", Show(s).c_str());
  Check(s.IsNotFound(), "the old handle does not reach the new table");
  mvdb::Result<mvdb::TableHandle> new_orders = db->OpenTable("orders");
  Check(new_orders.ok(), "a new handle opens the new table");
  if (new_orders.ok()) {
    s = txn->Put(*new_orders, "0003", "carol: 2 hats");
    std::printf("Put through a new handle: %s\n", Show(s).c_str());
    Check(s.ok(), "the new handle writes");
  }
  Check(txn->Commit().ok(), "the transaction commits");

  s = db->Write(late);
  std::printf("Write of a batch built on the old handle: %s\n", Show(s).c_str());
  Check(s.IsNotFound(), "a batch on a dropped table's handle answers NotFound");
  s = db->Get(users, "carol", &value);
  std::printf("its write to users: %s\n", s.IsNotFound() ? "not applied" : "APPLIED");
  Check(s.IsNotFound(), "none of that batch is applied");
  if (new_orders.ok()) {
    mvdb::WriteBatch batch;
    batch.Put(users, "carol", "Carol Danvers");
    batch.Put(*new_orders, "0004", "carol: 5 spoons");
    s = db->Write(batch);
    std::printf("Write of the batch through users and the new handle: %s\n", Show(s).c_str());
    Check(s.ok() && db->Get(users, "carol", &value).ok(), "a batch through handles writes");
  }

  // Misuse is a Status: a handle that names no table.
  const mvdb::TableHandle none;
  s = db->Get(none, "alice", &value);
  std::printf("Get through a default handle: %s\n", Show(s).c_str());
  Check(s.code() == mvdb::StatusCode::kInvalidArgument, "a default handle answers InvalidArgument");

  s = db->Close();
  if (!s.ok()) Die("close", s);
  std::printf("%s\n", failures == 0 ? "all checks hold" : "SOME CHECKS FAILED");
  return failures == 0 ? 0 : 1;
}

}  // namespace

int main() {
  const char* tmp = std::getenv("TMPDIR");
  std::string dir = std::string(tmp != nullptr && *tmp != '\0' ? tmp : "/tmp") + "/handles-XXXXXX";
  if (::mkdtemp(dir.data()) == nullptr) Die("mkdtemp", mvdb::Status::FromErrno(dir, errno));
  const int status = Run(dir);
  std::filesystem::remove_all(dir);
  return status;
}
