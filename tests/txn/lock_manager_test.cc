// LockManager::LockMany and UnlockMany, the row locks of a write batch
// (UnlockMany releases a lock-table shard at a time): the locks held
// afterwards, which were taken newly, waits in the order given (nothing past
// the lock waited for is held meanwhile), deadlock and timeout stopping
// where Lock would, and waiters woken by UnlockMany. Two batches over the
// same keys in opposite orders are in write_batch_concurrency_test.
#include "txn/lock_manager.h"

#include <gtest/gtest.h>

#include <chrono>
#include <string>
#include <thread>
#include <vector>

namespace mvdb {
namespace {

std::vector<std::string> Names(int n) {
  std::vector<std::string> names;
  for (int i = 0; i < n; ++i) names.push_back(LockManager::LockName(1, "key" + std::to_string(i)));
  return names;
}

std::vector<std::string_view> Views(const std::vector<std::string>& names) {
  return std::vector<std::string_view>(names.begin(), names.end());
}

TxnId HolderOf(const LockManager& locks, std::string_view name) {
  for (const LockManager::LockState& state : locks.Snapshot()) {
    if (state.name == name) return state.holder;
  }
  return 0;
}

// Waits until txn waits for a lock (the lock manager's own wait-for graph
// says so): the synchronisation the tests below rely on, no sleep.
void AwaitWaiting(const LockManager& locks, TxnId txn) {
  while (locks.WaitingFor(txn) == 0) std::this_thread::yield();
}

TEST(LockManyTest, TakesEveryFreeLockAndUnlockManyReleasesThem) {
  LockManager locks;
  const std::vector<std::string> names = Names(300);  // every shard, several times
  std::vector<uint8_t> newly(names.size());
  ASSERT_TRUE(locks.LockMany(7, Views(names), std::nullopt, newly).ok());
  for (size_t i = 0; i < names.size(); ++i) {
    EXPECT_EQ(newly[i], 1) << i;
    EXPECT_EQ(HolderOf(locks, names[i]), 7u) << i;
    EXPECT_FALSE(locks.TryLock(8, names[i])) << i;
  }
  locks.UnlockMany(7, Views(names));
  EXPECT_TRUE(locks.Snapshot().empty());
  std::vector<uint8_t> too_few(2);
  EXPECT_EQ(locks.LockMany(7, Views(names), std::nullopt, too_few).code(),
            StatusCode::kInvalidArgument);
  EXPECT_TRUE(locks.Snapshot().empty());
  for (const std::string& name : names) EXPECT_TRUE(locks.TryLock(8, name));
}

TEST(LockManyTest, LocksAlreadyHeldByTheCallerAreNotNew) {
  LockManager locks;
  const std::vector<std::string> names = Names(5);
  bool newly_one = false;
  bool waited = false;
  ASSERT_TRUE(locks.Lock(7, names[2], std::nullopt, &newly_one, &waited).ok());
  std::vector<uint8_t> newly(names.size());
  ASSERT_TRUE(locks.LockMany(7, Views(names), std::nullopt, newly).ok());
  EXPECT_EQ(newly, (std::vector<uint8_t>{1, 1, 0, 1, 1}));
  // UnlockMany leaves what another transaction holds alone.
  ASSERT_TRUE(locks.TryLock(9, LockManager::LockName(1, "other")));
  locks.UnlockMany(7, std::vector<std::string_view>{LockManager::LockName(1, "other")});
  EXPECT_EQ(HolderOf(locks, LockManager::LockName(1, "other")), 9u);
}

TEST(LockManyTest, WaitsInOrderHoldingNothingPastTheBusyLock) {
  LockManager locks;
  const std::vector<std::string> names = Names(6);
  ASSERT_TRUE(locks.TryLock(1, names[3]));  // transaction 1 holds key3
  std::vector<uint8_t> newly(names.size());
  Status result;
  std::thread batch([&] { result = locks.LockMany(2, Views(names), std::nullopt, newly); });
  AwaitWaiting(locks, 2);
  EXPECT_EQ(locks.WaitingFor(2), 1u);
  // While it waits for key3 it holds the keys before it, not those after.
  EXPECT_EQ(HolderOf(locks, names[0]), 2u);
  EXPECT_EQ(HolderOf(locks, names[2]), 2u);
  EXPECT_TRUE(locks.TryLock(3, names[5]));  // so a third transaction can take key5
  locks.UnlockMany(1, std::vector<std::string_view>{names[3]});  // wakes the batch
  // The batch takes key3 and key4, then waits for key5.
  while (HolderOf(locks, names[4]) != 2u || locks.WaitingFor(2) != 3u) std::this_thread::yield();
  locks.Unlock(3, names[5]);
  batch.join();
  ASSERT_TRUE(result.ok()) << result.ToString();
  for (size_t i = 0; i < names.size(); ++i) {
    EXPECT_EQ(newly[i], 1) << i;
    EXPECT_EQ(HolderOf(locks, names[i]), 2u) << i;
  }
}

TEST(LockManyTest, ADeadlockStopsAtTheLockThatClosesTheCycle) {
  LockManager locks;
  const std::vector<std::string> names = Names(4);
  ASSERT_TRUE(locks.TryLock(1, names[2]));  // transaction 1 holds key2
  ASSERT_TRUE(locks.TryLock(2, names[0]));  // transaction 2 holds key0
  Status first;
  std::thread waiter([&] {
    bool newly = false;
    bool waited = false;
    first = locks.Lock(1, names[0], std::nullopt, &newly, &waited);  // 1 waits for 2
  });
  AwaitWaiting(locks, 1);
  std::vector<uint8_t> newly(names.size());
  const Status status = locks.LockMany(2, Views(names), std::nullopt, newly);
  EXPECT_TRUE(status.IsDeadlock()) << status.ToString();
  // key0 was 2's already, key1 taken before the failure, nothing from key2 on.
  EXPECT_EQ(newly, (std::vector<uint8_t>{0, 1, 0, 0}));
  EXPECT_EQ(HolderOf(locks, names[1]), 2u);
  EXPECT_EQ(HolderOf(locks, names[3]), 0u);
  locks.UnlockMany(2, std::vector<std::string_view>{names[0], names[1]});
  waiter.join();
  EXPECT_TRUE(first.ok()) << first.ToString();
}

TEST(LockManyTest, ATimeoutKeepsTheLocksTakenBeforeIt) {
  LockManager locks;
  const std::vector<std::string> names = Names(3);
  ASSERT_TRUE(locks.TryLock(1, names[1]));
  std::vector<uint8_t> newly(names.size());
  const Status status = locks.LockMany(2, Views(names), std::chrono::milliseconds(20), newly);
  EXPECT_TRUE(status.IsLockTimeout()) << status.ToString();
  EXPECT_EQ(newly, (std::vector<uint8_t>{1, 0, 0}));
  EXPECT_EQ(HolderOf(locks, names[0]), 2u);
  EXPECT_EQ(HolderOf(locks, names[2]), 0u);
  EXPECT_EQ(locks.stats().timeouts, 1u);
}

TEST(LockManyTest, UnlockManyWakesWaiters) {
  LockManager locks;
  const std::vector<std::string> names = Names(40);
  std::vector<uint8_t> newly(names.size());
  ASSERT_TRUE(locks.LockMany(1, Views(names), std::nullopt, newly).ok());
  std::vector<std::thread> waiters;
  std::vector<Status> results(4);
  for (int w = 0; w < 4; ++w) {
    waiters.emplace_back([&, w] {
      bool taken = false;
      bool waited = false;
      results[w] =
          locks.Lock(10 + w, names[static_cast<size_t>(w) * 9], std::nullopt, &taken, &waited);
    });
  }
  for (int w = 0; w < 4; ++w) AwaitWaiting(locks, 10 + w);
  locks.UnlockMany(1, Views(names));
  for (std::thread& waiter : waiters) waiter.join();
  for (int w = 0; w < 4; ++w) {
    EXPECT_TRUE(results[w].ok()) << results[w].ToString();
    EXPECT_EQ(HolderOf(locks, names[static_cast<size_t>(w) * 9]), static_cast<TxnId>(10 + w));
  }
}

}  // namespace
}  // namespace mvdb
