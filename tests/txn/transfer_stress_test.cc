// The bank-transfer stress test: four threads move random amounts between
// accounts through Database::Run while a reader sums every account in one
// snapshot, again and again.
//
// What it shows: a snapshot never sees half a transfer (every sum is the
// initial total), and no update is lost (each account's final balance is its
// initial balance plus the amounts of the transfers whose Run returned OK,
// which only holds if every committed transfer read the balances it
// overwrote). Run at snapshot isolation with plain Get + Put (first updater
// wins must catch the races) and at read committed with GetForUpdate + Put
// (the row locks must), with uniform and with skewed account choice (most
// transfers touch four hot accounts, to force conflicts and deadlocks), and
// once with a reopen at the end. Prints the abort counts from stats().
//
// MVDB_STRESS_TXNS sets the transfers per thread (default 2,000, 1,000 under
// ThreadSanitizer); MVDB_SEED the seed.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cinttypes>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <ostream>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "mvdb/db.h"
#include "mvdb/options.h"
#include "mvdb/status.h"
#include "tests/testing/temp_dir.h"

#if defined(__SANITIZE_THREAD__)
#define MVDB_UNDER_TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define MVDB_UNDER_TSAN 1
#endif
#endif

namespace mvdb {
namespace {

constexpr char kAccounts[] = "accounts";
constexpr int kAccountCount = 50;
constexpr int64_t kInitialBalance = 1000;
constexpr int64_t kTotal = kAccountCount * kInitialBalance;
constexpr int kThreads = 4;
constexpr int kHotAccounts = 4;
constexpr int kHotPercent = 90;

int TransfersPerThread() {
  if (const char* env = std::getenv("MVDB_STRESS_TXNS"); env != nullptr && *env != '\0') {
    return std::atoi(env);
  }
#ifdef MVDB_UNDER_TSAN
  return 1000;
#else
  return 2000;
#endif
}

// Fixed width, so that keys sort in account order.
std::string AccountKey(int account) {
  char key[16];
  std::snprintf(key, sizeof(key), "acct%03d", account);
  return key;
}

// Balances are decimal strings (negative balances are allowed: the test is
// about atomicity, not overdrafts).
Status ReadBalance(Transaction& txn, int account, bool for_update, int64_t* balance) {
  std::string value;
  const std::string key = AccountKey(account);
  MVDB_RETURN_IF_ERROR(for_update ? txn.GetForUpdate(kAccounts, key, &value)
                                  : txn.Get(kAccounts, key, &value));
  *balance = std::strtoll(value.c_str(), nullptr, 10);
  return Status::OK();
}

struct StressCase {
  const char* name;
  IsolationLevel isolation;
  bool get_for_update;  // read with GetForUpdate (else plain Get)
  bool skewed;          // most transfers between the hot accounts
  bool reopen;          // Close and Open at the end, then check again
};
void PrintTo(const StressCase& c, std::ostream* os) { *os << c.name; }

class TransferStressTest : public ::testing::TestWithParam<StressCase> {
 protected:
  void SetUp() override {
    ASSERT_TRUE(dir_.ok());
    options_.sync = SyncMode::kOff;  // durability is checked by the reopen case
    options_.cache_mb = 8;
    ASSERT_NO_FATAL_FAILURE(Open());
    ASSERT_TRUE(db_->CreateTable(kAccounts).ok());
    auto txn = db_->Begin();
    for (int i = 0; i < kAccountCount; ++i) {
      ASSERT_TRUE(txn->Put(kAccounts, AccountKey(i), std::to_string(kInitialBalance)).ok());
    }
    ASSERT_TRUE(txn->Commit().ok());
  }

  void TearDown() override {
    if (db_ != nullptr) {
      EXPECT_TRUE(db_->Close().ok());
    }
  }

  void Open() {
    auto opened = Database::Open(dir_.path(), options_);
    ASSERT_TRUE(opened.ok()) << opened.status().ToString();
    db_ = std::move(opened).value();
  }

