// A table dropped while other threads use it through handles
// (include/mvdb/db.h, TableHandle): the drop waits for the transactions
// using it (it never answers Busy for their iterators, which end before
// their table locks go), and every call through a handle answers OK before
// the drop and NotFound ("was dropped") after it — also once a table of
// the same name exists again — never anything else, never a use of the
// freed tree. A shared snapshot reads and opens iterators through the
// handle meanwhile (its iterators make the drop Busy while open), and a
// WriteBatch built once on the handle is written again and again (it keeps
// the handle, so after the drop it answers "was dropped" too). Under
// ThreadSanitizer (label concurrency) and ASan. No sleeps: the threads
// wait for each other on counters.
#include <gtest/gtest.h>

#include <atomic>
#include <memory>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "mvdb/db.h"
#include "mvdb/options.h"
#include "mvdb/status.h"
#include "tests/testing/temp_dir.h"

namespace mvdb {
namespace {

constexpr char kTable[] = "t";
constexpr char kOther[] = "other";

bool IsDropped(const Status& status) {
  return status.IsNotFound() && status.message().find("was dropped") != std::string::npos;
}

// What a thread saw: successes only before the first "dropped", then only
// "dropped".
struct Observer {
  std::atomic<int> ops{0};
  std::atomic<bool> saw_drop{false};
  std::string error;  // read after join

  void See(const Status& status) {
    if (status.ok()) {
      if (saw_drop.load() && error.empty()) error = "OK after the drop was seen";
    } else if (IsDropped(status)) {
      saw_drop.store(true);
    } else if (error.empty()) {
      error = status.ToString();
    }
    ops.fetch_add(1);
  }
};

TEST(TableHandleConcurrencyTest, DropWhileOtherThreadsUseHandles) {
  testing::TempDir dir;
  ASSERT_TRUE(dir.ok());
  Options options;
  options.sync = SyncMode::kOff;
  options.cache_mb = 4;
  options.lock_timeout = std::chrono::seconds(60);  // a lost wake-up fails instead of hanging
  auto opened = Database::Open(dir.path(), options);
  ASSERT_TRUE(opened.ok()) << opened.status().ToString();
  std::unique_ptr<Database> db = std::move(opened).value();
  ASSERT_TRUE(db->CreateTable(kTable).ok());
  ASSERT_TRUE(db->CreateTable(kOther).ok());
  Result<TableHandle> handle = db->OpenTable(kTable);
  ASSERT_TRUE(handle.ok());
  const TableHandle table = *handle;

  constexpr int kWriters = 2;
  std::atomic<bool> stop{false};
  std::vector<Observer> observers(kWriters + 3);
  std::vector<std::thread> threads;
  for (int w = 0; w < kWriters; ++w) {
    threads.emplace_back([&, w] {
      const TableHandle mine = table;  // a copy per thread
      const std::string key = "k" + std::to_string(w);
      std::string value;
      while (!stop.load()) {
        auto txn = db->Begin();
        Status status = txn->Put(mine, key, std::to_string(observers[w].ops.load()));
        if (status.ok()) status = txn->Get(mine, key, &value);
        // The iterator stays open through the commit: the transaction's
        // end must end it before its table lock lets the drop in.
        std::unique_ptr<Iterator> it;
        if (status.ok()) {
          it = txn->NewIterator(mine);
          it->SeekToFirst();
          status = it->status();
        }
        if (status.ok()) {
          status = txn->Commit();
        } else {
          EXPECT_TRUE(txn->Rollback().ok());
        }
        observers[w].See(status);
      }
    });
  }
  threads.emplace_back([&] {  // reads without a transaction
    std::string value;
    while (!stop.load()) {
      const Status status = db->Get(table, "k0", &value);
      observers[kWriters].See(status.IsNotFound() && !IsDropped(status) ? Status::OK() : status);
    }
  });

  threads.emplace_back([&] {  // a shared snapshot's reads and iterators through the handle
    Result<Snapshot> taken = db->GetSnapshot();
    ASSERT_TRUE(taken.ok());
    const Snapshot snapshot = *taken;
    std::string value;
    while (!stop.load()) {
      Status status = snapshot.Get(table, "k0", &value);
      if (status.IsNotFound() && !IsDropped(status)) status = Status::OK();
      if (status.ok()) {
        std::unique_ptr<Iterator> it = snapshot.NewIterator(table);
        it->SeekToFirst();
        status = it->status();
      }
      observers[kWriters + 1].See(status);
    }
  });

  threads.emplace_back([&] {  // one batch, built once, written again and again
    WriteBatch batch;
    batch.Put(kOther, "b", "by name");
    batch.Put(table, "b", "by handle");
    batch.Delete(table, "gone");
    while (!stop.load()) observers[kWriters + 2].See(db->Write(batch));
  });

  for (const Observer& observer : observers) {
    while (observer.ops.load() < 50) std::this_thread::yield();
  }
  // Busy only while the snapshot's iterator is open (a transaction's end
  // before its lock goes): tried again until that moment has passed.
  Status dropped = db->DropTable(table);
  while (dropped.IsBusy()) {
    std::this_thread::yield();
    dropped = db->DropTable(table);
  }
  EXPECT_TRUE(dropped.ok()) << dropped.ToString();
  ASSERT_TRUE(db->CreateTable(kTable).ok());  // a new table of the name: the handles stay dropped
  for (Observer& observer : observers) {
    const int at = observer.ops.load();
    while (!observer.saw_drop.load() || observer.ops.load() < at + 20) std::this_thread::yield();
  }
  stop.store(true);
  for (std::thread& thread : threads) thread.join();
  for (const Observer& observer : observers) EXPECT_EQ(observer.error, "") << observer.error;

  // The new table is untouched by the old handles.
  Result<TableHandle> fresh = db->OpenTable(kTable);
  ASSERT_TRUE(fresh.ok());
  auto txn = db->Begin();
  auto it = txn->NewIterator(*fresh);
  it->SeekToFirst();
  EXPECT_FALSE(it->Valid());
  EXPECT_TRUE(it->status().ok()) << it->status().ToString();
}

}  // namespace
}  // namespace mvdb
