// The fixture and helpers of the transaction tests (txn_test.cc: what each
// level sees, iterators, locks; txn_lifecycle_test.cc: collection, Run,
// durability, tables, errors): a fresh database with one table per test.
#pragma once

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <ostream>
#include <random>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include "engine/engine.h"
#include "mvdb/db.h"
#include "mvdb/options.h"
#include "mvdb/status.h"
#include "tests/testing/temp_dir.h"

namespace mvdb {

inline constexpr char kTable[] = "t";
inline constexpr IsolationLevel kSnapshot = IsolationLevel::kSnapshot;
inline constexpr IsolationLevel kReadCommitted = IsolationLevel::kReadCommitted;

// The code's name ("Conflict", "OK"), so that a failed expectation prints
// something readable.
inline std::string_view Code(const Status& status) { return StatusCodeName(status.code()); }

// Polls `condition` until it holds or `timeout` passes; returns whether it
// held. For waiting until another thread is blocked in a lock wait.
inline bool WaitUntil(const std::function<bool()>& condition,
                      std::chrono::milliseconds timeout = std::chrono::seconds(10)) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (condition()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  return condition();
}

// "v<n>", the n-th value written to a key. (Built with append: GCC 12 warns
// falsely, -Wrestrict, about "literal" + std::to_string inlined in a loop.)
inline std::string VersionValue(int n) {
  std::string value = "v";
  value.append(std::to_string(n));
  return value;
}

using KeyValues = std::vector<std::pair<std::string, std::string>>;

// Everything from the iterator's current position onwards, moving with
// Next (forward) or Prev (backward).
inline KeyValues Drain(Iterator& it, bool forward = true) {
  KeyValues out;
  while (it.Valid()) {
    out.emplace_back(std::string(it.key()), std::string(it.value()));
    if (forward) {
      it.Next();
    } else {
      it.Prev();
    }
  }
  EXPECT_TRUE(it.status().ok()) << it.status().ToString();
  return out;
}

class TxnTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(dir_.ok());
    // Durability is not the point of most tests; kOff keeps them fast.
    options_.sync = SyncMode::kOff;
    options_.cache_mb = 8;
    ASSERT_NO_FATAL_FAILURE(Reopen(options_));
    ASSERT_TRUE(db_->CreateTable(kTable).ok());
  }

  void TearDown() override {
    if (db_ != nullptr) {
      EXPECT_TRUE(db_->Close().ok());
    }
  }

  // Closes the database (if open) and opens the same directory with `options`.
  void Reopen(const Options& options) {
    if (db_ != nullptr) {
      ASSERT_TRUE(db_->Close().ok());
      db_.reset();
    }
    auto opened = Database::Open(dir_.path(), options);
    ASSERT_TRUE(opened.ok()) << opened.status().ToString();
    db_ = std::move(opened).value();
  }

  std::unique_ptr<Transaction> Begin(IsolationLevel level) {
    TransactionOptions options;
    options.isolation = level;
    return db_->Begin(options);
  }

  // Commits key = value (or a delete) in a transaction of its own.
  void CommitPut(std::string_view key, std::string_view value, std::string_view table = kTable) {
    auto txn = db_->Begin();
    ASSERT_TRUE(txn->Put(table, key, value).ok());
    ASSERT_TRUE(txn->Commit().ok());
  }
  void CommitDelete(std::string_view key) {
    auto txn = db_->Begin();
    ASSERT_TRUE(txn->Delete(kTable, key).ok());
    ASSERT_TRUE(txn->Commit().ok());
  }

  // The value of `key` as `txn` sees it, "<NotFound>", or "<status>" for
  // another error.
  static std::string Read(Transaction& txn, std::string_view key, std::string_view table = kTable) {
    std::string value;
    Status status = txn.Get(table, key, &value);
    if (status.ok()) return value;
    if (status.IsNotFound()) return "<NotFound>";
    return "<" + status.ToString() + ">";
  }
  // The newest committed value of `key`, read in a new transaction.
  std::string ReadLatest(std::string_view key, std::string_view table = kTable) {
    auto txn = Begin(kReadCommitted);
    std::string value = Read(*txn, key, table);
    EXPECT_TRUE(txn->Commit().ok());
    return value;
  }

  // What ListTransactions says transaction `id` waits for (0: nothing).
  uint64_t WaitingFor(uint64_t id) const {
    for (const TransactionInfo& info : db_->ListTransactions()) {
      if (info.id == id) return info.waiting_for;
    }
    return 0;
  }

  testing::TempDir dir_{"txn", /*prefer_tmpfs=*/true};
  Options options_;
  std::unique_ptr<Database> db_;
};

}  // namespace mvdb