  // Every balance, read in one snapshot with an iterator. Empty on error.
  std::vector<int64_t> Balances() {
    TransactionOptions options;
    options.isolation = IsolationLevel::kSnapshot;
    options.read_only = true;
    auto txn = db_->Begin(options);
    std::vector<int64_t> balances;
    {
      auto it = txn->NewIterator(kAccounts);
      for (it->SeekToFirst(); it->Valid(); it->Next()) {
        EXPECT_EQ(it->key(), AccountKey(static_cast<int>(balances.size())));
        balances.push_back(std::strtoll(std::string(it->value()).c_str(), nullptr, 10));
      }
      EXPECT_TRUE(it->status().ok()) << it->status().ToString();
      if (!it->status().ok()) balances.clear();
    }
    EXPECT_TRUE(txn->Commit().ok());
    return balances;
  }

  testing::TempDir dir_{"transfer", /*prefer_tmpfs=*/true};
  Options options_;
  std::unique_ptr<Database> db_;
};

TEST_P(TransferStressTest, SnapshotsSeeWholeTransfersAndNoUpdateIsLost) {
  const StressCase c = GetParam();
  const uint64_t seed = testing::TestSeed(20240901);
  SCOPED_TRACE("MVDB_SEED=" + std::to_string(seed));
  const int transfers_per_thread = TransfersPerThread();

  RunOptions run;
  run.transaction.isolation = c.isolation;
  run.max_attempts = 1000;  // a transfer gives up only if something is badly wrong

  // Each writer's net change per account from its transfers whose Run
  // returned OK; summed at the end, they must equal the balance changes.
  std::vector<std::vector<int64_t>> deltas(kThreads, std::vector<int64_t>(kAccountCount, 0));
  std::vector<int> committed(kThreads, 0);
  std::vector<int> given_up(kThreads, 0);
  std::atomic<int> writers_left{kThreads};

  auto writer = [&](int thread) {
    std::mt19937_64 rng(seed + static_cast<uint64_t>(thread));
    std::uniform_int_distribution<int> any_account(0, kAccountCount - 1);
    std::uniform_int_distribution<int> hot_account(0, kHotAccounts - 1);
    std::uniform_int_distribution<int> percent(0, 99);
    std::uniform_int_distribution<int64_t> amount_of(1, 100);
    for (int i = 0; i < transfers_per_thread; ++i) {
      // Chosen outside the transaction: a retry repeats the same transfer.
      const bool hot = c.skewed && percent(rng) < kHotPercent;
      const int from = hot ? hot_account(rng) : any_account(rng);
      int to = from;
      while (to == from) to = hot ? hot_account(rng) : any_account(rng);
      const int64_t amount = amount_of(rng);
      Status status = db_->Run(
          [&](Transaction& txn) {
            int64_t from_balance = 0;
            int64_t to_balance = 0;
            MVDB_RETURN_IF_ERROR(ReadBalance(txn, from, c.get_for_update, &from_balance));
            MVDB_RETURN_IF_ERROR(ReadBalance(txn, to, c.get_for_update, &to_balance));
            MVDB_RETURN_IF_ERROR(
                txn.Put(kAccounts, AccountKey(from), std::to_string(from_balance - amount)));
            return txn.Put(kAccounts, AccountKey(to), std::to_string(to_balance + amount));
          },
          run);
      if (status.ok()) {
        deltas[thread][from] -= amount;
        deltas[thread][to] += amount;
        ++committed[thread];
      } else {
        EXPECT_TRUE(status.IsRetryable()) << status.ToString();
        ++given_up[thread];
      }
    }
    --writers_left;
  };

  // Sums every account in one snapshot, alternating between an iterator and
  // Gets, until the writers are done (and at least once more after).
  std::atomic<int> sums{0};
  auto reader = [&] {
    TransactionOptions options;
    options.isolation = IsolationLevel::kSnapshot;
    options.read_only = true;
    bool last_pass = false;
    for (int pass = 0; !last_pass; ++pass) {
      last_pass = writers_left.load() == 0;
      auto txn = db_->Begin(options);
      int64_t total = 0;
      int accounts = 0;
      if (pass % 2 == 0) {
        auto it = txn->NewIterator(kAccounts);
        for (it->SeekToFirst(); it->Valid(); it->Next()) {
          total += std::strtoll(std::string(it->value()).c_str(), nullptr, 10);
          ++accounts;
        }
        ASSERT_TRUE(it->status().ok()) << it->status().ToString();
      } else {
        for (int i = 0; i < kAccountCount; ++i) {
          int64_t balance = 0;
          Status status = ReadBalance(*txn, i, /*for_update=*/false, &balance);
          ASSERT_TRUE(status.ok()) << status.ToString();
          total += balance;
          ++accounts;
        }
      }
      ASSERT_EQ(accounts, kAccountCount) << "pass " << pass;
      ASSERT_EQ(total, kTotal) << "pass " << pass << ": a snapshot saw part of a transfer";
      ASSERT_TRUE(txn->Commit().ok());
      ++sums;
    }
  };

  const auto start = std::chrono::steady_clock::now();
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) threads.emplace_back(writer, t);
  threads.emplace_back(reader);
  for (std::thread& thread : threads) thread.join();
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();

