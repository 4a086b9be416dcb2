// Close racing with other threads' transactions (include/mvdb/db.h,
// Threading): while they run it answers Busy and changes nothing; once it
// closes, their next Begin, Run or call answers that the database is
// closed. Also under ThreadSanitizer (label concurrency).
#include <gtest/gtest.h>

#include <atomic>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "mvdb/db.h"
#include "mvdb/options.h"
#include "mvdb/status.h"
#include "tests/testing/temp_dir.h"

namespace mvdb {
namespace {

constexpr char kTable[] = "t";

TEST(MisuseConcurrencyTest, CloseRacingWithTransactionsIsBusyOrClosesCleanly) {
  testing::TempDir dir;
  ASSERT_TRUE(dir.ok());
  Options options;
  options.sync = SyncMode::kOff;
  options.cache_mb = 4;
  auto opened = Database::Open(dir.path(), options);
  ASSERT_TRUE(opened.ok()) << opened.status().ToString();
  std::unique_ptr<Database> db = std::move(opened).value();
  ASSERT_TRUE(db->CreateTable(kTable).ok());

  // Workers commit until told the database is closing, then park between
  // transactions; once it is closed they check that Begin and Run say so.
  constexpr int kWorkers = 3;
  std::atomic<int> committed{0};
  std::atomic<bool> closing{false};
  std::atomic<int> parked{0};
  std::atomic<bool> closed{false};
  const auto is_closed = [](const Status& status) {
    return status.code() == StatusCode::kInvalidArgument &&
           status.message().find("is closed") != std::string_view::npos;
  };
  std::vector<std::thread> workers;
  for (int w = 0; w < kWorkers; ++w) {
    workers.emplace_back([&, w] {
      const std::string key = "k" + std::to_string(w);
      for (int n = 0; !closing.load(); ++n) {
        Status status;
        if (n % 2 == 0) {
          status =
              db->Run([&](Transaction& txn) { return txn.Put(kTable, key, std::to_string(n)); });
        } else {
          std::unique_ptr<Transaction> txn = db->Begin();
          status = txn->Put(kTable, key, std::to_string(n));
          std::unique_ptr<Iterator> it = txn->NewIterator(kTable);
          it->SeekToFirst();
          if (status.ok()) status = txn->Commit();
        }
        if (status.ok()) {
          committed.fetch_add(1);
        } else {
          // Only the first Close may have closed it under us.
          EXPECT_TRUE(is_closed(status)) << status.ToString();
          break;
        }
      }
      parked.fetch_add(1);
      while (!closed.load()) std::this_thread::yield();
      EXPECT_TRUE(is_closed(db->Run([](Transaction&) { return Status::OK(); })));
      std::unique_ptr<Transaction> txn = db->Begin();
      EXPECT_TRUE(is_closed(txn->Put(kTable, key, "late")));
    });
  }

  while (committed.load() < 10 * kWorkers) std::this_thread::yield();
  // While they run: Busy (a transaction is open) or, if none happened to
  // be, closed.
  Status first = db->Close();
  EXPECT_TRUE(first.ok() || first.IsBusy()) << first.ToString();
  closing = true;
  while (parked.load() < kWorkers) std::this_thread::yield();
  if (!first.ok()) {
    const Status second = db->Close();  // every transaction has ended
    EXPECT_TRUE(second.ok()) << second.ToString();
  }
  closed = true;
  for (std::thread& worker : workers) worker.join();
  EXPECT_TRUE(is_closed(db->Close()));
}

}  // namespace
}  // namespace mvdb
