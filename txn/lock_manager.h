// LockManager: exclusive row locks and table locks in PostgreSQL's modes,
// held to the end of a transaction, waits with timeouts, and deadlock
// detection when a wait starts.
//
// A row lock is named by a table id and a key. Only writers (and
// GetForUpdate) take row locks; readers never do. A table lock is named by
// the table's name and taken at a transaction's first use of the table
// (reads too), so that DDL waits for the transactions using the table and
// they wait for it. The rules are the essay at the top of lock_manager.cc.
//
// Threading: every method may be called from any thread; one transaction
// calls Lock from one thread at a time.
#pragma once

#include <array>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "mvdb/db.h"
#include "mvdb/status.h"

namespace mvdb {

using TxnId = uint64_t;

struct LockWaitStats {
  uint64_t waits = 0;
  uint64_t deadlocks = 0;
  uint64_t timeouts = 0;
};

class LockManager {
 public:
  // The lock's name: 4-byte table id then the key (as VersionStore names
  // chains), built by the caller once per key.
  static std::string LockName(uint32_t table, std::string_view key);

  // Takes the lock `name` for txn, waiting while another transaction holds
  // it. OK once held (also if txn held it already; *newly is then false).
  // Deadlock if waiting would close a cycle of waits (txn is the victim);
  // LockTimeout after `timeout` (unset: no limit). `*waited` tells whether
  // it had to wait.
  Status Lock(TxnId txn, std::string_view name, std::optional<std::chrono::milliseconds> timeout,
              bool* newly, bool* waited);
  // Lock for several names in the order given, stopping at the first
  // failure: newly[i] tells whether names[i] was taken by this call (the
  // locks taken before a failure stay held). Callers that all lock in one
  // order (write batches: key order) never wait for each other in a cycle.
  // InvalidArgument (taking nothing) unless newly.size() == names.size().
  Status LockMany(TxnId txn, std::span<const std::string_view> names,
                  std::optional<std::chrono::milliseconds> timeout, std::span<uint8_t> newly);
  // Takes `name` for txn if nobody holds it or waits for it; never waits.
  bool TryLock(TxnId txn, const std::string& name);
  // Releases `name` if txn holds it and wakes its waiters.
  void Unlock(TxnId txn, std::string_view name);
  // Unlock for several names, a shard's mutex once for all of its names.
  void UnlockMany(TxnId txn, std::span<const std::string_view> names);

  // Takes table lock `name` in `mode` for txn, waiting while another
  // transaction holds a conflicting mode or an earlier waiter asks for one
  // (PostgreSQL's queue; a transaction that already holds the table in a
  // mode a waiter conflicts with goes ahead of it). OK once held (*newly:
  // txn did not hold this mode before); Deadlock and LockTimeout as Lock.
  Status LockTable(TxnId txn, const std::string& name, TableLockMode mode,
                   std::optional<std::chrono::milliseconds> timeout, bool* newly);
  // Releases the modes in `modes` (a bit per TableLockMode; all by
  // default) that txn holds of table `name` and wakes the waiters.
  void UnlockTable(TxnId txn, const std::string& name, uint8_t modes = 0xff);
  // True when modes a and b conflict (PostgreSQL's table).
  static bool Conflicts(TableLockMode a, TableLockMode b);

  // A transaction txn waits for (for a table lock, the first of them), or 0.
  TxnId WaitingFor(TxnId txn) const;
  struct LockState {
    std::string name;
    TxnId holder = 0;  // 0: released, a waiter is about to take it
    std::vector<TxnId> waiters;
  };
  std::vector<LockState> Snapshot() const;
  struct TableLockState {
    std::string name;
    std::vector<std::pair<TxnId, TableLockMode>> granted;
    std::vector<std::pair<TxnId, TableLockMode>> waiting;  // in queue order
  };
  std::vector<TableLockState> TableSnapshot() const;
  LockWaitStats stats() const;

 private:
  struct Entry {
    TxnId holder = 0;
    std::vector<TxnId> waiters;
  };
  struct NameHash {
    using is_transparent = void;
    size_t operator()(std::string_view name) const { return std::hash<std::string_view>{}(name); }
  };
  struct Shard {
    mutable std::mutex mu;
    std::condition_variable released;
    // Looked up by string_view (a transparent hash): a caller's name needs
    // no std::string of its own.
    std::unordered_map<std::string, Entry, NameHash, std::equal_to<>> locks;
  };
  static constexpr size_t kShards = 64;

  // A table lock: the modes granted (a bit per mode, per transaction) and
  // the queue of requests not yet granted.
  struct TableRequest {
    TxnId txn = 0;
    TableLockMode mode = TableLockMode::kAccessShare;
  };
  struct TableEntry {
    std::vector<std::pair<TxnId, uint8_t>> granted;
    std::vector<TableRequest> queue;
    uint8_t HeldBy(TxnId txn) const;
  };
  // The transactions txn's request at queue position `at` (queue.size():
  // not queued) must wait for: other holders of a conflicting mode and
  // conflicting requests ahead of it.
  static std::vector<TxnId> TableBlockers(const TableEntry& entry, TxnId txn, TableLockMode mode,
                                          size_t at);

  static size_t ShardIndex(std::string_view name);
  Shard& ShardOf(std::string_view name) { return shards_[ShardIndex(name)]; }
  // Indices 0..names.size()-1 grouped by shard, in order within a shard:
  // shard s's are order[start[s]] to order[start[s + 1] - 1].
  static void GroupByShard(std::span<const std::string_view> names,
                           std::array<uint32_t, kShards + 1>* start, std::vector<uint32_t>* order);
  // Records txn -> each of `blockers` in the wait-for graph (replacing
  // txn's edges) unless that closes a cycle; returns false (recording
  // nothing, txn's old edges removed) if it would.
  bool StartWaiting(TxnId txn, const std::vector<TxnId>& blockers);
  void StopWaiting(TxnId txn);
  // Whether `target` is reachable from `from` along the wait-for edges,
  // ignoring the edges out of `skip`. REQUIRES: graph_mu_ held.
  bool Reaches(const std::vector<TxnId>& from, TxnId target, TxnId skip) const;
  // Breaks the cycle txn's wait for `blockers` would close by moving a
  // table request that only the queue holds back to the front of its
  // queue (lock_manager.cc, invariant 6). False if no such move breaks it.
  // REQUIRES: tables_mu_ held.
  bool PromoteSoftWaiter(TxnId txn, const std::vector<TxnId>& blockers);
  void CountDeadlock();
  void CountWait();
  void CountTimeout();

  std::array<Shard, kShards> shards_;
  mutable std::mutex tables_mu_;  // before graph_mu_; guards tables_
  std::condition_variable tables_changed_;
  std::unordered_map<std::string, TableEntry> tables_;
  mutable std::mutex graph_mu_;                              // after a shard's mutex
  std::unordered_map<TxnId, std::vector<TxnId>> waits_for_;  // guarded by graph_mu_
  LockWaitStats stats_;                                      // guarded by graph_mu_
};

}  // namespace mvdb