  std::vector<int64_t> expected(kAccountCount, kInitialBalance);
  int total_committed = 0;
  int total_given_up = 0;
  for (int t = 0; t < kThreads; ++t) {
    for (int i = 0; i < kAccountCount; ++i) expected[i] += deltas[t][i];
    total_committed += committed[t];
    total_given_up += given_up[t];
  }
  const DatabaseStats stats = db_->stats();
  std::printf(
      "[ %s ] %d transfers committed, %d given up, %d snapshot sums in %.2f s; "
      "aborts: conflict %" PRIu64 ", deadlock %" PRIu64 ", lock timeout %" PRIu64
      ", snapshot too old %" PRIu64 "; lock waits %" PRIu64 "; commits %" PRIu64 "\n",
      c.name, total_committed, total_given_up, sums.load(), seconds, stats.aborts_conflict,
      stats.aborts_deadlock, stats.aborts_lock_timeout, stats.aborts_snapshot_too_old,
      stats.lock_waits, stats.commits);
  EXPECT_EQ(total_given_up, 0);
  EXPECT_GE(sums.load(), 1);
  // Every commit with writes: the initial load plus each transfer that ran.
  EXPECT_EQ(stats.commits, static_cast<uint64_t>(total_committed) + 1);
  if (c.isolation == IsolationLevel::kReadCommitted) {
    // Waits replace conflicts at read committed.
    EXPECT_EQ(stats.aborts_conflict, 0u);
  }

  std::vector<int64_t> balances = Balances();
  EXPECT_EQ(balances, expected) << "a committed transfer was lost or half applied";
  if (c.reopen) {
    ASSERT_TRUE(db_->Close().ok());
    db_.reset();
    ASSERT_NO_FATAL_FAILURE(Open());
    EXPECT_EQ(Balances(), expected) << "after reopen";
  }
}

INSTANTIATE_TEST_SUITE_P(
    Cases, TransferStressTest,
    ::testing::Values(
        StressCase{"SnapshotGetPut", IsolationLevel::kSnapshot, false, false, false},
        StressCase{"ReadCommittedGetForUpdate", IsolationLevel::kReadCommitted, true, false, false},
        StressCase{"SnapshotGetPutSkewed", IsolationLevel::kSnapshot, false, true, false},
        StressCase{"ReadCommittedGetForUpdateSkewed", IsolationLevel::kReadCommitted, true, true,
                   false},
        StressCase{"SnapshotGetPutSkewedThenReopen", IsolationLevel::kSnapshot, false, true, true}),
    [](const ::testing::TestParamInfo<StressCase>& info) { return std::string(info.param.name); });

}  // namespace
}  // namespace mvdb
