// Several writers and a reader that keeps a snapshot open (renewing it when
// it is reclaimed), with a small max_version_bytes: the counted old
// versions never exceed the limit by more than what the commits in flight
// install, because a commit that leaves them over it runs a collection
// pass before it returns (txn/transaction.cc, the end of Commit). Also
// under ThreadSanitizer.
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <cstdint>
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

std::string Key(int i) { return "key" + std::to_string(100000 + i); }

TEST(VersionBoundConcurrencyTest, WritersCannotOutrunMaxVersionBytes) {
  constexpr size_t kBudget = size_t{1} << 20;
  constexpr int kWriters = 4;
  constexpr int kKeysPerWriter = 2000;
  constexpr int kPerCommit = 50;
  constexpr int kCommits = 300;  // per writer: 15,000 updates of 16-byte values
  // What one commit installs at most: 50 versions, each well under 1 KiB
  // counted (value, chain, key, work item).
  constexpr size_t kPerCommitBytes = size_t{kPerCommit} << 10;
  testing::TempDir dir("vbound", /*prefer_tmpfs=*/true);
  ASSERT_TRUE(dir.ok());
  Options options;
  options.sync = SyncMode::kOff;
  options.max_version_bytes = kBudget;
  auto opened = Database::Open(dir.path(), options);
  ASSERT_TRUE(opened.ok()) << opened.status().ToString();
  std::unique_ptr<Database> db = std::move(opened).value();
  ASSERT_TRUE(db->CreateTable(kTable).ok());
  {
    auto loader = db->Begin();
    for (int i = 0; i < kWriters * kKeysPerWriter; ++i) {
      ASSERT_TRUE(loader->Put(kTable, Key(i), "initial-value-00").ok());
    }
    ASSERT_TRUE(loader->Commit().ok());
  }

  std::atomic<int> writers_done{0};
  std::atomic<uint64_t> max_counted{0};
  std::atomic<int> reclaimed{0};
  std::thread reader([&] {
    TransactionOptions snapshot;
    snapshot.isolation = IsolationLevel::kSnapshot;
    std::string value;
    auto txn = db->Begin(snapshot);
    EXPECT_TRUE(txn->Get(kTable, Key(0), &value).ok());
    for (int i = 0; writers_done.load() < kWriters; i = (i + 1) % kKeysPerWriter) {
      const Status read = txn->Get(kTable, Key(i), &value);
      if (read.IsSnapshotTooOld()) {
        reclaimed.fetch_add(1);
        EXPECT_TRUE(txn->Rollback().ok());
        txn = db->Begin(snapshot);
      } else {
        EXPECT_TRUE(read.ok()) << read.ToString();
      }
    }
  });
  std::vector<std::thread> writers;
  for (int w = 0; w < kWriters; ++w) {
    writers.emplace_back([&, w] {
      struct Done {  // also when an assertion ends the thread early
        std::atomic<int>* count;
        ~Done() { count->fetch_add(1); }
      } done{&writers_done};
      int next = 0;
      for (int commit = 0; commit < kCommits; ++commit) {
        const std::string value = "value-" + std::to_string(1000000000 + commit);
        // A writer's own snapshot may be the one the bound reclaims
        // (SnapshotTooOld, retryable): Run begins it again.
        const Status run = db->Run([&](Transaction& txn) {
          for (int i = 0; i < kPerCommit; ++i) {
            MVDB_RETURN_IF_ERROR(
                txn.Put(kTable, Key(w * kKeysPerWriter + (next + i) % kKeysPerWriter), value));
          }
          return Status::OK();
        });
        ASSERT_TRUE(run.ok()) << run.ToString();
        next = (next + kPerCommit) % kKeysPerWriter;
        const uint64_t counted = db->stats().old_version_bytes;
        uint64_t seen = max_counted.load();
        while (counted > seen && !max_counted.compare_exchange_weak(seen, counted)) {
        }
      }
    });
  }
  for (std::thread& t : writers) t.join();
  reader.join();
  EXPECT_GE(reclaimed.load(), 1);
  EXPECT_LE(max_counted.load(), kBudget + kWriters * kPerCommitBytes);
  EXPECT_TRUE(db->Close().ok());
}

}  // namespace
}  // namespace mvdb
